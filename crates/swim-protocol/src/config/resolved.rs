//! A configuration with every name resolved: what the runtime needs to run a member.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use swim_core::{MemberName, Metadata, ProtocolConfig};

use crate::address::{MemberAddress, PeerSpec, Resolver};
use crate::config::WireKind;
use crate::security::Security;

/// The output of [`Config::resolve`](super::Config::resolve): validated, names resolved, peers
/// discovered, secret chosen, the wire's protocol rules applied. Only `resolve` makes one, so
/// the runtime starts from it without checking again.
#[derive(Clone)]
pub struct ResolvedConfig {
    /// The local member's address; port 0 until the sockets are bound.
    pub(crate) local: MemberAddress,
    pub(crate) bind: SocketAddr,
    pub(crate) peers: Vec<MemberName>,
    pub(crate) local_metadata: Metadata,
    pub(crate) secret: Vec<u8>,
    pub(crate) protocol: ProtocolConfig,
    pub(crate) mtu_size: usize,
    pub(crate) wire: WireKind,
    pub(crate) resolver: Arc<dyn Resolver>,
    pub(crate) name_ttl: Duration,
    /// The peers looked up again while the member runs (`dns+`, `dnssrv+`, discovery).
    pub(crate) peer_sources: Vec<PeerSpec>,
    pub(crate) peer_refresh: Duration,
    pub(crate) security: Security,
}

impl ResolvedConfig {
    /// The local member's canonical name (`host:port`), as others reach it. It ends in `:0`
    /// when an ephemeral port is to be bound; [`Cluster::name`](crate::Cluster::name) then
    /// has the real port.
    pub fn local_name(&self) -> MemberName {
        self.local.to_member_name()
    }

    /// Where the UDP and TCP sockets will be bound.
    pub fn bind(&self) -> SocketAddr {
        self.bind
    }

    /// Members contacted at start, by canonical name.
    pub fn peers(&self) -> &[MemberName] {
        &self.peers
    }

    /// The peers looked up again while the member runs: `dns+` and `dnssrv+` peers, and
    /// the discovery name (as `dns+HOST:PORT`).
    pub fn peer_sources(&self) -> &[PeerSpec] {
        &self.peer_sources
    }

    /// The protocol settings the member will run with (the Python wire's clock rules
    /// included).
    pub fn protocol(&self) -> &ProtocolConfig {
        &self.protocol
    }

    /// The same configuration after the sockets were bound to `bound`: with port 0, the
    /// bind address and the local name take the bound port.
    pub(crate) fn bound_to(mut self, bound: SocketAddr) -> Self {
        if self.bind.port() == 0 {
            self.bind.set_port(bound.port());
            self.local = self.local.with_bound_port(bound.port());
        }
        self
    }
}

impl fmt::Debug for ResolvedConfig {
    /// The secret is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedConfig")
            .field("local", &self.local.to_string())
            .field("bind", &self.bind)
            .field("peers", &self.peers)
            .field("local_metadata", &self.local_metadata)
            .field("protocol", &self.protocol)
            .field("mtu_size", &self.mtu_size)
            .field("wire", &self.wire)
            .field("name_ttl", &self.name_ttl)
            .field("peer_sources", &self.peer_sources)
            .field("peer_refresh", &self.peer_refresh)
            .field("security", &self.security)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::secret::default_secret;
    use crate::config::Config;

    #[tokio::test]
    async fn an_ephemeral_port_is_recorded_after_binding() {
        let resolved = Config::new("127.0.0.1:0")
            .with_secret("s")
            .resolve()
            .await
            .unwrap();
        assert_eq!(resolved.bind().port(), 0);
        let bound = resolved.bound_to("127.0.0.1:40001".parse().unwrap());
        assert_eq!(bound.bind(), "127.0.0.1:40001".parse().unwrap());
        assert_eq!(bound.local_name().as_str(), "127.0.0.1:40001");
        let v6 = Config::new("[::1]:0")
            .with_secret("s")
            .resolve()
            .await
            .unwrap();
        let bound = v6.bound_to("[::1]:40002".parse().unwrap());
        assert_eq!(bound.local_name().as_str(), "[::1]:40002");
        // A fixed port is never rewritten.
        let fixed = Config::new("127.0.0.1:5")
            .with_secret("s")
            .resolve()
            .await
            .unwrap();
        let bound = fixed.bound_to("127.0.0.1:7".parse().unwrap());
        assert_eq!(bound.local_name().as_str(), "127.0.0.1:5");
    }

    #[tokio::test]
    async fn a_missing_secret_is_derived_from_the_machine() {
        let resolved = Config::new("127.0.0.1:1").resolve().await.unwrap();
        assert!(!resolved.secret.is_empty());
        assert_eq!(resolved.secret, default_secret().unwrap());
    }

    #[tokio::test]
    async fn the_wire_chosen_is_the_one_the_core_runs() {
        use crate::config::WireKind;
        let native = Config::new("127.0.0.1:1").with_secret("s");
        let python = native.clone().with_wire(WireKind::Python);
        let native = native.resolve().await.unwrap();
        assert_eq!(native.protocol().wire, WireKind::Native);
        let python = python.resolve().await.unwrap();
        assert_eq!(python.protocol().wire, WireKind::Python);
    }
}
