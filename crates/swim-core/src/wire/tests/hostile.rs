//! Hand-made hostile payloads: each must give the right error.

use super::super::{
    decode, DecodeError, MAX_KEY_LEN, MAX_METADATA_KEYS, MAX_NAME_LEN, MAX_PAYLOAD, MAX_RECORDS,
    MAX_VALUE_LEN,
};

/// Magic, version and the source `a` with zero validity: the start of every payload here.
fn header() -> Vec<u8> {
    let mut bytes = b"SW\x01\x01a".to_vec();
    bytes.extend_from_slice(&[0; 8]);
    bytes
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
    out
}

/// A payload: header, then `parts` concatenated.
fn payload(parts: &[&[u8]]) -> Vec<u8> {
    let mut bytes = header();
    for part in parts {
        bytes.extend_from_slice(part);
    }
    bytes
}

/// A gossip message (tag 4) about member `m` at clock 1 with `state` and what follows it.
fn gossip_with_state(state: u8, rest: &[u8]) -> Vec<u8> {
    payload(&[&[0x04, 0x01, b'm', 0x01, state], rest, &[0x00]])
}

fn too_large(what: &'static str, value: u64) -> Result<crate::Packet, DecodeError> {
    Err(DecodeError::TooLarge { what, value })
}

fn invalid(what: &'static str, value: u64) -> Result<crate::Packet, DecodeError> {
    Err(DecodeError::Invalid { what, value })
}

#[test]
fn minimal_packet_decodes() {
    // The baseline the other cases break: a gossip-only packet with no gossip.
    assert!(decode(&payload(&[&[0x06, 0x00]])).is_ok());
}

#[test]
fn huge_counts_are_too_large() {
    let huge = varint(u64::MAX);
    assert_eq!(
        decode(&payload(&[&[0x06], &huge])),
        too_large("record count", u64::MAX)
    );
    let over = MAX_RECORDS as u64 + 1;
    assert_eq!(
        decode(&payload(&[&[0x06], &varint(over)])),
        too_large("record count", over)
    );
    let keys = MAX_METADATA_KEYS as u64 + 1;
    assert_eq!(
        decode(&gossip_with_state(0x80, &varint(keys))),
        too_large("metadata key count", keys)
    );
}

#[test]
fn counts_beyond_the_payload_are_truncated() {
    // Within the limits, but the payload cannot hold that many records or entries.
    assert_eq!(
        decode(&payload(&[&[0x06], &varint(1000)])),
        Err(DecodeError::Truncated)
    );
    assert_eq!(
        decode(&gossip_with_state(0x80, &varint(100))),
        Err(DecodeError::Truncated)
    );
}

#[test]
fn records_are_counted_across_sync_and_gossip() {
    // A sync reply, or a ping carrying a window, with MAX_RECORDS minimal records, then
    // one more piggybacked.
    for message in [&[0x07, 0x01][..], &[0x09, 0x01, 0x00]] {
        let mut bytes = payload(&[message, &varint(MAX_RECORDS as u64)]);
        for _ in 0..MAX_RECORDS {
            bytes.extend_from_slice(&[0x00, 0x00, 0x00]);
        }
        let mut with_gossip = bytes.clone();
        bytes.push(0x00);
        assert!(decode(&bytes).is_ok());
        with_gossip.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]);
        assert_eq!(decode(&with_gossip), too_large("record count", 1));
    }
}

#[test]
fn huge_lengths_are_too_large() {
    let name_len = MAX_NAME_LEN as u64 + 1;
    assert_eq!(
        decode(&payload(&[&[0x02, 0x01], &varint(name_len)])),
        too_large("member name", name_len)
    );
    let key_len = MAX_KEY_LEN as u64 + 1;
    assert_eq!(
        decode(&gossip_with_state(
            0x80,
            &[&[0x01][..], &varint(key_len)].concat()
        )),
        too_large("metadata key", key_len)
    );
    let value_len = MAX_VALUE_LEN as u64 + 1;
    assert_eq!(
        decode(&gossip_with_state(
            0x80,
            &[&[0x01, 0x00][..], &varint(value_len)].concat()
        )),
        too_large("metadata value", value_len)
    );
    assert_eq!(
        decode(&vec![0; MAX_PAYLOAD + 1]),
        too_large("payload", MAX_PAYLOAD as u64 + 1)
    );
}

