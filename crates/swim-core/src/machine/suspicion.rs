//! The suspicion store: every suspicion the local member tracks, with its own deadline, and
//! Lifeguard's dynamic suspicion (see "Dynamic suspicion" in `docs/PROTOCOL.md`).
//!
//! A false suspicion usually has one source, a slow or badly connected member; a real failure
//! is soon seen by several. So the wait before OFFLINE starts at
//! `suspicion_max_mult × suspect_timeout` and falls, on a log scale, to `suspect_timeout` once
//! `suspicion_confirmations` other members have accused the suspect. A confirmation is a
//! SUSPECT record naming an accuser we know that we had not counted yet; we pass each new
//! one on (the record now names that accuser), so that every member counts it. Without
//! dynamic suspicion (Lifeguard off, or the seed's clock rules) every suspicion lasts
//! `suspect_timeout`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use crate::{MemberName, ProtocolConfig};

/// Most unanswered relay pings remembered (see [`Suspicions::relay_unanswered`]).
const UNANSWERED: usize = 64;

/// One suspicion as the local member tracks it.
#[derive(Debug, Clone)]
struct Tracked {
    /// When the suspect is declared OFFLINE unless refuted.
    deadline: Duration,
    /// When the local member learned of it.
    started: Duration,
    /// Distinct members known to have accused the suspect (table indices), first the one we
    /// learned it from (it raised the suspicion: it does not confirm it). Empty without
    /// dynamic suspicion.
    accusers: Vec<usize>,
    /// Confirmations that bring the wait down to the minimum.
    expected: u32,
    /// The accuser its record names when we pass it on, if any.
    named: Option<MemberName>,
}

impl Tracked {
    /// Counts `accuser` if it is new; returns whether it was. Once the wait is at its
    /// minimum, more accusers change nothing and are not counted (this bounds the list).
    fn confirm(&mut self, accuser: usize) -> bool {
        if self.accusers.contains(&accuser) || self.confirmations() >= self.expected {
            return false;
        }
        self.accusers.push(accuser);
        true
    }

