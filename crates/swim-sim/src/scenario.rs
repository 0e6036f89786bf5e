//! The standard run: join, metadata change, quiet period, crash and detection, with the
//! figures the README and issues quote.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use swim_core::{Metadata, ProtocolConfig};

use crate::engine::{Simulation, Traffic};
use crate::faults::Faults;
use crate::host::HostCpu;
use crate::network::NetworkConfig;
use crate::samples::Samples;
use crate::tracker::Tracker;
use crate::wire::SimWire;
use crate::workload::{AppFigures, Workload};

/// Parameters of a standard run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Number of members.
    pub members: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// The network.
    pub network: NetworkConfig,
    /// The protocol.
    pub protocol: ProtocolConfig,
    /// Most virtual time the run may take until the crash is detected (the leave and
    /// partition phases have bounds of their own).
    pub duration: Duration,
    /// Length of the quiet period over which traffic is measured.
    pub quiet: Duration,
    /// What packets become on the wire.
    pub wire: SimWire,
    /// Members start one after the other over this long (zero: all at once), as a script
    /// that starts hundreds of processes does.
    pub start_spread: Duration,
    /// How many members turn slow once the metadata change has spread (never member 0, nor
    /// the one that crashes).
    pub slow: usize,
    /// How late a slow member handles every packet and timer (jittered ±50%).
    pub slow_delay: Duration,
    /// After the leave, cut the cluster in two halves for this long, then heal it (zero:
    /// no partition phase). The phase may run beyond `duration`: it ends at most four
    /// push-pull periods after the heal.
    pub partition: Duration,
    /// Every member on one shared host (`None`: free, instant processing). The members then
    /// start one after the other as the launcher gets the CPU, no earlier than the spread.
    pub host: Option<HostCpu>,
    /// The application's messages published from the end of the join on, through the
    /// spread, quiet, detection, leave and partition phases (`None`: none).
    pub workload: Option<Workload>,
}

impl Default for RunConfig {
    /// 100 members, seed 1, a lossless network, the default protocol, at most 120 s.
    fn default() -> Self {
        RunConfig {
            members: 100,
            seed: 1,
            network: NetworkConfig::default(),
            protocol: ProtocolConfig::default(),
            duration: Duration::from_secs(120),
            quiet: Duration::from_secs(20),
            wire: SimWire::Native,
            start_spread: Duration::ZERO,
            slow: 0,
            slow_delay: Duration::from_millis(1000),
            partition: Duration::ZERO,
            host: None,
            workload: None,
        }
    }
}

/// How long slow members run before the quiet period, instead of waiting for the gossip to
/// settle (they keep it busy): a fixed exposure, so runs compare.
const SLOW_PHASE: Duration = Duration::from_secs(60);