#[test]
fn lengths_beyond_the_payload_are_truncated() {
    assert_eq!(
        decode(&payload(&[&[0x02, 0x01, 100], b"short"])),
        Err(DecodeError::Truncated)
    );
}

#[test]
fn bad_utf8_is_rejected() {
    assert_eq!(
        decode(&payload(&[&[0x02, 0x01, 0x02, 0xc3, 0x28, 0x00]])),
        Err(DecodeError::Utf8("member name"))
    );
    assert_eq!(
        decode(&gossip_with_state(0x80, &[0x01, 0x01, 0xff, 0x00])),
        Err(DecodeError::Utf8("metadata key"))
    );
}

#[test]
fn bad_header_is_rejected() {
    assert_eq!(decode(b"XW\x01"), invalid("magic", 0x5857));
    assert_eq!(decode(b"SW\x02"), invalid("version", 2));
    assert_eq!(decode(b""), Err(DecodeError::Truncated));
}

#[test]
fn unknown_tags_and_flags_are_invalid() {
    for tag in [0x00, 0x0e, 0x80, 0xff] {
        assert_eq!(
            decode(&payload(&[&[tag, 0x00]])),
            invalid("message tag", u64::from(tag))
        );
    }
    assert_eq!(
        decode(&payload(&[&[0x07, 0x04, 0x00, 0x00]])),
        invalid("sync flags", 4)
    );
}

/// The versioning rule (docs/wire-format.md): every value not assigned today is rejected, so
/// an addition within version 1 (a tag, a status bit) is refused by an older decoder, never
/// read as something else.
#[test]
fn every_unassigned_tag_and_status_byte_is_rejected() {
    let tags = 0x01..=0x0d;
    for tag in (0..=u8::MAX).filter(|t| !tags.contains(t)) {
        assert_eq!(
            decode(&payload(&[&[tag, 0x00]])),
            invalid("message tag", u64::from(tag)),
            "tag {tag:#x}"
        );
    }
    // ONLINE, SUSPECT, OFFLINE; bit 7 (metadata) on any; bit 5 (accuser) with SUSPECT only;
    // bit 6 (left) with OFFLINE only.
    let valid = |b: u8| {
        let (status, flags) = (b & 0x1f, b & 0x60);
        status <= 2
            && (flags == 0 || (flags == 0x20 && status == 1) || (flags == 0x40 && status == 2))
    };
    for state in (0..=u8::MAX).filter(|&b| !valid(b)) {
        assert_eq!(
            decode(&gossip_with_state(state, &[])),
            invalid("status byte", u64::from(state)),
            "state byte {state:#x}"
        );
    }
}

#[test]
fn bad_status_bytes_are_invalid() {
    // Bit 6 (left) is valid with OFFLINE only (0x42, 0xc2); bit 5 (accuser) with SUSPECT
    // only (0x21, 0xa1).
    let bad = [0x03, 0x04, 0x40, 0x41, 0x43, 0x7f, 0x83, 0xc0, 0xc1, 0xff];
    let bad_accuser = [0x20, 0x22, 0x23, 0x60, 0x61, 0x62, 0xa0, 0xa2, 0xe1];
    for state in bad.into_iter().chain(bad_accuser) {
        assert_eq!(
            decode(&gossip_with_state(state, &[])),
            invalid("status byte", u64::from(state)),
            "state byte {state:#x}"
        );
    }
}

