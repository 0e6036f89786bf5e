//! The checker: the invariants over a run's whole history of views (every member's
//! `/members`, sampled a few times a second) against what the nemesis and the workload did.
//! Pure functions of the history, so that they are tested on made-up histories too.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A member's status in a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// ONLINE.
    Online,
    /// SUSPECT.
    Suspect,
    /// OFFLINE.
    Offline,
}

/// One member as a view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: Status,
    /// Whether it is OFFLINE because it said it left (its own graceful leave).
    pub left: bool,
    /// Its clock.
    pub clock: u64,
    /// Its `seq` metadata key (the workload's counter), if it has one.
    pub seq: Option<u64>,
}

/// One view, read at `at` (from the run's start) from `observer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// When.
    pub at: Duration,
    /// Whose view (its member name).
    pub observer: String,
    /// The members it lists, the observer itself excluded.
    pub members: Vec<Seen>,
}

/// One member process: where and when it lived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    /// Its member name.
    pub name: String,
    /// Its host.
    pub host: usize,
    /// When it was first seen answering.
    pub started: Duration,
    /// When it was killed, if it was.
    pub killed: Option<Duration>,
}

/// What happened to the cluster, as the nemesis and the workload recorded it.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Every member process.
    pub lives: Vec<Life>,
    /// Pauses: member, from, to.
    pub paused: Vec<(String, Duration, Duration)>,
    /// Network cuts: host, from, to (partitions, one-way, link cuts).
    pub cut: Vec<(usize, Duration, Duration)>,
    /// When each network cut ended.
    pub heals: Vec<Duration>,
    /// Metadata writes: member, value, when the write returned.
    pub writes: Vec<(String, u64, Duration)>,
}

/// The bounds the invariants are checked against, computed from the members' configuration.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// A crashed member is OFFLINE everywhere within this.
    pub detection: Duration,
    /// After a fault ends, every view converges within this.
    pub convergence: Duration,
}

impl Bounds {
    /// From the protocol's timings, for `n` members: a crashed member is probed within
    /// `n` probe intervals (each member probes another every interval; `n` covers a
    /// round-robin order), fails its direct and indirect probes (`ping_timeout +
    /// ping_req_timeout`), stays SUSPECT at most `suspicion_max_mult × suspect_timeout`
    /// (Lifeguard, unconfirmed), and the OFFLINE verdict is gossiped to everyone within
    /// `retransmit_mult × ⌈log10(n + 1)⌉` gossip rounds (`sync_interval` each). Lifeguard may
    /// stretch the timeouts of a member that is itself unwell; that is not counted. After a
    /// heal, a member declared OFFLINE by the other side learns it at the latest at the next
    /// push-pull exchange of each side, and refutes: two push-pull intervals plus the
    /// detection bound.
    pub fn from_timings(t: &Timings, n: usize) -> Bounds {
        let rounds = t.retransmit_mult * (n as f64 + 1.0).log10().ceil() as u32;
        let detection = t.ping_interval * n as u32
            + t.ping_timeout
            + t.ping_req_timeout
            + t.suspect_timeout * t.suspicion_max_mult
            + t.sync_interval * rounds;
        Bounds {
            detection,
            convergence: t.push_pull_interval * 2 + detection,
        }
    }
}

/// The members' timings (the protocol's `lan` profile unless the stack sets others).
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Between two probes.
    pub ping_interval: Duration,
    /// Direct probe timeout.
    pub ping_timeout: Duration,
    /// Indirect probe timeout.
    pub ping_req_timeout: Duration,
    /// Shortest suspicion.
    pub suspect_timeout: Duration,
    /// Lifeguard's longest suspicion, in `suspect_timeout`s.
    pub suspicion_max_mult: u32,
    /// Between two gossip rounds.
    pub sync_interval: Duration,
    /// Gossip retransmissions per `log10(n + 1)`.
    pub retransmit_mult: u32,
    /// Between two anti-entropy exchanges.
    pub push_pull_interval: Duration,
}

