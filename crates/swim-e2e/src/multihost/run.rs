//! A whole run: hosts, stack, observer, a metadata workload, a fault schedule, the checks,
//! and the report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::docker::{one_at_a_time, CommandError};
use crate::images::build_ours;
use crate::multihost::check::{
    check_accuracy, check_monotonic, converged_at, detected_after, disagreements, percentiles,
    Bounds, Life, Timings, Truth, Violation,
};
use crate::multihost::hosts::Hosts;
use crate::multihost::nemesis::{end_network, start_network, Active, Fault, Scheduled};
use crate::multihost::observe::{Observation, Observer};
use crate::multihost::splitmix::SplitMix;
use crate::multihost::stack::{self, PER_HOST};
use crate::resources::Resources;

/// Longest wait for the stack's first convergence (engines are slow to start tasks).
const FIRST_CONVERGENCE: Duration = Duration::from_secs(300);
/// Longest wait, after the schedule, for the final convergence.
const FINAL_CONVERGENCE: Duration = Duration::from_secs(180);

/// What to run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// A name for the report.
    pub name: String,
    /// Hosts (1 to 5).
    pub hosts: usize,
    /// The schedule's seed (recorded in the report; the schedule itself is `faults`).
    pub seed: u64,
    /// The faults, at offsets from the schedule's start.
    pub faults: Vec<Scheduled>,
    /// The schedule's length (the run waits until then after the last fault).
    pub length: Duration,
    /// Time between two metadata writes (each to one member).
    pub write_every: Duration,
    /// The `swim-netdelay` program, for delay faults.
    pub netdelay: Option<PathBuf>,
}

/// A run's outcome.
#[derive(Debug, Default)]
pub struct Report {
    /// Every broken invariant.
    pub violations: Vec<Violation>,
    /// The report, as Markdown.
    pub text: String,
}

