//! The simulated network: loss, latency with jitter, partitions between groups, and the
//! TCP path the runtime takes for packets above the MTU.

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;

/// How the simulated network treats packets.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Probability that any one packet is lost, 0.0 to 1.0.
    pub loss: f64,
    /// Mean one-way latency.
    pub latency: Duration,
    /// Latency varies uniformly by up to this much either way.
    pub jitter: Duration,
    /// Payloads larger than this go over TCP, as the runtime sends them (its `mtu_size`).
    pub mtu: usize,
    /// Most TCP sends a member has in flight; more are dropped (the runtime's cap).
    pub tcp_max_in_flight: usize,
    /// What one TCP send costs its sender before the first byte leaves (connect, accept).
    pub tcp_setup: Duration,
    /// How fast one member pushes TCP payloads out, one after the other: a real member's
    /// sends share its CPU with everything else on the host.
    pub tcp_bytes_per_s: f64,
    /// Probability that a datagram that got through is delivered twice (the copy with its
    /// own latency), 0.0 to 1.0.
    pub duplicate: f64,
    /// Probability that a datagram is held back by up to `reorder_delay` more, so that
    /// datagrams sent after it arrive first, 0.0 to 1.0.
    pub reorder: f64,
    /// The most a reordered datagram is held back (uniform).
    pub reorder_delay: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            loss: 0.0,
            latency: Duration::from_millis(5),
            jitter: Duration::from_millis(2),
            mtu: 1500,
            tcp_max_in_flight: 64,
            tcp_setup: Duration::from_millis(2),
            tcp_bytes_per_s: 3e6,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(50),
        }
    }
}

impl NetworkConfig {
    /// When a packet sent now arrives, or `None` if it is lost.
    pub fn delivery_delay(&self, rng: &mut impl Rng) -> Option<Duration> {
        if self.loss > 0.0 && rng.random::<f64>() < self.loss {
            return None;
        }
        let jitter = self.jitter.as_secs_f64() * (rng.random::<f64>() * 2.0 - 1.0);
        let mut delay = (self.latency.as_secs_f64() + jitter).max(0.0);
        if self.reorder > 0.0 && rng.random::<f64>() < self.reorder {
            delay += self.reorder_delay.as_secs_f64() * rng.random::<f64>();
        }
        Some(Duration::from_secs_f64(delay))
    }

    /// Whether a datagram that got through is delivered a second time.
    pub fn duplicated(&self, rng: &mut impl Rng) -> bool {
        self.duplicate > 0.0 && rng.random::<f64>() < self.duplicate
    }
}

/// One member's TCP sends: they go out one after the other, each taking `tcp_setup` plus
/// its size at `tcp_bytes_per_s`, and beyond `tcp_max_in_flight` queued sends new ones are
/// dropped, as the runtime drops them. TCP does not lose what it accepted.
#[derive(Debug, Clone, Default)]
pub(crate) struct TcpSender {
    /// When each send in flight completes, oldest first.
    in_flight: VecDeque<Duration>,
}

impl TcpSender {
    /// When a `len`-byte payload sent at `now` arrives, or `None` if the send is dropped.
    pub(crate) fn send(
        &mut self,
        now: Duration,
        len: usize,
        net: &NetworkConfig,
    ) -> Option<Duration> {
        while self.in_flight.front().is_some_and(|&done| done <= now) {
            self.in_flight.pop_front();
        }
        if self.in_flight.len() >= net.tcp_max_in_flight {
            return None;
        }
        let start = self.in_flight.back().copied().unwrap_or(now).max(now);
        let transfer = Duration::from_secs_f64(len as f64 / net.tcp_bytes_per_s.max(1.0));
        let done = start + net.tcp_setup + transfer;
        self.in_flight.push_back(done);
        Some(done - now + net.latency)
    }
}

/// Which members can reach which: members in different groups cannot talk (or, cut one
/// way, a lower group cannot reach a higher one, while the higher one reaches it).
#[derive(Debug, Clone, Default)]
pub struct Partition {
    groups: Option<Vec<u32>>,
    one_way: bool,
}

impl Partition {
    /// Splits the members: `group_of[i]` is member i's group.
    pub fn split(&mut self, group_of: Vec<u32>) {
        self.groups = Some(group_of);
        self.one_way = false;
    }

    /// Cuts one way: a packet from member `a` to member `b` is lost when `a`'s group is
    /// lower than `b`'s; the other way it goes through (an asymmetric route or firewall).
    pub fn split_one_way(&mut self, group_of: Vec<u32>) {
        self.groups = Some(group_of);
        self.one_way = true;
    }

    /// Heals every partition.
    pub fn heal(&mut self) {
        self.groups = None;
        self.one_way = false;
    }

    /// Whether a partition is in force.
    pub fn active(&self) -> bool {
        self.groups.is_some()
    }

    /// Whether a packet from `a` can reach `b`.
    pub fn connected(&self, a: usize, b: usize) -> bool {
        match &self.groups {
            None => true,
            Some(groups) if self.one_way => groups.get(a) >= groups.get(b),
            Some(groups) => groups.get(a) == groups.get(b),
        }
    }
}
