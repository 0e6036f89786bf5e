//! The mirror's CPU per member learned, without the network: mirrors N new members (each
//! ONLINE with a one-key map, as in `bench/join-cpu.sh`) into a fresh directory, in batches as
//! the sync tool writes them, and prints the CPU time per member (this thread's, from
//! `/proc/thread-self/schedstat`, in nanoseconds) and the entries written. Linux only.
//!
//! `TMPDIR=/dev/shm cargo run --release -p swim-tools --example bench_mirror [MEMBERS] [BATCH]`

use std::time::Duration;

use swim_protocol::{MemberName, MemberSnapshot, Metadata, Status};
use swim_tools::sync::Mirror;

/// This thread's CPU time so far, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = arg(1, 10_000);
    let batch = arg(2, 64).max(1);
    let dir = tempfile::tempdir()?;
    let mut mirror = Mirror::open(dir.path(), "127.0.0.1:1")?;
    let members: Vec<MemberSnapshot> = (0..count)
        .map(|i| MemberSnapshot {
            name: MemberName::from(format!(
                "10.{}.{}.{}:7946",
                i >> 16,
                (i >> 8) & 255,
                i & 255
            )),
            local: false,
            clock: 1,
            status: Status::Online,
            status_time: Duration::ZERO,
            metadata: Some(Metadata::empty().with("id", format!("node {i}"))),
            left: false,
        })
        .collect();
    let start = thread_cpu_ns();
    for chunk in members.chunks(batch) {
        for member in chunk {
            mirror.apply(member);
        }
        mirror.touch_status_dirs();
    }
    let spent = thread_cpu_ns().saturating_sub(start);
    println!(
        "{count} members in batches of {batch}: {:.2} µs CPU per member, {} entries written",
        spent as f64 / 1e3 / count as f64,
        mirror.writes()
    );
    Ok(())
}
