//! The seed's clock rules ([`ClockRules::Seed`]), needed to share a cluster with members of
//! the Python package swim-protocol 0.6.3 (see "Seed clock rules" in `docs/PROTOCOL.md`).
//!
//! A Python member applies a record about a third member only if its clock is *strictly*
//! newer, and refutes a record about itself by jumping to one past the highest clock it
//! stores, which may be lower than the accusation. Our native rules (a suspicion keeps the
//! suspect's clock; only the owner refutes) would leave a live Python member suspect forever
//! and then OFFLINE. So, under these rules, a verdict carries the judge's own clock:
//!
//! - a failed probe makes the target SUSPECT, and an expired suspicion OFFLINE, with our
//!   `next_clock` (as the seed's `Worker.check` and suspect timer do);
//! - a member that answers a probe, directly or through a relay, or that sends us a new record
//!   of its own saying it is ONLINE, is ONLINE again with our `next_clock`, keeping the known
//!   metadata (or taking its own), and is told so at once: a Python member that heard it was
//!   suspect marks *itself* SUSPECT after its suspect timeout unless someone gossips it ONLINE
//!   (for the same reason, a suspicion of a member cleared by gossip is passed on to it);
//! - a process we hear from for the first time (a new member, or a restart) is sent our whole
//!   member list, as the seed resends all gossip to a new validity.

use std::time::Duration;

use rand::Rng;

use super::{Swim, LOCAL};
use crate::table::compare_with;
use crate::{ClockRules, Message, Metadata, PeerWire, Status, Update};

impl<R: Rng> Swim<R> {
    /// Whether the seed's rules about one member apply to member `index`: always under
    /// `Seed`, toward members addressed in the Python format under `PerMember`.
    pub(super) fn seed_rules(&self, index: usize) -> bool {
        self.wire_of(index) == PeerWire::Python
    }

    /// Whether local verdicts take our clock (rule 1). Cluster-wide whenever Python members
    /// may be present: a verdict about any member must be news to the Python members it
    /// passes through on its way to the member, which refutes it.
    fn verdicts_take_our_clock(&self) -> bool {
        self.config.clock_rules != ClockRules::Native
    }

    /// The wire format in which the member at `index` is sent packets: the one of our
    /// clock rules, or under `PerMember` the one its current process last used, and the
    /// Python format until it is heard from (the cluster may hold Python members, which
    /// drop our format; one of ours speaking both answers either).
    pub(super) fn wire_of(&self, index: usize) -> PeerWire {
        match self.config.clock_rules {
            ClockRules::Native => PeerWire::Native,
            ClockRules::Seed => PeerWire::Python,
            ClockRules::PerMember => self.table.entries[index].wire.unwrap_or(PeerWire::Python),
        }
    }

    /// The wire format of packets fed without one ([`Swim::handle_packet`]).
    pub(super) fn home_wire(&self) -> PeerWire {
        match self.config.clock_rules {
            ClockRules::Seed => PeerWire::Python,
            ClockRules::Native | ClockRules::PerMember => PeerWire::Native,
        }
    }

    /// `PerMember`: a probe's direct ping goes out again in the other format too, when the
    /// first ping was not answered. A member restarted with the other format (a Python
    /// member replaced by ours, or ours moved to the native format) would otherwise be
    /// sent a format it drops until it happens to send us a packet, and be suspected
    /// meanwhile. A member that does not speak the other format drops the extra ping.
    pub(super) fn ping_on_other_wire(&mut self, index: usize, ping: Message) {
        if self.config.clock_rules == ClockRules::PerMember {
            let other = self.wire_of(index).other();
            self.send_on(index, other, ping, false);
        }
    }

    /// Takes the next value of the Lamport clock.
    pub(super) fn take_clock(&mut self) -> u64 {
        let clock = self.next_clock;
        self.next_clock += 1;
        clock
    }

    /// A local verdict about member `index`: SUSPECT after a failed probe, OFFLINE when the
    /// suspicion expires. Native rules keep its clock (the status precedence makes the verdict
    /// win); seed rules stamp it with our next clock. Returns whether anything changed.
    pub(super) fn verdict(&mut self, index: usize, status: Status, now: Duration) -> bool {
        if !self.table.set_status(index, status, now) {
            return false;
        }
        if self.verdicts_take_our_clock() {
            self.table.entries[index].clock = self.take_clock();
        }
        true
    }

    /// Applies a record that came in a packet from member `sender`. Under seed rules a record
    /// about the sender itself is first-hand: see [`Swim::seed_first_hand`].
    pub(super) fn apply_from(
        &mut self,
        now: Duration,
        sender: usize,
        update: Update,
        rebroadcast: bool,
    ) -> bool {
        let mut update = update;
        let from_itself = update.name == self.table.entries[sender].name;
        // A member calls itself OFFLINE only when it leaves: that is how a leave reads on the
        // Python wire, which has no left flag.
        if from_itself && update.status == Status::Offline {
            update.left = true;
        }
        if self.seed_rules(sender) && from_itself {
            self.next_clock = self.next_clock.max(update.clock.saturating_add(1));
            if self.seed_first_hand(now, sender, &update) {
                return false;
            }
        }
        let join_news = self.is_join_news(&update);
        let name = join_news.then(|| update.name.clone());
        let correct = if from_itself || self.config.fanout_joins || !join_news {
            self.apply_update(now, update, rebroadcast)
        } else {
            let held = self.broadcasts.has_fresh();
            let correct = self.apply_update(now, update, rebroadcast);
            self.not_fanned_out(held);
            correct
        };
        if let Some(name) = name {
            self.join_news_in_a_burst(&name);
        }
        correct
    }

