//! Token buckets: a rate and a burst, one bucket in total or one per source.

use std::collections::HashMap;
use std::time::Duration;

use swim_core::MemberName;
use tokio::time::Instant;

/// A budget: `per_second` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens held (and so most requests served at once).
    pub burst: f64,
}

impl Rate {
    /// `per_second` on average, up to `burst` at once.
    pub const fn new(per_second: f64, burst: f64) -> Rate {
        Rate { per_second, burst }
    }
}

/// One bucket.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket {
            tokens: rate.burst,
            at: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.at = now;
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn is_full(&mut self, rate: Rate, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= rate.burst
    }
}

/// A bucket per source name, at most `capacity` of them: when all are in use, buckets
/// that have refilled (idle sources) are forgotten; if none has, the request is refused.
#[derive(Debug)]
pub(crate) struct PerSource {
    rate: Rate,
    capacity: usize,
    buckets: HashMap<MemberName, Bucket>,
    last_sweep: Option<Instant>,
}

/// Least time between two sweeps of idle buckets (a sweep walks every bucket).
const SWEEP_EVERY: Duration = Duration::from_millis(100);

impl PerSource {
    pub fn new(rate: Rate, capacity: usize) -> PerSource {
        PerSource {
            rate,
            capacity: capacity.max(1),
            buckets: HashMap::new(),
            last_sweep: None,
        }
    }

    /// Takes a token from `source`'s bucket.
    pub fn take(&mut self, source: &MemberName, now: Instant) -> bool {
        let rate = self.rate;
        if let Some(bucket) = self.buckets.get_mut(source) {
            return bucket.take(rate, now);
        }
        if self.buckets.len() >= self.capacity {
            if self
                .last_sweep
                .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_EVERY)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_serves_its_burst_then_its_rate() {
        let rate = Rate::new(10.0, 3.0);
        let t0 = Instant::now();
        let mut bucket = Bucket::full(rate, t0);
        assert!((0..3).all(|_| bucket.take(rate, t0)));
        assert!(!bucket.take(rate, t0));
        assert!(!bucket.take(rate, t0 + Duration::from_millis(50)));
        assert!(bucket.take(rate, t0 + Duration::from_millis(110)));
        // Never more than the burst, however long it was idle.
        let later = t0 + Duration::from_secs(100);
        assert_eq!((0..10).filter(|_| bucket.take(rate, later)).count(), 3);
    }

    #[test]
    fn sources_have_their_own_buckets_and_idle_ones_are_forgotten() {
        let rate = Rate::new(1.0, 1.0);
        let t0 = Instant::now();
        let mut per = PerSource::new(rate, 2);
        let (a, b, c) = ("a:1".into(), "b:1".into(), "c:1".into());
        assert!(per.take(&a, t0));
        assert!(!per.take(&a, t0));
        assert!(per.take(&b, t0));
        // Full of busy sources: a new one is refused...
        assert!(!per.take(&c, t0));
        // ...until the others are idle again.
        assert!(per.take(&c, t0 + Duration::from_secs(2)));
    }
}
