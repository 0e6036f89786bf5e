//! The encoder's primitives, shared by the membership and the application encoders:
//! variable-length integers, length-prefixed bytes and the sender's source.

use crate::Source;

/// Bytes of a validity token.
const VALIDITY_LEN: usize = 8;

pub(super) fn put_source(out: &mut Vec<u8>, source: &Source) {
    put_bytes(out, source.name.as_bytes());
    out.extend_from_slice(&source.validity.0);
}

pub(super) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Unsigned LEB128, shortest form: seven bits per byte, low bits first, the top bit set on
/// every byte but the last.
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The number of bytes `put_varint` writes for `value`.
pub(super) fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

pub(super) fn bytes_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

pub(super) fn source_len(source: &Source) -> usize {
    bytes_len(source.name.len()) + VALIDITY_LEN
}
