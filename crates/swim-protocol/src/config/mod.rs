//! The library's configuration: [`Config`], its validation, and its resolution into the
//! [`ResolvedConfig`] the runtime runs on.

#[cfg(feature = "cli")]
pub(crate) mod cli;
mod resolve;
pub(crate) mod resolved;
mod seconds;
pub mod secret;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use swim_core::{Metadata, Profile, ProtocolConfig};

#[cfg(feature = "cli")]
pub use self::cli::Args;
pub use self::resolved::ResolvedConfig;
pub use self::seconds::{parse_positive_seconds, parse_seconds, MAX_SECONDS};
use crate::address::DEFAULT_NAME_TTL;
use crate::address::{
    AddressError, AddressParser, Host, MemberAddress, PeerSpec, Resolver, SystemResolver,
};
use crate::error::ConfigError;
use crate::security::Security;

/// Smallest allowed `mtu_size`: every IPv4 host must accept datagrams this large.
pub const MIN_MTU_SIZE: usize = 576;

/// Largest allowed `mtu_size`: the largest UDP payload over IPv4.
pub const MAX_MTU_SIZE: usize = 65_507;

/// Most peers a configuration may list.
pub const MAX_PEERS: usize = 10_000;

/// Default of how often `dns+`/`dnssrv+` peers are looked up again (`Config::peer_refresh`).
pub const DEFAULT_PEER_REFRESH: Duration = Duration::from_secs(10);

/// Which wire formats a member speaks, and with them the clock rules it follows (the one
/// interoperation setting, held in [`ProtocolConfig::wire`]): `native` (default), `python`
/// (the package swim-protocol 0.6.3) or `auto` (both, to migrate a live cluster: see
/// `docs/migration.md`; it cannot be combined with encryption, which Python members cannot
/// take; the frames in our format still carry the label and replay protection).
pub use swim_core::Wire as WireKind;

/// Everything needed to start a member. Build it in code, or (with the `cli` feature) from
/// the command line and `SWIM_*` environment variables with `Args`.
///
/// ```
/// use swim_protocol::{Config, Metadata};
/// let config = Config::new("127.0.0.1:2001")
///     .with_peers(["127.0.0.1:2002"])
///     .with_metadata(Metadata::empty().with("name", "one"))
///     .with_secret("my secret");
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct Config {
    /// The local member's name: `host:port`, `[v6]:port`, `:port` or `host`. Port 0 binds an
    /// ephemeral port, and the name takes the bound port.
    pub local_name: String,
    /// Members to contact at start: names (`host:port`), or `dns+HOST:PORT` (every address
    /// of HOST) and `dnssrv+NAME` (every target of NAME's SRV records), which are looked up
    /// again every `peer_refresh` while the member runs.
    pub peers: Vec<String>,
    /// The local member's metadata at start.
    pub local_metadata: Metadata,
    /// Protocol timings: the `lan` profile unless changed ([`Config::with_profile`]).
    pub protocol: ProtocolConfig,
    /// Address to bind the UDP and TCP sockets to; `None` binds the name's host address.
    pub bind_host: Option<IpAddr>,
    /// Port to bind; `None` uses the name's port.
    pub bind_port: Option<u16>,
    /// Host used for names given as `:port`; empty makes such names an error.
    pub default_host: String,
    /// Port used for names given without a port; 0 makes such names an error.
    pub default_port: u16,
    /// Find peers by resolving the host of `local_name` to all its addresses.
    pub discovery: bool,
    /// Packets larger than this many bytes go over TCP.
    pub mtu_size: usize,
    /// Resolves host names: at start, and for every name the member sends to afterwards.
    pub resolver: Arc<dyn Resolver>,
    /// How long the running member trusts a looked-up address before asking again.
    pub name_ttl: Duration,
    /// How often `dns+` and `dnssrv+` peers (and the discovery name) are looked up again
    /// while the member runs; every [`RETRY_AFTER_NO_PEERS`](crate::address::RETRY_AFTER_NO_PEERS)
    /// while they give no peer at all.
    pub peer_refresh: Duration,
    /// Cluster label, keyring (encryption), replay skew, source allow-list and budgets.
    pub security: Security,
}

