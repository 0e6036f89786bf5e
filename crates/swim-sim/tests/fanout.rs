//! Eager fanout at cluster scale: news spreads in round trips, wide fanouts reach every
//! member in the first wave, the quiet cluster sends no more than without it, and one
//! update costs a bounded number of sends.

use std::time::Duration;

use swim_core::{Metadata, ProtocolConfig};
use swim_sim::{run_standard, NetworkConfig, RunConfig, Simulation, Tracker};

fn config(members: usize, fanout: usize) -> RunConfig {
    RunConfig {
        members,
        protocol: ProtocolConfig {
            fanout,
            ..ProtocolConfig::default()
        },
        // Two push-pull intervals, so that their jitter does not decide the comparison.
        quiet: Duration::from_secs(60),
        duration: Duration::from_secs(150),
        ..RunConfig::default()
    }
}

#[test]
fn news_spreads_in_round_trips_with_fanout() {
    let eager = run_standard(&config(200, 3));
    let lazy = run_standard(&config(200, 0));
    let (p50, max) = (eager.meta_p50_s.unwrap(), eager.meta_max_s.unwrap());
    // 5 ms links: a handful of hops reach most members; the rest by the next gossip tick.
    assert!(p50 < 0.05, "median {p50} s: {eager:?}");
    assert!(max < 1.0, "max {max} s: {eager:?}");
    assert!(lazy.meta_p50_s.unwrap() > 4.0 * p50, "{lazy:?}");
    assert_eq!(eager.false_offline, 0);
}

/// `swim-sim --members 1000 --loss 0.05 --seed 5` timed the leave at 0.021 s and the
/// metadata change at 0.019 s (the leave met the members' eager budgets spent on the crash
/// news; its wave was 8 wide against the change's 16); with the leave timed on a quiet
/// cluster and its wave as wide as a change's, seed 3 took 10.6 s (a member missed by
/// every copy waited for a push-pull). A leaver is silent afterwards: its wave is twice a
/// wide fanout.
#[test]
fn a_leave_reaches_everyone_no_later_than_a_metadata_change() {
    for seed in [3, 5] {
        let report = run_standard(&RunConfig {
            members: 1000,
            seed,
            network: NetworkConfig {
                loss: 0.05,
                ..NetworkConfig::default()
            },
            ..RunConfig::default()
        });
        let (leave, meta) = (report.leave_s.unwrap(), report.meta_max_s.unwrap());
        assert!(
            leave <= meta,
            "seed {seed}: leave {leave} s, change {meta} s"
        );
        assert_eq!(report.false_offline, 0, "seed {seed}");
    }
}

#[test]
fn a_change_reaches_every_member_in_the_first_wave() {
    // Fanned out to `fanout` members only, about e^-3 of the members are missed by the
    // first wave and wait for a gossip tick (0.2 s): the whole cluster took 0.19-0.4 s in
    // most seeds. Gone wide (the record's whole budget at once), the wave reaches all.
    let seeds = 1..=10u64;
    let fast = seeds
        .clone()
        .filter(|&seed| {
            let report = run_standard(&RunConfig {
                members: 80,
                seed,
                ..RunConfig::default()
            });
            assert_eq!(report.false_offline, 0, "{report:?}");
            report.meta_max_s.is_some_and(|max| max <= 0.1)
        })
        .count();
    assert!(
        fast >= 9,
        "the change reached all 80 members within 0.1 s in {fast} of {} seeds",
        seeds.count()
    );
}

/// Packets per member per second over 60 s of quiet, from 40 s after `n` members started
/// (joined, their news spent, the join's follow-up syncs over), with `fanout`.
fn quiet_rate(n: usize, fanout: usize) -> f64 {
    let protocol = ProtocolConfig {
        fanout,
        ..ProtocolConfig::default()
    };
    let mut sim = Simulation::new(n, 1, NetworkConfig::default(), protocol);
    let mut tracker = Tracker::new(n);
    let meta: Metadata = [("v", "1")].into_iter().collect();
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta.clone(), peers, &mut tracker);
    }
    sim.run_until(Duration::from_secs(40), &mut tracker);
    assert!(tracker.fully_joined());
    assert_eq!(sim.pending_gossip(), 0, "quiet");
    let sent = |sim: &Simulation| (0..n).map(|i| sim.traffic(i).packets).sum::<u64>();
    let before = sent(&sim);
    let window = Duration::from_secs(60);
    sim.run_until(sim.now() + window, &mut tracker);
    (sent(&sim) - before) as f64 / n as f64 / window.as_secs_f64()
}

#[test]
fn a_quiet_cluster_sends_no_more_with_fanout() {
    // Measured at fixed times: the standard run's quiet window starts once the queues are
    // empty, so the faster the spread, the more of the join's follow-up syncs it takes in.
    let (eager, lazy) = (quiet_rate(100, 3), quiet_rate(100, 0));
    let ratio = eager / lazy;
    assert!(
        (0.97..=1.03).contains(&ratio),
        "quiet packets/member/s: {eager} with fanout, {lazy} without"
    );
}

#[test]
fn one_update_costs_a_bounded_number_of_sends() {
    let n = 100;
    let protocol = ProtocolConfig::default();
    // ceil(log10(n + 1)) = 3 at 100 members.
    let budget = protocol.retransmit_mult as u64 * 3;
    let mut sim = Simulation::new(n, 3, NetworkConfig::default(), protocol);
    let mut tracker = Tracker::new(n);
    let meta = |v: &str| -> Metadata { [("v", v)].into_iter().collect() };
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta("1"), peers, &mut tracker);
    }
    sim.run_until(Duration::from_secs(40), &mut tracker);
    assert!(tracker.fully_joined());
    assert_eq!(sim.pending_gossip(), 0, "quiet before the change");
    let sent = |sim: &Simulation| (0..n).map(|i| sim.traffic(i).packets).sum::<u64>();

    // Traffic of a quiet window, then of an equal window with one update in it.
    let window = Duration::from_secs(10);
    let before = sent(&sim);
    sim.run_until(sim.now() + window, &mut tracker);
    let quiet = sent(&sim) - before;
    let before = sent(&sim);
    sim.set_metadata(0, meta("2"), &mut tracker);
    sim.run_until(sim.now() + window, &mut tracker);
    let with_update = sent(&sim) - before;
    assert_eq!(sim.pending_gossip(), 0, "the update's budget is spent");
    let extra = with_update.saturating_sub(quiet);
    // Every extra packet carries the record, which each member sends at most `budget` times.
    assert!(
        extra <= n as u64 * budget,
        "{extra} extra packets for one update (budget {budget} per member)"
    );
    assert!(extra >= 3, "the update was passed on: {extra}");
}
