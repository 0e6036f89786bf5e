//! Protocol behaviour proven in the simulator: each test tells a story and asserts outcomes.

mod common;

use common::run_until;
use std::time::Duration;

use swim_core::wire::{DecodeError, WireFormat};
use swim_core::{Metadata, Packet, ProtocolConfig, Status};
use swim_sim::{member_name, run_standard, NetworkConfig, RunConfig, SimWire, Simulation, Tracker};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn meta(v: &str) -> Metadata {
    [("version", v)].into_iter().collect()
}

/// A cluster of `n` members started at once, each knowing only member 0.
fn cluster(n: usize, seed: u64, loss: f64) -> (Simulation, Tracker) {
    let network = NetworkConfig {
        loss,
        ..NetworkConfig::default()
    };
    let mut sim = Simulation::new(n, seed, network, ProtocolConfig::default());
    let mut tracker = Tracker::new(n);
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta("1"), peers, &mut tracker);
    }
    (sim, tracker)
}

fn sees(tracker: &Tracker, observer: usize, member: usize, status: Status) -> bool {
    tracker.status(observer, member) == Some(status)
}

#[test]
fn fifty_members_join_through_one_peer() {
    let (mut sim, mut tracker) = cluster(50, 7, 0.0);
    let t = run_until(&mut sim, &mut tracker, 30.0, "join", |_, t| {
        t.fully_joined()
    });
    assert!(t < 10.0, "join took {t} s");
    assert_eq!(tracker.false_suspect, 0);
    // Every member's metadata is known everywhere.
    let m0 = sim.member(0).expect("running");
    for i in 1..50 {
        let seen = m0.member(&member_name(i)).expect("known");
        assert_eq!(seen.metadata, Some(meta("1")));
    }
}

#[test]
fn crashed_member_goes_suspect_then_offline_everywhere() {
    let (mut sim, mut tracker) = cluster(30, 3, 0.0);
    run_until(&mut sim, &mut tracker, 30.0, "join", |_, t| {
        t.fully_joined()
    });
    sim.crash(12);
    tracker.set_alive(12, false);
    tracker.watch_crash(12, sim.now());
    let t = run_until(
        &mut sim,
        &mut tracker,
        60.0,
        "offline everywhere",
        |_, t| t.all_offline.is_some(),
    );
    let first = tracker.first_detect.expect("detected").as_secs_f64();
    let suspect_timeout = ProtocolConfig::default().suspect_timeout.as_secs_f64();
    assert!(first < 10.0, "first detection after {first} s");
    // OFFLINE comes only after a full suspicion timeout.
    assert!(
        t >= first + suspect_timeout - 0.05,
        "offline at {t} s, suspect at {first} s"
    );
    assert_eq!(tracker.false_suspect, 0);
    assert_eq!(tracker.false_offline, 0);
}

#[test]
fn metadata_change_reaches_everyone_and_higher_clock_wins() {
    let (mut sim, mut tracker) = cluster(40, 11, 0.0);
    run_until(&mut sim, &mut tracker, 30.0, "join", |_, t| {
        t.fully_joined()
    });
    let now = sim.now();
    sim.set_metadata(5, meta("2"), &mut tracker);
    sim.set_metadata(5, meta("3"), &mut tracker);
    tracker.watch_metadata(5, "version", b"3", now);
    run_until(&mut sim, &mut tracker, 20.0, "spread", |_, t| {
        t.metadata_everywhere()
    });
    // The older value never overwrote the newer one anywhere.
    sim.run_until(sim.now() + secs(5.0), &mut tracker);
    for i in 0..40 {
        let view = sim
            .member(i)
            .and_then(|m| m.member(&member_name(5)))
            .expect("known");
        assert_eq!(view.metadata, Some(meta("3")), "member {i}");
    }
}

