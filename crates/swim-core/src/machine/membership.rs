//! Membership: the member table, the tombstones of forgotten members, the Lamport clock and
//! the local member's identity, with the rules that change them: which record wins
//! (`table.rs`), refutation of news about the local member, local verdicts, and the seed's
//! clock rules for clusters with members of the Python package (see "Seed clock rules" in
//! `docs/PROTOCOL.md`).
//!
//! Under the seed's rules a verdict carries the judge's own clock: a Python member applies a
//! record about a third member only if its clock is *strictly* newer, and refutes a record
//! about itself by jumping to one past the highest clock it stores, which may be lower than
//! the accusation. So a failed probe makes the target SUSPECT, and an expired suspicion
//! OFFLINE, with our next clock; a member that answers a probe, or sends a new record of its
//! own saying ONLINE, is ONLINE again with our next clock and is told so at once; a process
//! we hear from for the first time is sent our whole member list.

use std::cmp::Ordering;
use std::time::Duration;

use rand::Rng;

use crate::table::{compare, compare_with, Applied, EntryRef, Table};
use crate::tombstone::Tombstones;
use crate::{
    MemberName, MemberSnapshot, Message, MetaDelta, Metadata, PeerWire, Source, Status, StatusSet,
    Update, Validity, Wire,
};

/// The local member's index in the table.
pub(super) const LOCAL: usize = 0;

/// What a record about the local member calls for (see [`Membership::news_about_local`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LocalNews {
    /// It says what our record says.
    Agrees,
    /// It is wrong and older than our record: the sender should be sent ours.
    Outdated,
    /// It is wrong and not older: we refuted it with a newer clock (`suspected`: it called
    /// us SUSPECT or OFFLINE).
    Refuted {
        /// Whether it called us SUSPECT or OFFLINE.
        suspected: bool,
    },
}

/// A member looked up by name, added if new.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
    /// Its table index.
    pub(super) index: usize,
    /// Whether it was just added.
    pub(super) added: bool,
    /// It came back from its tombstone with a record to report.
    pub(super) unburied: bool,
}

/// The member table and the clock, owned by one member.
#[derive(Debug)]
pub(super) struct Membership {
    table: Table,
    /// What remains of forgotten members.
    tombstones: Tombstones,
    /// Lamport clock: greater than every clock seen; the local member's changes use it.
    next_clock: u64,
    validity: Validity,
    wire: Wire,
    /// The clock at which the local metadata was last set: the base of its next delta.
    local_meta_since: u64,
}

/// The driver's capacity hint, beside the table it mostly sizes (the gossip queue and the
/// probe ring also hold a slot per member).
impl<R: Rng> super::Swim<R> {
    /// Makes room for `members` members (this one included) in the member table and in
    /// every per-member structure, so that a driver that knows how large the cluster will
    /// be (the simulator) has each allocated once at its size rather than grown as members
    /// are learned. Only memory and speed change: what the member does is the same, with or
    /// without the hint, and the table still grows past it.
    pub fn reserve_members(&mut self, members: usize) {
        self.members.table.reserve(members);
        self.gossip.reserve(members);
        self.detector.reserve(members);
    }
}

impl Membership {
    /// A table holding the local member `local` only, as a placeholder until its first
    /// record ([`Membership::change_local`]).
    pub(super) fn new(
        local: &MemberName,
        validity: Validity,
        wire: Wire,
        now: Duration,
    ) -> Membership {
        let mut table = Table::default();
        table.get_or_insert(local, true, now);
        Membership {
            table,
            tombstones: Tombstones::default(),
            next_clock: 1,
            validity,
            wire,
            local_meta_since: 0,
        }
    }

