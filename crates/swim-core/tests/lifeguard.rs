//! Lifeguard, message by message with explicit time: nacks, the local health score and the
//! suspicion timeout that shrinks with confirmations.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    MemberName, Message, Metadata, Packet, ProtocolConfig, Source, Status, Swim, Update, Validity,
    Wire,
};

const T0: Duration = Duration::ZERO;
const STEP: Duration = Duration::from_millis(10);
const MS: fn(u64) -> Duration = Duration::from_millis;

fn meta(v: &str) -> Metadata {
    [("k", v)].into_iter().collect()
}

fn source(name: &str) -> Source {
    Source {
        name: name.into(),
        validity: Validity([9; 8]),
    }
}

fn online(name: &str) -> Update {
    Update {
        name: name.into(),
        clock: 1,
        status: Status::Online,
        metadata: Some(meta(name)),
        accuser: None,
        left: false,
    }
}

fn suspect(name: &str, accuser: Option<&str>) -> Update {
    Update {
        status: Status::Suspect,
        accuser: accuser.map(MemberName::from),
        ..online(name)
    }
}

fn packet(from: &str, message: Message, gossip: Vec<Update>) -> Packet {
    Packet {
        app: Default::default(),
        source: source(from),
        message,
        gossip,
    }
}

/// Member `a:1` with `config`, knowing `others` ONLINE (told by the first of them).
fn member(config: ProtocolConfig, others: &[&str]) -> Swim<StdRng> {
    let rng = StdRng::seed_from_u64(11);
    let mut a = Swim::new(config, "a:1".into(), meta("a"), [], rng, T0).expect("valid config");
    let gossip = others.iter().map(|n| online(n)).collect();
    a.handle_packet(T0, packet(others[0], Message::GossipOnly, gossip));
    drain(&mut a);
    a
}

fn drain(swim: &mut Swim<StdRng>) -> Vec<(MemberName, Message)> {
    std::iter::from_fn(|| swim.poll_transmit())
        .map(|t| (t.to, t.packet.message))
        .collect()
}

/// Runs `a`'s timers from `from` to `to` in small steps; returns what it sent, with times.
fn run(a: &mut Swim<StdRng>, from: Duration, to: Duration) -> Vec<(Duration, MemberName, Message)> {
    let mut sent = Vec::new();
    let mut now = from;
    while now < to {
        now += STEP;
        a.handle_timeout(now);
        sent.extend(drain(a).into_iter().map(|(m, p)| (now, m, p)));
    }
    sent
}

fn nacks(sent: &[(Duration, MemberName, Message)]) -> Vec<(Duration, u32)> {
    sent.iter()
        .filter_map(|(at, _, m)| match m {
            Message::Nack { seq } => Some((*at, *seq)),
            _ => None,
        })
        .collect()
}

/// A config that probes rarely, so that a test's probes are the ones it makes happen.
fn quiet(config: ProtocolConfig) -> ProtocolConfig {
    ProtocolConfig {
        ping_interval: Duration::from_secs(1000),
        push_pull_interval: Duration::from_secs(1000),
        ..config
    }
}

#[test]
fn a_relay_nacks_at_80_percent_of_the_indirect_timeout() {
    let config = quiet(ProtocolConfig::default());
    assert_eq!(config.ping_req_timeout, MS(600));
    let mut a = member(config, &["b:1", "c:1"]);
    let req = Message::PingReq {
        seq: 5,
        target: "c:1".into(),
    };
    a.handle_packet(T0, packet("b:1", req, vec![]));
    drain(&mut a);
    assert!(a.poll_timeout().is_some_and(|t| t <= MS(480)));
    let sent = run(&mut a, T0, MS(470));
    assert!(nacks(&sent).is_empty(), "no nack before 80%");
    let sent = run(&mut a, MS(470), MS(700));
    assert_eq!(nacks(&sent), vec![(MS(480), 5)], "one nack, at 480 ms");
    assert!(sent
        .iter()
        .any(|(_, to, m)| **to == *"b:1" && matches!(m, Message::Nack { .. })));
    assert_eq!(a.counters().nacks_sent, 1);
}

