//! Tallies of protocol events, kept by the state machine where each event happens, so that a
//! driver or an exporter reads them instead of inferring them from traffic.

use std::collections::VecDeque;
use std::time::Duration;

use crate::Message;

/// Counts of protocol events since the member started (see [`crate::Swim::counters`]).
/// Every field only grows, except `local_health`, a gauge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Probes started (one per probe, however many indirect rounds it takes).
    pub probes_started: u64,
    /// Probes answered in time, directly or through a relay.
    pub probes_answered: u64,
    /// Probes that ran out without an answer.
    pub probes_failed: u64,
    /// Members made SUSPECT by one of our failed probes.
    pub suspicions_raised: u64,
    /// Suspicions (or OFFLINE verdicts) about the local member that it refuted.
    pub suspicions_refuted: u64,
    /// Members declared OFFLINE by us because their suspicion timed out.
    pub offline_declared: u64,
    /// Round-trip times of the probes answered by an ack (from the first ping to the ack).
    pub probe_rtt: RoundTrips,
    /// Nacks sent for ping-reqs whose target had not answered in time (Lifeguard).
    pub nacks_sent: u64,
    /// Nacks received from the helpers of our probes (Lifeguard).
    pub nacks_received: u64,
    /// The local health score now (a gauge, see [`crate::Swim::local_health`]).
    pub local_health: u32,
    /// Application messages (events, queries) handed to the application.
    pub app_delivered: u64,
    /// Application messages received again (suppressed duplicates).
    pub app_duplicates: u64,
    /// Application messages not passed on (queue full), not handed over (a query over the
    /// answer rate), or refused (from a member not in good standing, or over its budget).
    pub app_dropped: u64,
    /// Of `app_dropped`: application messages over their source's budget (events or
    /// queries from one origin, new messages, direct messages or replies to relay from one
    /// member: see [`crate::MessagingConfig`]).
    pub app_over_budget: u64,
    /// Full-sync requests ignored over the full-sync budget (their source's rate or their
    /// class's total, see [`crate::FullSyncLimits`]).
    pub full_syncs_refused: u64,
}

/// Probes whose ack has not come yet: how many a round trip can be measured for at once.
const PINGS_TIMED: usize = 16;

/// The machine's counters and what it needs to measure round trips.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub counters: Counters,
    /// (sequence number, sent at) of the latest probes' pings, oldest first. A probe can be
    /// completed by any packet of its target before the ack comes, so these outlive it.
    pings: VecDeque<(u32, Duration)>,
}

impl Tally {
    /// A probe's first ping, `seq`, leaves at `now`.
    pub fn probe_started(&mut self, seq: u32, now: Duration) {
        self.counters.probes_started += 1;
        if self.pings.len() == PINGS_TIMED {
            self.pings.pop_front();
        }
        self.pings.push_back((seq, now));
    }

    /// An ack of `seq` arrives at `now`: the round trip, if `seq` was a probe's ping and its
    /// first ack.
    pub fn ack(&mut self, seq: u32, now: Duration) {
        if let Some(at) = self.pings.iter().position(|&(s, _)| s == seq) {
            if let Some((_, sent)) = self.pings.remove(at) {
                self.counters.probe_rtt.record(now.saturating_sub(sent));
            }
        }
    }
}

/// A histogram of probe round-trip times with fixed bucket bounds ([`RoundTrips::BOUNDS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundTrips {
    /// `counts[i]`: round trips no longer than `BOUNDS[i]` and longer than `BOUNDS[i - 1]`;
    /// the last entry counts those longer than every bound.
    pub counts: [u64; RoundTrips::BOUNDS.len() + 1],
    /// The sum of every round trip recorded.
    pub sum: Duration,
}

impl RoundTrips {
    /// Upper bounds of the buckets: from a loopback round trip to a probe's whole timeout.
    pub const BOUNDS: [Duration; 11] = [
        Duration::from_micros(250),
        Duration::from_millis(1),
        Duration::from_millis(2),
        Duration::from_millis(5),
        Duration::from_millis(10),
        Duration::from_millis(20),
        Duration::from_millis(50),
        Duration::from_millis(100),
        Duration::from_millis(200),
        Duration::from_millis(500),
        Duration::from_secs(1),
    ];

