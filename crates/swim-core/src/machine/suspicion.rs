//! Lifeguard's dynamic suspicion: a suspicion starts long and shrinks as other members
//! confirm it with their own failed probes (see "Dynamic suspicion" in `docs/PROTOCOL.md`).
//!
//! A false suspicion usually has one source, a slow or badly connected member; a real failure
//! is soon seen by several. So the wait before OFFLINE starts at
//! `suspicion_max_mult × suspect_timeout` and falls, on a log scale, to `suspect_timeout` once
//! `suspicion_confirmations` other members have accused the suspect. A confirmation is a
//! SUSPECT record naming an accuser we know that we had not counted yet; we pass each new
//! one on (the record now names that accuser), so that every member counts it.

use std::time::Duration;

use super::*;

/// Most unanswered relay pings remembered (see [`Swim::unanswered_relay`]).
pub(super) const UNANSWERED: usize = 64;

/// One suspicion as the local member tracks it.
#[derive(Debug, Clone)]
pub(crate) struct Suspicion {
    /// When the local member learned of it.
    started: Duration,
    /// Distinct members known to have accused the suspect, first the one we learned it from
    /// (it raised the suspicion: it does not confirm it).
    accusers: Vec<usize>,
    /// Confirmations that bring the wait down to the minimum.
    expected: u32,
}

impl Suspicion {
    /// A suspicion learned at `started` from `accuser` (if known), shrinking fully after
    /// `expected` confirmations.
    pub(crate) fn new(started: Duration, accuser: Option<usize>, expected: u32) -> Suspicion {
        Suspicion {
            started,
            accusers: accuser.into_iter().collect(),
            expected,
        }
    }

    /// Counts `accuser` if it is new; returns whether it was. Once the wait is at its
    /// minimum, more accusers change nothing and are not counted (this bounds the list).
    pub(crate) fn confirm(&mut self, accuser: usize) -> bool {
        if self.accusers.contains(&accuser) || self.confirmations() >= self.expected {
            return false;
        }
        self.accusers.push(accuser);
        true
    }

