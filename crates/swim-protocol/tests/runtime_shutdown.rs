//! Shutting down leaves nothing running.

mod support;

use std::time::Duration;

use support::{eventually, start_members, start_online};
use swim_protocol::{Metadata, WireKind};
use tokio::net::{TcpListener, UdpSocket};

const SECRET: &[u8] = b"test secret";

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test]
async fn shutdown_ends_every_task_and_frees_the_ports() {
    let idle = alive_tasks();
    let members = start_online(3, SECRET, WireKind::Native).await;
    let mut events = members[0].subscribe();
    members[0].on_change(|_| {});
    // Leave TCP sends and name lookups in flight at shutdown.
    let big = Metadata::empty().with("blob", vec![7u8; 20_000]);
    members[1].set_local_metadata(big);
    assert!(alive_tasks() > idle);
    let addrs: Vec<_> = members.iter().map(|m| m.addr()).collect();
    let clone = members[0].clone();
    for member in members {
        member.shutdown().await;
    }
    assert_eq!(alive_tasks(), idle, "tasks left running");
    // The stream ends once the buffered changes are read.
    let drained = tokio::time::timeout(Duration::from_secs(1), async {
        while events.recv().await.is_some() {}
    });
    assert!(drained.await.is_ok(), "the event stream did not end");
    // Another handle still answers, and shutting it down again is harmless.
    assert_eq!(clone.members().len(), 3);
    assert!(clone.subscribe().recv().await.is_none());
    clone.shutdown().await;
    for addr in addrs {
        UdpSocket::bind(addr).await.expect("udp port freed");
        TcpListener::bind(addr).await.expect("tcp port freed");
    }
}

#[tokio::test]
async fn dropping_every_handle_stops_the_member() {
    let idle = alive_tasks();
    let members = start_members(2, SECRET).await;
    let mut events = members[0].subscribe();
    drop(members);
    eventually(Duration::from_secs(5), "tasks end", || async {
        alive_tasks() == idle
    })
    .await;
    while events.recv().await.is_some() {}
}
