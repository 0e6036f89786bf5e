//! Configured peers that stand for many members: `dns+HOST:PORT` (every A/AAAA record of
//! HOST, with PORT) and `dnssrv+NAME` (the targets and ports of NAME's SRV records), as in
//! Grafana dskit's `-memberlist.join`. They are resolved at start and again while the member
//! runs (see `runtime::refresh`), so that a member finds the service's replicas as they come
//! and go, and one that lost everyone finds the service again.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::parse::{check_host_name, AddressError, AddressParser, Host, MemberAddress};
use super::resolver::{lookup_all, lookup_srv, ResolveError, Resolver};

/// Prefix of a peer that is every address of a host name.
pub const DNS_PREFIX: &str = "dns+";
/// Prefix of a peer that is every target of an SRV name.
pub const SRV_PREFIX: &str = "dnssrv+";

/// Most members one name may stand for: answers are cut to this many addresses.
pub const MAX_ADDRESSES_PER_NAME: usize = 1024;

/// One configured peer.
///
/// ```
/// use swim_protocol::address::{AddressParser, PeerSpec};
/// let parser = AddressParser::new().with_default_port(9000);
/// assert!(matches!(parser.parse_peer_spec("10.0.0.1:9000"), Ok(PeerSpec::Member(_))));
/// assert!(matches!(parser.parse_peer_spec("dns+swim.svc"), Ok(PeerSpec::Dns(_))));
/// assert!(matches!(parser.parse_peer_spec("dnssrv+_swim._udp.svc"), Ok(PeerSpec::Srv(_))));
/// assert!(parser.parse_peer_spec("dnssrv+bad name").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerSpec {
    /// One member, by name (`host:port`); a host name is looked up when sending, as usual.
    Member(MemberAddress),
    /// `dns+HOST:PORT`: every address of HOST is a member listening on PORT.
    Dns(MemberAddress),
    /// `dnssrv+NAME`: every target of NAME's SRV records, at the record's port.
    Srv(String),
}

impl PeerSpec {
    /// Whether the peer is looked up again while the member runs (`dns+`, `dnssrv+`).
    pub fn is_dynamic(&self) -> bool {
        !matches!(self, PeerSpec::Member(_))
    }
}

impl fmt::Display for PeerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerSpec::Member(address) => write!(f, "{address}"),
            PeerSpec::Dns(address) => write!(f, "{DNS_PREFIX}{address}"),
            PeerSpec::Srv(name) => write!(f, "{SRV_PREFIX}{name}"),
        }
    }
}

impl AddressParser {
    /// Parses a configured peer: a member name, `dns+HOST:PORT` or `dnssrv+NAME` (the
    /// parser's default port applies to `dns+HOST`). Port 0 cannot be reached and is refused.
    pub fn parse_peer_spec(&self, peer: &str) -> Result<PeerSpec, AddressError> {
        if let Some(name) = peer.strip_prefix(SRV_PREFIX) {
            check_host_name(name)?;
            return Ok(PeerSpec::Srv(name.to_owned()));
        }
        let (dns, name) = match peer.strip_prefix(DNS_PREFIX) {
            Some(name) => (true, name),
            None => (false, peer),
        };
        let address = self.parse(name)?;
        if address.port == 0 {
            return Err(AddressError::ZeroPort);
        }
        Ok(if dns {
            PeerSpec::Dns(address)
        } else {
            PeerSpec::Member(address)
        })
    }
}

