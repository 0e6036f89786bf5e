//! The highest user-event rate a loopback cluster sustains: starts MEMBERS members in one
//! process (default 20, `lan` timings, signed frames), then publishes events of SIZE bytes
//! (default 512) from random members at rising rates, each for SECONDS (default 10), and
//! prints per rate: the share of (event, member) pairs delivered within 5 s after the step,
//! duplicates, false suspicions (a running member seen SUSPECT or OFFLINE), and CPU per
//! member. Stops at the first rate under 99.9% delivery or with a false suspicion. Linux only
//! (reads /proc/self).
//!
//! Run with `cargo run --release -p swim-protocol --example bench_events [MEMBERS] [SIZE] [SECONDS]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use swim_protocol::messaging::{AppMessage, EventOptions, MessagingError};
use swim_protocol::{AppError, Status, StatusSet};

#[path = "common/loopback.rs"]
mod loopback;
#[path = "common/proc.rs"]
mod proc;

use loopback::arg;

/// (event name, member) -> copies handed over.
type Seen = Arc<Mutex<HashMap<(String, usize), u32>>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count = arg(1, 20) as usize;
    let size = arg(2, 512) as usize;
    let step = Duration::from_secs(arg(3, 10));
    let members = loopback::start_members(count).await?;
    while !members
        .iter()
        .all(|m| m.with_status(StatusSet::ONLINE).len() == count - 1)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen: Seen = Arc::default();
    let suspicions = Arc::new(Mutex::new(0u64));
    for (i, member) in members.iter().enumerate() {
        let mut messages = member.messages();
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(message) = messages.recv().await {
                if let AppMessage::Event { name, .. } = message {
                    *seen.lock().unwrap().entry((name, i)).or_default() += 1;
                }
            }
        });
        let suspicions = suspicions.clone();
        member.on_change(move |change| {
            if change.member.status != Status::Online && !change.member.left {
                *suspicions.lock().unwrap() += 1;
            }
        });
    }
    println!(
        "{count} members, {size}-byte events, {} s per rate",
        step.as_secs()
    );
    println!("rate/s  published  delivered  duplicates  false-suspicions  cpu-ms/member/s");
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let payload = vec![0x5a_u8; size];
    let mut sent = 0u64;
    for rate in [10u32, 20, 50, 100, 200, 400, 800, 1600] {
        let ticks = proc::cpu_ticks("self");
        let started = Instant::now();
        let gap = Duration::from_secs_f64(1.0 / f64::from(rate));
        let mut names = Vec::new();
        let mut next = tokio::time::Instant::now();
        while started.elapsed() < step {
            let name = format!("r{rate}-{sent}");
            sent += 1;
            let from = &members[rng.random_range(0..count)];
            match from
                .publish(&name, payload.clone(), EventOptions::default())
                .await
            {
                Ok(()) => names.push(name),
                Err(MessagingError::Refused(AppError::Busy)) => {}
                Err(e) => return Err(e.into()),
            }
            next += gap;
            tokio::time::sleep_until(next).await;
        }
        let cpu = (proc::cpu_ticks("self") - ticks) as f64 * 10.0;
        let busy = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let seen = seen.lock().unwrap();
        let mut delivered = 0usize;
        let mut duplicates = 0u32;
        for name in &names {
            for i in 0..count {
                if let Some(copies) = seen.get(&(name.clone(), i)) {
                    delivered += 1;
                    duplicates += copies - 1;
                }
            }
        }
        let pairs = names.len() * count;
        let ratio = delivered as f64 / pairs.max(1) as f64;
        let false_suspicions = *suspicions.lock().unwrap();
        println!(
            "{rate:>6}  {:>9}  {:>8.4}%  {duplicates:>10}  {false_suspicions:>16}  {:>15.1}",
            names.len(),
            ratio * 100.0,
            cpu / busy / count as f64
        );
        if ratio < 0.999
            || false_suspicions > 0
            || names.len() < (rate as usize) * 9 / 10 * step.as_secs() as usize
        {
            println!(
                "stopped: below 99.9% delivery, a false suspicion, or publishes refused (Busy)"
            );
            break;
        }
    }
    let rss = proc::status_kib("self", "VmRSS:");
    println!("resident memory: {} KiB per member", rss / count as u64);
    for member in members {
        member.shutdown().await;
    }
    Ok(())
}
