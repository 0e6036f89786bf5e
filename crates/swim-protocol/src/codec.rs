//! A member's codec: the wire format that turns packets into payloads, paired with the
//! framing around payloads. Native: our format in the frame of [`crate::frame`] (signed or
//! encrypted, label, replay protection). Python: the package's format and its own signing.

use std::borrow::Cow;

use swim_core::wire::{NativeWire, WireFormat};
use swim_core::{MemberName, Packet, PeerWire};
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

/// How incoming TCP connections carry their frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TcpAccepts {
    /// Always this framing.
    One(TcpFraming),
    /// Either, told apart by the first byte: a length prefix begins with 0 (frames are far
    /// below 16 MiB), a Python frame with its salt length XOR `S` (0x43).
    Either,
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

/// The wire formats a member speaks, each with its framing: ours in our frame, the Python
/// package's with its signing, or both (`--wire auto`).
pub(crate) struct Codec {
    /// Our format in our frame.
    native: Option<Box<Framer>>,
    /// The shared secret of the Python package's format and signing (see
    /// `swim_wire_python::pack`).
    python: Option<Vec<u8>>,
}

impl Codec {
    /// The codec of member `local_name` for `kind`, with the shared `secret`. The Python
    /// wire ignores `settings` (it has neither label, keyring nor replay protection).
    pub fn new(kind: WireKind, secret: &[u8], local_name: &str, settings: FrameSettings) -> Codec {
        let native = || Some(Box::new(Framer::new(secret, local_name, settings)));
        let python = || Some(secret.to_vec());
        match kind {
            WireKind::Native => Codec {
                native: native(),
                python: None,
            },
            WireKind::Python => Codec {
                native: None,
                python: python(),
            },
            WireKind::Auto => Codec {
                native: native(),
                python: python(),
            },
        }
    }

    /// The format a packet for a member addressed in `wire` is sent in: that one if this
    /// codec speaks it, else the only one it speaks (a driver of one format ignores the
    /// core's choice, which then matches it anyway).
    fn sending(&self, wire: PeerWire) -> PeerWire {
        match (wire, &self.native, &self.python) {
            (PeerWire::Native, Some(_), _) | (PeerWire::Python, _, None) => PeerWire::Native,
            _ => PeerWire::Python,
        }
    }

    /// How frames in `wire` travel over TCP when sent.
    pub fn tcp_framing(&self, wire: PeerWire) -> TcpFraming {
        match self.sending(wire) {
            PeerWire::Native => TcpFraming::LengthPrefixed,
            PeerWire::Python => TcpFraming::UntilClose,
        }
    }

    /// How incoming TCP connections carry their frame.
    pub fn tcp_accepts(&self) -> TcpAccepts {
        match (&self.native, &self.python) {
            (Some(_), Some(_)) => TcpAccepts::Either,
            (None, Some(_)) => TcpAccepts::One(TcpFraming::UntilClose),
            _ => TcpAccepts::One(TcpFraming::LengthPrefixed),
        }
    }

    /// Encodes and frames a packet for member `to` in `wire` (see [`Codec::sending`]) into
    /// one or more frames (`None` for a payload the framing cannot carry).
    pub fn encode(&self, packet: &Packet, to: &MemberName, wire: PeerWire) -> Vec<Option<Vec<u8>>> {
        match (self.sending(wire), &self.native, &self.python) {
            (PeerWire::Native, Some(framer), _) => NativeWire
                .encode(packet)
                .iter()
                .map(|payload| Some(framer.seal(payload, to)))
                .collect(),
            (PeerWire::Python, _, Some(secret)) => PythonWire
                .encode(packet)
                .iter()
                .map(|payload| swim_wire_python::pack(secret, payload, &mut rand::rng()).ok())
                .collect(),
            _ => Vec::new(), // unreachable: `sending` picks a format this codec has
        }
    }

    /// Opens and decodes one frame; also says which format it was in. A codec of both
    /// formats tells them apart by the first byte: our frames begin with the version byte
    /// (2), the package's with the salt length XOR `S` (0x43 for its 16-byte salt), so no
    /// frame is decoded twice and a hostile one costs one attempt.
    pub fn decode(&self, frame: &[u8]) -> Result<(Packet, PeerWire), Rejected> {
        let wire = match (&self.native, &self.python) {
            (Some(_), Some(_)) if frame.first() == Some(&crate::frame::VERSION) => PeerWire::Native,
            (Some(_), Some(_)) | (None, _) => PeerWire::Python,
            (Some(_), None) => PeerWire::Native,
        };
        let packet = match (wire, &self.native, &self.python) {
            (PeerWire::Native, Some(framer), _) => {
                let payload: Cow<'_, [u8]> = framer.open(frame)?;
                let packet = NativeWire
                    .decode(&payload)
                    .map_err(|e| Rejected::Malformed(e.to_string()))?;
                framer.heard_from(&packet.source.name);
                packet
            }
            (PeerWire::Python, _, Some(secret)) => {
                let payload = swim_wire_python::unpack(secret, frame).map_err(|e| match e {
                    PyWireError::BadSignature => Rejected::BadSignature,
                    e => Rejected::Malformed(e.to_string()),
                })?;
                PythonWire
                    .decode(payload)
                    .map_err(|e| Rejected::Malformed(e.to_string()))?
            }
            _ => return Err(Rejected::Malformed("no codec".to_owned())),
        };
        Ok((packet, wire))
    }
}