    /// Seed rules: member `sender` states its own record. If that is news from its current
    /// process (a clock above any it sent us before) saying ONLINE, and our record says
    /// otherwise but would win by clock, the member vouches for itself: it is alive, it just
    /// spoke. This is how a Python member's refutation, whose clock can be lower than the
    /// accusation's, gets through (the package applies such a record whatever its clock).
    /// Returns whether the record was taken this way.
    fn seed_first_hand(&mut self, now: Duration, sender: usize, update: &Update) -> bool {
        if self
            .table
            .self_clock(sender)
            .is_some_and(|seen| update.clock <= seen)
        {
            return false; // a duplicate or a late packet: the ordinary rules decide
        }
        self.table.set_self_clock(sender, Some(update.clock));
        let ours = &self.table.entries[sender];
        let newer = compare_with(update, ours) == std::cmp::Ordering::Greater;
        if update.status != Status::Online || newer {
            return false;
        }
        let metadata = update.metadata.clone().or_else(|| ours.metadata.clone());
        if ours.status == Status::Online && metadata == ours.metadata {
            return false;
        }
        self.mark_online(sender, metadata, now);
        true
    }

    /// Seed rules: a probe of `index` was answered. If we hold it SUSPECT or OFFLINE, it is
    /// ONLINE again (a member known by name only waits for its own record instead).
    pub(super) fn seed_probe_answered(&mut self, index: usize, now: Duration) {
        let entry = &self.table.entries[index];
        // A member that left may still send (its leave, in pings): that is not a comeback.
        if entry.status != Status::Online && !entry.is_placeholder() && !entry.left {
            let metadata = entry.metadata.clone();
            self.mark_online(index, metadata, now);
        }
    }

    /// Marks member `index` ONLINE with our next clock and `metadata`, gossips it, and tells
    /// the member itself (which stops a Python member's own suspect timer).
    fn mark_online(&mut self, index: usize, metadata: Option<Metadata>, now: Duration) {
        let clock = self.take_clock();
        self.table.before_change(index);
        let entry = &mut self.table.entries[index];
        let was_placeholder = entry.is_placeholder();
        if entry.status != Status::Online {
            entry.status = Status::Online;
            entry.set_status_time(now);
        }
        entry.clock = clock;
        entry.metadata = metadata;
        entry.left = false;
        self.table.note_update(index, was_placeholder);
        self.update_suspicion(index, now, None);
        self.changed(index);
        let record = self.table.update(index);
        self.send(index, Message::Gossip(record), false);
    }

    /// Seed rules: gossip just cleared a suspicion of member `index` that we may have passed
    /// on to it (every packet to a member we do not see ONLINE carries its record): tell it
    /// the news, since a Python member that heard it was suspect marks *itself* SUSPECT when
    /// its suspect timeout expires unless a record calling it ONLINE reaches it first.
    pub(super) fn seed_cleared(&mut self, index: usize) {
        let current = self.table.entries[index].status;
        if self.table.previous(index).status == Status::Suspect && current == Status::Online {
            let record = self.table.update(index);
            self.send(index, Message::Gossip(record), false);
        }
    }

    /// Seed rules: the first packet from a process (a new member or a restart) is answered
    /// with our whole member list, as the seed resends all gossip to a new validity.
    pub(super) fn seed_greet(&mut self, index: usize) {
        let records: Vec<Update> = self
            .table
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| *i == LOCAL || !e.is_placeholder())
            .take(self.config.max_sync_records)
            .map(|(i, _)| self.table.update(i))
            .collect();
        let message = Message::Sync {
            reply: true,
            full: true,
            records,
        };
        self.send(index, message, false);
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::ProtocolConfig;

    #[test]
    fn a_nack_is_never_sent_in_the_python_format() {
        let config = ProtocolConfig {
            clock_rules: ClockRules::PerMember,
            ..ProtocolConfig::default()
        };
        let rng = StdRng::seed_from_u64(1);
        let peers = ["p:1".into()];
        let mut a = Swim::new(
            config,
            "a:1".into(),
            Metadata::empty(),
            peers,
            rng,
            Duration::ZERO,
        )
        .unwrap();
        while a.poll_transmit().is_some() {}
        a.send_on(1, PeerWire::Python, Message::Nack { seq: 1 }, false);
        assert!(a.poll_transmit().is_none());
        a.send_on(1, PeerWire::Native, Message::Nack { seq: 1 }, false);
        assert_eq!(a.poll_transmit().map(|t| t.wire), Some(PeerWire::Native));
    }
}
