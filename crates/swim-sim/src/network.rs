//! The simulated network: loss, latency with jitter, and partitions between groups.

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
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            loss: 0.0,
            latency: Duration::from_millis(5),
            jitter: Duration::from_millis(2),
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
        let delay = (self.latency.as_secs_f64() + jitter).max(0.0);
        Some(Duration::from_secs_f64(delay))
    }
}

/// Which members can reach which: members in different groups cannot talk.
#[derive(Debug, Clone, Default)]
pub struct Partition {
    groups: Option<Vec<u32>>,
}

impl Partition {
    /// Splits the members: `group_of[i]` is member i's group.
    pub fn split(&mut self, group_of: Vec<u32>) {
        self.groups = Some(group_of);
    }

    /// Heals every partition.
    pub fn heal(&mut self) {
        self.groups = None;
    }

    /// Whether a partition is in force.
    pub fn active(&self) -> bool {
        self.groups.is_some()
    }

    /// Whether a packet from `a` can reach `b`.
    pub fn connected(&self, a: usize, b: usize) -> bool {
        match &self.groups {
            None => true,
            Some(groups) => groups.get(a) == groups.get(b),
        }
    }
}