impl Config {
    /// A config for member `local_name` with every other field at its default.
    pub fn new(local_name: impl Into<String>) -> Self {
        Config {
            local_name: local_name.into(),
            peers: Vec::new(),
            local_metadata: Metadata::empty(),
            protocol: ProtocolConfig::default(),
            bind_host: None,
            bind_port: None,
            default_host: "127.0.0.1".to_owned(),
            default_port: 9999,
            discovery: false,
            mtu_size: 1500,
            resolver: Arc::new(SystemResolver),
            name_ttl: DEFAULT_NAME_TTL,
            peer_refresh: DEFAULT_PEER_REFRESH,
            security: Security::default(),
        }
    }

    /// Replaces the peers.
    #[must_use]
    pub fn with_peers<S: Into<String>>(mut self, peers: impl IntoIterator<Item = S>) -> Self {
        self.peers = peers.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the local metadata at start.
    #[must_use]
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.local_metadata = metadata;
        self
    }

    /// Sets the shared secret.
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.security.secret = Some(secret.into());
        self
    }

    /// Sets the protocol timings.
    #[must_use]
    pub fn with_protocol(mut self, protocol: ProtocolConfig) -> Self {
        self.protocol = protocol;
        self
    }

    /// Binds the sockets to `host` (and `port`, if given) instead of the name's address.
    #[must_use]
    pub fn with_bind(mut self, host: IpAddr, port: Option<u16>) -> Self {
        self.bind_host = Some(host);
        self.bind_port = port;
        self
    }

    /// Turns DNS discovery on or off.
    #[must_use]
    pub fn with_discovery(mut self, discovery: bool) -> Self {
        self.discovery = discovery;
        self
    }

    /// Sets the size above which packets go over TCP.
    #[must_use]
    pub fn with_mtu_size(mut self, mtu_size: usize) -> Self {
        self.mtu_size = mtu_size;
        self
    }

    /// Sets the wire format. [`WireKind::Python`] and [`WireKind::Auto`] also take the
    /// [`Profile::Seed`] timings (the package's members run with them); choose another
    /// profile or timings afterwards to change them. Setting `protocol.wire` directly
    /// changes only the format.
    #[must_use]
    pub fn with_wire(mut self, wire: WireKind) -> Self {
        self.protocol.wire = wire;
        if wire != WireKind::Native {
            self.protocol = self.protocol.with_profile(Profile::Seed);
        }
        self
    }

    /// Takes `profile`'s timings (see the defaults table in `docs/PROTOCOL.md`); timings
    /// set in `protocol` afterwards override single values.
    ///
    /// ```
    /// use swim_protocol::{Config, Profile};
    /// let config = Config::new("127.0.0.1:2001").with_profile(Profile::Wan);
    /// assert_eq!(config.protocol.ping_interval.as_secs(), 3);
    /// ```
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.protocol = self.protocol.with_profile(profile);
        self
    }

    /// Resolves host names with `resolver` instead of the system's, at start and while the
    /// member runs.
    #[must_use]
    pub fn with_resolver(mut self, resolver: impl Resolver + 'static) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// Sets how long a looked-up address is trusted before the name is resolved again.
    #[must_use]
    pub fn with_name_ttl(mut self, ttl: Duration) -> Self {
        self.name_ttl = ttl;
        self
    }

    /// Sets how often `dns+` and `dnssrv+` peers and the discovery name are looked up
    /// again while the member runs.
    #[must_use]
    pub fn with_peer_refresh(mut self, every: Duration) -> Self {
        self.peer_refresh = every;
        self
    }

    /// Sets the security settings (label, keyring, allow-list, budgets).
    #[must_use]
    pub fn with_security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// The parser for member names with this config's default host and port.
    pub fn address_parser(&self) -> Result<AddressParser, ConfigError> {
        let mut parser = AddressParser::new();
        if !self.default_host.is_empty() {
            let host = Host::parse(&self.default_host).map_err(|error| ConfigError::Address {
                what: "default host".to_owned(),
                error,
            })?;
            parser = parser.with_default_host(host);
        }
        if self.default_port != 0 {
            parser = parser.with_default_port(self.default_port);
        }
        Ok(parser)
    }

    /// Checks everything that can be checked without the network: names, sizes, secret and
    /// protocol timings.
    ///
    /// ```
    /// use swim_protocol::Config;
    /// let err = Config::new("127.0.0.1:2001").with_mtu_size(100).validate().unwrap_err();
    /// assert!(err.to_string().contains("mtu_size"));
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.checked_parser().map(drop)
    }

    /// [`Config::validate`], returning the name parser: the one check every entry point runs.
    pub(crate) fn checked_parser(&self) -> Result<AddressParser, ConfigError> {
        let parser = self.address_parser()?;
        parser
            .parse(&self.local_name)
            .map_err(|error| ConfigError::Address {
                what: "local name".to_owned(),
                error,
            })?;
        if self.peers.len() > MAX_PEERS {
            return Err(ConfigError::Invalid(format!(
                "{} peers are configured, at most {MAX_PEERS} are allowed",
                self.peers.len()
            )));
        }
        for peer in &self.peers {
            parse_peer_spec(&parser, peer)?;
        }
        if !(MIN_MTU_SIZE..=MAX_MTU_SIZE).contains(&self.mtu_size) {
            return Err(ConfigError::Invalid(format!(
                "mtu_size is {}, expected {MIN_MTU_SIZE} to {MAX_MTU_SIZE} bytes",
                self.mtu_size
            )));
        }
        if self.name_ttl.is_zero() {
            return Err(ConfigError::Invalid(
                "name_ttl must be greater than zero".to_owned(),
            ));
        }
        if self.peer_refresh.is_zero() {
            return Err(ConfigError::Invalid(
                "peer_refresh must be greater than zero".to_owned(),
            ));
        }
        self.security.validate()?;
        self.protocol.validate()?;
        Ok(parser)
    }
}

