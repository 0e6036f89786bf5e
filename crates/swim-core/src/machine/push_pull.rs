//! Push-pull anti-entropy rides on probes: when it is due, the next probe's ping carries a
//! window of our records ([`Message::PingSync`]) and its ack the answer
//! ([`Message::AckSync`]), so a quiet cluster sends nothing but pings and acks (see
//! "Joining and anti-entropy" in `docs/PROTOCOL.md`). A push-pull that finds no probe to
//! ride on (the member of the round is not AVAILABLE or speaks the Python wire, or there is
//! none) goes as its own `Sync` request, as every push-pull does under the seed's clock
//! rules. What a window
//! and an answer hold is in `join.rs` (`sync_window`, `sync_reply_records`).

use super::*;

impl<R: Rng> Swim<R> {
    /// The push-pull timer fired: the window waits for the next probe (or, under the
    /// seed's clock rules, where every member speaks the Python wire, goes now alone).
    pub(super) fn push_pull_due(&mut self) {
        if self.home_wire() == PeerWire::Python {
            self.push_pull_alone();
        } else {
            self.push_pull_pending = true;
        }
    }

    /// The ping of a probe of `target`: it carries the window if a push-pull is waiting and
    /// `target` can answer it (AVAILABLE, and on the native wire).
    pub(super) fn probe_ping(&mut self, target: usize, seq: u32, known: u32) -> Message {
        let rides = self.push_pull_pending
            && StatusSet::AVAILABLE.contains(self.table.entries[target].status)
            && self.wire_of(target) == PeerWire::Native;
        if !rides {
            return Message::Ping { seq, known };
        }
        self.push_pull_pending = false;
        let records = self.sync_window();
        Message::PingSync {
            seq,
            known,
            records,
        }
    }

    /// After a probe period: a push-pull still waiting found no probe to ride on, so it
    /// goes alone. Anti-entropy is never skipped for want of a probe.
    pub(super) fn push_pull_unridden(&mut self) {
        if std::mem::take(&mut self.push_pull_pending) {
            self.push_pull_alone();
        }
    }

    /// Today's push-pull datagram: a window in a `Sync` request to a random AVAILABLE
    /// member (none: nobody to sync with).
    fn push_pull_alone(&mut self) {
        if let Some(target) = self.find_index(StatusSet::AVAILABLE, None) {
            let records = self.sync_window();
            let message = Message::Sync {
                reply: false,
                full: false,
                records,
            };
            self.send(target, message, false);
        }
    }

    /// A window pushed by `sender` on its ping: applies it (re-gossiping what is news, as
    /// a pushed `Sync`'s records) and returns what the ack carries back: our newer versions
    /// of those records, then a window of our own. Sets `correct` if `sender` holds older
    /// news about us.
    pub(super) fn answer_window(
        &mut self,
        now: Duration,
        sender: usize,
        records: Vec<Update>,
        correct: &mut bool,
    ) -> Vec<Update> {
        let pushed: Vec<(MemberName, u64, Status)> = records
            .iter()
            .map(|r| (r.name.clone(), r.clock, r.status))
            .collect();
        for record in records {
            *correct |= self.apply_from(now, sender, record, true);
        }
        self.sync_reply_records(false, &pushed)
    }

    /// Answers the ping `seq` of `sender` (a source in `good` standing or not; `correct`:
    /// it holds older news about us), with the push-pull `answer` to its window on the ack
    /// if it carried one.
    pub(super) fn ack_probe(
        &mut self,
        sender: usize,
        seq: u32,
        answer: Option<Vec<Update>>,
        good: bool,
        correct: bool,
    ) {
        let alive = self.source();
        let known = self.known();
        let mut ack = match answer {
            Some(records) => Message::AckSync {
                seq,
                alive,
                known,
                records,
            },
            None => Message::Ack { seq, alive, known },
        };
        if good {
            self.send(sender, ack, correct);
        } else {
            // Probes must be answered, whoever sends them: a bare ack (with what fits of a
            // push-pull answer in the room of the ping).
            self.fit_answer(&mut ack);
            self.send_bare_ack(sender, ack);
        }
    }

    /// The answer to our window, on the ack of `sender`: applied as a push-pull reply's
    /// records. Returns whether `sender` holds older news about us.
    pub(super) fn apply_answer(
        &mut self,
        now: Duration,
        sender: usize,
        records: Vec<Update>,
    ) -> bool {
        let mut correct = false;
        for record in records {
            correct |= self.apply_from(now, sender, record, true);
        }
        correct
    }
}
