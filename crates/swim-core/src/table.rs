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
/// [`MemberSnapshot`], which [`Entry::snapshot`] builds) and what we know of its process.
/// Flat, and 48 bytes: nested structs could not share their padding.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: MemberName,
    /// The logical clock of the latest change applied.
    clock: u64,
    /// When the status last changed, in nanoseconds of the driver's clock (584 years fit).
    status_nanos: u64,
    metadata: Option<Metadata>,
    /// The validity bytes of the process last heard from under this name.
    validity: Option<Validity>,
    status: Status,
    /// Whether this is the local member.
    local: bool,
    /// OFFLINE because it left (see [`MemberSnapshot::left`]).
    left: bool,
    /// Whether its current process can receive at its address (see `machine/standing.rs`).
    reach: Reachability,
    /// The wire format this member's current process last sent us a packet in (used by
    /// [`Wire::Auto`](crate::Wire::Auto) only).
    wire: Option<PeerWire>,
}

fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

/// A member's standing with us: what we learned of its address (`machine/standing.rs`).
/// The challenge in flight to it, if any, is in the standing part (`machine/standing.rs`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reachability {
    /// Its current process answered a ping of ours.
    confirmed: bool,
    /// It asked for the full list before it was confirmed: send it once it is.
    owed_full: bool,
}

impl Entry {
    fn new(name: MemberName, local: bool, now: Duration) -> Entry {
        Entry {
            name,
            clock: 0,
            status_nanos: nanos(now),
            metadata: None,
            validity: None,
            status: Status::Offline,
            local,
            left: false,
            reach: Reachability::default(),
            wire: None,
        }
    }

    /// The member's name.
    pub(crate) fn name(&self) -> &MemberName {
        &self.name
    }

    /// The logical clock of the latest change applied.
    pub(crate) fn clock(&self) -> u64 {
        self.clock
    }

    /// The member's metadata, if we hold it.
    pub(crate) fn metadata(&self) -> &Option<Metadata> {
        &self.metadata
    }

    /// The validity bytes of the process last heard from under this name.
    pub(crate) fn validity(&self) -> Option<Validity> {
        self.validity
    }

    /// The member's status.
    pub(crate) fn status(&self) -> Status {
        self.status
    }

    /// OFFLINE because it left.
    pub(crate) fn left(&self) -> bool {
        self.left
    }

    /// The wire format its current process last sent us a packet in.
    pub(crate) fn wire(&self) -> Option<PeerWire> {
        self.wire
    }

    /// When the status last changed, on the driver's clock.
    pub(crate) fn status_time(&self) -> Duration {
        Duration::from_nanos(self.status_nanos)
    }

    /// Sets the clock of the latest change.
    pub(crate) fn set_clock(&mut self, clock: u64) {
        self.clock = clock;
    }

    /// Sets the status, changed at `now`.
    pub(crate) fn set_status(&mut self, status: Status, now: Duration) {
        self.status = status;
        self.status_nanos = nanos(now);
    }

    /// Sets whether the member left.
    pub(crate) fn set_left(&mut self, left: bool) {
        self.left = left;
    }

    /// Replaces the metadata; returns the old.
    pub(crate) fn replace_metadata(&mut self, metadata: Option<Metadata>) -> Option<Metadata> {
        std::mem::replace(&mut self.metadata, metadata)
    }

    /// Back from a tombstone: its clock, whether it left, its last process.
    pub(crate) fn unbury(&mut self, clock: u64, left: bool, validity: Option<Validity>) {
        self.clock = clock;
        self.left = left;
        self.validity = validity;
    }

    /// A packet from process `validity` arrived in `wire`. Returns whether the process is
    /// new (a first packet, or a restart: what we learned of its address is forgotten) and
    /// whether it is a restart of a process we knew.
    pub(crate) fn heard_process(&mut self, validity: Validity, wire: PeerWire) -> (bool, bool) {
        let new_process = self.validity != Some(validity);
        if new_process {
            self.reach = Reachability::default();
        }
        self.wire = Some(wire);
        let restarted = new_process && self.validity.is_some();
        self.validity = Some(validity);
        (new_process, restarted)
    }

    /// Whether its current process answered a ping of ours.
    pub(crate) fn reachable(&self) -> bool {
        self.reach.confirmed
    }

    /// Its current process answered a ping of ours.
    pub(crate) fn confirm_reach(&mut self) {
        self.reach.confirmed = true;
    }

    /// It asked for the full list before it was confirmed: it is owed once it is.
    pub(crate) fn owe_full(&mut self) {
        self.reach.owed_full = true;
    }

    /// Whether it was owed the full list (the debt is cleared).
    pub(crate) fn take_owed_full(&mut self) -> bool {
        std::mem::take(&mut self.reach.owed_full)
    }

    /// The member's snapshot, as the API reports it.
    pub(crate) fn snapshot(&self) -> MemberSnapshot {
        MemberSnapshot {
            name: self.name.clone(),
            local: self.local,
            clock: self.clock,
            status: self.status,
            status_time: self.status_time(),
            metadata: self.metadata.clone(),
            left: self.left,
        }
    }

