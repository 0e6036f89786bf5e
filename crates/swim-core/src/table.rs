//! The member table: every member's record, and the rules that decide which record wins.
//!
//! Every member holds an entry for every member, so at 10,000 members a cluster holds 10⁸
//! entries: an entry keeps only what every member needs, and what few members have at any
//! time (the seed rules' clock)
//! lives in side maps keyed by index, or in the part that owns it (suspicions in
//! `machine/suspicion.rs`, challenges in `machine/standing.rs`).

use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::time::Duration;

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

use crate::wire;

use crate::{MemberName, MemberSnapshot, MetaDelta, Metadata, PeerWire, Status, Update, Validity};

/// One member as the local member knows it: its record (the fields of a
/// [`MemberSnapshot`], which [`EntryRef::snapshot`] builds) and what we know of its process.
/// Flat, and 40 bytes: every member holds one per member, 10⁸ of them at 10,000 members.
/// The clock keeps its low 32 bits here; the high bits of a clock past 2³² (in practice
/// never) are in the table's side map, so the whole clock is read through the table
/// ([`Table::entry`] gives an [`EntryRef`] that carries it). Five flags share one byte, and
/// the validity bytes' presence is one of them.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: MemberName,
    metadata: Option<Metadata>,
    /// When the status last changed, in nanoseconds of the driver's clock (584 years fit).
    status_nanos: u64,
    /// The validity bytes of the process last heard from under this name, if
    /// [`HAS_VALIDITY`] is set (else zero).
    validity: Validity,
    /// The low 32 bits of the logical clock of the latest change applied (see [`HIGH_CLOCK`]).
    clock_low: u32,
    status: Status,
    /// [`LOCAL`], [`LEFT`], [`CONFIRMED`], [`OWED_FULL`], [`HAS_VALIDITY`], [`HIGH_CLOCK`].
    flags: u8,
    /// The wire format this member's current process last sent us a packet in (used by
    /// [`Wire::Auto`](crate::Wire::Auto) only).
    wire: Option<PeerWire>,
}

/// The local member.
const LOCAL: u8 = 1;
/// OFFLINE because it left (see [`MemberSnapshot::left`]).
const LEFT: u8 = 1 << 1;
/// Its current process answered a ping of ours (see `machine/standing.rs`).
const CONFIRMED: u8 = 1 << 2;
/// It asked for the full list before it was confirmed: send it once it is.
const OWED_FULL: u8 = 1 << 3;
/// `validity` holds the validity bytes of a process we heard from.
const HAS_VALIDITY: u8 = 1 << 4;
/// The clock is 2³² or more: its high 32 bits are in [`Table`]'s `high_clocks`.
const HIGH_CLOCK: u8 = 1 << 5;

fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

impl Entry {
    fn new(name: MemberName, local: bool, now: Duration) -> Entry {
        Entry {
            name,
            metadata: None,
            status_nanos: nanos(now),
            validity: Validity::default(),
            clock_low: 0,
            status: Status::Offline,
            flags: if local { LOCAL } else { 0 },
            wire: None,
        }
    }

