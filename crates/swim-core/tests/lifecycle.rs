//! Graceful leave, reaping and tombstones, driven by hand with explicit time.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    Event, MemberName, Metadata, Packet, ProtocolConfig, Source, Status, Swim, Update,
};

const RETENTION: Duration = Duration::from_secs(60);

fn config() -> ProtocolConfig {
    ProtocolConfig {
        offline_retention: RETENTION,
        ..ProtocolConfig::default()
    }
}

fn member(name: &str, peers: &[&str], seed: u64, now: Duration) -> Swim<StdRng> {
    let peers = peers.iter().map(|p| MemberName::from(*p));
    let meta: Metadata = [("k", name)].into_iter().collect();
    Swim::new(
        config(),
        name.into(),
        meta,
        peers,
        StdRng::seed_from_u64(seed),
        now,
    )
    .expect("valid config")
}

/// Delivers every packet between `members` at once until none is left (at most `rounds`).
fn exchange(members: &mut [&mut Swim<StdRng>], now: Duration, rounds: usize) {
    for _ in 0..rounds {
        let mut sent = Vec::new();
        for m in members.iter_mut() {
            while let Some(t) = m.poll_transmit() {
                sent.push(t);
            }
        }
        if sent.is_empty() {
            return;
        }
        for t in sent {
            if let Some(m) = members.iter_mut().find(|m| *m.local_name() == t.to) {
                m.handle_packet(now, t.packet);
            }
        }
    }
}

fn events(m: &mut Swim<StdRng>) -> Vec<Event> {
    std::iter::from_fn(|| m.poll_event()).collect()
}

/// Three members a, b, c that all see each other ONLINE at `t`.
fn trio() -> (Swim<StdRng>, Swim<StdRng>, Swim<StdRng>, Duration) {
    let t0 = Duration::ZERO;
    let mut a = member("a:1", &[], 1, t0);
    let mut b = member("b:1", &["a:1"], 2, t0);
    let mut c = member("c:1", &["a:1"], 3, t0);
    let mut t = t0;
    for _ in 0..20 {
        t += Duration::from_millis(100);
        for m in [&mut a, &mut b, &mut c] {
            m.handle_timeout(t);
        }
        exchange(&mut [&mut a, &mut b, &mut c], t, 20);
    }
    for m in [&a, &b, &c] {
        for other in ["a:1", "b:1", "c:1"] {
            assert_eq!(m.member(other).map(|s| s.status), Some(Status::Online));
        }
    }
    for m in [&mut a, &mut b, &mut c] {
        events(m);
    }
    (a, b, c, t)
}

#[test]
fn a_leave_is_offline_at_once_with_the_left_flag_and_acknowledged() {
    let (mut a, mut b, mut c, t) = trio();
    a.leave(t);
    assert!(a.has_left() && !a.leave_acknowledged());
    assert_eq!(a.local().status, Status::Offline);
    assert!(a.local().left);
    exchange(&mut [&mut a, &mut b, &mut c], t, 10);
    assert!(a.leave_acknowledged());
    for m in [&mut b, &mut c] {
        let seen = m.member("a:1").expect("known");
        assert_eq!((seen.status, seen.left), (Status::Offline, true));
        let left: Vec<_> = events(m)
            .into_iter()
            .filter_map(|e| match e {
                Event::MemberChanged(c) if c.left() => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(left.len(), 1, "one change says a:1 left");
        assert_eq!(
            left[0].previous.status,
            Status::Online,
            "no SUSPECT on the way"
        );
    }
    // The member that left is silent: nothing to probe, nothing to answer.
    a.handle_timeout(t + Duration::from_secs(5));
    assert!(a.poll_transmit().is_none());
    assert_eq!(a.poll_timeout(), None);
}

/// `b` forgets `a:1` after it left, and later hears a stale record of it from `c`.
#[test]
fn a_forgotten_member_stays_forgotten_whatever_stale_gossip_says() {
    let (mut a, mut b, mut c, t) = trio();
    a.leave(t);
    exchange(&mut [&mut a, &mut b, &mut c], t, 10);
    let stale = Update {
        name: "a:1".into(),
        clock: b.member("a:1").expect("known").clock,
        status: Status::Online,
        metadata: None,
        left: false,
        accuser: None,
    };
    events(&mut b);
    let later = t + RETENTION + Duration::from_secs(2);
    b.handle_timeout(later);
    let forgotten: Vec<_> = events(&mut b)
        .into_iter()
        .filter_map(|e| match e {
            Event::MemberForgotten(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(forgotten.len(), 1);
    assert_eq!(*forgotten[0].name, *"a:1");
    assert!(forgotten[0].left);
    assert!(b.member("a:1").is_none());
    assert_eq!(b.tombstones(), 1);
    // c has not forgotten it and still gossips an old record (equal clock, even ONLINE).
    let packet = Packet {
        app: Default::default(),
        source: Source {
            name: "c:1".into(),
            validity: c.validity(),
        },
        message: swim_core::Message::GossipOnly,
        gossip: vec![stale],
    };
    b.handle_packet(later, packet);
    assert!(b.member("a:1").is_none(), "stale gossip brought it back");
    // The tombstone is dropped after another retention.
    b.handle_timeout(later + RETENTION + Duration::from_secs(2));
    assert_eq!(b.tombstones(), 0);
}

#[test]
fn a_restart_under_a_forgotten_name_rejoins_with_a_newer_clock() {
    let (mut a, mut b, mut c, t) = trio();
    a.leave(t);
    exchange(&mut [&mut a, &mut b, &mut c], t, 10);
    let left_clock = b.member("a:1").expect("known").clock;
    let later = t + RETENTION + Duration::from_secs(2);
    for m in [&mut b, &mut c] {
        m.handle_timeout(later);
        assert!(m.member("a:1").is_none());
    }
    // A new process under the same name, knowing b.
    let mut a2 = member("a:1", &["b:1"], 99, later);
    let mut now = later;
    for _ in 0..30 {
        now += Duration::from_millis(100);
        for m in [&mut a2, &mut b, &mut c] {
            m.handle_timeout(now);
        }
        exchange(&mut [&mut a2, &mut b, &mut c], now, 20);
    }
    for m in [&b, &c] {
        let seen = m.member("a:1").expect("back");
        assert_eq!((seen.status, seen.left), (Status::Online, false));
        assert!(
            seen.clock > left_clock,
            "the comeback outranks the tombstone"
        );
    }
    assert_eq!(b.tombstones(), 0);
}

#[test]
fn offline_members_are_forgotten_after_the_retention_only() {
    let (mut a, mut b, mut c, t) = trio();
    drop(c.poll_event());
    // c crashes: a and b detect it, then forget it after the retention.
    let mut now = t;
    let mut offline_at = None;
    while now < t + Duration::from_secs(30) {
        now += Duration::from_millis(100);
        for m in [&mut a, &mut b] {
            m.handle_timeout(now);
        }
        exchange(&mut [&mut a, &mut b], now, 20);
        if offline_at.is_none() && b.member("c:1").map(|s| s.status) == Some(Status::Offline) {
            offline_at = Some(now);
        }
    }
    let offline_at = offline_at.expect("c:1 detected OFFLINE");
    let seen = b.member("c:1").expect("still listed");
    assert!(!seen.left, "a crash is not a leave");
    b.handle_timeout(offline_at + RETENTION - Duration::from_secs(2));
    assert!(b.member("c:1").is_some(), "forgotten too early");
    b.handle_timeout(offline_at + RETENTION + Duration::from_secs(2));
    assert!(b.member("c:1").is_none(), "not forgotten");
    assert_eq!(b.len(), 2);
}
