//! The state machine driven by hand: message by message, with explicit time.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    Event, MemberName, Message, Metadata, Packet, ProtocolConfig, Source, Status, StatusSet, Swim,
    Update, Validity,
};

const T0: Duration = Duration::ZERO;

fn meta(v: &str) -> Metadata {
    [("k", v)].into_iter().collect()
}

fn member(name: &str, peers: &[&str]) -> Swim<StdRng> {
    let peers = peers.iter().map(|p| MemberName::from(*p));
    Swim::new(
        ProtocolConfig::default(),
        name.into(),
        meta(name),
        peers,
        StdRng::seed_from_u64(name.len() as u64),
        T0,
    )
    .expect("valid config")
}

fn drain(swim: &mut Swim<StdRng>) -> Vec<(MemberName, Packet)> {
    std::iter::from_fn(|| swim.poll_transmit())
        .map(|t| (t.to, t.packet))
        .collect()
}

fn foreign(name: &str) -> Source {
    Source {
        name: name.into(),
        validity: Validity([9; 8]),
    }
}

#[test]
fn invalid_config_is_refused() {
    let config = ProtocolConfig {
        ping_timeout: Duration::from_secs(5),
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(1);
    let err = Swim::new(config, "a:1".into(), Metadata::empty(), [], rng, T0);
    assert!(err.is_err());
}

#[test]
fn local_member_starts_online_and_reports_itself() {
    let mut a = member("a:1", &[]);
    assert_eq!(a.local().status, Status::Online);
    assert_eq!(a.local().metadata, Some(meta("a:1")));
    let Some(Event::MemberChanged(change)) = a.poll_event() else {
        panic!("no event for the local member");
    };
    assert!(change.member.local);
    assert_eq!(change.previous.status, Status::Offline);
}

#[test]
fn peers_start_offline_with_unknown_metadata_and_get_a_join_request() {
    let mut a = member("a:1", &["b:1"]);
    let b = a.member("b:1").expect("peer known");
    assert_eq!((b.status, b.metadata, b.clock), (Status::Offline, None, 0));
    a.handle_timeout(T0);
    let sent = drain(&mut a);
    assert!(sent.iter().any(|(to, p)| **to == *"b:1"
        && matches!(
            &p.message,
            Message::Sync {
                reply: false,
                full: true,
                ..
            }
        )));
}

/// Runs two members for `steps` of 10 ms, delivering every packet between them.
fn exchange(a: &mut Swim<StdRng>, b: &mut Swim<StdRng>, mut now: Duration, steps: u32) -> Duration {
    for _ in 0..steps {
        now += Duration::from_millis(10);
        a.handle_timeout(now);
        b.handle_timeout(now);
        for (to, packet) in drain(a) {
            assert_eq!(to, *b.local_name());
            b.handle_packet(now, packet);
        }
        for (to, packet) in drain(b) {
            assert_eq!(to, *a.local_name());
            a.handle_packet(now, packet);
        }
    }
    now
}

#[test]
fn two_members_join_and_see_each_other_online() {
    let mut a = member("a:1", &[]);
    let mut b = member("b:1", &["a:1"]);
    exchange(&mut a, &mut b, T0, 200);
    let seen_by_a = a.member("b:1").expect("a knows b");
    assert_eq!(seen_by_a.status, Status::Online);
    assert_eq!(seen_by_a.metadata, Some(meta("b:1")));
    assert_eq!(b.members_with(StatusSet::AVAILABLE).len(), 1);
    assert_eq!(b.members().len(), 2);
}

#[test]
fn ping_is_acked_by_the_local_member() {
    let mut a = member("a:1", &[]);
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: foreign("b:1"),
            message: Message::Ping {
                seq: 77,
                known: 0,
                window: None,
            },
            gossip: vec![],
        },
    );
    let sent = drain(&mut a);
    assert_eq!(sent.len(), 1);
    let (to, packet) = &sent[0];
    assert_eq!(**to, *"b:1");
    assert_eq!(
        packet.message,
        Message::Ack {
            seq: 77,
            alive: Source {
                name: "a:1".into(),
                validity: a.validity()
            },
            // Only the local member has a record yet.
            known: 1,
            window: None
        }
    );
}

