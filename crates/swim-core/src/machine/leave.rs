//! Graceful leave: the local member says it is going, so that others mark it OFFLINE at
//! once instead of suspecting it first (see "Graceful leave" in `docs/PROTOCOL.md`). Its
//! record (OFFLINE, newer clock, left flag) goes in pings to a few members, round after
//! round, until one acknowledges.

use std::time::Duration;

/// Fewest members sent the leave at once, in each round.
const LEAVE_FANOUT: usize = 8;

/// To how many members a round of the leave goes, where a wide fanout (the first wave of a
/// metadata change) goes to `wide`: twice as many, and at least [`LEAVE_FANOUT`] (24 at
/// 100 members, 32 at 1,000). A changed member stays and its change rides on its later
/// packets too; a member that left is silent after this, so its one wave is wider, and a
/// leave reaches everyone no later than a metadata change does.
pub(super) fn round_width(wide: usize) -> usize {
    LEAVE_FANOUT.max(2 * wide)
}

/// Rounds of leave notices, one per `ping_timeout`, while none has been acknowledged.
const LEAVE_ROUNDS: u8 = 3;

/// A leave in progress.
#[derive(Debug)]
pub(super) struct Leaving {
    /// Sequence numbers of the pings that carried the leave.
    seqs: Vec<u32>,
    /// A member acknowledged a ping that carried the leave (or there was nobody to tell).
    acknowledged: bool,
    rounds_left: u8,
    next_round: Duration,
}

impl Leaving {
    /// A leave starting at `now`: its first round is due.
    pub(super) fn new(now: Duration) -> Leaving {
        Leaving {
            seqs: Vec::new(),
            acknowledged: false,
            rounds_left: LEAVE_ROUNDS,
            next_round: now,
        }
    }

    /// Whether a member acknowledged the leave (or there was nobody to tell).
    pub(super) fn acknowledged(&self) -> bool {
        self.acknowledged
    }

    /// An ack of `seq` arrived: it acknowledges the leave if one of its pings had `seq`.
    pub(super) fn ack(&mut self, seq: u32) {
        if self.seqs.contains(&seq) {
            self.acknowledged = true;
        }
    }

    /// When the next round is due, if one is.
    pub(super) fn deadline(&self) -> Option<Duration> {
        (!self.acknowledged && self.rounds_left > 0).then_some(self.next_round)
    }

    /// A round went at `now` in pings `seqs` (none: nobody to tell); the next one, if still
    /// unacknowledged, after `interval`.
    pub(super) fn round_sent(&mut self, now: Duration, seqs: Vec<u32>, interval: Duration) {
        if seqs.is_empty() {
            self.acknowledged = true;
        }
        self.seqs.extend(seqs);
        self.rounds_left -= 1;
        self.next_round = now + interval;
    }
}
