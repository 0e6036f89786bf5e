//! `Wire::Python`: the clock rules members of the Python package swim-protocol 0.6.3
//! expect, checked message by message against packets shaped as that package sends them
//! (no sequence numbers, no piggybacked gossip, relayed acks naming the target as source).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    MemberName, Message, Metadata, Packet, ProtocolConfig, Source, Status, Swim, Update, Validity,
    Wire,
};

const T0: Duration = Duration::ZERO;
const STEP: Duration = Duration::from_millis(10);

fn meta(v: &str) -> Metadata {
    [("k", v)].into_iter().collect()
}

fn member(rules: Wire) -> Swim<StdRng> {
    let config = ProtocolConfig {
        wire: rules,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(3);
    Swim::new(config, "a:1".into(), meta("a"), [], rng, T0).expect("valid config")
}

fn source(name: &str, validity: u8) -> Source {
    Source {
        name: name.into(),
        validity: Validity([validity; 8]),
    }
}

/// A packet as the Python package sends it.
fn py(from: &str, message: Message) -> Packet {
    Packet {
        app: Default::default(),
        source: source(from, 9),
        message,
        gossip: vec![],
    }
}

fn record(name: &str, clock: u64, status: Status, metadata: Option<&str>) -> Update {
    Update {
        name: name.into(),
        clock,
        status,
        metadata: metadata.map(meta),
        accuser: None,
        left: false,
    }
}

/// `name` announces its own record (a Python member's `Gossip` about itself).
fn announce(a: &mut Swim<StdRng>, now: Duration, name: &str, clock: u64, status: Status) {
    let update = record(name, clock, status, Some(name));
    a.handle_packet(now, py(name, Message::Gossip(update)));
}

fn drain(a: &mut Swim<StdRng>) -> Vec<(MemberName, Packet)> {
    std::iter::from_fn(|| a.poll_transmit())
        .map(|t| (t.to, t.packet))
        .collect()
}

/// Advances time in small steps until `done` holds (at most `limit`); returns what was sent.
fn run_until(
    a: &mut Swim<StdRng>,
    now: &mut Duration,
    limit: Duration,
    mut done: impl FnMut(&Swim<StdRng>) -> bool,
) -> Vec<(MemberName, Packet)> {
    let deadline = *now + limit;
    let mut sent = Vec::new();
    while !done(a) {
        assert!(*now < deadline, "condition not reached: {:?}", a.members());
        *now += STEP;
        a.handle_timeout(*now);
        sent.extend(drain(a));
    }
    sent
}

fn status_of(a: &Swim<StdRng>, name: &str) -> (Status, u64) {
    let m = a.member(name).expect("known");
    (m.status, m.clock)
}

/// Whether `sent` holds a record about `name` with `status` at `clock`, sent to `name`.
fn told(sent: &[(MemberName, Packet)], name: &str, status: Status, clock: u64) -> bool {
    sent.iter().any(|(to, p)| {
        **to == *name
            && std::iter::once(&p.message)
                .filter_map(|m| match m {
                    Message::Gossip(u) => Some(u),
                    _ => None,
                })
                .chain(&p.gossip)
                .any(|u| *u.name == *name && u.status == status && u.clock == clock)
    })
}

/// `a` knows `b` ONLINE at clock 5 and has seen clocks up to 40 (so its next clock is 41).
fn knowing_b(rules: Wire) -> (Swim<StdRng>, Duration) {
    let mut a = member(rules);
    announce(&mut a, T0, "b:1", 5, Status::Online);
    let third = record("c:1", 40, Status::Online, Some("c"));
    a.handle_packet(T0, py("b:1", Message::Gossip(third)));
    drain(&mut a);
    (a, T0)
}

/// Lets `a` suspect `b` (no answer to its probes) and returns what it sent meanwhile.
fn suspect_b(a: &mut Swim<StdRng>, now: &mut Duration) -> Vec<(MemberName, Packet)> {
    run_until(a, now, Duration::from_secs(10), |a| {
        status_of(a, "b:1").0 == Status::Suspect
    })
}

#[test]
fn native_rules_suspect_at_the_suspects_own_clock() {
    let (mut a, mut now) = knowing_b(Wire::Native);
    suspect_b(&mut a, &mut now);
    assert_eq!(status_of(&a, "b:1"), (Status::Suspect, 5));
}

#[test]
fn a_failed_probe_suspects_with_the_detectors_next_clock_and_tells_the_suspect() {
    let (mut a, mut now) = knowing_b(Wire::Python);
    let sent = suspect_b(&mut a, &mut now);
    let (status, clock) = status_of(&a, "b:1");
    assert_eq!(status, Status::Suspect);
    assert!(
        clock > 40,
        "the suspicion must beat every clock seen: {clock}"
    );
    assert!(told(&sent, "b:1", Status::Suspect, clock));
    assert_eq!(a.member("b:1").unwrap().metadata, Some(meta("b:1")));
}

#[test]
fn an_answered_probe_brings_a_suspect_back_online_with_a_newer_clock() {
    let (mut a, mut now) = knowing_b(Wire::Python);
    suspect_b(&mut a, &mut now);
    let (_, suspected_at) = status_of(&a, "b:1");
    // The next probe of b gets the Python package's ack.
    wait_for_probe(&mut a, &mut now, "b:1");
    let alive = source("b:1", 9);
    a.handle_packet(
        now,
        py(
            "b:1",
            Message::Ack {
                seq: 0,
                alive,
                known: 0,
                window: None,
            },
        ),
    );
    let sent = drain(&mut a);
    let (status, clock) = status_of(&a, "b:1");
    assert_eq!(status, Status::Online);
    assert!(clock > suspected_at);
    assert_eq!(a.member("b:1").unwrap().metadata, Some(meta("b:1")));
    // b is told at once, so that its own suspect timer stops.
    assert!(told(&sent, "b:1", Status::Online, clock));
}

/// Advances time until `a` pings `name`. Probes that nobody answers raise `a`'s local
/// health score (Lifeguard), which stretches the probe interval: allow for it.
fn wait_for_probe(a: &mut Swim<StdRng>, now: &mut Duration, name: &str) {
    let deadline = *now + Duration::from_secs(30);
    loop {
        assert!(*now < deadline, "{name} is not probed");
        *now += STEP;
        a.handle_timeout(*now);
        let pinged = drain(a)
            .iter()
            .any(|(to, p)| **to == *name && matches!(p.message, Message::Ping { .. }));
        if pinged {
            return;
        }
    }
}

#[test]
fn an_ack_relayed_by_another_member_counts_as_an_answer() {
    let (mut a, mut now) = knowing_b(Wire::Python);
    suspect_b(&mut a, &mut now);
    let (_, suspected_at) = status_of(&a, "b:1");
    // Wait for the next probe of b, then answer it through c as the package does:
    // c forwards `Ack(source=b)`, which reads as a packet from b itself.
    wait_for_probe(&mut a, &mut now, "b:1");
    let relayed = Packet {
        app: Default::default(),
        source: source("c:1", 7),
        message: Message::Ack {
            seq: 0,
            alive: source("b:1", 9),
            known: 0,
            window: None,
        },
        gossip: vec![],
    };
    a.handle_packet(now, relayed);
    let (status, clock) = status_of(&a, "b:1");
    assert_eq!(status, Status::Online);
    assert!(clock > suspected_at);
}

#[test]
fn a_refutation_with_a_lower_clock_is_believed_first_hand_only() {
    let (mut a, mut now) = knowing_b(Wire::Python);
    suspect_b(&mut a, &mut now);
    let (_, suspected_at) = status_of(&a, "b:1");
    // The package refutes with one past the highest clock it stores: here 7, below the
    // suspicion. A third member relaying that record is not believed...
    let relayed = record("b:1", 7, Status::Online, Some("b:1"));
    a.handle_packet(now, py("c:1", Message::Gossip(relayed)));
    assert_eq!(status_of(&a, "b:1"), (Status::Suspect, suspected_at));
    // ...b itself is: it just spoke.
    drain(&mut a);
    announce(&mut a, now, "b:1", 7, Status::Online);
    let (status, clock) = status_of(&a, "b:1");
    assert_eq!(status, Status::Online);
    assert!(clock > suspected_at);
    assert!(told(&drain(&mut a), "b:1", Status::Online, clock));
}

#[test]
fn old_first_hand_records_do_not_override_newer_ones() {
    let (mut a, now) = knowing_b(Wire::Python);
    // b changes its metadata at clock 9; then its older record (clock 8) arrives late.
    let newer = record("b:1", 9, Status::Online, Some("new"));
    a.handle_packet(now, py("b:1", Message::Gossip(newer)));
    let older = record("b:1", 8, Status::Online, Some("old"));
    a.handle_packet(now, py("b:1", Message::Gossip(older)));
    let b = a.member("b:1").unwrap();
    assert_eq!((b.clock, b.metadata), (9, Some(meta("new"))));
}

#[test]
fn a_restarted_process_is_believed_and_sent_the_whole_list() {
    let (mut a, now) = knowing_b(Wire::Python);
    // b restarts (new validity) with new metadata; its clock starts over at 1.
    let restarted = Packet {
        app: Default::default(),
        source: source("b:1", 42),
        message: Message::Gossip(record("b:1", 1, Status::Online, Some("again"))),
        gossip: vec![],
    };
    a.handle_packet(now, restarted);
    let b = a.member("b:1").unwrap();
    assert_eq!(
        (b.status, b.metadata),
        (Status::Online, Some(meta("again")))
    );
    assert!(b.clock > 40);
    let sent = drain(&mut a);
    let list = sent.iter().find_map(|(to, p)| match &p.message {
        Message::Sync { records, .. } if **to == *"b:1" => Some(records.clone()),
        _ => None,
    });
    let names: Vec<String> = list
        .expect("the whole list is sent")
        .iter()
        .map(|u| u.name.to_string())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in ["a:1", "b:1", "c:1"] {
        assert!(names.iter().any(|n| n == name), "{names:?}");
    }
    // The same process again: no second list.
    announce_from(&mut a, now, 42);
    assert!(!drain(&mut a)
        .iter()
        .any(|(_, p)| matches!(p.message, Message::Sync { .. })));
}

fn announce_from(a: &mut Swim<StdRng>, now: Duration, validity: u8) {
    let ping = Packet {
        app: Default::default(),
        source: source("b:1", validity),
        message: Message::Ping {
            seq: 0,
            known: 0,
            window: None,
        },
        gossip: vec![],
    };
    a.handle_packet(now, ping);
}

#[test]
fn an_expired_suspicion_is_declared_offline_with_a_newer_clock() {
    let (mut a, mut now) = knowing_b(Wire::Python);
    suspect_b(&mut a, &mut now);
    let (_, suspected_at) = status_of(&a, "b:1");
    run_until(&mut a, &mut now, Duration::from_secs(10), |a| {
        status_of(a, "b:1").0 == Status::Offline
    });
    assert!(status_of(&a, "b:1").1 > suspected_at);
}

#[test]
fn python_accusations_are_refuted_above_their_clock_or_corrected() {
    let mut a = member(Wire::Python);
    // A Python member suspects us with its own Lamport clock, far above ours.
    let accusation = record("a:1", 50, Status::Suspect, Some("a"));
    a.handle_packet(T0, py("b:1", Message::Gossip(accusation)));
    let local = a.local();
    assert_eq!(local.status, Status::Online);
    assert!(local.clock > 50);
    // An older accusation only earns the sender our record.
    drain(&mut a);
    let stale = record("a:1", 3, Status::Suspect, Some("a"));
    a.handle_packet(T0, py("b:1", Message::Gossip(stale)));
    assert_eq!(a.local().clock, local.clock);
    assert!(told_about(&drain(&mut a), "b:1", "a:1", local.clock));
}

/// Whether `sent` carries the record of `about` at `clock` to `to`.
fn told_about(sent: &[(MemberName, Packet)], to: &str, about: &str, clock: u64) -> bool {
    sent.iter().any(|(dest, p)| {
        **dest == *to
            && p.gossip
                .iter()
                .any(|u| *u.name == *about && u.clock == clock && u.status == Status::Online)
    })
}

#[test]
fn python_gossip_about_third_members_follows_their_clocks() {
    let (mut a, now) = knowing_b(Wire::Python);
    // c is ONLINE at 40; b's checks found it silent and suspect it at its clock 41.
    let suspicion = record("c:1", 41, Status::Suspect, None);
    a.handle_packet(now, py("b:1", Message::Gossip(suspicion)));
    assert_eq!(status_of(&a, "c:1"), (Status::Suspect, 41));
    assert_eq!(a.member("c:1").unwrap().metadata, Some(meta("c")));
    // b checks c again, successfully: ONLINE at b's next clock.
    let online = record("c:1", 42, Status::Online, Some("c"));
    a.handle_packet(now, py("b:1", Message::Gossip(online)));
    assert_eq!(status_of(&a, "c:1"), (Status::Online, 42));
    // Every gossip is acknowledged with its name and clock, as the package expects.
    let acks: Vec<(String, u64)> = drain(&mut a)
        .into_iter()
        .filter_map(|(_, p)| match p.message {
            Message::GossipAck { name, clock } => Some((name.to_string(), clock)),
            _ => None,
        })
        .collect();
    assert_eq!(acks, [("c:1".to_string(), 41), ("c:1".to_string(), 42)]);
}

#[test]
fn a_ping_req_from_python_is_relayed_on_any_packet_of_the_target() {
    let (mut a, now) = knowing_b(Wire::Python);
    let request = Message::PingReq {
        seq: 0,
        target: "c:1".into(),
    };
    a.handle_packet(now, py("b:1", request));
    let sent = drain(&mut a);
    assert!(sent
        .iter()
        .any(|(to, p)| **to == *"c:1" && matches!(p.message, Message::Ping { .. })));
    // c answers with a gossip rather than an ack: still proof that it is alive.
    let gossip = record("c:1", 40, Status::Online, Some("c"));
    a.handle_packet(now, py("c:1", Message::Gossip(gossip)));
    let forwarded = drain(&mut a).into_iter().any(|(to, p)| {
        *to == *"b:1" && matches!(&p.message, Message::Ack { alive, .. } if *alive.name == *"c:1")
    });
    assert!(forwarded);
}

#[test]
fn a_suspicion_cleared_by_gossip_is_passed_on_to_the_member() {
    let (mut a, now) = knowing_b(Wire::Python);
    let suspicion = record("b:1", 50, Status::Suspect, None);
    a.handle_packet(now, py("c:1", Message::Gossip(suspicion)));
    assert_eq!(status_of(&a, "b:1"), (Status::Suspect, 50));
    drain(&mut a);
    // c's check of b succeeded: b is ONLINE at c's next clock. b must hear it from us too
    // (our packets to it carried the suspicion), or the package marks itself SUSPECT.
    let online = record("b:1", 51, Status::Online, Some("b:1"));
    a.handle_packet(now, py("c:1", Message::Gossip(online)));
    assert_eq!(status_of(&a, "b:1"), (Status::Online, 51));
    assert!(told(&drain(&mut a), "b:1", Status::Online, 51));
}

/// With only Python peers, no full sync is ever answered: the first `Gossip` (the package's
/// dissemination of its member list) counts as joined, so the member stops re-announcing
/// itself every `2 x ping_interval` and makes only its few follow-up syncs.
#[test]
fn gossip_from_a_python_peer_counts_as_joined() {
    let config = ProtocolConfig {
        wire: Wire::Python,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(3);
    let mut a = Swim::new(config, "a:1".into(), meta("a"), ["p:1".into()], rng, T0).unwrap();
    let syncs = |sent: &[(MemberName, Packet)]| {
        sent.iter()
            .filter(|(_, p)| {
                matches!(
                    p.message,
                    Message::Sync {
                        reply: false,
                        full: true,
                        ..
                    }
                )
            })
            .count()
    };
    let mut now = T0;
    a.handle_timeout(now);
    assert_eq!(syncs(&drain(&mut a)), 1, "the first join request");
    announce(&mut a, now, "p:1", 1, Status::Online);
    let mut sent = drain(&mut a);
    let end = now + Duration::from_secs(60);
    while now < end {
        now += STEP;
        a.handle_timeout(now);
        sent.extend(drain(&mut a));
    }
    // Before the fix: one re-announcement every 2 s, about 30 in a minute.
    let later = syncs(&sent);
    assert!(
        later <= 4,
        "{later} join requests after the member list arrived"
    );
}
