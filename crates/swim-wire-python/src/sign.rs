//! The signed framing of `swimprotocol/udp/pack.py` and `swimprotocol/sign.py`.
//!
//! A datagram (or the whole content of a TCP connection) is:
//!
//! ```text
//! prefix (6 bytes) = struct.pack('!BBI', len(salt), len(digest), len(payload)) XOR b"SWIM?!"
//! salt   (16 random bytes)
//! digest (32 bytes) = HMAC-SHA256(key = secret, msg = b"0.6.3" + salt + payload)
//! payload (the pickle)
//! ```

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use swim_core::wire::MAX_PAYLOAD;

use crate::PyWireError;

/// The package version mixed into every signature (`check_version=True` is the package default
/// and the only setting its configuration uses).
pub const VERSION: &[u8] = b"0.6.3";
/// The mask XORed over the 6-byte prefix (`UdpPack`'s `prefix_xor` default).
pub const PREFIX_XOR: [u8; 6] = *b"SWIM?!";
/// Length of the prefix: `struct.calcsize('!BBI')`.
pub const PREFIX_LEN: usize = 6;
/// Length of the salt `sign.py` draws (`secrets.token_bytes(16)`, whatever `salt_len` says).
pub const SALT_LEN: usize = 16;
/// Length of an HMAC-SHA256 digest.
pub const DIGEST_LEN: usize = 32;
/// The largest packed datagram the package sends by UDP (`UdpConfig.mtu_size`); larger ones
/// go over a TCP connection to the same `host:port`.
pub const DEFAULT_MTU: usize = 1500;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], salt: &[u8], payload: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(VERSION);
    mac.update(salt);
    mac.update(payload);
    mac
}

/// Signs and frames `payload` (a pickle) with a fresh random salt drawn from `rng`, exactly as
/// the package's `UdpPack.pack` does. Fails only if the payload exceeds
/// [`MAX_PAYLOAD`], which no receiver of ours would accept.
pub fn pack<R: RngCore + ?Sized>(
    secret: &[u8],
    payload: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, PyWireError> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    pack_with_salt(secret, &salt, payload)
}

/// [`pack`] with a given salt: deterministic, for tests and test vectors.
pub fn pack_with_salt(
    secret: &[u8],
    salt: &[u8; SALT_LEN],
    payload: &[u8],
) -> Result<Vec<u8>, PyWireError> {
    let payload_len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len as usize <= MAX_PAYLOAD)
        .ok_or(PyWireError::PayloadTooLarge(payload.len() as u64))?;
    let digest = mac(secret, salt, payload).finalize().into_bytes();
    let mut prefix = [0u8; PREFIX_LEN];
    prefix[0] = SALT_LEN as u8;
    prefix[1] = DIGEST_LEN as u8;
    prefix[2..].copy_from_slice(&payload_len.to_be_bytes());
    let mut out = Vec::with_capacity(PREFIX_LEN + SALT_LEN + DIGEST_LEN + payload.len());
    out.extend(prefix.iter().zip(PREFIX_XOR).map(|(b, x)| b ^ x));
    out.extend_from_slice(salt);
    out.extend_from_slice(&digest);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Checks the framing and signature of a datagram (or TCP stream content) and returns its