#[test]
fn no_nack_once_the_target_answered() {
    let mut a = member(quiet(ProtocolConfig::default()), &["b:1", "c:1"]);
    let req = Message::PingReq {
        seq: 5,
        target: "c:1".into(),
    };
    a.handle_packet(T0, packet("b:1", req, vec![]));
    drain(&mut a);
    let ack = Message::Ack {
        seq: 1,
        alive: source("c:1"),
        known: 0,
        window: None,
    };
    a.handle_packet(MS(100), packet("c:1", ack, vec![]));
    let forwarded = drain(&mut a);
    assert!(forwarded
        .iter()
        .any(|(to, m)| **to == *"b:1" && matches!(m, Message::Ack { seq: 5, .. })));
    assert!(nacks(&run(&mut a, MS(100), MS(1000))).is_empty());
}

#[test]
fn no_nack_on_the_python_wire_nor_without_lifeguard() {
    let seed_rules = ProtocolConfig {
        wire: Wire::Python,
        ..ProtocolConfig::default()
    };
    let off = ProtocolConfig {
        lifeguard: false,
        ..ProtocolConfig::default()
    };
    for config in [seed_rules, off] {
        let mut a = member(quiet(config), &["b:1", "c:1"]);
        let req = Message::PingReq {
            seq: 5,
            target: "c:1".into(),
        };
        a.handle_packet(T0, packet("b:1", req, vec![]));
        assert!(nacks(&run(&mut a, T0, MS(2000))).is_empty());
        assert_eq!(a.counters().nacks_sent, 0);
    }
}

/// Lets `a` start its next probe (it probes rarely: the first is due within 1000 s) and
/// returns when it did, the target and the sequence number.
fn next_probe(a: &mut Swim<StdRng>, from: Duration) -> (Duration, MemberName, u32) {
    let mut now = from;
    loop {
        let at = a.poll_timeout().expect("a deadline").max(now);
        now = at;
        a.handle_timeout(now);
        for (to, message) in drain(a) {
            if let Message::Ping { seq, .. } = message {
                return (now, to, seq);
            }
        }
    }
}

/// The times of `a`'s indirect rounds (ping-reqs sent) for probe `seq`, and the helpers.
fn ping_reqs(sent: &[(Duration, MemberName, Message)], seq: u32) -> Vec<(Duration, MemberName)> {
    sent.iter()
        .filter(|(_, _, m)| matches!(m, Message::PingReq { seq: s, .. } if *s == seq))
        .map(|(at, to, _)| (*at, to.clone()))
        .collect()
}

const FIVE: [&str; 5] = ["b:1", "c:1", "d:1", "e:1", "f:1"];

/// Every other member answers one probe of `a`'s (so all are recent responders, whose
/// silence as helpers counts against `a`); returns when the last answer came.
fn answered_by_all(a: &mut Swim<StdRng>, mut now: Duration, others: usize) -> Duration {
    for _ in 0..others {
        let (start, target, seq) = next_probe(a, now);
        let ack = Message::Ack {
            seq,
            alive: source(&target),
            known: 0,
            window: None,
        };
        a.handle_packet(start + MS(5), packet(&target, ack, vec![]));
        now = start + MS(5);
    }
    assert_eq!(a.local_health(), 0);
    now
}

#[test]
fn health_rises_when_helpers_stay_silent_and_scales_the_probe() {
    let mut a = member(quiet(ProtocolConfig::default()), &FIVE);
    let now = answered_by_all(&mut a, T0, FIVE.len());
    let (start, target, seq) = next_probe(&mut a, now);
    // Nobody answers, nobody nacks: rounds of three helpers at 200, 400 and 600 ms, a
    // second chance when the indirect timeout (600 ms after the first round) runs out in
    // silence, then the verdict 600 ms × the new score later.
    let sent = run(&mut a, start, start + Duration::from_secs(5));
    let rounds = ping_reqs(&sent, seq);
    let times: Vec<Duration> = rounds.iter().step_by(3).map(|r| r.0 - start).collect();
    assert_eq!(rounds.len(), 12, "{rounds:?}");
    assert_eq!(times, [MS(200), MS(400), MS(600), MS(800)]);
    assert_eq!(a.member(&target).expect("known").status, Status::Suspect);
    // Three recent responders silent at the second chance; of the second round's helpers
    // only the one responder left counts at the verdict (the others were drawn at random
    // once the silent ones were no longer asked first: their silence says nothing).
    assert_eq!(a.local_health(), 4);
    assert_eq!(a.counters().local_health, 4);

    // The next probe waits 5 × ping_interval and its timeouts are 5 × as long.
    let (next, _, seq) = next_probe(&mut a, start + Duration::from_secs(5));
    assert_eq!(next, start + Duration::from_secs(5 * 1000));
    let sent = run(&mut a, next, next + Duration::from_secs(2));
    let rounds = ping_reqs(&sent, seq);
    assert_eq!(rounds.first().map(|r| r.0), Some(next + MS(5 * 200)));
}

