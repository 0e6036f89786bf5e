//! Member lifecycle in the simulator: graceful leave, reaping with tombstones, the reduced
//! probing of dead members, and partitions that heal. Each test asserts an outcome.

mod common;

use common::run_until;
use std::time::Duration;

use swim_core::{Metadata, ProtocolConfig, Status};
use swim_sim::{member_name, NetworkConfig, Simulation, Tracker};

fn meta(v: &str) -> Metadata {
    [("version", v)].into_iter().collect()
}

/// `n` members started at once, each knowing member 0, joined (fails after 60 s).
fn joined(n: usize, seed: u64, loss: f64, protocol: ProtocolConfig) -> (Simulation, Tracker) {
    let network = NetworkConfig {
        loss,
        ..NetworkConfig::default()
    };
    let mut sim = Simulation::new(n, seed, network, protocol);
    let mut tracker = Tracker::new(n);
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta("1"), peers, &mut tracker);
    }
    run_until(&mut sim, &mut tracker, 60.0, "join", |_, t| {
        t.fully_joined()
    });
    (sim, tracker)
}

fn running(sim: &Simulation) -> impl Iterator<Item = usize> + '_ {
    (0..sim.len()).filter(|&i| sim.is_running(i))
}

/// Whether every running member other than `member` has forgotten it.
fn forgotten_everywhere(sim: &Simulation, member: usize) -> bool {
    let name = member_name(member);
    running(sim)
        .filter(|&o| o != member)
        .all(|o| sim.member(o).is_some_and(|m| m.member(&name).is_none()))
}

#[test]
fn a_leave_is_offline_everywhere_within_a_second_with_the_left_flag() {
    let (mut sim, mut tracker) = joined(50, 5, 0.05, ProtocolConfig::default());
    tracker.set_alive(17, false);
    tracker.watch_leave(17, sim.now());
    sim.leave(17, &mut tracker);
    let t = run_until(&mut sim, &mut tracker, 10.0, "leave", |_, t| {
        t.all_left.is_some()
    });
    assert!(t < 1.0, "leave took {t} s");
    assert_eq!(tracker.leaver_suspected, 0, "a leave needs no suspicion");
    assert_eq!(tracker.false_suspect, 0);
    let name = member_name(17);
    for o in running(&sim).filter(|&o| o != 17) {
        let seen = sim.member(o).and_then(|m| m.member(&name)).expect("listed");
        assert_eq!((seen.status, seen.left), (Status::Offline, true), "at {o}");
    }
}

/// A crashed member is forgotten everywhere after the retention; it stays forgotten while
/// members that forgot it later still gossip, sync and push-pull its old record; and a new
/// process under its name rejoins.
#[test]
fn a_forgotten_member_stays_forgotten_until_it_restarts() {
    let protocol = ProtocolConfig {
        offline_retention: Duration::from_secs(20),
        push_pull_interval: Duration::from_secs(5),
        ..ProtocolConfig::default()
    };
    let (mut sim, mut tracker) = joined(20, 8, 0.05, protocol);
    sim.crash(9);
    tracker.set_alive(9, false);
    run_until(&mut sim, &mut tracker, 60.0, "forgotten", |s, _| {
        forgotten_everywhere(s, 9)
    });
    // Several push-pull periods and the tombstones' whole life: never listed again.
    let quiet_until = sim.now() + Duration::from_secs(30);
    while sim.now() < quiet_until {
        let next = sim.now() + Duration::from_millis(100);
        sim.run_until(next, &mut tracker);
        assert!(
            forgotten_everywhere(&sim, 9),
            "stale gossip brought it back"
        );
    }
    // Restart under the same name: everyone sees it ONLINE again.
    sim.start(9, meta("2"), &[0], &mut tracker);
    tracker.set_alive(9, true);
    run_until(&mut sim, &mut tracker, 30.0, "rejoin", |_, t| {
        t.fully_joined()
    });
    assert_eq!(tracker.false_offline, 0);
}

/// Crash detection among 20 live members that also list `dead` dead members: mean over
/// seeds of crash → OFFLINE everywhere. The dead ones joined like the others and then
/// crashed all at once (which must itself be detected within a minute or two: helpers are
/// asked among the members that answered us last, not among the dead); the crash timed is
/// of a live member, once every live member lists every dead one OFFLINE.
fn detection_with_dead(dead: usize, seeds: &[u64]) -> f64 {
    let mut total = 0.0;
    for &seed in seeds {
        let (mut sim, mut tracker) = joined(20 + dead, seed, 0.0, ProtocolConfig::default());
        for d in 20..20 + dead {
            sim.crash(d);
            tracker.set_alive(d, false);
        }
        let found = run_until(
            &mut sim,
            &mut tracker,
            300.0,
            "the dead declared OFFLINE",
            |sim, _| {
                (0..20).all(|i| {
                    let member = sim.member(i).expect("running");
                    member.members_with(swim_core::StatusSet::OFFLINE).len() == dead
                })
            },
        );
        eprintln!("seed {seed}: {dead} dead OFFLINE at every live member after {found:.1} s");
        let victim = 1 + sim.random_index(19);
        sim.crash(victim);
        tracker.set_alive(victim, false);
        tracker.watch_crash(victim, sim.now());
        total += run_until(&mut sim, &mut tracker, 60.0, "crash detected", |_, t| {
            t.all_offline.is_some()
        });
        assert_eq!(tracker.false_offline, 0, "no live member declared OFFLINE");
    }
    total / seeds.len() as f64
}

#[test]
fn dead_members_do_not_slow_down_crash_detection() {
    let seeds = [1, 2, 3, 4];
    let alone = detection_with_dead(0, &seeds);
    let with_dead = detection_with_dead(500, &seeds);
    let ratio = with_dead / alone;
    eprintln!("crash -> OFFLINE everywhere: 20 live {alone:.2} s, with 500 dead {with_dead:.2} s");
    assert!(
        (0.8..=1.2).contains(&ratio),
        "20 live: {alone:.2} s; with 500 dead: {with_dead:.2} s"
    );
}

#[test]
fn a_partition_heals_within_two_push_pull_periods() {
    let protocol = ProtocolConfig::default();
    let bound = (protocol.push_pull_interval * 2).as_secs_f64();
    let (mut sim, mut tracker) = joined(100, 11, 0.0, protocol);
    tracker.count_false_alarms = false;
    sim.partition
        .split((0..100).map(|i| u32::from(i >= 50)).collect());
    sim.run_until(sim.now() + Duration::from_secs(60), &mut tracker);
    // Each side holds the other OFFLINE.
    assert_eq!(tracker.status(0, 99), Some(Status::Offline));
    assert_eq!(tracker.status(99, 0), Some(Status::Offline));
    sim.partition.heal();
    let t = run_until(&mut sim, &mut tracker, bound, "heal", |_, t| {
        t.fully_joined()
    });
    assert!(t <= bound, "healed in {t} s");
}