/// payload (the pickle). Any salt length is accepted, as in the package; the digest must be
/// 32 bytes and is compared in constant time; the datagram must end exactly where the prefix
/// says (the package ignores trailing bytes, this function refuses them).
pub fn unpack<'a>(secret: &[u8], datagram: &'a [u8]) -> Result<&'a [u8], PyWireError> {
    let Some((prefix, rest)) = datagram.split_first_chunk::<PREFIX_LEN>() else {
        return Err(PyWireError::ShortDatagram(datagram.len()));
    };
    let mut plain = *prefix;
    for (b, x) in plain.iter_mut().zip(PREFIX_XOR) {
        *b ^= x;
    }
    let salt_len = usize::from(plain[0]);
    let digest_len = usize::from(plain[1]);
    let payload_len = u32::from_be_bytes([plain[2], plain[3], plain[4], plain[5]]);
    if payload_len as usize > MAX_PAYLOAD {
        return Err(PyWireError::PayloadTooLarge(u64::from(payload_len)));
    }
    if digest_len != DIGEST_LEN {
        return Err(PyWireError::DigestLength(digest_len));
    }
    let expected = salt_len + digest_len + payload_len as usize;
    if rest.len() != expected {
        return Err(PyWireError::DatagramLength {
            expected: (PREFIX_LEN + expected) as u64,
            actual: datagram.len(),
        });
    }
    let (salt, rest) = rest.split_at(salt_len);
    let (digest, payload) = rest.split_at(digest_len);
    mac(secret, salt, payload)
        .verify_slice(digest)
        .map_err(|_| PyWireError::BadSignature)?;
    Ok(payload)
}

/// The secret the package uses when none is configured: `b'%x' % uuid.getnode()`, i.e. the
/// 48-bit node number in lower-case hexadecimal, without `0x` and without leading zeros.
///
/// On Linux `uuid.getnode()` is the MAC address of a network interface chosen by libuuid
/// (`02:fc:00:00:00:01` → node `0x02fc00000001` → secret `b"2fc00000001"`); with no usable
/// interface it is a random number drawn per process, so secret-less processes cannot talk
/// to each other at all. The node is an input here because only the Python process can say
/// which interface it picked.
pub fn default_secret(node: u64) -> Vec<u8> {
    format!("{node:x}").into_bytes()
}

/// The node number `uuid.getnode()` gives for a MAC address (big-endian, 48 bits).
pub fn node_from_mac(mac: [u8; 6]) -> u64 {
    mac.iter().fold(0, |node, &b| (node << 8) | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let packed = pack_with_salt(b"k", &[7; SALT_LEN], b"payload").unwrap();
        assert_eq!(packed.len(), PREFIX_LEN + SALT_LEN + DIGEST_LEN + 7);
        assert_eq!(unpack(b"k", &packed), Ok(&b"payload"[..]));
        assert_eq!(unpack(b"other", &packed), Err(PyWireError::BadSignature));
        for i in 0..packed.len() {
            let mut bad = packed.clone();
            bad[i] ^= 0x01;
            assert!(unpack(b"k", &bad).is_err(), "flipped byte {i} accepted");
        }
        assert!(matches!(
            unpack(b"k", &packed[..packed.len() - 1]),
            Err(PyWireError::DatagramLength { .. })
        ));
        let mut long = packed.clone();
        long.push(0);
        assert!(matches!(
            unpack(b"k", &long),
            Err(PyWireError::DatagramLength { .. })
        ));
        assert_eq!(
            unpack(b"k", &packed[..5]),
            Err(PyWireError::ShortDatagram(5))
        );
    }

    #[test]
    fn prefix_is_xored_big_endian() {
        let packed = pack_with_salt(b"k", &[0; SALT_LEN], &[0; 0x0102]).unwrap();
        let plain: Vec<u8> = packed[..6]
            .iter()
            .zip(PREFIX_XOR)
            .map(|(b, x)| b ^ x)
            .collect();
        assert_eq!(plain, [16, 32, 0, 0, 1, 2]);
    }

    #[test]
    fn huge_announced_payload_is_refused_before_anything_else() {
        let mut datagram: Vec<u8> = [0u8, 32, 0xff, 0xff, 0xff, 0xff]
            .iter()
            .zip(PREFIX_XOR)
            .map(|(b, x)| b ^ x)
            .collect();
        datagram.extend_from_slice(&[0; 64]);
        assert_eq!(
            unpack(b"k", &datagram),
            Err(PyWireError::PayloadTooLarge(0xffff_ffff))
        );
    }

    #[test]
    fn default_secret_is_lower_hex() {
        assert_eq!(default_secret(0), b"0");
        let node = node_from_mac([0x02, 0xfc, 0, 0, 0, 1]);
        assert_eq!(default_secret(node), b"2fc00000001");
    }
}
