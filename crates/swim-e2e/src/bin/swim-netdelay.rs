//! Holds the packets an `iptables … -j NFQUEUE --queue-num N` rule queues for `delay ±
//! jitter` (uniform), then accepts them: delay, jitter and the reordering jitter causes,
//! where the kernel has no `netem`. Run it inside the namespace of the rule (`nsenter
//! --net=…`); it needs `CAP_NET_ADMIN` there.
//!
//! ```text
//! swim-netdelay --queue N --delay-ms D [--jitter-ms J] [--seed S]
//! ```
//!
//! It prints `ready` once bound to the queue, and stops when its standard input closes: it
//! then accepts every packet it still holds at once, prints `held P packets, longest queue
//! Q` and exits 0. Exit status 2 on a usage or netlink error.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nfq::{Queue, Verdict};
use swim_e2e::multihost::delay::{Delayer, MAX_HELD};

fn fail(problem: &str) -> ! {
    eprintln!("swim-netdelay: {problem}");
    std::process::exit(2)
}

fn netlink(what: &str, e: std::io::Error) -> ! {
    fail(&format!("{what}: {e}"))
}

fn main() {
    let (mut queue_num, mut delay, mut jitter, mut seed) = (None, None, 0u64, 1u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{arg} needs a value")));
        let number = |v: &str| -> u64 {
            v.parse()
                .unwrap_or_else(|_| fail(&format!("{arg}: not a number: {v:?}")))
        };
        match arg.as_str() {
            "--queue" => queue_num = Some(number(&value)),
            "--delay-ms" => delay = Some(number(&value)),
            "--jitter-ms" => jitter = number(&value),
            "--seed" => seed = number(&value),
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let queue_num = queue_num
        .and_then(|q| u16::try_from(q).ok())
        .unwrap_or_else(|| fail("--queue N (0 to 65535) is required"));
    let delay = delay.unwrap_or_else(|| fail("--delay-ms is required"));
    if delay > 10_000 || jitter > delay {
        fail("--delay-ms at most 10000, --jitter-ms at most the delay");
    }
    let mut queue = Queue::open().unwrap_or_else(|e| netlink("netlink socket", e));
    queue
        .bind(queue_num)
        .unwrap_or_else(|e| netlink("bind the queue", e));
    // Only the packets' metadata comes up: the verdict needs the id, not the bytes.
    queue
        .set_copy_range(queue_num, 0)
        .unwrap_or_else(|e| netlink("copy range", e));
    queue
        .set_queue_max_len(queue_num, MAX_HELD as u32)
        .unwrap_or_else(|e| netlink("queue length", e));
    queue.set_nonblocking(true);

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = [0u8; 64];
            while std::io::stdin().read(&mut sink).is_ok_and(|n| n > 0) {}
            stop.store(true, Ordering::Relaxed);
        });
    }
    println!("ready");
    let _ = std::io::stdout().flush();

    let start = Instant::now();
    let mut held = Delayer::new(
        Duration::from_millis(delay),
        Duration::from_millis(jitter),
        seed,
    );
    let (mut total, mut longest) = (0u64, 0usize);
    let accept = |queue: &mut Queue, mut msg: nfq::Message| {
        msg.set_verdict(Verdict::Accept);
        if let Err(e) = queue.verdict(msg) {
            netlink("verdict", e);
        }
    };
    while !stop.load(Ordering::Relaxed) {
        loop {
            match queue.recv() {
                Ok(msg) => {
                    total += 1;
                    if let Err(msg) = held.hold(start.elapsed(), msg) {
                        accept(&mut queue, msg);
                    }
                    longest = longest.max(held.len());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => netlink("receive", e),
            }
        }
        for msg in held.due(start.elapsed()) {
            accept(&mut queue, msg);
        }
        // Polls: a millisecond is the delay's resolution.
        let wait = held
            .next_due()
            .map_or(Duration::from_millis(1), |at| {
                at.saturating_sub(start.elapsed())
            })
            .min(Duration::from_millis(1));
        std::thread::sleep(wait);
    }
    for msg in held.drain() {
        accept(&mut queue, msg);
    }
    println!("held {total} packets, longest queue {longest}");
}