    fn flag(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn set_flag(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// The member's metadata, if we hold it.
    pub(crate) fn metadata(&self) -> &Option<Metadata> {
        &self.metadata
    }

    /// The validity bytes of the process last heard from under this name.
    pub(crate) fn validity(&self) -> Option<Validity> {
        self.flag(HAS_VALIDITY).then_some(self.validity)
    }

    fn set_validity(&mut self, validity: Option<Validity>) {
        self.set_flag(HAS_VALIDITY, validity.is_some());
        self.validity = validity.unwrap_or_default();
    }

    /// The member's status.
    pub(crate) fn status(&self) -> Status {
        self.status
    }

    /// OFFLINE because it left.
    pub(crate) fn left(&self) -> bool {
        self.flag(LEFT)
    }

    /// The wire format its current process last sent us a packet in.
    pub(crate) fn wire(&self) -> Option<PeerWire> {
        self.wire
    }

    /// When the status last changed, on the driver's clock.
    pub(crate) fn status_time(&self) -> Duration {
        Duration::from_nanos(self.status_nanos)
    }

    /// Sets the status, changed at `now`.
    pub(crate) fn set_status(&mut self, status: Status, now: Duration) {
        self.status = status;
        self.status_nanos = nanos(now);
    }

    /// Sets whether the member left.
    pub(crate) fn set_left(&mut self, left: bool) {
        self.set_flag(LEFT, left);
    }

    /// Replaces the metadata; returns the old.
    pub(crate) fn replace_metadata(&mut self, metadata: Option<Metadata>) -> Option<Metadata> {
        std::mem::replace(&mut self.metadata, metadata)
    }

    /// A packet from process `validity` arrived in `wire`. Returns whether the process is
    /// new (a first packet, or a restart: what we learned of its address is forgotten) and
    /// whether it is a restart of a process we knew.
    pub(crate) fn heard_process(&mut self, validity: Validity, wire: PeerWire) -> (bool, bool) {
        let known = self.validity();
        let new_process = known != Some(validity);
        if new_process {
            self.set_flag(CONFIRMED, false);
            self.set_flag(OWED_FULL, false);
        }
        self.wire = Some(wire);
        let restarted = new_process && known.is_some();
        self.set_validity(Some(validity));
        (new_process, restarted)
    }

    /// Whether its current process answered a ping of ours.
    pub(crate) fn reachable(&self) -> bool {
        self.flag(CONFIRMED)
    }

    /// Its current process answered a ping of ours.
    pub(crate) fn confirm_reach(&mut self) {
        self.set_flag(CONFIRMED, true);
    }

    /// It asked for the full list before it was confirmed: it is owed once it is.
    pub(crate) fn owe_full(&mut self) {
        self.set_flag(OWED_FULL, true);
    }

    /// Whether it was owed the full list (the debt is cleared).
    pub(crate) fn take_owed_full(&mut self) -> bool {
        let owed = self.flag(OWED_FULL);
        self.set_flag(OWED_FULL, false);
        owed
    }

    /// Known only by name: nothing was ever heard about it (clock 0, no metadata).
    pub(crate) fn is_placeholder(&self) -> bool {
        self.clock_low == 0 && !self.flag(HIGH_CLOCK) && self.metadata.is_none()
    }
}

/// An entry with its whole clock, as [`Table::entry`] reads it: everything an [`Entry`]
/// tells (through `Deref`), plus the clock and the snapshot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'a> {
    entry: &'a Entry,
    clock: u64,
}

impl std::ops::Deref for EntryRef<'_> {
    type Target = Entry;
    fn deref(&self) -> &Entry {
        self.entry
    }
}

impl<'a> EntryRef<'a> {
    /// The member's name (borrowed from the table, not from this reference).
    pub(crate) fn name(&self) -> &'a MemberName {
        &self.entry.name
    }

    /// The member's metadata, if we hold it (borrowed from the table).
    pub(crate) fn metadata(&self) -> &'a Option<Metadata> {
        &self.entry.metadata
    }

    /// The logical clock of the latest change applied.
    pub(crate) fn clock(&self) -> u64 {
        self.clock
    }

    /// The member's snapshot, as the API reports it.
    pub(crate) fn snapshot(&self) -> MemberSnapshot {
        let e = self.entry;
        MemberSnapshot {
            name: e.name.clone(),
            local: e.flag(LOCAL),
            clock: self.clock,
            status: e.status,
            status_time: e.status_time(),
            metadata: e.metadata.clone(),
            left: e.left(),
        }
    }
}

/// Makes room in `v` for `len` items, growing it by a quarter, not double: every member holds
/// a table (and per-member vectors) of every member, so doubling would leave up to half of
/// each one unused (a quarter is still amortized O(1)).
pub(crate) fn reserve_gently<T>(v: &mut Vec<T>, len: usize) {
    if len > v.capacity() {
        let grown = v.capacity() + v.capacity() / 4 + 4;
        v.reserve_exact(len.max(grown) - v.len());
    }
}

