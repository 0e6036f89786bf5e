use std::time::Duration;

use super::keyring::{Key, Keyring, KeyringEntry, LiveKeyring};
use super::*;

const SECRET: &[u8] = b"my secret";

fn settings(label: &str, keyring: Keyring) -> FrameSettings {
    FrameSettings {
        label: label.as_bytes().to_vec(),
        keyring: LiveKeyring::new(keyring),
        max_clock_skew: Duration::from_secs(1),
    }
}

fn framer(name: &str, label: &str, keyring: Keyring) -> Framer {
    Framer::new(SECRET, name, settings(label, keyring))
}

fn key(byte: u8) -> Key {
    Key::from_bytes([byte; 32])
}

fn to(name: &str) -> MemberName {
    MemberName::from(name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The header of the documented test vectors.
fn vector_header(mode: u8, key: KeyId) -> Header {
    Header {
        mode,
        label: label_id(b"prod"),
        key,
        recipient: recipient_id("10.0.0.2:7946"),
        sender: 0x0102_0304_0506_0708,
        counter: 42,
        time_ms: 1_767_225_600_000,
    }
}

#[test]
fn test_vectors_match_the_documentation() {
    let payload = b"hello, swim";
    let secret = HmacKey::new(SECRET);
    let signed = seal_with(
        &secret,
        b"prod",
        &KeyringEntry::Signed,
        vector_header(MODE_SIGNED, SIGNED_KEY_ID),
        payload,
    );
    let aead_key = Key::from_bytes(core::array::from_fn(|i| i as u8));
    let encrypted = seal_with(
        &secret,
        b"prod",
        &KeyringEntry::Key(aead_key.clone()),
        vector_header(MODE_ENCRYPTED, aead_key.id()),
        payload,
    );
    // Printed for docs/signing.md when the layout changes: cargo test -- --nocapture
    println!("signed    {}", hex(&signed));
    println!("encrypted {}", hex(&encrypted));
    assert_eq!(
        hex(&signed),
        concat!(
            "0201",
            "bf196d65",
            "00000000",
            "48779370",
            "0102030405060708",
            "000000000000002a",
            "0000019b76daa800",
            "b374d11b576911ff98ac9917bdacdd48f4f56c111234097fb6c7f1efb0a69a28",
            "68656c6c6f2c207377696d"
        )
    );
    assert_eq!(
        hex(&encrypted),
        concat!(
            "0202",
            "bf196d65",
            "61a6efde",
            "48779370",
            "0102030405060708",
            "000000000000002a",
            "0000019b76daa800",
            "a5948a9c96f1038adf5723",
            "88681479decf1c5ee795180c43993155"
        )
    );
}

#[test]
fn both_modes_round_trip() {
    let a = framer("a:1", "", Keyring::signed_only());
    let b = framer("b:2", "", Keyring::signed_only());
    for payload in [&b""[..], b"x", &[7u8; 5000]] {
        let frame = a.seal(payload, &to("b:2"));
        assert_eq!(frame.len(), HEADER_LEN + hmac::TAG_LEN + payload.len());
        assert_eq!(b.open(&frame).unwrap(), payload);
    }
    let a = framer("a:1", "", Keyring::with_key(key(1)));
    let b = framer("b:2", "", Keyring::with_key(key(1)));
    for payload in [&b""[..], b"x", &[7u8; 5000]] {
        let frame = a.seal(payload, &to("b:2"));
        assert_eq!(frame.len(), HEADER_LEN + aead::TAG_LEN + payload.len());
        assert_eq!(b.open(&frame).unwrap(), payload);
    }
}

#[test]
fn encrypted_frames_hide_the_payload() {
    let a = framer("a:1", "", Keyring::with_key(key(1)));
    let secret_value = b"db-password-hunter2";
    let frame = a.seal(secret_value, &to("b:2"));
    assert!(!frame.windows(secret_value.len()).any(|w| w == secret_value));
    assert!(!frame.windows(4).any(|w| w == b"hunt"));
}

#[test]
fn another_label_is_refused_before_any_crypto() {
    let a = framer("a:1", "blue", Keyring::signed_only());
    let b = framer("b:2", "green", Keyring::signed_only());
    let frame = a.seal(b"hi", &to("b:2"));
    assert_eq!(b.open(&frame), Err(FrameError::WrongLabel));
    // Forging the label id does not help: the label itself is in the tag.
    let mut forged = frame.clone();
    forged[2..6].copy_from_slice(&label_id(b"green"));
    assert_eq!(b.open(&forged), Err(FrameError::BadSignature));
}

#[test]
fn keys_not_installed_are_refused() {
    let signed = framer("a:1", "", Keyring::signed_only()).seal(b"hi", &to("b:2"));
    let encrypted = framer("a:1", "", Keyring::with_key(key(1))).seal(b"hi", &to("b:2"));
    let only_key2 = framer("b:2", "", Keyring::with_key(key(2)));
    assert_eq!(only_key2.open(&signed), Err(FrameError::UnknownKey));
    assert_eq!(only_key2.open(&encrypted), Err(FrameError::UnknownKey));
    let signed_only = framer("b:2", "", Keyring::signed_only());
    assert_eq!(signed_only.open(&encrypted), Err(FrameError::UnknownKey));
    // Another secret: a bad signature.
    let other_secret = Framer::new(b"other", "b:2", settings("", Keyring::signed_only()));
    assert_eq!(other_secret.open(&signed), Err(FrameError::BadSignature));
}

#[test]
fn a_keyring_in_transition_accepts_both() {
    let both = Keyring::new(vec![KeyringEntry::Key(key(2)), KeyringEntry::Key(key(1))]).unwrap();
    let receiver = framer("b:2", "", both);
    for ring in [Keyring::with_key(key(1)), Keyring::with_key(key(2))] {
        let frame = framer("a:1", "", ring).seal(b"hi", &to("b:2"));
        assert_eq!(receiver.open(&frame).unwrap(), &b"hi"[..]);
    }
    let migrating = Keyring::new(vec![KeyringEntry::Signed, KeyringEntry::Key(key(1))]).unwrap();
    let receiver = framer("b:2", "", migrating);
    for ring in [Keyring::signed_only(), Keyring::with_key(key(1))] {
        let frame = framer("a:1", "", ring).seal(b"hi", &to("b:2"));
        assert_eq!(receiver.open(&frame).unwrap(), &b"hi"[..]);
    }
}

#[test]
fn the_live_keyring_changes_what_is_sent() {
    let shared = LiveKeyring::new(Keyring::signed_only());
    let a = Framer::new(
        SECRET,
        "a:1",
        FrameSettings {
            keyring: shared.clone(),
            ..settings("", Keyring::signed_only())
        },
    );
    assert_eq!(a.seal(b"x", &to("b:2"))[1], MODE_SIGNED);
    shared
        .update(|r| {
            r.install(KeyringEntry::Key(key(1)))?;
            r.use_primary(&KeyringEntry::Key(key(1)))
        })
        .unwrap();
    assert_eq!(a.seal(b"x", &to("b:2"))[1], MODE_ENCRYPTED);
}

#[test]
fn no_altered_byte_is_accepted() {
    for ring in [Keyring::signed_only(), Keyring::with_key(key(1))] {
        let a = framer("a:1", "l", ring.clone());
        let frame = a.seal(b"some payload", &to("b:2"));
        for i in 0..frame.len() {
            let b = framer("b:2", "l", ring.clone());
            let mut altered = frame.clone();
            altered[i] ^= 0x40;
            assert!(b.open(&altered).is_err(), "byte {i}");
        }
        for len in 0..frame.len() {
            let b = framer("b:2", "l", ring.clone());
            assert!(b.open(&frame[..len]).is_err(), "cut at {len}");
        }
    }
}

#[test]
fn a_frame_is_accepted_once() {
    for ring in [Keyring::signed_only(), Keyring::with_key(key(1))] {
        let a = framer("a:1", "", ring.clone());
        let b = framer("b:2", "", ring.clone());
        let warm_up = a.seal(b"zero", &to("b:2"));
        let first = a.seal(b"one", &to("b:2"));
        let second = a.seal(b"two", &to("b:2"));
        assert!(b.open(&warm_up).is_ok());
        assert!(b.open(&second).is_ok());
        assert!(b.open(&first).is_ok(), "reordered frames still count");
        assert_eq!(
            b.open(&first),
            Err(FrameError::Replayed(Replayed::Duplicate))
        );
        assert_eq!(
            b.open(&second),
            Err(FrameError::Replayed(Replayed::Duplicate))
        );
    }
}

#[test]
fn frames_bound_to_a_member_are_refused_by_others() {
    let a = framer("a:1", "", Keyring::signed_only());
    let b = framer("b:2", "", Keyring::signed_only());
    let c = framer("c:3", "", Keyring::signed_only());
    // Before a has heard from b, its frames to b carry no recipient (first contact).
    let unbound = a.seal(b"hi", &to("b:2"));
    assert_eq!(unbound[10..14], NO_RECIPIENT);
    a.heard_from(&to("b:2"));
    let bound = a.seal(b"hi", &to("b:2"));
    assert_eq!(c.open(&bound), Err(FrameError::Misdirected));
    assert!(b.open(&bound).is_ok());
}

#[test]
fn a_restarted_receiver_refuses_frames_from_before_its_start() {
    let secret = HmacKey::new(SECRET);
    let now = wall_ms();
    let frame_at = |time_ms: u64, counter: u64| {
        let header = Header {
            mode: MODE_SIGNED,
            label: label_id(b""),
            key: SIGNED_KEY_ID,
            recipient: NO_RECIPIENT,
            sender: 77,
            counter,
            time_ms,
        };
        seal_with(&secret, b"", &KeyringEntry::Signed, header, b"hi")
    };
    let captured = frame_at(now - 5_000, 10);
    let restarted = framer("b:2", "", Keyring::signed_only());
    assert_eq!(
        restarted.open(&captured),
        Err(FrameError::Replayed(Replayed::Stale))
    );
    // A fresh frame from the same sender is accepted, and then older counters are not.
    assert!(restarted.open(&frame_at(now, 20)).is_ok());
    assert_eq!(
        restarted.open(&frame_at(now, 15)),
        Err(FrameError::Replayed(Replayed::Duplicate))
    );
    // Within the allowed skew, a lagging clock is fine.
    assert!(restarted.open(&frame_at(now - 500, 1)).is_err()); // same sender: counter 1 seen
    let other = |time_ms| {
        let header = Header {
            sender: 78,
            ..Header::parse(&frame_at(time_ms, 1)).unwrap()
        };
        seal_with(&secret, b"", &KeyringEntry::Signed, header, b"hi")
    };
    assert!(restarted.open(&other(now - 500)).is_ok());
}