    /// Independent confirmations so far.
    pub(crate) fn confirmations(&self) -> u32 {
        u32::try_from(self.accusers.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// When the suspect is declared OFFLINE, given the shortest and longest waits.
    pub(crate) fn deadline(&self, min: Duration, max: Duration) -> Duration {
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

impl<R: Rng> Swim<R> {
    /// Whether suspicions shrink with confirmations: with Lifeguard, under native clock
    /// rules (the seed's verdicts take the judge's clock, so no two accusers agree on one,
    /// and the Python wire cannot carry an accuser).
    fn dynamic_suspicion(&self) -> bool {
        self.config.lifeguard && self.config.clock_rules == crate::ClockRules::Native
    }

    /// Starts tracking a suspicion of `index` learned at `now` from `accuser`; returns when
    /// it ends in OFFLINE unless refuted.
    pub(super) fn start_suspicion(
        &mut self,
        index: usize,
        now: Duration,
        accuser: Option<usize>,
    ) -> Duration {
        let min = self.config.suspect_timeout;
        if !self.dynamic_suspicion() {
            return now + min;
        }
        // Memberlist's bound: there are at most n - 2 others to confirm (not the suspect,
        // not the first accuser).
        let available = self
            .table
            .entries
            .iter()
            .filter(|e| e.status != Status::Offline)
            .count();
        let expected = self
            .config
            .suspicion_confirmations
            .min(u32::try_from(available.saturating_sub(2)).unwrap_or(u32::MAX));
        let mut suspicion = Suspicion::new(now, accuser, expected);
        let mut accuser = accuser;
        // Our own relay ping of the suspect went unanswered lately: we accuse it too.
        if self.recently_unanswered(index, now) && suspicion.confirm(LOCAL) {
            accuser = Some(LOCAL);
        }
        let deadline = suspicion.deadline(min, self.suspect_timeout_max());
        let accuser = accuser.map(|a| self.table.entries[a].name.clone());
        self.table.set_accuser(index, accuser);
        self.suspicions.insert(index, suspicion);
        deadline
    }

    /// A ping we relayed to `target` for someone else got no answer in time (we sent the
    /// nack). That is our own observation of the target, as good as a failed probe: if
    /// `target` is SUSPECT we confirm it now, and if a suspicion of it arrives soon, we
    /// confirm that one (the requester's suspicion follows our nack by about the rest of
    /// its indirect timeout, so a real failure is confirmed by its helpers at once).
    pub(super) fn unanswered_relay(&mut self, target: usize, now: Duration) {
        if !self.dynamic_suspicion() {
            return;
        }
        let window = self.config.suspect_timeout;
        while self
            .unanswered
            .front()
            .is_some_and(|&(_, at)| at + window <= now || self.unanswered.len() >= UNANSWERED)
        {
            self.unanswered.pop_front();
        }
        self.unanswered.push_back((target, now));
        if self.table.entries[target].status == Status::Suspect {
            self.confirm_suspicion(target, LOCAL, now);
        }
    }

    /// Whether a relay ping of ours to `index` went unanswered within the last
    /// `suspect_timeout`.
    fn recently_unanswered(&self, index: usize, now: Duration) -> bool {
        let window = self.config.suspect_timeout;
        self.unanswered
            .iter()
            .any(|&(target, at)| target == index && at + window > now)
    }

    /// The suspicion of `index` is over (refuted, or OFFLINE).
    pub(super) fn end_suspicion(&mut self, index: usize) {
        self.suspicions.remove(&index);
        self.table.set_accuser(index, None);
    }

    /// `accuser` found `index`, which we hold SUSPECT, unresponsive too. A new confirmation
    /// brings the deadline closer and is passed on, naming `accuser`.
    pub(super) fn confirm_suspicion(&mut self, index: usize, accuser: usize, now: Duration) {
        if accuser == index || !self.dynamic_suspicion() {
            return;
        }
        let (min, max) = (self.config.suspect_timeout, self.suspect_timeout_max());
        let Some(suspicion) = self.suspicions.get_mut(&index) else {
            return;
        };
        if !suspicion.confirm(accuser) {
            return;
        }
        let deadline = suspicion.deadline(min, max).max(now);
        if let Some(old) = (self.table.suspect_deadline(index)).filter(|&old| deadline < old) {
            self.table.set_suspect_deadline(index, Some(deadline));
            self.suspects.remove(&(old, index));
            self.suspects.insert((deadline, index));
        }
        let name = self.table.entries[accuser].name.clone();
        self.table.set_accuser(index, Some(name));
        self.broadcasts.push(index);
    }

    /// A record about `index` arrived: if it is a suspicion naming an accuser, not older
    /// than ours, while we hold `index` SUSPECT, it may confirm our suspicion.
    pub(super) fn maybe_confirmation(&mut self, index: usize, update: &Update, now: Duration) {
        let current = &self.table.entries[index];
        if update.status != Status::Suspect
            || current.status != Status::Suspect
            || update.clock < current.clock
        {
            return;
        }
        // Only an accuser we know counts (a made-up name must not add a member), and never
        // ourselves: we know our own accusations.
        let Some(accuser) = update.accuser.as_ref().and_then(|a| self.table.get(a)) else {
            return;
        };
        if accuser != LOCAL {
            self.confirm_suspicion(index, accuser, now);
        }
    }

    /// The longest a suspicion lasts (nobody confirms it).
    fn suspect_timeout_max(&self) -> Duration {
        self.config
            .suspect_timeout
            .saturating_mul(self.config.suspicion_max_mult)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(4);
    const MAX: Duration = Duration::from_secs(12);

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
    fn confirmations_are_distinct_and_bounded() {
        let mut s = Suspicion::new(Duration::from_secs(100), Some(7), 2);
        assert_eq!(s.deadline(MIN, MAX), Duration::from_secs(112));
        assert!(!s.confirm(7), "the first accuser does not confirm itself");
        assert!(s.confirm(8));
        assert!(!s.confirm(8), "counted once");
        assert!(s.confirm(9));
        assert_eq!(s.confirmations(), 2);
        assert_eq!(s.deadline(MIN, MAX), Duration::from_secs(104));
        assert!(!s.confirm(10), "enough: no more are kept");
        assert_eq!(s.accusers.len(), 3);
    }

    #[test]
    fn an_unknown_first_accuser_makes_the_next_one_the_origin() {
        let mut s = Suspicion::new(Duration::ZERO, None, 2);
        assert!(s.confirm(3));
        assert_eq!(s.confirmations(), 0);
        assert!(s.confirm(4));
        assert_eq!(s.confirmations(), 1);
    }
}
