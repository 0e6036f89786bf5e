//! Join time when members start one after another (as processes do), not all at once.
//!
//! `cargo run --release -p swim-sim --example staggered_join -- MEMBERS STAGGER_MS`

use std::time::Duration;

use swim_core::{Metadata, ProtocolConfig};
use swim_sim::{NetworkConfig, Simulation, Tracker};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(80);
    let stagger: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    for seed in 1..=5 {
        let mut sim = Simulation::new(n, seed, NetworkConfig::default(), ProtocolConfig::default());
        let mut tracker = Tracker::new(n);
        for i in 0..n {
            let peers: &[usize] = if i == 0 { &[1] } else { &[0] };
            sim.start(i, Metadata::empty(), peers, &mut tracker);
            let next = sim.now() + Duration::from_millis(stagger);
            sim.run_until(next, &mut tracker);
        }
        while !tracker.fully_joined() && sim.now() < Duration::from_secs(120) {
            let next = sim.now() + Duration::from_millis(10);
            sim.run_until(next, &mut tracker);
        }
        println!(
            "seed {seed}: all see all ONLINE at {:.2} s",
            sim.now().as_secs_f64()
        );
    }
}
