//! What the simulated members' packets become on the wire: the native format, optionally
//! inside the signed frame the runtime sends (the same code, so byte counts are real).

use std::sync::atomic::{AtomicU64, Ordering};

use swim_core::wire::{DecodeError, NativeWire, WireFormat};
use swim_core::Packet;
use swim_protocol::sign::{Signer, SALT_LEN};

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

/// The native format wrapped in signed frames.
struct SignedNative {
    signer: Signer,
    /// Salts are a counter: unique, as a salt must be, and no global random generator.
    salts: AtomicU64,
}

impl SignedNative {
    fn new(secret: &[u8]) -> Self {
        SignedNative {
            signer: Signer::new(secret),
            salts: AtomicU64::new(0),
        }
    }
}

impl WireFormat for SignedNative {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let mut salt = [0u8; SALT_LEN];
        let count = self.salts.fetch_add(1, Ordering::Relaxed);
        salt[..8].copy_from_slice(&count.to_le_bytes());
        let payload = swim_core::wire::encode(packet);
        vec![self.signer.seal_with_salt(&payload, salt)]
    }

    fn decode(&self, frame: &[u8]) -> Result<Packet, DecodeError> {
        let payload = self
            .signer
            .open(frame)
            .map_err(|e| DecodeError::Other(e.to_string()))?;
        swim_core::wire::decode(payload)
    }
}
