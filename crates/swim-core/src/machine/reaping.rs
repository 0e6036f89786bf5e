//! Reaping: members OFFLINE for longer than `offline_retention` are forgotten, leaving a
//! tombstone so that stale gossip cannot bring them back (see "Reaping" in
//! `docs/PROTOCOL.md`). Only the member itself can: a record newer than the tombstone, or
//! a packet from it.

use super::*;
use crate::tombstone::Tombstone;

impl<R: Rng> Swim<R> {
    /// Forgets the members OFFLINE for `offline_retention` and drops expired tombstones.
    /// A scan of the table costs O(n), so it runs when the first member OFFLINE at the last
    /// scan (or the first tombstone) expires, at most once per `ping_interval`: a member that
    /// turns OFFLINE later expires `offline_retention` after that scan at the earliest.
    /// (Scanning every `ping_interval` cost every member O(n) per second: 10⁸ entries a
    /// second over a cluster of 10,000.)
    pub(super) fn reap(&mut self, now: Duration) {
        if now < self.next_reap {
            return;
        }
        self.tombstones.expire(now);
        let retention = self.config.offline_retention;
        let mut next = now.saturating_add(retention);
        let mut index = LOCAL + 1;
        while index < self.table.len() {
            let entry = &self.table.entries[index];
            // Configured peers are reaped too (a seed member may leave for good); joining
            // brings a peer back as a placeholder when it is asked again.
            if entry.status == Status::Offline {
                let expiry = entry.status_time().saturating_add(retention);
                if now >= expiry {
                    // The last entry moves into `index`: look at it next.
                    self.forget(index, now);
                    continue;
                }
                next = next.min(expiry);
            }
            index += 1;
        }
        if let Some(expiry) = self.tombstones.next_expiry() {
            next = next.min(expiry);
        }
        self.next_reap = next.max(now + self.config.ping_interval);
    }

    /// Removes member `index` from the table and every structure that names it by index,
    /// buries it, and reports it forgotten. Every structure keyed by table index must be
    /// handled here: the table moves its last entry into the freed slot.
    fn forget(&mut self, index: usize, now: Duration) {
        self.probes.retain(|p| p.target != index);
        self.relays
            .retain(|r| r.target != index && r.requester != index);
        if let Some(deadline) = self.table.suspect_deadline(index) {
            self.suspects.remove(&(deadline, index));
        }
        self.broadcasts.remove(index);
        self.ring.remove(index);
        self.responders.remove(index);
        self.suspicions.remove(&index);
        self.unanswered.retain(|&(target, _)| target != index);
        for probe in self.probes.iter_mut() {
            probe.nacks.retain(|&(helper, _)| helper != index);
        }
        let (entry, moved) = self.table.remove(index);
        if let Some(from) = moved {
            self.renumber(from, index);
        }
        if self.sync_cursor >= self.table.len() {
            self.sync_cursor = 0;
        }
        let member = entry.snapshot();
        let expires = now.saturating_add(self.config.offline_retention);
        self.tombstones.insert(
            member.name.clone(),
            member.clock,
            member.left,
            entry.validity,
            expires,
        );
        self.events.push_back(Event::MemberForgotten(member));
    }

    /// The member at table index `from` now lives at `to`.
    fn renumber(&mut self, from: usize, to: usize) {
        for probe in self.probes.iter_mut() {
            if probe.target == from {
                probe.target = to;
            }
            for (helper, _) in probe.nacks.iter_mut().filter(|(h, _)| *h == from) {
                *helper = to;
            }
        }
        if let Some(suspicion) = self.suspicions.remove(&from) {
            self.suspicions.insert(to, suspicion);
        }
        for (target, _) in self.unanswered.iter_mut().filter(|(t, _)| *t == from) {
            *target = to;
        }
        for relay in self.relays.iter_mut() {
            if relay.target == from {
                relay.target = to;
            }
            if relay.requester == from {
                relay.requester = to;
            }
        }
        if let Some(deadline) = self.table.suspect_deadline(to) {
            self.suspects.remove(&(deadline, from));
            self.suspects.insert((deadline, to));
        }
        self.broadcasts.rename(from, to);
        self.ring.rename(from, to);
        self.responders.rename(from, to);
    }

    /// Whether `update` is stale news about a forgotten member (not newer than its
    /// tombstone). A newer record can only come from the member itself (native rules: a
    /// verdict keeps the member's clock), so it brings the member back.
    pub(super) fn buried(&self, update: &Update) -> bool {
        self.tombstones
            .get(&update.name)
            .is_some_and(|t| update.clock <= t.clock)
    }

    /// Whether `name` is a forgotten member.
    pub(super) fn is_forgotten(&self, name: &str) -> bool {
        self.tombstones.get(name).is_some()
    }

    /// A forgotten member is known again (it sent us a packet, or a record newer than its
    /// tombstone arrived): its new entry at `index` starts from the tombstone, OFFLINE at
    /// the buried clock, so that only newer records win, and the process that sent it is
    /// told what we hold (it refutes, as after any restart). Reported as a new member.
    pub(super) fn unbury(&mut self, index: usize, tombstone: Tombstone) {
        // The event's `previous` is the placeholder the entry was created as.
        self.table.before_change(index);
        let entry = &mut self.table.entries[index];
        entry.clock = tombstone.clock;
        entry.left = tombstone.left;
        entry.validity = tombstone.validity;
        self.table.note_update(index, true);
        if tombstone.clock > 0 {
            self.report(index, false);
        }
    }

    /// How many forgotten members are remembered by a tombstone.
    pub fn tombstones(&self) -> usize {
        self.tombstones.len()
    }
}
