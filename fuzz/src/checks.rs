//! What every fuzz target asserts for one input. Shared by the fuzz targets and by the
//! stable test that replays the committed corpus
//! (`crates/swim-protocol/tests/fuzz_corpus.rs`, which includes this file), so it uses only
//! the public APIs of swim-core, swim-protocol and swim-wire-python.

use std::sync::OnceLock;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{MemberName, Metadata, ProtocolConfig, Status, Swim};
use swim_protocol::frame::keyring::{Key, Keyring, LiveKeyring};
use swim_protocol::frame::{FrameSettings, Framer};

/// The native decoder never panics, and what it accepts is canonical: re-encoding gives
/// the same bytes.
pub fn native_decode(data: &[u8]) {
    if let Ok(packet) = swim_core::wire::decode(data) {
        assert_eq!(
            swim_core::wire::encode(&packet),
            data,
            "non-canonical accept"
        );
        assert_eq!(swim_core::wire::encoded_len(&packet), data.len());
    }
}

fn framers(keyring: Keyring) -> (Framer, Framer) {
    let settings = |ring: &Keyring| FrameSettings {
        label: b"fuzz".to_vec(),
        keyring: LiveKeyring::new(ring.clone()),
        ..FrameSettings::default()
    };
    let sender = Framer::new(b"fuzz secret", "10.0.0.1:7946", settings(&keyring));
    let receiver = Framer::new(b"fuzz secret", "10.0.0.2:7946", settings(&keyring));
    (sender, receiver)
}

/// Three checks per input: the input as a frame is refused without a panic (it cannot
/// carry a valid tag); the input as a payload survives seal → open, and its decoding
/// never panics; the sealed frame with one byte altered (chosen by the input) is refused,
/// and so is the intact frame the second time (replay). The framers live for the whole
/// run, as a member's do, so the replay window sees every frame.
fn frame_checks(framers: &(Framer, Framer), data: &[u8]) {
    let (sender, receiver) = framers;
    assert!(receiver.open(data).is_err(), "a forged frame was accepted");
    let to = MemberName::from("10.0.0.2:7946");
    let frame = sender.seal(data, &to);
    if let Some(&pick) = data.first() {
        let mut altered = frame.clone();
        let at = usize::from(pick) * 7919 % altered.len();
        altered[at] ^= 1 << (pick % 8);
        assert!(
            receiver.open(&altered).is_err(),
            "altered byte {at} accepted"
        );
    }
    let payload = receiver.open(&frame).expect("own frame opens");
    assert_eq!(&payload[..], data);
    let _ = swim_core::wire::decode(&payload);
    assert!(receiver.open(&frame).is_err(), "replay accepted");
}

/// The signed frame (HMAC-SHA256).
pub fn signed_frame(data: &[u8]) {
    static FRAMERS: OnceLock<(Framer, Framer)> = OnceLock::new();
    frame_checks(
        FRAMERS.get_or_init(|| framers(Keyring::signed_only())),
        data,
    );
}

/// The encrypted frame (XChaCha20-Poly1305).
pub fn encrypted_frame(data: &[u8]) {
    static FRAMERS: OnceLock<(Framer, Framer)> = OnceLock::new();
    let keyring = || Keyring::with_key(Key::from_bytes([0x42; 32]));
    frame_checks(FRAMERS.get_or_init(|| framers(keyring())), data);
}

/// The pickle decoder never panics; what it accepts converts or is refused cleanly, and
/// re-pickling what it decoded decodes to the same packet.
pub fn pickle_decode(data: &[u8]) {
    if let Ok(packet) = swim_wire_python::unpickle_packet(data) {
        let again = swim_wire_python::unpickle_packet(&swim_wire_python::pickle_packet(&packet))
            .expect("our own pickle decodes");
        assert_eq!(again, packet);
        let _ = swim_wire_python::to_core(packet);
    }
}

/// The state machine fed arbitrary packets and time: input is a sequence of chunks
/// `[delay ms: u8][length: u16 LE][native payload]`; payloads that decode are handled,
/// timers are run, and everything produced is drained. It must never panic, and the local
/// member must stay in its own table, ONLINE.
pub fn core_packets(data: &[u8]) {
    let config = ProtocolConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(30),
        ping_req_timeout: Duration::from_millis(90),
        suspect_timeout: Duration::from_millis(500),
        sync_interval: Duration::from_millis(50),
        push_pull_interval: Duration::from_millis(1000),
        ..ProtocolConfig::default()
    };
    let local = MemberName::from("10.0.0.1:7946");
    let Ok(mut swim) = Swim::new(
        config,
        local.clone(),
        Metadata::empty().with("role", "fuzz"),
        [MemberName::from("10.0.0.2:7946")],
        StdRng::seed_from_u64(7),
        Duration::ZERO,
    ) else {
        panic!("valid configuration refused");
    };
    let mut now = Duration::ZERO;
    let mut rest = data;
    while let [delay, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        now += Duration::from_millis(u64::from(*delay));
        if let Ok(packet) = swim_core::wire::decode(payload) {
            swim.handle_packet(now, packet);
        }
        if swim.poll_timeout().is_some_and(|t| t <= now) {
            swim.handle_timeout(now);
        }
        while let Some(transmit) = swim.poll_transmit() {
            let bytes = swim_core::wire::encode(&transmit.packet);
            assert!(
                swim_core::wire::decode(&bytes).is_ok(),
                "own packet undecodable"
            );
        }
        while swim.poll_event().is_some() {}
    }
    let members = swim.members();
    let me = members
        .iter()
        .find(|m| m.local)
        .expect("local member listed");
    assert_eq!(me.name, local);
    assert_eq!(
        me.status,
        Status::Online,
        "the local member must stay ONLINE"
    );
}
