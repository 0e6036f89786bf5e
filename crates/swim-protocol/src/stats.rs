//! Traffic counters of one member, updated by the runtime without locks.

use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Copies every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
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
        }
    }
}