/// The figures of a run. Times are virtual seconds; `None` when the phase did not finish.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Number of members.
    pub members: usize,
    /// The seed.
    pub seed: u64,
    /// Packet loss probability.
    pub loss: f64,
    /// Start until every live member sees every other live member ONLINE.
    pub join_s: Option<f64>,
    /// Packets sent per member from the start until everyone joined.
    pub join_packets_per_member: f64,
    /// Bytes sent per member from the start until everyone joined.
    pub join_bytes_per_member: f64,
    /// When the last member started (later than the spread when a busy shared host delays
    /// the launcher).
    pub last_start_s: f64,
    /// Datagrams dropped until everyone joined because a member's socket buffer was full
    /// (shared host).
    pub join_host_dropped: u64,
    /// TCP sends (payloads above the MTU) until everyone joined, over all members.
    pub join_tcp_sends: u64,
    /// Of those, the ones dropped because the sender had too many in flight.
    pub join_tcp_dropped: u64,
    /// Median delay for member 0's metadata change to reach a member.
    pub meta_p50_s: Option<f64>,
    /// 99th percentile of that delay.
    pub meta_p99_s: Option<f64>,
    /// Largest such delay (the change reached everyone).
    pub meta_max_s: Option<f64>,
    /// Crash until the first SUSPECT (or OFFLINE) report anywhere.
    pub first_detect_s: Option<f64>,
    /// Crash until OFFLINE at every live member.
    pub all_offline_s: Option<f64>,
    /// A member (not 0, not the crashed one) leaves gracefully: leave until every live
    /// member sees it OFFLINE, with the left flag (`None` after 60 s). The phase may run
    /// beyond `duration`.
    pub leave_s: Option<f64>,
    /// Times the member that left was marked SUSPECT by anyone (a leave needs none).
    pub leave_suspected: u64,
    /// With a partition phase: heal until every live member sees every other ONLINE.
    pub heal_s: Option<f64>,
    /// Times a live, reachable member was marked SUSPECT by anyone.
    pub false_suspect: u64,
    /// Times a live, reachable member was marked OFFLINE by anyone.
    pub false_offline: u64,
    /// Times a member neither crashed nor slow was marked SUSPECT by anyone.
    pub false_suspect_healthy: u64,
    /// Times a member neither crashed nor slow was marked OFFLINE by anyone.
    pub false_offline_healthy: u64,
    /// Members made slow.
    pub slow: usize,
    /// The slow members' delay in milliseconds.
    pub slow_delay_ms: u64,
    /// Whether Lifeguard was on.
    pub lifeguard: bool,
    /// Packets sent per member per second during the quiet period.
    pub msgs_per_member_s: f64,
    /// Bytes sent per member per second during the quiet period, as encoded (and signed).
    pub bytes_per_member_s: f64,
    /// Whether payloads were signed frames.
    pub signed: bool,
    /// Payloads the wire format rejected on delivery, over the whole run (expected 0).
    pub rejected_payloads: u64,
    /// Virtual time the run took.
    pub virtual_s: f64,
    /// Virtual time from the end of the spread until no member had gossip left to send, or
    /// `None` if queues were still busy after 60 s (the quiet figures then include it).
    pub settle_s: Option<f64>,
    /// Wall-clock time the run took (the only figure that varies between equal runs).
    pub wall_s: f64,
    /// Wall-clock seconds per phase: join, spread, settle, quiet, detect.
    pub wall_phases_s: [f64; 5],
    /// The application's messages, with a workload (`--events-per-s`, `--query-every-s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<AppFigures>,
    /// Per-member times behind the percentiles above (for plots; not printed).
    #[serde(skip)]
    pub samples: Samples,
}

fn sorted_secs(delays: impl Iterator<Item = Option<Duration>>) -> Vec<f64> {
    let mut out: Vec<f64> = delays.flatten().map(|d| d.as_secs_f64()).collect();
    out.sort_by(f64::total_cmp);
    out
}

/// Wall-clock time per phase of the run, in seconds to the millisecond.
struct Phases {
    since: Instant,
    done: Vec<f64>,
}

impl Phases {
    fn new() -> Self {
        Phases {
            since: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Ends the current phase.
    fn next(&mut self) {
        let now = Instant::now();
        let took = now - self.since;
        self.done
            .push((took.as_secs_f64() * 1000.0).round() / 1000.0);
        self.since = now;
    }

    fn finish(mut self) -> [f64; 5] {
        self.next();
        let mut out = [0.0; 5];
        for (slot, took) in out.iter_mut().zip(self.done) {
            *slot = took;
        }
        out
    }
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// [`Simulation::run_while`], calling `tick` after every step (it only looks: a progress
/// display).
fn run_while_observed(
    sim: &mut Simulation,
    tracker: &mut Tracker,
    deadline: Duration,
    done: impl Fn(&Tracker) -> bool,
    tick: &mut dyn FnMut(&Simulation, &Tracker),
) -> Option<Duration> {
    let step = Duration::from_millis(10);
    while sim.now() < deadline {
        if done(tracker) {
            return Some(sim.now());
        }
        let next = (sim.now() + step).min(deadline);
        sim.run_until(next, tracker);
        tick(sim, tracker);
    }
    done(tracker).then(|| sim.now())
}

/// The phases of the standard run, in order (docs/simulator.md describes each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Members are being started.
    Start,
    /// Waiting until every member sees every other ONLINE.
    Join,
    /// Member 0's metadata change spreading.
    Spread,
    /// Waiting until no member has gossip left to send.
    Settle,
    /// Measuring the quiet traffic.
    Quiet,
    /// A member crashed: waiting until every live member sees it OFFLINE.
    Detect,
    /// A member leaves, and (with a partition) the cluster is cut and healed.
    Leave,
}

impl Phase {
    /// The phase's name, as docs/simulator.md spells it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Join => "join",
            Phase::Spread => "spread",
            Phase::Settle => "settle",
            Phase::Quiet => "quiet",
            Phase::Detect => "detection",
            Phase::Leave => "leave",
        }
    }
}

