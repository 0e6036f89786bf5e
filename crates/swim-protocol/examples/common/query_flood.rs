//! `bench_flood --queries 1`: a member of the cluster (it holds the secret and answers
//! probes, so every member lists it ONLINE) floods every member with new queries and user
//! events of its own, as fast as it can. The members' budgets per origin
//! (`MessagingConfig::{queries,events}_per_origin`) bound what their applications are
//! handed, and with it the answers sent back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swim_core::budget::Rate;
use swim_core::wire::{decode, encode};
use swim_core::{
    AppBody, AppMessage, AppSection, Message, MessageKind, MessagingConfig, Metadata, Packet,
    QueryFilter, Source, Status, Update, Validity,
};
use swim_protocol::frame::{FrameSettings, Framer};
use swim_protocol::{Cluster, MemberName};
use tokio::net::UdpSocket;

/// Queries and events in each flood packet (small payloads: the flood is in their number).
const PER_PACKET: u64 = 4;
/// The query's name, answered by every member.
pub const QUERY: &str = "flood";
/// Through how many members each answer is relayed: the most a query may ask.
const RELAY: u8 = swim_core::MAX_RELAY;

/// The members' side: every member answers the flood's query and counts what it was
/// handed; returns the counter.
pub async fn answer(members: &[Cluster]) -> Arc<AtomicU64> {
    let handed = Arc::new(AtomicU64::new(0));
    for member in members {
        let handed = handed.clone();
        member
            .on_query(QUERY, move |_| {
                handed.fetch_add(1, Ordering::Relaxed);
                Some(b"here".to_vec())
            })
            .await;
    }
    handed
}

/// The members' report line: queries answered, events and queries handed over by the
/// protocol, and those dropped over budget.
pub fn report(members: &[Cluster], answered: &AtomicU64) -> String {
    let stats: Vec<_> = members.iter().map(Cluster::stats).collect();
    // Frames refused before the protocol: none is expected from a member with the secret.
    let refused = |s: &swim_protocol::stats::StatsSnapshot| {
        s.dropped_bad_signature + s.dropped_malformed + s.dropped_replayed + s.dropped_wrong_label
    };
    format!(
        "received={} refused={} queries_answered={} app_delivered={} app_dropped={} over_budget={}",
        stats.iter().map(|s| s.udp_packets_received).sum::<u64>(),
        stats.iter().map(refused).sum::<u64>(),
        answered.load(Ordering::Relaxed),
        stats.iter().map(|s| s.protocol.app_delivered).sum::<u64>(),
        stats.iter().map(|s| s.protocol.app_dropped).sum::<u64>(),
        stats
            .iter()
            .map(|s| s.protocol.app_over_budget)
            .sum::<u64>(),
    )
}

