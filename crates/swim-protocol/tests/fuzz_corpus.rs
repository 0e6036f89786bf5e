//! Replays the committed fuzz corpus (`fuzz/corpus/TARGET/*`) through the fuzz targets'
//! checks on the stable toolchain, so that every input the fuzzer once found interesting
//! (crashes fixed included) stays a regression test. The fuzz targets themselves run with
//! cargo-fuzz on nightly (see `fuzz/Cargo.toml` and `docs/SECURITY.md`).

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

use swim_core::wire::encode;
use swim_core::{
    AppBody, AppMessage, AppSection, KeyTest, MemberName, Message, MetaDelta, Metadata, Packet,
    QueryFilter, ReplyKind, Source, Status, Update, Validity,
};

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 5] = [
    ("native_decode", checks::native_decode),
    ("signed_frame", checks::signed_frame),
    ("encrypted_frame", checks::encrypted_frame),
    ("pickle_decode", checks::pickle_decode),
    ("core_packets", checks::core_packets),
];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn the_committed_corpus_passes_every_check() {
    for (target, check) in TARGETS {
        let dir = corpus_dir(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 10,
            "{target}: only {} corpus files in {}",
            files.len(),
            dir.display()
        );
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{target}: {} fails", file.display());
        }
        println!("{target}: {} inputs", files.len());
    }
}

/// Seed packets: every message kind, with and without gossip and metadata.
fn seed_packets() -> Vec<Packet> {
    let source = |name: &str, v: u8| Source {
        name: MemberName::from(name),
        validity: Validity([v; 8]),
    };
    let record = |name: &str, clock: u64, status: Status, meta: bool| Update {
        name: MemberName::from(name),
        clock,
        status,
        metadata: meta.then(|| Metadata::empty().with("role", "db").with("zone", "a")),
        accuser: None,
        left: false,
        delta: None,
    };
    let gossip = vec![
        record("10.0.0.1:7946", 3, Status::Suspect, false),
        record("10.0.0.3:7946", 9, Status::Online, true),
        record("10.0.0.4:7946", 1, Status::Offline, true),
    ];
    // A change of 10.0.0.3's map after clock 9 as a delta (its digest right), and one whose
    // digest matches no map (the receiver must ask for the whole map).
    let before = Metadata::empty().with("role", "db").with("zone", "a");
    let after = before.with("zone", "b").without("role");
    let delta = |clock: u64, digest: u64| Update {
        metadata: None,
        delta: Some(Box::new(MetaDelta {
            digest,
            ..MetaDelta::between(9, &before, &after)
        })),
        ..record("10.0.0.3:7946", clock, Status::Online, false)
    };
    let deltas = vec![delta(10, after.digest()), delta(11, 0xdead_beef)];
    let from = source("10.0.0.2:7946", 2);
    let messages = vec![
        Message::Ping {
            seq: 1,
            known: 3,
            window: None,
        },
        Message::PingReq {
            seq: 7,
            target: MemberName::from("10.0.0.3:7946"),
        },
        Message::Ack {
            seq: 1,
            alive: source("10.0.0.3:7946", 3),
            known: 9,
            window: None,
        },
        Message::Gossip(record("10.0.0.1:7946", 5, Status::Offline, true)),
        Message::GossipAck {
            name: MemberName::from("10.0.0.2:7946"),
            clock: 2,
        },
        Message::GossipOnly,
        Message::Sync {
            reply: false,
            full: true,
            records: vec![record("10.0.0.2:7946", 1, Status::Online, true)],
        },
        Message::Sync {
            reply: true,
            full: true,
            records: gossip.clone(),
        },
        Message::Sync {
            reply: false,
            full: false,
            records: gossip.clone(),
        },
        Message::QueryReply {
            querier: MemberName::from("10.0.0.3:7946"),
            seq: 4,
            responder: MemberName::from("10.0.0.2:7946"),
            reply: ReplyKind::Response(b"shard-7".as_slice().into()),
        },
        Message::Direct {
            id: 3,
            payload: b"hello".as_slice().into(),
        },
        Message::DirectAck { id: 3 },
        Message::Sync {
            reply: true,
            full: false,
            records: deltas.clone(),
        },
        Message::Gossip(deltas[0].clone()),
    ];
    let mut packets = Vec::new();
    for message in messages {
        for with_gossip in [false, true] {
            packets.push(Packet {
                app: Default::default(),
                source: from.clone(),
                message: message.clone(),
                gossip: if with_gossip { gossip.clone() } else { vec![] },
            });
        }
    }
    // The application's section: an event, a query with a filter, and a digest.
    let app = AppSection {
        messages: vec![
            AppMessage {
                origin: source("10.0.0.3:7946", 3),
                seq: 1,
                body: AppBody::Event {
                    name: "reload".to_owned(),
                    payload: b"v42".as_slice().into(),
                    coalesce: true,
                },
            },
            AppMessage {
                origin: source("10.0.0.4:7946", 4),
                seq: 9,
                body: AppBody::Query {
                    name: "who".to_owned(),
                    payload: b"?".as_slice().into(),
                    filter: QueryFilter {
                        names: vec![MemberName::from("10.0.0.1:7946")],
                        metadata: vec![("role".to_owned(), KeyTest::Matches("d*".to_owned()))],
                    },
                    timeout: std::time::Duration::from_secs(2),
                    ack: true,
                    relay: 2,
                },
            },
        ],
        digest: vec![(source("10.0.0.3:7946", 3), 1)],
    };
    packets.push(Packet {
        app,
        source: from.clone(),
        message: Message::GossipOnly,
        gossip: gossip.clone(),
    });
    packets
}

/// Writes the seed inputs the corpus grew from. Run once by hand (it is not a check):
/// `cargo test -p swim-protocol --test fuzz_corpus -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes files; run by hand to (re)create the fuzz seeds"]
fn write_seed_corpus() {
    let packets = seed_packets();
    let payloads: Vec<Vec<u8>> = packets.iter().map(encode).collect();
    let pickles: Vec<Vec<u8>> = packets
        .iter()
        .flat_map(swim_wire_python::from_core)
        .map(|p| swim_wire_python::pickle_packet(&p))
        .collect();
    let mut sequences = Vec::new();
    for (i, window) in payloads.windows(4).enumerate() {
        let mut seq = Vec::new();
        for payload in window {
            seq.push((i * 37 % 200) as u8);
            seq.extend_from_slice(&(payload.len() as u16).to_le_bytes());
            seq.extend_from_slice(payload);
        }
        sequences.push(seq);
    }
    let write = |target: &str, inputs: &[Vec<u8>]| {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, input) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:02}")), input).unwrap();
        }
    };
    write("native_decode", &payloads);
    write("signed_frame", &payloads);
    write("encrypted_frame", &payloads);
    write("pickle_decode", &pickles);
    write("core_packets", &sequences);
}
