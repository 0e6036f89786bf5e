//! Wire formats: the [`WireFormat`] trait that codecs implement, and our native format.
//!
//! The native format is a compact, versioned, strict binary encoding of a [`Packet`]; its
//! byte layout, limits and test vectors are in `docs/wire-format.md`. In short: the magic
//! bytes `SW`, a version byte, the source, a message tag and body, then the piggybacked
//! gossip. Integers are unsigned LEB128 varints in their shortest form, strings and byte
//! strings are length-prefixed, and every count and length is checked against both an
//! explicit limit and the bytes left before anything is allocated. Every payload that
//! decodes has exactly one encoding, so `encode(&decode(p)?) == p`.
//!
//! The encoder does not enforce the limits (it cannot fail): a packet holding a name longer
//! than [`MAX_NAME_LEN`] or metadata beyond [`MAX_VALUE_LEN`] encodes, but every peer
//! rejects it. Names and metadata must be checked where they enter the system.

mod app;
mod decode;
mod encode;
mod primitives;
#[cfg(test)]
mod tests;

use crate::{Packet, Update};

/// Largest payload any decoder accepts (a TCP-carried packet included).
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;
/// Longest member name, in UTF-8 bytes, the native decoder accepts.
pub const MAX_NAME_LEN: usize = 255;
/// Longest metadata key, in UTF-8 bytes, the native decoder accepts.
pub const MAX_KEY_LEN: usize = 255;
/// Longest metadata value, in bytes, the native decoder accepts.
pub const MAX_VALUE_LEN: usize = 1024 * 1024;
/// Most metadata keys in one record the native decoder accepts; also the most keys one
/// metadata delta may name, set and removed together.
pub const MAX_METADATA_KEYS: usize = 4096;
/// Most records (piggybacked gossip plus sync records) in one packet the native decoder accepts.
pub const MAX_RECORDS: usize = 100_000;

/// The two bytes every native payload starts with.
pub const MAGIC: [u8; 2] = *b"SW";
/// The version of the native format this code writes and reads.
pub const VERSION: u8 = 1;

/// Message tags: the byte after the source that says which [`crate::Message`] follows.
mod tag {
    pub const PING: u8 = 0x01;
    pub const PING_REQ: u8 = 0x02;
    pub const ACK: u8 = 0x03;
    pub const GOSSIP: u8 = 0x04;
    pub const GOSSIP_ACK: u8 = 0x05;
    pub const GOSSIP_ONLY: u8 = 0x06;
    pub const SYNC: u8 = 0x07;
    pub const NACK: u8 = 0x08;
    pub const PING_SYNC: u8 = 0x09;
    pub const ACK_SYNC: u8 = 0x0a;
    pub const QUERY_REPLY: u8 = 0x0b;
    pub const DIRECT: u8 = 0x0c;
    pub const DIRECT_ACK: u8 = 0x0d;
}

/// Bits of the state byte of a record: the low bits are the status code, bit 4 says a
/// metadata delta follows, bit 5 says an accuser follows (only with SUSPECT), bit 6 says
/// the member left (only with OFFLINE), the top bit says whether metadata follows (never
/// with bit 4).
mod state {
    pub const ONLINE: u8 = 0x00;
    pub const SUSPECT: u8 = 0x01;
    pub const OFFLINE: u8 = 0x02;
    /// A SUSPECT record only: the accuser's name follows the state byte.
    pub const HAS_ACCUSER: u8 = 0x20;
    pub const LEFT: u8 = 0x40;
    /// A metadata delta follows (never with [`HAS_METADATA`]).
    pub const HAS_DELTA: u8 = 0x10;
    pub const HAS_METADATA: u8 = 0x80;
}

/// Bits of the flags byte of a sync message; the other bits must be zero.
mod sync_flags {
    pub const REPLY: u8 = 0x01;
    pub const FULL: u8 = 0x02;
}

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

/// Encodes a packet in the native format. Deterministic: equal packets give equal bytes.
pub fn encode(packet: &Packet) -> Vec<u8> {
    encode::packet(packet)
}

/// Decodes a packet in the native format, strictly and within bounds.
pub fn decode(payload: &[u8]) -> Result<Packet, DecodeError> {
    decode::packet(payload)
}

/// The number of bytes an application message takes in a packet's app section.
pub fn app_message_len(message: &crate::AppMessage) -> usize {
    app::app_message_len(message)
}

/// The number of bytes `update` takes in the native format (for piggyback budgets).
///
/// Adding the update to a packet's gossip grows the payload by exactly this much, as long as
/// the gossip count prefix keeps its size (one byte below 128 records). Does not allocate.
pub fn update_len(update: &Update) -> usize {
    encode::update_len(update)
}

/// The number of bytes the record of `member` takes in the native format, naming `accuser`
/// if it is SUSPECT, with `delta` instead of its map if given: the same as `update_len` of its `Update`, without building one (the
/// piggyback budget is checked for every queued record of every packet).
pub(crate) fn snapshot_len(
    member: crate::table::EntryRef<'_>,
    accuser: Option<&str>,
    delta: Option<&crate::MetaDelta>,
) -> usize {
    let accuser = accuser.filter(|_| member.status() == crate::Status::Suspect);
    let metadata = match (delta, member.metadata()) {
        (Some(delta), _) => encode::delta_len(delta),
        (None, Some(metadata)) => encode::metadata_len(metadata),
        (None, None) => 0,
    };
    encode::record_len(member.name(), member.clock(), accuser, metadata)
}

/// The size of `metadata` in the native format (for choosing between a delta and the map).
pub(crate) fn metadata_len(metadata: &crate::Metadata) -> usize {
    encode::metadata_len(metadata)
}

/// The size of `delta` in the native format.
pub(crate) fn delta_len(delta: &crate::MetaDelta) -> usize {
    encode::delta_len(delta)
}

/// The exact size of `encode(packet)`, computed without encoding or allocating.
pub fn encoded_len(packet: &Packet) -> usize {
    encode::packet_len(packet)
}