#[test]
fn ping_req_is_relayed_and_the_ack_forwarded() {
    let mut a = member("a:1", &[]);
    let req = Packet {
        app: Default::default(),
        source: foreign("b:1"),
        message: Message::PingReq {
            seq: 5,
            target: "c:1".into(),
        },
        gossip: vec![],
    };
    a.handle_packet(T0, req);
    let sent = drain(&mut a);
    assert!(sent
        .iter()
        .any(|(to, p)| **to == *"c:1" && matches!(p.message, Message::Ping { .. })));
    let ack = Packet {
        app: Default::default(),
        source: foreign("c:1"),
        message: Message::Ack {
            seq: 1,
            alive: foreign("c:1"),
            known: 0,
            window: None,
        },
        gossip: vec![],
    };
    a.handle_packet(T0 + Duration::from_millis(5), ack);
    let forwarded = drain(&mut a);
    assert!(forwarded.iter().any(|(to, p)| **to == *"b:1"
        && p.message
            == Message::Ack {
                seq: 5,
                alive: foreign("c:1"),
                known: 1,
                window: None
            }));
}

#[test]
fn seed_gossip_is_applied_and_acknowledged() {
    let mut a = member("a:1", &[]);
    let update = Update {
        name: "c:1".into(),
        clock: 10,
        status: Status::Online,
        metadata: Some(meta("hello")),
        accuser: None,
        left: false,
    };
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: foreign("b:1"),
            message: Message::Gossip(update),
            gossip: vec![],
        },
    );
    assert_eq!(
        a.member("c:1").expect("learned").metadata,
        Some(meta("hello"))
    );
    let sent = drain(&mut a);
    assert!(sent.iter().any(|(to, p)| **to == *"b:1"
        && p.message
            == Message::GossipAck {
                name: "c:1".into(),
                clock: 10
            }));
}

#[test]
fn suspicion_of_the_local_member_is_refuted_with_a_newer_clock() {
    let mut a = member("a:1", &[]);
    let accusation = Update {
        name: "a:1".into(),
        clock: 40,
        status: Status::Suspect,
        metadata: Some(meta("a:1")),
        accuser: None,
        left: false,
    };
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: foreign("b:1"),
            message: Message::GossipOnly,
            gossip: vec![accusation],
        },
    );
    let local = a.local();
    assert_eq!(local.status, Status::Online);
    assert!(local.clock > 40, "refuted at clock {}", local.clock);
    // The refutation goes straight back to the accuser.
    let sent = drain(&mut a);
    assert!(sent.iter().any(|(to, p)| **to == *"b:1"
        && p.gossip
            .iter()
            .any(|u| *u.name == *"a:1" && u.clock == local.clock)));
}

#[test]
fn unanswered_member_becomes_suspect_then_offline() {
    let mut a = member("a:1", &[]);
    // Learn of b as ONLINE.
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: foreign("b:1"),
            message: Message::GossipOnly,
            gossip: vec![Update {
                name: "b:1".into(),
                clock: 3,
                status: Status::Online,
                metadata: Some(meta("b")),
                accuser: None,
                left: false,
            }],
        },
    );
    let mut now = T0;
    let mut saw_suspect_at = None;
    while now < Duration::from_secs(20) {
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        drain(&mut a); // b never answers
        let status = a.member("b:1").expect("known").status;
        if status == Status::Suspect && saw_suspect_at.is_none() {
            saw_suspect_at = Some(now);
        }
        if status == Status::Offline {
            let suspect_at = saw_suspect_at.expect("SUSPECT before OFFLINE");
            let waited = now - suspect_at;
            let timeout = a.config().suspect_timeout;
            assert!(waited >= timeout, "offline after {waited:?}");
            return;
        }
    }
    panic!("b never went offline");
}

#[test]
fn packets_claiming_to_be_local_are_ignored() {
    let mut a = member("a:1", &[]);
    let before = a.local();
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: foreign("a:1"),
            message: Message::Ping {
                seq: 1,
                known: 0,
                window: None,
            },
            gossip: vec![],
        },
    );
    assert!(drain(&mut a).is_empty());
    assert_eq!(a.local(), before);
}

