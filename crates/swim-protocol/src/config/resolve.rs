//! From [`Config`] to [`ResolvedConfig`]: names parsed and resolved, peers discovered, secret
//! chosen.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use swim_core::MemberName;

use super::address::{AddressParser, Host, MemberAddress};
use super::discovery::{discover, RETRY_AFTER_LOOKUP_FAILURE, RETRY_AFTER_NO_PEERS};
use super::resolver::{
    lookup_all, pick_ip, ResolveError, Resolver, SystemResolver, LOOKUP_TIMEOUT,
};
use super::secret::default_secret;
use super::Config;
use crate::{ConfigError, ResolvedConfig, StartError};

impl Config {
    /// Validates the config, resolves the local name with the system's resolver, runs discovery
    /// if enabled and chooses the secret: everything the runtime needs to start.
    ///
    /// Failures that may pass (a name that does not resolve yet, discovery that finds no peers)
    /// are [`StartError::Transient`], with a suggested wait before retrying.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use swim_protocol::Config;
    /// let resolved = Config::new(":2001").with_peers(["127.0.0.1:2002"]).resolve().await.unwrap();
    /// assert_eq!(resolved.local_name.as_str(), "127.0.0.1:2001");
    /// assert_eq!(resolved.bind, "127.0.0.1:2001".parse().unwrap());
    /// # });
    /// ```
    pub async fn resolve(&self) -> Result<ResolvedConfig, StartError> {
        self.resolve_with(&SystemResolver).await
    }

    /// [`Config::resolve`] with the given resolver for host names.
    pub async fn resolve_with(
        &self,
        resolver: &dyn Resolver,
    ) -> Result<ResolvedConfig, StartError> {
        self.validate()?;
        let parser = self.address_parser()?;
        let mut local = parse(&parser, &self.local_name, "local name")?;
        let mut peers = self
            .peers
            .iter()
            .map(|peer| parse(&parser, peer, &format!("peer {peer:?}")))
            .collect::<Result<Vec<_>, _>>()?;
        if self.discovery {
            let discovered = discover(resolver, &local, self.bind_host).await?;
            local = discovered.local;
            peers.extend(discovered.peers);
        }
        let bind_ip = match (self.bind_host, &local.host) {
            (Some(ip), _) | (None, &Host::Ip(ip)) => ip,
            (None, Host::Name(name)) => resolve_local_host(resolver, name).await?,
        };
        let bind = SocketAddr::new(bind_ip, self.bind_port.unwrap_or(local.port));
        let local_name = local.to_member_name();
        let peers: BTreeSet<MemberAddress> = peers
            .into_iter()
            .filter(|peer| peer.to_string() != local_name.as_str())
            .collect();
        check_peers_resolve(resolver, &peers).await;
        let secret = match &self.secret {
            Some(secret) => secret.clone(),
            None => {
                tracing::warn!(
                    %bind,
                    "no secret configured: using one derived from this machine, which anyone who \
                     can see its MAC address can forge; only safe when bound to loopback"
                );
                default_secret()?
            }
        };
        Ok(ResolvedConfig {
            local_name,
            bind,
            peers: peers.iter().map(MemberAddress::to_member_name).collect(),
            local_metadata: self.local_metadata.clone(),
            secret,
            protocol: self.protocol.clone(),
            mtu_size: self.mtu_size,
            wire: self.wire,
        })
    }
}

fn parse(parser: &AddressParser, name: &str, what: &str) -> Result<MemberAddress, ConfigError> {
    parser.parse(name).map_err(|source| ConfigError::Address {
        what: what.to_owned(),
        source,
    })
}

async fn resolve_local_host(resolver: &dyn Resolver, name: &str) -> Result<IpAddr, StartError> {
    let ips = lookup_all(resolver, name)
        .await
        .map_err(|error| StartError::Transient {
            retry_after: match error {
                ResolveError::NoAddress { .. } => RETRY_AFTER_NO_PEERS,
                _ => RETRY_AFTER_LOOKUP_FAILURE,
            },
            reason: format!("cannot resolve the local name: {error}"),
        })?;
    pick_ip(&ips, false).ok_or_else(|| StartError::Transient {
        reason: format!("the local name {name:?} resolves to no address"),
        retry_after: RETRY_AFTER_NO_PEERS,
    })
}

/// Looks the peers' host names up once, to report typos early. A peer that does not resolve
/// yet is kept (it may come up later) and only logged; the whole check is bounded in time.
async fn check_peers_resolve(resolver: &dyn Resolver, peers: &BTreeSet<MemberAddress>) {
    let hosts: BTreeSet<&str> = peers
        .iter()
        .filter_map(|peer| match &peer.host {
            Host::Name(name) => Some(name.as_str()),
            Host::Ip(_) => None,
        })
        .collect();
    let check = async {
        for host in hosts {
            if let Err(error) = lookup_all(resolver, host).await {
                tracing::warn!(%error, "peer host does not resolve (yet); keeping it");
            }
        }
    };
    if tokio::time::timeout(LOOKUP_TIMEOUT, check).await.is_err() {
        tracing::warn!("resolving the peers' host names is slow; not waiting for it");
    }
}

impl ResolvedConfig {
    /// Records the port actually bound when the configured one was 0 (an ephemeral port): the
    /// bind address and the local name get the real port. Unchanged otherwise.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use swim_protocol::Config;
    /// let resolved = Config::new("127.0.0.1:0").with_secret("s").resolve().await.unwrap();
    /// let resolved = resolved.with_bound_port(40001);
    /// assert_eq!(resolved.local_name.as_str(), "127.0.0.1:40001");
    /// assert_eq!(resolved.bind.port(), 40001);
    /// # });
    /// ```
    #[must_use]
    pub fn with_bound_port(mut self, port: u16) -> Self {
        if self.bind.port() != 0 {
            return self;
        }
        self.bind.set_port(port);
        if let Ok(mut local) = AddressParser::new().parse(self.local_name.as_str()) {
            if local.port == 0 {
                local.port = port;
                self.local_name = MemberName::from(local.to_string());
            }
        }
        self
    }
}