/// The members `spec` stands for now. Only addresses of the local socket's family are
/// members (`ipv6`), unless the name has none of that family; a dual-stack name would
/// otherwise list every member twice.
pub async fn resolve_peer(
    resolver: &dyn Resolver,
    spec: &PeerSpec,
    ipv6: bool,
) -> Result<BTreeSet<MemberAddress>, ResolveError> {
    let targets = match spec {
        PeerSpec::Member(address) => return Ok(BTreeSet::from([address.clone()])),
        PeerSpec::Dns(address) => vec![(address.host.clone(), address.port)],
        PeerSpec::Srv(name) => lookup_srv(resolver, name)
            .await?
            .into_iter()
            .filter(|&(_, port)| port != 0)
            .map(|(host, port)| Host::parse(&host).map(|host| (host, port)))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut members = BTreeSet::new();
    let mut last_error = None;
    for (host, port) in targets {
        let ips = match &host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(name) => match lookup_all(resolver, name).await {
                Ok(ips) => ips,
                // One SRV target down does not hide the others.
                Err(error) => {
                    last_error = Some(error);
                    continue;
                }
            },
        };
        let same_family = ips.iter().any(|ip| ip.is_ipv6() == ipv6);
        members.extend(
            ips.into_iter()
                .filter(|ip: &IpAddr| !same_family || ip.is_ipv6() == ipv6)
                .map(|ip| MemberAddress::from_socket_addr(SocketAddr::new(ip, port))),
        );
        if members.len() >= MAX_ADDRESSES_PER_NAME {
            break;
        }
    }
    match last_error {
        Some(error) if members.is_empty() => Err(error),
        _ => Ok(members.into_iter().take(MAX_ADDRESSES_PER_NAME).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::StaticResolver;

    fn spec(text: &str) -> PeerSpec {
        AddressParser::new()
            .with_default_port(7)
            .parse_peer_spec(text)
            .unwrap()
    }

    fn names(set: &BTreeSet<MemberAddress>) -> Vec<String> {
        set.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn peer_specs_parse_and_print() {
        for text in [
            "10.0.0.1:9",
            "dns+swim.svc:9",
            "dnssrv+_swim._udp.svc",
            "dns+[::1]:9",
        ] {
            assert_eq!(spec(text).to_string(), text);
        }
        assert_eq!(spec("dns+swim.svc").to_string(), "dns+swim.svc:7");
        assert!(!spec("10.0.0.1:9").is_dynamic());
        assert!(spec("dns+x:1").is_dynamic());
        let parser = AddressParser::new();
        assert_eq!(
            parser.parse_peer_spec("dns+x:0"),
            Err(AddressError::ZeroPort)
        );
        assert!(parser.parse_peer_spec("dns+").is_err());
        assert!(parser.parse_peer_spec("dnssrv+").is_err());
        assert!(parser.parse_peer_spec("dnssrv+a b").is_err());
    }

    #[tokio::test]
    async fn a_dns_peer_is_every_address_of_the_local_family() {
        let resolver = StaticResolver::new().with_host(
            "swim.svc",
            [
                "10.0.0.2".parse().unwrap(),
                "10.0.0.1".parse().unwrap(),
                "fd00::1".parse().unwrap(),
            ],
        );
        let v4 = resolve_peer(&resolver, &spec("dns+swim.svc:9"), false).await;
        assert_eq!(names(&v4.unwrap()), ["10.0.0.1:9", "10.0.0.2:9"]);
        let v6 = resolve_peer(&resolver, &spec("dns+swim.svc:9"), true).await;
        assert_eq!(names(&v6.unwrap()), ["[fd00::1]:9"]);
        assert!(resolve_peer(&resolver, &spec("dns+other:9"), false)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn an_srv_peer_is_every_target_at_its_port() {
        let resolver = StaticResolver::new()
            .with_host("a.svc", ["10.0.0.1".parse().unwrap()])
            .with_host("b.svc", ["10.0.0.2".parse().unwrap()])
            .with_srv(
                "_swim._udp.svc",
                [("a.svc", 9000), ("b.svc", 9001), ("gone.svc", 9000)],
            );
        let found = resolve_peer(&resolver, &spec("dnssrv+_swim._udp.svc"), false).await;
        assert_eq!(names(&found.unwrap()), ["10.0.0.1:9000", "10.0.0.2:9001"]);
        let unknown = resolve_peer(&resolver, &spec("dnssrv+_x._udp.svc"), false).await;
        assert!(unknown.is_err());
    }
}
