//! Seed sweeps: many standard runs over sizes, loss, latency, faults and seeds, each checked
//! against invariants, on every core. A failing run is reported with a one-line command
//! that reproduces it (the simulator is deterministic by seed), so that it can become a
//! permanent test.
//!
//! The invariants of a run ([`check`]): every phase completes (join, metadata spread,
//! crash detection, leave, and the heal after a partition); no member neither crashed nor
//! slow is ever marked OFFLINE while reachable (`false_offline_healthy`), and none at all
//! without slow members (`false_offline`); the heal (without slow members, which keep
//! being suspected whatever the partition) and the leave finish within [`Bounds`], derived
//! from the protocol configuration; every payload decodes.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use swim_core::ProtocolConfig;

use crate::faults::{Cut, Faults};
use crate::network::NetworkConfig;
use crate::scenario::{run_standard_with, Report, RunConfig};
use crate::wire::SimWire;

/// One run of a sweep: a standard run's parameters and its faults.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Number of members.
    pub members: usize,
    /// The seed.
    pub seed: u64,
    /// Packet loss probability.
    pub loss: f64,
    /// Mean one-way latency, in milliseconds.
    pub latency_ms: f64,
    /// Latency jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Length of the partition phase in seconds (0: none).
    pub partition_s: f64,
    /// Members made slow (1 s late) after the metadata spread.
    pub slow: usize,
    /// The shape of the partition.
    pub cut: Cut,
    /// Clock-rate skew of every member (`1 ± skew`).
    pub skew: f64,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back (reordered).
    pub reorder: f64,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            members: 20,
            seed: 1,
            loss: 0.0,
            latency_ms: 5.0,
            jitter_ms: 2.0,
            partition_s: 0.0,
            slow: 0,
            cut: Cut::Halves,
            skew: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "members={} seed={} loss={} latency_ms={} jitter_ms={} partition_s={} slow={} \
             cut={} skew={} duplicate={} reorder={}",
            self.members,
            self.seed,
            self.loss,
            self.latency_ms,
            self.jitter_ms,
            self.partition_s,
            self.slow,
            self.cut,
            self.skew,
            self.duplicate,
            self.reorder
        )
    }
}

/// A case description that does not parse (see [`Case`]'s `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad case {0}")]
pub struct BadCase(String);

impl FromStr for Case {
    type Err = BadCase;

    /// Reads `key=value` pairs separated by spaces, as [`Case`] prints them; missing keys
    /// keep their defaults.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut case = Case::default();
        for pair in s.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| BadCase(format!("{pair:?}: expected key=value")))?;
            let bad = |e: &dyn fmt::Display| BadCase(format!("{key}={value}: {e}"));
            let fraction = |v: &str| -> Result<f64, BadCase> {
                let x: f64 = v.parse().map_err(|e| bad(&e))?;
                if (0.0..=1.0).contains(&x) {
                    Ok(x)
                } else {
                    Err(bad(&"must be between 0 and 1"))
                }
            };
            let non_negative = |v: &str| -> Result<f64, BadCase> {
                let x: f64 = v.parse().map_err(|e| bad(&e))?;
                if (0.0..=1e6).contains(&x) {
                    Ok(x)
                } else {
                    Err(bad(&"must be between 0 and 1e6"))
                }
            };
            match key {
                "members" => {
                    case.members = value.parse().map_err(|e| bad(&e))?;
                    if !(1..=100_000).contains(&case.members) {
                        return Err(bad(&"must be 1 to 100000"));
                    }
                }
                "seed" => case.seed = value.parse().map_err(|e| bad(&e))?,
                "loss" => case.loss = fraction(value)?,
                "latency_ms" => case.latency_ms = non_negative(value)?,
                "jitter_ms" => case.jitter_ms = non_negative(value)?,
                "partition_s" => case.partition_s = non_negative(value)?,
                "slow" => case.slow = value.parse().map_err(|e| bad(&e))?,
                "cut" => case.cut = value.parse().map_err(|e| bad(&e))?,
                "skew" => {
                    case.skew = fraction(value)?;
                    if case.skew > 0.5 {
                        return Err(bad(&"must be at most 0.5"));
                    }
                }
                "duplicate" => case.duplicate = fraction(value)?,
                "reorder" => case.reorder = fraction(value)?,
                _ => return Err(BadCase(format!("unknown key {key:?}"))),
            }
        }
        if case.slow > 0 && case.slow + 2 > case.members {
            return Err(BadCase(
                "slow must leave member 0 and one member to crash".into(),
            ));
        }
        Ok(case)
    }
}

