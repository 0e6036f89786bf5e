//! Wire formats: the [`WireFormat`] trait that codecs implement, and our native format.
//!
//! The byte layout of the native format is specified in `docs/PROTOCOL.md`.

use crate::{Packet, Update};

/// Largest payload any decoder accepts (a TCP-carried packet included).
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// Why a payload could not be decoded. Decoders never panic on hostile input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload ended in the middle of a field.
    #[error("truncated payload")]
    Truncated,
    /// A length or count is larger than allowed or than the payload.
    #[error("{what} too large: {value}")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// The value read.
        value: u64,
    },
    /// An unknown version, tag or status.
    #[error("invalid {what}: {value}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// The value read.
        value: u64,
    },
    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in {0}")]
    Utf8(&'static str),
    /// Bytes left over after the packet.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Anything else a format rejects, described.
    #[error("{0}")]
    Other(String),
}

/// A wire format: turns packets into payloads and back. Signing wraps the format; it is not
/// part of it.
pub trait WireFormat: Send + Sync + 'static {
    /// Encodes one packet into one or more payloads (a format that cannot carry piggybacked
    /// gossip may split it into several packets).
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>>;
    /// Decodes one payload.
    fn decode(&self, payload: &[u8]) -> Result<Packet, DecodeError>;
}

/// Our own compact binary format.
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeWire;

impl WireFormat for NativeWire {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        vec![encode(packet)]
    }
    fn decode(&self, payload: &[u8]) -> Result<Packet, DecodeError> {
        decode(payload)
    }
}

/// Encodes a packet in the native format.
pub fn encode(packet: &Packet) -> Vec<u8> {
    let _ = packet;
    todo!("native codec")
}

/// Decodes a packet in the native format, strictly and within bounds.
pub fn decode(payload: &[u8]) -> Result<Packet, DecodeError> {
    let _ = payload;
    todo!("native codec")
}

/// The number of bytes `update` takes in the native format (for piggyback budgets).
pub fn update_len(update: &Update) -> usize {
    let _ = update;
    todo!("native codec")
}