#[test]
fn an_accuser_must_be_a_valid_name() {
    // SUSPECT with an accuser: a name follows the state byte, checked like any name.
    assert!(decode(&gossip_with_state(0x21, &[0x01, b'x'])).is_ok());
    assert_eq!(
        decode(&gossip_with_state(0x21, &[0x02, 0xff, 0xfe])),
        Err(DecodeError::Utf8("member name"))
    );
    assert_eq!(
        decode(&gossip_with_state(0x21, &[0x05, b'x'])),
        Err(DecodeError::Truncated)
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    // After the records only an app section may follow: flags 02 (a digest), one entry
    // (source "x" with its validity, highest 5), then two bytes too many.
    let digest: &[u8] = &[0x02, 0x01, 0x01, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0x05];
    assert!(decode(&payload(&[&[0x06, 0x00], digest])).is_ok());
    assert_eq!(
        decode(&payload(&[&[0x06, 0x00], digest, &[0xaa, 0xbb]])),
        Err(DecodeError::Trailing(2))
    );
}

#[test]
fn app_sections_are_canonical_and_bounded() {
    // No empty section (flags 00), no unknown flag bits, no empty list.
    for flags in [0x00, 0x04, 0xaa] {
        assert_eq!(
            decode(&payload(&[&[0x06, 0x00, flags]])),
            invalid("app section flags", u64::from(flags))
        );
    }
    assert_eq!(
        decode(&payload(&[&[0x06, 0x00, 0x01, 0x00]])),
        invalid("app message count", 0)
    );
    // A message count beyond what the bytes can hold is refused before any allocation.
    assert_eq!(
        decode(&payload(&[&[0x06, 0x00, 0x01, 0xff, 0x1f]])),
        Err(DecodeError::Truncated)
    );
    // An event: source "x", seq 1, kind 1, name "e", payload of 2^17 bytes (over 64 KiB).
    let event: &[u8] = &[
        0x01, 0x01, 0x01, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01, 0x01, b'e',
    ];
    assert_eq!(
        decode(&payload(&[&[0x06, 0x00], event, &[0x80, 0x80, 0x08]])),
        Err(DecodeError::TooLarge {
            what: "payload",
            value: 1 << 17
        })
    );
    // An unknown kind of message.
    let mut kind = event.to_vec();
    kind[13] = 0x09;
    assert_eq!(
        decode(&payload(&[&[0x06, 0x00], &kind, &[0x00]])),
        invalid("app message kind", 9)
    );
    assert!(decode(&payload(&[&[0x06, 0x00], event, &[0x00]])).is_ok());
}

#[test]
fn non_canonical_and_overflowing_varints_are_invalid() {
    // Ping with seq 0 written in two bytes.
    assert_eq!(
        decode(&payload(&[&[0x01, 0x80, 0x00, 0x00]])),
        invalid("varint (not in shortest form)", 0)
    );
    // Gossip ack whose clock needs 65 bits.
    let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    assert_eq!(
        decode(&payload(&[&[0x05, 0x01, b'm'], &overflow, &[0x00]])),
        invalid("varint (overflows 64 bits)", 2)
    );
    let seq = u64::from(u32::MAX) + 1;
    assert_eq!(
        decode(&payload(&[&[0x01], &varint(seq), &[0x00]])),
        too_large("seq", seq)
    );
}

#[test]
fn unordered_or_duplicate_metadata_keys_are_invalid() {
    let what = "metadata key order (index of the key)";
    let unordered = [0x02, 0x01, b'b', 0x00, 0x01, b'a', 0x00];
    assert_eq!(
        decode(&gossip_with_state(0x80, &unordered)),
        invalid(what, 1)
    );
    let duplicate = [0x02, 0x01, b'a', 0x00, 0x01, b'a', 0x00];
    assert_eq!(
        decode(&gossip_with_state(0x80, &duplicate)),
        invalid(what, 1)
    );
}