/// Where a standard run is, handed to the observer of [`run_standard_with_progress`].
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The phase going on.
    pub phase: Phase,
    /// Virtual time.
    pub now: Duration,
    /// Members in the run.
    pub members: usize,
    /// Members done with this phase, where the phase counts them: started (start), seeing
    /// every other member ONLINE, counted in views (join: ONLINE views over the views a
    /// member needs), informed of the change (spread), seeing the crashed member OFFLINE
    /// (detection).
    pub settled: Option<usize>,
}

/// What [`run_standard_with_progress`] calls its observer with, cheaply: the counts are
/// only computed when the observer asks for them.
struct Observer<'a> {
    observe: &'a mut dyn FnMut(Phase, &dyn Fn() -> Progress),
    members: usize,
}

impl Observer<'_> {
    fn tell(&mut self, phase: Phase, sim: &Simulation, tracker: &Tracker, started: usize) {
        let n = self.members;
        let progress = || Progress {
            phase,
            now: sim.now(),
            members: n,
            settled: match phase {
                Phase::Start => Some(started),
                Phase::Join => Some(tracker.online_views() / n.saturating_sub(1).max(1)),
                Phase::Spread => Some(tracker.metadata_delays.iter().flatten().count()),
                Phase::Detect => Some(tracker.offline_delays.iter().flatten().count()),
                _ => None,
            },
        };
        (self.observe)(phase, &progress);
    }
}

fn total_traffic(sim: &Simulation) -> Traffic {
    (0..sim.len()).fold(Traffic::default(), |acc, i| {
        let t = sim.traffic(i);
        Traffic {
            packets: acc.packets + t.packets,
            bytes: acc.bytes + t.bytes,
            rejected: acc.rejected + t.rejected,
            tcp_sent: acc.tcp_sent + t.tcp_sent,
            tcp_dropped: acc.tcp_dropped + t.tcp_dropped,
        }
    })
}

/// Makes `config.slow` random members other than 0 slow (at most n - 2, so that one is left
/// to crash); returns them.
fn make_slow(sim: &mut Simulation, tracker: &mut Tracker, config: &RunConfig) -> Vec<usize> {
    let n = config.members;
    let count = config.slow.min(n.saturating_sub(2));
    let mut slow = Vec::with_capacity(count);
    while slow.len() < count {
        let member = 1 + sim.random_index(n - 1);
        if !slow.contains(&member) {
            slow.push(member);
        }
    }
    for &member in &slow {
        sim.set_slow(member, Some(config.slow_delay));
        tracker.set_slow(member, true);
    }
    slow
}

/// Runs the standard scenario: all members start knowing only member 0; once everyone sees
/// everyone, member 0 changes its metadata; `slow` members turn slow; a quiet period is
/// measured; then one member crashes and its detection is timed.
pub fn run_standard(config: &RunConfig) -> Report {
    run_standard_with(config, &Faults::default())
}

/// [`run_standard`] with more faults: the partition phase shaped by `faults.cut`, and each
/// member's clock skewed by up to `faults.skew`.
pub fn run_standard_with(config: &RunConfig, faults: &Faults) -> Report {
    run_observed(config, faults, &mut |_, _| {})
}

/// [`run_standard`], telling `observe` where the run is: at the start of each phase and as
/// it goes (every 10 ms of virtual time while waiting for a phase to end, every member
/// started). `observe` gets the phase and a function that computes the [`Progress`] (a
/// pass over the members): a display calls it only when it redraws. Observing changes
/// nothing in the run.
pub fn run_standard_with_progress(
    config: &RunConfig,
    observe: &mut dyn FnMut(Phase, &dyn Fn() -> Progress),
) -> Report {
    run_observed(config, &Faults::default(), observe)
}