#[test]
fn counters_tally_answered_probes_and_their_round_trips() {
    let mut a = member("a:1", &[]);
    let mut b = member("b:1", &["a:1"]);
    let mut now = T0;
    // Every packet takes one 10 ms step to arrive: a probe answered at once takes 20 ms.
    let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
    for _ in 0..500 {
        now += Duration::from_millis(10);
        for packet in to_a.drain(..) {
            a.handle_packet(now, packet);
        }
        for packet in to_b.drain(..) {
            b.handle_packet(now, packet);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        to_b.extend(drain(&mut a).into_iter().map(|(_, p)| p));
        to_a.extend(drain(&mut b).into_iter().map(|(_, p)| p));
    }
    let counters = a.counters();
    assert!(counters.probes_started >= 3, "{counters:?}");
    assert!(counters.probes_answered + 1 >= counters.probes_started);
    let acks = counters.probe_rtt.count();
    assert!(
        acks >= 1 && acks <= counters.probes_answered,
        "{counters:?}"
    );
    assert_eq!(
        counters.probe_rtt.sum,
        Duration::from_millis(20) * acks as u32,
        "each ack took two steps"
    );
    // 20 ms falls in the (10, 20] ms bucket.
    assert_eq!(counters.probe_rtt.counts[5], acks);
    assert_eq!(counters.probes_failed, 0);
    assert_eq!(counters.suspicions_raised, 0);
    assert_eq!(counters.offline_declared, 0);
}

#[test]
fn counters_tally_suspicion_offline_and_refutation() {
    let mut a = member("a:1", &[]);
    let online_b = Update {
        name: "b:1".into(),
        clock: 3,
        status: Status::Online,
        metadata: Some(meta("b")),
        accuser: None,
        left: false,
    };
    let gossip = |update: Update| Packet {
        app: Default::default(),
        source: foreign("b:1"),
        message: Message::GossipOnly,
        gossip: vec![update],
    };
    a.handle_packet(T0, gossip(online_b));
    let mut now = T0;
    while a.member("b:1").expect("known").status != Status::Offline {
        assert!(now < Duration::from_secs(30), "b never went offline");
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        drain(&mut a); // b never answers
    }
    let counters = a.counters();
    assert_eq!(counters.suspicions_raised, 1);
    assert_eq!(counters.offline_declared, 1);
    assert!(counters.probes_failed >= 1);
    assert_eq!(counters.probes_answered, 0);
    assert_eq!(counters.suspicions_refuted, 0);
    let accusation = Update {
        name: "a:1".into(),
        clock: a.local().clock,
        status: Status::Suspect,
        metadata: Some(meta("a:1")),
        accuser: None,
        left: false,
    };
    a.handle_packet(now, gossip(accusation));
    assert_eq!(a.counters().suspicions_refuted, 1);
}

/// Runs `a` alone for `until`, answering nothing it sends.
fn run_alone(a: &mut Swim<StdRng>, mut now: Duration, until: Duration) -> Duration {
    while now < until {
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        drain(a);
    }
    now
}

fn full_sync_requests_to(sent: &[(MemberName, Packet)], to: &str) -> usize {
    sent.iter()
        .filter(|(t, p)| {
            **t == *to
                && matches!(
                    p.message,
                    Message::Sync {
                        reply: false,
                        full: true,
                        ..
                    }
                )
        })
        .count()
}

#[test]
fn a_member_that_lost_everyone_joins_again_through_a_peer_added_later() {
    let mut a = member("a:1", &[]);
    let online_b = Packet {
        app: Default::default(),
        source: foreign("b:1"),
        message: Message::Sync {
            reply: true,
            full: true,
            records: vec![Update {
                name: "b:1".into(),
                clock: 3,
                status: Status::Online,
                metadata: Some(meta("b")),
                left: false,
                accuser: None,
            }],
        },
        gossip: vec![],
    };
    a.handle_packet(T0, online_b);
    // b stops answering: a declares it OFFLINE and is alone.
    let now = run_alone(&mut a, T0, Duration::from_secs(30));
    assert_eq!(a.member("b:1").unwrap().status, Status::Offline);
    assert!(a.members_with(StatusSet::AVAILABLE).len() <= 1);
    // The service's new address appears (its name re-resolved): a asks it for the list.
    a.add_peer(now, "c:1".into());
    a.handle_timeout(now);
    let sent = drain(&mut a);
    assert_eq!(full_sync_requests_to(&sent, "c:1"), 1, "{sent:?}");
}

#[test]
fn a_peer_added_while_others_are_online_is_not_asked_for_the_list() {
    let mut a = member("a:1", &[]);
    let mut b = member("b:1", &["a:1"]);
    let now = exchange(&mut a, &mut b, T0, 100);
    assert_eq!(b.member("a:1").unwrap().status, Status::Online);
    b.add_peer(now, "c:1".into());
    b.handle_timeout(now);
    let sent = drain(&mut b);
    assert_eq!(full_sync_requests_to(&sent, "c:1"), 0, "{sent:?}");
}

/// A two-member cluster, joined, in which `a` has probed `b` (so `b` is in good standing).
fn joined_pair() -> (Swim<StdRng>, Swim<StdRng>, Duration) {
    let mut a = member("a:1", &[]);
    let mut b = member("b:1", &["a:1"]);
    let now = exchange(&mut a, &mut b, T0, 400);
    (a, b, now)
}

#[test]
fn a_window_on_a_ping_is_applied_and_answered_on_the_ack() {
    let (mut a, b, now) = joined_pair();
    let own_clock = a.local().clock;
    let stale_a = Update {
        name: "a:1".into(),
        clock: 0,
        status: Status::Online,
        metadata: None,
        accuser: None,
        left: false,
    };
    let x = Update {
        name: "x:1".into(),
        clock: 3,
        metadata: Some(meta("x")),
        ..stale_a.clone()
    };
    a.handle_packet(
        now,
        Packet {
            app: Default::default(),
            source: Source {
                name: "b:1".into(),
                validity: b.validity(),
            },
            message: Message::Ping {
                seq: 41,
                known: 2,
                window: Some(vec![stale_a, x]),
            },
            gossip: vec![],
        },
    );
    assert_eq!(
        a.member("x:1").map(|m| m.clock),
        Some(3),
        "the window applied"
    );
    let sent = drain(&mut a);
    let to_b: Vec<&Packet> = sent
        .iter()
        .filter(|(to, _)| **to == *"b:1")
        .map(|(_, p)| p)
        .collect();
    let answer = to_b
        .iter()
        .find_map(|p| match &p.message {
            Message::Ack {
                seq,
                window: Some(records),
                ..
            } => Some((*seq, records.clone())),
            _ => None,
        })
        .expect("an ack carrying the answer");
    assert_eq!(answer.0, 41);
    // Our newer version of what was pushed first, then a window of our own.
    assert_eq!(*answer.1[0].name, *"a:1");
    assert_eq!(answer.1[0].clock, own_clock);
    assert!(answer.1.len() > 1, "{:?}", answer.1);
    assert!(
        to_b.iter()
            .all(|p| !matches!(p.message, Message::Sync { .. })),
        "no push-pull datagram: {to_b:?}"
    );
}

/// Delivers what `from` sent to `to`, counting (windows, answers); fails on anything but
/// pings and acks.
fn deliver_quiet(from: &mut Swim<StdRng>, to: &mut Swim<StdRng>, now: Duration) -> (u32, u32) {
    let mut counts = (0, 0);
    for (_, packet) in drain(from) {
        match &packet.message {
            Message::Ping { window, .. } => counts.0 += u32::from(window.is_some()),
            Message::Ack { window, .. } => counts.1 += u32::from(window.is_some()),
            other => panic!("a quiet pair sent {other:?}"),
        }
        to.handle_packet(now, packet);
    }
    counts
}

#[test]
fn push_pull_rides_on_the_next_probe() {
    let (mut a, mut b, mut now) = joined_pair();
    // Several push-pull periods: every window goes on a ping, every answer on its ack.
    let (mut windows, mut answers) = (0, 0);
    let end = now + Duration::from_secs(400);
    while now < end {
        now += Duration::from_millis(10);
        a.handle_timeout(now);
        b.handle_timeout(now);
        for (w, r) in [
            deliver_quiet(&mut a, &mut b, now),
            deliver_quiet(&mut b, &mut a, now),
        ] {
            windows += w;
            answers += r;
        }
    }
    // Two members, one push-pull each per 30 s on average (jittered ×0.5–1.5).
    assert!(windows >= 20, "{windows} windows");
    assert_eq!(answers, windows);
}
