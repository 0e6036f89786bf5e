//! Graceful leave: the local member says it is going, so that others mark it OFFLINE at
//! once instead of suspecting it first (see "Graceful leave" in `docs/PROTOCOL.md`).

use super::*;

/// Members sent the leave at once, in each round.
const LEAVE_FANOUT: usize = 8;

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

impl<R: Rng> Swim<R> {
    /// Leaves the cluster: the local member becomes OFFLINE with a newer clock and the left
    /// flag, and that record is sent at once, in a ping, to a few available members (again
    /// to others every `ping_timeout`, at most 3 rounds, until one acknowledges). They mark
    /// the member OFFLINE without a suspicion and gossip the leave on. From then on the
    /// member is silent: it answers nothing, probes nobody, and ignores metadata changes; the
    /// driver should stop it once [`Swim::leave_acknowledged`] or after a timeout. Calling
    /// it again does nothing. A new process under the same name rejoins as usual.
    pub fn leave(&mut self, now: Duration) {
        if self.leaving.is_some() {
            return;
        }
        let clock = self.take_clock();
        self.table.before_change(LOCAL);
        let entry = &mut self.table.entries[LOCAL];
        entry.clock = clock;
        entry.status = Status::Offline;
        entry.set_status_time(now);
        entry.left = true;
        self.changed(LOCAL);
        self.probes.clear();
        self.relays.clear();
        self.leaving = Some(Leaving {
            seqs: Vec::new(),
            acknowledged: false,
            rounds_left: LEAVE_ROUNDS,
            next_round: now,
        });
        self.leave_round(now);
    }

    /// Whether [`Swim::leave`] was called.
    pub fn has_left(&self) -> bool {
        self.leaving.is_some()
    }

    /// Whether the leave reached at least one member (an ack of a ping that carried it), or
    /// there was no available member to tell. False before [`Swim::leave`].
    pub fn leave_acknowledged(&self) -> bool {
        self.leaving.as_ref().is_some_and(|l| l.acknowledged)
    }

    /// A packet while leaving: only an ack of one of the leave's pings matters.
    pub(super) fn leaving_packet(&mut self, message: &Message) {
        if let (Some(leaving), Message::Ack { seq, .. }) = (self.leaving.as_mut(), message) {
            if leaving.seqs.contains(seq) {
                leaving.acknowledged = true;
            }
        }
    }

    /// Deadlines while leaving: the next round, if one is due.
    pub(super) fn leaving_timeout(&mut self, now: Duration) {
        if self
            .leaving
            .as_ref()
            .is_some_and(|l| !l.acknowledged && l.rounds_left > 0 && now >= l.next_round)
        {
            self.leave_round(now);
        }
    }

    /// When the next leave round is due, if one is.
    pub(super) fn leaving_deadline(&self) -> Option<Duration> {
        self.leaving
            .as_ref()
            .filter(|l| !l.acknowledged && l.rounds_left > 0)
            .map(|l| l.next_round)
    }

    fn leave_round(&mut self, now: Duration) {
        let targets = self.find_indices(LEAVE_FANOUT, StatusSet::AVAILABLE, &[]);
        let known = self.known();
        let mut seqs = Vec::with_capacity(targets.len());
        for &target in &targets {
            let seq = self.next_seq();
            seqs.push(seq);
            // `with_local`: the leave goes first in the packet, whatever its send count.
            self.send(target, Message::Ping { seq, known }, true);
        }
        let interval = self.config.ping_timeout;
        if let Some(leaving) = self.leaving.as_mut() {
            leaving.seqs.extend(seqs);
            leaving.rounds_left -= 1;
            leaving.next_round = now + interval;
            if targets.is_empty() {
                leaving.acknowledged = true;
            }
        }
    }
}