fn log(obs: &Observation, line: &str) {
    eprintln!("[{:7.1}s] {line}", obs.now().as_secs_f64());
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sets the flag when dropped.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What the nemesis and the workload record, shared with the workload thread.
#[derive(Debug, Default)]
struct Record {
    /// Container id → when it was killed by the nemesis.
    killed: BTreeMap<String, Duration>,
    /// Container id → when it vanished without being killed.
    vanished: BTreeMap<String, Duration>,
    /// Whether Swarm is stopping members on purpose now (rolling update, scaling).
    retiring: bool,
    /// Container id → when Swarm stopped it on purpose (its stop signal, once known).
    retired: BTreeMap<String, Duration>,
    /// Container ids paused now.
    paused_now: BTreeSet<String>,
    /// Container id, from, to.
    paused: Vec<(String, Duration, Duration)>,
    cut: Vec<(usize, Duration, Duration)>,
    heals: Vec<Duration>,
    /// Container id, value, when.
    writes: Vec<(String, u64, Duration)>,
    /// Container id → its host.
    host_of: BTreeMap<String, usize>,
}

fn truth(obs: &Observation, record: &Record) -> Truth {
    let names = lock(&obs.names).clone();
    let first = lock(&obs.first_answer).clone();
    let tasks = lock(&obs.tasks).clone();
    let mut hosts: BTreeMap<String, usize> = tasks.iter().map(|t| (t.id.clone(), t.host)).collect();
    // A task no longer listed keeps the host it had.
    for (id, host) in &record.host_of {
        hosts.entry(id.clone()).or_insert(*host);
    }
    let name = |id: &str| names.get(id).cloned();
    let mut t = Truth::default();
    for (id, started) in &first {
        let Some(n) = name(id) else { continue };
        let killed = record
            .killed
            .get(id)
            .or_else(|| record.retired.get(id))
            .or_else(|| record.vanished.get(id))
            .copied();
        t.lives.push(Life {
            name: n,
            host: hosts.get(id).copied().unwrap_or(usize::MAX),
            started: *started,
            killed,
        });
    }
    t.paused = record
        .paused
        .iter()
        .filter_map(|(id, a, b)| Some((name(id)?, *a, *b)))
        .collect();
    let now = obs.now();
    for id in &record.paused_now {
        if let Some(n) = name(id) {
            t.paused.push((n, now, Duration::MAX));
        }
    }
    t.cut = record.cut.clone();
    t.heals = record.heals.clone();
    t.writes = record
        .writes
        .iter()
        .filter_map(|(id, v, at)| Some((name(id)?, *v, *at)))
        .collect();
    t
}

/// Lists the tasks, notes the ones that vanished without being killed.
fn refresh(hosts: &Hosts, obs: &Observation, record: &Mutex<Record>) {
    let Ok(tasks) = stack::tasks(hosts) else {
        return;
    };
    let now = obs.now();
    let listed: BTreeSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    let before = lock(&obs.tasks).clone();
    let mut rec = lock(record);
    for t in &tasks {
        rec.host_of.insert(t.id.clone(), t.host);
    }
    for gone in before.iter().filter(|t| !listed.contains(t.id.as_str())) {
        let known = rec.killed.contains_key(&gone.id)
            || rec.vanished.contains_key(&gone.id)
            || rec.retired.contains_key(&gone.id);
        if !known && rec.retiring {
            // Its stop signal's time replaces this one after the fault (`note_retired`).
            rec.retired.insert(gone.id.clone(), now);
            log(
                obs,
                &format!("member container {} stopped by Swarm", &gone.id[..12]),
            );
        } else if !known {
            rec.vanished.insert(gone.id.clone(), now);
            log(
                obs,
                &format!(
                    "member container {} vanished without a fault",
                    &gone.id[..12]
                ),
            );
        }
    }
    drop(rec);
    *lock(&obs.tasks) = tasks;
}

/// The members of `host` that answer, sorted by name: (container id, name).
fn members_of(obs: &Observation, host: usize) -> Vec<(String, String)> {
    let names = lock(&obs.names).clone();
    let mut out: Vec<(String, String)> = lock(&obs.tasks)
        .iter()
        .filter(|t| t.host == host && t.state == "running")
        .filter_map(|t| Some((t.id.clone(), names.get(&t.id)?.clone())))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Waits until `replicas` members answer and every view converged since `from`; returns the
/// time of convergence.
fn wait_converged(
    obs: &Observation,
    record: &Mutex<Record>,
    replicas: usize,
    from: Duration,
    timeout: Duration,
    hosts: &Hosts,
) -> Option<Duration> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        refresh(hosts, obs, record);
        // The running members that answered, and when the last of them first did: a
        // replacement counts from then on (before, the views could not have it).
        let (answering, newest) = {
            let first = lock(&obs.first_answer);
            let answered: Vec<Duration> = lock(&obs.tasks)
                .iter()
                .filter(|t| t.state == "running")
                .filter_map(|t| first.get(&t.id).copied())
                .collect();
            (answered.len(), answered.into_iter().max().unwrap_or(from))
        };
        if answering == replicas {
            let truth = truth(obs, &lock(record));
            let samples = obs.samples();
            if let Some(at) = converged_at(&samples, &truth, from.max(newest)) {
                return Some(at);
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    None
}

/// Runs `swarm_command` (which waits for Swarm) while keeping the task list fresh, so that
/// the observer reads the new members and sees the old ones go meanwhile.
fn refreshing<T: Send>(
    hosts: &Hosts,
    obs: &Observation,
    record: &Mutex<Record>,
    swarm_command: impl FnOnce() -> T + Send,
) -> T {
    std::thread::scope(|scope| {
        let command = scope.spawn(swarm_command);
        while !command.is_finished() {
            refresh(hosts, obs, record);
            std::thread::sleep(Duration::from_millis(500));
        }
        match command.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Keeps the task list fresh until `until` (from the run's start).
fn hold_until(hosts: &Hosts, obs: &Observation, record: &Mutex<Record>, until: Duration) {
    while obs.now() < until {
        refresh(hosts, obs, record);
        std::thread::sleep(Duration::from_millis(500).min(until.saturating_sub(obs.now())));
    }
}

/// [`hold_until`] while a network fault lasts; an error if one of its delayers died (its
/// packets would then pass undelayed, and the run would not be what it says).
fn hold_network(
    hosts: &Hosts,
    obs: &Observation,
    record: &Mutex<Record>,
    until: Duration,
    active: &mut Active,
) -> Result<(), CommandError> {
    while obs.now() < until {
        hold_until(
            hosts,
            obs,
            record,
            (obs.now() + Duration::from_secs(2)).min(until),
        );
        if !active.healthy() {
            return Err(CommandError(
                "a swim-netdelay died during its fault".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Longest wait for the members Swarm stops on purpose to be gone.
const RETIRE_WAIT: Duration = Duration::from_secs(60);

/// After a rolling update or a scaling that began at `from`: waits (bounded) until every
/// container Swarm signalled to stop is gone, records each one's end as the time of its stop
/// signal (its leave starts then), and ends the retiring. Returns the retired members'
/// names and stop times.
fn settle_retirements(
    hosts: &Hosts,
    obs: &Observation,
    record: &Mutex<Record>,
    wall0: SystemTime,
    from: Duration,
) -> Vec<(String, Duration)> {
    let unix = |d: Duration| {
        (wall0 + d)
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |u| u.as_secs_f64())
    };
    let run_time = |nanos: u128| {
        let at = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        at.saturating_sub(wall0.duration_since(UNIX_EPOCH).unwrap_or_default())
    };
    let deadline = Instant::now() + RETIRE_WAIT;
    let signals = loop {
        refresh(hosts, obs, record);
        let signals = stack::stop_signals(
            hosts,
            unix(from.saturating_sub(Duration::from_secs(2))),
            unix(obs.now() + Duration::from_secs(1)),
        );
        let listed: BTreeSet<String> = lock(&obs.tasks).iter().map(|t| t.id.clone()).collect();
        if signals.iter().all(|(id, _)| !listed.contains(id)) || Instant::now() > deadline {
            break signals;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let names = lock(&obs.names).clone();
    let mut rec = lock(record);
    rec.retiring = false;
    let mut out = Vec::new();
    for (id, nanos) in signals {
        if rec.killed.contains_key(&id) {
            continue;
        }
        let at = run_time(nanos);
        rec.vanished.remove(&id);
        let entry = rec.retired.entry(id.clone()).or_insert(at);
        *entry = (*entry).min(at);
        if let Some(name) = names.get(&id) {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.clone(), *entry));
            }
        }
    }
    drop(rec);
    log(
        obs,
        &format!(
            "nemesis: {} members stopped by Swarm: {}",
            out.len(),
            out.iter()
                .map(|(n, at)| format!("{n} at {:.1} s", at.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    out
}

/// Runs `spec` and returns the report; an error if the harness itself failed (no hosts, no
/// stack, no convergence at the start).
pub fn run(spec: &RunSpec) -> Result<Report, CommandError> {
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources)?;
    let hosts = Hosts::start(spec.hosts)?;
    hosts.load_image(&image)?;
    let dir = tempfile::tempdir().map_err(|e| CommandError(format!("tempdir: {e}")))?;
    let replicas = stack::deploy(&hosts, &image, dir.path())?;
    let bounds = Bounds::from_timings(&Timings::LAN, replicas);
    let mut observer = Observer::start(&hosts);
    let obs = Arc::clone(&observer.shared);
    let record = Arc::new(Mutex::new(Record::default()));
    log(
        &obs,
        &format!(
            "multihost: {} hosts, {replicas} members, seed {}, {} faults; bounds: detection {:.1} s, convergence {:.1} s",
            spec.hosts,
            spec.seed,
            spec.faults.len(),
            bounds.detection.as_secs_f64(),
            bounds.convergence.as_secs_f64()
        ),
    );
    let Some(joined) = wait_converged(
        &obs,
        &record,
        replicas,
        Duration::ZERO,
        FIRST_CONVERGENCE,
        &hosts,
    ) else {
        let views: Vec<String> = obs
            .samples()
            .iter()
            .rev()
            .take(replicas)
            .map(|s| format!("{s:?}"))
            .collect();
        return Err(CommandError(format!(
            "the stack did not converge within {FIRST_CONVERGENCE:?}; last views:\n{}",
            views.join("\n")
        )));
    };
    log(
        &obs,
        &format!(
            "joined: {replicas} members see each other ONLINE after {:.1} s",
            joined.as_secs_f64()
        ),
    );
    // Every member spread over the hosts.
    let per_host: Vec<usize> = (0..spec.hosts).map(|h| members_of(&obs, h).len()).collect();
    log(&obs, &format!("members per host: {per_host:?}"));

    // The workload: one write every `write_every`, to a member chosen by the seed.
    let stop = Arc::new(AtomicBool::new(false));
    // Also stops the workload when the run returns early with an error.
    let _stop_workload = StopOnDrop(Arc::clone(&stop));
    let counter = Arc::new(AtomicU64::new(0));
    let workload = {
        let (obs, record, stop, counter) = (
            Arc::clone(&obs),
            Arc::clone(&record),
            Arc::clone(&stop),
            Arc::clone(&counter),
        );
        let sockets: Vec<String> = hosts.hosts.iter().map(|h| h.socket.clone()).collect();
        let every = spec.write_every;
        let seed = spec.seed;
        std::thread::spawn(move || {
            let mut rng = SplitMix::new(seed ^ 0x5eed);
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(every);
                let paused = lock(&record).paused_now.clone();
                let candidates: Vec<(usize, String)> = lock(&obs.tasks)
                    .iter()
                    .filter(|t| t.state == "running" && !paused.contains(&t.id))
                    .map(|t| (t.host, t.id.clone()))
                    .collect();
                if candidates.is_empty() {
                    continue;
                }
                let (host, id) = &candidates[rng.range(0, candidates.len() as u64 - 1) as usize];
                let value = counter.fetch_add(1, Ordering::Relaxed) + 1;
                let script = format!(
                    "printf %s {value} > /data/.local/.seq.tmp && mv /data/.local/.seq.tmp /data/.local/seq"
                );
                let done = crate::docker::run_with_env(
                    "docker",
                    &["exec", id, "/bin/sh", "-c", &script],
                    &[("DOCKER_HOST", sockets[*host].as_str())],
                );
                if done.is_ok() {
                    lock(&record).writes.push((id.clone(), value, obs.now()));
                }
            }
        })
    };

    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut convergence: Vec<(String, Duration)> = Vec::new();
    let mut violations: Vec<Violation> = Vec::new();
    let mut kills: Vec<(String, Duration)> = Vec::new();
    // Members Swarm stopped on purpose (name, stop signal), and how long new members of a
    // scale-up took to be ONLINE everywhere.
    let mut retired: Vec<(String, Duration)> = Vec::new();
    let mut learned: Vec<Duration> = Vec::new();
    // Faults after which the views took longer than the quiet time before the next one.
    let mut late: Vec<usize> = Vec::new();
    // What the delayers of each delay fault say they held.
    let mut delayed: Vec<String> = Vec::new();
    // The wall clock at the observer's start (Docker's events carry wall-clock times).
    let wall0 = SystemTime::now()
        .checked_sub(obs.now())
        .unwrap_or(UNIX_EPOCH);
    let schedule_start = obs.now() + Duration::from_secs(5);
    log(
        &obs,
        &format!("schedule starts at +{:.1} s", schedule_start.as_secs_f64()),
    );
    for (i, scheduled) in spec.faults.iter().enumerate() {
        let at = schedule_start + scheduled.at;
        while obs.now() < at {
            refresh(&hosts, &obs, &record);
            std::thread::sleep(Duration::from_millis(500).min(at.saturating_sub(obs.now())));
        }
        let fault = &scheduled.fault;
        *kinds.entry(fault.kind()).or_default() += 1;
        let start = obs.now();
        log(
            &obs,
            &format!(
                "nemesis: start #{i} {fault} for {:.0} s (offset {:.0} s, started at {:.1} s of the schedule)",
                scheduled.duration.as_secs_f64(),
                scheduled.at.as_secs_f64(),
                (start - schedule_start).as_secs_f64()
            ),
        );
        let mut targets: Vec<(String, String)> = Vec::new();
        match fault {
            Fault::Pause { host, slot } | Fault::Kill { host, slot } => {
                let members = members_of(&obs, *host);
                if let Some(m) = members.get(slot % members.len().max(1)) {
                    targets.push(m.clone());
                }
            }
            Fault::KillHost { host } => targets = members_of(&obs, *host),
            _ => {}
        }
        let member_fault = matches!(
            fault,
            Fault::Pause { .. } | Fault::Kill { .. } | Fault::KillHost { .. }
        );
        if member_fault && targets.is_empty() {
            log(
                &obs,
                "nemesis: no member answers on that host: nothing done",
            );
        }
        match fault {
            Fault::Pause { host, .. } => {
                for (id, name) in &targets {
                    lock(&record).paused_now.insert(id.clone());
                    hosts.docker(*host, &["pause", id])?;
                    log(&obs, &format!("nemesis: paused {name}"));
                }
                std::thread::sleep(scheduled.duration);
                for (id, _) in &targets {
                    hosts.docker(*host, &["unpause", id])?;
                    let mut rec = lock(&record);
                    rec.paused_now.remove(id);
                    let end = obs.now();
                    rec.paused.push((id.clone(), start, end));
                }
            }
            Fault::Kill { host, .. } | Fault::KillHost { host } => {
                for (id, name) in &targets {
                    let when = obs.now();
                    lock(&record).killed.insert(id.clone(), when);
                    hosts.docker(*host, &["kill", id])?;
                    log(&obs, &format!("nemesis: killed {name}"));
                    kills.push((name.clone(), when));
                }
            }
            Fault::RollingUpdate => {
                lock(&record).retiring = true;
                let done = refreshing(&hosts, &obs, &record, || {
                    stack::rolling_update(&hosts, scheduled.duration)
                });
                if let Err(e) = done {
                    violations.push(Violation {
                        at: obs.now(),
                        invariant: "rolling update not done",
                        detail: e.to_string(),
                    });
                }
                retired.extend(settle_retirements(&hosts, &obs, &record, wall0, start));
            }
            Fault::ScaleUp { count } | Fault::ScaleDown { count } => {
                let up = matches!(fault, Fault::ScaleUp { .. });
                let during = if up {
                    replicas + count
                } else {
                    replicas.saturating_sub(*count).max(1)
                };
                lock(&record).retiring = true;
                refreshing(&hosts, &obs, &record, || stack::scale(&hosts, during))?;
                log(&obs, &format!("nemesis: {during} replicas running"));
                let until = start + scheduled.duration;
                if up {
                    let within = until.saturating_sub(obs.now());
                    match wait_converged(&obs, &record, during, start, within, &hosts) {
                        Some(at) => {
                            log(
                                &obs,
                                &format!(
                                    "nemesis: the {count} new members ONLINE everywhere {:.1} s after the scale-up",
                                    (at - start).as_secs_f64()
                                ),
                            );
                            learned.push(at - start);
                        }
                        None => violations.push(Violation {
                            at: obs.now(),
                            invariant: "new members not learned",
                            detail: format!(
                                "{during} members not converged {:.1} s after {fault}",
                                within.as_secs_f64()
                            ),
                        }),
                    }
                }
                hold_until(&hosts, &obs, &record, until);
                refreshing(&hosts, &obs, &record, || stack::scale(&hosts, replicas))?;
                retired.extend(settle_retirements(&hosts, &obs, &record, wall0, start));
            }
            network => {
                let mut active = start_network(
                    &hosts,
                    network,
                    spec.netdelay.as_deref(),
                    spec.seed ^ i as u64,
                )?;
                hold_network(
                    &hosts,
                    &obs,
                    &record,
                    start + scheduled.duration,
                    &mut active,
                )?;
                for summary in end_network(&hosts, network, active)? {
                    log(&obs, &format!("nemesis: delayer: {summary}"));
                    delayed.push(format!("#{i}: {summary}"));
                }
                let end = obs.now();
                let mut rec = lock(&record);
                for h in network.cut_hosts(spec.hosts) {
                    rec.cut.push((h, start, end));
                }
                if !network.cut_hosts(spec.hosts).is_empty() {
                    rec.heals.push(end);
                }
            }
        }
        let end = obs.now();
        log(
            &obs,
            &format!(
                "nemesis: end #{i} {fault} ({:.1} s)",
                (end - start).as_secs_f64()
            ),
        );
        // Until the next fault starts; after the last one, until the schedule's end but at
        // least the convergence bound (a steady fault may fill the whole schedule).
        let window = match spec.faults.get(i + 1) {
            Some(next) => (schedule_start + next.at).saturating_sub(obs.now()),
            None => (schedule_start + spec.length)
                .saturating_sub(obs.now())
                .max(bounds.convergence),
        };
        let mut converged = wait_converged(&obs, &record, replicas, end, window, &hosts);
        if converged.is_none() && window < bounds.convergence {
            // The quiet time before the next fault is shorter than the bound: not converging
            // within it breaks nothing yet. The next fault waits (it starts late, and its log
            // line says so) until the views converge or the bound has passed.
            log(
                &obs,
                &format!(
                    "not converged within the {:.1} s before the next fault; the views that disagree:",
                    window.as_secs_f64()
                ),
            );
            let truth = truth(&obs, &lock(&record));
            for line in disagreements(&obs.samples(), &truth, end) {
                log(&obs, &format!("  {line}"));
            }
            late.push(i);
            let rest = bounds.convergence.saturating_sub(obs.now() - end);
            converged = wait_converged(&obs, &record, replicas, end, rest, &hosts);
        }
        match converged {
            Some(at) => {
                let took = at - end;
                log(
                    &obs,
                    &format!("converged {:.1} s after #{i} ended", took.as_secs_f64()),
                );
                if took > bounds.convergence {
                    violations.push(Violation {
                        at,
                        invariant: "slow convergence",
                        detail: format!(
                            "{:.1} s after {fault}, bound {:.1} s",
                            took.as_secs_f64(),
                            bounds.convergence.as_secs_f64()
                        ),
                    });
                }
                convergence.push((fault.kind().to_owned(), took));
            }
            None => {
                log(
                    &obs,
                    &format!(
                        "NOT converged within {:.1} s after #{i} ended",
                        (obs.now() - end).as_secs_f64()
                    ),
                );
                let truth = truth(&obs, &lock(&record));
                for line in disagreements(&obs.samples(), &truth, end) {
                    log(&obs, &format!("  {line}"));
                }
                violations.push(Violation {
                    at: obs.now(),
                    invariant: "no convergence",
                    detail: format!(
                        "not converged {:.1} s after {fault} ended (bound {:.1} s)",
                        (obs.now() - end).as_secs_f64(),
                        bounds.convergence.as_secs_f64()
                    ),
                });
            }
        }
    }
    while obs.now() < schedule_start + spec.length {
        refresh(&hosts, &obs, &record);
        std::thread::sleep(Duration::from_millis(500));
    }
    stop.store(true, Ordering::Relaxed);
    let _ = workload.join();
    let quiet = obs.now();
    match wait_converged(&obs, &record, replicas, quiet, FINAL_CONVERGENCE, &hosts) {
        Some(at) => log(
            &obs,
            &format!(
                "final: converged {:.1} s after the last write",
                (at - quiet).as_secs_f64()
            ),
        ),
        None => violations.push(Violation {
            at: obs.now(),
            invariant: "no final convergence",
            detail: format!(
                "the views did not converge with every last write within {FINAL_CONVERGENCE:?}"
            ),
        }),
    }
    let protocol_counters = counters(&hosts, &obs);
    observer.stop();
    let record = lock(&record);
    let truth = truth(&obs, &record);
    let samples = obs.samples();

    let accuracy = check_accuracy(&samples, &truth, bounds.convergence);
    violations.extend(accuracy.violations.iter().cloned());
    violations.extend(check_monotonic(&samples, &truth));
    let (detections, slow) =
        time_to_offline(&samples, &truth, &kills, bounds.detection, "its kill");
    violations.extend(slow);
    let (departures, slow) = time_to_offline(
        &samples,
        &truth,
        &retired,
        bounds.detection,
        "Swarm stopped it",
    );
    violations.extend(slow);
    for (id, at) in &record.vanished {
        violations.push(Violation {
            at: *at,
            invariant: "member exited",
            detail: format!("container {id} stopped without a fault"),
        });
    }
    let usage = lock(&obs.usage).clone();
    let names = lock(&obs.names).clone();
    let run_length = obs.now();
    let (usage_text, leak) = usage_table(&usage, &names, run_length);
    violations.extend(leak);

    let mut text = String::new();
    let _ = writeln!(text, "### {}\n", spec.name);
    let _ = writeln!(
        text,
        "{} hosts, {replicas} members (stack of `deploy/swarm/stack.yml`, `lan` timings), seed {}, schedule of {:.0} s, one metadata write every {:.1} s ({} writes); run length {:.0} s; {} views read ({} reads failed: paused or starting members).\n",
        spec.hosts,
        spec.seed,
        spec.length.as_secs_f64(),
        spec.write_every.as_secs_f64(),
        record.writes.len(),
        run_length.as_secs_f64(),
        samples.len(),
        obs.failed_reads.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        text,
        "Bounds from the timings: detection {:.1} s, convergence {:.1} s. Join: {:.1} s.\n",
        bounds.detection.as_secs_f64(),
        bounds.convergence.as_secs_f64(),
        joined.as_secs_f64()
    );
    let _ = writeln!(text, "| faults injected | count |\n| --- | --- |");
    for (kind, n) in &kinds {
        let _ = writeln!(text, "| {kind} | {n} |");
    }
    let _ = writeln!(text);
    let fmt_p = |v: &[Duration]| {
        percentiles(v).map_or("none".to_owned(), |(p50, p99, max)| {
            format!("{p50:.1} / {p99:.1} / {max:.1} s ({} values)", v.len())
        })
    };
    let conv: Vec<Duration> = convergence.iter().map(|(_, d)| *d).collect();
    let _ = writeln!(text, "| figure | p50 / p99 / max |\n| --- | --- |");
    let _ = writeln!(
        text,
        "| kill → OFFLINE at every member | {} |",
        fmt_p(&detections)
    );
    let _ = writeln!(
        text,
        "| stopped by Swarm (rolling update, scale-down, end of a scale-up) → OFFLINE at every member | {} |",
        fmt_p(&departures)
    );
    let _ = writeln!(
        text,
        "| scale-up → the new members ONLINE everywhere | {} |",
        fmt_p(&learned)
    );
    let _ = writeln!(
        text,
        "| fault end → every view converged (all ONLINE, latest metadata) | {} |",
        fmt_p(&conv)
    );
    let mut by_kind: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (kind, d) in &convergence {
        by_kind.entry(kind.as_str()).or_default().push(*d);
    }
    for (kind, v) in &by_kind {
        let _ = writeln!(text, "| … after {kind} | {} |", fmt_p(v));
    }
    let _ = writeln!(
        text,
        "\nFalse OFFLINE checked on {} (view, member) pairs whose member was up and connected to the observer for the last convergence bound. False suspicions (such a member shown SUSPECT): {} episodes, {} views. Such a member shown OFFLINE with the left flag (its own leave, seen before the engine logged the stop signal that caused it; not a violation): {} views.\n",
        accuracy.checked, accuracy.false_suspect_episodes, accuracy.false_suspect_samples, accuracy.left_early
    );
    let _ = writeln!(
        text,
        "The members' own counters at the end (summed over the {} running then; a replaced member's are gone): {}.\n",
        replicas,
        COUNTERS
            .iter()
            .map(|c| format!("`{c}` {}", protocol_counters.get(c).copied().unwrap_or(0.0)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        text,
        "Faults after which the views took longer to converge than the quiet time before the next fault (which then started late, at most the convergence bound after): {}.\n",
        if late.is_empty() {
            "none".to_owned()
        } else {
            late.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if !delayed.is_empty() {
        let _ = writeln!(
            text,
            "The delayers (one per delayed host): {}.\n",
            delayed.join("; ")
        );
    }
    let _ = writeln!(text, "Invariant violations: **{}**", violations.len());
    for v in violations.iter().take(30) {
        let _ = writeln!(
            text,
            "- at {:.1} s, {}: {}",
            v.at.as_secs_f64(),
            v.invariant,
            v.detail
        );
    }
    let _ = writeln!(text, "\n{usage_text}");
    drop(record);
    drop(observer);
    drop(hosts);
    Ok(Report { violations, text })
}

/// For each member that ended (`name`, when), how long until it was OFFLINE (or gone) at
/// every member alive then; violations where that took longer than `bound` or never came.
/// `cause` ends the sentences ("its kill").
fn time_to_offline(
    samples: &[crate::multihost::check::Sample],
    truth: &Truth,
    ends: &[(String, Duration)],
    bound: Duration,
    cause: &str,
) -> (Vec<Duration>, Vec<Violation>) {
    let (mut times, mut violations) = (Vec::new(), Vec::new());
    for (name, at) in ends {
        // The address may come back with a replacement before everyone saw it OFFLINE.
        match detected_after(samples, truth, name, *at) {
            Some(took) => {
                if took > bound {
                    violations.push(Violation {
                        at: *at + took,
                        invariant: "slow detection",
                        detail: format!(
                            "{name} OFFLINE everywhere {:.1} s after {cause}, bound {:.1} s",
                            took.as_secs_f64(),
                            bound.as_secs_f64()
                        ),
                    });
                }
                times.push(took);
            }
            None => violations.push(Violation {
                at: *at,
                invariant: "end not detected",
                detail: format!(
                    "{name}, ended at {:.1} s ({cause}), not OFFLINE at every member",
                    at.as_secs_f64()
                ),
            }),
        }
    }
    (times, violations)
}

/// The protocol's own counters that say whether anybody was wrongly suspected, summed over
/// the members running at the end (read from their `/metrics` with `docker exec`): the
/// observer samples views 4 times a second and may miss a suspicion refuted in between.
const COUNTERS: [&str; 4] = [
    "swim_probes_failed_total",
    "swim_suspicions_raised_total",
    "swim_suspicions_refuted_total",
    "swim_offline_declared_total",
];

fn counters(hosts: &Hosts, obs: &Observation) -> BTreeMap<&'static str, f64> {
    let mut sums = BTreeMap::new();
    let tasks = lock(&obs.tasks).clone();
    for task in tasks.iter().filter(|t| t.state == "running") {
        let url = format!("http://127.0.0.1:{}/metrics", stack::METRICS_PORT);
        let Ok(text) = hosts.docker(
            task.host,
            &["exec", &task.id, "/bin/busybox", "wget", "-qO-", &url],
        ) else {
            continue;
        };
        for name in COUNTERS {
            let value: f64 = text
                .lines()
                .filter(|l| l.starts_with(name) && !l.starts_with('#'))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            *sums.entry(name).or_default() += value;
        }
    }
    sums
}

/// The per-member CPU/RSS table, and leak violations: a member that lived at least half the
/// run whose RSS in the last quarter of its life is above 1.5 × the first quarter's + 4 MiB.
fn usage_table(
    usage: &BTreeMap<String, Vec<crate::multihost::observe::Usage>>,
    names: &BTreeMap<String, String>,
    run_length: Duration,
) -> (String, Vec<Violation>) {
    let mut text = String::from(
        "| member | lived | RSS first / last quarter (MiB) | CPU first / last quarter (ms/s) |\n| --- | --- | --- | --- |\n",
    );
    let mut leaks = Vec::new();
    for (id, readings) in usage {
        if readings.len() < 8 {
            continue;
        }
        let name = names.get(id).map_or(&id[..12], String::as_str);
        let q = readings.len() / 4;
        let (first, last) = (
            &readings[..q.max(2)],
            &readings[readings.len() - q.max(2)..],
        );
        let rss = |r: &[crate::multihost::observe::Usage]| {
            r.iter().map(|u| u.rss as f64).sum::<f64>() / r.len() as f64 / 1048576.0
        };
        let cpu = |r: &[crate::multihost::observe::Usage]| {
            let (a, b) = (&r[0], &r[r.len() - 1]);
            let dt = (b.at - a.at).as_secs_f64();
            if dt > 0.0 {
                (b.cpu - a.cpu).as_secs_f64() * 1000.0 / dt
            } else {
                0.0
            }
        };
        let lived = readings[readings.len() - 1].at - readings[0].at;
        let (r1, r2, c1, c2) = (rss(first), rss(last), cpu(first), cpu(last));
        let _ = writeln!(
            text,
            "| {name} | {:.0} s | {r1:.1} / {r2:.1} | {c1:.2} / {c2:.2} |",
            lived.as_secs_f64()
        );
        if lived * 2 >= run_length && r2 > r1 * 1.5 + 4.0 {
            leaks.push(Violation {
                at: readings[readings.len() - 1].at,
                invariant: "memory grew",
                detail: format!("{name}: RSS {r1:.1} MiB → {r2:.1} MiB"),
            });
        }
    }
    (text, leaks)
}

/// The replicas a run deploys on `hosts` hosts.
pub fn replicas(hosts: usize) -> usize {
    PER_HOST * hosts
}
