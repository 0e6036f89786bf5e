//! Scrapes live members' `/metrics` and parses the text with a real Prometheus parser (the
//! Python `prometheus_client` package's OpenMetrics parser), checking each value against
//! the member's own counters read just before and just after the scrape. Also reads
//! `/members` back.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::python_venv_file;
use support::served::{all_online, sees, start_served, wait_for};
use swim_protocol::metrics::drops;
use swim_protocol::stats::{MessageKind, RoundTrips, StatsSnapshot};
use swim_protocol::Status;
use swim_tools::ops::members::MembersDoc;
use swim_tools::ops::query;

/// Reads OpenMetrics text on stdin; prints one JSON line per sample: [name, labels, value].
const PARSER: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(json.dumps([s.name, s.labels, s.value]))
"#;

/// Samples by (name, sorted labels).
type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

/// Parses `text` with the Python parser in the virtualenv at `python`.
fn parse(python: &std::path::Path, text: &str) -> Samples {
    let mut child = Command::new(python)
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("text written");
    let out = child.wait_with_output().expect("parser ends");
    assert!(
        out.status.success(),
        "the Prometheus parser rejected the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut samples = Samples::new();
    for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
        let (name, labels, value): (String, BTreeMap<String, String>, f64) =
            serde_json::from_str(line).expect("a sample");
        samples.insert((name, labels.into_iter().collect()), value);
    }
    samples
}

