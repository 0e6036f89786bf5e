//! Hostile pickles, correctly signed with the cluster's secret (so they reach the decoder),
//! sent over UDP and TCP to a running member speaking the Python wire format: each one is
//! refused and counted, nothing changes, and the member keeps working.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::{assert_metadata_still_spreads, eventually, shutdown_all, start_online};
use swim_core::wire::WireFormat;
use swim_protocol::{Cluster, Metadata, WireKind};
use swim_wire_python::PythonWire;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

const SECRET: &[u8] = b"python wire secret";

/// What a forged packet could change: the members known and their metadata (statuses and
/// clocks may move on their own under load with the fast test timings).
fn view(member: &Cluster) -> BTreeSet<(String, Option<Metadata>)> {
    member
        .members()
        .into_iter()
        .map(|m| (m.name.to_string(), m.metadata))
        .collect()
}

/// `SHORT_BINUNICODE text`.
fn s(text: &str) -> Vec<u8> {
    let mut out = vec![0x8c, u8::try_from(text.len()).unwrap()];
    out.extend_from_slice(text.as_bytes());
    out
}

/// `module.name` by `STACK_GLOBAL`.
fn global(module: &str, name: &str) -> Vec<u8> {
    [s(module), s(name), vec![0x93]].concat()
}

/// A new instance of a package class (`EMPTY_TUPLE NEWOBJ`) with its state dict built from
/// `items` (`EMPTY_DICT MARK … SETITEMS BUILD`).
fn object(class: &str, items: &[Vec<u8>]) -> Vec<u8> {
    let mut out = global("swimprotocol.packet", class);
    out.extend_from_slice(&[0x29, 0x81, 0x7d, 0x28]);
    for item in items {
        out.extend_from_slice(item);
    }
    out.extend_from_slice(&[0x75, 0x62]);
    out
}

fn bytes(value: &[u8]) -> Vec<u8> {
    let mut out = vec![0x43, u8::try_from(value.len()).unwrap()];
    out.extend_from_slice(value);
    out
}

fn source(name: &str, validity: &[u8]) -> Vec<u8> {
    object(
        "Source",
        &[s("name"), s(name), s("validity"), bytes(validity)],
    )
}

/// `PROTO 5`, the body, `STOP`.
fn pickle(body: &[u8]) -> Vec<u8> {
    [&[0x80, 5][..], body, b"."].concat()
}

/// A well-formed `Ping` from `name` (the shape the package writes).
fn ping(name: &str) -> Vec<u8> {
    pickle(&object("Ping", &[s("source"), source(name, &[7; 8])]))
}

/// `Gossip` about `name` with the given pickled status and clock.
fn gossip(name: &str, clock: &[u8], status: &[u8]) -> Vec<u8> {
    let state = [
        s("source"),
        source("127.0.0.1:9", &[7; 8]),
        s("name"),
        s(name),
        s("clock"),
        clock.to_vec(),
        s("status"),
        status.to_vec(),
        s("metadata"),
        vec![0x4e],
    ];
    pickle(&object("Gossip", &state))
}

/// `Status(n)` by `REDUCE`.
fn status(n: u8) -> Vec<u8> {
    [
        global("swimprotocol.status", "Status"),
        vec![0x4b, n, 0x85, 0x52],
    ]
    .concat()
}

/// Pickles the package would never send, each an attack or a malformation.
fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    let good = ping("127.0.0.1:9");
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 3);
    vec![
        (
            "os.system('id') by STACK_GLOBAL and REDUCE",
            pickle(&[global("os", "system"), s("id"), vec![0x85, 0x52]].concat()),
        ),
        (
            "builtins.eval by the text GLOBAL opcode",
            pickle(&[b"cbuiltins\neval\n".to_vec(), s("1"), vec![0x85, 0x52]].concat()),
        ),
        (
            "subprocess.Popen by INST",
            pickle(b"(S'id'\nisubprocess\nPopen\n"),
        ),
        (
            "a packet class with a smuggled attribute",
            pickle(&object(
                "Ping",
                &[
                    s("source"),
                    source("127.0.0.1:9", &[7; 8]),
                    s("__reduce__"),
                    s("x"),
                ],
            )),
        ),
        (
            "a validity of 9 bytes",
            pickle(&object(
                "Ping",
                &[s("source"), source("127.0.0.1:9", &[7; 9])],
            )),
        ),
        (
            "Status(8), not a status",
            gossip("127.0.0.1:10", &[0x4b, 5], &status(8)),
        ),
        (
            "a clock that is a string",
            gossip("127.0.0.1:10", &s("5"), &status(1)),
        ),
        (
            "a negative clock",
            gossip("127.0.0.1:10", &[0x8a, 1, 0xff], &status(1)),
        ),
        (
            "a string claiming 4 GiB",
            pickle(&[0x58, 0xff, 0xff, 0xff, 0xff, b'a']),
        ),
        ("10,000 nested marks", pickle(&vec![0x28; 10_000])),
        ("a truncated ping", truncated),
        (
            "bytes after STOP",
            [good.clone(), b"junk".to_vec()].concat(),
        ),
        ("protocol 2", [&[0x80, 2][..], &good[2..]].concat()),
        ("an empty payload", Vec::new()),
    ]
}

#[tokio::test]
async fn hostile_pickles_are_refused_counted_and_change_nothing() {
    let members = start_online(2, SECRET, WireKind::Python).await;
    let target = members[0].addr();
    let before = view(&members[0]);
    let malformed_before = members[0].stats().dropped_malformed;
    let mut rng = rand::rng();
    let attacks = hostile();
    // The well-formed ping decodes: the harness itself is not what gets refused.
    assert!(PythonWire.decode(&ping("127.0.0.1:9")).is_ok());
    for (what, payload) in &attacks {
        assert!(PythonWire.decode(payload).is_err(), "accepted: {what}");
    }

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for (_, payload) in &attacks {
        let frame = swim_wire_python::pack(SECRET, payload, &mut rng).unwrap();
        socket.send_to(&frame, target).await.unwrap();
    }
    // Over TCP as the package sends large packets: the frame, then the connection closes.
    let mut bomb = vec![0x80, 5];
    bomb.extend(std::iter::repeat_n(0x28, 100_000));
    for payload in [bomb, attacks[0].1.clone()] {
        let frame = swim_wire_python::pack(SECRET, &payload, &mut rng).unwrap();
        let mut stream = TcpStream::connect(target).await.unwrap();
        stream.write_all(&frame).await.unwrap();
        stream.shutdown().await.unwrap();
    }
    let expected = attacks.len() as u64 + 2;
    eventually(
        Duration::from_secs(5),
        "every pickle is counted",
        || async { members[0].stats().dropped_malformed - malformed_before >= expected },
    )
    .await;
    let stats = members[0].stats();
    assert_eq!(
        stats.dropped_malformed - malformed_before,
        expected,
        "{stats:?}"
    );
    assert_eq!(stats.dropped_bad_signature, 0, "{stats:?}");
    assert_eq!(view(&members[0]), before);

    // The member still works.
    assert_metadata_still_spreads(&members).await;
    shutdown_all(members).await;
}
