//! Peer discovery through DNS, as the seed's `UdpConfig(discovery=True)`: the host of the local
//! name resolves to the addresses of every member (a Docker service or a Kubernetes headless
//! service name); the local one among them becomes the local name and the others the peers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::parse::{Host, MemberAddress};
use super::resolver::{lookup_all, ResolveError, Resolver};
use crate::error::StartError;

/// Suggested wait after a failed lookup (the seed waits 10 s).
pub const RETRY_AFTER_LOOKUP_FAILURE: Duration = Duration::from_secs(5);

/// Suggested wait when the lookup worked but its result is not usable yet (the local
/// address is not among the name's addresses yet); also how often a member that found no
/// peer looks its DNS peers up again.
pub const RETRY_AFTER_NO_PEERS: Duration = Duration::from_secs(2);

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The local member's address: the local IP with the name's port.
    pub local: MemberAddress,
    /// The other addresses of the name, with the same port. Empty for the first replica of
    /// a service: it starts alone, and the running member looks the name up again (every
    /// [`RETRY_AFTER_NO_PEERS`] while it finds nobody) to meet those that come later.
    pub peers: Vec<MemberAddress>,
}

/// Resolves the host of `local` to all its addresses and splits them into the local one and
/// the peers.
///
/// The local address is `bind_ip` when given (and not unspecified): this is how several
/// members on one machine tell themselves apart. Otherwise, as the seed does, a UDP socket is
/// connected toward each address in turn and the source address the system picks is read; the
/// first one that belongs to the name's addresses is local.
///
/// Only addresses of one family are members: that of `bind_ip` when given (`::` for an IPv6
/// cluster), else that of the local address, so that a dual-stack name (A and AAAA records
/// for each member) does not make every member appear twice.
///
/// Every failure is [`StartError::Transient`]: DNS and the service's members may not be ready.
/// Finding only the local address is not a failure: a service of one replica must start.
pub async fn discover(
    resolver: &dyn Resolver,
    local: &MemberAddress,
    bind_ip: Option<IpAddr>,
) -> Result<Discovered, StartError> {
    let host = local.host.to_string();
    let mut ips = match &local.host {
        Host::Ip(ip) => vec![*ip],
        Host::Name(name) => lookup_all(resolver, name)
            .await
            .map_err(|e| transient("discovery", e))?,
    };
    ips.sort();
    ips.dedup();
    // A member is one address: on a dual-stack network the name has an A and an AAAA record
    // for every member, so only one family's addresses are members. The bind address, even
    // unspecified (`::`), chooses the family; else the local address found below does.
    if let Some(bind) = bind_ip {
        ips.retain(|ip| ip.is_ipv6() == bind.is_ipv6());
    }
    let local_ip = match bind_ip.filter(|ip| !ip.is_unspecified()) {
        Some(ip) => Some(ip),
        None => find_local_ip(&ips, local.port).await,
    };
    let local_ip = match local_ip {
        Some(ip) if ips.contains(&ip) => ip,
        other => {
            let found = other.map_or("none".to_owned(), |ip| ip.to_string());
            return Err(StartError::Transient {
                reason: format!(
                    "discovery: the local address ({found}) is not among the addresses of \
                     {host:?} ({}); set the bind address to choose it",
                    list(&ips)
                ),
                retry_after: RETRY_AFTER_NO_PEERS,
            });
        }
    };
    let peers: Vec<MemberAddress> = ips
        .iter()
        .filter(|&&ip| ip != local_ip && ip.is_ipv6() == local_ip.is_ipv6())
        .map(|&ip| MemberAddress::from_socket_addr(SocketAddr::new(ip, local.port)))
        .collect();
    Ok(Discovered {
        local: MemberAddress::from_socket_addr(SocketAddr::new(local_ip, local.port)),
        peers,
    })
}

/// A failed lookup at start (of `what`: discovery, the local name) as the transient error it
/// is: a name with no address yet is retried like a service with no peers yet.
pub(crate) fn transient(what: &str, error: ResolveError) -> StartError {
    let retry_after = match error {
        ResolveError::NoAddress { .. } => RETRY_AFTER_NO_PEERS,
        _ => RETRY_AFTER_LOOKUP_FAILURE,
    };
    StartError::Transient {
        reason: format!("{what}: {error}"),
        retry_after,
    }
}

fn list(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first source address the system picks toward one of `ips` that is itself in `ips`;
/// else the first source address found at all (for the error message).
async fn find_local_ip(ips: &[IpAddr], port: u16) -> Option<IpAddr> {
    let mut first_seen = None;
    for &ip in ips {
        let Some(source) = source_ip_toward(SocketAddr::new(ip, port.max(1))).await else {
            continue;
        };
        if ips.contains(&source) {
            return Some(source);
        }
        first_seen.get_or_insert(source);
    }
    first_seen
}

/// Connecting a UDP socket sends nothing; it only makes the system choose a route and source.
async fn source_ip_toward(target: SocketAddr) -> Option<IpAddr> {
    let any: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0)).await.ok()?;
    socket.connect(target).await.ok()?;
    socket.local_addr().ok().map(|addr| addr.ip())
}