impl Timings {
    /// The `lan` profile (the tools' default), as `crates/swim-core/src/profile.rs` sets it.
    pub const LAN: Timings = Timings {
        ping_interval: Duration::from_millis(1000),
        ping_timeout: Duration::from_millis(200),
        ping_req_timeout: Duration::from_millis(600),
        suspect_timeout: Duration::from_millis(4000),
        suspicion_max_mult: 3,
        sync_interval: Duration::from_millis(200),
        retransmit_mult: 4,
        push_pull_interval: Duration::from_secs(30),
    };
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// When it was seen.
    pub at: Duration,
    /// Which invariant.
    pub invariant: &'static str,
    /// What was seen.
    pub detail: String,
}

fn overlaps(
    intervals: impl IntoIterator<Item = (Duration, Duration)>,
    from: Duration,
    to: Duration,
) -> bool {
    intervals.into_iter().any(|(a, b)| a <= to && b >= from)
}

impl Truth {
    fn life(&self, name: &str, at: Duration) -> Option<&Life> {
        self.lives
            .iter()
            .filter(|l| l.name == name && l.started <= at)
            .max_by_key(|l| l.started)
    }

    /// Whether `name` was running and unpaused during the whole of `[from, to]`.
    pub fn healthy(&self, name: &str, from: Duration, to: Duration) -> bool {
        let Some(life) = self.life(name, from) else {
            return false;
        };
        life.killed.is_none_or(|k| k > to)
            && !overlaps(
                self.paused
                    .iter()
                    .filter(|(m, _, _)| m == name)
                    .map(|(_, a, b)| (*a, *b)),
                from,
                to,
            )
    }

    fn host_cut(&self, host: usize, from: Duration, to: Duration) -> bool {
        overlaps(
            self.cut
                .iter()
                .filter(|(h, _, _)| *h == host)
                .map(|(_, a, b)| (*a, *b)),
            from,
            to,
        )
    }

    /// Whether `observer` must see `member` as not OFFLINE at `at`: both healthy since
    /// `at - grace`, neither one's host cut in that window, and no cut healed in it (stale
    /// verdicts from the other side may arrive until the views converge).
    pub fn protected(&self, observer: &str, member: &str, at: Duration, grace: Duration) -> bool {
        let from = at.saturating_sub(grace);
        let (Some(a), Some(b)) = (self.life(observer, from), self.life(member, from)) else {
            return false;
        };
        self.healthy(observer, from, at)
            && self.healthy(member, from, at)
            && !self.host_cut(a.host, from, at)
            && !self.host_cut(b.host, from, at)
            && !self.heals.iter().any(|h| *h >= from && *h <= at)
    }

    /// The members alive (running, unpaused) at `at`.
    pub fn alive_at(&self, at: Duration) -> BTreeSet<String> {
        self.lives
            .iter()
            .filter(|l| l.started <= at && l.killed.is_none_or(|k| k > at))
            .map(|l| l.name.clone())
            .filter(|n| self.healthy(n, at, at))
            .collect()
    }

    /// The last value written to `member`'s `seq` at or before `at`.
    pub fn last_write(&self, member: &str, at: Duration) -> Option<u64> {
        self.writes
            .iter()
            .filter(|(m, _, t)| m == member && *t <= at)
            .map(|(_, v, _)| *v)
            .max()
    }
}

/// What the false-OFFLINE check found.
#[derive(Debug, Default)]
pub struct Accuracy {
    /// Protected members seen OFFLINE: violations.
    pub violations: Vec<Violation>,
    /// (observer, member) episodes of a protected member seen SUSPECT.
    pub false_suspect_episodes: usize,
    /// Samples in which a protected member was SUSPECT.
    pub false_suspect_samples: usize,
    /// (view, member) pairs checked: the member was protected at that view.
    pub checked: usize,
    /// Views that showed a protected member OFFLINE with the left flag: its own leave, seen
    /// before the engine logged the stop signal that caused it (not a false verdict).
    pub left_early: usize,
}

