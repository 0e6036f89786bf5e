//! `Config::validate` and `Config::resolve` with an injected resolver.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use swim_protocol::address::{
    AddressError, LookupFuture, Resolver, StaticResolver, RETRY_AFTER_LOOKUP_FAILURE,
    RETRY_AFTER_NO_PEERS,
};
use swim_protocol::config::secret::default_secret;
use swim_protocol::{Config, ConfigError, MemberName, ProtocolConfig, StartError};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn sock(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn invalid(config: Config) -> String {
    config.validate().unwrap_err().to_string()
}

#[test]
fn validation_accepts_sensible_configs() {
    Config::new("127.0.0.1:2001").validate().unwrap();
    Config::new(":2001")
        .with_peers(["node2", "[::1]:2002"])
        .with_secret("s")
        .with_mtu_size(576)
        .validate()
        .unwrap();
    Config::new("127.0.0.1:0")
        .with_mtu_size(65_507)
        .validate()
        .unwrap();
}

#[test]
fn validation_explains_bad_names() {
    let err = Config::new("").validate().unwrap_err();
    assert!(
        matches!(&err, ConfigError::Address { what, error: AddressError::Empty } if what == "local name"),
        "{err:?}"
    );
    let message = invalid(Config::new("::1:2001"));
    assert!(
        message.starts_with("local name: ") && message.contains("brackets"),
        "{message}"
    );
    let message = invalid(Config::new("127.0.0.1:1").with_peers(["ok:1", "bad:"]));
    assert!(
        message.contains("peer \"bad:\"") && message.contains("missing port"),
        "{message}"
    );
    let message = invalid(Config::new("127.0.0.1:1").with_peers(["node2:0"]));
    assert!(message.contains("port 0"), "{message}");
    let mut config = Config::new(":1");
    config.default_host = "not a host".to_owned();
    assert!(invalid(config).contains("default host"));
    // Without defaults, short names are errors.
    let mut config = Config::new("127.0.0.1:1").with_peers(["node2"]);
    config.default_port = 0;
    assert!(invalid(config).contains("no default port"));
    let mut config = Config::new(":1");
    config.default_host = String::new();
    assert!(invalid(config).contains("no default host"));
    let many = vec!["127.0.0.1:2"; 10_001];
    assert!(invalid(Config::new("127.0.0.1:1").with_peers(many)).contains("10001 peers"));
}

#[test]
fn validation_explains_bad_sizes_secret_and_timings() {
    for mtu in [0, 575, 65_508] {
        let message = invalid(Config::new("127.0.0.1:1").with_mtu_size(mtu));
        assert!(
            message.contains("mtu_size") && message.contains("576 to 65507"),
            "{message}"
        );
    }
    let message = invalid(Config::new("127.0.0.1:1").with_secret(""));
    assert!(message.contains("secret is empty"), "{message}");
    let protocol = ProtocolConfig {
        suspect_timeout: Duration::ZERO,
        ..ProtocolConfig::default()
    };
    let err = Config::new("127.0.0.1:1")
        .with_protocol(protocol)
        .validate()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Protocol(_)), "{err:?}");
    assert!(err.to_string().contains("suspect_timeout"));
}

#[test]
fn debug_never_shows_the_secret() {
    let shown = format!("{:?}", Config::new("127.0.0.1:1").with_secret("hunter2"));
    assert!(
        !shown.contains("hunter2") && shown.contains("redacted"),
        "{shown}"
    );
}

fn resolver() -> StaticResolver {
    StaticResolver::new()
        .with_host("node1.test", [ip("::1"), ip("127.0.0.5")])
        .with_host("node2.test", [ip("127.0.0.6")])
        .with_host("empty.test", [])
}

#[tokio::test]
async fn resolve_fills_defaults_and_canonicalizes() {
    let config = Config::new(":2001")
        .with_peers([
            ":2002",
            "127.0.0.1:2002",
            "127.0.0.1:2001",
            "node2.test",
            "[::1]:7",
        ])
        .with_secret("s");
    let resolved = config.with_resolver(resolver()).resolve().await.unwrap();
    assert_eq!(resolved.local_name().as_str(), "127.0.0.1:2001");
    assert_eq!(resolved.bind(), sock("127.0.0.1:2001"));
    // Duplicates and the local member itself are removed; the order is sorted.
    let peers: Vec<&str> = resolved.peers().iter().map(MemberName::as_str).collect();
    assert_eq!(peers, ["127.0.0.1:2002", "[::1]:7", "node2.test:9999"]);
}

