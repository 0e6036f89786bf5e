//! Host name resolution: the injectable [`Resolver`], and [`MemberAddrs`], which maps member
//! names to socket addresses for sending, with a bounded cache.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use swim_core::MemberName;
use tokio::time::Instant;

use super::address::{AddressError, AddressParser, Host, MemberAddress};

/// Longest wait for one host name lookup.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a resolved host name is reused before it is looked up again.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// Most host names kept in a cache (names come from the network: the cache must be bounded).
const CACHE_CAPACITY: usize = 1024;

/// The future returned by [`Resolver::lookup`].
pub type LookupFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Resolves host names to IP addresses. The library uses [`SystemResolver`]; tests and
/// special deployments inject their own (see [`StaticResolver`]).
///
/// ```
/// use std::net::IpAddr;
/// use swim_protocol::{LookupFuture, Resolver};
///
/// /// Every name is the loopback address.
/// #[derive(Debug)]
/// struct Loopback;
///
/// impl Resolver for Loopback {
///     fn lookup<'a>(&'a self, _host: &'a str) -> LookupFuture<'a> {
///         Box::pin(async { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
///     }
/// }
/// ```
pub trait Resolver: Send + Sync + fmt::Debug {
    /// All addresses of `host` (A and AAAA records), in the resolver's order.
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a>;
}

/// The operating system's resolver (`getaddrinfo`, through [`tokio::net::lookup_host`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, 0)).await?;
            let mut ips: Vec<IpAddr> = Vec::new();
            for addr in addrs {
                // getaddrinfo lists an address once per socket type; keep the first of each.
                if !ips.contains(&addr.ip()) {
                    ips.push(addr.ip());
                }
            }
            Ok(ips)
        })
    }
}

/// A fixed table of host names; unknown names fail with `NotFound`.
///
/// ```
/// use swim_protocol::StaticResolver;
/// let resolver = StaticResolver::new()
///     .with_host("cluster.test", ["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> Self {
        StaticResolver::default()
    }

    /// Adds (or replaces) the addresses of `host`.
    #[must_use]
    pub fn with_host(mut self, host: &str, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.hosts
            .insert(host.to_owned(), ips.into_iter().collect());
        self
    }
}

impl Resolver for StaticResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        let result = self.hosts.get(host).cloned().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("unknown host {host:?}"))
        });
        Box::pin(async move { result })
    }
}

/// Why a member name could not be turned into a socket address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name is not a valid address.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The lookup failed.
    #[error("cannot resolve {host:?}: {source}")]
    Lookup {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The lookup found no address.
    #[error("{host:?} resolves to no address")]
    NoAddress {
        /// The host name.
        host: String,
    },
    /// The lookup took longer than [`LOOKUP_TIMEOUT`].
    #[error("resolving {host:?} took longer than {LOOKUP_TIMEOUT:?}")]
    Timeout {
        /// The host name.
        host: String,
    },
}

/// Looks `host` up with a deadline; the result is never empty.
pub(crate) async fn lookup_all(
    resolver: &dyn Resolver,
    host: &str,
) -> Result<Vec<IpAddr>, ResolveError> {
    match tokio::time::timeout(LOOKUP_TIMEOUT, resolver.lookup(host)).await {
        Err(_) => Err(ResolveError::Timeout {
            host: host.to_owned(),
        }),
        Ok(Err(source)) => Err(ResolveError::Lookup {
            host: host.to_owned(),
            source,
        }),
        Ok(Ok(ips)) if ips.is_empty() => Err(ResolveError::NoAddress {
            host: host.to_owned(),
        }),
        Ok(Ok(ips)) => Ok(ips),
    }
}

/// The address to use among a host's addresses: the first of the preferred family, else the
/// first. Binding prefers IPv4 (`prefer_ipv6` false) on every member, so the address one
/// binds is the one the others send to; a sender prefers its own socket's family, the only
/// one it can send to.
pub(crate) fn pick_ip(ips: &[IpAddr], prefer_ipv6: bool) -> Option<IpAddr> {
    ips.iter()
        .find(|ip| ip.is_ipv6() == prefer_ipv6)
        .or_else(|| ips.first())
        .copied()
}

