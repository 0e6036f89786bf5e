//! The queue of records waiting to be piggybacked, each sent a bounded number of times.
//!
//! Fresh records go first: the queue is ordered by how often a record was already sent,
//! then by recency. A record is dropped after `limit` transmissions, so a quiet cluster
//! sends no gossip at all.

use std::cmp::Reverse;
use std::collections::BTreeSet;

/// Per-member piggyback state, keyed by the member's index in the member table. Every
/// member may queue a record of every member at once (a mass join), so the keys are small:
/// 12 bytes in the ordered set, and 4 bytes per table index for the state of its record.
#[derive(Debug, Default)]
pub(super) struct BroadcastQueue {
    /// (times sent, newest first, member index)
    order: BTreeSet<(u32, Reverse<u32>, u32)>,
    /// By member index: (times sent, insertion id) of its queued record packed in 32 bits
    /// (see [`pack`]), [`NOT_QUEUED`] if none (a vector, not a map: at its peak the queue
    /// holds nearly every member).
    slots: Vec<u32>,
    /// How many records are queued.
    queued: usize,
    next_id: u32,
    /// A record was queued since the last [`BroadcastQueue::take_fresh`].
    fresh: bool,
}

/// The slot of a member whose record is not queued (its id, `ID_END`, is never given).
const NOT_QUEUED: u32 = u32::MAX;

/// The low bits of a slot count the times sent: fewer than the limit, which is at most
/// 64 × 20 (`retransmit_mult` is validated to 1..=64, and ceil(log10(n + 1)) ≤ 20 for any
/// table size), below 2¹¹.
const SENT_BITS: u32 = 11;

/// Insertion ids stay below this (21 bits); at it they are renumbered from 0 in their
/// order (`renumber_ids`), which keeps the queue's order. The queue holds at most one
/// record per table entry, far fewer than 2²¹.
const ID_END: u32 = (1 << (32 - SENT_BITS)) - 1;

/// A slot of 4 bytes, not 8: every member holds one per member (10⁸ at 10,000 members).
fn pack((sent, id): (u32, u32)) -> u32 {
    debug_assert!(sent < 1 << SENT_BITS && id < ID_END);
    id << SENT_BITS | sent
}

fn unpack(slot: u32) -> (u32, u32) {
    (slot & ((1 << SENT_BITS) - 1), slot >> SENT_BITS)
}

/// Table indices fit in 32 bits (a table of 2³² members would not fit in memory).
fn key(index: usize) -> u32 {
    index as u32
}

impl BroadcastQueue {
    /// The queued (times sent, id) of member `index`, if queued.
    fn get(&self, index: usize) -> Option<(u32, u32)> {
        (self.slots.get(index).copied())
            .filter(|&s| s != NOT_QUEUED)
            .map(unpack)
    }

    fn set(&mut self, index: usize, slot: (u32, u32)) {
        if index >= self.slots.len() {
            crate::table::reserve_gently(&mut self.slots, index + 1);
            self.slots.resize(index + 1, NOT_QUEUED);
        }
        if self.slots[index] == NOT_QUEUED {
            self.queued += 1;
        }
        self.slots[index] = pack(slot);
    }

    fn clear(&mut self, index: usize) -> Option<(u32, u32)> {
        let slot = self.get(index)?;
        self.slots[index] = NOT_QUEUED;
        self.queued -= 1;
        Some(slot)
    }

    /// Makes room for the slots of `members` members (see `Swim::reserve_members`).
    pub(super) fn reserve(&mut self, members: usize) {
        self.slots
            .reserve_exact(members.saturating_sub(self.slots.len()));
    }

    /// Queues (or re-queues, with a fresh count) the record of member `index`.
    pub(super) fn push(&mut self, index: usize) {
        self.remove(index);
        if self.next_id >= ID_END {
            self.renumber_ids();
        }
        let id = self.next_id;
        self.next_id += 1;
        self.order.insert((0, Reverse(id), key(index)));
        self.set(index, (0, id));
        self.fresh = true;
    }

    /// Gives the queued records the ids 0.. in the order of their ids (so newest first
    /// still holds) once the ids ran out: after 2²¹ pushes.
    fn renumber_ids(&mut self) {
        let mut queued: Vec<(u32, u32, u32)> = (self.order.iter())
            .map(|&(sent, Reverse(id), index)| (id, sent, index))
            .collect();
        queued.sort_unstable();
        self.order.clear();
        self.next_id = 0;
        for (new_id, (_, sent, index)) in (0u32..).zip(queued) {
            self.order.insert((sent, Reverse(new_id), index));
            self.set(index as usize, (sent, new_id));
            self.next_id = new_id + 1;
        }
    }

