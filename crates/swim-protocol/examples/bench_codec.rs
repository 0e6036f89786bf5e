//! Throughput of the native codec on one core, for pings with 0, 3 and 20 piggybacked
//! records: round trips through the wire format alone (encode + decode), packets encoded and
//! signed, and frames verified and decoded, per second.
//!
//! Run with `cargo run --release -p swim-protocol --example bench_codec [ROUNDS]`.

use std::hint::black_box;
use std::time::Instant;

use swim_core::wire::{NativeWire, WireFormat};
use swim_core::{Message, Packet, Source, Update, Validity};
use swim_protocol::sign::Signer;
use swim_protocol::{Metadata, Status};

/// A ping carrying `updates` piggybacked records with small metadata.
fn ping(updates: usize) -> Packet {
    let metadata: Metadata = [("name", "node-7"), ("token", "0123456789abcdef")]
        .into_iter()
        .collect();
    Packet {
        source: Source {
            name: "10.0.0.1:7777".into(),
            validity: Validity([7; 8]),
        },
        message: Message::Ping {
            seq: 123_456,
            known: 40,
        },
        gossip: (0..updates)
            .map(|i| Update {
                name: format!("10.0.{}.{}:7777", i / 250, i % 250).into(),
                clock: 1_000 + i as u64,
                status: Status::Online,
                metadata: Some(metadata.clone()),
            })
            .collect(),
    }
}

fn main() {
    let rounds: u32 = match std::env::args().nth(1).map(|arg| arg.parse()) {
        None => 200_000,
        Some(Ok(rounds)) if rounds > 0 => rounds,
        Some(_) => {
            eprintln!("usage: bench_codec [ROUNDS > 0]");
            std::process::exit(2);
        }
    };
    let wire = NativeWire;
    let signer = Signer::new(b"benchmark secret");
    for updates in [0, 3, 20] {
        let packet = ping(updates);
        let frame = signer.seal(&wire.encode(&packet)[0]);

        let start = Instant::now();
        for _ in 0..rounds {
            for payload in wire.encode(black_box(&packet)) {
                black_box(wire.decode(&payload).expect("own packet decodes"));
            }
        }
        let round_trip = f64::from(rounds) / start.elapsed().as_secs_f64();

        let start = Instant::now();
        for _ in 0..rounds {
            for payload in wire.encode(black_box(&packet)) {
                black_box(signer.seal(&payload));
            }
        }
        let encode = f64::from(rounds) / start.elapsed().as_secs_f64();

        let start = Instant::now();
        for _ in 0..rounds {
            let payload = signer.open(black_box(&frame)).expect("own frame verifies");
            black_box(wire.decode(payload).expect("own packet decodes"));
        }
        let decode = f64::from(rounds) / start.elapsed().as_secs_f64();

        println!(
            "ping + {updates:2} updates, {:5}-byte frame: {round_trip:>9.0} wire round trips/s, \
             {encode:>9.0} encoded+signed/s, {decode:>9.0} verified+decoded/s",
            frame.len()
        );
    }
}
