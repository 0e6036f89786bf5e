//! What the simulated members' packets become on the wire: the native format, optionally
//! inside the signed frame the runtime sends (the same code, so byte counts are real).

use std::collections::HashMap;
use std::sync::Mutex;

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
    /// No bytes: each packet is handed over as sent and its native size counted
    /// (`Simulation::with_direct_delivery`); the same run, without the codec's time.
    Direct,
}

impl SimWire {
    /// The wire format the simulation uses.
    pub fn format(&self) -> Box<dyn WireFormat> {
        match self {
            SimWire::Native | SimWire::Direct => Box::new(NativeWire),
            SimWire::Signed(secret) => Box::new(SignedNative::new(secret)),
        }
    }
}

/// The native format wrapped in signed frames, as the runtime sends them: one framer per
/// sending member (each numbers its own frames), one receiving framer that opens them all
/// (its replay windows are per sender, so every frame is still accepted exactly once).
struct SignedNative {
    secret: Vec<u8>,
    senders: Mutex<HashMap<MemberName, Framer>>,
    receiver: Framer,
    /// Frames name no recipient (the receiving side is shared).
    anyone: MemberName,
}

impl SignedNative {
    fn new(secret: &[u8]) -> Self {
        SignedNative {
            secret: secret.to_vec(),
            senders: Mutex::new(HashMap::new()),
            receiver: Framer::with_sender(secret, "sim", FrameSettings::default(), 0),
            anyone: MemberName::from("sim"),
        }
    }
}

impl WireFormat for SignedNative {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let payload = swim_core::wire::encode(packet);
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        // Process ids in order of first packet: no global random generator.
        let next_id = senders.len() as u64 + 1;
        let framer = senders
            .entry(packet.source.name.clone())
            .or_insert_with(|| {
                Framer::with_sender(&self.secret, "sim", FrameSettings::default(), next_id)
            });
        vec![framer.seal(&payload, &self.anyone)]
    }

    fn decode(&self, frame: &[u8]) -> Result<Packet, DecodeError> {
        let payload = self
            .receiver
            .open(frame)
            .map_err(|e| DecodeError::Other(e.to_string()))?;
        swim_core::wire::decode(&payload)
    }
}