#[test]
fn member_restarted_under_the_same_name_is_back_online_with_new_metadata() {
    let (mut sim, mut tracker) = cluster(20, 5, 0.0);
    run_until(&mut sim, &mut tracker, 30.0, "join", |_, t| {
        t.fully_joined()
    });
    // Crash, wait until everyone sees it OFFLINE, then restart with different metadata.
    sim.crash(9);
    tracker.set_alive(9, false);
    tracker.watch_crash(9, sim.now());
    run_until(&mut sim, &mut tracker, 60.0, "offline", |_, t| {
        t.all_offline.is_some()
    });
    let old_clock = sim
        .member(0)
        .and_then(|m| m.member(&member_name(9)))
        .expect("known")
        .clock;
    tracker.set_alive(9, true);
    sim.start(9, meta("reborn"), &[0], &mut tracker);
    run_until(&mut sim, &mut tracker, 30.0, "back online", |_, t| {
        t.fully_joined()
    });
    for i in 0..20 {
        let view = sim
            .member(i)
            .and_then(|m| m.member(&member_name(9)))
            .expect("known");
        assert_eq!(view.status, Status::Online, "member {i}");
        assert_eq!(view.metadata, Some(meta("reborn")), "member {i}");
        if i != 9 {
            assert!(
                view.clock > old_clock,
                "the new process refuted with a newer clock"
            );
        }
    }
}

#[test]
fn quick_restart_before_detection_spreads_the_new_metadata() {
    let (mut sim, mut tracker) = cluster(20, 6, 0.0);
    run_until(&mut sim, &mut tracker, 30.0, "join", |_, t| {
        t.fully_joined()
    });
    sim.crash(4);
    sim.start(4, meta("fresh"), &[0], &mut tracker);
    run_until(
        &mut sim,
        &mut tracker,
        30.0,
        "new metadata everywhere",
        |sim, _| {
            (0..20).all(|i| {
                sim.member(i)
                    .and_then(|m| m.member(&member_name(4)))
                    .is_some_and(|v| {
                        v.metadata == Some(meta("fresh")) && v.status == Status::Online
                    })
            })
        },
    );
}

#[test]
fn partition_marks_the_other_side_offline_and_healing_rejoins() {
    let (mut sim, mut tracker) = cluster(20, 9, 0.0);
    run_until(&mut sim, &mut tracker, 30.0, "join", |_, t| {
        t.fully_joined()
    });
    tracker.count_false_alarms = false;
    let groups: Vec<u32> = (0..20).map(|i| u32::from(i >= 10)).collect();
    sim.partition.split(groups);
    run_until(
        &mut sim,
        &mut tracker,
        60.0,
        "sides see each other offline",
        |_, t| {
            (0..20).all(|o| {
                (0..20)
                    .filter(|&m| (m >= 10) != (o >= 10))
                    .all(|m| sees(t, o, m, Status::Offline))
            })
        },
    );
    // Within each side, nobody was suspected.
    for o in 0..20 {
        for m in (0..20).filter(|&m| m != o && (m >= 10) == (o >= 10)) {
            assert!(sees(&tracker, o, m, Status::Online), "{o} sees {m}");
        }
    }
    sim.partition.heal();
    let t = run_until(&mut sim, &mut tracker, 120.0, "rejoin", |_, t| {
        t.fully_joined()
    });
    assert!(t < 60.0, "healing took {t} s");
}

#[test]
fn ten_percent_loss_still_converges_without_false_offline() {
    let (mut sim, mut tracker) = cluster(60, 13, 0.10);
    run_until(&mut sim, &mut tracker, 60.0, "join", |_, t| {
        t.fully_joined()
    });
    sim.run_until(sim.now() + secs(60.0), &mut tracker);
    assert_eq!(tracker.false_offline, 0);
    sim.crash(30);
    tracker.set_alive(30, false);
    tracker.watch_crash(30, sim.now());
    run_until(&mut sim, &mut tracker, 60.0, "offline", |_, t| {
        t.all_offline.is_some()
    });
    assert_eq!(tracker.false_offline, 0);
}

#[test]
fn standard_run_is_reproducible_from_its_seed() {
    let config = RunConfig {
        members: 40,
        seed: 42,
        network: NetworkConfig {
            loss: 0.05,
            ..NetworkConfig::default()
        },
        duration: secs(90.0),
        quiet: secs(10.0),
        ..RunConfig::default()
    };
    let mut a = run_standard(&config);
    let mut b = run_standard(&config);
    a.wall_s = 0.0;
    b.wall_s = 0.0;
    a.wall_phases_s = [0.0; 5];
    b.wall_phases_s = [0.0; 5];
    assert_eq!(a, b);
    assert!(a.join_s.is_some() && a.meta_max_s.is_some() && a.all_offline_s.is_some());
    let other = run_standard(&RunConfig { seed: 43, ..config });
    assert_ne!(other.bytes_per_member_s, 0.0);
}

