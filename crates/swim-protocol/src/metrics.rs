//! Prometheus metrics of a running member (feature `metrics`), in the OpenMetrics text
//! format, with `prometheus-client`.
//!
//! Nothing is counted here: at each scrape the collector reads the member list and
//! [`crate::Cluster::stats`], whose counters are kept where each event happens (the runtime
//! for traffic and drops, the state machine for probes and suspicions). A member nobody
//! scrapes pays nothing for this module.
//!
//! ```no_run
//! # async fn run(cluster: swim_protocol::Cluster) {
//! let text = swim_protocol::metrics::encode(&cluster);
//! assert!(text.ends_with("# EOF\n"));
//! # }
//! ```

use std::fmt::Error;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use swim_core::{MessageKind, RoundTrips, Status};

use crate::stats::{StatsSnapshot, Traffic};
use crate::Cluster;

/// The content type of [`encode`]'s text, for an HTTP response.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A [`Collector`] that reads one member at each scrape; register it in your own
/// [`Registry`] to serve it beside other metrics, or use [`registry`] / [`encode`].
#[derive(Debug, Clone)]
pub struct ClusterCollector {
    cluster: Cluster,
}

impl ClusterCollector {
    /// A collector of `cluster`'s metrics.
    pub fn new(cluster: Cluster) -> ClusterCollector {
        ClusterCollector { cluster }
    }
}

/// A registry holding only `cluster`'s metrics.
pub fn registry(cluster: &Cluster) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ClusterCollector::new(cluster.clone())));
    registry
}

/// `cluster`'s metrics as OpenMetrics text (ending in `# EOF`).
pub fn encode(cluster: &Cluster) -> String {
    let mut text = String::new();
    // Writing to a String cannot fail, and the collector itself returns no other error.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry(cluster));
    text
}

