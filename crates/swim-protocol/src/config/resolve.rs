//! From [`Config`] to [`ResolvedConfig`]: validated once, names parsed and resolved, peers
//! discovered, secret chosen, and the wire's protocol rules applied.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use super::secret::default_secret;
use super::ResolvedConfig;
use super::{parse_peer_spec, Config, WireKind};
use crate::address::{
    discover, resolve_host, resolve_peer, transient, AddressParser, Host, MemberAddress, PeerSpec,
    Resolver, LOOKUP_TIMEOUT,
};
use crate::error::{ConfigError, StartError};
use crate::frame::keyring::Keyring;
use crate::security::Security;

impl Config {
    /// Validates the config, resolves the local name with the config's resolver, runs
    /// discovery if enabled and chooses the secret: everything the runtime needs to start.
    ///
    /// Failures that may pass (a name that does not resolve yet, discovery that finds no peers)
    /// are [`StartError::Transient`], with a suggested wait before retrying.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use swim_protocol::Config;
    /// let resolved = Config::new(":2001").with_peers(["127.0.0.1:2002"]).resolve().await.unwrap();
    /// assert_eq!(resolved.local_name().as_str(), "127.0.0.1:2001");
    /// assert_eq!(resolved.bind(), "127.0.0.1:2001".parse().unwrap());
    /// # });
    /// ```
    pub async fn resolve(&self) -> Result<ResolvedConfig, StartError> {
        let parser = self.checked_parser()?;
        let resolver = &*self.resolver;
        let mut local = parse(&parser, &self.local_name, "local name")?;
        let specs = self
            .peers
            .iter()
            .map(|peer| parse_peer_spec(&parser, peer))
            .collect::<Result<Vec<_>, _>>()?;
        let mut peers = Vec::new();
        let mut peer_sources = Vec::new();
        for spec in specs {
            match spec {
                PeerSpec::Member(address) => peers.push(address),
                dynamic => peer_sources.push(dynamic),
            }
        }
        let mut discovery_source = None;
        if self.discovery {
            let discovered = discover(resolver, &local, self.bind_host).await?;
            // The service's name is looked up again while the member runs: the first
            // replica starts alone and meets the later ones this way.
            if let Host::Name(_) = local.host {
                discovery_source = Some(PeerSpec::Dns(local.clone()));
            }
            local = discovered.local;
            peers.extend(discovered.peers);
        }
        let bind_ip = match self.bind_host {
            Some(ip) => ip,
            // Binding prefers IPv4 on every member, so others pick the same address.
            None => resolve_host(resolver, &local.host, false)
                .await
                .map_err(|e| transient("local name", e))?,
        };
        for source in &peer_sources {
            // Not there yet is no reason not to start: it is looked up again later.
            match resolve_peer(resolver, source, bind_ip.is_ipv6()).await {
                Ok(found) => peers.extend(found),
                Err(error) => tracing::warn!(%source, %error, "peer not found (yet)"),
            }
        }
        peer_sources.extend(discovery_source);
        let bind = SocketAddr::new(bind_ip, self.bind_port.unwrap_or(local.port));
        let local_name = local.to_string();
        let peers: BTreeSet<MemberAddress> = peers
            .into_iter()
            .filter(|peer| peer.to_string() != local_name)
            .collect();
        check_peers_resolve(resolver, &peers).await;
        let secret = match &self.security.secret {
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
        let protocol = self.protocol.clone();
        let keyring = self.security.initial_keyring()?;
        if self.protocol.wire == WireKind::Auto && keyring != Keyring::signed_only() {
            return Err(ConfigError::Invalid(
                "--wire auto cannot be combined with encryption: members of the Python format \
                 cannot take it, and accepting their signed frames would bypass it; enable \
                 the keyring once every member runs --wire native (docs/migration.md)"
                    .to_owned(),
            )
            .into());
        }
        Ok(ResolvedConfig {
            local,
            bind,
            peers: peers.iter().map(MemberAddress::to_member_name).collect(),
            local_metadata: self.local_metadata.clone(),
            secret,
            protocol,
            mtu_size: self.mtu_size,
            wire: self.protocol.wire,
            resolver: self.resolver.clone(),
            name_ttl: self.name_ttl,
            peer_sources,
            peer_refresh: self.peer_refresh,
            // The keyring file is read here, so that a missing one fails before binding.
            security: Security {
                keyring,
                ..self.security.clone()
            },
        })
    }
}

fn parse(parser: &AddressParser, name: &str, what: &str) -> Result<MemberAddress, ConfigError> {
    parser.parse(name).map_err(|error| ConfigError::Address {
        what: what.to_owned(),
        error,
    })
}

/// Looks the peers' host names up once, to report typos early. A peer that does not resolve
/// yet is kept (it may come up later) and only logged; the whole check is bounded in time.
async fn check_peers_resolve(resolver: &dyn Resolver, peers: &BTreeSet<MemberAddress>) {
    let hosts: BTreeSet<&Host> = peers
        .iter()
        .map(|peer| &peer.host)
        .filter(|host| matches!(host, Host::Name(_)))
        .collect();
    let check = async {
        for host in hosts {
            if let Err(error) = resolve_host(resolver, host, false).await {
                tracing::warn!(%error, "peer host does not resolve (yet); keeping it");
            }
        }
    };
    if tokio::time::timeout(LOOKUP_TIMEOUT, check).await.is_err() {
        tracing::warn!("resolving the peers' host names is slow; not waiting for it");
    }
}