#[test]
fn health_is_capped_and_falls_with_each_answered_probe() {
    let config = ProtocolConfig {
        awareness_max: 3,
        ..quiet(ProtocolConfig::default())
    };
    let mut a = member(config, &FIVE);
    let mut now = answered_by_all(&mut a, T0, FIVE.len());
    for _ in 0..3 {
        let (start, _, _) = next_probe(&mut a, now);
        now = start + Duration::from_secs(60);
        run(&mut a, start, now);
    }
    assert_eq!(a.local_health(), 3, "capped at awareness_max");
    // Answered probes take one point back each.
    for expected in [2, 1, 0] {
        let (start, target, seq) = next_probe(&mut a, now);
        let ack = Message::Ack {
            seq,
            alive: source(&target),
            known: 0,
            window: None,
        };
        a.handle_packet(start + MS(5), packet(&target, ack, vec![]));
        assert_eq!(a.local_health(), expected);
        now = start + MS(5);
    }
}

#[test]
fn nacks_keep_health_and_the_verdict_comes_on_time() {
    let mut a = member(quiet(ProtocolConfig::default()), &FIVE);
    let (start, target, seq) = next_probe(&mut a, T0);
    let sent = run(&mut a, start, start + MS(200));
    let helpers = ping_reqs(&sent, seq);
    assert_eq!(helpers.len(), 3);
    // Every helper says it could not reach the target either: the target is the problem.
    for (_, helper) in &helpers {
        let nack = packet(helper, Message::Nack { seq }, vec![]);
        a.handle_packet(start + MS(690), nack);
    }
    assert_eq!(a.counters().nacks_received, 3);
    run(&mut a, start + MS(200), start + MS(800));
    assert_eq!(a.member(&target).expect("known").status, Status::Suspect);
    assert_eq!(a.local_health(), 0, "nacks came: our health is fine");
}

#[test]
fn refuting_a_suspicion_of_ourselves_raises_health() {
    let mut a = member(quiet(ProtocolConfig::default()), &FIVE);
    let accusation = Update {
        clock: a.local().clock,
        ..suspect("a:1", Some("b:1"))
    };
    a.handle_packet(MS(10), packet("b:1", Message::GossipOnly, vec![accusation]));
    assert_eq!(a.local().status, Status::Online);
    assert_eq!(a.local_health(), 1);
}

#[test]
fn without_lifeguard_health_stays_zero_and_timeouts_are_fixed() {
    let config = ProtocolConfig {
        lifeguard: false,
        ..quiet(ProtocolConfig::default())
    };
    let mut a = member(config, &FIVE);
    let (start, _, seq) = next_probe(&mut a, T0);
    let sent = run(&mut a, start, start + Duration::from_secs(3));
    let rounds = ping_reqs(&sent, seq);
    // Rounds at 200, 400 and 600 ms, no second chance.
    let times: Vec<Duration> = rounds.iter().step_by(3).map(|r| r.0 - start).collect();
    assert_eq!(rounds.len(), 9);
    assert_eq!(times, [MS(200), MS(400), MS(600)]);
    assert_eq!(a.local_health(), 0);
}

/// `a:1` learns at `at` that x:1 is SUSPECT, accused by b:1, and hears `confirmers`
/// confirm it at `at + 1 s`; returns when it declared x:1 OFFLINE.
fn offline_after(config: ProtocolConfig, confirmers: &[&str]) -> Duration {
    let mut others = vec!["x:1"];
    others.extend(FIVE);
    others.extend(["g:1", "h:1"]);
    let mut a = member(quiet(config), &others);
    let at = MS(100);
    let news = packet(
        "b:1",
        Message::GossipOnly,
        vec![suspect("x:1", Some("b:1"))],
    );
    a.handle_packet(at, news);
    assert_eq!(a.member("x:1").expect("known").status, Status::Suspect);
    for confirmer in confirmers {
        let confirmation = suspect("x:1", Some(confirmer));
        a.handle_packet(
            at + Duration::from_secs(1),
            packet("c:1", Message::GossipOnly, vec![confirmation]),
        );
    }
    let mut now = at + Duration::from_secs(1);
    while a.member("x:1").expect("known").status == Status::Suspect {
        assert!(now < Duration::from_secs(60), "never OFFLINE");
        now += STEP;
        a.handle_timeout(now);
        drain(&mut a);
    }
    now - at
}

