//! The library's configuration (skeleton: owned by the config work).

use std::net::IpAddr;

use swim_core::{Metadata, ProtocolConfig};

/// Which wire format a member speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WireKind {
    /// Our own compact format (default).
    #[default]
    Native,
    /// The format of the Python package swim-protocol 0.6.3.
    Python,
}

/// Everything needed to start a member. Build it in code, or from the command line and
/// `SWIM_*` environment variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// The local member's name: `host:port`, `[v6]:port`, `:port` or `host`.
    pub local_name: String,
    /// Members to contact at start, by name.
    pub peers: Vec<String>,
    /// The local member's metadata at start.
    pub local_metadata: Metadata,
    /// Shared secret signing every packet; `None` derives one from the machine (loopback only).
    pub secret: Option<Vec<u8>>,
    /// Protocol timings.
    pub protocol: ProtocolConfig,
    /// Address to bind the UDP and TCP sockets to; `None` binds the name's host address.
    pub bind_host: Option<IpAddr>,
    /// Port to bind; `None` uses the name's port.
    pub bind_port: Option<u16>,
    /// Host used for names given as `:port` or without a host.
    pub default_host: String,
    /// Port used for names given without a port.
    pub default_port: u16,
    /// Find peers by resolving the host of `local_name` to all its addresses.
    pub discovery: bool,
    /// Packets larger than this many bytes go over TCP.
    pub mtu_size: usize,
    /// The wire format.
    pub wire: WireKind,
}

impl Config {
    /// A config for member `local_name` with every other field at its default.
    pub fn new(local_name: impl Into<String>) -> Self {
        Config {
            local_name: local_name.into(),
            peers: Vec::new(),
            local_metadata: Metadata::empty(),
            secret: None,
            protocol: ProtocolConfig::default(),
            bind_host: None,
            bind_port: None,
            default_host: "127.0.0.1".to_owned(),
            default_port: 9999,
            discovery: false,
            mtu_size: 1500,
            wire: WireKind::Native,
        }
    }
}