/// Sets or clears `map[i]`.
fn set_side<V>(map: &mut HashMap<usize, V>, i: usize, value: Option<V>) {
    match value {
        Some(v) => {
            map.insert(i, v);
        }
        None => {
            map.remove(&i);
        }
    }
}

/// Moves `map[from]` (if any) to `map[to]`.
fn move_side<V>(map: &mut HashMap<usize, V>, from: usize, to: usize) {
    if let Some(v) = map.remove(&from) {
        map.insert(to, v);
    }
}

/// Orders two records of the same member: a higher clock wins; at equal clocks the more
/// pessimistic status wins (so only a refutation with a newer clock overturns a suspicion),
/// then known metadata beats unknown, then the greater metadata (a deterministic tie-break).
pub(crate) fn compare(
    a_clock: u64,
    a_status: Status,
    a_meta: Option<&Metadata>,
    b_clock: u64,
    b_status: Status,
    b_meta: Option<&Metadata>,
) -> Ordering {
    a_clock
        .cmp(&b_clock)
        .then(a_status.precedence().cmp(&b_status.precedence()))
        .then_with(|| a_meta.cmp(&b_meta))
}

/// How `update` orders against the record `current` we hold for the same member. At equal
/// clock, status and metadata, a leave beats a plain OFFLINE (a deterministic tie-break: the
/// member's own word is final).
pub(crate) fn compare_with(update: &Update, current: EntryRef<'_>) -> Ordering {
    compare(
        update.clock,
        update.status,
        update.metadata.as_ref(),
        current.clock(),
        current.status(),
        current.metadata().as_ref(),
    )
    .then(update.left.cmp(&current.left()))
}

/// What applying a record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// The record was not newer than ours.
    Stale,
    /// Only the clock moved on: nothing visible changed, but the record must be passed on.
    ClockOnly,
    /// The status or metadata changed.
    Changed,
}

/// All members, indexed by name. OFFLINE members are removed after `offline_retention`
/// (see `machine/reaping.rs`); the local member (index 0) never is.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: Vec<Entry>,
    /// Entry indices hashed by the entry's own name (no second copy of the name).
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// How many entries are not placeholders.
    known: usize,
    /// The entry changed last and its snapshot before that change: the `previous` of the
    /// change event, which is built right after the change (no entry keeps its previous
    /// snapshot: that was a third of every entry).
    last_change: Option<(usize, MemberSnapshot)>,
    /// The highest clock of a record about itself that the member's current process sent
    /// us (used by the seed clock rules only).
    self_clocks: HashMap<usize, u64>,
    /// The latest metadata change of a member, for members whose current map came by a
    /// delta or changed here: how their record is gossiped on the native wire while the
    /// delta is smaller than the map. Kept only while it makes the entry's current map.
    deltas: HashMap<usize, MetaDelta>,
    /// The high 32 bits of the clocks of 2³² or more (entries flagged [`HIGH_CLOCK`]).
    high_clocks: HashMap<usize, u32>,
}

