//! Choosing whom to probe: a shuffled round-robin, so every member is probed within a
//! bounded number of periods (pure random choice can starve a member for long).

use rand::seq::SliceRandom;
use rand::Rng;
use std::time::Duration;

/// The order in which non-local members are probed.
#[derive(Debug, Default)]
pub(super) struct ProbeRing {
    /// Table indices (32 bits: the ring holds every member).
    order: Vec<u32>,
    pos: usize,
}

impl ProbeRing {
    /// Adds a new member at a random place among those not yet probed in this round: it
    /// takes that place, and the member that held it moves to the end of the round. O(1):
    /// every member adds every other, so shifting the rest of the round (`Vec::insert`)
    /// cost O(n²) per member, O(n³) over a cluster that joins at once.
    pub(super) fn insert(&mut self, index: usize, rng: &mut impl Rng) {
        let end = self.order.len();
        let at = rng.random_range(self.pos..=end);
        crate::table::reserve_gently(&mut self.order, end + 1);
        self.order.push(index as u32);
        self.order.swap(at, end);
    }

    /// Makes room for `members` members in the order (see `Swim::reserve_members`).
    pub(super) fn reserve(&mut self, members: usize) {
        self.order
            .reserve_exact(members.saturating_sub(self.order.len()));
    }

    /// Takes a forgotten member out of the order (see `Swim::forget`).
    pub(super) fn remove(&mut self, index: usize) {
        if let Some(at) = self.order.iter().position(|&i| i as usize == index) {
            self.order.remove(at);
            if at < self.pos {
                self.pos -= 1;
            }
        }
    }

    /// The member at table index `from` moved to `to` (the table filled a removed slot).
    pub(super) fn rename(&mut self, from: usize, to: usize) {
        if let Some(slot) = self.order.iter_mut().find(|i| **i as usize == from) {
            *slot = to as u32;
        }
    }

    /// How many members are in the order.
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The next member to probe; a new shuffled round starts after the last one.
    pub(super) fn next(&mut self, rng: &mut impl Rng) -> Option<usize> {
        if self.order.is_empty() {
            return None;
        }
        if self.pos >= self.order.len() {
            self.order.shuffle(rng);
            self.pos = 0;
        }
        let index = self.order[self.pos];
        self.pos += 1;
        Some(index as usize)
    }
}

/// A probe in flight: a ping sent, waiting for the ack.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    pub(super) target: usize,
    pub(super) seq: u32,
    /// When the next indirect round is due: ping_timeout after the ping, then again every
    /// ping_timeout while no ack has come and time remains.
    pub(super) next_round_at: Duration,
    /// When to give up and suspect the target (ping_req_timeout after the first round).
    pub(super) suspect_at: Duration,
    /// Indirect rounds sent so far.
    pub(super) rounds: u32,
    /// Lifeguard: whether the probe already got its second chance (every helper was silent).
    pub(super) extended: bool,
    /// Lifeguard: the helpers of the first indirect round, each owing us a nack (or the
    /// target's ack), and whether its nack came.
    pub(super) nacks: Vec<(usize, bool)>,
}

/// A ping-req being served for another member: forward the target's ack to `requester`.
#[derive(Debug, Clone)]
pub(super) struct Relay {
    pub(super) requester: usize,
    pub(super) seq: u32,
    pub(super) target: usize,
    pub(super) expires: Duration,
    /// Lifeguard: when to tell `requester` the target has not answered yet, if still due.
    pub(super) nack_at: Option<Duration>,
    /// The requester is not in good standing: its ack goes bare (see `machine/standing.rs`).
    pub(super) bare: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn every_member_is_probed_once_per_round() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut ring = ProbeRing::default();
        for i in 1..=20 {
            ring.insert(i, &mut rng);
        }
        for _round in 0..3 {
            let mut seen: Vec<usize> = (0..20).filter_map(|_| ring.next(&mut rng)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (1..=20).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_member_added_mid_round_is_probed_in_that_round() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut ring = ProbeRing::default();
        for i in 1..=10 {
            ring.insert(i, &mut rng);
        }
        let mut seen: Vec<usize> = (0..4).filter_map(|_| ring.next(&mut rng)).collect();
        ring.insert(11, &mut rng);
        seen.extend((0..7).filter_map(|_| ring.next(&mut rng)));
        seen.sort_unstable();
        assert_eq!(seen, (1..=11).collect::<Vec<_>>());
    }

    #[test]
    fn empty_ring_has_no_target() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(ProbeRing::default().next(&mut rng), None);
    }
}
