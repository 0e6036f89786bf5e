//! Throughput of the native codec on one core, for pings with 0, 3 and 20 piggybacked
//! records: round trips through the wire format alone (encode + decode), then in both frame
//! modes (signed with HMAC-SHA256, encrypted with XChaCha20-Poly1305) packets encoded and
//! sealed, and frames opened (replay check included) and decoded, per second.
//!
//! Run with `cargo run --release -p swim-protocol --example bench_codec [ROUNDS]`.

use std::hint::black_box;
use std::time::Instant;

use swim_core::wire::{NativeWire, WireFormat};
use swim_core::{Message, Packet, Source, Update, Validity};
use swim_protocol::frame::keyring::{Key, Keyring, LiveKeyring};
use swim_protocol::frame::{FrameSettings, Framer};
use swim_protocol::{MemberName, Metadata, Status};

/// A ping carrying `updates` piggybacked records with small metadata.
fn ping(updates: usize) -> Packet {
    let metadata: Metadata = [("name", "node-7"), ("token", "0123456789abcdef")]
        .into_iter()
        .collect();
    Packet {
        app: Default::default(),
        source: Source {
            name: "10.0.0.1:7777".into(),
            validity: Validity([7; 8]),
        },
        message: Message::Ping {
            seq: 123_456,
            known: 40,
            window: None,
        },
        gossip: (0..updates)
            .map(|i| Update {
                name: format!("10.0.{}.{}:7777", i / 250, i % 250).into(),
                clock: 1_000 + i as u64,
                status: Status::Online,
                metadata: Some(metadata.clone()),
                accuser: None,
                left: false,
            })
            .collect(),
    }
}

/// Frames sealed ahead of a timed opening run: each frame is accepted only once.
const BATCH: u32 = 5_000;

fn framer(keyring: &Keyring, name: &str) -> Framer {
    let settings = FrameSettings {
        keyring: LiveKeyring::new(keyring.clone()),
        ..FrameSettings::default()
    };
    Framer::new(b"benchmark secret", name, settings)
}

fn main() {
    let rounds: u32 = match std::env::args().nth(1).map(|arg| arg.parse()) {
        None => 200_000,
        Some(Ok(rounds)) if rounds >= BATCH => rounds,
        Some(_) => {
            eprintln!("usage: bench_codec [ROUNDS >= {BATCH}]");
            std::process::exit(2);
        }
    };
    let wire = NativeWire;
    for updates in [0, 3, 20] {
        let packet = ping(updates);
        let start = Instant::now();
        for _ in 0..rounds {
            for payload in wire.encode(black_box(&packet)) {
                black_box(wire.decode(&payload).expect("own packet decodes"));
            }
        }
        let round_trip = f64::from(rounds) / start.elapsed().as_secs_f64();
        println!("     wire ping + {updates:2} updates: {round_trip:>9.0} wire round trips/s");
    }
    let to = MemberName::from("10.0.0.2:7777");
    for (mode, keyring) in [
        ("signed", Keyring::signed_only()),
        ("encrypted", Keyring::with_key(Key::generate())),
    ] {
        let sender = framer(&keyring, "10.0.0.1:7777");
        for updates in [0, 3, 20] {
            let packet = ping(updates);
            let payload = wire.encode(&packet).remove(0);

            let start = Instant::now();
            for _ in 0..rounds {
                for payload in wire.encode(black_box(&packet)) {
                    black_box(sender.seal(&payload, &to));
                }
            }
            let encode = f64::from(rounds) / start.elapsed().as_secs_f64();

            let mut opened = 0u32;
            let mut spent = std::time::Duration::ZERO;
            let mut frame_len = 0;
            while opened < rounds {
                let frames: Vec<Vec<u8>> = (0..BATCH).map(|_| sender.seal(&payload, &to)).collect();
                frame_len = frames[0].len();
                let receiver = framer(&keyring, to.as_str());
                let start = Instant::now();
                for frame in &frames {
                    let payload = receiver.open(black_box(frame)).expect("own frame opens");
                    black_box(wire.decode(&payload).expect("own packet decodes"));
                }
                spent += start.elapsed();
                opened += BATCH;
            }
            let decode = f64::from(opened) / spent.as_secs_f64();

            println!(
                "{mode:>9} ping + {updates:2} updates, {frame_len:5}-byte frame: \
                 {encode:>9.0} encoded+sealed/s, {decode:>9.0} opened+decoded/s"
            );
        }
    }
}