/// Why received frames (or connections) were dropped: each reason (the `reason` label of
/// `swim_packets_dropped_total`) with its counter.
pub fn drops(stats: &StatsSnapshot) -> [(&'static str, u64); 9] {
    [
        ("bad_signature", stats.dropped_bad_signature),
        ("malformed", stats.dropped_malformed),
        // A TCP connection cut for sending a frame above the size limit, or too slowly.
        ("oversized_or_slow", stats.tcp_connections_aborted),
        ("wrong_label", stats.dropped_wrong_label),
        ("unknown_key", stats.dropped_unknown_key),
        ("replayed", stats.dropped_replayed),
        ("source_not_allowed", stats.dropped_source_not_allowed),
        ("rate_limited", stats.dropped_rate_limited),
        ("tcp_over_budget", stats.tcp_over_budget),
    ]
}

/// Reads one kind's traffic out of a snapshot.
type KindTraffic = fn(&StatsSnapshot, MessageKind) -> Traffic;

/// Encodes a counter family: one sample per (labels, value).
fn counter_family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (L, u64)>,
) -> Result<(), Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Collector for ClusterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), Error> {
        let stats = self.cluster.stats();
        let members = self.cluster.members();

        let mut family = encoder.encode_descriptor(
            "swim_members",
            "Members known to this member, itself included, by status.",
            None,
            MetricType::Gauge,
        )?;
        for status in Status::ALL {
            let count = members.iter().filter(|m| m.status == status).count();
            let label = [("status", status.name().to_ascii_lowercase())];
            ConstGauge::new(count as i64).encode(family.encode_family(&label)?)?;
        }

        let traffic: [(&str, &str, KindTraffic); 2] = [
            ("sent", "handed to the transport", StatsSnapshot::sent),
            ("received", "received that decoded", StatsSnapshot::received),
        ];
        for (direction, what, get) in traffic {
            let by_kind = |field: fn(Traffic) -> u64| {
                MessageKind::ALL.map(|kind| ([("kind", kind.name())], field(get(&stats, kind))))
            };
            counter_family(
                &mut encoder,
                &format!("swim_packets_{direction}"),
                &format!("Packets {what}, by message kind."),
                by_kind(|t| t.packets),
            )?;
            counter_family(
                &mut encoder,
                &format!("swim_bytes_{direction}"),
                &format!("Bytes of the frames {what}, by message kind."),
                by_kind(|t| t.bytes),
            )?;
        }

        let transports = [
            ("udp", "sent", stats.udp_packets_sent, stats.udp_bytes_sent),
            ("tcp", "sent", stats.tcp_packets_sent, stats.tcp_bytes_sent),
            (
                "udp",
                "received",
                stats.udp_packets_received,
                stats.udp_bytes_received,
            ),
            (
                "tcp",
                "received",
                stats.tcp_packets_received,
                stats.tcp_bytes_received,
            ),
        ];
        let labels = |t: &str, d: &str| [("transport", t.to_owned()), ("direction", d.to_owned())];
        counter_family(
            &mut encoder,
            "swim_transport_packets",
            "Frames that went over each transport (received: valid or not).",
            transports.map(|(t, d, packets, _)| (labels(t, d), packets)),
        )?;
        counter_family(
            &mut encoder,
            "swim_transport_bytes",
            "Bytes that went over each transport (received: valid or not).",
            transports.map(|(t, d, _, bytes)| (labels(t, d), bytes)),
        )?;
        counter_family(
            &mut encoder,
            "swim_packets_dropped",
            "Received frames dropped, by reason.",
            drops(&stats).map(|(reason, count)| ([("reason", reason)], count)),
        )?;

        let p = &stats.protocol;
        let counters = [
            (
                "swim_send_failures",
                "Packets that could not be sent.",
                stats.send_failures,
            ),
            (
                "swim_tcp_connections_refused",
                "Incoming TCP connections refused because too many were open.",
                stats.tcp_connections_refused,
            ),
            ("swim_probes_started", "Probes started.", p.probes_started),
            (
                "swim_probes_answered",
                "Probes answered in time, directly or through a relay.",
                p.probes_answered,
            ),
            (
                "swim_probes_failed",
                "Probes that ran out without an answer.",
                p.probes_failed,
            ),
            (
                "swim_suspicions_raised",
                "Members made SUSPECT by this member's failed probes.",
                p.suspicions_raised,
            ),
            (
                "swim_suspicions_refuted",
                "Suspicions of this member that it refuted.",
                p.suspicions_refuted,
            ),
            (
                "swim_offline_declared",
                "Members this member declared OFFLINE when their suspicion timed out.",
                p.offline_declared,
            ),
            (
                "swim_nacks_sent",
                "Nacks sent for relayed ping-reqs whose target had not answered (Lifeguard).",
                p.nacks_sent,
            ),
            (
                "swim_nacks_received",
                "Nacks received from the helpers of this member's probes (Lifeguard).",
                p.nacks_received,
            ),
            (
                "swim_app_messages_delivered",
                "The application's messages (events, queries, direct) handed to it by the protocol.",
                p.app_delivered,
            ),
            (
                "swim_app_messages_duplicate",
                "The application's messages received again and suppressed.",
                p.app_duplicates,
            ),
            (
                "swim_app_messages_dropped",
                "The application's messages dropped: a full queue, a query over the answer rate, \
                 a source over its budget, a handler or reader that did not keep up.",
                p.app_dropped + stats.app_dropped,
            ),
            (
                "swim_app_messages_over_budget",
                "Of the application's messages dropped: those over their source's budget (events \
                 or queries from one origin, direct messages or replies to relay from one member).",
                p.app_over_budget,
            ),
        ];
        for (name, help, value) in counters {
            let metric = ConstCounter::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)?;
        }

        let gauge = ConstGauge::new(i64::try_from(stats.pending_gossip).unwrap_or(i64::MAX));
        gauge.encode(encoder.encode_descriptor(
            "swim_pending_gossip",
            "Records waiting to be piggybacked (the gossip queue; zero when quiet).",
            None,
            gauge.metric_type(),
        )?)?;

        let health = ConstGauge::new(i64::from(p.local_health));
        health.encode(encoder.encode_descriptor(
            "swim_local_health",
            "Lifeguard's local health score: 0 is healthy; probe timeouts and interval are (score + 1) times longer.",
            None,
            health.metric_type(),
        )?)?;

        let rtt = &p.probe_rtt;
        encoder
            .encode_descriptor(
                "swim_probe_rtt",
                "Round trips of answered probes, from the first ping to the ack.",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(
                rtt.sum.as_secs_f64(),
                rtt.count(),
                &histogram_buckets(rtt),
                None,
            )?;
        Ok(())
    }
}

/// The histogram's buckets as (upper bound in seconds, count in that bucket alone).
fn histogram_buckets(rtt: &RoundTrips) -> Vec<(f64, u64)> {
    RoundTrips::BOUNDS
        .iter()
        .map(|bound| bound.as_secs_f64())
        .chain([f64::INFINITY])
        .zip(rtt.counts)
        .collect()
}
