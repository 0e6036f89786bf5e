//! A member's codec: the wire format that turns packets into payloads, paired with the
//! framing that signs payloads into frames. Each [`WireKind`] selects one pair.

use swim_core::wire::{NativeWire, WireFormat};
use swim_core::Packet;

use crate::sign::{FrameError, Signer};
use crate::{ConfigError, WireKind};

/// Signs payloads into frames and checks frames back into payloads.
pub(crate) trait Framing: Send + Sync + 'static {
    /// Wraps a payload in a signed frame.
    fn seal(&self, payload: &[u8]) -> Vec<u8>;
    /// Checks a frame; returns the payload inside.
    fn open<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8], FrameError>;
}

impl Framing for Signer {
    fn seal(&self, payload: &[u8]) -> Vec<u8> {
        Signer::seal(self, payload)
    }
    fn open<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8], FrameError> {
        Signer::open(self, frame)
    }
}

/// How a frame is carried on a TCP connection (one frame per connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpFraming {
    /// A 4-byte big-endian length, then the frame (native).
    LengthPrefixed,
    /// The frame, then the sender closes the connection (the Python seed).
    #[allow(dead_code)] // used once the Python pair plugs in
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
            // The Python pair (PythonWire + its pickle-style pack/unpack framing, frames
            // sent UntilClose over TCP) plugs in here.
            WireKind::Python => Err(ConfigError::Invalid(
                "the Python wire format is not available in this build".to_owned(),
            )),
        }
    }

    /// How frames travel over TCP.
    pub fn tcp_framing(&self) -> TcpFraming {
        self.tcp
    }

    /// Encodes and signs a packet into one or more frames.
    pub fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
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
