//! Members on real loopback sockets: joining, metadata, failure detection, large packets.

mod support;

use std::time::Duration;

use support::{
    all_online, assert_nothing_dropped, eventually, sees, shutdown_all, spread_metadata,
    start_members, start_online,
};
use swim_protocol::{Cluster, MemberName, Metadata, Status, WireKind};

const SECRET: &[u8] = b"test secret";

#[tokio::test]
async fn five_members_join_and_all_see_all_online() {
    let first = start_members(1, SECRET).await;
    let mut events = first[0].subscribe();
    let others = support::start_members_joining(4, SECRET, first[0].name()).await;
    let members: Vec<_> = first.into_iter().chain(others).collect();
    eventually(
        Duration::from_secs(10),
        "all five see all ONLINE",
        || async { all_online(&members) },
    )
    .await;
    // The first member reported each newcomer going ONLINE.
    let mut online: Vec<MemberName> = Vec::new();
    while let Some(change) = events.try_recv() {
        if change.member.status == Status::Online && !change.member.local {
            online.push(change.member.name);
        }
    }
    for member in &members[1..] {
        assert!(
            online.contains(member.name()),
            "no ONLINE change for {}",
            member.name()
        );
    }
    for member in &members {
        assert_eq!(member.members().len(), 5);
        assert_eq!(member.local().name, *member.name());
    }
    shutdown_all(members).await;
}

#[tokio::test]
async fn a_metadata_change_spreads_to_every_member() {
    let members = start_online(5, SECRET, WireKind::Native).await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    members[4].on_change(move |change| {
        let _ = tx.send(change);
    });
    let changed = members[2].name().clone();
    let metadata = members[2]
        .local()
        .metadata_or_empty()
        .with("role", "leader");
    spread_metadata(&members, 2, &metadata, "everyone sees the new metadata").await;
    let change = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let change = rx.recv().await.expect("callback task alive");
            if change.member.name == changed && change.metadata_changed() {
                return change;
            }
        }
    })
    .await
    .expect("on_change saw the metadata change");
    assert_eq!(change.member.metadata.as_ref(), Some(&metadata));
    assert_eq!(change.previous.metadata_or_empty().get("role"), None);
    shutdown_all(members).await;
}

#[tokio::test]
async fn a_stopped_member_becomes_offline_everywhere() {
    let mut members = start_online(5, SECRET, WireKind::Native).await;
    let victim = members.pop().unwrap();
    let name = victim.name().clone();
    victim.shutdown().await;
    eventually(
        Duration::from_secs(10),
        "the stopped member is OFFLINE everywhere",
        || async { members.iter().all(|m| sees(m, &name, Status::Offline)) },
    )
    .await;
    shutdown_all(members).await;
}

#[tokio::test]
async fn a_large_metadata_value_travels_by_tcp() {
    let members = start_online(3, SECRET, WireKind::Native).await;
    let big: Vec<u8> = (0..10 * 1024).map(|i| (i % 251) as u8).collect();
    let metadata = Metadata::empty().with("blob", big);
    spread_metadata(&members, 1, &metadata, "the 10 KB value reached everyone").await;
    let sender = members[1].stats();
    assert!(sender.tcp_packets_sent > 0, "{sender:?}");
    assert!(sender.tcp_bytes_sent > 10 * 1024, "{sender:?}");
    for receiver in [&members[0], &members[2]] {
        let stats = receiver.stats();
        assert!(stats.tcp_packets_received > 0, "{stats:?}");
        assert_nothing_dropped(receiver);
    }
    shutdown_all(members).await;
}

#[tokio::test]
async fn a_peer_added_at_run_time_is_joined_and_bad_names_are_refused() {
    let a = Cluster::start(support::member_config(SECRET, &[], Metadata::empty()))
        .await
        .unwrap();
    let b = Cluster::start(support::member_config(SECRET, &[], Metadata::empty()))
        .await
        .unwrap();
    // Neither knows the other until told.
    a.add_peer(b.name().as_str()).await.unwrap();
    eventually(Duration::from_secs(10), "a and b meet", || async {
        sees(&a, b.name(), Status::Online) && sees(&b, a.name(), Status::Online)
    })
    .await;
    // Removing the peer does not remove the member: membership comes from the cluster.
    a.remove_peer(b.name().as_str()).await.unwrap();
    assert!(sees(&a, b.name(), Status::Online));
    for bad in ["127.0.0.1:0", "no port", "::1:2001"] {
        let err = a.add_peer(bad).await.unwrap_err().to_string();
        assert!(err.starts_with(&format!("peer {bad:?}: ")), "{err}");
    }
    shutdown_all(vec![a, b]).await;
}