impl Case {
    /// The run's configuration and faults (the `lan` protocol defaults, direct delivery).
    pub fn config(&self) -> (RunConfig, Faults) {
        let config = RunConfig {
            members: self.members,
            seed: self.seed,
            network: NetworkConfig {
                loss: self.loss,
                latency: Duration::from_secs_f64(self.latency_ms / 1000.0),
                jitter: Duration::from_secs_f64(self.jitter_ms / 1000.0),
                duplicate: self.duplicate,
                reorder: self.reorder,
                ..NetworkConfig::default()
            },
            protocol: ProtocolConfig::default(),
            wire: SimWire::Direct,
            slow: self.slow,
            partition: Duration::from_secs_f64(self.partition_s),
            ..RunConfig::default()
        };
        let faults = Faults {
            cut: self.cut,
            skew: self.skew,
        };
        (config, faults)
    }

    /// Whether `swim-sim` itself can run this case (no fault beyond its options).
    fn plain(&self) -> bool {
        self.cut == Cut::Halves && self.skew == 0.0 && self.duplicate == 0.0 && self.reorder == 0.0
    }

    /// One line that reproduces this run: the `swim-sim` command where it has the options,
    /// else the sweep binary's `--case`.
    pub fn reproducer(&self) -> String {
        if self.plain() {
            let mut cmd = format!(
                "swim-sim --members {} --seed {} --loss {} --latency-ms {} --jitter-ms {}",
                self.members, self.seed, self.loss, self.latency_ms, self.jitter_ms
            );
            if self.partition_s > 0.0 {
                cmd += &format!(" --partition-s {}", self.partition_s);
            }
            if self.slow > 0 {
                cmd += &format!(" --slow {}", self.slow);
            }
            cmd + " --json"
        } else {
            format!("swim-sim-sweep --case '{self}'")
        }
    }

    /// Runs the case and checks it.
    pub fn run(&self) -> Outcome {
        let (config, faults) = self.config();
        let report = run_standard_with(&config, &faults);
        let bounds = Bounds::new(&config.protocol, self.skew);
        let violations = check(self, &report, &bounds);
        Outcome {
            case: self.clone(),
            report,
            violations,
        }
    }
}

/// The bounds a run's heal and leave must keep, derived from the protocol configuration
/// (see "Partitions" and "Graceful leave" in `docs/PROTOCOL.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Heal until whole: a member pings one OFFLINE member every 4 `ping_interval`s (the
    /// first contact), the comeback it sees starts a sweep of every SUSPECT and OFFLINE
    /// member 2 periods later, a second sweep 2 periods after the first catches what
    /// changed meanwhile, and a third 2 periods later what the second's lost pings missed:
    /// 10 `ping_interval`s. It holds where every member sees a
    /// comeback: a cut between halves or islands, where the members of the other sides
    /// refute by the dozen.
    pub heal: Duration,
    /// Heal until whole where a member may see no comeback at all (one member cut off
    /// alone, a one-way, flapping or restart cut: a handful of refutations that gossip may
    /// all miss at one member): that member finds the others ONLINE at its next push-pull,
    /// as a member that missed a leave does (the `leave` bound), unless its OFFLINE turn
    /// finds them first.
    pub heal_few: Duration,
    /// Leave until OFFLINE with the left flag everywhere: gossip, or for a member that
    /// gossip missed, its next push-pull, whose windows carry recent changes first: every
    /// member starts one within 1.5 `push_pull_interval`s (the timer's jitter), riding on
    /// a probe within one `ping_interval`, plus one for the answer.
    pub leave: Duration,
}

