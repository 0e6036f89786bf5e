//! `Wire::Auto` (a member speaking both wires, `--wire auto`): each member is sent
//! the wire format last heard from it (the Python one until heard from), the seed's rules
//! about one member apply only toward members addressed in the Python format, and verdicts
//! take the detector's clock for everyone (see "Members that speak both wires" in
//! `docs/PROTOCOL.md`).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    Message, Metadata, Packet, PeerWire, ProtocolConfig, Source, Status, Swim, Transmit, Update,
    Validity, Wire,
};

const T0: Duration = Duration::ZERO;
const STEP: Duration = Duration::from_millis(10);

fn meta(v: &str) -> Metadata {
    [("k", v)].into_iter().collect()
}

fn member(peers: &[&str]) -> Swim<StdRng> {
    let config = ProtocolConfig {
        wire: Wire::Auto,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(5);
    let peers = peers.iter().map(|p| (*p).into());
    Swim::new(config, "a:1".into(), meta("a"), peers, rng, T0).expect("valid config")
}

fn packet(from: &str, validity: u8, message: Message) -> Packet {
    Packet {
        app: Default::default(),
        source: Source {
            name: from.into(),
            validity: Validity([validity; 8]),
        },
        message,
        gossip: vec![],
    }
}

fn own_record(name: &str, clock: u64) -> Update {
    Update {
        name: name.into(),
        clock,
        status: Status::Online,
        metadata: Some(meta(name)),
        left: false,
        accuser: None,
    }
}

/// `name` tells `a` its own record ONLINE at `clock`, in `wire` (a `Gossip` in the
/// Python format, a piggybacked record on a ping in ours).
fn hello(a: &mut Swim<StdRng>, now: Duration, wire: PeerWire, name: &str, clock: u64) {
    let message = match wire {
        PeerWire::Python => Message::Gossip(own_record(name, clock)),
        PeerWire::Native => Message::Ping {
            seq: 1,
            known: 0,
            window: None,
        },
    };
    let mut p = packet(name, 1, message);
    if wire == PeerWire::Native {
        p.gossip.push(own_record(name, clock));
    }
    a.handle_packet_on(now, wire, p);
}

fn drain(a: &mut Swim<StdRng>) -> Vec<Transmit> {
    std::iter::from_fn(|| a.poll_transmit()).collect()
}

fn wires_to(sent: &[Transmit], name: &str) -> Vec<PeerWire> {
    sent.iter()
        .filter(|t| t.to.as_str() == name)
        .map(|t| t.wire)
        .collect()
}

fn run_until(
    a: &mut Swim<StdRng>,
    now: &mut Duration,
    mut done: impl FnMut(&Swim<StdRng>) -> bool,
) -> Vec<Transmit> {
    let deadline = *now + Duration::from_secs(20);
    let mut sent = Vec::new();
    while !done(a) {
        assert!(*now < deadline, "condition not reached: {:?}", a.members());
        *now += STEP;
        a.handle_timeout(*now);
        sent.extend(drain(a));
    }
    sent
}

fn status(a: &Swim<StdRng>, name: &str) -> (Status, u64) {
    let m = a.member(name).expect("known");
    (m.status, m.clock)
}

#[test]
fn each_member_is_answered_in_the_format_last_heard_from_it() {
    let mut a = member(&["p:1"]);
    // Not heard from yet: the cluster may hold Python members, so the Python format.
    a.handle_timeout(T0);
    let sent = drain(&mut a);
    assert_eq!(wires_to(&sent, "p:1"), vec![PeerWire::Python]);
    hello(&mut a, T0, PeerWire::Native, "p:1", 3);
    let sent = drain(&mut a);
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|t| t.wire == PeerWire::Native), "{sent:?}");
    // The member moved back to the Python format (e.g. a restart with another wire).
    hello(&mut a, T0, PeerWire::Python, "p:1", 4);
    let sent = drain(&mut a);
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|t| t.wire == PeerWire::Python), "{sent:?}");
}

