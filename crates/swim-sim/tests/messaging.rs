//! The application's messages at cluster scale: user events reach every member exactly
//! once (under loss, and across a healed partition through push-pull), coalescing keeps
//! only the newest, and a query's filter selects exactly the members that answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use swim_core::{
    Event, KeyTest, MemberChange, Metadata, ProtocolConfig, QueryFilter, QueryRequest, ReplyKind,
};
use swim_sim::{NetworkConfig, Observer, Simulation, Tracker};

/// The membership tracker, plus what each member's application was handed.
struct Watch {
    tracker: Tracker,
    /// (member, event name) -> the payloads handed over, in order.
    events: BTreeMap<(usize, String), Vec<String>>,
    /// Replies to queries: (responder, is an ack).
    replies: Vec<(String, bool)>,
    done: Vec<u64>,
}

impl Observer for Watch {
    fn on_change(&mut self, now: Duration, observer: usize, change: &MemberChange) {
        self.tracker.on_change(now, observer, change);
    }

    fn on_app(&mut self, _now: Duration, observer: usize, event: &Event) {
        match event {
            Event::UserEvent { name, payload, .. } => {
                let text = String::from_utf8_lossy(payload).into_owned();
                self.events
                    .entry((observer, name.clone()))
                    .or_default()
                    .push(text);
            }
            Event::QueryReply { from, reply, .. } => {
                self.replies
                    .push((from.to_string(), matches!(reply, ReplyKind::Ack)));
            }
            Event::QueryDone { seq } => self.done.push(*seq),
            _ => {}
        }
    }
}

fn cluster(
    n: usize,
    seed: u64,
    loss: f64,
    metadata: impl Fn(usize) -> Metadata,
) -> (Simulation, Watch) {
    let network = NetworkConfig {
        loss,
        ..NetworkConfig::default()
    };
    let mut sim = Simulation::new(n, seed, network, ProtocolConfig::default());
    let mut watch = Watch {
        tracker: Tracker::new(n),
        events: BTreeMap::new(),
        replies: Vec::new(),
        done: Vec::new(),
    };
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, metadata(i), peers, &mut watch);
    }
    let mut joined = Duration::ZERO;
    while !watch.tracker.fully_joined() {
        assert!(joined < Duration::from_secs(60), "join not complete");
        joined += Duration::from_millis(100);
        sim.run_until(sim.now() + Duration::from_millis(100), &mut watch);
    }
    (sim, watch)
}

fn payload(text: &str) -> Arc<[u8]> {
    text.as_bytes().into()
}

fn payloads(watch: &Watch, i: usize, name: &str) -> Vec<String> {
    (watch.events)
        .get(&(i, name.to_owned()))
        .cloned()
        .unwrap_or_default()
}

/// How many times each member was handed the event `name`.
fn handed(watch: &Watch, n: usize, name: &str) -> Vec<usize> {
    (0..n).map(|i| payloads(watch, i, name).len()).collect()
}

#[test]
fn events_reach_every_member_exactly_once_under_loss() {
    let n = 60;
    let (mut sim, mut watch) = cluster(n, 3, 0.05, |_| Metadata::empty());
    let mut names = Vec::new();
    for k in 0..30 {
        let name = format!("ev-{k}");
        let from = (k * 7) % n;
        sim.publish(from, &name, payload(&"x".repeat(512)), false, &mut watch)
            .unwrap();
        names.push(name);
        let next = sim.now() + Duration::from_millis(100);
        sim.run_until(next, &mut watch);
    }
    // Gossip reaches nearly every member in a second; push-pull (every 30 s, jittered)
    // repairs what it missed.
    let end = sim.now() + Duration::from_secs(60);
    sim.run_until(end, &mut watch);
    for name in &names {
        assert_eq!(handed(&watch, n, name), vec![1; n], "{name}");
    }
}

