//! Encrypted frames: XChaCha20-Poly1305 with a keyring key. The 24-byte nonce is taken
//! from the header (sender process id, counter, time), which never repeats for one
//! sending process; the label and the header are the associated data.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};

use super::keyring::Key;

/// Length of the Poly1305 tag appended to the ciphertext.
pub(crate) const TAG_LEN: usize = 16;

/// Length of the nonce.
pub(crate) const NONCE_LEN: usize = 24;

/// Encrypts `buf` in place; returns the tag.
pub(crate) fn seal(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> [u8; TAG_LEN] {
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    match cipher.encrypt_in_place_detached(XNonce::from_slice(nonce), aad, buf) {
        Ok(tag) => tag.into(),
        // Only for messages above 256 GiB, far beyond any frame.
        Err(_) => unreachable!("frames are far below the cipher's length limit"),
    }
}

/// Decrypts `buf` in place if `tag` proves it intact; `false` (and `buf` unspecified)
/// otherwise.
pub(crate) fn open(
    key: &Key,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    let cipher = XChaCha20Poly1305::new(key.bytes().into());
    cipher
        .decrypt_in_place_detached(XNonce::from_slice(nonce), aad, buf, Tag::from_slice(tag))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_with_the_same_key_nonce_and_aad() {
        let key = Key::from_bytes([7; 32]);
        let nonce = [1; NONCE_LEN];
        let mut buf = b"member metadata".to_vec();
        let tag = seal(&key, &nonce, b"aad", &mut buf);
        assert_ne!(&buf[..], b"member metadata");
        let attempt = |key: &Key, nonce: &[u8; NONCE_LEN], aad: &[u8], tag: &[u8; TAG_LEN]| {
            let mut copy = buf.clone();
            open(key, nonce, aad, &mut copy, tag).then_some(copy)
        };
        assert_eq!(
            attempt(&key, &nonce, b"aad", &tag).as_deref(),
            Some(&b"member metadata"[..])
        );
        assert!(attempt(&Key::from_bytes([8; 32]), &nonce, b"aad", &tag).is_none());
        assert!(attempt(&key, &[2; NONCE_LEN], b"aad", &tag).is_none());
        assert!(attempt(&key, &nonce, b"aae", &tag).is_none());
        let mut bad_tag = tag;
        bad_tag[0] ^= 1;
        assert!(attempt(&key, &nonce, b"aad", &bad_tag).is_none());
    }
}