#[test]
fn a_new_process_gets_the_whole_list_only_in_the_python_format() {
    let mut a = member(&[]);
    hello(&mut a, T0, PeerWire::Native, "n:1", 3);
    let greeted = |sent: &[Transmit], to: &str| {
        sent.iter().any(|t| {
            t.to.as_str() == to
                && matches!(
                    t.packet.message,
                    Message::Sync {
                        reply: true,
                        full: true,
                        ..
                    }
                )
        })
    };
    assert!(
        !greeted(&drain(&mut a), "n:1"),
        "ours asks for the list itself"
    );
    hello(&mut a, T0, PeerWire::Python, "p:1", 3);
    assert!(greeted(&drain(&mut a), "p:1"), "the package never asks");
}

/// Both unanswered: both are suspected with our clock (a verdict must be news to the
/// Python members it passes through); when they answer again, only the Python member is
/// made ONLINE by us; ours must refute, as in a native cluster.
#[test]
fn seed_rules_apply_toward_python_members_only_but_verdicts_take_our_clock_for_all() {
    let mut a = member(&[]);
    let mut now = T0;
    hello(&mut a, now, PeerWire::Native, "n:1", 5);
    hello(&mut a, now, PeerWire::Python, "p:1", 5);
    drain(&mut a);
    let sent = run_until(&mut a, &mut now, |a| {
        status(a, "n:1").0 == Status::Suspect && status(a, "p:1").0 == Status::Suspect
    });
    assert!(status(&a, "n:1").1 > 5, "{:?}", status(&a, "n:1"));
    assert!(status(&a, "p:1").1 > 5, "{:?}", status(&a, "p:1"));
    // An unanswered probe's ping went out in both formats too (a member restarted with
    // the other format must not be suspected for it).
    for name in ["n:1", "p:1"] {
        let wires = wires_to(&sent, name);
        assert!(
            wires.contains(&PeerWire::Native) && wires.contains(&PeerWire::Python),
            "{name}: {wires:?}"
        );
    }
    // Both answer their next probe (an ack from the same processes).
    for (name, wire) in [("n:1", PeerWire::Native), ("p:1", PeerWire::Python)] {
        let mut seq = None;
        while seq.is_none() {
            assert!(now < Duration::from_secs(60), "{name} is probed again");
            now += STEP;
            a.handle_timeout(now);
            seq = drain(&mut a).iter().find_map(|t| match t.packet.message {
                Message::Ping { seq, .. } if t.to.as_str() == name => Some(seq),
                _ => None,
            });
        }
        let alive = Source {
            name: name.into(),
            validity: Validity([1; 8]),
        };
        let ack = Message::Ack {
            seq: seq.expect("pinged"),
            alive,
            known: 0,
            window: None,
        };
        a.handle_packet_on(now, wire, packet(name, 1, ack));
    }
    assert_eq!(status(&a, "p:1").0, Status::Online, "seed rule 2");
    assert_ne!(status(&a, "n:1").0, Status::Online, "ours refutes itself");
}

#[test]
fn the_python_format_is_followed_by_the_seeds_members_only() {
    // `handle_packet` without a format means the member's own: ours unless `Seed`.
    let mut a = member(&[]);
    a.handle_packet(
        T0,
        packet(
            "n:1",
            1,
            Message::Ping {
                seq: 1,
                known: 0,
                window: None,
            },
        ),
    );
    let sent = drain(&mut a);
    assert_eq!(wires_to(&sent, "n:1"), vec![PeerWire::Native]);
    let config = ProtocolConfig {
        wire: Wire::Python,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(5);
    let mut seed = Swim::new(config, "s:1".into(), meta("s"), ["p:1".into()], rng, T0).unwrap();
    assert!(drain(&mut seed).iter().all(|t| t.wire == PeerWire::Python));
}
