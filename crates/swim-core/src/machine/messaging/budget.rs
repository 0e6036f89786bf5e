//! Budgets per source for the application's messages: one token bucket per source (an
//! origin process, or the member a packet came from), refilled with the caller's clock.

use std::hash::Hash;
use std::time::Duration;

use hashbrown::HashMap;

use crate::budget::{Bucket, Rate};

/// Most sources tracked per budget; the one charged least recently goes first (it comes
/// back with a full bucket). Unlike the full-sync budget ([`crate::budget::PerSource`],
/// which refuses new sources while every bucket is busy), a new origin is never refused
/// here: origins are made up by any member, so refusing them would let one member's
/// inventions shut out every later origin; what a member gains by inventing origins is
/// bounded by its own budget of new messages (`MessagingConfig::new_per_sender`).
pub(super) const MAX_SOURCES: usize = 4096;

/// A rate with a burst per source, for at most [`MAX_SOURCES`] sources.
#[derive(Debug)]
pub(super) struct Budget<K> {
    rate: Rate,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq + Clone> Budget<K> {
    /// A budget of `rate` per source.
    pub(super) fn new(rate: Rate) -> Budget<K> {
        Budget {
            rate,
            buckets: HashMap::new(),
        }
    }

    /// Takes one message's token from `source`'s bucket at `now`: whether it was there.
    pub(super) fn take(&mut self, source: &K, now: Duration) -> bool {
        let rate = self.rate;
        if rate.is_unlimited() {
            return true;
        }
        if let Some(bucket) = self.buckets.get_mut(source) {
            return bucket.take(rate, now);
        }
        if self.buckets.len() >= MAX_SOURCES {
            self.evict();
        }
        let mut bucket = Bucket::full(rate, now);
        let taken = bucket.take(rate, now);
        self.buckets.insert(source.clone(), bucket);
        taken
    }

    /// Forgets the source charged least recently.
    fn evict(&mut self) {
        if let Some(oldest) = (self.buckets.iter())
            .min_by_key(|(_, bucket)| bucket.charged_at())
            .map(|(k, _)| k.clone())
        {
            self.buckets.remove(&oldest);
        }
    }

    /// How many sources are tracked.
    #[cfg(test)]
    pub(super) fn sources(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn rate(per_s: u32, burst: u32) -> Rate {
        Rate::new(f64::from(per_s), f64::from(burst))
    }

    #[test]
    fn a_source_gets_its_burst_then_its_rate() {
        let mut budget = Budget::new(rate(10, 5));
        let now = Duration::from_secs(100);
        let taken = (0..50).filter(|_| budget.take(&"a", now)).count();
        assert_eq!(taken, 5, "the burst");
        // Over the next second, one every 100 ms.
        let mut later = 0;
        for ms in 1..=1000 {
            later += (0..5).filter(|_| budget.take(&"a", now + ms * MS)).count();
        }
        assert_eq!(later, 10, "the rate");
    }

    #[test]
    fn sources_have_buckets_of_their_own() {
        let mut budget = Budget::new(rate(1, 2));
        let now = Duration::from_secs(1);
        assert!(budget.take(&"a", now) && budget.take(&"a", now));
        assert!(!budget.take(&"a", now), "a is spent");
        assert!(budget.take(&"b", now), "b is not");
    }

    #[test]
    fn a_quiet_source_refills_to_its_burst_only() {
        let mut budget = Budget::new(rate(100, 3));
        assert!(budget.take(&"a", Duration::ZERO));
        let later = Duration::from_secs(3600);
        let taken = (0..10).filter(|_| budget.take(&"a", later)).count();
        assert_eq!(taken, 3);
    }

    #[test]
    fn the_least_recent_source_is_evicted_at_the_bound() {
        let mut budget = Budget::new(rate(1, 1));
        for i in 0..MAX_SOURCES {
            assert!(budget.take(&i, Duration::from_millis(i as u64)));
        }
        assert!(budget.take(&1, Duration::from_secs(10)));
        assert!(!budget.take(&1, Duration::from_secs(10)), "1 is spent");
        // A new source evicts the least recent (0), not the one just charged.
        assert!(budget.take(&MAX_SOURCES, Duration::from_secs(10)));
        assert_eq!(budget.sources(), MAX_SOURCES);
        assert!(
            !budget.take(&1, Duration::from_secs(10)),
            "1 kept its state"
        );
        assert!(budget.take(&0, Duration::from_secs(10)), "0 came back full");
    }
}
