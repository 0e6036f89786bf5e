//! The full-sync budget: a full member list is the largest answer a member sends (above the
//! MTU it goes over TCP), so both the requests taken and the lists sent are bounded (see
//! "Full-sync budget" in `docs/PROTOCOL.md`).

use std::time::Duration;

use crate::budget::{Bucket, PerSource, Window};
use crate::{FullSyncLimits, MemberName};

/// Most sources with a bucket of their own (beyond, idle buckets are forgotten, and a new
/// source is refused while every bucket is busy).
const MAX_SOURCES: usize = 4096;

/// Full-sync requests taken per source and in total, and full lists sent per period.
#[derive(Debug)]
pub(super) struct FullSyncBudget {
    limits: FullSyncLimits,
    per_source: PerSource,
    members: Bucket,
    strangers: Bucket,
    /// Full lists sent in the current `ping_interval`.
    lists: Window,
}

impl FullSyncBudget {
    /// Every bucket full at `now`.
    pub(super) fn new(limits: &FullSyncLimits, ping_interval: Duration, now: Duration) -> Self {
        FullSyncBudget {
            per_source: PerSource::new(limits.per_source, MAX_SOURCES),
            members: Bucket::full(limits.members, now),
            strangers: Bucket::full(limits.strangers, now),
            limits: limits.clone(),
            lists: Window::new(ping_interval, limits.lists_per_period, now),
        }
    }

    /// Whether a full-sync request from `source` (`online`: ONLINE in our table) is taken
    /// at `now`: within its source's rate and its class's total. One refused is ignored
    /// whole, as a lost datagram (the asker tries again later): a flood of authentic
    /// requests costs a bounded amount.
    pub(super) fn take_request(
        &mut self,
        source: &MemberName,
        online: bool,
        now: Duration,
    ) -> bool {
        let (total, rate) = if online {
            (&mut self.members, self.limits.members)
        } else {
            (&mut self.strangers, self.limits.strangers)
        };
        self.per_source.take(source, now) && total.take(rate, now)
    }

    /// Counts one full member list against `lists_per_period` per `ping_interval`; false
    /// when the budget is spent. Hundreds of members joining at once would otherwise all
    /// ask the same seed member, whose answers pile up until its sends are dropped, and
    /// whose joiners then retry together. Over budget, the asker gets a window naming other
    /// members, whom its follow-ups and catch-ups ask.
    pub(super) fn take_list(&mut self, now: Duration) -> bool {
        self.lists.take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Rate;

    const T0: Duration = Duration::from_secs(1000);
    const SECOND: Duration = Duration::from_secs(1);

    fn budget() -> FullSyncBudget {
        FullSyncBudget::new(&FullSyncLimits::default(), SECOND, T0)
    }

    #[test]
    fn requests_are_limited_per_source_and_in_total_by_class() {
        let mut budget = budget();
        let a = MemberName::from("a:1");
        let served = (0..50)
            .filter(|_| budget.take_request(&a, true, T0))
            .count();
        assert_eq!(served, 5, "the per-source burst");
        // Strangers under ever new names: the strangers' total.
        let served = (0..1000)
            .filter(|i| budget.take_request(&MemberName::from(format!("x:{i}")), false, T0))
            .count();
        assert_eq!(served, 100);
        // Members ONLINE in our table still have their own total.
        assert!(budget.take_request(&MemberName::from("b:1"), true, T0));
        // A second later the rates allow more.
        assert!(budget.take_request(&a, true, T0 + SECOND));
        assert!(!budget.take_request(&a, true, T0 + SECOND));
    }

    #[test]
    fn lists_are_limited_per_period() {
        let mut budget = budget();
        let sent = (0..100).filter(|_| budget.take_list(T0)).count();
        assert_eq!(sent, FullSyncLimits::default().lists_per_period);
        assert!(!budget.take_list(T0 + SECOND / 2));
        assert!(budget.take_list(T0 + SECOND), "a new period");
    }

    #[test]
    fn unlimited_requests_are_all_taken_and_lists_still_counted() {
        let limits = FullSyncLimits::default().with_unlimited_requests();
        assert_eq!(limits.strangers, Rate::UNLIMITED);
        let mut budget = FullSyncBudget::new(&limits, SECOND, T0);
        let a = MemberName::from("a:1");
        assert!((0..10_000).all(|_| budget.take_request(&a, false, T0)));
        let sent = (0..100).filter(|_| budget.take_list(T0)).count();
        assert_eq!(sent, limits.lists_per_period);
    }
}