impl Bounds {
    /// The bounds under `protocol`, for clocks up to `skew` slow.
    pub fn new(protocol: &ProtocolConfig, skew: f64) -> Bounds {
        let slow = 1.0 / (1.0 - skew.clamp(0.0, 0.5));
        let leave =
            (protocol.push_pull_interval.mul_f64(1.5) + protocol.ping_interval * 2).mul_f64(slow);
        Bounds {
            heal: (protocol.ping_interval * 10).mul_f64(slow),
            heal_few: leave,
            leave,
        }
    }

    /// The heal bound of a partition cut as `cut`.
    pub fn heal_of(&self, cut: Cut) -> Duration {
        match cut {
            Cut::Halves | Cut::Islands(_) => self.heal,
            Cut::Lone | Cut::OneWay | Cut::Flapping { .. } | Cut::Restart => self.heal_few,
        }
    }
}

/// An invariant a run broke.
#[derive(Debug, Clone, PartialEq)]
pub enum Violation {
    /// A phase did not complete: its figure is `null`.
    Unfinished(&'static str),
    /// Members were marked OFFLINE while alive and reachable (no slow members in the run).
    FalseOffline(u64),
    /// Members neither crashed nor slow were marked OFFLINE while reachable.
    HealthyOffline(u64),
    /// The heal took longer than its bound (seconds).
    SlowHeal(f64),
    /// The leave took longer than its bound (seconds).
    SlowLeave(f64),
    /// Payloads failed to decode.
    Rejected(u64),
}

impl Violation {
    /// The invariant's name, for counts.
    pub fn invariant(&self) -> String {
        match self {
            Violation::Unfinished(phase) => format!("unfinished:{phase}"),
            Violation::FalseOffline(_) => "false_offline".into(),
            Violation::HealthyOffline(_) => "healthy_offline".into(),
            Violation::SlowHeal(_) => "heal_bound".into(),
            Violation::SlowLeave(_) => "leave_bound".into(),
            Violation::Rejected(_) => "rejected_payloads".into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Unfinished(phase) => write!(f, "{phase} is null"),
            Violation::FalseOffline(n) => write!(f, "false_offline {n}"),
            Violation::HealthyOffline(n) => write!(f, "false_offline_healthy {n}"),
            Violation::SlowHeal(s) => write!(f, "heal_s {s} above its bound"),
            Violation::SlowLeave(s) => write!(f, "leave_s {s} above its bound"),
            Violation::Rejected(n) => write!(f, "rejected_payloads {n}"),
        }
    }
}

/// The invariants `report` of `case` breaks (see the module docs).
pub fn check(case: &Case, report: &Report, bounds: &Bounds) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut phase = |name: &'static str, value: Option<f64>| {
        if value.is_none() {
            out.push(Violation::Unfinished(name));
        }
    };
    if case.members > 1 {
        phase("join_s", report.join_s);
        phase("meta_max_s", report.meta_max_s);
        phase("all_offline_s", report.all_offline_s);
    }
    if case.members > 2 {
        phase("leave_s", report.leave_s);
    }
    if case.partition_s > 0.0 && case.members > 1 {
        phase("heal_s", report.heal_s);
    }
    if case.slow == 0 && report.false_offline > 0 {
        out.push(Violation::FalseOffline(report.false_offline));
    }
    if report.false_offline_healthy > 0 {
        out.push(Violation::HealthyOffline(report.false_offline_healthy));
    }
    // Slow members keep being suspected (and may be declared OFFLINE) whatever the
    // partition: the cluster is whole only between such false alarms, so the heal bound
    // holds without them; with them, the heal must still complete.
    if let Some(heal) = report.heal_s.filter(|_| case.slow == 0) {
        if heal > bounds.heal_of(case.cut).as_secs_f64() {
            out.push(Violation::SlowHeal(heal));
        }
    }
    if let Some(leave) = report.leave_s {
        if leave > bounds.leave.as_secs_f64() {
            out.push(Violation::SlowLeave(leave));
        }
    }
    if report.rejected_payloads > 0 {
        out.push(Violation::Rejected(report.rejected_payloads));
    }
    out
}