#[cfg(test)]
mod tests {
    use swim_core::{Message, Source, Validity};

    use super::*;

    fn codec(kind: WireKind, name: &str) -> Codec {
        Codec::new(kind, b"secret", name, FrameSettings::default())
    }

    fn ping(from: &str) -> Packet {
        Packet {
            app: Default::default(),
            source: Source {
                name: from.into(),
                validity: Validity([3; 8]),
            },
            message: Message::Ping {
                seq: 0,
                known: 0,
                window: None,
            },
            gossip: vec![],
        }
    }

    fn one_frame(codec: &Codec, wire: PeerWire) -> Vec<u8> {
        let to = MemberName::from("127.0.0.1:2");
        let mut frames = codec.encode(&ping("127.0.0.1:1"), &to, wire);
        assert_eq!(frames.len(), 1);
        frames.pop().flatten().expect("a frame")
    }

    #[test]
    fn auto_reads_both_formats_and_says_which() {
        let auto = codec(WireKind::Auto, "127.0.0.1:2");
        let native = one_frame(&codec(WireKind::Native, "127.0.0.1:1"), PeerWire::Native);
        let python = one_frame(&codec(WireKind::Python, "127.0.0.1:1"), PeerWire::Python);
        assert_eq!(native[0], crate::frame::VERSION);
        assert_ne!(python[0], crate::frame::VERSION);
        let (packet, wire) = auto.decode(&native).unwrap();
        assert_eq!(
            (packet.source.name.as_str(), wire),
            ("127.0.0.1:1", PeerWire::Native)
        );
        let (_, wire) = auto.decode(&python).unwrap();
        assert_eq!(wire, PeerWire::Python);
        // A single-format member refuses the other format.
        assert!(codec(WireKind::Native, "127.0.0.1:2")
            .decode(&python)
            .is_err());
        assert!(codec(WireKind::Python, "127.0.0.1:2")
            .decode(&native)
            .is_err());
    }

    #[test]
    fn auto_sends_the_format_asked_and_one_format_members_their_own() {
        let auto = codec(WireKind::Auto, "127.0.0.1:1");
        assert_eq!(one_frame(&auto, PeerWire::Native)[0], crate::frame::VERSION);
        assert_ne!(one_frame(&auto, PeerWire::Python)[0], crate::frame::VERSION);
        assert_eq!(auto.tcp_framing(PeerWire::Python), TcpFraming::UntilClose);
        assert_eq!(
            auto.tcp_framing(PeerWire::Native),
            TcpFraming::LengthPrefixed
        );
        assert_eq!(auto.tcp_accepts(), TcpAccepts::Either);
        let native = codec(WireKind::Native, "127.0.0.1:1");
        assert_eq!(
            one_frame(&native, PeerWire::Python)[0],
            crate::frame::VERSION
        );
        assert_eq!(
            native.tcp_framing(PeerWire::Python),
            TcpFraming::LengthPrefixed
        );
        let python = codec(WireKind::Python, "127.0.0.1:1");
        assert_ne!(
            one_frame(&python, PeerWire::Native)[0],
            crate::frame::VERSION
        );
    }

    #[test]
    fn hostile_frames_are_refused_by_auto_without_panic() {
        let auto = codec(WireKind::Auto, "127.0.0.1:2");
        let native = one_frame(&codec(WireKind::Native, "127.0.0.1:1"), PeerWire::Native);
        let python = one_frame(&codec(WireKind::Python, "127.0.0.1:1"), PeerWire::Python);
        assert!(auto.decode(&[]).is_err());
        for frame in [&native, &python] {
            for len in 0..frame.len() {
                assert!(auto.decode(&frame[..len]).is_err(), "truncated to {len}");
            }
            for i in 0..frame.len() {
                let mut bad = frame.clone();
                bad[i] ^= 0x55;
                assert!(auto.decode(&bad).is_err(), "byte {i} flipped");
            }
        }
    }
}