#[tokio::test]
async fn a_host_name_stays_the_name_and_binds_its_ipv4_address() {
    let config = Config::new("node1.test:2001").with_secret("s");
    let resolved = config.with_resolver(resolver()).resolve().await.unwrap();
    assert_eq!(resolved.local_name().as_str(), "node1.test:2001");
    assert_eq!(resolved.bind(), sock("127.0.0.5:2001"));
}

#[tokio::test]
async fn bind_options_override_the_name() {
    let config = Config::new("node1.test:2001")
        .with_secret("s")
        .with_bind(ip("0.0.0.0"), Some(3001));
    let resolved = config
        .with_resolver(StaticResolver::new())
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.local_name().as_str(), "node1.test:2001");
    assert_eq!(resolved.bind(), sock("0.0.0.0:3001"));
}

#[tokio::test]
async fn unresolvable_peers_are_kept() {
    let config = Config::new("127.0.0.1:1")
        .with_secret("s")
        .with_peers(["later.test:1"]);
    let resolved = config
        .with_resolver(StaticResolver::new())
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.peers(), [MemberName::from("later.test:1")]);
}

#[tokio::test]
async fn unresolvable_local_name_is_transient() {
    let err = Config::new("unknown.test:1")
        .with_secret("s")
        .with_resolver(resolver())
        .resolve()
        .await
        .unwrap_err();
    let StartError::Transient {
        reason,
        retry_after,
    } = err
    else {
        panic!("{err:?}");
    };
    assert!(reason.contains("unknown.test"), "{reason}");
    assert_eq!(retry_after, RETRY_AFTER_LOOKUP_FAILURE);

    let err = Config::new("empty.test:1")
        .with_secret("s")
        .with_resolver(resolver())
        .resolve()
        .await
        .unwrap_err();
    assert!(
        matches!(err, StartError::Transient { retry_after, .. } if retry_after == RETRY_AFTER_NO_PEERS),
        "{err:?}"
    );
}

/// Never answers.
#[derive(Debug)]
struct Hanging;

impl Resolver for Hanging {
    fn lookup<'a>(&'a self, _host: &'a str) -> LookupFuture<'a> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_resolver_times_out() {
    let err = Config::new("slow.test:1")
        .with_secret("s")
        .with_resolver(Hanging)
        .resolve()
        .await
        .unwrap_err();
    assert!(matches!(&err, StartError::Transient { reason, .. } if reason.contains("longer than")));
    // Peers that hang delay the start by a bounded time only.
    let start = tokio::time::Instant::now();
    let resolved = Config::new("127.0.0.1:1")
        .with_secret("s")
        .with_peers(["slow1.test:1", "slow2.test:1"])
        .with_resolver(Hanging)
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.peers().len(), 2);
    assert!(
        start.elapsed() <= Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn invalid_config_is_not_transient() {
    let err = Config::new("127.0.0.1:1")
        .with_mtu_size(1)
        .with_resolver(resolver())
        .resolve()
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Config(_)), "{err:?}");
}

/// With the same machine and no secret, our members and the seed's must agree on the secret.
/// Skipped without `python3`, and when Python's `uuid.getnode()` falls back to a random number
/// (multicast bit set), which no other process could agree with anyway.
#[test]
fn default_secret_matches_the_seeds_getnode() {
    let script = "import uuid, sys; sys.stdout.write('%x' % uuid.getnode())";
    let Ok(output) = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
    else {
        eprintln!("skipped: no python3");
        return;
    };
    assert!(output.status.success());
    let node = u64::from_str_radix(std::str::from_utf8(&output.stdout).unwrap(), 16).unwrap();
    if node & (1 << 40) != 0 {
        eprintln!("skipped: Python uses a random node on this machine");
        return;
    }
    assert_eq!(default_secret().unwrap(), output.stdout);
}
