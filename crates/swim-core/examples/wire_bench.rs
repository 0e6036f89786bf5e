//! Encodes and decodes a typical ping with three piggybacked updates many times and prints
//! the throughput. Run with `cargo run --release -p swim-core --example wire_bench [N]`.

use std::hint::black_box;
use std::time::Instant;

use swim_core::{wire, Message, Metadata, Packet, Source, Status, Update, Validity};

/// Round trips to run when no count is given: well under a second in a release build.
const DEFAULT_ROUNDS: u32 = 500_000;

fn typical_ping() -> Packet {
    let record = |name: &str, clock, status, metadata| Update {
        name: name.into(),
        clock,
        status,
        metadata,
    };
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
            known: 0,
        },
        gossip: vec![
            record("10.0.0.2:7777", 41, Status::Online, None),
            record("10.0.0.3:7777", 1_000, Status::Suspect, None),
            record("10.0.0.7:7777", 12, Status::Online, Some(metadata)),
        ],
    }
}

fn main() {
    let rounds = match std::env::args().nth(1).map(|arg| arg.parse::<u32>()) {
        None => DEFAULT_ROUNDS,
        Some(Ok(rounds)) if rounds > 0 => rounds,
        Some(_) => {
            eprintln!("usage: wire_bench [ROUNDS > 0]");
            std::process::exit(2);
        }
    };
    let packet = typical_ping();
    let size = wire::encode(&packet).len();
    let start = Instant::now();
    for _ in 0..rounds {
        let bytes = wire::encode(black_box(&packet));
        let decoded = wire::decode(black_box(&bytes));
        assert!(decoded.is_ok(), "a packet we encoded must decode");
        black_box(decoded.ok());
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{rounds} round trips of a {size}-byte ping with 3 updates in {seconds:.3} s: \
         {:.0} packets/s (encode + decode)",
        f64::from(rounds) / seconds
    );
}