/// A case run and checked.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case.
    pub case: Case,
    /// Its figures.
    pub report: Report,
    /// The invariants it broke (none: it passed).
    pub violations: Vec<Violation>,
}

impl Outcome {
    /// One line: `FAIL` and what broke, and the command that reproduces it; or `ok`.
    pub fn line(&self) -> String {
        if self.violations.is_empty() {
            return format!("ok {}", self.case);
        }
        let broke: Vec<String> = self.violations.iter().map(|v| v.to_string()).collect();
        format!(
            "FAIL [{}] reproduce: {}",
            broke.join(", "),
            self.case.reproducer()
        )
    }
}

/// Runs `cases` on `jobs` threads (at least one), handing each outcome to `each` as it
/// finishes (in completion order), and returns the summary.
pub fn run_all(cases: &[Case], jobs: usize, mut each: impl FnMut(&Outcome)) -> Summary {
    let next = AtomicUsize::new(0);
    let mut summary = Summary::default();
    let (tx, rx) = mpsc::channel::<Outcome>();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(cases.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else {
                    break;
                };
                if tx.send(case.run()).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for outcome in rx {
            summary.add(&outcome);
            each(&outcome);
        }
    });
    summary
}

/// Heal or leave times of one group of runs, in seconds.
#[derive(Debug, Clone, Default)]
pub struct Times(Vec<f64>);

impl Times {
    /// The `p`-th quantile (nearest rank), if any time was recorded.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        let mut sorted = self.0.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1));
        sorted.get(rank - 1).copied()
    }

    /// How many times were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The summary's cells: runs, p50, p99 and max (`-` where none was recorded).
    fn row(&self) -> String {
        let cell = |p: f64| {
            self.quantile(p)
                .map_or("-".to_owned(), |x| format!("{x:.2}"))
        };
        let (p50, p99, max) = (cell(0.5), cell(0.99), cell(1.0));
        format!("{} | {p50} | {p99} | {max}", self.len())
    }
}

/// What a sweep found: runs, failures by invariant, the failing reproducers, and the heal
/// and leave times by members and loss.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Runs done.
    pub runs: usize,
    /// Runs that broke at least one invariant.
    pub failed: usize,
    /// Violations by invariant.
    pub by_invariant: BTreeMap<String, usize>,
    /// The reproducers of the failing runs.
    pub failures: Vec<String>,
    /// Heal times by (members, loss in per mille, cut).
    pub heal: BTreeMap<(usize, u32, String), Times>,
    /// Leave times by (members, loss in per mille).
    pub leave: BTreeMap<(usize, u32), Times>,
    /// Runs by fault (cut, or the network/clock fault).
    pub by_fault: BTreeMap<String, usize>,
}