/// No protected member is ever OFFLINE in a view; SUSPECT ones are counted.
pub fn check_accuracy(samples: &[Sample], truth: &Truth, grace: Duration) -> Accuracy {
    let mut out = Accuracy::default();
    let mut suspect_now: BTreeSet<(String, String)> = BTreeSet::new();
    for sample in samples {
        for seen in &sample.members {
            let key = (sample.observer.clone(), seen.name.clone());
            let protected = truth.protected(&sample.observer, &seen.name, sample.at, grace);
            out.checked += usize::from(protected);
            match seen.status {
                Status::Offline if protected && seen.left => out.left_early += 1,
                Status::Offline if protected => out.violations.push(Violation {
                    at: sample.at,
                    invariant: "false OFFLINE",
                    detail: format!(
                        "{} shows {} OFFLINE (clock {}) while both were up and connected",
                        sample.observer, seen.name, seen.clock
                    ),
                }),
                Status::Suspect if protected => {
                    out.false_suspect_samples += 1;
                    if suspect_now.insert(key) {
                        out.false_suspect_episodes += 1;
                    }
                }
                _ => {
                    suspect_now.remove(&key);
                }
            }
        }
    }
    out
}

/// The clock and the `seq` value a view shows for a member never go back.
pub fn check_monotonic(samples: &[Sample], truth: &Truth) -> Vec<Violation> {
    let mut last: BTreeMap<(&str, &str), (u64, Option<u64>, Duration)> = BTreeMap::new();
    let mut out = Vec::new();
    for sample in samples {
        for seen in &sample.members {
            let key = (sample.observer.as_str(), seen.name.as_str());
            if let Some((clock, seq, since)) = last.get(&key) {
                // A new process at the same address (Swarm reused it) starts anew.
                let new_life = truth
                    .lives
                    .iter()
                    .any(|l| l.name == seen.name && l.started > *since && l.started <= sample.at);
                if !new_life {
                    if seen.clock < *clock {
                        out.push(Violation {
                            at: sample.at,
                            invariant: "clock went back",
                            detail: format!(
                                "{} shows {} at clock {} after {}",
                                sample.observer, seen.name, seen.clock, clock
                            ),
                        });
                    }
                    if let (Some(now), Some(before)) = (seen.seq, seq) {
                        if now < *before {
                            out.push(Violation {
                                at: sample.at,
                                invariant: "metadata reverted",
                                detail: format!(
                                    "{} shows {}'s seq {} after {}",
                                    sample.observer, seen.name, now, before
                                ),
                            });
                        }
                    }
                }
            }
            last.insert(key, (seen.clock, seen.seq, sample.at));
        }
    }
    out
}

/// The first time at or after `from` when every alive member's latest view (read at or
/// after `from`) shows every other alive member ONLINE with at least the `seq` last written
/// to it before `from`: the views have converged. `None` if they never did.
pub fn converged_at(samples: &[Sample], truth: &Truth, from: Duration) -> Option<Duration> {
    let mut latest: BTreeMap<&str, &Sample> = BTreeMap::new();
    let start = samples.partition_point(|s| s.at < from);
    for sample in &samples[start..] {
        latest.insert(sample.observer.as_str(), sample);
        let alive = truth.alive_at(sample.at);
        if alive.is_empty() {
            continue;
        }
        let all = alive.iter().all(|observer| {
            latest.get(observer.as_str()).is_some_and(|view| {
                alive.iter().filter(|m| *m != observer).all(|member| {
                    view.members.iter().any(|s| {
                        s.name == *member
                            && s.status == Status::Online
                            && truth
                                .last_write(member, from)
                                .is_none_or(|w| s.seq.is_some_and(|v| v >= w))
                    })
                })
            })
        });
        if all {
            return Some(sample.at);
        }
    }
    None
}

