//! Delay, jitter and reordering without `netem`: an `iptables … -j NFQUEUE` rule hands the
//! overlay's packets to a userspace program (`swim-netdelay`, run inside a host's namespace)
//! that holds each one for `delay ± jitter` (uniform) before it accepts it. Packets whose
//! drawn delays differ by more than the gap between them leave in another order: the
//! reordering is the jitter's, as with `netem delay D J`.
//!
//! This module is the program's clock-free part, a queue of held packets ordered by their
//! release time; the netlink side is in `src/bin/swim-netdelay.rs`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::docker::CommandError;
use crate::multihost::splitmix::SplitMix;

/// The queue number the delay rules use (queues are per network namespace).
pub const QUEUE: u16 = 4789;
/// Longest wait for a delayer to bind its queue, or to stop.
const DELAYER_WAIT: Duration = Duration::from_secs(10);

/// Most packets held at once (the kernel's queue is set to the same length; beyond it the
/// kernel drops, which a run at the overlay's rates does not reach).
pub const MAX_HELD: usize = 4096;

/// Held packets, each released at its arrival plus its drawn delay.
#[derive(Debug)]
pub struct Delayer<T> {
    rng: SplitMix,
    delay: Duration,
    jitter: Duration,
    /// (release time, arrival order, packet); the order breaks ties so equal times keep FIFO.
    held: BinaryHeap<Reverse<(Duration, u64, Held<T>)>>,
    arrivals: u64,
}

/// A packet in the heap (compared by nothing: the heap orders by time and arrival only).
#[derive(Debug)]
struct Held<T>(T);

impl<T> PartialEq for Held<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Held<T> {}
impl<T> PartialOrd for Held<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Held<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T> Delayer<T> {
    /// Delays of `delay ± jitter` (jitter at most the delay), drawn from `seed`.
    pub fn new(delay: Duration, jitter: Duration, seed: u64) -> Delayer<T> {
        Delayer {
            rng: SplitMix::new(seed),
            delay,
            jitter: jitter.min(delay),
            held: BinaryHeap::new(),
            arrivals: 0,
        }
    }

    /// Holds `packet`, arrived at `now`, and returns the delay it drew; hands it back when
    /// [`MAX_HELD`] are held already (the caller accepts it at once).
    pub fn hold(&mut self, now: Duration, packet: T) -> Result<Duration, T> {
        if self.held.len() >= MAX_HELD {
            return Err(packet);
        }
        let span = self.jitter.as_micros() as u64 * 2;
        let offset = Duration::from_micros(self.rng.range(0, span));
        let delay = self.delay - self.jitter + offset;
        self.arrivals += 1;
        self.held
            .push(Reverse((now + delay, self.arrivals, Held(packet))));
        Ok(delay)
    }

    /// The packets due at `now`, in release order.
    pub fn due(&mut self, now: Duration) -> Vec<T> {
        let mut out = Vec::new();
        while self
            .held
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            if let Some(Reverse((_, _, Held(p)))) = self.held.pop() {
                out.push(p);
            }
        }
        out
    }

    /// When the next packet is due, if one is held.
    pub fn next_due(&self) -> Option<Duration> {
        self.held.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Every held packet, in release order (when stopping: nothing is left in the queue).
    pub fn drain(&mut self) -> Vec<T> {
        self.due(Duration::MAX)
    }

    /// Packets held now.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// `swim-netdelay` beside the running executable (cargo puts a package's binaries in one
/// directory; an integration test runs from `deps/` below it).
pub fn netdelay_beside_current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let found = [dir, dir.parent()?]
        .into_iter()
        .map(|d| d.join("swim-netdelay"))
        .find(|p| p.is_file());
    found
}

/// A running `swim-netdelay` in a host's namespace, bound to [`QUEUE`]. [`Netdelay::stop`]
/// (or dropping it) closes its input: it releases what it holds and exits.
#[derive(Debug)]
pub struct Netdelay {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Netdelay {
    /// Starts `program` in the namespace at `netns` with `delay ± jitter`, and waits until it
    /// is bound to the queue.
    pub fn start(
        program: &Path,
        netns: &Path,
        delay: Duration,
        jitter: Duration,
        seed: u64,
    ) -> Result<Netdelay, CommandError> {
        let net = format!("--net={}", netns.display());
        let mut child = Command::new("nsenter")
            .arg(net)
            .arg(program)
            .args(["--queue", &QUEUE.to_string()])
            .args(["--delay-ms", &delay.as_millis().to_string()])
            .args(["--jitter-ms", &jitter.as_millis().to_string()])
            .args(["--seed", &seed.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| CommandError(format!("{}: cannot start: {e}", program.display())))?;
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut me = Netdelay {
            child,
            stdin,
            lines,
        };
        match me.lines.recv_timeout(DELAYER_WAIT) {
            Ok(line) if line == "ready" => Ok(me),
            other => {
                let status = me.finish();
                Err(CommandError(format!(
                    "swim-netdelay in {}: not ready ({other:?}; {status})",
                    netns.display()
                )))
            }
        }
    }

    /// Whether it still runs (it must, while its rule is in place).
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Closes its input, waits for it (killed after `DELAYER_WAIT`); returns its last line
    /// (`held P packets, longest queue Q`) or what went wrong.
    pub fn stop(mut self) -> Result<String, CommandError> {
        let alive = self.running();
        let status = self.finish();
        // The reader forwards the last lines once the pipe closes.
        let mut last = None;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            last = Some(line);
        }
        match last {
            Some(line) if alive && line.starts_with("held ") => Ok(line),
            other => Err(CommandError(format!(
                "swim-netdelay: {} before its stop, last line {other:?}, {status}",
                if alive { "ran" } else { "exited" }
            ))),
        }
    }

    fn finish(&mut self) -> String {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let deadline = Instant::now() + DELAYER_WAIT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.to_string(),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return e.to_string(),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        "killed after it did not stop".to_owned()
    }
}

impl Drop for Netdelay {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn every_packet_waits_its_delay_within_the_jitter_and_jitter_reorders() {
        let mut d = Delayer::new(ms(50), ms(20), 1);
        let mut delays = Vec::new();
        // One packet a millisecond for a second.
        for i in 0..1000u64 {
            delays.push(d.hold(ms(i), i).unwrap());
        }
        assert!(delays.iter().all(|x| *x >= ms(30) && *x <= ms(70)));
        let mean = delays.iter().sum::<Duration>() / 1000;
        assert!(mean > ms(48) && mean < ms(52), "{mean:?}");
        assert!(
            d.due(ms(29)).is_empty(),
            "nothing before the shortest delay"
        );
        let mut released = Vec::new();
        let mut now = ms(0);
        while !d.is_empty() {
            now += ms(1);
            for p in d.due(now) {
                // Released no earlier than drawn.
                assert!(now >= ms(p) + delays[p as usize]);
                assert!(now < ms(p) + delays[p as usize] + ms(1));
                released.push(p);
            }
        }
        assert_eq!(released.len(), 1000);
        let out_of_order = released.windows(2).filter(|w| w[1] < w[0]).count();
        assert!(out_of_order > 100, "{out_of_order}");
    }

    #[test]
    fn no_jitter_keeps_the_order_and_the_queue_is_bounded() {
        let mut d = Delayer::new(ms(10), Duration::ZERO, 2);
        for i in 0..MAX_HELD as u64 {
            assert_eq!(d.hold(ms(0), i), Ok(ms(10)));
        }
        assert_eq!(d.hold(ms(0), 9999), Err(9999));
        assert_eq!(d.next_due(), Some(ms(10)));
        let all = d.drain();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(d.is_empty());
    }
}
