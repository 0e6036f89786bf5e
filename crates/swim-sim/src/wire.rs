//! What the simulated members' packets become on the wire: the native format, optionally
//! inside the signed frame the runtime sends (the same code, so byte counts are real).

use swim_core::wire::{DecodeError, NativeWire, WireFormat};
use swim_core::{MemberName, Packet};
use swim_protocol::frame::{FrameSettings, Framer};

/// How simulated members encode their packets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SimWire {
    /// The native format, unsigned.
    #[default]
    Native,
    /// The native format inside an HMAC-signed frame keyed with this secret.
    Signed(Vec<u8>),
}

impl SimWire {
    /// The wire format the simulation uses.
    pub fn format(&self) -> Box<dyn WireFormat> {
        match self {
            SimWire::Native => Box::new(NativeWire),
            SimWire::Signed(secret) => Box::new(SignedNative::new(secret)),
        }
    }
}

/// The native format wrapped in signed frames. One framer stands for every member: the
/// frames' sizes are the runtime's, and each frame is opened once, by its recipient.
struct SignedNative {
    framer: Framer,
    /// Frames name no recipient (the framer cannot know which member sends).
    anyone: MemberName,
}

impl SignedNative {
    fn new(secret: &[u8]) -> Self {
        SignedNative {
            // A fixed process id: no global random generator in the simulation.
            framer: Framer::with_sender(secret, "sim", FrameSettings::default(), 0),
            anyone: MemberName::from("sim"),
        }
    }
}

impl WireFormat for SignedNative {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let payload = swim_core::wire::encode(packet);
        vec![self.framer.seal(&payload, &self.anyone)]
    }

    fn decode(&self, frame: &[u8]) -> Result<Packet, DecodeError> {
        let payload = self
            .framer
            .open(frame)
            .map_err(|e| DecodeError::Other(e.to_string()))?;
        swim_core::wire::decode(&payload)
    }
}