impl Summary {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: &Outcome) {
        self.runs += 1;
        let case = &outcome.case;
        if !outcome.violations.is_empty() {
            self.failed += 1;
            self.failures.push(outcome.line());
        }
        for v in &outcome.violations {
            *self.by_invariant.entry(v.invariant()).or_default() += 1;
        }
        let per_mille = (case.loss * 1000.0).round() as u32;
        if let Some(heal) = outcome.report.heal_s {
            let key = (case.members, per_mille, case.cut.to_string());
            self.heal.entry(key).or_default().0.push(heal);
        }
        if let Some(leave) = outcome.report.leave_s {
            let key = (case.members, per_mille);
            self.leave.entry(key).or_default().0.push(leave);
        }
        let mut fault = Vec::new();
        if case.partition_s > 0.0 {
            fault.push(format!("cut={}", case.cut));
        }
        if case.skew > 0.0 {
            fault.push("skew".to_owned());
        }
        if case.duplicate > 0.0 {
            fault.push("duplicate".to_owned());
        }
        if case.reorder > 0.0 {
            fault.push("reorder".to_owned());
        }
        if case.slow > 0 {
            fault.push("slow".to_owned());
        }
        if fault.is_empty() {
            fault.push("none".to_owned());
        }
        *self.by_fault.entry(fault.join("+")).or_default() += 1;
    }

    /// The summary as Markdown tables (what `docs/accuracy.md` quotes).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out += &format!(
            "{} runs, {} failed.\n\n| invariant | violations |\n| --- | --- |\n",
            self.runs, self.failed
        );
        for invariant in [
            "unfinished:join_s",
            "unfinished:meta_max_s",
            "unfinished:all_offline_s",
            "unfinished:leave_s",
            "unfinished:heal_s",
            "false_offline",
            "healthy_offline",
            "heal_bound",
            "leave_bound",
            "rejected_payloads",
        ] {
            let count = self.by_invariant.get(invariant).copied().unwrap_or(0);
            out += &format!("| {invariant} | {count} |\n");
        }
        out += "\n| fault | runs |\n| --- | --- |\n";
        for (fault, runs) in &self.by_fault {
            out += &format!("| {fault} | {runs} |\n");
        }
        out += "\nHeal (s, from the heal until every member sees every other ONLINE):\n\n\
                | members | loss | cut | runs | p50 | p99 | max |\n\
                | --- | --- | --- | --- | --- | --- | --- |\n";
        for ((members, loss, cut), t) in &self.heal {
            out += &format!(
                "| {members} | {}% | {cut} | {} |\n",
                *loss as f64 / 10.0,
                t.row()
            );
        }
        out += "\nLeave (s, from the leave until every member sees it OFFLINE with the left flag):\n\n\
                | members | loss | runs | p50 | p99 | max |\n\
                | --- | --- | --- | --- | --- | --- |\n";
        for ((members, loss), t) in &self.leave {
            out += &format!("| {members} | {}% | {} |\n", *loss as f64 / 10.0, t.row());
        }
        out
    }
}

/// A named plan of cases: `ci` (486 runs, about a minute on two cores) or `long` (10,502
/// runs).
pub fn plan(name: &str) -> Option<Vec<Case>> {
    match name {
        "ci" => Some(ci_plan()),
        "long" => Some(long_plan()),
        _ => None,
    }
}

/// The cuts and network/clock faults a plan cycles through, by index.
fn fault_of(i: u64, case: &mut Case) {
    let cuts = [
        Cut::Halves,
        Cut::Lone,
        Cut::Islands(3),
        Cut::OneWay,
        Cut::Flapping {
            period: Duration::from_millis(2500),
        },
        Cut::Restart,
    ];
    case.cut = cuts[(i % cuts.len() as u64) as usize];
    match i % 5 {
        1 => case.duplicate = 0.05,
        2 => case.reorder = 0.1,
        3 => case.skew = 0.1,
        _ => {}
    }
}

fn ci_plan() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut i = 0u64;
    for members in [20, 50] {
        for loss in [0.0, 0.01, 0.05, 0.1] {
            for (latency_ms, jitter_ms) in [(5.0, 2.0), (30.0, 20.0)] {
                for seed in 1..=30u64 {
                    let mut case = Case {
                        members,
                        seed,
                        loss,
                        latency_ms,
                        jitter_ms,
                        partition_s: 20.0,
                        ..Case::default()
                    };
                    fault_of(i, &mut case);
                    if i % 7 == 0 {
                        case.slow = 2;
                    }
                    cases.push(case);
                    i += 1;
                }
            }
        }
    }
    // 200 members, and the two reproducers of issue 23 as they were reported.
    for loss in [0.0, 0.01, 0.05, 0.1] {
        cases.push(Case {
            members: 200,
            seed: 1,
            loss,
            partition_s: 60.0,
            ..Case::default()
        });
    }
    for (loss, partition_s) in [(0.05, 60.0), (0.01, 0.0)] {
        cases.push(Case {
            members: 200,
            seed: 4,
            loss,
            partition_s,
            ..Case::default()
        });
    }
    cases
}

