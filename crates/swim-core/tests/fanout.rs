//! Eager fanout: news goes at once to as many members as its retransmission budget (join
//! news to `fanout`), bursts are batched within a budget of eager packets, and every send
//! counts against the record's retransmission budget.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{
    MemberName, Message, Metadata, Packet, ProtocolConfig, Source, Status, Swim, Update, Validity,
};

const MEMBERS: usize = 20;

fn meta(v: &str) -> Metadata {
    [("k", v)].into_iter().collect()
}

fn name(i: usize) -> MemberName {
    format!("m{i}:1").into()
}

fn record(i: usize, clock: u64, value: &str) -> Update {
    Update {
        name: name(i),
        clock,
        status: Status::Online,
        metadata: Some(meta(value)),
        accuser: None,
        left: false,
        delta: None,
    }
}

fn from(i: usize, message: Message, gossip: Vec<Update>) -> Packet {
    Packet {
        app: Default::default(),
        source: Source {
            name: name(i),
            validity: Validity([i as u8; 8]),
        },
        message,
        gossip,
    }
}

fn drain(swim: &mut Swim<StdRng>) -> Vec<(MemberName, Packet)> {
    std::iter::from_fn(|| swim.poll_transmit())
        .map(|t| (t.to, t.packet))
        .collect()
}

/// A member that knows `MEMBERS` others ONLINE, learned as state transfer (not news).
fn member_knowing_others(fanout: usize) -> Swim<StdRng> {
    let config = ProtocolConfig {
        fanout,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(7);
    let mut swim =
        Swim::new(config, "a:1".into(), meta("a"), [], rng, Duration::ZERO).expect("valid config");
    let records = (0..MEMBERS).map(|i| record(i, 1, "v1")).collect();
    let sync = Message::Sync {
        reply: true,
        full: true,
        records,
    };
    swim.handle_packet(Duration::ZERO, from(0, sync, vec![]));
    drain(&mut swim);
    swim
}

fn carrying<'a>(
    sent: &'a [(MemberName, Packet)],
    update: &'a Update,
) -> impl Iterator<Item = &'a (MemberName, Packet)> {
    sent.iter().filter(move |(_, p)| {
        p.gossip
            .iter()
            .any(|u| u.name == update.name && u.clock == update.clock && u.status == update.status)
    })
}

/// How many times a record is sent among `MEMBERS` others and us: `retransmit_mult ×
/// ceil(log10(22))`.
fn limit(swim: &Swim<StdRng>) -> usize {
    swim.config().retransmit_mult as usize * 2
}

#[test]
fn news_goes_to_its_whole_budget_of_members_at_once_and_not_back() {
    let mut a = member_knowing_others(3);
    let news = record(5, 2, "v2");
    let now = Duration::from_millis(100);
    a.handle_packet(now, from(1, Message::GossipOnly, vec![news.clone()]));
    let sent = drain(&mut a);
    let fanned: Vec<&MemberName> = carrying(&sent, &news).map(|(to, _)| to).collect();
    assert_eq!(fanned.len(), limit(&a), "{sent:?}");
    assert!(
        fanned.iter().all(|to| **to != name(1)),
        "not back to the sender"
    );
    let mut distinct = fanned.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), fanned.len());

    // The same record again is not news: nothing is sent.
    a.handle_packet(now, from(2, Message::GossipOnly, vec![news]));
    assert!(drain(&mut a).is_empty());
}

#[test]
fn without_fanout_news_waits_for_gossip() {
    let mut a = member_knowing_others(0);
    let news = record(5, 2, "v2");
    a.handle_packet(
        Duration::from_millis(100),
        from(1, Message::GossipOnly, vec![news]),
    );
    assert!(drain(&mut a).is_empty());
}

#[test]
fn a_burst_is_batched_into_one_fanout_per_window() {
    let mut a = member_knowing_others(3);
    let window = a.config().sync_interval / 4;
    let start = Duration::from_millis(100);
    let burst: Vec<Update> = (1..=12).map(|i| record(i, 2, "v2")).collect();
    for (k, news) in burst.iter().enumerate() {
        let now = start + Duration::from_micros(k as u64);
        a.handle_packet(now, from(0, Message::GossipOnly, vec![news.clone()]));
    }
    let sent = drain(&mut a);
    assert_eq!(
        sent.len(),
        limit(&a),
        "only the first news of the burst goes at once"
    );
    // The rest goes together when the window ends.
    let due = a.poll_timeout().expect("a deadline");
    assert!(due <= start + window, "{due:?}");
    a.handle_timeout(start + window);
    let sent = drain(&mut a);
    let last = &burst[burst.len() - 1];
    // Eager packets per sync_interval: 4 × fanout, of which the first batch took `limit`
    // (and the announcement of our join, at 0, `fanout` more).
    let left = 4 * 3 - limit(&a);
    assert!(carrying(&sent, last).count() >= 1, "{sent:?}");
    assert!(
        sent.len() <= left + 1,
        "one fanout within the budget left (and at most one gossip tick)"
    );
}

#[test]
fn fanout_counts_against_the_retransmission_budget() {
    let mut a = member_knowing_others(3);
    let limit = limit(&a);
    let news = record(5, 2, "v2");
    let mut now = Duration::from_millis(100);
    a.handle_packet(now, from(1, Message::GossipOnly, vec![news.clone()]));
    let mut sends = carrying(&drain(&mut a), &news).count();
    while now < Duration::from_secs(10) {
        now += Duration::from_millis(10);
        a.handle_timeout(now);
        sends += carrying(&drain(&mut a), &news).count();
    }
    assert!(sends >= 3, "{sends}");
    assert!(sends <= limit, "{sends} transmissions, budget {limit}");
}
