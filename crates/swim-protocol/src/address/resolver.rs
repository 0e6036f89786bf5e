//! Host name resolution: the injectable [`Resolver`], the system's and a static one, and the
//! bounded lookups the rest of the pipeline uses.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::parse::{AddressError, Host, MemberAddress};

/// Longest wait for one host name lookup.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The future returned by [`Resolver::lookup`].
pub type LookupFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// One SRV record: its target host and port.
pub type SrvTarget = (String, u16);

/// The future returned by [`Resolver::lookup_srv`]: each record's target host and port.
pub type SrvFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<SrvTarget>>> + Send + 'a>>;

/// Resolves host names to IP addresses. A member uses its configuration's resolver (the
/// system's by default, see [`Config::with_resolver`](crate::Config::with_resolver)) at start
/// and for every name it sends to afterwards.
///
/// ```
/// use std::net::IpAddr;
/// use swim_protocol::address::{LookupFuture, Resolver};
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

    /// The SRV records of `name` (as `_service._proto.domain`), as target host and port,
    /// for `dnssrv+` peers. The default cannot look SRV records up.
    fn lookup_srv<'a>(&'a self, name: &'a str) -> SrvFuture<'a> {
        Box::pin(async move {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("this resolver cannot look up SRV records (of {name:?})"),
            ))
        })
    }
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

    /// With the `dns-srv` feature, asks the system's DNS servers (`/etc/resolv.conf`)
    /// through hickory-resolver; without it, fails as unsupported.
    fn lookup_srv<'a>(&'a self, name: &'a str) -> SrvFuture<'a> {
        Box::pin(system_srv(name))
    }
}

#[cfg(feature = "dns-srv")]
async fn system_srv(name: &str) -> io::Result<Vec<(String, u16)>> {
    use hickory_resolver::proto::rr::RData;
    let failed = |e: hickory_resolver::net::NetError| io::Error::other(e.to_string());
    // Built per lookup (a few every minute at most): it reads the system's configuration
    // then, and is bound to no runtime that might be gone by the next lookup.
    let resolver = hickory_resolver::TokioResolver::builder_tokio()
        .map_err(failed)?
        .build()
        .map_err(failed)?;
    let lookup = resolver.srv_lookup(name).await.map_err(failed)?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::SRV(srv) => Some((srv.target.to_ascii(), srv.port)),
            _ => None,
        })
        .collect())
}

#[cfg(not(feature = "dns-srv"))]
async fn system_srv(name: &str) -> io::Result<Vec<(String, u16)>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("SRV records (of {name:?}) need swim-protocol's `dns-srv` feature"),
    ))
}

/// A table of host names that can be changed while members use it (clones share the table);
/// unknown names fail with `NotFound`. For tests and fixed deployments.
///
/// ```
/// use swim_protocol::address::StaticResolver;
/// let resolver = StaticResolver::new()
///     .with_host("cluster.test", ["127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap()]);
/// resolver.set_host("cluster.test", ["127.0.0.4".parse().unwrap()]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    hosts: Arc<RwLock<HashMap<String, Vec<IpAddr>>>>,
    srv: Arc<RwLock<HashMap<String, Vec<SrvTarget>>>>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> Self {
        StaticResolver::default()
    }

    /// Adds (or replaces) the addresses of `host`.
    #[must_use]
    pub fn with_host(self, host: &str, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.set_host(host, ips);
        self
    }

    /// Replaces the addresses of `host`, for every clone of this resolver.
    pub fn set_host(&self, host: &str, ips: impl IntoIterator<Item = IpAddr>) {
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        hosts.insert(host.to_owned(), ips.into_iter().collect());
    }

    /// Adds (or replaces) the SRV records of `name`: target host and port.
    #[must_use]
    pub fn with_srv<'a>(
        self,
        name: &str,
        records: impl IntoIterator<Item = (&'a str, u16)>,
    ) -> Self {
        self.set_srv(name, records);
        self
    }

    /// Replaces the SRV records of `name`, for every clone of this resolver.
    pub fn set_srv<'a>(&self, name: &str, records: impl IntoIterator<Item = (&'a str, u16)>) {
        let mut srv = self.srv.write().unwrap_or_else(|e| e.into_inner());
        let records = records.into_iter().map(|(h, p)| (h.to_owned(), p));
        srv.insert(name.to_owned(), records.collect());
    }
}

fn unknown(what: &str, name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("unknown {what} {name:?}"))
}

impl Resolver for StaticResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        let hosts = self.hosts.read().unwrap_or_else(|e| e.into_inner());
        let result = hosts
            .get(host)
            .cloned()
            .ok_or_else(|| unknown("host", host));
        Box::pin(async move { result })
    }

    fn lookup_srv<'a>(&'a self, name: &'a str) -> SrvFuture<'a> {
        let srv = self.srv.read().unwrap_or_else(|e| e.into_inner());
        let result = srv
            .get(name)
            .cloned()
            .ok_or_else(|| unknown("SRV name", name));
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
    #[error("cannot resolve {host:?}: {error}")]
    Lookup {
        /// The host name.
        host: String,
        /// The resolver's error.
        error: io::Error,
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
    bounded(host, resolver.lookup(host)).await
}

/// The SRV records of `name` with a deadline; the result is never empty.
pub(crate) async fn lookup_srv(
    resolver: &dyn Resolver,
    name: &str,
) -> Result<Vec<(String, u16)>, ResolveError> {
    bounded(name, resolver.lookup_srv(name)).await
}

/// A lookup of `host` within [`LOOKUP_TIMEOUT`], an empty answer being an error.
async fn bounded<T>(
    host: &str,
    lookup: impl Future<Output = io::Result<Vec<T>>>,
) -> Result<Vec<T>, ResolveError> {
    let host = || host.to_owned();
    match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
        Err(_) => Err(ResolveError::Timeout { host: host() }),
        Ok(Err(error)) => Err(ResolveError::Lookup {
            host: host(),
            error,
        }),
        Ok(Ok(found)) if found.is_empty() => Err(ResolveError::NoAddress { host: host() }),
        Ok(Ok(found)) => Ok(found),
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

/// The IP of `host`: the literal itself, or a bounded lookup and [`pick_ip`].
pub(crate) async fn resolve_host(
    resolver: &dyn Resolver,
    host: &Host,
    prefer_ipv6: bool,
) -> Result<IpAddr, ResolveError> {
    let name = match host {
        Host::Ip(ip) => return Ok(*ip),
        Host::Name(name) => name,
    };
    let ips = lookup_all(resolver, name).await?;
    pick_ip(&ips, prefer_ipv6).ok_or_else(|| ResolveError::NoAddress { host: name.clone() })
}

/// The socket address to send to `address`; port 0 cannot be reached.
pub(crate) async fn resolve_address(
    resolver: &dyn Resolver,
    address: &MemberAddress,
    prefer_ipv6: bool,
) -> Result<SocketAddr, ResolveError> {
    if address.port == 0 {
        return Err(AddressError::ZeroPort.into());
    }
    let ip = resolve_host(resolver, &address.host, prefer_ipv6).await?;
    Ok(SocketAddr::new(ip, address.port))
}
