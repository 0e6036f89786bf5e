//! Flood benchmark: one attacker holding the cluster's secret floods one member (the
//! victim) of a loopback cluster with signed full-sync requests and ping-reqs, and the
//! figures show what that costs: the victim's resident memory and CPU, what the attacker
//! spent and received (against the budget the default limits allow), and whether any live
//! member was marked SUSPECT. Linux only (reads /proc).
//!
//! The victim and the other members run in two child processes (this binary again, with
//! `--role`), so their figures are their own; the attacker runs in this process.
//!
//! ```text
//! cargo run --release -p swim-protocol --example bench_flood -- \
//!     [--members 20] [--rate 50000] [--seconds 60] [--port 21000] [--encrypted 1]
//! ```
//!
//! With `--encrypted 1` the cluster (and the attacker) use an encryption key instead of
//! signed frames. With `--queries 1` the attacker is a member of the cluster instead, and
//! floods every member with queries and user events of its own (`common/query_flood.rs`):
//! the figures are the CPU per member and what the members' applications were handed
//! against the bound their budgets per origin imply; the run fails if it is broken.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use swim_core::wire::{decode, encode};
use swim_core::{FullSyncLimits, Message, MessageKind, Packet, Source, Update, Validity};
use swim_protocol::admission::Limits;
use swim_protocol::frame::keyring::{Key, Keyring, LiveKeyring};
use swim_protocol::frame::{FrameSettings, Framer};
use swim_protocol::security::Security;
use swim_protocol::{Cluster, Config, MemberName, Metadata, Status, StatusSet};
use tokio::net::UdpSocket;

const SECRET: &[u8] = b"flood benchmark secret";
/// Names (sockets) the attacker sends from: each has a per-source budget of its own.
const ATTACKER_NAMES: u16 = 16;

fn flag(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn role() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--role")?;
    args.get(i + 1).cloned()
}

#[path = "common/proc.rs"]
mod proc;
#[path = "common/query_flood.rs"]
mod query_flood;

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    proc::status_kib(&pid.to_string(), field)
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    proc::cpu_ticks(&pid.to_string()) as f64 / 100.0
}

/// The keyring of the cluster: signed frames, or one fixed key with `--encrypted 1`.
fn keyring() -> Keyring {
    if flag("--encrypted", 0) == 1 {
        Keyring::with_key(Key::from_bytes([0x5a; 32]))
    } else {
        Keyring::signed_only()
    }
}

fn name(port: u64) -> String {
    format!("127.0.0.1:{port}")
}

/// Child: runs members on `ports`, all knowing `peer`; prints `ready` once every member
/// sees `expect` others ONLINE, then counts verdicts other than ONLINE about live members
/// (ports up to `live_max`; the attacker's names above are not live) until stdin says
/// `report`.
async fn run_members(ports: Vec<u64>, peer: String, expect: usize, live_max: u64) {
    let mut members = Vec::new();
    for port in &ports {
        let config = Config::new(name(*port))
            .with_peers([peer.clone()])
            // The secret after the security settings, which would replace it (the members
            // then used the machine's default secret and refused every flood frame as a
            // bad signature).
            .with_security(Security::default().with_keyring(keyring()))
            .with_secret(SECRET)
            .with_metadata(Metadata::empty().with("port", port.to_string()));
        members.push(Cluster::start(config).await.expect("member starts"));
    }
    while !members
        .iter()
        .all(|m| m.with_status(StatusSet::ONLINE).len() >= expect)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let suspicions = Arc::new(AtomicU64::new(0));
    for member in &members {
        let suspicions = suspicions.clone();
        member.on_change(move |change| {
            let port = change
                .member
                .name
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok());
            let live = port.is_some_and(|p: u64| p <= live_max);
            if live && change.member.status != Status::Online {
                suspicions.fetch_add(1, Ordering::Relaxed);
                eprintln!("{} is {}", change.member.name, change.member.status);
            }
        });
    }
    let answered = if flag("--queries", 0) == 1 {
        Some(query_flood::answer(&members).await)
    } else {
        None
    };
    println!("ready");
    // Wait for the parent's `report` (or its end) without blocking the runtime.
    let asked = tokio::task::spawn_blocking(|| {
        std::io::stdin()
            .lines()
            .map_while(Result::ok)
            .any(|line| line == "report")
    });
    let _ = asked.await;
    let stats: Vec<_> = members.iter().map(Cluster::stats).collect();
    let app = answered.map_or(String::new(), |a| {
        format!(" {}", query_flood::report(&members, &a))
    });
    println!(
        "suspicions={} rate_limited={} sent_bytes={}{app}",
        suspicions.load(Ordering::Relaxed),
        stats.iter().map(|s| s.dropped_rate_limited).sum::<u64>(),
        stats
            .iter()
            .map(|s| s.udp_bytes_sent + s.tcp_bytes_sent)
            .sum::<u64>(),
    );
    for member in members {
        member.shutdown().await;
    }
}

