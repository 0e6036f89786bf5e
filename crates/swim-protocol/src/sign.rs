//! Native packet signing: every payload travels inside a frame carrying a salted
//! HMAC-SHA256 computed with the cluster's shared secret.
//!
//! Frame layout (specified with a test vector in `docs/signing.md`):
//!
//! ```text
//! version (1 byte, = 1) | salt (16 random bytes) | tag (32 bytes) | payload
//! tag = HMAC-SHA256(secret, version || salt || payload)
//! ```
//!
//! The random salt makes two frames of the same payload differ. Signing proves that the
//! sender knows the secret; it does not hide the payload nor stop a captured frame from
//! being replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The version byte of the frames this module writes and accepts.
pub const FRAME_VERSION: u8 = 1;
/// Length of the random salt.
pub const SALT_LEN: usize = 16;
/// Length of the HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;
/// Bytes a frame adds in front of the payload.
pub const HEADER_LEN: usize = 1 + SALT_LEN + TAG_LEN;

type HmacSha256 = Hmac<Sha256>;

/// Why a frame was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Too short to hold a header, or an unknown version byte.
    #[error("malformed frame")]
    Malformed,
    /// The tag does not match: a different secret, or the frame was altered.
    #[error("bad signature")]
    BadSignature,
}

/// Signs payloads into frames and verifies frames, with one shared secret.
/// Cheap to clone; the keyed HMAC state is computed once.
#[derive(Clone)]
pub struct Signer {
    keyed: HmacSha256,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key material.
        f.write_str("Signer { .. }")
    }
}

impl Signer {
    /// A signer for `secret` (any length; an empty secret works but protects nothing).
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let keyed = match HmacSha256::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        Signer { keyed }
    }

    /// Wraps `payload` in a signed frame with a fresh random salt.
    pub fn seal(&self, payload: &[u8]) -> Vec<u8> {
        let mut salt = [0u8; SALT_LEN];
        rand::Rng::fill(&mut rand::rng(), &mut salt);
        self.seal_with_salt(payload, salt)
    }

    /// Wraps `payload` in a signed frame with the given salt (for test vectors; use
    /// [`Signer::seal`] otherwise, as a salt must not repeat).
    pub fn seal_with_salt(&self, payload: &[u8], salt: [u8; SALT_LEN]) -> Vec<u8> {
        let mut frame = Vec::with_capacity(HEADER_LEN + payload.len());
        frame.push(FRAME_VERSION);
        frame.extend_from_slice(&salt);
        let tag = self.tag(&frame, payload);
        frame.extend_from_slice(&tag);
        frame.extend_from_slice(payload);
        frame
    }

    /// Checks a frame and returns the payload it carries. The tag is compared in
    /// constant time.
    pub fn open<'a>(&self, frame: &'a [u8]) -> Result<&'a [u8], FrameError> {
        if frame.len() < HEADER_LEN || frame[0] != FRAME_VERSION {
            return Err(FrameError::Malformed);
        }
        let (prefix, rest) = frame.split_at(1 + SALT_LEN);
        let (tag, payload) = rest.split_at(TAG_LEN);
        let mut mac = self.keyed.clone();
        mac.update(prefix);
        mac.update(payload);
        mac.verify_slice(tag)
            .map_err(|_| FrameError::BadSignature)?;
        Ok(payload)
    }

    fn tag(&self, prefix: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(prefix);
        mac.update(payload);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR_SECRET: &[u8] = b"my secret";
    const VECTOR_PAYLOAD: &[u8] = b"hello, swim";
    const VECTOR_SALT: [u8; SALT_LEN] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
        0x0f,
    ];
    /// The frame documented in docs/signing.md.
    const VECTOR_FRAME_HEX: &str = concat!(
        "01",
        "000102030405060708090a0b0c0d0e0f",
        "4f6cd0d5f3e5a89428e9bcdd8a11ee9cd7ced16a18ec2fa58d21fe00d6daf918",
        "68656c6c6f2c207377696d"
    );

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn test_vector_matches_the_documentation() {
        let frame = Signer::new(VECTOR_SECRET).seal_with_salt(VECTOR_PAYLOAD, VECTOR_SALT);
        assert_eq!(hex(&frame), VECTOR_FRAME_HEX);
    }

    #[test]
    fn sealed_frames_open_to_the_payload() {
        let signer = Signer::new(b"secret");
        for payload in [&b""[..], b"x", &[7u8; 5000]] {
            let frame = signer.seal(payload);
            assert_eq!(frame.len(), HEADER_LEN + payload.len());
            assert_eq!(signer.open(&frame), Ok(payload));
        }
    }

    #[test]
    fn salts_differ_between_frames() {
        let signer = Signer::new(b"secret");
        assert_ne!(signer.seal(b"same"), signer.seal(b"same"));
    }

    #[test]
    fn another_secret_is_a_bad_signature() {
        let frame = Signer::new(b"one").seal(b"payload");
        assert_eq!(
            Signer::new(b"two").open(&frame),
            Err(FrameError::BadSignature)
        );
    }

    #[test]
    fn any_altered_byte_is_rejected() {
        let signer = Signer::new(b"secret");
        let frame = signer.seal(b"some payload");
        for i in 0..frame.len() {
            let mut altered = frame.clone();
            altered[i] ^= 0x40;
            let expected = if i == 0 {
                FrameError::Malformed
            } else {
                FrameError::BadSignature
            };
            assert_eq!(signer.open(&altered), Err(expected), "byte {i}");
        }
    }

    #[test]
    fn short_or_truncated_frames_are_malformed_or_bad() {
        let signer = Signer::new(b"secret");
        let frame = signer.seal(b"payload");
        for len in 0..HEADER_LEN {
            assert_eq!(signer.open(&frame[..len]), Err(FrameError::Malformed));
        }
        for len in HEADER_LEN..frame.len() {
            assert_eq!(signer.open(&frame[..len]), Err(FrameError::BadSignature));
        }
    }
}
