//! Issue 23: a member we held OFFLINE that comes back (a healed partition, or a restart)
//! makes us ping every member we still hold SUSPECT or OFFLINE, two probe periods later,
//! instead of one OFFLINE member every 4th period: gossip alone misses a few members of a
//! large heal, which then waited up to a minute for their turn.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    Message, Metadata, Packet, ProtocolConfig, Source, Status, Swim, Update, Validity,
};

const T0: Duration = Duration::ZERO;

fn record(i: usize, clock: u64, status: Status) -> Update {
    Update {
        name: format!("10.0.1.{i}:9000").into(),
        clock,
        status,
        metadata: Some([("role", "member")].into_iter().collect()),
        left: false,
        accuser: None,
    }
}

/// A member that holds members 2..32 OFFLINE (learned in a full answer from member 1).
fn cut_off_member() -> Swim<StdRng> {
    let mut a = Swim::new(
        ProtocolConfig::default(),
        "10.0.1.0:9000".into(),
        Metadata::empty(),
        [],
        StdRng::seed_from_u64(3),
        T0,
    )
    .unwrap();
    let mut records = vec![record(1, 1, Status::Online)];
    records.extend((2..32).map(|i| record(i, 1, Status::Offline)));
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: Source {
                name: "10.0.1.1:9000".into(),
                validity: Validity([1; 8]),
            },
            message: Message::Sync {
                reply: true,
                full: true,
                records,
            },
            gossip: vec![],
        },
    );
    while a.poll_transmit().is_some() {}
    a
}

/// The members pinged by `a` from `from` until `until`, stepping through its timers.
fn pinged(a: &mut Swim<StdRng>, from: Duration, until: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let mut now = from;
    while now <= until {
        a.handle_timeout(now);
        while let Some(t) = a.poll_transmit() {
            if matches!(t.packet.message, Message::Ping { .. }) {
                out.push(t.to.to_string());
            }
        }
        now = a
            .poll_timeout()
            .unwrap_or(until)
            .max(now + Duration::from_millis(1));
    }
    out
}

#[test]
fn a_comeback_pings_every_member_held_offline() {
    let mut a = cut_off_member();
    assert_eq!(
        a.member("10.0.1.5:9000").map(|m| m.status),
        Some(Status::Offline)
    );
    // Member 2 refutes its OFFLINE verdict: a partition healed.
    a.handle_packet(
        T0,
        Packet {
            app: Default::default(),
            source: Source {
                name: "10.0.1.1:9000".into(),
                validity: Validity([1; 8]),
            },
            message: Message::GossipOnly,
            gossip: vec![record(2, 2, Status::Online)],
        },
    );
    while a.poll_transmit().is_some() {}
    let pinged = pinged(&mut a, T0, Duration::from_millis(2500));
    for i in 3..32 {
        let name = format!("10.0.1.{i}:9000");
        assert!(pinged.contains(&name), "{name} not pinged: {pinged:?}");
    }
}

#[test]
fn without_a_comeback_offline_members_are_pinged_one_every_fourth_period() {
    let mut a = cut_off_member();
    let pinged = pinged(&mut a, T0, Duration::from_millis(2500));
    let offline = pinged.iter().filter(|n| *n != "10.0.1.1:9000").count();
    assert!(offline <= 1, "{pinged:?}");
}
