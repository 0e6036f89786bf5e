//! Fixed test vectors: hand-built packets and their exact bytes, also listed in
//! `docs/wire-format.md`. A change here is a change of the format: bump the version.

use super::super::{decode, encode};
use crate::{
    AppBody, AppMessage, AppSection, MemberName, Message, MetaDelta, Metadata, Packet, Source,
    Status, Update, Validity,
};

fn source() -> Source {
    Source {
        name: "a:1".into(),
        validity: Validity([1, 2, 3, 4, 5, 6, 7, 8]),
    }
}

fn record(name: &str, clock: u64, status: Status, metadata: Option<Metadata>) -> Update {
    Update {
        name: MemberName::from(name),
        clock,
        status,
        metadata,
        accuser: None,
        left: false,
        delta: None,
    }
}

/// A record of a member that left: OFFLINE with the left flag.
fn leave(name: &str, clock: u64, metadata: Option<Metadata>) -> Update {
    Update {
        left: true,
        ..record(name, clock, Status::Offline, metadata)
    }
}

fn packet(message: Message, gossip: Vec<Update>) -> Packet {
    Packet {
        app: Default::default(),
        source: source(),
        message,
        gossip,
    }
}

/// The vectors: a name, the packet, and its encoding in hex.
fn vectors() -> Vec<(&'static str, Packet, &'static str)> {
    let role: Metadata = [("role", "db")].into_iter().collect();
    let kv: Metadata = [("k", "v")].into_iter().collect();
    let kv_leave = kv.clone();
    let kw: Metadata = [("k", "w")].into_iter().collect();
    vec![
        (
            "ping",
            packet(Message::Ping { seq: 1, known: 0, window: None }, vec![]),
            "53570103613a31010203040506070801010000",
        ),
        (
            "ping with gossip",
            packet(
                Message::Ping { seq: 300, known: 0, window: None },
                vec![
                    record("b:2", 5, Status::Online, None),
                    record("c:3", 200, Status::Suspect, Some(Metadata::empty())),
                    record("d:4", 1, Status::Offline, Some(role)),
                ],
            ),
            "53570103613a31010203040506070801ac02000303623a32050003633a33c801810003643a3401820104726f6c65026462",
        ),
        (
            "ping-req",
            packet(
                Message::PingReq {
                    seq: 7,
                    target: "b:2".into(),
                },
                vec![],
            ),
            "53570103613a310102030405060708020703623a3200",
        ),
        (
            "ack",
            packet(
                Message::Ack {
                    seq: 7,
                    alive: Source {
                        name: "b:2".into(),
                        validity: Validity([0xff; 8]),
                    },
                known: 0, window: None },
                vec![],
            ),
            "53570103613a310102030405060708030703623a32ffffffffffffffff0000",
        ),
        (
            "gossip",
            packet(
                Message::Gossip(record("b:2", 2, Status::Online, Some(kv))),
                vec![],
            ),
            "53570103613a3101020304050607080403623a32028001016b017600",
        ),
        (
            "gossip-ack",
            packet(
                Message::GossipAck {
                    name: "b:2".into(),
                    clock: 2,
                },
                vec![],
            ),
            "53570103613a3101020304050607080503623a320200",
        ),
        (
            "gossip only",
            packet(
                Message::GossipOnly,
                vec![record("b:2", 1, Status::Suspect, None)],
            ),
            "53570103613a310102030405060708060103623a320101",
        ),
        (
            "gossip only with leaves",
            packet(
                Message::GossipOnly,
                vec![leave("b:2", 6, None), leave("c:3", 9, Some(kv_leave))],
            ),
            "53570103613a310102030405060708060203623a32064203633a3309c201016b0176",
        ),
        (
            "nack",
            packet(Message::Nack { seq: 7 }, vec![]),
            "53570103613a310102030405060708080700",
        ),
        (
            "suspicion with an accuser",
            packet(
                Message::GossipOnly,
                vec![Update {
                    accuser: Some("c:3".into()),
                    ..record("b:2", 1, Status::Suspect, None)
                }],
            ),
            "53570103613a310102030405060708060103623a32012103633a33",
        ),
        (
            "metadata delta",
            packet(
                Message::GossipOnly,
                vec![Update {
                    delta: Some(Box::new(MetaDelta {
                        base: 7,
                        digest: kw.digest(),
                        set: kw,
                        removed: vec!["r".to_owned()].into(),
                    })),
                    ..record("b:2", 9, Status::Online, None)
                }],
            ),
            "53570103613a310102030405060708060103623a3209100771032d4ecac83b3801016b0177010172",
        ),
        (
            "ping with a push-pull window",
            packet(
                Message::Ping {
                    seq: 7,
                    known: 2,
                    window: Some(vec![
                        record("a:1", 4, Status::Online, None),
                        record("b:2", 3, Status::Suspect, None),
                    ]),
                },
                vec![record("c:3", 1, Status::Online, None)],
            ),
            "53570103613a3101020304050607080907020203613a31040003623a3203010103633a330100",
        ),
        (
            "ack with a push-pull answer",
            packet(
                Message::Ack {
                    seq: 7,
                    alive: source(),
                    known: 2,
                    window: Some(vec![record("b:2", 5, Status::Online, None)]),
                },
                vec![],
            ),
            "53570103613a3101020304050607080a0703613a310102030405060708020103623a32050000",
        ),
        (
            "sync reply",
            packet(
                Message::Sync {
                    reply: true,
                    full: true,
                    records: vec![record("b:2", 3, Status::Online, None)],
                },
                vec![],
            ),
            "53570103613a31010203040506070807030103623a32030000",
        ),
        (
            "user event",
            Packet {
                app: AppSection {
                    messages: vec![AppMessage {
                        origin: source(),
                        seq: 1,
                        body: AppBody::Event {
                            name: "e".to_owned(),
                            payload: b"hi".as_slice().into(),
                            coalesce: false,
                        },
                    }],
                    digest: vec![],
                },
                ..packet(Message::GossipOnly, vec![])
            },
            "53570103613a3101020304050607080600010103613a31010203040506070801010165026869",
        ),
        (
            "direct message",
            packet(
                Message::Direct {
                    id: 5,
                    payload: b"hi".as_slice().into(),
                },
                vec![],
            ),
            "53570103613a3101020304050607080c0502686900",
        ),
    ]
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

#[test]
fn packets_encode_to_the_vectors() {
    for (name, packet, hex) in vectors() {
        assert_eq!(to_hex(&encode(&packet)), hex, "vector {name:?}");
    }
}

#[test]
fn vectors_decode_to_the_packets() {
    for (name, packet, hex) in vectors() {
        assert_eq!(decode(&from_hex(hex)), Ok(packet), "vector {name:?}");
    }
}

#[test]
fn the_format_document_lists_every_vector() {
    let doc = include_str!("../../../../../docs/wire-format.md");
    for (name, _, hex) in vectors() {
        assert!(
            doc.contains(&format!("\n{hex}\n")),
            "vector {name:?} missing from docs/wire-format.md"
        );
    }
}
