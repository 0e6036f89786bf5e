//! Helpers shared by the runtime tests: fast protocol timings, members on free loopback
//! ports, and waiting for a condition with a deadline.
#![allow(dead_code)] // each test file uses a subset

use std::future::Future;
use std::time::Duration;

use swim_protocol::{
    Cluster, MemberName, Metadata, ProtocolConfig, ResolvedConfig, Status, StatusSet, WireKind,
};

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

/// A member on a free loopback port, knowing `peers`.
pub fn resolved(secret: &[u8], peers: &[MemberName], metadata: Metadata) -> ResolvedConfig {
    ResolvedConfig {
        local_name: MemberName::from("127.0.0.1:0"),
        bind: "127.0.0.1:0".parse().unwrap(),
        peers: peers.to_vec(),
        local_metadata: metadata,
        secret: secret.to_vec(),
        protocol: fast_protocol(),
        mtu_size: 1500,
        wire: WireKind::Native,
    }
}

/// Starts `n` members sharing `secret`; every member after the first knows the first.
pub async fn start_members(n: usize, secret: &[u8]) -> Vec<Cluster> {
    let mut members = Vec::new();
    for i in 0..n {
        let peers: Vec<MemberName> = members
            .first()
            .map(|m: &Cluster| m.name().clone())
            .into_iter()
            .collect();
        let metadata = Metadata::empty().with("name", format!("member{i}"));
        let member = Cluster::start_resolved(resolved(secret, &peers, metadata))
            .await
            .unwrap();
        members.push(member);
    }
    members
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
        let config = resolved(secret, std::slice::from_ref(seed), metadata);
        members.push(Cluster::start_resolved(config).await.unwrap());
    }
    members
}
