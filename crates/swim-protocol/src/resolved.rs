//! A configuration with every name resolved: what the runtime needs to run a member.

use std::net::SocketAddr;

use swim_core::{MemberName, Metadata, ProtocolConfig};

use crate::WireKind;

/// The output of `Config::resolve`: addresses resolved, peers discovered, secret known.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    /// The local member's canonical name (`host:port`), as others reach it.
    pub local_name: MemberName,
    /// Where the UDP and TCP sockets are bound.
    pub bind: SocketAddr,
    /// Members to contact at start, canonical names.
    pub peers: Vec<MemberName>,
    /// Initial local metadata.
    pub local_metadata: Metadata,
    /// The shared secret signing every packet.
    pub secret: Vec<u8>,
    /// Protocol timings.
    pub protocol: ProtocolConfig,
    /// Packets larger than this many bytes go over TCP.
    pub mtu_size: usize,
    /// The wire format.
    pub wire: WireKind,
}
