//! Traffic counters of one member, updated by the runtime without locks, and the copy of
//! the state machine's own counters that the driver refreshes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub use swim_core::{Counters, MessageKind, RoundTrips};

/// How many message kinds traffic is counted by.
const KINDS: usize = MessageKind::ALL.len();

/// Packets and bytes of one message kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Packets (frames) of that kind.
    pub packets: u64,
    /// Bytes of their frames.
    pub bytes: u64,
}

/// A copy of a member's traffic counters at one moment (see [`crate::Cluster::stats`]).
/// Every counter only grows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Datagrams sent over UDP.
    pub udp_packets_sent: u64,
    /// Bytes sent over UDP (signed frames).
    pub udp_bytes_sent: u64,
    /// Datagrams received over UDP, valid or not.
    pub udp_packets_received: u64,
    /// Bytes received over UDP, valid or not.
    pub udp_bytes_received: u64,
    /// Packets sent over TCP because their frame exceeded the MTU.
    pub tcp_packets_sent: u64,
    /// Bytes of frames sent over TCP.
    pub tcp_bytes_sent: u64,
    /// Packets received over TCP, valid or not.
    pub tcp_packets_received: u64,
    /// Bytes of frames received over TCP, valid or not.
    pub tcp_bytes_received: u64,
    /// Received frames dropped because their signature did not verify.
    pub dropped_bad_signature: u64,
    /// Received frames dropped because they could not be parsed (framing or wire format).
    pub dropped_malformed: u64,
    /// Packets that could not be sent (unresolvable name, socket error, too many TCP sends).
    pub send_failures: u64,
    /// Incoming TCP connections refused because too many were open.
    pub tcp_connections_refused: u64,
    /// Incoming TCP connections dropped for exceeding the size or time limit.
    pub tcp_connections_aborted: u64,
    /// Received frames dropped because they were made for a cluster with another label.
    pub dropped_wrong_label: u64,
    /// Received frames dropped because their key (or the signed-only mode) is not in the
    /// keyring.
    pub dropped_unknown_key: u64,
    /// Authentic frames dropped as replays: received before, addressed to another member,
    /// or older than this member's start.
    pub dropped_replayed: u64,
    /// Datagrams and connections dropped because their source address is not allowed.
    pub dropped_source_not_allowed: u64,
    /// Authentic requests dropped because their sender (or everyone) exceeded a budget.
    pub dropped_rate_limited: u64,
    /// Incoming TCP frames dropped because the listener's buffer budget was spent.
    pub tcp_over_budget: u64,
    /// The application's messages handed to the application (events, queries, direct).
    pub app_received: u64,
    /// The application's messages dropped by the runtime: a query handler or a query's
    /// reader that did not keep up (the core's own drops are in `protocol.app_dropped`, those over
    /// a source's budget also in `protocol.app_over_budget`).
    pub app_dropped: u64,
    /// Frames handed to the transport (UDP or TCP), by message kind, indexed by
    /// [`MessageKind::index`] (see [`StatsSnapshot::sent`]). Sends that then fail are also
    /// in `send_failures`.
    pub sent_by_kind: [Traffic; KINDS],
    /// Frames received that decoded, by message kind (see [`StatsSnapshot::received`]).
    pub received_by_kind: [Traffic; KINDS],
    /// The state machine's counters (probes, suspicions, OFFLINE verdicts, round trips),
    /// as of its latest step.
    pub protocol: Counters,
    /// Records waiting to be piggybacked, as of the state machine's latest step (a gauge:
    /// zero when the cluster is quiet).
    pub pending_gossip: u64,
}

impl StatsSnapshot {
    /// The frames of `kind` sent.
    pub fn sent(&self, kind: MessageKind) -> Traffic {
        self.sent_by_kind[kind.index()]
    }

    /// The frames of `kind` received (that decoded).
    pub fn received(&self, kind: MessageKind) -> Traffic {
        self.received_by_kind[kind.index()]
    }
}

/// Live per-kind traffic counters.
#[derive(Debug, Default)]
struct KindCounters {
    packets: [AtomicU64; KINDS],
    bytes: [AtomicU64; KINDS],
}

impl KindCounters {
    fn add(&self, kind: MessageKind, bytes: usize) {
        incr(&self.packets[kind.index()]);
        add(&self.bytes[kind.index()], bytes);
    }

