//! Whom a probe period goes to. Dead members cost little: the round-robin skips OFFLINE
//! members, and one OFFLINE member is pinged besides, every few periods, so that a healed
//! partition or a restarted member is seen again (see "Failure detection" in
//! `docs/PROTOCOL.md`). Detection among live members is then as fast however many dead
//! members are listed.

use super::*;

/// An OFFLINE member is pinged once every this many probe periods (besides the member of
/// the round). At 1,000 members cut in two halves, each member of one half is pinged by
/// the other about every 4 s, so the halves find each other again within seconds.
pub(super) const OFFLINE_PROBE_EVERY: u32 = 4;

impl<R: Rng> Swim<R> {
    /// The members to probe this period: the next member of the round that is not OFFLINE
    /// (at most one pass over the round), and every [`OFFLINE_PROBE_EVERY`] periods a
    /// random OFFLINE member.
    pub(super) fn next_probe_targets(&mut self) -> Vec<usize> {
        let mut targets = Vec::with_capacity(2);
        for _ in 0..self.ring.len() {
            let Some(index) = self.ring.next(&mut self.rng) else {
                break;
            };
            if self.table.entries[index].status != Status::Offline {
                targets.push(index);
                break;
            }
        }
        self.offline_turn = (self.offline_turn + 1) % OFFLINE_PROBE_EVERY;
        if self.offline_turn == 0 {
            if let Some(index) = self.find_index(StatusSet::OFFLINE, None) {
                targets.push(index);
            }
        }
        targets
    }
}