struct Members {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Members {
    fn spawn(ports: &[u64], peer: &str, expect: usize, live_max: u64) -> Members {
        let ports: Vec<String> = ports.iter().map(u64::to_string).collect();
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args(["--encrypted", &flag("--encrypted", 0).to_string()])
            .args(["--queries", &flag("--queries", 0).to_string()])
            .args(["--role", "members", "--peer", peer, "--expect"])
            .arg(expect.to_string())
            .arg("--live-max")
            .arg(live_max.to_string())
            .arg("--ports")
            .arg(ports.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("child starts");
        let lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        Members { child, lines }
    }

    fn wait_line(&mut self) -> String {
        self.lines.next().and_then(Result::ok).expect("child line")
    }

    fn report(&mut self) -> String {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "report").expect("child listens");
        self.wait_line()
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the attacker received from the victim, by message kind, opened and decoded.
#[derive(Default)]
struct Received {
    kinds: [AtomicU64; MessageKind::ALL.len()],
    /// Member records carried (piggybacked gossip and sync records).
    records: AtomicU64,
    /// Frames that did not open or decode.
    unreadable: AtomicU64,
    largest: AtomicU64,
}

impl Received {
    fn count(&self, opener: &Framer, frame: &[u8]) {
        self.largest
            .fetch_max(frame.len() as u64, Ordering::Relaxed);
        let packet = opener
            .open(frame)
            .ok()
            .and_then(|payload| decode(&payload).ok());
        let Some(packet) = packet else {
            self.unreadable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.kinds[packet.message.kind().index()].fetch_add(1, Ordering::Relaxed);
        let synced = match &packet.message {
            Message::Sync { records, .. } => records.len(),
            _ => 0,
        };
        self.records
            .fetch_add((packet.gossip.len() + synced) as u64, Ordering::Relaxed);
    }

    fn summary(&self) -> String {
        let mut parts: Vec<String> = MessageKind::ALL
            .iter()
            .filter_map(|kind| {
                let n = self.kinds[kind.index()].load(Ordering::Relaxed);
                (n > 0).then(|| format!("{} {n}", kind.name()))
            })
            .collect();
        parts.push(format!(
            "records carried {}",
            self.records.load(Ordering::Relaxed)
        ));
        parts.push(format!(
            "unreadable {}",
            self.unreadable.load(Ordering::Relaxed)
        ));
        parts.push(format!(
            "largest {} bytes",
            self.largest.load(Ordering::Relaxed)
        ));
        parts.join(", ")
    }
}

fn flood_packet(from: &str, validity: Validity, i: u64, targets: &[String]) -> Packet {
    let message = if i % 2 == 0 {
        Message::Sync {
            reply: false,
            full: true,
            records: vec![Update {
                name: from.into(),
                clock: 1,
                status: Status::Online,
                metadata: Some(Metadata::empty()),
                accuser: None,
                left: false,
                delta: None,
            }],
        }
    } else {
        let target = &targets[(i / 2) as usize % targets.len()];
        Message::PingReq {
            seq: i as u32,
            target: target.as_str().into(),
        }
    };
    Packet {
        app: Default::default(),
        source: Source {
            name: from.into(),
            validity,
        },
        message,
        gossip: vec![],
    }
}

const USAGE: &str = "\
Floods one member of a loopback cluster with signed full-sync requests and ping-reqs.

usage: bench_flood [--members N] [--rate PACKETS_PER_S] [--seconds S] [--port BASE] [--encrypted 0|1]
                   [--queries 0|1]

  --members    cluster size, the victim included (default 20)
  --rate       packets per second the attacker tries to send (default 50000)
  --seconds    length of the flood (default 60)
  --port       the victim's port; the other members and the attacker's 16 names use the
               ports above it (default 21000)
  --encrypted  1: the cluster and the attacker use an encryption key instead of signed
               frames (default 0)
  --queries    1: the attacker is a member and floods every member with its own queries
               and events (4 of each per packet); exits 1 if a member's application was
               handed more than its budgets per origin allow (default 0)";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return;
    }
    match role().as_deref() {
        Some("members") => {
            let ports = std::env::args()
                .skip_while(|a| a != "--ports")
                .nth(1)
                .unwrap_or_default();
            let ports = ports.split(',').filter_map(|p| p.parse().ok()).collect();
            let peer = std::env::args()
                .skip_while(|a| a != "--peer")
                .nth(1)
                .unwrap_or_default();
            let (expect, live_max) = (flag("--expect", 1) as usize, flag("--live-max", 0));
            return run_members(ports, peer, expect, live_max).await;
        }
        Some(other) => panic!("unknown role {other}"),
        None => {}
    }
    let members = flag("--members", 20);
    let rate = flag("--rate", 50_000);
    let seconds = flag("--seconds", 60);
    let base = flag("--port", 21_000);
    let victim_name = name(base);
    let others: Vec<u64> = (1..members).map(|i| base + i).collect();
    let expect = (members - 1) as usize;

    let live_max = base + members - 1;
    let mut victim = Members::spawn(&[base], &name(base + 1), expect, live_max);
    let mut rest = Members::spawn(&others, &victim_name, expect, live_max);
    assert_eq!(victim.wait_line(), "ready");
    assert_eq!(rest.wait_line(), "ready");
    let victim_pid = victim.child.id();
    if flag("--queries", 0) == 1 {
        let pids = [victim_pid, rest.child.id()];
        let (victim, rest) = (&mut victim, &mut rest);
        return queries(members, rate, seconds, base, pids, [victim, rest]).await;
    }
    let mode = if flag("--encrypted", 0) == 1 {
        "encrypted"
    } else {
        "signed"
    };
    println!("{members} members ONLINE everywhere ({mode} frames); flooding {victim_name} with {rate} packets/s for {seconds} s");

    // The attacker: sockets on ports above the cluster's, a framer with the secret.
    let mut sockets = Vec::new();
    for i in 0..ATTACKER_NAMES {
        let port = base + members + 1 + u64::from(i);
        sockets.push(Arc::new(
            UdpSocket::bind(name(port)).await.expect("attacker binds"),
        ));
    }
    let victim_port = base as u16;
    let received = Arc::new(AtomicU64::new(0));
    let received_packets = Arc::new(AtomicU64::new(0));
    let received_kinds = Arc::new(Received::default());
    let settings = FrameSettings {
        keyring: LiveKeyring::new(keyring()),
        ..FrameSettings::default()
    };
    for (i, socket) in sockets.iter().enumerate() {
        let (socket, received, packets, kinds) = (
            socket.clone(),
            received.clone(),
            received_packets.clone(),
            received_kinds.clone(),
        );
        // Each name opens what the victim sends it, to tell what it is.
        let own = name(base + members + 1 + i as u64);
        let opener = Framer::new(SECRET, &own, settings.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            // What the victim sends the attacker (others probe its names too).
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if from.port() == victim_port {
                    received.fetch_add(n as u64, Ordering::Relaxed);
                    packets.fetch_add(1, Ordering::Relaxed);
                    kinds.count(&opener, &buf[..n]);
                }
            }
        });
    }
    let framer = Framer::new(SECRET, "127.0.0.1:1", settings);
    let targets: Vec<String> = others.iter().map(|p| name(*p)).collect();
    let to = MemberName::from(victim_name.as_str());
    let victim_addr: std::net::SocketAddr = victim_name.parse().expect("address");