/// Host name to IP, with expiry and a bounded size.
#[derive(Debug, Default)]
struct HostCache {
    entries: Mutex<HashMap<String, (IpAddr, Instant)>>,
}

impl HostCache {
    async fn resolve(
        &self,
        resolver: &dyn Resolver,
        address: &MemberAddress,
    ) -> Result<SocketAddr, ResolveError> {
        if address.port == 0 {
            return Err(AddressError::ZeroPort(address.to_string()).into());
        }
        let name = match &address.host {
            Host::Ip(ip) => return Ok(SocketAddr::new(*ip, address.port)),
            Host::Name(name) => name,
        };
        let now = Instant::now();
        if let Some(ip) = self.get(name, now) {
            return Ok(SocketAddr::new(ip, address.port));
        }
        let ips = lookup_all(resolver, name).await?;
        let ip =
            pick_ip(&ips, false).ok_or_else(|| ResolveError::NoAddress { host: name.clone() })?;
        self.insert(name, ip, Instant::now());
        Ok(SocketAddr::new(ip, address.port))
    }

    fn get(&self, name: &str, now: Instant) -> Option<IpAddr> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(name) {
            Some(&(ip, expires)) if expires > now => Some(ip),
            _ => None,
        }
    }

    fn insert(&self, name: &str, ip: IpAddr, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_CAPACITY && !entries.contains_key(name) {
            entries.retain(|_, &mut (_, expires)| expires > now);
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(name.to_owned(), (ip, now + CACHE_TTL));
    }
}

/// Maps member names to the socket address to send to: parses the name with the configured
/// defaults and resolves its host, caching each host name for [`CACHE_TTL`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use swim_protocol::{AddressParser, MemberAddrs, StaticResolver};
/// let resolver = StaticResolver::new().with_host("node1", ["127.0.0.7".parse().unwrap()]);
/// let addrs = MemberAddrs::new(AddressParser::new().with_default_port(9999), Arc::new(resolver));
/// assert_eq!(addrs.resolve("node1").await.unwrap(), "127.0.0.7:9999".parse().unwrap());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MemberAddrs {
    parser: AddressParser,
    resolver: Arc<dyn Resolver>,
    cache: Arc<HostCache>,
}

impl MemberAddrs {
    /// Parses names with `parser` and resolves host names with `resolver`.
    pub fn new(parser: AddressParser, resolver: Arc<dyn Resolver>) -> Self {
        MemberAddrs {
            parser,
            resolver,
            cache: Arc::default(),
        }
    }

    /// The socket address of member `name`. Fails on names that cannot be reached (bad
    /// syntax, port 0, unknown host, lookup slower than [`LOOKUP_TIMEOUT`]).
    pub async fn resolve(&self, name: &str) -> Result<SocketAddr, ResolveError> {
        let address = self.parser.parse(name)?;
        self.cache.resolve(&*self.resolver, &address).await
    }
}

/// The socket address of member `name`, using the system resolver and a process-wide cache.
/// Names without a port get `default_port`; names without a host are an error (canonical
/// names always have one). Use [`MemberAddrs`] to choose the defaults or the resolver.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use swim_protocol::{resolve_member_addr, MemberName};
/// let addr = resolve_member_addr(&MemberName::from("127.0.0.1:2001"), 9999).await.unwrap();
/// assert_eq!(addr.port(), 2001);
/// # });
/// ```
pub async fn resolve_member_addr(
    name: &MemberName,
    default_port: u16,
) -> Result<SocketAddr, ResolveError> {
    static CACHE: OnceLock<HostCache> = OnceLock::new();
    let address = AddressParser::new()
        .with_default_port(default_port)
        .parse(name.as_str())?;
    CACHE
        .get_or_init(HostCache::default)
        .resolve(&SystemResolver, &address)
        .await
}