/// The standard run with `faults`, observed by `observe`.
fn run_observed(
    config: &RunConfig,
    faults: &Faults,
    observe: &mut dyn FnMut(Phase, &dyn Fn() -> Progress),
) -> Report {
    let mut observer = Observer {
        observe,
        members: config.members,
    };
    let wall = Instant::now();
    let mut phases = Phases::new();
    let n = config.members;
    let mut sim = Simulation::new(
        n,
        config.seed,
        config.network.clone(),
        config.protocol.clone(),
    )
    .with_wire(config.wire.format());
    if config.wire == SimWire::Direct {
        sim = sim.with_direct_delivery();
    }
    if let Some(host) = &config.host {
        sim = sim.with_host_cpu(host.clone());
    }
    if faults.skew > 0.0 {
        // A generator of its own, so that runs without skew draw exactly as before.
        let mut rng = StdRng::seed_from_u64(config.seed ^ 0x5c3e_cafe);
        let skew = faults.skew.min(0.5);
        for i in 0..n {
            sim.set_clock_rate(i, 1.0 + skew * (rng.random::<f64>() * 2.0 - 1.0));
        }
    }
    let mut tracker = Tracker::new(n);
    let end = config.duration;
    let metadata = |v: &str| -> Metadata { [("version", v)].into_iter().collect() };

    for i in 0..n {
        let spread = config.start_spread.mul_f64(i as f64 / n as f64);
        if spread > sim.now() {
            sim.run_until(spread, &mut tracker);
        }
        // The launcher's own work for this start, behind what the host has queued.
        let cost = sim.host_start_cost();
        let at = sim.host_work(cost);
        if at > sim.now() {
            sim.run_until(at, &mut tracker);
        }
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, metadata("1"), peers, &mut tracker);
        observer.tell(Phase::Start, &sim, &tracker, i + 1);
    }
    let last_start_s = secs(Some(sim.now())).unwrap_or_default();
    let joined = run_while_observed(
        &mut sim,
        &mut tracker,
        end,
        Tracker::fully_joined,
        &mut |sim, tracker| observer.tell(Phase::Join, sim, tracker, n),
    );
    let join_host_dropped = sim.host_dropped();
    phases.next();
    let join_traffic = total_traffic(&sim);

    let workload_start = sim.now();
    if let Some(workload) = &config.workload {
        sim.with_workload(workload.clone(), workload_start);
    }

    // Metadata change on member 0, timed to every member.
    let changed_at = sim.now();
    sim.set_metadata(0, metadata("2"), &mut tracker);
    tracker.watch_metadata(0, "version", b"2", changed_at);
    let spread_deadline = (changed_at + Duration::from_secs(60)).min(end);
    run_while_observed(
        &mut sim,
        &mut tracker,
        spread_deadline,
        Tracker::metadata_everywhere,
        &mut |sim, tracker| observer.tell(Phase::Spread, sim, tracker, n),
    );
    let mut delays: Vec<Duration> = (1..n).filter_map(|o| tracker.metadata_delays[o]).collect();
    delays.sort_unstable();
    let informed_all = tracker.metadata_everywhere();
    let pct = |p: f64| {
        delays
            .get(((delays.len() as f64 - 1.0) * p).round() as usize)
            .copied()
    };

    // Slow members: chosen now among members 1.., so that join and spread are unaffected.
    let slow = make_slow(&mut sim, &mut tracker, config);

    // Quiet period: wait until no member has gossip left to send (at most 60 s; a fixed
    // 60 s with slow members), then measure traffic.
    phases.next();
    observer.tell(Phase::Settle, &sim, &tracker, n);
    let settle_start = sim.now();
    let settle = (settle_start + Duration::from_secs(60)).min(end);
    if slow.is_empty() {
        while sim.now() < settle && sim.pending_gossip() > 0 {
            let next = sim.now() + Duration::from_millis(100);
            sim.run_until(next, &mut tracker);
            observer.tell(Phase::Settle, &sim, &tracker, n);
        }
    } else {
        sim.run_until((settle_start + SLOW_PHASE).min(end), &mut tracker);
    }
    let settled = (sim.pending_gossip() == 0).then(|| sim.now() - settle_start);
    phases.next();
    let before = total_traffic(&sim);
    let quiet_start = sim.now();
    observer.tell(Phase::Quiet, &sim, &tracker, n);
    sim.run_until((quiet_start + config.quiet).min(end), &mut tracker);
    let quiet_s = (sim.now() - quiet_start).as_secs_f64();
    let after = total_traffic(&sim);
    let per = |x: u64| {
        if quiet_s > 0.0 {
            x as f64 / n as f64 / quiet_s
        } else {
            0.0
        }
    };
    phases.next();
    let msgs = per(after.packets - before.packets);
    let bytes = per(after.bytes - before.bytes);

    // Crash one member other than 0 (and not slow) and time its detection.
    let mut victim = if n > 1 {
        1 + sim.random_index(n - 1)
    } else {
        0
    };
    while slow.contains(&victim) {
        victim = 1 + sim.random_index(n - 1);
    }
    if n > 1 && sim.now() < end {
        sim.crash(victim);
        tracker.set_alive(victim, false);
        tracker.watch_crash(victim, sim.now());
        run_while_observed(
            &mut sim,
            &mut tracker,
            end,
            |t| t.all_offline.is_some(),
            &mut |sim, tracker| observer.tell(Phase::Detect, sim, tracker, n),
        );
    }

    // A member other than 0 and the crashed one leaves gracefully, once the crash's gossip
    // has died down (as the metadata change is timed on a quiet cluster).
    // The phase has its own bound, beyond `duration` (which slow members' fixed phase and
    // a slow detection can use up): up to 30 s of settling, then up to 60 s for the leave.
    observer.tell(Phase::Leave, &sim, &tracker, n);
    let settle = sim.now() + Duration::from_secs(30);
    while sim.now() < settle && sim.pending_gossip() > 0 {
        let next = sim.now() + Duration::from_millis(100);
        sim.run_until(next, &mut tracker);
    }
    // A wide fanout empties a record's queue at once but spends the members' eager budget
    // for a `sync_interval`: news within it waits for a gossip tick. One more
    // `sync_interval` lets that window end, so the leave meets a quiet cluster too.
    let quiet = sim.now() + config.protocol.sync_interval;
    sim.run_until(quiet, &mut tracker);
    let leave = if n > 2 {
        let mut leaver = 1 + sim.random_index(n - 1);
        if leaver == victim {
            leaver = if victim + 1 < n { victim + 1 } else { 1 };
        }
        let limit = sim.now() + Duration::from_secs(60);
        crate::lifecycle::leave_phase(&mut sim, &mut tracker, leaver, limit)
    } else {
        None
    };
    let heal = if !config.partition.is_zero() && n > 1 {
        // The phase has its own bound, beyond `duration`: the partition, then up to four
        // push-pull periods to heal.
        let limit = sim.now() + config.partition + config.protocol.push_pull_interval * 4;
        crate::lifecycle::partition_phase(
            &mut sim,
            &mut tracker,
            config.partition,
            limit,
            &faults.cut,
        )
    } else {
        None
    };

    let app = config.workload.as_ref().map(|workload| {
        // Late deliveries count: the run goes on until two push-pull periods after the
        // last publication (what gossip missed, push-pull repairs).
        let last = workload_start + workload.length;
        let grace = last + config.protocol.push_pull_interval * 2;
        if sim.now() < grace {
            sim.run_until(grace, &mut tracker);
        }
        let live: Vec<bool> = (0..n)
            .map(|i| sim.member(i).is_some_and(|s| !s.has_left()))
            .collect();
        tracker.app.figures(&live)
    });

    Report {
        app,
        members: n,
        seed: config.seed,
        loss: config.network.loss,
        join_s: secs(joined),
        join_packets_per_member: (join_traffic.packets as f64 / n as f64).round(),
        join_bytes_per_member: (join_traffic.bytes as f64 / n as f64).round(),
        last_start_s,
        join_host_dropped,
        join_tcp_sends: join_traffic.tcp_sent,
        join_tcp_dropped: join_traffic.tcp_dropped,
        meta_p50_s: secs(pct(0.5)),
        meta_p99_s: secs(pct(0.99)),
        meta_max_s: if informed_all {
            secs(delays.last().copied())
        } else {
            None
        },
        first_detect_s: secs(tracker.first_detect),
        all_offline_s: secs(tracker.all_offline),
        leave_s: secs(leave),
        leave_suspected: tracker.leaver_suspected,
        heal_s: secs(heal),
        false_suspect: tracker.false_suspect,
        false_offline: tracker.false_offline,
        false_suspect_healthy: tracker.false_suspect_healthy,
        false_offline_healthy: tracker.false_offline_healthy,
        slow: slow.len(),
        slow_delay_ms: if slow.is_empty() {
            0
        } else {
            config.slow_delay.as_millis() as u64
        },
        lifeguard: config.protocol.lifeguard,
        msgs_per_member_s: (msgs * 1000.0).round() / 1000.0,
        bytes_per_member_s: bytes.round(),
        signed: matches!(config.wire, SimWire::Signed(_)),
        rejected_payloads: total_traffic(&sim).rejected,
        virtual_s: sim.now().as_secs_f64(),
        settle_s: secs(settled),
        wall_s: (wall.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        wall_phases_s: phases.finish(),
        samples: Samples {
            members: n,
            msgs_per_member_s: (msgs * 1000.0).round() / 1000.0,
            meta_s: delays.iter().map(Duration::as_secs_f64).collect(),
            offline_s: sorted_secs(tracker.offline_delays.iter().copied()),
        },
    }
}
