//! A member's codec: the wire format that turns packets into payloads, paired with the
//! framing that signs payloads into frames. Each [`WireKind`] selects one pair.

use swim_core::wire::{NativeWire, WireFormat};
use swim_core::Packet;
use swim_wire_python::{PyWireError, PythonWire};

use crate::config::WireKind;
use crate::error::ConfigError;
use crate::sign::{FrameError, Signer};

/// Signs payloads into frames and checks frames back into payloads.
pub(crate) trait Framing: Send + Sync + 'static {
    /// Wraps a payload in a signed frame; `None` if the framing cannot carry it.
    fn seal(&self, payload: &[u8]) -> Option<Vec<u8>>;
    /// Checks a frame; returns the payload inside.
    fn open<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8], FrameError>;
}

impl Framing for Signer {
    fn seal(&self, payload: &[u8]) -> Option<Vec<u8>> {
        Some(Signer::seal(self, payload))
    }
    fn open<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8], FrameError> {
        Signer::open(self, frame)
    }
}

/// The Python package's framing: XORed length prefix, salt, HMAC over its version string,
/// salt and payload (see `swim_wire_python::pack`).
struct PythonFraming {
    secret: Vec<u8>,
}

impl Framing for PythonFraming {
    fn seal(&self, payload: &[u8]) -> Option<Vec<u8>> {
        swim_wire_python::pack(&self.secret, payload, &mut rand::rng()).ok()
    }
    fn open<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8], FrameError> {
        swim_wire_python::unpack(&self.secret, frame).map_err(|e| match e {
            PyWireError::BadSignature => FrameError::BadSignature,
            _ => FrameError::Malformed,
        })
    }
}

/// How a frame is carried on a TCP connection (one frame per connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpFraming {
    /// A 4-byte big-endian length, then the frame (native).
    LengthPrefixed,
    /// The frame, then the sender closes the connection (the Python package).
    UntilClose,
}

/// Why a received frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// The signature did not verify.
    BadSignature,
    /// The frame or its payload could not be parsed.
    Malformed(String),
}

/// A (wire format, framing) pair.
pub(crate) struct Codec {
    wire: Box<dyn WireFormat>,
    framing: Box<dyn Framing>,
    tcp: TcpFraming,
}

impl Codec {
    /// The codec for `kind`, signing with `secret`.
    pub fn new(kind: WireKind, secret: &[u8]) -> Result<Codec, ConfigError> {
        match kind {
            WireKind::Native => Ok(Codec {
                wire: Box::new(NativeWire),
                framing: Box::new(Signer::new(secret)),
                tcp: TcpFraming::LengthPrefixed,
            }),
            WireKind::Python => Ok(Codec {
                wire: Box::new(PythonWire),
                framing: Box::new(PythonFraming {
                    secret: secret.to_vec(),
                }),
                tcp: TcpFraming::UntilClose,
            }),
        }
    }

    /// How frames travel over TCP.
    pub fn tcp_framing(&self) -> TcpFraming {
        self.tcp
    }

    /// Encodes and signs a packet into one or more frames (`None` for a payload the
    /// framing cannot carry).
    pub fn encode(&self, packet: &Packet) -> Vec<Option<Vec<u8>>> {
        self.wire
            .encode(packet)
            .iter()
            .map(|payload| self.framing.seal(payload))
            .collect()
    }

    /// Verifies and decodes one frame.
    pub fn decode(&self, frame: &[u8]) -> Result<Packet, Rejected> {
        let payload = self.framing.open(frame).map_err(|e| match e {
            FrameError::BadSignature => Rejected::BadSignature,
            FrameError::Malformed => Rejected::Malformed(e.to_string()),
        })?;
        self.wire
            .decode(payload)
            .map_err(|e| Rejected::Malformed(e.to_string()))
    }
}