fn long_plan() -> Vec<Case> {
    // The largest first, so that both cores are busy with them while the small ones fill in.
    let mut cases: Vec<Case> = (1..=6u64)
        .map(|seed| Case {
            members: 1000,
            seed,
            loss: 0.05,
            partition_s: 60.0,
            ..Case::default()
        })
        .collect();
    let mut i = 0u64;
    // (members, seeds per loss and latency)
    for (members, seeds) in [(200usize, 12u64), (50, 200), (20, 1100)] {
        for loss in [0.0, 0.01, 0.05, 0.1] {
            for (latency_ms, jitter_ms) in [(5.0, 2.0), (30.0, 20.0)] {
                for seed in 1..=seeds {
                    let mut case = Case {
                        members,
                        seed,
                        loss,
                        latency_ms,
                        jitter_ms,
                        partition_s: if members >= 200 { 60.0 } else { 20.0 },
                        ..Case::default()
                    };
                    if members < 200 {
                        fault_of(i, &mut case);
                        if i % 11 == 0 {
                            case.slow = 2;
                        }
                    }
                    cases.push(case);
                    i += 1;
                }
            }
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_read_back_what_they_print() {
        let case = Case {
            members: 200,
            seed: 4,
            loss: 0.05,
            partition_s: 60.0,
            cut: Cut::OneWay,
            skew: 0.1,
            duplicate: 0.05,
            reorder: 0.1,
            ..Case::default()
        };
        assert_eq!(case.to_string().parse::<Case>(), Ok(case));
        assert!("members=0".parse::<Case>().is_err());
        assert!("loss=2".parse::<Case>().is_err());
        assert!("color=blue".parse::<Case>().is_err());
        assert!("members=3 slow=2".parse::<Case>().is_err());
    }

    #[test]
    fn a_plain_case_reproduces_with_swim_sim_and_others_with_the_sweep() {
        let plain = Case {
            members: 200,
            seed: 4,
            loss: 0.01,
            ..Case::default()
        };
        assert_eq!(
            plain.reproducer(),
            "swim-sim --members 200 --seed 4 --loss 0.01 --latency-ms 5 --jitter-ms 2 --json"
        );
        let skewed = Case { skew: 0.1, ..plain };
        assert!(skewed
            .reproducer()
            .starts_with("swim-sim-sweep --case 'members=200 "));
    }

    #[test]
    fn a_null_phase_and_a_slow_heal_are_violations() {
        let case = Case {
            members: 20,
            partition_s: 20.0,
            ..Case::default()
        };
        let mut report = case.run().report;
        let bounds = Bounds::new(&ProtocolConfig::default(), 0.0);
        assert_eq!(check(&case, &report, &bounds), vec![]);
        report.leave_s = None;
        report.heal_s = Some(bounds.heal.as_secs_f64() + 1.0);
        report.false_offline_healthy = 1;
        let broke: Vec<String> = check(&case, &report, &bounds)
            .iter()
            .map(Violation::invariant)
            .collect();
        assert_eq!(
            broke,
            ["unfinished:leave_s", "healthy_offline", "heal_bound"]
        );
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let t = Times((1..=100).map(f64::from).collect());
        assert_eq!(t.quantile(0.5), Some(50.0));
        assert_eq!(t.quantile(0.99), Some(99.0));
        assert_eq!(t.quantile(1.0), Some(100.0));
        assert_eq!(Times::default().quantile(0.5), None);
    }
}
