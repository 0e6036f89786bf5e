//! The one error type of this crate, and its mapping to the core's [`DecodeError`].

use swim_core::wire::DecodeError;

/// Why a datagram or pickle from a Python peer was refused (or a datagram could not be built).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PyWireError {
    /// The datagram is shorter than the 6-byte prefix.
    #[error("datagram of {0} bytes is shorter than the 6-byte prefix")]
    ShortDatagram(usize),
    /// The prefix announces a digest that is not HMAC-SHA256's 32 bytes.
    #[error("digest length {0} (HMAC-SHA256 needs 32)")]
    DigestLength(usize),
    /// The datagram does not hold exactly the announced salt, digest and payload.
    #[error("datagram holds {actual} bytes, its prefix announces {expected}")]
    DatagramLength {
        /// The length the prefix announces (prefix, salt, digest and payload).
        expected: u64,
        /// The datagram's length.
        actual: usize,
    },
    /// A payload is larger than [`swim_core::wire::MAX_PAYLOAD`].
    #[error("payload of {0} bytes is larger than the limit of {max} bytes", max = swim_core::wire::MAX_PAYLOAD)]
    PayloadTooLarge(u64),
    /// The HMAC does not match: wrong secret, other version, or tampering.
    #[error("bad signature")]
    BadSignature,
    /// The pickle ends in the middle of an opcode or its argument.
    #[error("pickle truncated at byte {0}")]
    Truncated(usize),
    /// An opcode this decoder does not understand (it knows only what the Python package emits).
    #[error("unsupported pickle opcode 0x{opcode:02x} at byte {offset}")]
    Opcode {
        /// The opcode byte.
        opcode: u8,
        /// Its position in the pickle.
        offset: usize,
    },
    /// A pickle protocol other than 4 or 5.
    #[error("unsupported pickle protocol {0} (expected 4 or 5)")]
    Protocol(u8),
    /// A global (class or function) outside the whitelist.
    #[error("global {module}.{name} is not allowed")]
    Global {
        /// The module name (shortened if long).
        module: String,
        /// The attribute name (shortened if long).
        name: String,
    },
    /// A resource limit of the decoder was reached.
    #[error("pickle exceeds the {what} limit of {limit}")]
    Limit {
        /// The limited resource.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The opcodes are individually known but do not make sense together.
    #[error("malformed pickle at byte {offset}: {reason}")]
    Malformed {
        /// Position of the offending opcode.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A string is not valid UTF-8.
    #[error("invalid UTF-8 in the string at byte {0}")]
    Utf8(usize),
    /// Bytes follow the pickle's STOP opcode.
    #[error("{0} trailing bytes after the pickle")]
    Trailing(usize),
    /// The unpickled object is not one of the package's packets, or a field is wrong.
    #[error("not a swim-protocol packet: {0}")]
    Schema(String),
    /// A source's validity is not the 8 bytes the core expects.
    #[error("source validity must be 8 bytes, got {0}")]
    ValidityLength(usize),
}

impl From<PyWireError> for DecodeError {
    fn from(err: PyWireError) -> Self {
        match err {
            PyWireError::Truncated(_) => DecodeError::Truncated,
            PyWireError::Trailing(n) => DecodeError::Trailing(n),
            PyWireError::Utf8(_) => DecodeError::Utf8("pickled string"),
            PyWireError::PayloadTooLarge(n) => DecodeError::TooLarge {
                what: "payload",
                value: n,
            },
            PyWireError::Opcode { opcode, .. } => DecodeError::Invalid {
                what: "pickle opcode",
                value: u64::from(opcode),
            },
            PyWireError::Protocol(p) => DecodeError::Invalid {
                what: "pickle protocol",
                value: u64::from(p),
            },
            other => DecodeError::Other(other.to_string()),
        }
    }
}

/// Shortens a name taken from hostile input before it goes into an error message.
pub(crate) fn shorten(name: &str) -> String {
    const MAX: usize = 64;
    match name.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}