    /// Independent confirmations so far.
    fn confirmations(&self) -> u32 {
        u32::try_from(self.accusers.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// When the suspect is declared OFFLINE, given the shortest and longest waits.
    fn due(&self, min: Duration, max: Duration) -> Duration {
        self.started + timeout(min, max, self.expected, self.confirmations())
    }
}

/// The wait for `confirmations` out of `expected`: `max` with none, falling as
/// `log(c + 1) / log(k + 1)` of the way to `min`, which it reaches at `expected` (at once if
/// none are expected). Rounded down to the millisecond.
pub(crate) fn timeout(min: Duration, max: Duration, expected: u32, confirmations: u32) -> Duration {
    if expected == 0 || confirmations >= expected || max <= min {
        return min;
    }
    let frac = f64::from(confirmations + 1).ln() / f64::from(expected + 1).ln();
    let span = (max - min).as_secs_f64();
    let wait = max.as_secs_f64() - frac * span;
    Duration::from_millis((wait * 1000.0).floor() as u64).max(min)
}

/// Every suspicion the local member tracks, by suspect (table index), ordered by deadline.
#[derive(Debug)]
pub(super) struct Suspicions {
    by_suspect: HashMap<usize, Tracked>,
    deadlines: BTreeSet<(Duration, usize)>,
    /// Relay pings of ours that went unanswered lately: (target, when), oldest first.
    unanswered: VecDeque<(usize, Duration)>,
    /// Whether suspicions shrink with confirmations: with Lifeguard, under native clock
    /// rules (the seed's verdicts take the judge's clock, so no two accusers agree on one,
    /// and the Python wire cannot carry an accuser).
    dynamic: bool,
    min: Duration,
    max: Duration,
    confirmations: u32,
}

impl Suspicions {
    /// An empty store; `dynamic` says whether Lifeguard's dynamic suspicion applies.
    pub(super) fn new(config: &ProtocolConfig, dynamic: bool) -> Suspicions {
        Suspicions {
            by_suspect: HashMap::new(),
            deadlines: BTreeSet::new(),
            unanswered: VecDeque::new(),
            dynamic,
            min: config.suspect_timeout,
            max: config
                .suspect_timeout
                .saturating_mul(config.suspicion_max_mult),
            confirmations: config.suspicion_confirmations,
        }
    }

    /// Whether `suspect` is tracked.
    pub(super) fn contains(&self, suspect: usize) -> bool {
        self.by_suspect.contains_key(&suspect)
    }

    /// Starts tracking a suspicion of `suspect` learned at `now` from `accuser` (if known),
    /// with `available` members not OFFLINE in the table; `name_of` gives an accuser's name.
    pub(super) fn start(
        &mut self,
        suspect: usize,
        now: Duration,
        accuser: Option<usize>,
        available: usize,
        local: usize,
        name_of: impl Fn(usize) -> MemberName,
    ) {
        let mut tracked = Tracked {
            deadline: now + self.min,
            started: now,
            accusers: Vec::new(),
            expected: 0,
            named: None,
        };
        if self.dynamic {
            // Memberlist's bound: there are at most n - 2 others to confirm (not the
            // suspect, not the first accuser).
            let others = u32::try_from(available.saturating_sub(2)).unwrap_or(u32::MAX);
            tracked.expected = self.confirmations.min(others);
            tracked.accusers.extend(accuser);
            let mut named = accuser;
            // Our own relay ping of the suspect went unanswered lately: we accuse it too.
            if self.recently_unanswered(suspect, now) && tracked.confirm(local) {
                named = Some(local);
            }
            tracked.deadline = tracked.due(self.min, self.max);
            tracked.named = named.map(name_of);
        }
        self.deadlines.insert((tracked.deadline, suspect));
        self.by_suspect.insert(suspect, tracked);
    }

    /// Stops tracking `suspect` (refuted, OFFLINE, or forgotten).
    pub(super) fn end(&mut self, suspect: usize) {
        if let Some(tracked) = self.by_suspect.remove(&suspect) {
            self.deadlines.remove(&(tracked.deadline, suspect));
        }
    }

    /// `accuser` found `suspect` unresponsive too. A new confirmation brings the deadline
    /// closer, and the record we pass on names `accuser`: returns whether it was new (the
    /// record must then be gossiped).
    pub(super) fn confirm(
        &mut self,
        suspect: usize,
        accuser: usize,
        now: Duration,
        accuser_name: impl FnOnce() -> MemberName,
    ) -> bool {
        if accuser == suspect || !self.dynamic {
            return false;
        }
        let (min, max) = (self.min, self.max);
        let Some(tracked) = self.by_suspect.get_mut(&suspect) else {
            return false;
        };
        if !tracked.confirm(accuser) {
            return false;
        }
        let deadline = tracked.due(min, max).max(now);
        if deadline < tracked.deadline {
            self.deadlines.remove(&(tracked.deadline, suspect));
            self.deadlines.insert((deadline, suspect));
            tracked.deadline = deadline;
        }
        tracked.named = Some(accuser_name());
        true
    }

    /// A ping we relayed to `target` for someone else got no answer in time (we sent the
    /// nack). That is our own observation of the target, as good as a failed probe: a
    /// suspicion of it that arrives soon is confirmed by us (the requester's suspicion
    /// follows our nack by about the rest of its indirect timeout, so a real failure is
    /// confirmed by its helpers at once). Returns whether it counts (dynamic suspicion):
    /// the caller then confirms a suspicion already held.
    pub(super) fn relay_unanswered(&mut self, target: usize, now: Duration) -> bool {
        if !self.dynamic {
            return false;
        }
        let window = self.min;
        while self
            .unanswered
            .front()
            .is_some_and(|&(_, at)| at + window <= now || self.unanswered.len() >= UNANSWERED)
        {
            self.unanswered.pop_front();
        }
        self.unanswered.push_back((target, now));
        true
    }

    /// Whether a relay ping of ours to `index` went unanswered within the last
    /// `suspect_timeout`.
    fn recently_unanswered(&self, index: usize, now: Duration) -> bool {
        self.unanswered
            .iter()
            .any(|&(target, at)| target == index && at + self.min > now)
    }

    /// The accuser the record of `suspect` names when we pass it on, if any.
    pub(super) fn accuser(&self, suspect: usize) -> Option<&MemberName> {
        if self.by_suspect.is_empty() {
            return None; // the usual case: no suspicion anywhere
        }
        self.by_suspect.get(&suspect)?.named.as_ref()
    }

    /// The earliest deadline, if any suspicion is tracked.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Takes the next suspicion whose deadline has passed at `now`: the suspect is to be
    /// declared OFFLINE.
    pub(super) fn take_expired(&mut self, now: Duration) -> Option<usize> {
        let &(deadline, suspect) = self.deadlines.first()?;
        if deadline > now {
            return None;
        }
        self.end(suspect);
        Some(suspect)
    }

    /// The member at `index` was forgotten: nothing about it is kept.
    pub(super) fn forget(&mut self, index: usize) {
        self.end(index);
        self.unanswered.retain(|&(target, _)| target != index);
    }

    /// The member at table index `from` now lives at `to`.
    pub(super) fn renumber(&mut self, from: usize, to: usize) {
        if let Some(tracked) = self.by_suspect.remove(&from) {
            self.deadlines.remove(&(tracked.deadline, from));
            self.deadlines.insert((tracked.deadline, to));
            self.by_suspect.insert(to, tracked);
        }
        for (target, _) in self.unanswered.iter_mut().filter(|(t, _)| *t == from) {
            *target = to;
        }
        for tracked in self.by_suspect.values_mut() {
            for accuser in tracked.accusers.iter_mut().filter(|a| **a == from) {
                *accuser = to;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(4);
    const MAX: Duration = Duration::from_secs(12);

    fn store() -> Suspicions {
        let config = ProtocolConfig {
            suspect_timeout: MIN,
            suspicion_max_mult: 3,
            suspicion_confirmations: 2,
            ..ProtocolConfig::default()
        };
        Suspicions::new(&config, true)
    }

    fn name(i: usize) -> MemberName {
        format!("m:{i}").as_str().into()
    }

    #[test]
    fn timeout_falls_from_max_to_min_on_a_log_scale() {
        assert_eq!(timeout(MIN, MAX, 3, 0), MAX);
        // log(2)/log(4) = 0.5 of the way: 8 s; log(3)/log(4) = 0.79: 5.66 s.
        assert_eq!(timeout(MIN, MAX, 3, 1), Duration::from_secs(8));
        assert_eq!(timeout(MIN, MAX, 3, 2), Duration::from_millis(5660));
        assert_eq!(timeout(MIN, MAX, 3, 3), MIN);
        assert_eq!(timeout(MIN, MAX, 3, 10), MIN, "never below the minimum");
        assert_eq!(
            timeout(MIN, MAX, 0, 0),
            MIN,
            "nobody to confirm: the minimum"
        );
        assert_eq!(timeout(MIN, MIN, 3, 0), MIN, "max = min: fixed");
    }

    #[test]
    fn confirmations_are_distinct_and_bounded_and_bring_the_deadline_closer() {
        let mut s = store();
        let start = Duration::from_secs(100);
        s.start(5, start, Some(7), 100, 0, name);
        assert_eq!(s.next_deadline(), Some(start + MAX));
        assert!(!s.confirm(5, 7, start, || name(7)), "no self-confirmation");
        assert!(s.confirm(5, 8, start, || name(8)));
        assert!(!s.confirm(5, 8, start, || name(8)), "counted once");
        assert_eq!(s.accuser(5).map(|a| &**a), Some("m:8"));
        assert!(s.confirm(5, 9, start, || name(9)));
        assert_eq!(s.next_deadline(), Some(start + MIN));
        assert!(
            !s.confirm(5, 10, start, || name(10)),
            "enough: no more kept"
        );
        assert_eq!(s.take_expired(start + MIN - Duration::from_millis(1)), None);
        assert_eq!(s.take_expired(start + MIN), Some(5));
        assert!(!s.contains(5) && s.next_deadline().is_none() && s.accuser(5).is_none());
    }

    #[test]
    fn an_unknown_first_accuser_makes_the_next_one_the_origin() {
        let mut s = store();
        s.start(1, Duration::ZERO, None, 100, 0, name);
        assert!(s.confirm(1, 3, Duration::ZERO, || name(3)));
        assert_eq!(
            s.next_deadline(),
            Some(MAX),
            "the first accuser confirms nothing"
        );
        assert!(s.confirm(1, 4, Duration::ZERO, || name(4)));
        assert_eq!(s.next_deadline(), Some(timeout(MIN, MAX, 2, 1)));
    }

    #[test]
    fn without_dynamic_suspicion_every_wait_is_the_minimum() {
        let mut s = Suspicions::new(&ProtocolConfig::default(), false);
        s.start(2, Duration::ZERO, Some(3), 100, 0, name);
        assert_eq!(
            s.next_deadline(),
            Some(ProtocolConfig::default().suspect_timeout)
        );
        assert!(!s.confirm(2, 4, Duration::ZERO, || name(4)));
        assert!(s.accuser(2).is_none());
    }

    #[test]
    fn renumbering_moves_deadline_and_accusers() {
        let mut s = store();
        s.start(9, Duration::ZERO, Some(3), 100, 0, name);
        s.renumber(9, 4);
        s.renumber(3, 2);
        assert!(s.contains(4) && !s.contains(9));
        assert!(
            !s.confirm(4, 2, Duration::ZERO, || name(2)),
            "2 is the old 3"
        );
        assert_eq!(s.take_expired(MAX), Some(4));
    }
}
