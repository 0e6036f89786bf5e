//! Round trips through the real package (`$SWIM_PY_VENV/bin/python`, default `/tmp/pyswim`):
//! Rust writes, Python's own `UdpPack.unpack` reads; Python writes, Rust reads. Skipped with a
//! notice when the virtualenv is missing, unless `SWIM_REQUIRE_PY=1` (set by CI's `.ci/run`,
//! which provides it): then that is a failure.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{packet_from_desc, unhex};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use swim_core::wire::WireFormat;
use swim_core::{MemberName, Message, Metadata, Packet, Source, Status, Update, Validity};
use swim_test_support::ChildGuard;
use swim_wire_python::{from_core, pack, unpack, unpickle_packet, PythonWire, DEFAULT_MTU};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.py");
const DEADLINE: Duration = Duration::from_secs(60);

fn python() -> Option<PathBuf> {
    swim_test_support::python_venv_file("bin/python")
}

/// Runs `vectors.py <args>` with `input` on stdin and returns its stdout, within a deadline.
fn run_script(python: &Path, args: &[&str], input: String) -> String {
    let child = Command::new(python)
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let mut child = ChildGuard(child);
    let mut stdin = child.0.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut stdout = child.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "python did not finish in {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().unwrap().unwrap();
    let out = reader.join().unwrap().unwrap();
    assert!(status.success(), "vectors.py {args:?} failed: {status}");
    out
}

#[test]
fn python_writes_rust_reads() {
    let Some(python) = python() else { return };
    let v: Value =
        serde_json::from_str(&run_script(&python, &["generate", "--big"], String::new())).unwrap();
    let secret = v["secret"].as_str().unwrap().as_bytes();
    let packets = v["packets"].as_array().unwrap();
    assert!(packets.iter().any(|p| p["name"] == "gossip_big_value"));
    for item in packets {
        let name = &item["name"];
        let packed = unhex(&item["packed"]);
        let pickle = unpack(secret, &packed).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = packet_from_desc(&item["packet"]);
        assert_eq!(unpickle_packet(pickle).as_ref(), Ok(&expected), "{name}");
        assert!(PythonWire.decode(pickle).is_ok(), "{name}");
    }
}

fn source(name: &str, byte: u8) -> Source {
    Source {
        name: MemberName::from(name),
        validity: Validity([byte; 8]),
    }
}

fn update(name: &str, clock: u64, status: Status, metadata: Option<Metadata>) -> Update {
    Update {
        name: MemberName::from(name),
        clock,
        status,
        metadata,
        accuser: None,
        left: false,
    }
}

/// Core packets covering every message kind, piggybacked gossip and awkward values.
fn core_packets() -> Vec<Packet> {
    let me = source("127.0.0.1:9001", 0xa5);
    let big: Metadata = (0..1500)
        .map(|i| (format!("key-{i}"), vec![(i % 256) as u8; i % 5]))
        .collect();
    // One value larger than a 64 KiB pickle frame: we write a single frame.
    let odd = Metadata::empty()
        .with("ключ", "✓")
        .with("empty", "")
        .with("blob", vec![7u8; 100_000]);
    let packet = |message, gossip| Packet {
        app: Default::default(),
        source: me.clone(),
        message,
        gossip,
    };
    vec![
        packet(
            Message::Ping {
                seq: 17,
                known: 0,
                window: None,
            },
            vec![
                update("127.0.0.1:9002", 3, Status::Suspect, None),
                update("127.0.0.1:9003", 4, Status::Online, Some(big.clone())),
            ],
        ),
        packet(
            Message::PingReq {
                seq: 2,
                target: "[::1]:9004".into(),
            },
            vec![],
        ),
        packet(
            Message::Ack {
                seq: 2,
                alive: source("[::1]:9004", 0x11),
                known: 0,
                window: None,
            },
            vec![update("x", 1, Status::Offline, Some(Metadata::empty()))],
        ),
        packet(
            Message::Gossip(update("ünï", 1 << 40, Status::Online, Some(odd))),
            vec![],
        ),
        packet(
            Message::GossipAck {
                name: "127.0.0.1:9002".into(),
                clock: u64::MAX,
            },
            vec![],
        ),
        packet(
            Message::GossipOnly,
            vec![update(
                "n".repeat(300).as_str(),
                65536,
                Status::Suspect,
                None,
            )],
        ),
        packet(
            Message::Sync {
                reply: true,
                full: true,
                records: vec![
                    update("a", 1, Status::Online, None),
                    update("b", 2, Status::Offline, Some(big)),
                ],
            },
            vec![update("c", 3, Status::Online, None)],
        ),
    ]
}

#[test]
fn rust_writes_python_reads() {
    let Some(python) = python() else { return };
    let secret = "live secret ✓";
    let mut rng = StdRng::seed_from_u64(1);
    let mut datagrams = Vec::new();
    let mut expected = Vec::new();
    for packet in core_packets() {
        let payloads = PythonWire.encode(&packet);
        let py_packets = from_core(&packet);
        assert_eq!(payloads.len(), py_packets.len());
        for payload in payloads {
            let packed = pack(secret.as_bytes(), &payload, &mut rng).unwrap();
            datagrams.push(json!({"secret": secret, "packed": hex::encode(packed)}));
        }
        expected.extend(py_packets);
    }
    // ping + 2 gossip, ping-req, ack + 1, gossip, gossip-ack, 1 gossip only, 2 records + 1.
    assert_eq!(expected.len(), 3 + 1 + 2 + 1 + 1 + 1 + 3);
    let out = run_script(
        &python,
        &["check"],
        serde_json::to_string(&datagrams).unwrap(),
    );
    let seen: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(seen.len(), expected.len());
    for (i, (seen, expected)) in seen.iter().zip(&expected).enumerate() {
        assert!(!seen.is_null(), "python refused datagram {i}");
        assert_eq!(&packet_from_desc(seen), expected, "datagram {i}");
    }
    // Some datagrams are beyond the UDP size the package sends (it would use TCP).
    let sizes: BTreeMap<bool, usize> = datagrams
        .iter()
        .map(|d| d["packed"].as_str().unwrap().len() / 2 > DEFAULT_MTU)
        .fold(BTreeMap::new(), |mut m, big| {
            *m.entry(big).or_default() += 1;
            m
        });
    assert_eq!(sizes.get(&true), Some(&3), "{sizes:?}");
}

#[test]
fn python_refuses_a_wrong_secret() {
    let Some(python) = python() else { return };
    let packet = &core_packets()[1];
    let payload = &PythonWire.encode(packet)[0];
    let packed = pack(b"one secret", payload, &mut StdRng::seed_from_u64(2)).unwrap();
    let input = json!([
        {"secret": "another secret", "packed": hex::encode(&packed)},
        {"secret": "one secret", "packed": hex::encode(&packed)},
    ]);
    let out = run_script(&python, &["check"], input.to_string());
    let seen: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(seen[0].is_null());
    assert_eq!(seen[1]["type"], "PingReq");
}