fn sample(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut key: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    key.sort();
    *samples
        .get(&(name.to_owned(), key))
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

/// Checks that a scraped counter lies between the values read before and after the scrape.
fn between(what: &str, scraped: f64, before: u64, after: u64) {
    assert!(
        before as f64 <= scraped && scraped <= after as f64,
        "{what}: scraped {scraped}, but the member counted {before} before and {after} after"
    );
}

/// Scrapes `http` and checks every counter against `cluster.stats()` around the scrape.
async fn scrape_and_check(
    python: &std::path::Path,
    member: &support::served::Served,
) -> (Samples, StatsSnapshot) {
    let before = member.cluster.stats();
    let body = query::get(&member.http, "/metrics").await.expect("scraped");
    let after = member.cluster.stats();
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    let samples = parse(python, &text);
    for kind in MessageKind::ALL {
        let label = [("kind", kind.name())];
        let (b, a) = (before.sent(kind), after.sent(kind));
        between(
            kind.name(),
            sample(&samples, "swim_packets_sent_total", &label),
            b.packets,
            a.packets,
        );
        between(
            kind.name(),
            sample(&samples, "swim_bytes_sent_total", &label),
            b.bytes,
            a.bytes,
        );
        let (b, a) = (before.received(kind), after.received(kind));
        between(
            kind.name(),
            sample(&samples, "swim_packets_received_total", &label),
            b.packets,
            a.packets,
        );
        between(
            kind.name(),
            sample(&samples, "swim_bytes_received_total", &label),
            b.bytes,
            a.bytes,
        );
    }
    let udp_sent = [("transport", "udp"), ("direction", "sent")];
    between(
        "udp sent",
        sample(&samples, "swim_transport_packets_total", &udp_sent),
        before.udp_packets_sent,
        after.udp_packets_sent,
    );
    let (b, a) = (&before.protocol, &after.protocol);
    let protocol = [
        (
            "swim_probes_started_total",
            b.probes_started,
            a.probes_started,
        ),
        (
            "swim_probes_answered_total",
            b.probes_answered,
            a.probes_answered,
        ),
        ("swim_probes_failed_total", b.probes_failed, a.probes_failed),
        (
            "swim_suspicions_raised_total",
            b.suspicions_raised,
            a.suspicions_raised,
        ),
        (
            "swim_suspicions_refuted_total",
            b.suspicions_refuted,
            a.suspicions_refuted,
        ),
        (
            "swim_offline_declared_total",
            b.offline_declared,
            a.offline_declared,
        ),
        (
            "swim_probe_rtt_seconds_count",
            b.probe_rtt.count(),
            a.probe_rtt.count(),
        ),
        ("swim_nacks_sent_total", b.nacks_sent, a.nacks_sent),
        (
            "swim_nacks_received_total",
            b.nacks_received,
            a.nacks_received,
        ),
        (
            "swim_app_messages_delivered_total",
            b.app_delivered,
            a.app_delivered,
        ),
        (
            "swim_app_messages_duplicate_total",
            b.app_duplicates,
            a.app_duplicates,
        ),
    ];
    for (name, b, a) in protocol {
        between(name, sample(&samples, name, &[]), b, a);
    }
    // A gauge: between the lowest and highest of the two readings.
    let (low, high) = (
        b.local_health.min(a.local_health),
        b.local_health.max(a.local_health),
    );
    let health = sample(&samples, "swim_local_health", &[]);
    assert!(
        (f64::from(low)..=f64::from(high)).contains(&health),
        "swim_local_health {health} not within {low}..={high}"
    );
    // The histogram's buckets are cumulative and end with +Inf = count.
    let mut last = 0.0;
    for bound in RoundTrips::BOUNDS {
        let le = format!("{}", bound.as_secs_f64());
        let le = if le.contains('.') {
            le
        } else {
            format!("{le}.0")
        };
        let value = sample(&samples, "swim_probe_rtt_seconds_bucket", &[("le", &le)]);
        assert!(value >= last, "bucket le={le} below the previous one");
        last = value;
    }
    let inf = sample(&samples, "swim_probe_rtt_seconds_bucket", &[("le", "+Inf")]);
    assert!(inf >= last);
    assert_eq!(inf, sample(&samples, "swim_probe_rtt_seconds_count", &[]));
    (samples, after)
}

fn members_gauge(samples: &Samples, status: Status) -> f64 {
    let label = status.name().to_ascii_lowercase();
    sample(samples, "swim_members", &[("status", &label)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_metrics_parse_and_match_the_members_counters() {
    let Some(python) = python_venv_file("bin/python") else {
        return;
    };
    let members = start_served(3).await;
    wait_for("all ONLINE", Duration::from_secs(15), || {
        all_online(&members)
    })
    .await;
    let a = &members[0];
    wait_for("answered probes", Duration::from_secs(10), || {
        a.cluster.stats().protocol.probe_rtt.count() >= 3
    })
    .await;

    // Garbage datagrams: each is dropped and counted once.
    let garbage = UdpSocket::bind("127.0.0.1:0").expect("socket");
    for len in [1, 7, 40] {
        garbage
            .send_to(&vec![0xAB; len], a.cluster.addr())
            .expect("sent");
    }
    let total_drops = |s: &StatsSnapshot| drops(s).iter().map(|(_, n)| n).sum::<u64>();
    wait_for("3 drops", Duration::from_secs(5), || {
        total_drops(&a.cluster.stats()) == 3
    })
    .await;

    let (samples, stats) = scrape_and_check(&python, a).await;
    assert_eq!(members_gauge(&samples, Status::Online), 3.0);
    assert_eq!(members_gauge(&samples, Status::Suspect), 0.0);
    assert_eq!(members_gauge(&samples, Status::Offline), 0.0);
    let mut scraped_drops = 0.0;
    for (reason, count) in drops(&stats) {
        let scraped = sample(
            &samples,
            "swim_packets_dropped_total",
            &[("reason", reason)],
        );
        assert_eq!(scraped, count as f64, "{reason}");
        scraped_drops += scraped;
    }
    assert_eq!(scraped_drops, 3.0);
    assert!(sample(&samples, "swim_packets_sent_total", &[("kind", "ping")]) > 0.0);
    assert!(sample(&samples, "swim_probe_rtt_seconds_count", &[]) >= 3.0);
    assert!(sample(&samples, "swim_probe_rtt_seconds_sum", &[]) > 0.0);
    assert_eq!(sample(&samples, "swim_suspicions_raised_total", &[]), 0.0);
    let _ = sample(&samples, "swim_pending_gossip", &[]);

    // /members agrees with the member list.
    let doc: MembersDoc =
        serde_json::from_slice(&query::get(&a.http, "/members").await.expect("members"))
            .expect("json");
    let listed: Vec<(String, String, bool)> = doc
        .members
        .iter()
        .map(|m| (m.name.clone(), m.status.clone(), m.left))
        .collect();
    let truth: Vec<(String, String, bool)> = a
        .cluster
        .members()
        .iter()
        .map(|m| (m.name.to_string(), m.status.name().to_owned(), m.left))
        .collect();
    assert_eq!(listed, truth);
    assert_eq!(doc.local, a.cluster.name().to_string());

    // A member stops: the others suspect it and declare it OFFLINE, and say so.
    let gone = members[2].cluster.name().clone();
    members[2].shutdown_member().await;
    let survivors = &members[..2];
    wait_for("OFFLINE everywhere", Duration::from_secs(15), || {
        survivors
            .iter()
            .all(|s| sees(&s.cluster, &gone, Status::Offline))
    })
    .await;
    let (mut raised, mut declared) = (0.0, 0.0);
    for member in survivors {
        let (samples, _) = scrape_and_check(&python, member).await;
        assert_eq!(members_gauge(&samples, Status::Online), 2.0);
        assert_eq!(members_gauge(&samples, Status::Offline), 1.0);
        raised += sample(&samples, "swim_suspicions_raised_total", &[]);
        declared += sample(&samples, "swim_offline_declared_total", &[]);
        assert!(sample(&samples, "swim_probes_failed_total", &[]) >= 0.0);
    }
    assert!(raised >= 1.0, "someone suspected the stopped member");
    assert!(declared >= 1.0, "someone declared it OFFLINE");
}
