//! Starts a loopback cluster in one process (default 20 members, the seed's timings), waits
//! until every member sees every other ONLINE, then measures resident memory and CPU time
//! per member while the cluster idles, and the CPU the join cost per member learned. Linux
//! only (reads /proc/self).
//!
//! Run with `cargo run --release -p swim-protocol --example bench_cluster [MEMBERS] [SECONDS]`.

use std::time::{Duration, Instant};

use swim_protocol::{Cluster, StatusSet};

#[path = "common/loopback.rs"]
mod loopback;
#[path = "common/proc.rs"]
mod proc;

use loopback::arg;

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    proc::status_kib("self", "VmRSS:")
}

/// User + system CPU time of this process, in clock ticks (1/100 s on Linux).
fn cpu_ticks() -> u64 {
    proc::cpu_ticks("self")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = arg(1, 20) as usize;
    let idle = Duration::from_secs(arg(2, 20));
    let rss_before = rss_kib();
    let ticks_at_start = cpu_ticks();
    let started = Instant::now();
    let members = loopback::start_members(count).await?;
    let sees_all = |m: &Cluster| m.with_status(StatusSet::ONLINE).len() == count - 1;
    // Members are checked in turn, each until it sees all (then all once more): asking every
    // member for its whole list every 50 ms cost more CPU than the join it measures.
    let mut waiting = 0;
    loop {
        while waiting < count && sees_all(&members[waiting]) {
            waiting += 1;
        }
        if waiting == count {
            if members.iter().all(sees_all) {
                break;
            }
            waiting = 0;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let join_ticks = cpu_ticks() - ticks_at_start;
    println!("{count} members converged in {:.2?}", started.elapsed());
    // Every member learned every other: n·(n − 1) members learned in all (the process
    // starts, the members' sockets and tasks and this loop's polling are included).
    let learned = (count * count.saturating_sub(1)).max(1) as f64;
    println!(
        "CPU until converged: {:.2} s = {:.1} µs per member learned",
        join_ticks as f64 / 100.0,
        join_ticks as f64 / 100.0 * 1e6 / learned
    );

    let sent_before: u64 = members.iter().map(|m| m.stats().udp_packets_sent).sum();
    let (ticks_before, idle_start) = (cpu_ticks(), Instant::now());
    tokio::time::sleep(idle).await;
    let seconds = idle_start.elapsed().as_secs_f64();
    let cpu_seconds = (cpu_ticks() - ticks_before) as f64 / 100.0;
    let sent: u64 = members
        .iter()
        .map(|m| m.stats().udp_packets_sent)
        .sum::<u64>()
        - sent_before;
    let rss_after = rss_kib();

    let n = count as f64;
    println!(
        "resident memory: {rss_before} KiB before, {rss_after} KiB after: {:.0} KiB per member",
        (rss_after.saturating_sub(rss_before)) as f64 / n
    );
    println!(
        "idle for {seconds:.1} s: {:.3} % of one core per member, {:.1} packets sent/s per member",
        100.0 * cpu_seconds / seconds / n,
        sent as f64 / seconds / n
    );
    let unavailable: usize = members
        .iter()
        .map(|m| m.with_status(StatusSet::UNAVAILABLE).len())
        .sum();
    println!("members seen unavailable at the end (should be 0): {unavailable}");
    for member in members {
        member.shutdown().await;
    }
    Ok(())
}
