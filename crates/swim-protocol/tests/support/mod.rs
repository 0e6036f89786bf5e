//! Helpers shared by the runtime tests: fast protocol timings, members on free loopback
//! ports, waiting for a condition with a deadline, and the Python package's virtualenv.
#![allow(dead_code, unused_imports)] // each test file uses a subset

use std::future::Future;
use std::time::Duration;

use swim_protocol::{
    Cluster, Config, MemberName, Metadata, ProtocolConfig, Status, StatusSet, WireKind,
};
pub use swim_test_support::{free_port, python_venv_file};

/// Timings ten times faster than the seed's, so that failures are detected in about 1 s.
pub fn fast_protocol() -> ProtocolConfig {
    ProtocolConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(40),
        ping_req_timeout: Duration::from_millis(90),
        suspect_timeout: Duration::from_millis(1000),
        sync_interval: Duration::from_millis(50),
        push_pull_interval: Duration::from_millis(1000),
        ..ProtocolConfig::default()
    }
}

/// A member on a free loopback port, knowing `peers`, with fast timings.
pub fn member_config(secret: &[u8], peers: &[MemberName], metadata: Metadata) -> Config {
    Config::new("127.0.0.1:0")
        .with_peers(peers.iter().map(MemberName::to_string))
        .with_metadata(metadata)
        .with_secret(secret)
        .with_protocol(fast_protocol())
}

/// Starts `n` members sharing `secret`; every member after the first knows the first.
pub async fn start_members(n: usize, secret: &[u8]) -> Vec<Cluster> {
    start_members_speaking(n, secret, WireKind::Native).await
}

/// Starts `n` members speaking `wire` and sharing `secret`; every member after the first
/// knows the first.
pub async fn start_members_speaking(n: usize, secret: &[u8], wire: WireKind) -> Vec<Cluster> {
    let mut members = Vec::new();
    for i in 0..n {
        let peers: Vec<MemberName> = members
            .first()
            .map(|m: &Cluster| m.name().clone())
            .into_iter()
            .collect();
        let metadata = Metadata::empty().with("name", format!("member{i}"));
        let mut config = member_config(secret, &peers, metadata);
        config.protocol.wire = wire;
        members.push(Cluster::start(config).await.unwrap());
    }
    members
}

/// Starts `n` members as [`start_members_speaking`] and waits until all see all ONLINE.
pub async fn start_online(n: usize, secret: &[u8], wire: WireKind) -> Vec<Cluster> {
    let members = start_members_speaking(n, secret, wire).await;
    wait_all_online(&members).await;
    members
}

/// Waits up to 10 s until every member sees every other as ONLINE.
pub async fn wait_all_online(members: &[Cluster]) {
    wait_all_online_within(members, Duration::from_secs(10)).await;
}

/// Waits up to `timeout` until every member sees every other as ONLINE.
pub async fn wait_all_online_within(members: &[Cluster], timeout: Duration) {
    eventually(timeout, "all ONLINE", || async { all_online(members) }).await;
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `observer` sees `name` with `status`.
pub fn sees(observer: &Cluster, name: &MemberName, status: Status) -> bool {
    observer
        .members()
        .iter()
        .any(|m| &m.name == name && m.status == status)
}

/// Whether every member sees every other as ONLINE.
pub fn all_online(members: &[Cluster]) -> bool {
    members.iter().all(|observer| {
        observer.with_status(StatusSet::ONLINE).len() == members.len() - 1
            && members
                .iter()
                .filter(|m| m.name() != observer.name())
                .all(|m| sees(observer, m.name(), Status::Online))
    })
}

/// Whether `observer` knows member `name` with exactly `metadata`.
pub fn has_metadata(observer: &Cluster, name: &MemberName, metadata: &Metadata) -> bool {
    observer
        .members()
        .iter()
        .any(|m| &m.name == name && m.metadata.as_ref() == Some(metadata))
}

/// Sets `metadata` as `members[from]`'s own and waits up to 10 s until every member knows
/// it (`what` names the wait).
pub async fn spread_metadata(members: &[Cluster], from: usize, metadata: &Metadata, what: &str) {
    members[from].set_local_metadata(metadata.clone());
    let name = members[from].name();
    eventually(Duration::from_secs(10), what, || async {
        members
            .iter()
            .all(|observer| has_metadata(observer, name, metadata))
    })
    .await;
}

/// Checks that `members[0]` still works after an attack: a metadata change of its own
/// reaches `members[1]` within 5 s.
pub async fn assert_metadata_still_spreads(members: &[Cluster]) {
    let metadata = Metadata::empty().with("still", "alive");
    members[0].set_local_metadata(metadata.clone());
    let name = members[0].name().clone();
    eventually(Duration::from_secs(5), "metadata spreads", || async {
        has_metadata(&members[1], &name, &metadata)
    })
    .await;
}

/// Checks that `member` dropped no packet as malformed or badly signed.
pub fn assert_nothing_dropped(member: &Cluster) {
    let stats = member.stats();
    assert_eq!(
        stats.dropped_malformed + stats.dropped_bad_signature,
        0,
        "{stats:?}"
    );
}

/// Shuts every member down.
pub async fn shutdown_all(members: Vec<Cluster>) {
    for member in members {
        member.shutdown().await;
    }
}

/// Starts `n` members sharing `secret`, each knowing only `seed`.
pub async fn start_members_joining(n: usize, secret: &[u8], seed: &MemberName) -> Vec<Cluster> {
    let mut members = Vec::new();
    for i in 0..n {
        let metadata = Metadata::empty().with("name", format!("joiner{i}"));
        let config = member_config(secret, std::slice::from_ref(seed), metadata);
        members.push(Cluster::start(config).await.unwrap());
    }
    members
}
