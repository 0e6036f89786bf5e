//! Budgets on the driver's time: token buckets (a rate and a burst, one bucket in total or
//! one per source) and counts per fixed window. The core's full-sync budget and the
//! application's budgets use them, and the runtime's admission budgets too (one
//! implementation of each rule).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::MemberName;

/// A budget: `per_second` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens held (and so most requests served at once).
    pub burst: f64,
}

impl Rate {
    /// No limit: every request is served (the simulator's runs that model the core alone).
    pub const UNLIMITED: Rate = Rate {
        per_second: f64::INFINITY,
        burst: f64::INFINITY,
    };

    /// `per_second` on average, up to `burst` at once.
    pub const fn new(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst }
    }

    /// Whether this rate serves every request.
    pub fn is_unlimited(&self) -> bool {
        self.burst == f64::INFINITY && self.per_second == f64::INFINITY
    }

    /// Whether the rate can serve anything: a positive rate and a burst of at least one.
    pub fn is_valid(&self) -> bool {
        self.per_second > 0.0 && self.burst >= 1.0
    }
}

/// One bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    at: Duration,
}

impl Bucket {
    /// A bucket holding `rate`'s whole burst at `now`.
    pub fn full(rate: Rate, now: Duration) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Duration) {
        let elapsed = now.saturating_sub(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.at = self.at.max(now);
    }

    /// Takes a token at `now` if there is one.
    pub fn take(&mut self, rate: Rate, now: Duration) -> bool {
        if rate.is_unlimited() {
            return true;
        }
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When a token was last taken (or the bucket made): the latest `now` it was given.
    pub fn charged_at(&self) -> Duration {
        self.at
    }

    fn is_full(&mut self, rate: Rate, now: Duration) -> bool {
        self.refill(rate, now);
        self.tokens >= rate.burst
    }
}

/// A bucket per source name, at most `capacity` of them: when all are in use, buckets
/// that have refilled (idle sources) are forgotten; if none has, the request is refused.
#[derive(Debug)]
pub struct PerSource {
    rate: Rate,
    capacity: usize,
    buckets: BTreeMap<MemberName, Bucket>,
    last_sweep: Option<Duration>,
}

/// Least time between two sweeps of idle buckets (a sweep walks every bucket).
const SWEEP_EVERY: Duration = Duration::from_millis(100);

impl PerSource {
    /// Buckets of `rate`, for at most `capacity` sources at once.
    pub fn new(rate: Rate, capacity: usize) -> PerSource {
        PerSource {
            rate,
            capacity: capacity.max(1),
            buckets: BTreeMap::new(),
            last_sweep: None,
        }
    }

    /// Takes a token from `source`'s bucket at `now`.
    pub fn take(&mut self, source: &MemberName, now: Duration) -> bool {
        let rate = self.rate;
        if rate.is_unlimited() {
            return true;
        }
        if let Some(bucket) = self.buckets.get_mut(source) {
            return bucket.take(rate, now);
        }
        if self.buckets.len() >= self.capacity {
            if self
                .last_sweep
                .is_some_and(|at| now.saturating_sub(at) < SWEEP_EVERY)
            {
                return false;
            }
            self.last_sweep = Some(now);
            self.buckets.retain(|_, b| !b.is_full(rate, now));
            if self.buckets.len() >= self.capacity {
                return false;
            }
        }
        let mut bucket = Bucket::full(rate, now);
        let taken = bucket.take(rate, now);
        self.buckets.insert(source.clone(), bucket);
        taken
    }
}

/// At most `max` takes per window of `length`; a window starts at the first take after the
/// previous one ended (a count, not a bucket: no burst carried over from quiet windows).
#[derive(Debug, Clone)]
pub struct Window {
    length: Duration,
    max: usize,
    start: Duration,
    count: usize,
}

impl Window {
    /// A window of `length` allowing `max` takes, the first starting at `start`.
    pub fn new(length: Duration, max: usize, start: Duration) -> Window {
        Window {
            length,
            max,
            start,
            count: 0,
        }
    }

    /// Counts one take at `now`: false when the window's `max` is spent.
    pub fn take(&mut self, now: Duration) -> bool {
        if now >= self.start + self.length {
            self.start = now;
            self.count = 0;
        }
        if self.count >= self.max {
            return false;
        }
        self.count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::from_secs(1000);

    #[test]
    fn a_bucket_serves_its_burst_then_its_rate() {
        let rate = Rate::new(10.0, 3.0);
        let mut bucket = Bucket::full(rate, T0);
        assert!((0..3).all(|_| bucket.take(rate, T0)));
        assert!(!bucket.take(rate, T0));
        assert!(!bucket.take(rate, T0 + Duration::from_millis(50)));
        assert!(bucket.take(rate, T0 + Duration::from_millis(110)));
        // Never more than the burst, however long it was idle.
        let later = T0 + Duration::from_secs(100);
        assert_eq!((0..10).filter(|_| bucket.take(rate, later)).count(), 3);
    }

    #[test]
    fn sources_have_their_own_buckets_and_idle_ones_are_forgotten() {
        let rate = Rate::new(1.0, 1.0);
        let mut per = PerSource::new(rate, 2);
        let (a, b, c) = ("a:1".into(), "b:1".into(), "c:1".into());
        assert!(per.take(&a, T0));
        assert!(!per.take(&a, T0));
        assert!(per.take(&b, T0));
        // Full of busy sources: a new one is refused...
        assert!(!per.take(&c, T0));
        // ...until the others are idle again.
        assert!(per.take(&c, T0 + Duration::from_secs(2)));
    }

    #[test]
    fn an_unlimited_rate_serves_everything_and_keeps_no_bucket() {
        let mut bucket = Bucket::full(Rate::UNLIMITED, T0);
        assert!((0..10_000).all(|_| bucket.take(Rate::UNLIMITED, T0)));
        let mut per = PerSource::new(Rate::UNLIMITED, 1);
        assert!((0..100).all(|i| per.take(&MemberName::from(format!("m{i}")), T0)));
        assert!(per.buckets.is_empty());
        assert!(!Rate::new(0.0, 5.0).is_valid());
        assert!(!Rate::new(1.0, 0.5).is_valid());
        assert!(!Rate::new(f64::NAN, 5.0).is_valid());
        assert!(Rate::UNLIMITED.is_valid());
    }
}