    /// The entry at `index`.
    pub(super) fn entry(&self, index: usize) -> EntryRef<'_> {
        self.table.entry(index)
    }

    /// The status of the member at `index`.
    pub(super) fn status(&self, index: usize) -> Status {
        self.table.entry(index).status()
    }

    /// The name of the member at `index`.
    pub(super) fn name(&self, index: usize) -> &MemberName {
        self.table.entry(index).name()
    }

    /// How many members are listed, the local one included.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// The index of `name`, if listed.
    pub(super) fn get(&self, name: &str) -> Option<usize> {
        self.table.get(name)
    }

    /// The member count carried in pings and acks, as a digest of our member list.
    pub(super) fn known(&self) -> u32 {
        u32::try_from(self.table.known()).unwrap_or(u32::MAX)
    }

    /// How many members are not OFFLINE (the local one included).
    pub(super) fn not_offline(&self) -> usize {
        (self.table.entries().iter())
            .filter(|e| e.status() != Status::Offline)
            .count()
    }

    /// Whether `name` is the local member's.
    pub(super) fn is_local(&self, name: &str) -> bool {
        name == &**self.name(LOCAL)
    }

    /// The local member's validity bytes.
    pub(super) fn validity(&self) -> Validity {
        self.validity
    }

    /// The source of the packets we send.
    pub(super) fn source(&self) -> Source {
        Source {
            name: self.name(LOCAL).clone(),
            validity: self.validity,
        }
    }

    /// The record disseminated for `index`, naming `accuser` (a suspicion's).
    pub(super) fn record(&self, index: usize, accuser: Option<&MemberName>) -> Update {
        self.table.update(index, accuser)
    }

    /// The record of `index` as gossiped on the native wire: its latest metadata change
    /// instead of its map when that is smaller.
    pub(super) fn gossip_record(&self, index: usize, accuser: Option<&MemberName>) -> Update {
        self.table.gossip_update(index, accuser)
    }

    /// The delta the record of `index` is gossiped with, if any.
    pub(super) fn gossip_delta(&self, index: usize) -> Option<&MetaDelta> {
        self.table.gossip_delta(index)
    }

    /// Fills in the map of a record that carries a metadata delta instead, from the map we
    /// hold of its member (see [`MetaDelta`]). Returns false when the record is newer than
    /// ours and its delta cannot be applied to our map: it is not to be applied, and the map
    /// is to be repaired by push-pull. A record not newer than ours needs no map (ours is
    /// the same or newer): the delta is dropped.
    pub(super) fn resolve_delta(&self, update: &mut Update) -> bool {
        let Some(delta) = &update.delta else {
            return true;
        };
        if update.metadata.is_some() {
            update.delta = None;
            return true;
        }
        let ours = self.get(&update.name).map(|index| self.entry(index));
        let held = ours.and_then(|e| e.metadata().as_ref().map(|m| (e.clock(), m)));
        let resolved = match held {
            // Ours is the map the change was made to, or already the changed one.
            Some((clock, map)) if clock >= delta.base => delta.apply(map),
            _ => None,
        };
        match resolved {
            Some(map) => {
                update.metadata = Some(map);
                true
            }
            None => {
                update.delta = None;
                ours.is_some_and(|e| update.clock <= e.clock())
            }
        }
    }

    /// The change event's `previous` snapshot of `index` (see [`Table::previous`]).
    pub(super) fn previous(&self, index: usize) -> MemberSnapshot {
        self.table.previous(index)
    }

    /// Snapshots of every member, sorted by name; `non_local_with` keeps only the non-local
    /// members with a status in the set.
    pub(super) fn snapshots(&self, non_local_with: Option<StatusSet>) -> Vec<MemberSnapshot> {
        let skip = usize::from(non_local_with.is_some());
        let mut all: Vec<_> = (skip..self.len())
            .map(|i| self.entry(i))
            .filter(|e| non_local_with.is_none_or(|s| s.contains(e.status())))
            .map(|e| e.snapshot())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The whole member list as records (at most `max`), members known by name only left out.
    pub(super) fn full_list<'a>(
        &self,
        max: usize,
        accuser: impl Fn(usize) -> Option<&'a MemberName>,
    ) -> Vec<Update> {
        // Allocated at its size: a list collected from a filter grows by doubling, and at
        // 10,000 members the lists in flight were a fifth of a run's memory, up to half
        // of each one unused.
        let mut list = Vec::with_capacity(self.table.known().min(max));
        list.extend(
            (self.table.entries().iter().enumerate())
                .filter(|(_, e)| !e.is_placeholder())
                .take(max)
                .map(|(i, _)| self.record(i, accuser(i))),
        );
        list
    }

    /// Whether our record of `name` is newer than `clock` and `status` (a pushed record).
    pub(super) fn newer_than(&self, name: &str, clock: u64, status: Status) -> Option<usize> {
        let index = self.get(name)?;
        let ours = self.entry(index);
        let newer = compare(ours.clock(), ours.status(), None, clock, status, None);
        (newer == Ordering::Greater).then_some(index)
    }

    // --- the wire and the clock rules ---

    /// Whether the seed's rules about one member apply to member `index`: always with the
    /// Python wire, toward members addressed in the Python format with both.
    pub(super) fn seed_rules(&self, index: usize) -> bool {
        self.wire_of(index) == PeerWire::Python
    }

    /// Whether local verdicts take our clock. Cluster-wide whenever Python members may be
    /// present: a verdict about any member must be news to the Python members it passes
    /// through on its way to the member, which refutes it.
    fn verdicts_take_our_clock(&self) -> bool {
        self.wire != Wire::Native
    }

    /// Whether every member speaks our wire: Lifeguard's dynamic suspicion needs accusers,
    /// which the Python wire cannot carry, and verdicts that keep the suspect's clock.
    pub(super) fn all_native(&self) -> bool {
        self.wire == Wire::Native
    }

    /// Whether both wires are spoken, each member in the one it last used.
    pub(super) fn per_member(&self) -> bool {
        self.wire == Wire::Auto
    }

    /// The wire format in which the member at `index` is sent packets: the one we
    /// speak, or speaking both, the one its current process last used, and the
    /// Python format until it is heard from (the cluster may hold Python members, which
    /// drop our format; one of ours speaking both answers either).
    pub(super) fn wire_of(&self, index: usize) -> PeerWire {
        match self.wire {
            Wire::Native => PeerWire::Native,
            Wire::Python => PeerWire::Python,
            Wire::Auto => self.entry(index).wire().unwrap_or(PeerWire::Python),
        }
    }

    /// The wire format of packets fed without one.
    pub(super) fn home_wire(&self) -> PeerWire {
        match self.wire {
            Wire::Python => PeerWire::Python,
            Wire::Native | Wire::Auto => PeerWire::Native,
        }
    }

    /// Takes the next value of the Lamport clock.
    fn take_clock(&mut self) -> u64 {
        let clock = self.next_clock;
        self.next_clock += 1;
        clock
    }

    /// A clock seen in a record: ours moves past it.
    pub(super) fn observe(&mut self, clock: u64) {
        self.next_clock = self.next_clock.max(clock.saturating_add(1));
    }

    // --- members ---

    /// The index of `name`, adding it if new. A forgotten member comes back from its
    /// tombstone, OFFLINE at the buried clock, so that only newer records win (callers drop
    /// stale records about it first, see [`Membership::buried`]).
    pub(super) fn index_of(&mut self, name: &MemberName, now: Duration) -> Known {
        let (index, added) = self.table.get_or_insert(name, false, now);
        let mut unburied = false;
        if added {
            if let Some(tombstone) = self.tombstones.take(name) {
                // The event's `previous` is the placeholder the entry was created as.
                self.table.before_change(index);
                (self.table).unbury(index, tombstone.clock, tombstone.left, tombstone.validity);
                self.table.note_update(index, true);
                unburied = tombstone.clock > 0;
            }
        }
        Known {
            index,
            added,
            unburied,
        }
    }

    /// A packet from `sender`'s process `validity` arrived in `wire`. Returns whether the
    /// process is new (a first packet, or a restart) and whether it is a restart of a
    /// process we knew (it must be told what we hold of it, so it can refute).
    pub(super) fn heard_process(
        &mut self,
        sender: usize,
        validity: Validity,
        wire: PeerWire,
    ) -> (bool, bool) {
        let (new_process, restarted) = self.table.entry_mut(sender).heard_process(validity, wire);
        if new_process {
            self.table.set_self_clock(sender, None);
        }
        (new_process, restarted)
    }

    /// Whether `update` is the first record we get of its member (unknown, or known by
    /// name only): news that someone joined.
    pub(super) fn is_join_news(&self, update: &Update) -> bool {
        self.get(&update.name)
            .is_none_or(|index| self.entry(index).is_placeholder())
    }

    /// Applies a disseminated record about the non-local member `index`.
    pub(super) fn apply(&mut self, index: usize, update: &Update, now: Duration) -> Applied {
        self.table.apply(index, update, now)
    }

    /// Someone says `update` about the local member: refutes what is wrong and not older
    /// than our record.
    pub(super) fn news_about_local(&mut self, now: Duration, update: &Update) -> LocalNews {
        let own = self.entry(LOCAL);
        let wrong = update.status != Status::Online || update.metadata != *own.metadata();
        if !wrong {
            return LocalNews::Agrees;
        }
        if update.clock < own.clock() {
            return LocalNews::Outdated;
        }
        self.change_local(now, None);
        LocalNews::Refuted {
            suspected: update.status != Status::Online,
        }
    }

    /// A new record of the local member: ONLINE with the next clock, with `metadata` if given.
    pub(super) fn change_local(&mut self, now: Duration, metadata: Option<Metadata>) {
        let was_placeholder = self.entry(LOCAL).is_placeholder();
        let clock = self.take_clock();
        self.table.before_change(LOCAL);
        self.table.set_clock(LOCAL, clock);
        let entry = self.table.entry_mut(LOCAL);
        if entry.status() != Status::Online {
            entry.set_status(Status::Online, now);
        }
        entry.set_left(false);
        if let Some(metadata) = metadata {
            let old = entry.replace_metadata(Some(metadata.clone()));
            let base = std::mem::replace(&mut self.local_meta_since, clock);
            let delta = old.map(|old| MetaDelta::between(base, &old, &metadata));
            let smaller =
                |d: &MetaDelta| crate::wire::delta_len(d) < crate::wire::metadata_len(&metadata);
            self.table.set_delta(LOCAL, delta.filter(smaller));
        }
        self.table.note_update(LOCAL, was_placeholder);
    }

    /// The local member leaves: OFFLINE with the next clock and the left flag.
    pub(super) fn leave(&mut self, now: Duration) {
        let clock = self.take_clock();
        self.table.before_change(LOCAL);
        self.table.set_clock(LOCAL, clock);
        let entry = self.table.entry_mut(LOCAL);
        entry.set_status(Status::Offline, now);
        entry.set_left(true);
    }

    /// A local verdict about member `index`: SUSPECT after a failed probe, OFFLINE when the
    /// suspicion expires. Native rules keep its clock (the status precedence makes the
    /// verdict win); seed rules stamp it with our next clock. Returns whether anything
    /// changed.
    pub(super) fn verdict(&mut self, index: usize, status: Status, now: Duration) -> bool {
        if !self.table.set_status(index, status, now) {
            return false;
        }
        if self.verdicts_take_our_clock() {
            let clock = self.take_clock();
            self.table.set_clock(index, clock);
        }
        true
    }

    /// Marks member `index` ONLINE with our next clock and `metadata` (seed rules).
    pub(super) fn mark_online(&mut self, index: usize, metadata: Option<Metadata>, now: Duration) {
        let clock = self.take_clock();
        self.table.before_change(index);
        let was_placeholder = self.entry(index).is_placeholder();
        self.table.set_clock(index, clock);
        let entry = self.table.entry_mut(index);
        if entry.status() != Status::Online {
            entry.set_status(Status::Online, now);
        }
        let changed = *entry.metadata() != metadata;
        entry.replace_metadata(metadata);
        entry.set_left(false);
        self.table.note_update(index, was_placeholder);
        if changed {
            self.table.set_delta(index, None);
        }
    }

    /// Seed rules: member `sender` states its own record. If that is news from its current
    /// process (a clock above any it sent us before) saying ONLINE, and our record says
    /// otherwise but would win by clock, the member vouches for itself: it is alive, it just
    /// spoke. Returns the metadata to mark it ONLINE with, if so. This is how a Python
    /// member's refutation, whose clock can be lower than the accusation's, gets through.
    pub(super) fn first_hand(
        &mut self,
        sender: usize,
        update: &Update,
    ) -> Option<Option<Metadata>> {
        if (self.table.self_clock(sender)).is_some_and(|seen| update.clock <= seen) {
            return None; // a duplicate or a late packet: the ordinary rules decide
        }
        self.table.set_self_clock(sender, Some(update.clock));
        let ours = self.entry(sender);
        let newer = compare_with(update, ours) == Ordering::Greater;
        if update.status != Status::Online || newer {
            return None;
        }
        let metadata = update.metadata.clone().or_else(|| ours.metadata().clone());
        if ours.status() == Status::Online && metadata == *ours.metadata() {
            return None;
        }
        Some(metadata)
    }

    /// Seed rules: a probe of `index` was answered. If we hold it SUSPECT or OFFLINE, it is
    /// to be ONLINE again with the metadata returned (a member known by name only waits for
    /// its own record instead; a member that left may still send: that is no comeback).
    pub(super) fn comes_back(&self, index: usize) -> Option<Option<Metadata>> {
        let entry = self.entry(index);
        (entry.status() != Status::Online && !entry.is_placeholder() && !entry.left())
            .then(|| entry.metadata().clone())
    }

    /// Whether the latest change of `index` cleared a suspicion (SUSPECT to ONLINE).
    pub(super) fn suspicion_cleared(&self, index: usize) -> bool {
        self.previous(index).status == Status::Suspect && self.status(index) == Status::Online
    }

    // --- standing: what we learned of a member's address (`machine/standing.rs`) ---

    /// Whether the current process of `index` answered a ping of ours.
    pub(super) fn reachable(&self, index: usize) -> bool {
        self.entry(index).reachable()
    }

    /// The current process of `index` answered a ping of ours.
    pub(super) fn confirm_reach(&mut self, index: usize) {
        self.table.entry_mut(index).confirm_reach();
    }

    /// `index` asked for the full list before it was confirmed: it is owed once it is.
    pub(super) fn owe_full(&mut self, index: usize) {
        self.table.entry_mut(index).owe_full();
    }

    /// Whether `index` was owed the full list (the debt is cleared).
    pub(super) fn take_owed_full(&mut self, index: usize) -> bool {
        self.table.entry_mut(index).take_owed_full()
    }

    /// Whether `sender` (`new_process` if its validity changed with this packet) is in
    /// good standing: its current process answered a ping of ours. Its status does not
    /// matter: a restarted member we hold OFFLINE must get the list to refute.
    pub(super) fn in_good_standing(&self, sender: usize, new_process: bool) -> bool {
        self.seed_rules(sender) || (!new_process && self.reachable(sender))
    }

    /// Puts the whole map back into every record of `message` that carries a metadata
    /// delta instead (for a wire without deltas).
    pub(super) fn fill_maps(&self, message: &mut Message) {
        let records = match message {
            Message::Sync { records, .. } => records.as_mut_slice(),
            Message::Gossip(update) => std::slice::from_mut(update),
            Message::Ping { window, .. } | Message::Ack { window, .. } => {
                window.as_deref_mut().unwrap_or_default()
            }
            _ => &mut [],
        };
        for record in records.iter_mut().filter(|r| r.delta.is_some()) {
            if let Some(index) = self.get(&record.name) {
                record.metadata = self.entry(index).metadata().clone();
            }
            record.delta = None;
        }
    }

    /// The members a sweep pings (see `Detector::comeback`): SUSPECT, or OFFLINE by a
    /// verdict (not because they left), and known by more than their name.
    pub(super) fn doubted(&self) -> Vec<usize> {
        (self.table.entries().iter().enumerate())
            .filter(|(_, e)| e.status() != Status::Online && !e.left() && !e.is_placeholder())
            .map(|(i, _)| i)
            .filter(|&i| i != LOCAL)
            .collect()
    }

    // --- choosing members ---

    /// Random distinct non-local members by status: rejection sampling first (cheap in large
    /// clusters where most members match), then a scan when few match.
    pub(super) fn pick(
        &self,
        rng: &mut impl Rng,
        count: usize,
        statuses: StatusSet,
        exclude: &[usize],
    ) -> Vec<usize> {
        let n = self.len();
        if count == 0 || n <= 1 {
            return Vec::new();
        }
        let ok = |i: usize, chosen: &[usize]| {
            i != LOCAL
                && statuses.contains(self.status(i))
                && !exclude.contains(&i)
                && !chosen.contains(&i)
        };
        let mut chosen = Vec::with_capacity(count);
        for _ in 0..count * 4 + 8 {
            let i = rng.random_range(1..n);
            if ok(i, &chosen) {
                chosen.push(i);
                if chosen.len() == count {
                    return chosen;
                }
            }
        }
        let rest: Vec<usize> = (1..n).filter(|&i| ok(i, &chosen)).collect();
        let need = count - chosen.len();
        chosen.extend(rand::seq::IndexedRandom::choose_multiple(&rest[..], rng, need).copied());
        chosen
    }

    // --- reaping (see "Reaping" in `docs/PROTOCOL.md`) ---

    /// Drops the tombstones expired at `now`.
    pub(super) fn expire_tombstones(&mut self, now: Duration) {
        self.tombstones.expire(now);
    }

    /// When the next tombstone expires, if any.
    pub(super) fn next_tombstone_expiry(&self) -> Option<Duration> {
        self.tombstones.next_expiry()
    }

    /// The first member from `from` on that has been OFFLINE for `retention` at `now`, to
    /// be forgotten; `next` is lowered to the expiry of every OFFLINE member passed over.
    /// Configured peers are reaped too (a seed member may leave for good); joining brings a
    /// peer back as a placeholder when it is asked again.
    pub(super) fn next_expired(
        &self,
        from: usize,
        now: Duration,
        retention: Duration,
        next: &mut Duration,
    ) -> Option<usize> {
        for index in from.max(LOCAL + 1)..self.len() {
            let entry = self.entry(index);
            if entry.status() == Status::Offline {
                let expiry = entry.status_time().saturating_add(retention);
                if now >= expiry {
                    return Some(index);
                }
                *next = (*next).min(expiry);
            }
        }
        None
    }

    /// Removes member `index`, burying it until `expires`. Returns its last snapshot and the
    /// old index of the member moved into its slot, if one moved.
    pub(super) fn remove(
        &mut self,
        index: usize,
        expires: Duration,
    ) -> (MemberSnapshot, Option<usize>) {
        let (member, validity, moved) = self.table.remove(index);
        self.tombstones.insert(
            member.name.clone(),
            member.clock,
            member.left,
            validity,
            expires,
        );
        (member, moved)
    }

    /// Whether `update` is stale news about a forgotten member (not newer than its
    /// tombstone). A newer record can only come from the member itself (native rules: a
    /// verdict keeps the member's clock), so it brings the member back.
    pub(super) fn buried(&self, update: &Update) -> bool {
        (self.tombstones.get(&update.name)).is_some_and(|t| update.clock <= t.clock)
    }

    /// Whether `name` is a forgotten member.
    pub(super) fn is_forgotten(&self, name: &str) -> bool {
        self.tombstones.get(name).is_some()
    }

    /// How many forgotten members are remembered by a tombstone.
    pub(super) fn tombstones(&self) -> usize {
        self.tombstones.len()
    }
}