#[test]
fn quiet_traffic_per_member_does_not_grow_with_cluster_size() {
    let run = |members| {
        run_standard(&RunConfig {
            members,
            seed: 1,
            duration: secs(150.0),
            // Two push-pull intervals: a shorter window samples too few of them.
            quiet: secs(60.0),
            ..RunConfig::default()
        })
    };
    // Above ~40 members the anti-entropy window reaches its byte budget: from there on,
    // nothing a member sends depends on the cluster size.
    let small = run(60);
    let large = run(300);
    assert!(small.msgs_per_member_s > 1.0, "{small:?}");
    let ratio = large.msgs_per_member_s / small.msgs_per_member_s;
    assert!(
        (0.7..1.3).contains(&ratio),
        "msgs ratio {ratio}: {small:?} {large:?}"
    );
    let bytes = large.bytes_per_member_s / small.bytes_per_member_s;
    assert!(
        (0.8..1.25).contains(&bytes),
        "bytes ratio {bytes}: {small:?} {large:?}"
    );
}

#[test]
fn signed_frames_add_their_header_and_change_nothing_else() {
    let config = RunConfig {
        members: 30,
        seed: 5,
        network: NetworkConfig {
            loss: 0.02,
            ..NetworkConfig::default()
        },
        duration: secs(90.0),
        quiet: secs(10.0),
        ..RunConfig::default()
    };
    let plain = run_standard(&config);
    let signed = run_standard(&RunConfig {
        wire: SimWire::Signed(b"cluster secret".to_vec()),
        ..config
    });
    assert!(signed.signed && !plain.signed);
    assert_eq!((plain.rejected_payloads, signed.rejected_payloads), (0, 0));
    // Same seed, same protocol decisions: only the byte count differs, by one signed
    // frame's overhead (70 bytes: header and tag) per packet.
    assert_eq!(plain.join_s, signed.join_s);
    assert_eq!(plain.all_offline_s, signed.all_offline_s);
    assert_eq!(plain.msgs_per_member_s, signed.msgs_per_member_s);
    let per_packet =
        (signed.bytes_per_member_s - plain.bytes_per_member_s) / plain.msgs_per_member_s;
    assert!(
        (69.0..71.0).contains(&per_packet),
        "{per_packet}: {plain:?} {signed:?}"
    );
}

#[test]
fn direct_delivery_is_the_same_run_as_native_bytes() {
    let config = RunConfig {
        members: 40,
        seed: 9,
        network: NetworkConfig {
            loss: 0.05,
            ..NetworkConfig::default()
        },
        duration: secs(90.0),
        quiet: secs(10.0),
        ..RunConfig::default()
    };
    let mut bytes = run_standard(&config);
    let mut direct = run_standard(&RunConfig {
        wire: SimWire::Direct,
        ..config
    });
    for report in [&mut bytes, &mut direct] {
        report.wall_s = 0.0;
        report.wall_phases_s = [0.0; 5];
    }
    assert!(bytes.join_s.is_some() && bytes.all_offline_s.is_some());
    assert_eq!(bytes, direct);
}

/// The native format with the last byte of every payload cut off.
struct Truncating;

impl WireFormat for Truncating {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let mut payload = swim_core::wire::encode(packet);
        payload.pop();
        vec![payload]
    }
    fn decode(&self, payload: &[u8]) -> Result<Packet, DecodeError> {
        swim_core::wire::decode(payload)
    }
}

#[test]
fn members_exchange_bytes_and_undecodable_ones_are_dropped() {
    let mut sim = Simulation::new(2, 1, NetworkConfig::default(), ProtocolConfig::default())
        .with_wire(Box::new(Truncating));
    let mut tracker = Tracker::new(2);
    sim.start(0, meta("1"), &[], &mut tracker);
    sim.start(1, meta("1"), &[0], &mut tracker);
    sim.run_until(secs(5.0), &mut tracker);
    assert!(
        !tracker.fully_joined(),
        "no packet decodes, so nobody joins"
    );
    // Member 0 rejects every join request; member 1 is never answered.
    assert!(sim.traffic(0).rejected > 0, "{:?}", sim.traffic(0));
}

#[test]
fn the_clock_never_runs_back() {
    // A scenario may step past the deadline it then asks for (a 100 ms settle step beyond
    // `--duration`): the clock stays where it is, so phase lengths are never negative.
    let mut sim = Simulation::new(3, 1, NetworkConfig::default(), ProtocolConfig::default());
    let mut tracker = Tracker::new(3);
    sim.run_until(secs(2.0), &mut tracker);
    sim.run_until(secs(1.0), &mut tracker);
    assert_eq!(sim.now(), secs(2.0));
}