/// A field `key=N` of a report line.
pub fn field(line: &str, key: &str) -> u64 {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The most a member hands over from one origin in `seconds`: its burst and its rate.
pub fn bound(rate: Rate, seconds: f64) -> f64 {
    rate.burst + rate.per_second * seconds
}

/// What the flood sent and received.
pub struct Outcome {
    /// Packets sent, and their bytes.
    pub sent: u64,
    pub sent_bytes: u64,
    /// Queries and events in them.
    pub published: u64,
    /// Answers (acks and responses, direct or relayed) that came back.
    pub answers: u64,
    /// Seconds the flood lasted.
    pub elapsed: f64,
}

/// The hostile member `own` floods `targets` (round robin) for `seconds` at up to `rate`
/// packets a second; it answers every ping so that it stays ONLINE.
pub async fn flood(
    own: &str,
    secret: &[u8],
    settings: FrameSettings,
    targets: &[String],
    rate: u64,
    seconds: u64,
) -> Outcome {
    let socket = Arc::new(UdpSocket::bind(own).await.expect("attacker binds"));
    let source = Source {
        name: own.into(),
        validity: Validity([0x66; 8]),
    };
    let framer = Arc::new(Framer::new(secret, own, settings.clone()));
    let answers = Arc::new(AtomicU64::new(0));
    let listener = {
        let (socket, framer, answers, source) = (
            socket.clone(),
            framer.clone(),
            answers.clone(),
            source.clone(),
        );
        let opener = Framer::new(secret, own, settings);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Some(packet) = opener.open(&buf[..n]).ok().and_then(|p| decode(&p).ok()) else {
                    continue;
                };
                match packet.message {
                    Message::Ping { seq, .. } => {
                        let ack = bare(
                            &source,
                            Message::Ack {
                                seq,
                                alive: source.clone(),
                                known: 0,
                                window: None,
                            },
                        );
                        let frame = framer.seal(&encode(&ack), &packet.source.name);
                        let _ = socket.send_to(&frame, from).await;
                    }
                    ref m if m.kind() == MessageKind::QueryReply => {
                        answers.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        })
    };
    // Join: every member learns our record (and then lists us, so it takes our messages).
    let joined = join_record(&source, 1);
    for target in targets {
        send(&socket, &framer, target, &joined).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let start = Instant::now();
    let (mut sent, mut sent_bytes, mut seq) = (0u64, 0u64, 1_000_000u64);
    let per_tick = (rate / 1000).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    while start.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        for _ in 0..per_tick {
            let to = &targets[(sent % targets.len() as u64) as usize];
            let packet = flood_packet(&source, &mut seq);
            sent_bytes += send(&socket, &framer, to, &packet).await;
            sent += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // The last answers.
    tokio::time::sleep(Duration::from_millis(500)).await;
    listener.abort();
    Outcome {
        sent,
        sent_bytes,
        published: seq - 1_000_000,
        answers: answers.load(Ordering::Relaxed),
        elapsed,
    }
}

/// The members' budgets for one origin.
pub fn budgets() -> MessagingConfig {
    MessagingConfig::default()
}

/// How many answers the attacker can get for `queries` handed over in all: an ack and a
/// response each, sent straight back and through [`RELAY`] members.
pub fn answers_bound(queries: f64) -> f64 {
    queries * 2.0 * (1.0 + f64::from(RELAY))
}

async fn send(socket: &UdpSocket, framer: &Framer, to: &str, packet: &Packet) -> u64 {
    let frame = framer.seal(&encode(packet), &MemberName::from(to));
    match socket.try_send_to(&frame, to.parse().expect("address")) {
        Ok(_) => frame.len() as u64,
        Err(_) => 0,
    }
}

fn bare(source: &Source, message: Message) -> Packet {
    Packet {
        source: source.clone(),
        message,
        gossip: vec![],
        app: AppSection::default(),
    }
}

fn join_record(source: &Source, clock: u64) -> Packet {
    let mut packet = bare(source, Message::GossipOnly);
    packet.gossip.push(Update {
        name: source.name.clone(),
        clock,
        status: Status::Online,
        metadata: Some(Metadata::empty()),
        accuser: None,
        left: false,
        delta: None,
    });
    packet
}

/// [`PER_PACKET`] new queries (to every member, acknowledged, relayed as far as allowed,
/// open for the longest timeout) and as many new events.
fn flood_packet(source: &Source, seq: &mut u64) -> Packet {
    let mut packet = join_record(source, 1);
    for _ in 0..PER_PACKET {
        for query in [true, false] {
            let body = if query {
                AppBody::Query {
                    name: QUERY.to_owned(),
                    payload: Arc::from(&b"?"[..]),
                    filter: QueryFilter::default(),
                    timeout: swim_core::MAX_QUERY_TIMEOUT,
                    ack: true,
                    relay: RELAY,
                }
            } else {
                AppBody::Event {
                    name: "flood".to_owned(),
                    payload: Arc::from(&[0x5a; 64][..]),
                    coalesce: false,
                }
            };
            packet.app.messages.push(AppMessage {
                origin: source.clone(),
                seq: *seq,
                body,
            });
            *seq += 1;
        }
    }
    packet
}