impl Table {
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    /// Makes room for `members` entries in all (a driver that knows the cluster's size):
    /// the table and its index are then allocated once, at their size, instead of grown
    /// step by step, which copies them and leaves the heap holes and up to a quarter of
    /// slack. Capacity decides nothing: lookups and the entries' order are the same.
    pub(crate) fn reserve(&mut self, members: usize) {
        let more = members.saturating_sub(self.entries.len());
        self.entries.reserve_exact(more);
        let (entries, hasher) = (&self.entries, &self.hasher);
        (self.index).reserve(more, |&j| hasher.hash_one(&*entries[j as usize].name));
    }

    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(self.hash(name), |&i| &*entries[i as usize].name == name)
            .map(|&i| i as usize)
    }

    /// The index of `name`, adding it as a placeholder (OFFLINE, clock 0, metadata unknown,
    /// as the seed creates members) if it is new. Returns (index, whether it was added).
    pub(crate) fn get_or_insert(
        &mut self,
        name: &MemberName,
        local: bool,
        now: Duration,
    ) -> (usize, bool) {
        // Names compare by pointer first (`Arc`): a name the driver shares, as the simulator
        // does, is found without reading its bytes.
        let entries = &self.entries;
        let found = (self.index).find(self.hash(name), |&i| entries[i as usize].name == *name);
        if let Some(&i) = found {
            return (i as usize, false);
        }
        let i = self.entries.len();
        reserve_gently(&mut self.entries, i + 1);
        self.entries.push(Entry::new(name.clone(), local, now));
        let hash = self.hash(name);
        let (entries, hasher) = (&self.entries, &self.hasher);
        // A table of 2³² members would not fit in memory long before.
        self.index.insert_unique(hash, i as u32, |&j| {
            hasher.hash_one(&*entries[j as usize].name)
        });
        (i, true)
    }

    /// The record disseminated for the member at `i`, naming `accuser` (a suspicion's).
    pub(crate) fn update(&self, i: usize, accuser: Option<&MemberName>) -> Update {
        let current = self.entry(i);
        Update {
            name: current.name.clone(),
            clock: current.clock(),
            status: current.status,
            metadata: current.metadata.clone(),
            accuser: accuser.cloned(),
            left: current.left(),
            delta: None,
        }
    }

    /// The record of the member at `i` as gossiped on the native wire: with its latest
    /// metadata change instead of its map when that is smaller (see [`MetaDelta`]).
    pub(crate) fn gossip_update(&self, i: usize, accuser: Option<&MemberName>) -> Update {
        let mut update = self.update(i, accuser);
        if let Some(delta) = self.gossip_delta(i) {
            update.metadata = None;
            update.delta = Some(Box::new(delta.clone()));
        }
        update
    }

    /// The delta the record of `i` is gossiped with, if any (kept only while it is
    /// smaller than the map).
    pub(crate) fn gossip_delta(&self, i: usize) -> Option<&MetaDelta> {
        self.deltas.get(&i)
    }

    /// Sets or clears the latest metadata change of `i`: it must make the entry's map.
    pub(crate) fn set_delta(&mut self, i: usize, delta: Option<MetaDelta>) {
        set_side(&mut self.deltas, i, delta);
    }

    /// Keeps the snapshot of entry `i` as it is now, as the `previous` of the change about
    /// to be made to it (see [`Table::previous`]).
    pub(crate) fn before_change(&mut self, i: usize) {
        self.last_change = Some((i, self.entry(i).snapshot()));
    }

    /// The snapshot of entry `i` before its latest change, if that change was the last
    /// one made to the table (as when its event is built); else its current snapshot.
    pub(crate) fn previous(&self, i: usize) -> MemberSnapshot {
        match &self.last_change {
            Some((j, snapshot)) if *j == i => snapshot.clone(),
            _ => self.entry(i).snapshot(),
        }
    }

    /// The highest clock of its own record the member at `i` sent us (seed rules).
    pub(crate) fn self_clock(&self, i: usize) -> Option<u64> {
        self.self_clocks.get(&i).copied()
    }

    pub(crate) fn set_self_clock(&mut self, i: usize, clock: Option<u64>) {
        set_side(&mut self.self_clocks, i, clock);
    }

    /// The entry at `i`, with its whole clock.
    pub(crate) fn entry(&self, i: usize) -> EntryRef<'_> {
        let entry = &self.entries[i];
        let high = match entry.flag(HIGH_CLOCK) {
            true => self.high_clocks.get(&i).copied().unwrap_or_default(),
            false => 0,
        };
        EntryRef {
            entry,
            clock: u64::from(high) << 32 | u64::from(entry.clock_low),
        }
    }

    /// Sets the clock of the latest change of the entry at `i`.
    pub(crate) fn set_clock(&mut self, i: usize, clock: u64) {
        let entry = &mut self.entries[i];
        // The low half here, the high half (if any) in the side map: 40-byte entries.
        entry.clock_low = clock as u32;
        let high = (clock >> 32) as u32;
        entry.set_flag(HIGH_CLOCK, high != 0);
        set_side(&mut self.high_clocks, i, (high != 0).then_some(high));
    }

    /// The entry at `i` is back from a tombstone: its clock, whether it left, its last
    /// process.
    pub(crate) fn unbury(&mut self, i: usize, clock: u64, left: bool, validity: Option<Validity>) {
        self.set_clock(i, clock);
        let entry = &mut self.entries[i];
        entry.set_left(left);
        entry.set_validity(validity);
    }

    /// The entry at `i`, to change it (the caller keeps `known` right: see
    /// [`Table::note_update`]).
    pub(crate) fn entry_mut(&mut self, i: usize) -> &mut Entry {
        &mut self.entries[i]
    }

    /// Every entry, in table order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Removes the entry at `i` (never the local one), moving the last entry into its place
    /// (with its side data). Returns the removed entry's snapshot and validity, and the old
    /// index of the moved one, if one moved: the caller renames that index wherever it keeps
    /// indices.
    pub(crate) fn remove(&mut self, i: usize) -> (MemberSnapshot, Option<Validity>, Option<usize>) {
        let last = self.entries.len() - 1;
        let snapshot = self.entry(i).snapshot();
        let hash = self.hash(&self.entries[i].name);
        if let Ok(slot) = self.index.find_entry(hash, |&j| j as usize == i) {
            slot.remove();
        }
        let entry = self.entries.swap_remove(i);
        if !entry.is_placeholder() {
            self.known -= 1;
        }
        if self
            .last_change
            .as_ref()
            .is_some_and(|(j, _)| *j == i || *j == last)
        {
            self.last_change = None;
        }
        self.self_clocks.remove(&i);
        self.deltas.remove(&i);
        self.high_clocks.remove(&i);
        let moved = (i != last).then(|| {
            let hash = self.hash(&self.entries[i].name);
            if let Some(slot) = self.index.find_mut(hash, |&j| j as usize == last) {
                *slot = i as u32;
            }
            move_side(&mut self.self_clocks, last, i);
            move_side(&mut self.deltas, last, i);
            move_side(&mut self.high_clocks, last, i);
            last
        });
        (snapshot, entry.validity(), moved)
    }

    /// How many members we know a record of (placeholders excluded).
    pub(crate) fn known(&self) -> usize {
        self.known
    }

    /// Accounts for entry `i` having left the placeholder state, if it did.
    pub(crate) fn note_update(&mut self, i: usize, was_placeholder: bool) {
        if was_placeholder && !self.entries[i].is_placeholder() {
            self.known += 1;
        }
    }

    /// Applies a disseminated record about the non-local member at `i`, following the seed's
    /// status transitions. The caller handles timers, events and re-gossip.
    pub(crate) fn apply(&mut self, i: usize, update: &Update, now: Duration) -> Applied {
        let was_placeholder = self.entries[i].is_placeholder();
        let applied = self.apply_record(i, update, now);
        self.note_update(i, was_placeholder);
        applied
    }

    fn apply_record(&mut self, i: usize, update: &Update, now: Duration) -> Applied {
        let cur = self.entry(i);
        let cur_clock = cur.clock();
        // The entry alone (not the table) stays borrowed: the side maps change below.
        let cur = &self.entries[i];
        let whole = EntryRef {
            entry: cur,
            clock: cur_clock,
        };
        if compare_with(update, whole) != Ordering::Greater {
            return Applied::Stale;
        }
        let left = update.left && update.status == Status::Offline;
        let status = match (cur.status, update.status) {
            // The member said it is leaving: OFFLINE at once, there is nothing to suspect.
            (_, Status::Offline) if left => Status::Offline,
            // Another member's timer ran out first: ours decides (no cascades of OFFLINE
            // from one slow refutation), so the report only confirms the suspicion.
            (Status::Suspect, Status::Offline) => Status::Suspect,
            (from, to) => from.transition(to),
        };
        // A leave stays known while the member stays OFFLINE; coming back clears it.
        let left = status == Status::Offline && (left || cur.left());
        let metadata = update.metadata.clone().or_else(|| cur.metadata.clone());
        // A delta that made the map (filled in by the caller) is how it is passed on; a map
        // that changed otherwise has no delta.
        // A map that changed otherwise is passed on as the change from ours (the digest
        // tells a receiver holding another map apart).
        let resolved = (update.delta.as_deref().cloned()).filter(|_| update.metadata.is_some());
        if resolved.is_some() || metadata != cur.metadata {
            let delta = resolved.or_else(|| match (&cur.metadata, &metadata) {
                (Some(old), Some(new)) if cur_clock < update.clock => {
                    Some(MetaDelta::between(cur_clock, old, new))
                }
                _ => None,
            });
            let smaller = |d: &MetaDelta| {
                (metadata.as_ref()).is_some_and(|m| wire::delta_len(d) < wire::metadata_len(m))
            };
            set_side(&mut self.deltas, i, delta.filter(smaller));
        }
        if status == cur.status && metadata == cur.metadata && left == cur.left() {
            if update.clock == cur_clock {
                return Applied::Stale;
            }
            self.set_clock(i, update.clock);
            return Applied::ClockOnly;
        }
        self.before_change(i);
        self.set_clock(i, update.clock);
        let entry = &mut self.entries[i];
        if status != entry.status {
            entry.set_status(status, now);
        }
        entry.metadata = metadata;
        entry.set_left(left);
        Applied::Changed
    }

    /// Sets the status of the member at `i` by local decision (suspicion, its expiry),
    /// keeping its clock. Returns whether anything changed.
    pub(crate) fn set_status(&mut self, i: usize, status: Status, now: Duration) -> bool {
        let entry = &mut self.entries[i];
        let status = entry.status.transition(status);
        if status == entry.status {
            return false;
        }
        self.before_change(i);
        let entry = &mut self.entries[i];
        entry.set_status(status, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(clock: u64, status: Status, meta: Option<&str>) -> Update {
        Update {
            name: "b".into(),
            clock,
            status,
            metadata: meta.map(|v| [("k", v)].into_iter().collect()),
            accuser: None,
            left: false,
            delta: None,
        }
    }

    fn table() -> (Table, usize) {
        let mut t = Table::default();
        let (i, added) = t.get_or_insert(&"b".into(), false, Duration::ZERO);
        assert!(added);
        (t, i)
    }

    #[test]
    fn removing_an_entry_keeps_the_index_and_side_data_of_the_moved_one() {
        let mut t = Table::default();
        let now = Duration::ZERO;
        for name in ["a", "b", "c"] {
            t.get_or_insert(&name.into(), false, now);
        }
        t.set_self_clock(2, Some(7));
        let (removed, _, moved) = t.remove(1);
        assert_eq!(&*removed.name, "b");
        assert_eq!(moved, Some(2));
        assert_eq!(t.get("c"), Some(1));
        assert_eq!(t.get("b"), None);
        assert_eq!(t.self_clock(1), Some(7));
        assert_eq!(t.self_clock(2), None);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_entry_is_40_bytes() {
        // Every member holds an entry of every member: 10⁸ entries at 10,000 members.
        assert_eq!(std::mem::size_of::<Entry>(), 40);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_record_is_48_bytes() {
        // A full member list holds one per member, and a large run holds hundreds of such
        // lists in flight.
        assert_eq!(std::mem::size_of::<Update>(), 48);
    }

    #[test]
    fn clocks_past_32_bits_are_whole_through_applies_moves_and_removal() {
        let (mut t, i) = table();
        let big = (7u64 << 32) | 5;
        let now = Duration::ZERO;
        assert_eq!(
            t.apply(i, &update(big, Status::Online, Some("x")), now),
            Applied::Changed
        );
        assert_eq!(t.entry(i).clock(), big);
        assert_eq!(t.update(i, None).clock, big);
        assert_eq!(t.entry(i).snapshot().clock, big);
        // The low half alone is not newer.
        assert_eq!(
            t.apply(i, &update(6, Status::Online, Some("x")), now),
            Applied::Stale
        );
        assert_eq!(
            t.apply(i, &update(big + 1, Status::Online, Some("x")), now),
            Applied::ClockOnly
        );
        assert_eq!(t.entry(i).clock(), big + 1);
        // Another entry moves into a removed one's slot with its whole clock.
        let (c, _) = t.get_or_insert(&"c".into(), false, now);
        let mut uc = update(u64::MAX, Status::Online, Some("y"));
        uc.name = "c".into();
        t.apply(c, &uc, now);
        let (removed, _, moved) = t.remove(i);
        assert_eq!((removed.clock, moved), (big + 1, Some(c)));
        assert_eq!(t.entry(i).clock(), u64::MAX);
        // A small clock clears the high half.
        t.set_clock(i, 3);
        assert_eq!(t.entry(i).clock(), 3);
        assert!(t.high_clocks.is_empty());
        t.unbury(i, 1 << 40, true, None);
        assert_eq!((t.entry(i).clock(), t.entry(i).left()), (1 << 40, true));
    }

    #[test]
    fn higher_clock_wins_and_stale_is_ignored() {
        let (mut t, i) = table();
        let now = Duration::from_secs(1);
        assert_eq!(
            t.apply(i, &update(5, Status::Online, Some("x")), now),
            Applied::Changed
        );
        assert_eq!(
            t.apply(i, &update(4, Status::Offline, Some("y")), now),
            Applied::Stale
        );
        assert_eq!(
            t.apply(i, &update(5, Status::Online, Some("x")), now),
            Applied::Stale
        );
        assert_eq!(
            t.apply(i, &update(6, Status::Online, None), now),
            Applied::ClockOnly
        );
        let cur = t.entry(i);
        assert_eq!((cur.clock(), cur.status), (6, Status::Online));
        assert_eq!(
            cur.metadata.as_ref().and_then(|m| m.get("k").cloned()),
            Some(b"x".to_vec())
        );
    }

    #[test]
    fn equal_clock_pessimistic_status_wins() {
        let (mut t, i) = table();
        let now = Duration::ZERO;
        t.apply(i, &update(5, Status::Online, Some("x")), now);
        assert_eq!(
            t.apply(i, &update(5, Status::Suspect, Some("x")), now),
            Applied::Changed
        );
        assert_eq!(
            t.apply(i, &update(5, Status::Online, Some("x")), now),
            Applied::Stale
        );
        assert_eq!(t.entries[i].status, Status::Suspect);
        assert_eq!(
            t.apply(i, &update(6, Status::Online, Some("x")), now),
            Applied::Changed
        );
        assert_eq!(t.entries[i].status, Status::Online);
    }

    #[test]
    fn ties_are_broken_the_same_way_in_any_order() {
        let a = update(7, Status::Online, Some("a"));
        let b = update(7, Status::Online, Some("b"));
        let (mut t1, i) = table();
        t1.apply(i, &a, Duration::ZERO);
        t1.apply(i, &b, Duration::ZERO);
        let (mut t2, j) = table();
        t2.apply(j, &b, Duration::ZERO);
        t2.apply(j, &a, Duration::ZERO);
        assert_eq!(t1.entry(i).snapshot(), t2.entry(j).snapshot());
    }

    #[test]
    fn seed_transitions_apply_to_gossip() {
        let (mut t, i) = table();
        let now = Duration::ZERO;
        t.apply(i, &update(5, Status::Online, Some("x")), now);
        // ONLINE never jumps to OFFLINE: it becomes SUSPECT.
        t.apply(i, &update(6, Status::Offline, None), now);
        assert_eq!(t.entries[i].status, Status::Suspect);
        assert_eq!(t.previous(i).status, Status::Online);
        // A SUSPECT is declared OFFLINE by the local timer only, not by hearsay.
        assert_eq!(
            t.apply(i, &update(7, Status::Offline, None), now),
            Applied::ClockOnly
        );
        assert_eq!(t.entries[i].status, Status::Suspect);
        assert!(t.set_status(i, Status::Offline, now));
        assert_eq!(t.entries[i].status, Status::Offline);
        // OFFLINE never goes back to SUSPECT.
        t.apply(i, &update(8, Status::Suspect, None), now);
        assert_eq!(t.entries[i].status, Status::Offline);
        assert_eq!(t.entry(i).clock(), 8);
    }
}
