//! Tombstones: what remains of a forgotten member, so that stale gossip about it (a record
//! still held by a member that has not forgotten it yet) cannot bring it back.
//!
//! A tombstone is small (the name, the clock of the last record, the validity of the last
//! process) and is itself dropped after a bounded time and beyond a bounded count, oldest
//! first. Why that is safe is in "Reaping" in `docs/PROTOCOL.md`: by the time a tombstone
//! expires, every member that held the record has forgotten it too.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use crate::{MemberName, Validity};

/// Most tombstones kept. Beyond it the oldest goes first (the one closest to expiry): a
/// name costs at most ~300 bytes here, so the bound is ~3 MB whatever the churn.
pub(crate) const MAX_TOMBSTONES: usize = 10_000;

/// What is kept of one forgotten member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tombstone {
    /// The clock of the last record held: only a newer record can bring the member back.
    pub(crate) clock: u64,
    /// Whether the member had left (rather than failed).
    pub(crate) left: bool,
    /// The validity of the last process heard from under the name, if any.
    pub(crate) validity: Option<Validity>,
    /// When the tombstone is dropped.
    expires: Duration,
}

/// The tombstones, by name, with their expiry order.
#[derive(Debug, Default)]
pub(crate) struct Tombstones {
    by_name: HashMap<MemberName, Tombstone>,
    /// (expiry, name), oldest first. Entries whose tombstone was removed or replaced are
    /// skipped when they come up.
    order: VecDeque<(Duration, MemberName)>,
}

impl Tombstones {
    /// Buries `name` until `expires`, dropping the oldest tombstones beyond the bound.
    pub(crate) fn insert(
        &mut self,
        name: MemberName,
        clock: u64,
        left: bool,
        validity: Option<Validity>,
        expires: Duration,
    ) {
        let tombstone = Tombstone {
            clock,
            left,
            validity,
            expires,
        };
        self.by_name.insert(name.clone(), tombstone);
        self.order.push_back((expires, name));
        while self.by_name.len() > MAX_TOMBSTONES {
            self.pop_oldest();
        }
    }

    /// The tombstone of `name`, if it has one.
    pub(crate) fn get(&self, name: &str) -> Option<&Tombstone> {
        self.by_name.get(name)
    }

    /// Removes and returns the tombstone of `name` (the member came back).
    pub(crate) fn take(&mut self, name: &str) -> Option<Tombstone> {
        self.by_name.remove(name)
    }

    /// When the oldest tombstone expires (or an earlier time: the order may still hold a
    /// removed one), if any is kept.
    pub(crate) fn next_expiry(&self) -> Option<Duration> {
        self.order.front().map(|(at, _)| *at)
    }

    /// Drops every tombstone expired at `now`.
    pub(crate) fn expire(&mut self, now: Duration) {
        while self.order.front().is_some_and(|(at, _)| *at <= now) {
            self.pop_front();
        }
    }

    /// Drops the oldest tombstone (skipping stale entries of the order).
    fn pop_oldest(&mut self) {
        while !self.order.is_empty() {
            if self.pop_front() {
                return;
            }
        }
    }

    /// Pops the first entry of the order; drops its tombstone if it is still the current
    /// one for that name (not replaced or taken since). Returns whether it dropped one.
    fn pop_front(&mut self) -> bool {
        let Some((expires, name)) = self.order.pop_front() else {
            return false;
        };
        let current = self
            .by_name
            .get(&name)
            .is_some_and(|t| t.expires == expires);
        if current {
            self.by_name.remove(&name);
        }
        current
    }

    /// How many tombstones are kept.
    pub(crate) fn len(&self) -> usize {
        self.by_name.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn tombstones_expire_in_order() {
        let mut t = Tombstones::default();
        t.insert("a".into(), 3, false, None, secs(10));
        t.insert("b".into(), 4, true, None, secs(20));
        t.expire(secs(10));
        assert!(t.get("a").is_none());
        assert_eq!(t.get("b").map(|t| (t.clock, t.left)), Some((4, true)));
        t.expire(secs(20));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_reburied_name_keeps_its_newest_tombstone() {
        let mut t = Tombstones::default();
        t.insert("a".into(), 3, false, None, secs(10));
        assert!(t.take("a").is_some());
        t.insert("a".into(), 7, false, None, secs(30));
        // The first entry's expiry must not remove the second tombstone.
        t.expire(secs(10));
        assert_eq!(t.get("a").map(|t| t.clock), Some(7));
    }

    #[test]
    fn the_count_is_bounded_oldest_first() {
        let mut t = Tombstones::default();
        for i in 0..MAX_TOMBSTONES as u64 + 5 {
            t.insert(
                format!("m{i}").as_str().into(),
                i,
                false,
                None,
                secs(100 + i),
            );
        }
        assert_eq!(t.len(), MAX_TOMBSTONES);
        assert!(t.get("m0").is_none() && t.get("m4").is_none());
        assert!(t.get("m5").is_some());
    }
}
