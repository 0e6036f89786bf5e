//! `Config::validate`, `Config::resolve_with` and `MemberAddrs`, with a fake resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use swim_protocol::{
    default_secret, resolve_member_addr, AddressError, AddressParser, Config, ConfigError,
    LookupFuture, MemberAddrs, MemberName, ProtocolConfig, ResolveError, Resolver, StartError,
    StaticResolver, CACHE_TTL,
};

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
        matches!(&err, ConfigError::Address { what, source: AddressError::Empty } if what == "local name"),
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
    let resolved = config.resolve_with(&resolver()).await.unwrap();
    assert_eq!(resolved.local_name.as_str(), "127.0.0.1:2001");
    assert_eq!(resolved.bind, sock("127.0.0.1:2001"));
    // Duplicates and the local member itself are removed; the order is sorted.
    let peers: Vec<&str> = resolved.peers.iter().map(MemberName::as_str).collect();
    assert_eq!(peers, ["127.0.0.1:2002", "[::1]:7", "node2.test:9999"]);
    assert_eq!(resolved.secret, b"s");
    assert_eq!(resolved.mtu_size, 1500);
}

#[tokio::test]
async fn a_host_name_stays_the_name_and_binds_its_ipv4_address() {
    let config = Config::new("node1.test:2001").with_secret("s");
    let resolved = config.resolve_with(&resolver()).await.unwrap();
    assert_eq!(resolved.local_name.as_str(), "node1.test:2001");
    assert_eq!(resolved.bind, sock("127.0.0.5:2001"));
}

#[tokio::test]
async fn bind_options_override_the_name() {
    let config = Config::new("node1.test:2001")
        .with_secret("s")
        .with_bind(ip("0.0.0.0"), Some(3001));
    let resolved = config.resolve_with(&StaticResolver::new()).await.unwrap();
    assert_eq!(resolved.local_name.as_str(), "node1.test:2001");
    assert_eq!(resolved.bind, sock("0.0.0.0:3001"));
}

#[tokio::test]
async fn unresolvable_peers_are_kept() {
    let config = Config::new("127.0.0.1:1")
        .with_secret("s")
        .with_peers(["later.test:1"]);
    let resolved = config.resolve_with(&StaticResolver::new()).await.unwrap();
    assert_eq!(resolved.peers, [MemberName::from("later.test:1")]);
}

#[tokio::test]
async fn unresolvable_local_name_is_transient() {
    let err = Config::new("unknown.test:1")
        .with_secret("s")
        .resolve_with(&resolver())
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
    assert_eq!(retry_after, Duration::from_secs(10));

    let err = Config::new("empty.test:1")
        .with_secret("s")
        .resolve_with(&resolver())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StartError::Transient { retry_after, .. } if retry_after == Duration::from_secs(60)),
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
        .resolve_with(&Hanging)
        .await
        .unwrap_err();
    assert!(matches!(&err, StartError::Transient { reason, .. } if reason.contains("longer than")));
    // Peers that hang delay the start by a bounded time only.
    let start = tokio::time::Instant::now();
    let resolved = Config::new("127.0.0.1:1")
        .with_secret("s")
        .with_peers(["slow1.test:1", "slow2.test:1"])
        .resolve_with(&Hanging)
        .await
        .unwrap();
    assert_eq!(resolved.peers.len(), 2);
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
        .resolve_with(&resolver())
        .await
        .unwrap_err();
    assert!(matches!(err, StartError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn missing_secret_is_derived_from_the_machine() {
    let resolved = Config::new("127.0.0.1:1")
        .resolve_with(&resolver())
        .await
        .unwrap();
    assert!(!resolved.secret.is_empty());
    assert_eq!(resolved.secret, default_secret().unwrap());
}

#[tokio::test]
async fn ephemeral_port_is_recorded_after_binding() {
    let resolved = Config::new("127.0.0.1:0")
        .with_secret("s")
        .resolve()
        .await
        .unwrap();
    assert_eq!(resolved.bind, sock("127.0.0.1:0"));
    let resolved = resolved.with_bound_port(40_001);
    assert_eq!(resolved.bind, sock("127.0.0.1:40001"));
    assert_eq!(resolved.local_name.as_str(), "127.0.0.1:40001");
    // A fixed port is never rewritten.
    let fixed = Config::new("127.0.0.1:5")
        .with_secret("s")
        .resolve()
        .await
        .unwrap();
    assert_eq!(fixed.with_bound_port(7).local_name.as_str(), "127.0.0.1:5");
}

/// Counts lookups, answering 127.0.0.9 for every name but `unknown.test`.
#[derive(Debug, Default)]
struct Counting(AtomicUsize);

impl Resolver for Counting {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let known = host != "unknown.test";
        Box::pin(async move {
            match known {
                true => Ok(vec![ip("127.0.0.9")]),
                false => Err(std::io::Error::other("no such host")),
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn member_addrs_caches_host_names_for_a_while() {
    let counting = Arc::new(Counting::default());
    let parser = AddressParser::new().with_default_port(9999);
    let addrs = MemberAddrs::new(parser, counting.clone());
    assert_eq!(
        addrs.resolve("a.test:1").await.unwrap(),
        sock("127.0.0.9:1")
    );
    assert_eq!(
        addrs.resolve("a.test").await.unwrap(),
        sock("127.0.0.9:9999")
    );
    assert_eq!(counting.0.load(Ordering::SeqCst), 1);
    // IP literals need no lookup.
    assert_eq!(addrs.resolve("[::1]:3").await.unwrap(), sock("[::1]:3"));
    assert_eq!(counting.0.load(Ordering::SeqCst), 1);
    tokio::time::advance(CACHE_TTL + Duration::from_secs(1)).await;
    addrs.resolve("a.test:1").await.unwrap();
    assert_eq!(counting.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn member_addrs_errors() {
    let addrs = MemberAddrs::new(AddressParser::new(), Arc::new(Counting::default()));
    let err = addrs.resolve("unknown.test:1").await.unwrap_err();
    assert!(matches!(err, ResolveError::Lookup { .. }), "{err:?}");
    assert!(err.to_string().contains("no such host"), "{err}");
    let err = addrs.resolve("a.test:0").await.unwrap_err();
    assert!(
        matches!(err, ResolveError::Address(AddressError::ZeroPort(_))),
        "{err:?}"
    );
    let err = addrs.resolve("a.test").await.unwrap_err();
    assert!(matches!(
        err,
        ResolveError::Address(AddressError::NoDefaultPort(_))
    ));
    let err = addrs.resolve(&"x".repeat(10_000)).await.unwrap_err();
    assert!(matches!(
        err,
        ResolveError::Address(AddressError::TooLong(_))
    ));
}

#[tokio::test]
async fn resolve_member_addr_for_canonical_names() {
    let name = MemberName::from("127.0.0.1:2001");
    assert_eq!(
        resolve_member_addr(&name, 9).await.unwrap(),
        sock("127.0.0.1:2001")
    );
    let name = MemberName::from("[::1]");
    assert_eq!(
        resolve_member_addr(&name, 9).await.unwrap(),
        sock("[::1]:9")
    );
    let name = MemberName::from(":2001");
    assert!(resolve_member_addr(&name, 9).await.is_err());
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