    fn snapshot(&self) -> [Traffic; KINDS] {
        std::array::from_fn(|i| Traffic {
            packets: self.packets[i].load(Ordering::Relaxed),
            bytes: self.bytes[i].load(Ordering::Relaxed),
        })
    }
}

/// What the driver copies from the state machine after each step.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ProtocolReadings {
    pub counters: Counters,
    pub pending_gossip: usize,
}

/// The live counters, shared by the runtime's tasks and the handle.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub udp_packets_sent: AtomicU64,
    pub udp_bytes_sent: AtomicU64,
    pub udp_packets_received: AtomicU64,
    pub udp_bytes_received: AtomicU64,
    pub tcp_packets_sent: AtomicU64,
    pub tcp_bytes_sent: AtomicU64,
    pub tcp_packets_received: AtomicU64,
    pub tcp_bytes_received: AtomicU64,
    pub dropped_bad_signature: AtomicU64,
    pub dropped_malformed: AtomicU64,
    pub send_failures: AtomicU64,
    pub tcp_connections_refused: AtomicU64,
    pub tcp_connections_aborted: AtomicU64,
    pub dropped_wrong_label: AtomicU64,
    pub dropped_unknown_key: AtomicU64,
    pub dropped_replayed: AtomicU64,
    pub dropped_source_not_allowed: AtomicU64,
    pub dropped_rate_limited: AtomicU64,
    pub tcp_over_budget: AtomicU64,
    pub app_received: AtomicU64,
    pub app_dropped: AtomicU64,
    sent_by_kind: KindCounters,
    received_by_kind: KindCounters,
    protocol: Mutex<ProtocolReadings>,
}

/// Adds `n` to a counter. Relaxed ordering: counters are independent tallies.
pub(crate) fn add(counter: &AtomicU64, n: usize) {
    counter.fetch_add(n as u64, Ordering::Relaxed);
}

/// Adds one to a counter.
pub(crate) fn incr(counter: &AtomicU64) {
    add(counter, 1);
}

impl Stats {
    /// Counts a frame of `kind` handed to the transport.
    pub fn sent(&self, kind: MessageKind, bytes: usize) {
        self.sent_by_kind.add(kind, bytes);
    }

    /// Counts a received frame of `kind` that decoded.
    pub fn received(&self, kind: MessageKind, bytes: usize) {
        self.received_by_kind.add(kind, bytes);
    }

    /// Replaces the copy of the state machine's readings.
    pub fn set_protocol(&self, readings: ProtocolReadings) {
        *lock(&self.protocol) = readings;
    }

    /// Copies every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let protocol = *lock(&self.protocol);
        StatsSnapshot {
            udp_packets_sent: get(&self.udp_packets_sent),
            udp_bytes_sent: get(&self.udp_bytes_sent),
            udp_packets_received: get(&self.udp_packets_received),
            udp_bytes_received: get(&self.udp_bytes_received),
            tcp_packets_sent: get(&self.tcp_packets_sent),
            tcp_bytes_sent: get(&self.tcp_bytes_sent),
            tcp_packets_received: get(&self.tcp_packets_received),
            tcp_bytes_received: get(&self.tcp_bytes_received),
            dropped_bad_signature: get(&self.dropped_bad_signature),
            dropped_malformed: get(&self.dropped_malformed),
            send_failures: get(&self.send_failures),
            tcp_connections_refused: get(&self.tcp_connections_refused),
            tcp_connections_aborted: get(&self.tcp_connections_aborted),
            dropped_wrong_label: get(&self.dropped_wrong_label),
            dropped_unknown_key: get(&self.dropped_unknown_key),
            dropped_replayed: get(&self.dropped_replayed),
            dropped_source_not_allowed: get(&self.dropped_source_not_allowed),
            dropped_rate_limited: get(&self.dropped_rate_limited),
            tcp_over_budget: get(&self.tcp_over_budget),
            app_received: get(&self.app_received),
            app_dropped: get(&self.app_dropped),
            sent_by_kind: self.sent_by_kind.snapshot(),
            received_by_kind: self.received_by_kind.snapshot(),
            protocol: protocol.counters,
            pending_gossip: protocol.pending_gossip as u64,
        }
    }
}

/// Locks `mutex`, taking the value even if a holder panicked (a plain copy cannot be left
/// half-written).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
