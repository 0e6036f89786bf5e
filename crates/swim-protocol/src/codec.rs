//! A member's codec: the wire format that turns packets into payloads, paired with the
//! framing around payloads. Native: our format in the frame of [`crate::frame`] (signed or
//! encrypted, label, replay protection). Python: the package's format and its own signing.

use std::borrow::Cow;

use swim_core::wire::{NativeWire, WireFormat};
use swim_core::{MemberName, Packet};
use swim_wire_python::{PyWireError, PythonWire};

use crate::config::WireKind;
use crate::frame::replay::Replayed;
use crate::frame::{FrameError, FrameSettings, Framer};

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
    /// The signature or the encryption tag did not verify.
    BadSignature,
    /// The frame or its payload could not be parsed.
    Malformed(String),
    /// Made for a cluster with another label.
    WrongLabel,
    /// Signed or encrypted with a key that is not in the keyring.
    UnknownKey,
    /// Authentic, but already received, too old, or addressed to another member.
    Replayed(&'static str),
}

impl From<FrameError> for Rejected {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Malformed => Rejected::Malformed("malformed frame".to_owned()),
            FrameError::WrongLabel => Rejected::WrongLabel,
            FrameError::UnknownKey => Rejected::UnknownKey,
            FrameError::BadSignature => Rejected::BadSignature,
            FrameError::Misdirected => Rejected::Replayed("addressed to another member"),
            FrameError::Replayed(Replayed::Duplicate) => Rejected::Replayed("received before"),
            FrameError::Replayed(Replayed::TooOld) => {
                Rejected::Replayed("too far behind the sender's newest frame")
            }
            FrameError::Replayed(Replayed::Stale) => {
                Rejected::Replayed("older than this member's start (or a clock far behind)")
            }
        }
    }
}

/// A (wire format, framing) pair.
pub(crate) enum Codec {
    /// Our format in our frame.
    Native(Box<Framer>),
    /// The Python package's format and signing (see `swim_wire_python::pack`).
    Python {
        /// The shared secret.
        secret: Vec<u8>,
    },
}

impl Codec {
    /// The codec of member `local_name` for `kind`, with the shared `secret`. The Python
    /// wire ignores `settings` (it has neither label, keyring nor replay protection).
    pub fn new(kind: WireKind, secret: &[u8], local_name: &str, settings: FrameSettings) -> Codec {
        match kind {
            WireKind::Native => Codec::Native(Box::new(Framer::new(secret, local_name, settings))),
            WireKind::Python => Codec::Python {
                secret: secret.to_vec(),
            },
        }
    }

    /// How frames travel over TCP.
    pub fn tcp_framing(&self) -> TcpFraming {
        match self {
            Codec::Native(_) => TcpFraming::LengthPrefixed,
            Codec::Python { .. } => TcpFraming::UntilClose,
        }
    }

    /// Encodes and frames a packet for member `to` into one or more frames (`None` for a
    /// payload the framing cannot carry).
    pub fn encode(&self, packet: &Packet, to: &MemberName) -> Vec<Option<Vec<u8>>> {
        match self {
            Codec::Native(framer) => NativeWire
                .encode(packet)
                .iter()
                .map(|payload| Some(framer.seal(payload, to)))
                .collect(),
            Codec::Python { secret } => PythonWire
                .encode(packet)
                .iter()
                .map(|payload| swim_wire_python::pack(secret, payload, &mut rand::rng()).ok())
                .collect(),
        }
    }

    /// Opens and decodes one frame.
    pub fn decode(&self, frame: &[u8]) -> Result<Packet, Rejected> {
        match self {
            Codec::Native(framer) => {
                let payload: Cow<'_, [u8]> = framer.open(frame)?;
                let packet = NativeWire
                    .decode(&payload)
                    .map_err(|e| Rejected::Malformed(e.to_string()))?;
                framer.heard_from(&packet.source.name);
                Ok(packet)
            }
            Codec::Python { secret } => {
                let payload = swim_wire_python::unpack(secret, frame).map_err(|e| match e {
                    PyWireError::BadSignature => Rejected::BadSignature,
                    e => Rejected::Malformed(e.to_string()),
                })?;
                PythonWire
                    .decode(payload)
                    .map_err(|e| Rejected::Malformed(e.to_string()))
            }
        }
    }
}