    /// Whether a record was queued since the last call (the news to fan out at once).
    pub(super) fn take_fresh(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    /// Whether a record was queued since the last [`BroadcastQueue::take_fresh`].
    pub(super) fn has_fresh(&self) -> bool {
        self.fresh
    }

    /// The member at table index `from` moved to `to` (the table filled a removed slot);
    /// its queued record, if any, keeps its place.
    pub(super) fn rename(&mut self, from: usize, to: usize) {
        if let Some((sent, id)) = self.clear(from) {
            self.order.remove(&(sent, Reverse(id), key(from)));
            self.order.insert((sent, Reverse(id), key(to)));
            self.set(to, (sent, id));
        }
    }

    /// Drops the queued record of member `index`, if any (the member was forgotten).
    pub(super) fn remove(&mut self, index: usize) {
        if let Some((sent, id)) = self.clear(index) {
            self.order.remove(&(sent, Reverse(id), key(index)));
        }
    }

    /// Counts one transmission of member `index`'s record if it is queued; returns whether
    /// it was (used to send the local member's own record first).
    pub(super) fn take_one(&mut self, index: usize, limit: u32) -> bool {
        let Some((sent, id)) = self.get(index) else {
            return false;
        };
        self.remove(index);
        if sent + 1 < limit {
            self.order.insert((sent + 1, Reverse(id), key(index)));
            self.set(index, (sent + 1, id));
        }
        true
    }

    /// Counts member `index`'s queued record as sent at least `sent` times (dropped if
    /// that reaches `limit`); nothing if it is not queued.
    pub(super) fn count_as_sent(&mut self, index: usize, sent: u32, limit: u32) {
        let Some((was, id)) = self.get(index) else {
            return;
        };
        if was >= sent {
            return;
        }
        self.remove(index);
        if sent < limit {
            self.order.insert((sent, Reverse(id), key(index)));
            self.set(index, (sent, id));
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queued == 0
    }

    pub(super) fn len(&self) -> usize {
        self.queued
    }

    /// Picks records in priority order while `fits(index)` accepts them (it returns false
    /// once the packet is full), counting one transmission each and dropping those sent
    /// `limit` times. `skip` members are passed over (already in the packet).
    pub(super) fn take(
        &mut self,
        limit: u32,
        skip: Option<usize>,
        mut fits: impl FnMut(usize) -> bool,
    ) -> Vec<usize> {
        // The chosen records are the first of the order (but `skip`): popped, not searched.
        let mut chosen = Vec::new();
        let mut skipped = None;
        while let Some(&(sent, id, index)) = self.order.first() {
            if skip.is_some_and(|s| key(s) == index) {
                skipped = self.order.pop_first();
                continue;
            }
            if !fits(index as usize) {
                break;
            }
            self.order.pop_first();
            chosen.push((sent, id, index));
        }
        if let Some(skipped) = skipped {
            self.order.insert(skipped);
        }
        for &(sent, id, index) in &chosen {
            if sent + 1 >= limit {
                self.clear(index as usize);
            } else {
                self.order.insert((sent + 1, id, index));
                self.set(index as usize, (sent + 1, id.0));
            }
        }
        chosen
            .into_iter()
            .map(|(_, _, index)| index as usize)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_records_first_and_bounded_retransmits() {
        let mut q = BroadcastQueue::default();
        q.push(1);
        q.push(2);
        assert_eq!(q.take(2, None, |_| true), vec![2, 1]);
        q.push(3);
        assert_eq!(q.take(2, None, |_| true), vec![3, 2, 1]);
        // 1 and 2 were sent twice: gone.
        assert_eq!(q.take(2, None, |_| true), vec![3]);
        assert!(q.is_empty());
    }

    #[test]
    fn fresh_news_is_reported_once() {
        let mut q = BroadcastQueue::default();
        assert!(!q.take_fresh());
        q.push(1);
        q.push(2);
        assert!(q.take_fresh());
        assert!(!q.take_fresh());
        q.take(3, None, |_| true);
        assert!(!q.take_fresh(), "sending is not news");
    }

    #[test]
    fn budget_and_skip_are_respected() {
        let mut q = BroadcastQueue::default();
        for i in 0..10 {
            q.push(i);
        }
        let mut room = 3;
        let got = q.take(5, Some(9), |_| {
            room -= 1;
            room >= 0
        });
        assert_eq!(got, vec![8, 7, 6]);
        assert_eq!(q.len(), 10);
    }

    #[test]
    fn a_record_counted_as_sent_goes_after_fresher_news_and_fewer_times() {
        let mut q = BroadcastQueue::default();
        q.push(1);
        q.push(2);
        q.count_as_sent(2, 3, 5);
        q.count_as_sent(7, 3, 5); // not queued: nothing
        q.count_as_sent(1, 0, 5); // already sent as often: unchanged
        assert_eq!(q.take(5, None, |_| true), vec![1, 2]);
        assert_eq!(q.take(5, None, |_| true), vec![1, 2]);
        assert_eq!(q.len(), 1, "2 went its remaining two times");
        q.count_as_sent(1, 5, 5);
        assert!(q.is_empty(), "counted up to the limit: dropped");
    }

    #[test]
    fn a_slot_holds_any_count_below_the_largest_limit_and_any_id() {
        let largest_limit = 64 * 20;
        for slot in [(0, 0), (largest_limit - 1, ID_END - 1), (7, 123_456)] {
            assert_eq!(unpack(pack(slot)), slot);
            assert_ne!(pack(slot), NOT_QUEUED);
        }
    }

    #[test]
    fn running_out_of_ids_keeps_the_order() {
        let mut q = BroadcastQueue::default();
        q.push(1);
        q.push(2);
        q.take(5, None, |i| i == 2);
        q.next_id = ID_END;
        q.push(3);
        assert_eq!(q.next_id, 3);
        assert_eq!(
            q.take(5, None, |_| true),
            vec![3, 1, 2],
            "2 was sent once already"
        );
        assert_eq!(q.get(1), Some((1, 0)), "renumbered, its count kept");
    }
}