    /// Known only by name: nothing was ever heard about it.
    pub(crate) fn is_placeholder(&self) -> bool {
        self.clock == 0 && self.metadata.is_none()
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
pub(crate) fn compare_with(update: &Update, current: &Entry) -> Ordering {
    compare(
        update.clock,
        update.status,
        update.metadata.as_ref(),
        current.clock,
        current.status,
        current.metadata.as_ref(),
    )
    .then(update.left.cmp(&current.left))
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
}

impl Table {
    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
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
        let current = &self.entries[i];
        Update {
            name: current.name.clone(),
            clock: current.clock,
            status: current.status,
            metadata: current.metadata.clone(),
            accuser: accuser.cloned(),
            left: current.left,
            delta: None,
        }
    }

    /// The record of the member at `i` as gossiped on the native wire: with its latest
    /// metadata change instead of its map when that is smaller (see [`MetaDelta`]).
    pub(crate) fn gossip_update(&self, i: usize, accuser: Option<&MemberName>) -> Update {
        let mut update = self.update(i, accuser);
        if let Some(delta) = self.gossip_delta(i) {
            update.metadata = None;
            update.delta = Some(delta.clone());
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
        self.last_change = Some((i, self.entries[i].snapshot()));
    }

    /// The snapshot of entry `i` before its latest change, if that change was the last
    /// one made to the table (as when its event is built); else its current snapshot.
    pub(crate) fn previous(&self, i: usize) -> MemberSnapshot {
        match &self.last_change {
            Some((j, snapshot)) if *j == i => snapshot.clone(),
            _ => self.entries[i].snapshot(),
        }
    }

    /// The highest clock of its own record the member at `i` sent us (seed rules).
    pub(crate) fn self_clock(&self, i: usize) -> Option<u64> {
        self.self_clocks.get(&i).copied()
    }

    pub(crate) fn set_self_clock(&mut self, i: usize, clock: Option<u64>) {
        set_side(&mut self.self_clocks, i, clock);
    }

    /// The entry at `i`.
    pub(crate) fn entry(&self, i: usize) -> &Entry {
        &self.entries[i]
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
    /// (with its side data). Returns the removed entry and the old index of the moved one,
    /// if one moved: the caller renames that index wherever it keeps indices.
    pub(crate) fn remove(&mut self, i: usize) -> (Entry, Option<usize>) {
        let last = self.entries.len() - 1;
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
        let moved = (i != last).then(|| {
            let hash = self.hash(&self.entries[i].name);
            if let Some(slot) = self.index.find_mut(hash, |&j| j as usize == last) {
                *slot = i as u32;
            }
            move_side(&mut self.self_clocks, last, i);
            move_side(&mut self.deltas, last, i);
            last
        });
        (entry, moved)
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
        let cur = &self.entries[i];
        if compare_with(update, cur) != Ordering::Greater {
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
        let left = status == Status::Offline && (left || cur.left);
        let metadata = update.metadata.clone().or_else(|| cur.metadata.clone());
        // A delta that made the map (filled in by the caller) is how it is passed on; a map
        // that changed otherwise has no delta.
        // A map that changed otherwise is passed on as the change from ours (the digest
        // tells a receiver holding another map apart).
        let resolved = update.delta.clone().filter(|_| update.metadata.is_some());
        if resolved.is_some() || metadata != cur.metadata {
            let delta = resolved.or_else(|| match (&cur.metadata, &metadata) {
                (Some(old), Some(new)) if cur.clock < update.clock => {
                    Some(MetaDelta::between(cur.clock, old, new))
                }
                _ => None,
            });
            let smaller = |d: &MetaDelta| {
                (metadata.as_ref()).is_some_and(|m| wire::delta_len(d) < wire::metadata_len(m))
            };
            set_side(&mut self.deltas, i, delta.filter(smaller));
        }
        if status == cur.status && metadata == cur.metadata && left == cur.left {
            if update.clock == cur.clock {
                return Applied::Stale;
            }
            self.entries[i].clock = update.clock;
            return Applied::ClockOnly;
        }
        self.before_change(i);
        let entry = &mut self.entries[i];
        if status != entry.status {
            entry.set_status(status, now);
        }
        entry.clock = update.clock;
        entry.metadata = metadata;
        entry.left = left;
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
    #[cfg(target_pointer_width = "64")]
    fn an_entry_is_48_bytes() {
        // Every member holds an entry of every member: 10⁸ entries at 10,000 members.
        assert_eq!(std::mem::size_of::<Entry>(), 48);
    }

    #[test]
    fn removing_an_entry_keeps_the_index_and_side_data_of_the_moved_one() {
        let mut t = Table::default();
        let now = Duration::ZERO;
        for name in ["a", "b", "c"] {
            t.get_or_insert(&name.into(), false, now);
        }
        t.set_self_clock(2, Some(7));
        let (removed, moved) = t.remove(1);
        assert_eq!(&*removed.name, "b");
        assert_eq!(moved, Some(2));
        assert_eq!(t.get("c"), Some(1));
        assert_eq!(t.get("b"), None);
        assert_eq!(t.self_clock(1), Some(7));
        assert_eq!(t.self_clock(2), None);
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
        let cur = &t.entries[i];
        assert_eq!((cur.clock, cur.status), (6, Status::Online));
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
        assert_eq!(t1.entries[i].snapshot(), t2.entries[j].snapshot());
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
        assert_eq!(t.entries[i].clock, 8);
    }
}
