//! Lifeguard's local health: how much the local member distrusts its own timing.
//!
//! A member that is slow (starved of CPU, paused, behind on its socket) sees acks late and
//! would accuse healthy members. The score counts the evidence that we, not the others, are
//! the problem: a probe of ours that failed without the relays' nacks, a nack we expected that
//! did not come, a suspicion of ourselves we had to refute. Each successful probe takes one
//! point back. Probe timeouts and the wait before the next probe are scaled by `score + 1`, so
//! a slow member gives the others more time instead of accusing them.

use std::time::Duration;

/// The local health score, from 0 (healthy) to a configured maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Health {
    score: u32,
    max: u32,
}

impl Health {
    /// A healthy member whose score may rise to `max` (0: the score never moves, as without
    /// Lifeguard).
    pub(super) fn new(max: u32) -> Health {
        Health { score: 0, max }
    }

    /// The current score.
    pub(super) fn score(self) -> u32 {
        self.score
    }

    /// Evidence of poor local health: raises the score by `by`, up to the maximum.
    pub(super) fn worse(&mut self, by: u32) {
        self.score = self.score.saturating_add(by).min(self.max);
    }

    /// A probe of ours succeeded: one point back.
    pub(super) fn better(&mut self) {
        self.score = self.score.saturating_sub(1);
    }

    /// `timeout` scaled by `score + 1`.
    pub(super) fn scale(self, timeout: Duration) -> Duration {
        timeout.saturating_mul(self.score + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_rises_caps_and_falls() {
        let mut h = Health::new(8);
        h.worse(3);
        assert_eq!(h.score(), 3);
        h.worse(100);
        assert_eq!(h.score(), 8, "capped at the maximum");
        h.better();
        assert_eq!(h.score(), 7);
        for _ in 0..20 {
            h.better();
        }
        assert_eq!(h.score(), 0, "never below zero");
    }

    #[test]
    fn timeouts_scale_by_score_plus_one() {
        let mut h = Health::new(8);
        let t = Duration::from_millis(200);
        assert_eq!(h.scale(t), t);
        h.worse(2);
        assert_eq!(h.scale(t), Duration::from_millis(600));
        h.worse(8);
        assert_eq!(h.scale(t), Duration::from_millis(1800));
    }

    #[test]
    fn a_zero_maximum_never_moves() {
        let mut h = Health::new(0);
        h.worse(5);
        assert_eq!(h.score(), 0);
        assert_eq!(h.scale(Duration::from_secs(1)), Duration::from_secs(1));
    }
}
