//! One member per process, the library alone (no file mirror, no logging): for measuring
//! what a join costs real processes, as `bench/join-cpu.sh --lib` does with hundreds of
//! them. The member binds `NAME`, joins through `PEER`, follows its membership through a
//! subscription (as an application does) and, while it sees `EXPECT - 1` other members
//! ONLINE, keeps the empty file `DONE` in existence (created when it gets there, removed
//! when it no longer does). On SIGUSR1 it prints its traffic so far as one line, `traffic`
//! then `KIND=RECEIVED/SENT` (frames) for each message kind that occurred, then
//! `changes=ALL/UNSEEN` (changes of other members received; unseen: status, metadata and the
//! left flag as before) and `udp_in=N udp_out=N tcp_in=N tcp_out=N` (frames). It runs until killed. Same runtime as
//! `swim-protocol-sync`: one thread (tokio's current-thread scheduler).
//!
//! Run with `cargo run --release -p swim-protocol --example bench_member NAME PEER EXPECT DONE`.

use std::collections::HashSet;
use std::path::PathBuf;

use swim_protocol::stats::MessageKind;
use swim_protocol::{Cluster, Config, MemberName, MembershipEvent, Metadata, Status, StatusSet};
use tokio::signal::unix::{signal, SignalKind};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // A task, not the future `block_on` drives: waking that one (at each membership change)
    // writes the runtime's eventfd and wakes its `epoll` once more, as in
    // `swim_tools::cmd::as_task`.
    tokio::spawn(run()).await?
}

async fn run() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, peer, expect, done] = args.as_slice() else {
        return Err("usage: bench_member NAME PEER EXPECT DONE".into());
    };
    let others = expect.parse::<usize>()?.saturating_sub(1);
    let done = PathBuf::from(done);
    let config = Config::new(name.as_str())
        .with_peers([peer.as_str()])
        .with_metadata(Metadata::empty().with("name", name.as_str()))
        .with_secret("bench");
    let mut report = signal(SignalKind::user_defined1())?;
    let cluster = Cluster::start(config).await?;
    let local = cluster.name().clone();
    // Subscribed after the start: what the member already knows is read once, then the
    // stream's changes keep the set current.
    let mut events = cluster.subscribe();
    let mut online: HashSet<MemberName> = cluster
        .with_status(StatusSet::ONLINE)
        .into_iter()
        .map(|m| m.name)
        .filter(|n| *n != local)
        .collect();
    let mut marked = false;
    let mut changes = Changes::default();
    loop {
        if (online.len() == others) != marked {
            marked = !marked;
            if marked {
                std::fs::write(&done, b"")?;
            } else {
                std::fs::remove_file(&done)?;
            }
        }
        let event = tokio::select! {
            event = events.next_event() => event,
            _ = report.recv() => {
                print_traffic(&cluster, &changes);
                continue;
            }
        };
        match event {
            Some(MembershipEvent::Changed(change)) if change.member.name != local => {
                changes.count(&change);
                if change.member.status == Status::Online {
                    online.insert(change.member.name);
                } else {
                    online.remove(&change.member.name);
                }
            }
            Some(MembershipEvent::Forgotten(member)) => {
                online.remove(&member.name);
            }
            Some(_) => {}
            None => return Err("the member stopped".into()),
        }
    }
}

/// The membership changes of other members received.
#[derive(Default)]
struct Changes {
    all: u64,
    /// Those in which status, metadata and the left flag are as before: only the clock or
    /// the status time moved (nothing an application that shows members would show).
    unseen: u64,
}

impl Changes {
    fn count(&mut self, change: &swim_protocol::MemberChange) {
        let (now, before) = (&change.member, &change.previous);
        self.all += 1;
        if now.status == before.status && now.metadata == before.metadata && now.left == before.left
        {
            self.unseen += 1;
        }
    }
}

/// Prints the member's traffic so far as one line (see the module's documentation).
fn print_traffic(cluster: &Cluster, changes: &Changes) {
    let stats = cluster.stats();
    let mut line = String::from("traffic");
    for kind in MessageKind::ALL {
        let (received, sent) = (stats.received(kind).packets, stats.sent(kind).packets);
        if received + sent > 0 {
            line += &format!(" {}={received}/{sent}", kind.name());
        }
    }
    line += &format!(
        " changes={}/{} udp_in={} udp_out={} tcp_in={} tcp_out={}",
        changes.all,
        changes.unseen,
        stats.udp_packets_received,
        stats.udp_packets_sent,
        stats.tcp_packets_received,
        stats.tcp_packets_sent
    );
    println!("{line}");
}
