//! DNS discovery with a fake resolver. The local address is found on real loopback sockets:
//! all of 127.0.0.0/8 is local on Linux, and the system picks 127.0.0.1 as the source toward
//! any of it.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use swim_protocol::address::{
    discover, LookupFuture, MemberAddress, Resolver, StaticResolver, RETRY_AFTER_LOOKUP_FAILURE,
    RETRY_AFTER_NO_PEERS,
};
use swim_protocol::{Config, MemberName, StartError};

fn ips(texts: &[&str]) -> Vec<IpAddr> {
    texts.iter().map(|t| t.parse().unwrap()).collect()
}

/// `cluster.test` resolves to these addresses, in this order.
fn cluster(addresses: &[&str]) -> StaticResolver {
    StaticResolver::new().with_host("cluster.test", ips(addresses))
}

fn names(peers: &[MemberName]) -> Vec<&str> {
    peers.iter().map(MemberName::as_str).collect()
}

fn transient(err: StartError) -> (String, Duration) {
    match err {
        StartError::Transient {
            reason,
            retry_after,
        } => (reason, retry_after),
        other => panic!("expected a transient error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_local_address_becomes_the_name_and_the_others_the_peers() {
    let resolver = cluster(&[
        "127.0.0.4",
        "127.0.0.2",
        "127.0.0.1",
        "127.0.0.5",
        "127.0.0.3",
    ]);
    let config = Config::new("cluster.test:2001")
        .with_discovery(true)
        .with_secret("s")
        .with_peers(["127.0.0.9:2001", "127.0.0.3:2001"]);
    let resolved = config
        .with_resolver(resolver.clone())
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.local_name().as_str(), "127.0.0.1:2001");
    assert_eq!(resolved.bind(), "127.0.0.1:2001".parse().unwrap());
    // Discovered and configured peers, merged.
    assert_eq!(
        names(resolved.peers()),
        [
            "127.0.0.2:2001",
            "127.0.0.3:2001",
            "127.0.0.4:2001",
            "127.0.0.5:2001",
            "127.0.0.9:2001"
        ]
    );
}

#[tokio::test]
async fn the_bind_address_tells_members_on_one_machine_apart() {
    let resolver = cluster(&["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]);
    for me in 2..=5 {
        let local: IpAddr = format!("127.0.0.{me}").parse().unwrap();
        let config = Config::new("cluster.test:2001")
            .with_discovery(true)
            .with_secret("s")
            .with_bind(local, None);
        let resolved = config
            .with_resolver(resolver.clone())
            .resolve()
            .await
            .unwrap();
        assert_eq!(resolved.local_name().as_str(), format!("{local}:2001"));
        assert_eq!(resolved.bind(), format!("{local}:2001").parse().unwrap());
        let expected: Vec<String> = (2..=5)
            .filter(|&i| i != me)
            .map(|i| format!("127.0.0.{i}:2001"))
            .collect();
        assert_eq!(names(resolved.peers()), expected);
    }
}

#[tokio::test]
async fn a_dual_stack_name_gives_the_peers_of_one_family() {
    // Each member has an A and an AAAA record; ::1 and 127.0.0.1 are both this machine.
    let resolver = cluster(&["::2", "127.0.0.1", "::1", "127.0.0.2", "::3"]);
    let local: MemberAddress = "cluster.test:7".parse().unwrap();
    let strings = |found: swim_protocol::address::Discovered| {
        let peers: Vec<String> = found.peers.iter().map(ToString::to_string).collect();
        (found.local.to_string(), peers)
    };
    // No bind address: the local address found (IPv4 sorts first) sets the family.
    let found = discover(&resolver, &local, None).await.unwrap();
    assert_eq!(
        strings(found),
        ("127.0.0.1:7".into(), vec!["127.0.0.2:7".into()])
    );
    // A bind address sets it, also when unspecified.
    let v6 = discover(&resolver, &local, Some("::1".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        strings(v6),
        ("[::1]:7".into(), vec!["[::2]:7".into(), "[::3]:7".into()])
    );
    let any_v6 = discover(&resolver, &local, Some("::".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(any_v6.local.to_string(), "[::1]:7");
    let v4 = discover(&resolver, &local, Some("0.0.0.0".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        strings(v4),
        ("127.0.0.1:7".into(), vec!["127.0.0.2:7".into()])
    );
}

#[tokio::test]
async fn discover_reports_addresses() {
    let resolver = cluster(&["127.0.0.3", "127.0.0.1"]);
    let local: MemberAddress = "cluster.test:7".parse().unwrap();
    let found = discover(&resolver, &local, None).await.unwrap();
    assert_eq!(found.local.to_string(), "127.0.0.1:7");
    let peers: Vec<String> = found.peers.iter().map(ToString::to_string).collect();
    assert_eq!(peers, ["127.0.0.3:7"]);
}

#[tokio::test]
async fn only_the_local_address_starts_alone_and_keeps_looking() {
    // The first (or only) replica of a service: it must start, and look the name up again.
    let config = Config::new("cluster.test:2001")
        .with_discovery(true)
        .with_secret("s");
    let resolved = config
        .with_resolver(cluster(&["127.0.0.1"]))
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.local_name().as_str(), "127.0.0.1:2001");
    assert!(resolved.peers().is_empty());
    let sources: Vec<String> = resolved
        .peer_sources()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(sources, ["dns+cluster.test:2001"]);
}

#[tokio::test]
async fn a_local_address_not_among_the_results_is_transient() {
    // The system picks 127.0.0.1 toward these, and it is not one of them.
    let config = Config::new("cluster.test:2001")
        .with_discovery(true)
        .with_secret("s")
        .with_resolver(cluster(&["127.0.0.2", "127.0.0.3"]));
    let err = config.resolve().await.unwrap_err();
    let (reason, _) = transient(err);
    assert!(
        reason.contains("127.0.0.1") && reason.contains("127.0.0.2"),
        "{reason}"
    );
    // Same when the bind address is not one of them.
    let config = config.with_bind("127.0.0.7".parse().unwrap(), None);
    let err = config.resolve().await.unwrap_err();
    let (reason, _) = transient(err);
    assert!(reason.contains("127.0.0.7"), "{reason}");
}

#[tokio::test]
async fn no_address_at_all_is_transient() {
    let config = Config::new("cluster.test:2001")
        .with_discovery(true)
        .with_secret("s");
    let (reason, retry_after) = transient(
        config
            .with_resolver(cluster(&[]))
            .resolve()
            .await
            .unwrap_err(),
    );
    assert!(reason.contains("no address"), "{reason}");
    assert_eq!(retry_after, RETRY_AFTER_NO_PEERS);
}

/// Fails every lookup, as a DNS server that is not up yet.
#[derive(Debug)]
struct Failing;

impl Resolver for Failing {
    fn lookup<'a>(&'a self, _host: &'a str) -> LookupFuture<'a> {
        Box::pin(async { Err(io::Error::other("temporary failure in name resolution")) })
    }
}

#[tokio::test]
async fn resolution_failure_is_transient() {
    let config = Config::new("cluster.test:2001")
        .with_discovery(true)
        .with_secret("s");
    let (reason, retry_after) =
        transient(config.with_resolver(Failing).resolve().await.unwrap_err());
    assert!(
        reason.contains("cluster.test") && reason.contains("temporary failure"),
        "{reason}"
    );
    assert_eq!(retry_after, RETRY_AFTER_LOOKUP_FAILURE);
}

#[tokio::test]
async fn discovery_uses_default_host_and_port() {
    let mut config = Config::new("").with_discovery(true).with_secret("s");
    config.local_name = "cluster.test".to_owned();
    config.default_port = 2500;
    let resolved = config
        .with_resolver(cluster(&["127.0.0.1", "127.0.0.2"]))
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.local_name().as_str(), "127.0.0.1:2500");
    assert_eq!(names(resolved.peers()), ["127.0.0.2:2500"]);
}
