//! Budgets per source for the application's messages: a flood from one origin (or one
//! sender) is cut at its rate while another's messages still get through.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::budget::Rate;
use swim_core::{
    AppBody, AppMessage, AppSection, Event, MemberName, Message, MessagingConfig, Metadata, Packet,
    ProtocolConfig, QueryFilter, ReplyKind, Source, Status, Swim, Update, Validity,
};

const T0: Duration = Duration::from_secs(10);

fn source(name: &str) -> Source {
    Source {
        name: name.into(),
        validity: Validity([7; 8]),
    }
}

/// Member `a:1` with the given messaging limits, which already lists `b:1` and `c:1`
/// ONLINE (the application's messages are taken only from listed members).
fn member_listing_b_and_c(messaging: MessagingConfig) -> Swim<StdRng> {
    let config = ProtocolConfig {
        messaging,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(3);
    let mut a = Swim::new(config, "a:1".into(), Metadata::empty(), [], rng, T0).unwrap();
    for name in ["b:1", "c:1"] {
        let record = Update {
            name: name.into(),
            clock: 1,
            status: Status::Online,
            metadata: Some(Metadata::empty()),
            accuser: None,
            left: false,
            delta: None,
        };
        a.handle_packet(T0, packet(name, Message::GossipOnly, vec![record], vec![]));
    }
    assert!(a.member("b:1").is_some_and(|m| m.status == Status::Online));
    while a.poll_event().is_some() {}
    while a.poll_transmit().is_some() {}
    a
}

fn packet(from: &str, message: Message, gossip: Vec<Update>, app: Vec<AppMessage>) -> Packet {
    Packet {
        source: source(from),
        message,
        gossip,
        app: AppSection {
            messages: app,
            digest: Vec::new(),
        },
    }
}

fn event(origin: &str, seq: u64) -> AppMessage {
    AppMessage {
        origin: source(origin),
        seq,
        body: AppBody::Event {
            name: "flood".to_owned(),
            payload: Arc::from(&b"x"[..]),
            coalesce: false,
        },
    }
}

fn query(origin: &str, seq: u64) -> AppMessage {
    AppMessage {
        origin: source(origin),
        seq,
        body: AppBody::Query {
            name: "who".to_owned(),
            payload: Arc::from(&b"?"[..]),
            filter: QueryFilter::default(),
            timeout: Duration::from_secs(5),
            ack: false,
            relay: 0,
        },
    }
}

/// The origins (or senders) of the application's messages handed over, one per message.
fn handed_over(a: &mut Swim<StdRng>) -> Vec<MemberName> {
    std::iter::from_fn(|| a.poll_event())
        .filter_map(|event| match event {
            Event::UserEvent { id, .. } | Event::Query { id, .. } => Some(id.origin.name),
            Event::Direct { from, .. } => Some(from),
            _ => None,
        })
        .collect()
}

fn count(names: &[MemberName], name: &str) -> usize {
    names.iter().filter(|n| ***n == *name).count()
}

#[test]
fn an_origins_event_flood_is_cut_at_its_rate_and_another_origin_gets_through() {
    let mut a = member_listing_b_and_c(MessagingConfig {
        events_per_origin: Rate::new(10.0, 5.0),
        ..MessagingConfig::default()
    });
    // b floods 50 events of its own, and passes on 3 of c's in the same packet.
    let mut app: Vec<AppMessage> = (1..=50).map(|seq| event("b:1", seq)).collect();
    app.extend((1..=3).map(|seq| event("c:1", seq)));
    a.handle_packet(T0, packet("b:1", Message::GossipOnly, vec![], app));
    let handed = handed_over(&mut a);
    assert_eq!(count(&handed, "b:1"), 5, "b's burst");
    assert_eq!(count(&handed, "c:1"), 3, "c is not b");
    assert_eq!(a.counters().app_over_budget, 45);
    assert_eq!(a.counters().app_dropped, 45);

    // Then b sends one every 50 ms for 2 s, again from the first one dropped: 10 a second
    // are taken (those dropped before were not marked seen).
    let mut taken = 0;
    for (step, seq) in (6..=45).enumerate() {
        let now = T0 + Duration::from_millis(50) * (step as u32 + 1);
        a.handle_packet(
            now,
            packet("b:1", Message::GossipOnly, vec![], vec![event("b:1", seq)]),
        );
        taken += count(&handed_over(&mut a), "b:1");
    }
    assert_eq!(taken, 20, "b's rate");
    assert_eq!(a.counters().app_over_budget, 45 + 20);
    assert_eq!(a.counters().app_duplicates, 0);
}

#[test]
fn an_origins_query_flood_is_neither_handed_over_nor_passed_on() {
    let mut a = member_listing_b_and_c(MessagingConfig {
        queries_per_origin: Rate::new(2.0, 4.0),
        ..MessagingConfig::default()
    });
    let mut app: Vec<AppMessage> = (1..=40).map(|seq| query("b:1", seq)).collect();
    app.push(query("c:1", 1));
    a.handle_packet(T0, packet("b:1", Message::GossipOnly, vec![], app));
    let handed = handed_over(&mut a);
    assert_eq!(count(&handed, "b:1"), 4);
    assert_eq!(count(&handed, "c:1"), 1);
    assert_eq!(a.counters().app_over_budget, 36);
    // Only the queries within budget are passed on: 5 in all, on the packets gossip sends.
    let mut passed_on = std::collections::HashSet::new();
    let mut now = T0;
    for _ in 0..100 {
        now += Duration::from_millis(200);
        a.handle_timeout(now);
        while let Some(transmit) = a.poll_transmit() {
            for message in transmit.packet.app.messages {
                passed_on.insert((message.origin.name, message.seq));
            }
        }
    }
    assert_eq!(passed_on.len(), 5, "{passed_on:?}");
}

#[test]
fn a_senders_direct_messages_and_relays_are_cut_at_their_rate() {
    let mut a = member_listing_b_and_c(MessagingConfig {
        directs_per_sender: Rate::new(10.0, 3.0),
        relays_per_sender: Rate::new(10.0, 2.0),
        ..MessagingConfig::default()
    });
    let direct = |id| Message::Direct {
        id,
        payload: Arc::from(&b"hi"[..]),
    };
    for id in 1..=20 {
        a.handle_packet(T0, packet("b:1", direct(id), vec![], vec![]));
    }
    a.handle_packet(T0, packet("c:1", direct(1), vec![], vec![]));
    let handed = handed_over(&mut a);
    assert_eq!(count(&handed, "b:1"), 3);
    assert_eq!(count(&handed, "c:1"), 1);
    let acks = std::iter::from_fn(|| a.poll_transmit())
        .filter(|t| matches!(t.packet.message, Message::DirectAck { .. }))
        .count();
    assert_eq!(acks, 4, "only the messages taken are acknowledged");

    // b asks a to relay 20 replies to c's query: 2 are forwarded.
    for seq in 1..=20 {
        let reply = Message::QueryReply {
            querier: "c:1".into(),
            seq,
            responder: "b:1".into(),
            reply: ReplyKind::Ack,
        };
        a.handle_packet(T0, packet("b:1", reply, vec![], vec![]));
    }
    let relayed = std::iter::from_fn(|| a.poll_transmit())
        .filter(|t| matches!(t.packet.message, Message::QueryReply { .. }))
        .count();
    assert_eq!(relayed, 2);
    assert_eq!(a.counters().app_over_budget, 17 + 18);
}

#[test]
fn a_member_inventing_origins_is_cut_at_its_own_rate() {
    let mut a = member_listing_b_and_c(MessagingConfig {
        new_per_sender: Rate::new(10.0, 20.0),
        ..MessagingConfig::default()
    });
    // b claims to pass on one event each from 100 origins (within each origin's budget).
    let forged: Vec<AppMessage> = (0..100).map(|i| event(&format!("o:{i}"), 1)).collect();
    a.handle_packet(T0, packet("b:1", Message::GossipOnly, vec![], forged));
    assert_eq!(handed_over(&mut a).len(), 20, "b's burst of new messages");
    assert_eq!(a.counters().app_over_budget, 80);
    // c passes on the same messages: its own budget, and b's are new to a.
    let relayed: Vec<AppMessage> = (0..10).map(|i| event(&format!("o:{i}"), 1)).collect();
    a.handle_packet(T0, packet("c:1", Message::GossipOnly, vec![], relayed));
    let handed = handed_over(&mut a);
    assert_eq!(
        handed.len(),
        0,
        "o:0-9 came through b: duplicates cost nothing"
    );
    assert_eq!(a.counters().app_duplicates, 10);
    let more: Vec<AppMessage> = (50..60).map(|i| event(&format!("o:{i}"), 1)).collect();
    a.handle_packet(T0, packet("c:1", Message::GossipOnly, vec![], more));
    assert_eq!(handed_over(&mut a).len(), 10, "c is not b");
}
