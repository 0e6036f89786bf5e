//! The seed's clock rules (`Wire::Python`, used with the Python wire) on every member:
//! the protocol still joins, spreads metadata, detects crashes and does not declare live
//! members OFFLINE, with and without loss.

use std::time::Duration;

use swim_core::{Metadata, ProtocolConfig, Status, Wire};
use swim_sim::{member_name, run_standard, NetworkConfig, RunConfig, Simulation, Tracker};

fn seed_rules() -> ProtocolConfig {
    ProtocolConfig {
        wire: Wire::Python,
        ..ProtocolConfig::default()
    }
}

fn meta(v: &str) -> Metadata {
    [("version", v)].into_iter().collect()
}

#[test]
fn standard_runs_join_spread_and_detect_without_false_offline() {
    for (members, seed, loss) in [(5, 1, 0.0), (20, 2, 0.0), (20, 3, 0.05), (12, 4, 0.1)] {
        let report = run_standard(&RunConfig {
            members,
            seed,
            network: NetworkConfig {
                loss,
                ..NetworkConfig::default()
            },
            protocol: seed_rules(),
            duration: Duration::from_secs(150),
            quiet: Duration::from_secs(20),
            ..RunConfig::default()
        });
        let join = report.join_s.expect("everyone joined");
        assert!(join < 15.0, "{report:?}");
        assert!(report.meta_max_s.is_some(), "{report:?}");
        let offline = report
            .all_offline_s
            .expect("the crash is detected everywhere");
        let first = report.first_detect_s.expect("the crash is detected");
        assert!(offline - first < 15.0, "{report:?}");
        assert_eq!(report.false_offline, 0, "{report:?}");
        if loss == 0.0 {
            assert_eq!(report.false_suspect, 0, "{report:?}");
        }
    }
}

#[test]
fn a_restarted_member_is_back_online_with_its_new_metadata() {
    let n = 10;
    let mut sim = Simulation::new(n, 8, NetworkConfig::default(), seed_rules());
    let mut tracker = Tracker::new(n);
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta("1"), peers, &mut tracker);
    }
    let deadline = Duration::from_secs(120);
    let run = |sim: &mut Simulation,
               tracker: &mut Tracker,
               done: &dyn Fn(&Simulation, &Tracker) -> bool| {
        while !done(sim, tracker) {
            assert!(sim.now() < deadline, "not reached by {deadline:?}");
            let next = sim.now() + Duration::from_millis(20);
            sim.run_until(next, tracker);
        }
    };
    run(&mut sim, &mut tracker, &|_, t| t.fully_joined());
    sim.crash(3);
    tracker.set_alive(3, false);
    tracker.watch_crash(3, sim.now());
    run(&mut sim, &mut tracker, &|_, t| t.all_offline.is_some());
    tracker.set_alive(3, true);
    sim.start(3, meta("reborn"), &[0], &mut tracker);
    run(&mut sim, &mut tracker, &|sim, t| {
        t.fully_joined()
            && (0..n).all(|i| {
                sim.member(i)
                    .and_then(|m| m.member(&member_name(3)))
                    .is_some_and(|v| {
                        v.status == Status::Online && v.metadata == Some(meta("reborn"))
                    })
            })
    });
    assert_eq!(tracker.false_offline, 0);
}

#[test]
fn a_member_cut_off_for_less_than_the_suspect_timeout_is_never_offline() {
    let n = 12;
    let mut sim = Simulation::new(n, 21, NetworkConfig::default(), seed_rules());
    let mut tracker = Tracker::new(n);
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta("1"), peers, &mut tracker);
    }
    let step = Duration::from_millis(20);
    while !tracker.fully_joined() {
        assert!(sim.now() < Duration::from_secs(30), "join");
        sim.run_until(sim.now() + step, &mut tracker);
    }
    // Member 5 is cut off for 3 s: long enough to be suspected, not to be declared OFFLINE.
    let groups: Vec<u32> = (0..n).map(|i| u32::from(i == 5)).collect();
    sim.partition.split(groups);
    let cut_until = sim.now() + Duration::from_secs(3);
    sim.run_until(cut_until, &mut tracker);
    let suspected = (0..n).filter(|&o| tracker.status(o, 5) == Some(Status::Suspect));
    assert!(suspected.count() > 0, "nobody noticed the cut");
    sim.partition.heal();
    let deadline = sim.now() + Duration::from_secs(20);
    while !tracker.fully_joined() {
        assert!(
            sim.now() < deadline,
            "member 5 is not ONLINE everywhere again"
        );
        sim.run_until(sim.now() + step, &mut tracker);
    }
    // And it stays so.
    sim.run_until(sim.now() + Duration::from_secs(20), &mut tracker);
    assert!(tracker.fully_joined());
    assert_eq!(tracker.false_offline, 0);
}
