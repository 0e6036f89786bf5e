//! Applying records: which record wins is in `table`; here the consequences (events,
//! re-gossip, suspicion timers) and refutation of news about the local member.

use super::*;

impl<R: Rng> Swim<R> {
    pub(super) fn change_local(&mut self, now: Duration, metadata: Option<Metadata>) {
        let was_placeholder = self.table.entries[LOCAL].is_placeholder();
        let clock = self.next_clock;
        self.next_clock += 1;
        self.table.before_change(LOCAL);
        let entry = &mut self.table.entries[LOCAL];
        entry.clock = clock;
        if entry.status != Status::Online {
            entry.status = Status::Online;
            entry.set_status_time(now);
        }
        entry.left = false;
        if let Some(metadata) = metadata {
            entry.metadata = Some(metadata);
        }
        self.table.note_update(LOCAL, was_placeholder);
        self.changed(LOCAL);
    }

    /// Records a visible change of member `index`: gossip it and report it.
    pub(super) fn changed(&mut self, index: usize) {
        self.report(index, true);
    }

    /// Reports the latest change of member `index`, and queues its record for gossip if
    /// `rebroadcast`.
    pub(super) fn report(&mut self, index: usize, rebroadcast: bool) {
        if rebroadcast {
            self.broadcasts.push(index);
        }
        self.events.push_back(Event::MemberChanged(MemberChange {
            member: self.table.entries[index].snapshot(),
            previous: self.table.previous(index),
        }));
    }

    /// Applies one disseminated record. Returns true when the sender holds older news about
    /// the local member than ours, so it should be sent our record.
    pub(super) fn apply_update(
        &mut self,
        now: Duration,
        update: Update,
        rebroadcast: bool,
    ) -> bool {
        self.next_clock = self.next_clock.max(update.clock.saturating_add(1));
        if self.is_local(&update.name) {
            return self.news_about_local(now, &update);
        }
        if self.buried(&update) {
            return false;
        }
        let index = self.member_index(&update.name, now);
        // Only a member we know, other than us and the suspect, can be an accuser.
        let accuser = (update.accuser.as_ref())
            .and_then(|a| self.table.get(a))
            .filter(|&a| a != LOCAL && a != index);
        match self.table.apply(index, &update, now) {
            Applied::Stale => self.maybe_confirmation(index, &update, now),
            Applied::ClockOnly => {
                if rebroadcast {
                    self.broadcasts.push(index);
                }
                self.maybe_confirmation(index, &update, now);
            }
            Applied::Changed => {
                self.update_suspicion(index, now, accuser);
                self.report(index, rebroadcast);
                if self.seed_rules(index) {
                    self.seed_cleared(index);
                }
            }
        }
        false
    }

    /// Someone says something about the local member: refute what is wrong and newer than our
    /// record; report older news so the sender can be corrected.
    pub(super) fn news_about_local(&mut self, now: Duration, update: &Update) -> bool {
        let own = &self.table.entries[LOCAL];
        let wrong = update.status != Status::Online || update.metadata != own.metadata;
        if !wrong {
            return false;
        }
        if update.clock >= own.clock {
            if update.status != Status::Online {
                self.tally.counters.suspicions_refuted += 1;
                // Lifeguard: others could not hear from us in time; likely we are slow.
                self.health.worse(1);
            }
            self.change_local(now, None);
        }
        true
    }

    /// Starts or stops the suspicion timer of member `index` after its status changed;
    /// `accuser` is the member whose probe found it unresponsive, if known.
    pub(super) fn update_suspicion(&mut self, index: usize, now: Duration, accuser: Option<usize>) {
        let status = self.table.entries[index].status;
        match (status, self.table.suspect_deadline(index)) {
            (Status::Suspect, None) => {
                let deadline = self.start_suspicion(index, now, accuser);
                self.table.set_suspect_deadline(index, Some(deadline));
                self.suspects.insert((deadline, index));
            }
            (Status::Suspect, Some(_)) => {}
            (_, Some(deadline)) => {
                self.table.set_suspect_deadline(index, None);
                self.suspects.remove(&(deadline, index));
                self.end_suspicion(index);
            }
            (_, None) => {}
        }
    }
}