#[test]
fn events_published_during_a_partition_cross_it_after_the_heal() {
    let n = 40;
    let (mut sim, mut watch) = cluster(n, 5, 0.0, |_| Metadata::empty());
    sim.split((0..n).map(|i| u32::from(i >= n / 2)).collect());
    let cut = sim.now() + Duration::from_secs(5);
    sim.run_until(cut, &mut watch);
    sim.publish(1, "left-side", payload("a"), false, &mut watch)
        .unwrap();
    sim.publish(n - 1, "right-side", payload("b"), false, &mut watch)
        .unwrap();
    let during = sim.now() + Duration::from_secs(50);
    sim.run_until(during, &mut watch);
    // Neither event crossed the cut.
    assert_eq!(handed(&watch, n, "left-side")[n / 2..], vec![0; n / 2]);
    assert_eq!(handed(&watch, n, "right-side")[..n / 2], vec![0; n / 2]);
    sim.heal();
    let mut waited = 0;
    while handed(&watch, n, "left-side") != vec![1; n]
        || handed(&watch, n, "right-side") != vec![1; n]
    {
        assert!(
            waited < 120,
            "not healed: {:?} {:?}",
            handed(&watch, n, "left-side"),
            handed(&watch, n, "right-side")
        );
        waited += 1;
        let next = sim.now() + Duration::from_secs(1);
        sim.run_until(next, &mut watch);
    }
}

#[test]
fn coalesced_events_hand_over_only_newer_ones() {
    let n = 30;
    let (mut sim, mut watch) = cluster(n, 7, 0.0, |_| Metadata::empty());
    // Five versions at once: most never leave the publisher's queue.
    for v in 0..5 {
        sim.publish(0, "config", payload(&format!("v{v}")), true, &mut watch)
            .unwrap();
    }
    sim.run_until(sim.now() + Duration::from_secs(10), &mut watch);
    assert_eq!(
        payloads(&watch, 0, "config"),
        ["v0", "v1", "v2", "v3", "v4"]
    );
    // v0 left at once (eager fanout); v1 to v3 were replaced in the queue by v4 before
    // they were sent: the others get v0 (if the fanout reached them first) and v4, in order.
    for i in 1..n {
        let got = payloads(&watch, i, "config");
        assert!(got == ["v0", "v4"] || got == ["v4"], "member {i}: {got:?}");
    }
}

#[test]
fn a_query_is_answered_by_exactly_the_members_its_filter_selects() {
    let n = 30;
    let role = |i: usize| -> Metadata {
        let r = if i % 3 == 0 { "db" } else { "web" };
        [("role", r)].into_iter().collect()
    };
    let (mut sim, mut watch) = cluster(n, 11, 0.05, role);
    let request = QueryRequest {
        name: "who-is-db".to_owned(),
        payload: payload("?"),
        filter: QueryFilter {
            names: vec![],
            metadata: vec![("role".to_owned(), KeyTest::Equals(b"db".to_vec()))],
        },
        timeout: Some(Duration::from_secs(3)),
        ack: true,
        relay: 2,
    };
    let seq = sim.query(1, request, &mut watch).unwrap();
    sim.run_until(sim.now() + Duration::from_secs(4), &mut watch);
    let expected: BTreeSet<String> = (0..n)
        .filter(|i| i % 3 == 0)
        .map(|i| swim_sim::member_name(i).to_string())
        .collect();
    let responses: Vec<&String> = (watch.replies.iter())
        .filter(|(_, ack)| !ack)
        .map(|(from, _)| from)
        .collect();
    let acks: BTreeSet<&String> = (watch.replies.iter())
        .filter(|(_, ack)| *ack)
        .map(|(from, _)| from)
        .collect();
    // Each once, despite the relays; every selected member, no other.
    assert_eq!(responses.len(), expected.len(), "{responses:?}");
    assert_eq!(
        responses.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    assert_eq!(acks.into_iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(watch.done, vec![seq]);
}