#[test]
fn suspicion_shrinks_with_confirmations_between_min_and_max() {
    let config = ProtocolConfig::default();
    assert_eq!(config.suspect_timeout, Duration::from_secs(4));
    assert_eq!(
        (config.suspicion_max_mult, config.suspicion_confirmations),
        (3, 3)
    );
    // No confirmation: the maximum, 3 × 4 s.
    assert_eq!(offline_after(config.clone(), &[]), Duration::from_secs(12));
    // One: log(2)/log(4) of the way down, 8 s; two: 5.66 s; three: the minimum.
    assert_eq!(
        offline_after(config.clone(), &["d:1"]),
        Duration::from_secs(8)
    );
    assert_eq!(offline_after(config.clone(), &["d:1", "e:1"]), MS(5660));
    assert_eq!(
        offline_after(config.clone(), &["d:1", "e:1", "f:1"]),
        Duration::from_secs(4)
    );
    // More never go below the minimum.
    let many = ["d:1", "e:1", "f:1", "g:1", "h:1"];
    assert_eq!(offline_after(config.clone(), &many), Duration::from_secs(4));
}

#[test]
fn only_new_known_accusers_confirm() {
    let config = ProtocolConfig::default();
    // The first accuser again, the same one twice, a name nobody knows, the suspect itself
    // and ourselves: one confirmation (d:1) in all.
    let noise = ["b:1", "d:1", "d:1", "nobody:1", "x:1", "a:1"];
    assert_eq!(
        offline_after(config.clone(), &noise),
        Duration::from_secs(8)
    );
}

#[test]
fn without_lifeguard_or_on_seed_rules_the_suspicion_is_fixed() {
    let off = ProtocolConfig {
        lifeguard: false,
        ..ProtocolConfig::default()
    };
    let seed_rules = ProtocolConfig {
        wire: Wire::Python,
        ..ProtocolConfig::default()
    };
    for config in [off, seed_rules] {
        assert_eq!(offline_after(config.clone(), &[]), Duration::from_secs(4));
        assert_eq!(
            offline_after(config, &["d:1", "e:1"]),
            Duration::from_secs(4)
        );
    }
}

#[test]
fn a_confirmation_is_passed_on_naming_its_accuser() {
    let mut others = vec!["x:1"];
    others.extend(FIVE);
    let mut a = member(quiet(ProtocolConfig::default()), &others);
    a.handle_packet(
        MS(100),
        packet(
            "b:1",
            Message::GossipOnly,
            vec![suspect("x:1", Some("b:1"))],
        ),
    );
    drain(&mut a);
    a.handle_packet(
        MS(200),
        packet(
            "c:1",
            Message::GossipOnly,
            vec![suspect("x:1", Some("d:1"))],
        ),
    );
    let sent: Vec<Packet> = std::iter::from_fn(|| a.poll_transmit())
        .map(|t| t.packet)
        .collect();
    let names_d = |p: &Packet| {
        p.gossip
            .iter()
            .any(|u| *u.name == *"x:1" && u.accuser.as_deref() == Some("d:1"))
    };
    assert!(
        sent.iter().any(names_d),
        "the new accuser is gossiped: {sent:?}"
    );
}

#[test]
fn a_member_woken_late_asks_helpers_before_it_judges() {
    for lifeguard in [true, false] {
        let config = ProtocolConfig {
            lifeguard,
            ..quiet(ProtocolConfig::default())
        };
        let mut a = member(config, &FIVE);
        let (start, target, seq) = next_probe(&mut a, T0);
        // The driver wakes us 2 s late (we are slow): the ack is waiting behind the timer.
        let late = start + Duration::from_secs(2);
        a.handle_timeout(late);
        let sent: Vec<_> = drain(&mut a)
            .into_iter()
            .map(|(to, m)| (late, to, m))
            .collect();
        let status = a.member(&target).expect("known").status;
        if lifeguard {
            assert_eq!(ping_reqs(&sent, seq).len(), 3, "the round it owed");
            assert_eq!(status, Status::Online, "not judged yet");
            let ack = Message::Ack {
                seq,
                alive: source(&target),
                known: 0,
                window: None,
            };
            a.handle_packet(late + MS(1), packet(&target, ack, vec![]));
            run(&mut a, late, late + Duration::from_secs(3));
            assert_eq!(a.member(&target).expect("known").status, Status::Online);
        } else {
            assert_eq!(
                status,
                Status::Suspect,
                "plain SWIM judges on the stale timer"
            );
        }
    }
}
