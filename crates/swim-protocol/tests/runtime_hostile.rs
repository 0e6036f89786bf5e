//! Hostile or mistaken senders: a wrong secret and garbage change nothing.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::{
    assert_metadata_still_spreads, eventually, member_config, sees, shutdown_all, start_online,
};
use swim_protocol::frame::Framer;
use swim_protocol::{Cluster, Metadata, Status, WireKind};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

const SECRET: &[u8] = b"test secret";

/// What an observer knows, ignoring timestamps.
fn view(member: &Cluster) -> BTreeSet<(String, Status, Option<Metadata>)> {
    member
        .members()
        .into_iter()
        .map(|m| (m.name.to_string(), m.status, m.metadata))
        .collect()
}

#[tokio::test]
async fn a_member_with_the_wrong_secret_never_joins() {
    let members = start_online(3, SECRET, WireKind::Native).await;
    let before: Vec<_> = members.iter().map(view).collect();
    let peers = [members[0].name().clone()];
    let intruder = Cluster::start(member_config(b"wrong secret", &peers, Metadata::empty()))
        .await
        .unwrap();
    // The intruder keeps knocking; wait until several of its packets were rejected.
    eventually(Duration::from_secs(10), "packets rejected", || async {
        members[0].stats().dropped_bad_signature >= 5
    })
    .await;
    for (member, before) in members.iter().zip(&before) {
        assert_eq!(&view(member), before, "{} changed", member.name());
        assert!(member.members().iter().all(|m| &m.name != intruder.name()));
    }
    assert!(!sees(&intruder, members[0].name(), Status::Online));
    assert_eq!(
        intruder.members().len(),
        2,
        "it knows its seed by name only"
    );
    assert_eq!(
        intruder.stats().udp_packets_received,
        0,
        "nobody answers it"
    );
    intruder.shutdown().await;
    shutdown_all(members).await;
}

#[tokio::test]
async fn garbage_datagrams_and_connections_change_nothing() {
    let members = start_online(2, SECRET, WireKind::Native).await;
    let target = members[0].addr();
    let before = view(&members[0]);
    let signer = Framer::new(SECRET, "127.0.0.1:1", Default::default());
    let to = members[0].name().clone();
    let other = Framer::new(b"other", "127.0.0.1:1", Default::default());
    let mut garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![1],
        vec![0xff; 49],
        vec![1; 49],
        signer.seal(b"", &to),          // valid signature, empty payload
        signer.seal(&[0xff; 300], &to), // valid signature, nonsense payload
        other.seal(b"hi", &to),         // wrong secret
    ];
    for len in [2usize, 17, 50, 100, 1000, 1400, 9000] {
        garbage.push((0..len).map(|i| (i * 7 + len) as u8).collect());
    }
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for datagram in &garbage {
        socket.send_to(datagram, target).await.unwrap();
    }
    for bytes in [
        &b"GET / HTTP/1.0\r\n\r\n"[..],
        &[0, 0, 0, 10, 1, 2],
        &[0xff; 4],
    ] {
        let mut stream = TcpStream::connect(target).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        stream.shutdown().await.unwrap();
    }
    eventually(
        Duration::from_secs(5),
        "every piece of garbage is counted",
        || async {
            let stats = members[0].stats();
            stats.dropped_malformed + stats.dropped_bad_signature >= garbage.len() as u64 + 3
        },
    )
    .await;
    // One carries a valid header and a tag made without the secret; the rest are malformed.
    assert_eq!(members[0].stats().dropped_bad_signature, 1);
    assert_eq!(view(&members[0]), before);
    assert_metadata_still_spreads(&members).await;
    shutdown_all(members).await;
}
