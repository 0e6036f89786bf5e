//! The wire format of the Python package `swim-protocol` 0.6.3, so that our members can join
//! clusters of Python members.
//!
//! "The seed" elsewhere in the project's docs is this package: the one the project
//! reimplements, and whose members this crate lets ours talk to.
//!
//! Two layers, used separately by the runtime:
//!
//! - **Framing and signing** ([`pack`], [`unpack`]): a 6-byte XORed prefix, a 16-byte salt,
//!   an HMAC-SHA256 digest over `b"0.6.3" + salt + payload`, then the payload. [`default_secret`]
//!   gives the secret the package uses when none is configured.
//! - **Payload codec** ([`PythonWire`], a [`WireFormat`]): the payload is a protocol-5
//!   pickle of one of the package's dataclasses. [`unpickle_packet`] is a strict whitelist
//!   decoder that never executes anything; [`pickle_packet`] writes pickles the real
//!   unpickler accepts. [`to_core`] and [`from_core`] map to and from the core's messages.
//!
//! The byte layout and the mapping are described in `docs/python-wire.md`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod convert;
mod error;
mod model;
mod pickler;
mod sign;
mod unpickle;
mod vocab;

use swim_core::wire::{DecodeError, WireFormat};
use swim_core::Packet;

pub use convert::{from_core, to_core};
pub use error::PyWireError;
pub use model::{unpickle_packet, PyPacket, PySource};
pub use pickler::{pickle_packet, status_value, PICKLE_PROTOCOL};
pub use sign::{
    default_secret, node_from_mac, pack, pack_with_salt, unpack, DEFAULT_MTU, DIGEST_LEN,
    PREFIX_LEN, PREFIX_XOR, SALT_LEN, VERSION,
};

/// The decoder's resource limits (per pickle).
pub mod limits {
    pub use crate::unpickle::{
        MAX_DEPTH, MAX_LONG_BYTES, MAX_MARKS, MAX_MEMO, MAX_STACK, MAX_VALUES,
    };
}

/// The package's payload format as a [`WireFormat`]: one core packet is encoded as one
/// pickle per Python packet (see [`from_core`]); one pickle decodes to one core packet (see
/// [`to_core`]). Signing is not part of it: wrap payloads with [`pack`] / [`unpack`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonWire;

impl WireFormat for PythonWire {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        from_core(packet).iter().map(pickle_packet).collect()
    }

    fn decode(&self, payload: &[u8]) -> Result<Packet, DecodeError> {
        let packet = unpickle_packet(payload)?;
        Ok(to_core(packet)?)
    }
}