    /// Records one round trip.
    pub(crate) fn record(&mut self, rtt: Duration) {
        let bucket = RoundTrips::BOUNDS.partition_point(|&bound| bound < rtt);
        self.counts[bucket] += 1;
        self.sum = self.sum.saturating_add(rtt);
    }

    /// How many round trips were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// What a packet is, for counting traffic by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// [`Message::Ping`], with or without a push-pull window.
    Ping,
    /// [`Message::PingReq`].
    PingReq,
    /// [`Message::Ack`], with or without a push-pull answer.
    Ack,
    /// [`Message::Gossip`].
    Gossip,
    /// [`Message::GossipAck`].
    GossipAck,
    /// [`Message::GossipOnly`].
    GossipOnly,
    /// [`Message::Sync`], a request.
    Sync,
    /// [`Message::Sync`], a reply.
    SyncReply,
    /// [`Message::Nack`].
    Nack,
    /// [`Message::QueryReply`].
    QueryReply,
    /// [`Message::Direct`].
    Direct,
    /// [`Message::DirectAck`].
    DirectAck,
}

impl MessageKind {
    /// Every kind, in the order of [`MessageKind::index`].
    pub const ALL: [MessageKind; 12] = [
        MessageKind::Ping,
        MessageKind::PingReq,
        MessageKind::Ack,
        MessageKind::Gossip,
        MessageKind::GossipAck,
        MessageKind::GossipOnly,
        MessageKind::Sync,
        MessageKind::SyncReply,
        MessageKind::Nack,
        MessageKind::QueryReply,
        MessageKind::Direct,
        MessageKind::DirectAck,
    ];

    /// The kind's place in [`MessageKind::ALL`] (for arrays of per-kind counters).
    pub fn index(self) -> usize {
        self as usize
    }

    /// A lower-case name, e.g. `ping_req` (used as a metric label).
    pub const fn name(self) -> &'static str {
        match self {
            MessageKind::Ping => "ping",
            MessageKind::PingReq => "ping_req",
            MessageKind::Ack => "ack",
            MessageKind::Gossip => "gossip",
            MessageKind::GossipAck => "gossip_ack",
            MessageKind::GossipOnly => "gossip_only",
            MessageKind::Sync => "sync",
            MessageKind::SyncReply => "sync_reply",
            MessageKind::Nack => "nack",
            MessageKind::QueryReply => "query_reply",
            MessageKind::Direct => "direct",
            MessageKind::DirectAck => "direct_ack",
        }
    }
}

impl Message {
    /// What kind of message this is.
    pub fn kind(&self) -> MessageKind {
        match self {
            // A window riding on a probe does not make it another kind of datagram.
            Message::Ping { .. } => MessageKind::Ping,
            Message::PingReq { .. } => MessageKind::PingReq,
            Message::Ack { .. } => MessageKind::Ack,
            Message::Gossip(_) => MessageKind::Gossip,
            Message::GossipAck { .. } => MessageKind::GossipAck,
            Message::GossipOnly => MessageKind::GossipOnly,
            Message::Sync { reply: false, .. } => MessageKind::Sync,
            Message::Sync { reply: true, .. } => MessageKind::SyncReply,
            Message::Nack { .. } => MessageKind::Nack,
            Message::QueryReply { .. } => MessageKind::QueryReply,
            Message::Direct { .. } => MessageKind::Direct,
            Message::DirectAck { .. } => MessageKind::DirectAck,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_fall_in_the_first_bucket_that_holds_them() {
        let mut rtt = RoundTrips::default();
        rtt.record(Duration::from_micros(100));
        rtt.record(Duration::from_millis(1));
        rtt.record(Duration::from_micros(1001));
        rtt.record(Duration::from_secs(3));
        assert_eq!(rtt.counts[0], 1);
        assert_eq!(rtt.counts[1], 1, "a bound is inclusive");
        assert_eq!(rtt.counts[2], 1);
        assert_eq!(
            rtt.counts[RoundTrips::BOUNDS.len()],
            1,
            "beyond every bound"
        );
        assert_eq!(rtt.count(), 4);
        assert_eq!(
            rtt.sum,
            Duration::from_micros(100 + 1000 + 1001 + 3_000_000)
        );
    }

    #[test]
    fn kinds_index_their_place_in_all() {
        for (i, kind) in MessageKind::ALL.into_iter().enumerate() {
            assert_eq!(kind.index(), i, "{}", kind.name());
        }
    }
}