/// Why the latest views do not agree (for a failure message): per alive observer, the alive
/// members it does not show ONLINE with at least the last write before `from`.
pub fn disagreements(samples: &[Sample], truth: &Truth, from: Duration) -> Vec<String> {
    let mut latest: BTreeMap<&str, &Sample> = BTreeMap::new();
    for sample in samples {
        latest.insert(sample.observer.as_str(), sample);
    }
    let at = samples.last().map_or(from, |s| s.at);
    let alive = truth.alive_at(at);
    let mut out = Vec::new();
    for observer in &alive {
        let Some(view) = latest.get(observer.as_str()) else {
            out.push(format!("{observer}: no view read"));
            continue;
        };
        for member in alive.iter().filter(|m| *m != observer) {
            let want = truth.last_write(member, from);
            match view.members.iter().find(|s| s.name == *member) {
                None => out.push(format!(
                    "{observer} (at {:.1} s): {member} missing",
                    view.at.as_secs_f64()
                )),
                Some(s)
                    if s.status != Status::Online
                        || want.is_some_and(|w| s.seq.is_none_or(|v| v < w)) =>
                {
                    out.push(format!(
                        "{observer} (at {:.1} s): {member} {:?} clock {} seq {:?} (last written before: {want:?})",
                        view.at.as_secs_f64(),
                        s.status,
                        s.clock,
                        s.seq
                    ));
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// How long after `killed_at` every member alive then (and sampled afterwards) showed
/// `member` OFFLINE; `None` if some never did. Observers paused or killed meanwhile, or
/// that never knew the member, are left out.
pub fn detected_after(
    samples: &[Sample],
    truth: &Truth,
    member: &str,
    killed_at: Duration,
) -> Option<Duration> {
    let observers: BTreeSet<String> = truth
        .alive_at(killed_at)
        .into_iter()
        .filter(|o| o != member)
        .collect();
    let start = samples.partition_point(|s| s.at < killed_at);
    let mut pending: BTreeSet<&str> = observers.iter().map(String::as_str).collect();
    let mut last = killed_at;
    for sample in &samples[start..] {
        if !pending.contains(sample.observer.as_str()) {
            continue;
        }
        let status = sample
            .members
            .iter()
            .find(|s| s.name == member)
            .map(|s| s.status);
        if matches!(status, Some(Status::Offline) | None) {
            pending.remove(sample.observer.as_str());
            last = sample.at;
        }
        if pending.is_empty() {
            return Some(last - killed_at);
        }
    }
    // Observers that died or were paused before they could be read again do not count.
    let end = samples.last().map_or(killed_at, |s| s.at);
    pending.retain(|o| truth.healthy(o, killed_at, end));
    pending.is_empty().then(|| last - killed_at)
}

/// p50, p99 and max of some durations, in seconds.
pub fn percentiles(values: &[Duration]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().map(Duration::as_secs_f64).collect();
    v.sort_by(f64::total_cmp);
    // Nearest rank: the smallest value with at least a fraction q of the values at or below.
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    Some((at(0.5), at(0.99), v[v.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn seen(name: &str, status: Status, clock: u64, seq: Option<u64>) -> Seen {
        Seen {
            name: name.to_owned(),
            status,
            left: false,
            clock,
            seq,
        }
    }

    fn sample(at: u64, observer: &str, members: Vec<Seen>) -> Sample {
        Sample {
            at: s(at),
            observer: observer.to_owned(),
            members,
        }
    }

    fn two_hosts() -> Truth {
        Truth {
            lives: vec![
                Life {
                    name: "a".into(),
                    host: 0,
                    started: s(0),
                    killed: None,
                },
                Life {
                    name: "b".into(),
                    host: 1,
                    started: s(0),
                    killed: None,
                },
            ],
            ..Truth::default()
        }
    }

    #[test]
    fn offline_while_up_and_connected_is_a_violation_but_not_while_cut() {
        let mut truth = two_hosts();
        let samples = vec![sample(100, "a", vec![seen("b", Status::Offline, 1, None)])];
        let found = check_accuracy(&samples, &truth, s(10));
        assert_eq!(found.violations.len(), 1, "{found:?}");
        truth.cut.push((1, s(80), s(95)));
        truth.heals.push(s(95));
        assert!(check_accuracy(&samples, &truth, s(10))
            .violations
            .is_empty());
        // Long after the heal it counts again.
        let late = vec![sample(200, "a", vec![seen("b", Status::Offline, 1, None)])];
        assert_eq!(check_accuracy(&late, &truth, s(10)).violations.len(), 1);
        // Unless b said it left: its own leave, seen before its stop was recorded.
        let mut left = seen("b", Status::Offline, 2, None);
        left.left = true;
        let found = check_accuracy(&[sample(200, "a", vec![left])], &truth, s(10));
        assert!(found.violations.is_empty());
        assert_eq!(found.left_early, 1);
    }

    #[test]
    fn a_paused_member_may_be_offline_and_suspect_episodes_are_counted() {
        let mut truth = two_hosts();
        truth.paused.push(("b".into(), s(50), s(60)));
        let samples = vec![
            sample(55, "a", vec![seen("b", Status::Offline, 1, None)]),
            sample(100, "a", vec![seen("b", Status::Suspect, 1, None)]),
            sample(101, "a", vec![seen("b", Status::Suspect, 1, None)]),
            sample(102, "a", vec![seen("b", Status::Online, 2, None)]),
            sample(103, "a", vec![seen("b", Status::Suspect, 2, None)]),
        ];
        let found = check_accuracy(&samples, &truth, s(10));
        assert!(found.violations.is_empty());
        assert_eq!(found.false_suspect_episodes, 2);
        assert_eq!(found.false_suspect_samples, 3);
        assert_eq!(found.checked, 4, "all but the one in the pause");
    }

    #[test]
    fn clocks_and_metadata_must_not_go_back() {
        let truth = two_hosts();
        let samples = vec![
            sample(1, "a", vec![seen("b", Status::Online, 3, Some(5))]),
            sample(2, "a", vec![seen("b", Status::Online, 2, Some(4))]),
        ];
        let found = check_monotonic(&samples, &truth);
        let kinds: Vec<&str> = found.iter().map(|v| v.invariant).collect();
        assert_eq!(kinds, ["clock went back", "metadata reverted"]);
        let fine = vec![
            sample(1, "a", vec![seen("b", Status::Online, 3, Some(5))]),
            sample(2, "a", vec![seen("b", Status::Online, 4, Some(5))]),
        ];
        assert!(check_monotonic(&fine, &truth).is_empty());
    }

    #[test]
    fn convergence_needs_everyone_online_with_the_last_write() {
        let mut truth = two_hosts();
        truth.writes.push(("b".into(), 7, s(5)));
        let samples = vec![
            sample(10, "a", vec![seen("b", Status::Online, 1, Some(6))]),
            sample(11, "b", vec![seen("a", Status::Online, 1, None)]),
            sample(12, "a", vec![seen("b", Status::Online, 1, Some(7))]),
        ];
        assert_eq!(converged_at(&samples, &truth, s(10)), Some(s(12)));
        assert_eq!(converged_at(&samples[..2], &truth, s(10)), None);
    }

    #[test]
    fn detection_waits_for_every_observer() {
        let mut truth = two_hosts();
        truth.lives.push(Life {
            name: "c".into(),
            host: 1,
            started: s(0),
            killed: None,
        });
        truth.lives[1].killed = Some(s(20));
        let samples = vec![
            sample(22, "a", vec![seen("b", Status::Suspect, 1, None)]),
            sample(25, "a", vec![seen("b", Status::Offline, 1, None)]),
            sample(26, "c", vec![seen("b", Status::Online, 1, None)]),
        ];
        assert_eq!(detected_after(&samples, &truth, "b", s(20)), None);
        let mut more = samples.clone();
        more.push(sample(29, "c", vec![seen("b", Status::Offline, 1, None)]));
        assert_eq!(detected_after(&more, &truth, "b", s(20)), Some(s(9)));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(s).collect();
        assert_eq!(percentiles(&v), Some((50.0, 99.0, 100.0)));
        assert_eq!(percentiles(&[s(1), s(9)]), Some((1.0, 9.0, 9.0)));
        assert_eq!(percentiles(&[]), None);
    }

    #[test]
    fn bounds_follow_the_timings() {
        let b = Bounds::from_timings(&Timings::LAN, 6);
        // 6 × 1 s + 0.2 + 0.6 + 3 × 4 s + 4 × 1 × 0.2 s
        assert_eq!(b.detection, Duration::from_millis(19_600));
        assert_eq!(b.convergence, Duration::from_millis(79_600));
    }
}
