//! Signed frames: HMAC-SHA256 with the shared secret over the associated data (label and
//! header) and the payload, which travels in clear.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of the tag.
pub(crate) const TAG_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// The shared secret, keyed once (cloning the keyed state is cheaper than re-keying).
#[derive(Clone)]
pub(crate) struct HmacKey {
    keyed: HmacSha256,
}

impl HmacKey {
    /// A key for `secret` of any length.
    pub fn new(secret: &[u8]) -> Self {
        let keyed = match HmacSha256::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        HmacKey { keyed }
    }

    fn mac(&self, aad: &[&[u8]], payload: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        for part in aad {
            mac.update(part);
        }
        mac.update(payload);
        mac
    }

    /// The tag of `aad` (its parts in order) and `payload`.
    pub fn tag(&self, aad: &[&[u8]], payload: &[u8]) -> [u8; TAG_LEN] {
        self.mac(aad, payload).finalize().into_bytes().into()
    }

    /// Whether `tag` is right, compared in constant time.
    pub fn verify(&self, aad: &[&[u8]], payload: &[u8], tag: &[u8]) -> bool {
        self.mac(aad, payload).verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_verify_and_detect_changes() {
        let key = HmacKey::new(b"secret");
        let tag = key.tag(&[b"ab", b"c"], b"payload");
        // Parts are concatenated: how the associated data is split does not matter.
        assert!(key.verify(&[b"a", b"bc"], b"payload", &tag));
        assert!(!key.verify(&[b"ab", b"c"], b"payloaD", &tag));
        assert!(!key.verify(&[b"ab", b"d"], b"payload", &tag));
        assert!(!HmacKey::new(b"other").verify(&[b"ab", b"c"], b"payload", &tag));
        assert!(!key.verify(&[b"ab", b"c"], b"payload", &tag[..31]));
    }
}