/// Parses a peer's name: an address others can reach, so port 0 is refused.
pub(crate) fn parse_peer(parser: &AddressParser, peer: &str) -> Result<MemberAddress, ConfigError> {
    let what = || format!("peer {peer:?}");
    let address = parser.parse(peer).map_err(|error| ConfigError::Address {
        what: what(),
        error,
    })?;
    if address.port == 0 {
        return Err(ConfigError::Address {
            what: what(),
            error: AddressError::ZeroPort,
        });
    }
    Ok(address)
}

/// Parses a configured peer: a name, `dns+HOST:PORT` or `dnssrv+NAME`.
pub(crate) fn parse_peer_spec(parser: &AddressParser, peer: &str) -> Result<PeerSpec, ConfigError> {
    parser
        .parse_peer_spec(peer)
        .map_err(|error| ConfigError::Address {
            what: format!("peer {peer:?}"),
            error,
        })
}

impl fmt::Debug for Config {
    /// Like a derived `Debug`, but the secret is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("local_name", &self.local_name)
            .field("peers", &self.peers)
            .field("local_metadata", &self.local_metadata)
            .field("protocol", &self.protocol)
            .field("bind_host", &self.bind_host)
            .field("bind_port", &self.bind_port)
            .field("default_host", &self.default_host)
            .field("default_port", &self.default_port)
            .field("discovery", &self.discovery)
            .field("mtu_size", &self.mtu_size)
            .field("resolver", &self.resolver)
            .field("name_ttl", &self.name_ttl)
            .field("peer_refresh", &self.peer_refresh)
            .field("security", &self.security)
            .finish()
    }
}