    let (victim_cpu0, own_cpu0) = (cpu_seconds(victim_pid), cpu_seconds(std::process::id()));
    let start = Instant::now();
    let (mut sent, mut sent_bytes) = (0u64, 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let per_tick = rate / 1000;
    let mut peak_rss = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        for _ in 0..per_tick {
            let which = (sent % u64::from(ATTACKER_NAMES)) as usize;
            let from = name(base + members + 1 + which as u64);
            let packet = flood_packet(
                &from,
                Validity([which as u8; 8]),
                sent / u64::from(ATTACKER_NAMES),
                &targets,
            );
            let frame = framer.seal(&encode(&packet), &to);
            if sockets[which].try_send_to(&frame, victim_addr).is_ok() {
                sent += 1;
                sent_bytes += frame.len() as u64;
            }
        }
        if sent % 10_000 < per_tick {
            peak_rss = peak_rss.max(status_kib(victim_pid, "VmRSS:"));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let victim_cpu = cpu_seconds(victim_pid) - victim_cpu0;
    let own_cpu = cpu_seconds(std::process::id()) - own_cpu0;
    let (rss, hwm) = (
        status_kib(victim_pid, "VmRSS:"),
        status_kib(victim_pid, "VmHWM:"),
    );
    // Let the last answers arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let victim_report = victim.report();
    let rest_report = rest.report();

    let (limits, full_sync) = (Limits::default(), FullSyncLimits::default());
    let names = f64::from(ATTACKER_NAMES);
    let full_syncs = (names * full_sync.per_source.per_second).min(
        full_sync
            .members
            .per_second
            .max(full_sync.strangers.per_second),
    );
    let ping_reqs =
        (names * limits.ping_req_per_source.per_second).min(limits.ping_req_total.per_second);
    let bursts = (names * full_sync.per_source.burst).min(full_sync.strangers.burst)
        + (names * limits.ping_req_per_source.burst).min(limits.ping_req_total.burst);
    println!(
        "attacker: sent {sent} packets ({:.0}/s, {:.1} MB), CPU {:.2} s ({:.0}% of a core)",
        sent as f64 / elapsed,
        sent_bytes as f64 / 1e6,
        own_cpu,
        100.0 * own_cpu / elapsed
    );
    println!(
        "attacker: received from the victim {} packets ({:.0}/s), {} bytes ({:.0} B/s)",
        received_packets.load(Ordering::Relaxed),
        received_packets.load(Ordering::Relaxed) as f64 / elapsed,
        received.load(Ordering::Relaxed),
        received.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!(
        "budget: answers to the attacker's names (never in good standing: a full-sync request \
         gets a challenge, a bare ping; a ping-req a bare relayed ack) <= {full_syncs:.0} \
         challenges/s + {ping_reqs:.0} acks/s, + {bursts:.0} once (bursts): {:.0} in {elapsed:.1} \
         s; besides, the pings the victim sends those names as members of its table (its own \
         probes, and relays for the other members' probes of them)",
        (full_syncs + ping_reqs) * elapsed + bursts
    );
    println!("attacker: received by kind: {}", received_kinds.summary());
    println!(
        "victim: CPU {victim_cpu:.2} s in {elapsed:.1} s ({:.0}% of a core), RSS {rss} KiB at the end, peak {hwm} KiB (sampled {peak_rss} KiB)",
        100.0 * victim_cpu / elapsed
    );
    println!("victim: {victim_report}");
    println!("others: {rest_report}");
}

/// `--queries 1`: the member on the port above the cluster's floods every member with its
/// own queries and events; prints the CPU per member and what the members were handed,
/// against the bound of their budgets per origin, and exits 1 if it was broken.
async fn queries(
    members: u64,
    rate: u64,
    seconds: u64,
    base: u64,
    pids: [u32; 2],
    children: [&mut Members; 2],
) {
    let attacker = name(base + members + 1);
    let targets: Vec<String> = (0..members).map(|i| name(base + i)).collect();
    println!("{members} members ONLINE everywhere; {attacker} joins and floods every member with queries and events ({rate} packets/s for {seconds} s)");
    let settings = FrameSettings {
        keyring: LiveKeyring::new(keyring()),
        ..FrameSettings::default()
    };
    let cpu0: f64 = pids.iter().map(|&p| cpu_seconds(p)).sum();
    let outcome = query_flood::flood(&attacker, SECRET, settings, &targets, rate, seconds).await;
    let cpu = pids.iter().map(|&p| cpu_seconds(p)).sum::<f64>() - cpu0;
    let reports: Vec<String> = children.into_iter().map(Members::report).collect();
    let sum = |key: &str| -> u64 { reports.iter().map(|r| query_flood::field(r, key)).sum() };
    let (answered, delivered) = (sum("queries_answered"), sum("app_delivered"));
    // The members' counters run from their start: the 2 s of the join are counted too.
    let window = outcome.elapsed + 3.0;
    let budgets = query_flood::budgets();
    let n = members as f64;
    let query_bound = n * query_flood::bound(budgets.queries_per_origin, window);
    let event_bound = n * query_flood::bound(budgets.events_per_origin, window);
    let answer_bound = query_flood::answers_bound(query_bound);
    println!(
        "attacker: sent {} packets ({:.0}/s, {:.1} MB) holding {} queries and events; got {} answers back",
        outcome.sent,
        outcome.sent as f64 / outcome.elapsed,
        outcome.sent_bytes as f64 / 1e6,
        outcome.published,
        outcome.answers
    );
    println!(
        "members: CPU {:.2} s in {:.1} s: {:.1}% of a core per member",
        cpu,
        outcome.elapsed,
        100.0 * cpu / outcome.elapsed / n
    );
    println!(
        "handed to the members' applications: {answered} queries answered (bound \
         {query_bound:.0}: {members} × ({} + {}/s × {window:.1} s)), {delivered} queries and \
         events (bound {:.0}, events {members} × ({} + {}/s × {window:.1} s)), answers back {} \
         (bound {answer_bound:.0}); dropped over budget {}",
        budgets.queries_per_origin.burst,
        budgets.queries_per_origin.per_second,
        query_bound + event_bound,
        budgets.events_per_origin.burst,
        budgets.events_per_origin.per_second,
        outcome.answers,
        sum("over_budget"),
    );
    for report in &reports {
        println!("members: {report}");
    }
    let suspicions = sum("suspicions");
    let within = answered as f64 <= query_bound
        && delivered as f64 <= query_bound + event_bound
        && outcome.answers as f64 <= answer_bound
        && suspicions == 0;
    if !within {
        println!("BROKEN: a bound was exceeded, or a live member was suspected");
        std::process::exit(1);
    }
    println!("within the bounds, no live member suspected");
}
