//! End to end over 20 real `swim-protocol-sync` members on loopback: a user event published
//! with `swim-protocol-sync event` reaches every member's `on-event`; a query with a metadata
//! filter gets exactly the matching members' acks and `on-query` responses; a reliable
//! message to a stopped member fails with exit status 1.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{free_port, Node, FAST_TIMINGS};

const SYNC: &str = env!("CARGO_BIN_EXE_swim-protocol-sync");
const MEMBERS: usize = 20;
const DEADLINE: Duration = Duration::from_secs(30);

fn script(base: &Path, name: &str, body: &str) {
    let path = base.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Starts member `name` in `root/name`, its metadata key `role` set to `role`, with an
/// `on-event` that appends `NAME SENDER PAYLOAD` to `events` in its base directory and an
/// `on-query` that answers `PAYLOAD-ROLE`.
fn start(root: &Path, name: &str, peer: Option<&str>, role: &str) -> Node {
    let base = root.join(name);
    fs::create_dir_all(base.join(name)).unwrap();
    fs::write(base.join(name).join("role"), role).unwrap();
    let events = base.join("events");
    script(
        &base,
        "on-event",
        &format!("echo \"$1 $2 $(cat)\" >> {}", events.display()),
    );
    script(&base, "on-query", &format!("printf '%s-{role}' \"$(cat)\""));
    let log = root.join(format!("{name}.log"));
    let mut cmd = Command::new(SYNC);
    cmd.args(["--name", name, "--secret", "messaging-e2e"]);
    if let Some(peer) = peer {
        cmd.args(["--peer", peer]);
    }
    cmd.args(FAST_TIMINGS)
        .arg(&base)
        .env("RUST_LOG", "info")
        .env_remove("SWIM_CONTROL")
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap());
    Node::spawn(name, base, log, &mut cmd)
}

/// Runs `swim-protocol-sync ARGS --control BASE/.control` for `node`.
fn ask(node: &Node, args: &[&str]) -> std::process::Output {
    Command::new(SYNC)
        .args(args)
        .arg("--control")
        .arg(node.base.join(".control"))
        .env_remove("SWIM_CONTROL")
        .output()
        .unwrap()
}

#[test]
fn twenty_members_events_queries_and_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let names: Vec<String> = (0..MEMBERS)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let role = |i: usize| if i % 2 == 1 { "db" } else { "web" };
    let mut nodes: Vec<Node> = names
        .iter()
        .enumerate()
        .map(|(i, name)| start(root, name, (i > 0).then(|| names[0].as_str()), role(i)))
        .collect();
    support::wait_until(
        &nodes,
        DEADLINE,
        Duration::from_millis(50),
        "all see all",
        || {
            nodes
                .iter()
                .all(|n| n.links(".online").len() == MEMBERS - 1)
        },
    );

    let published = ask(&nodes[0], &["event", "deploy", "v2"]);
    assert!(published.status.success(), "{published:?}");
    let expected = format!("deploy {} v2", names[0]);
    support::wait_until(
        &nodes,
        DEADLINE,
        Duration::from_millis(50),
        "the event everywhere",
        || {
            nodes.iter().all(|n| {
                fs::read_to_string(n.base.join("events")).is_ok_and(|e| e.trim() == expected)
            })
        },
    );

    let asked = ask(
        &nodes[0],
        &[
            "query",
            "shard",
            "7",
            "--filter",
            "role=db",
            "--ack",
            "--timeout",
            "3",
        ],
    );
    assert!(asked.status.success(), "{asked:?}");
    let out = String::from_utf8(asked.stdout).unwrap();
    let db: BTreeSet<&str> = (0..MEMBERS)
        .filter(|&i| role(i) == "db")
        .map(|i| names[i].as_str())
        .collect();
    let answered = |kind: &str| -> Vec<&str> {
        out.lines()
            .filter(|line| line.starts_with(kind))
            .map(|line| line.split(' ').nth(1).unwrap())
            .collect()
    };
    let responses: Vec<&str> = out.lines().filter(|l| l.starts_with("response ")).collect();
    assert_eq!(responses.len(), db.len(), "{out}");
    assert!(responses.iter().all(|l| l.ends_with(" 7-db")), "{out}");
    assert_eq!(
        answered("response ").into_iter().collect::<BTreeSet<_>>(),
        db,
        "{out}"
    );
    assert_eq!(
        answered("ack ").into_iter().collect::<BTreeSet<_>>(),
        db,
        "{out}"
    );

    let stopped = nodes.pop().unwrap();
    let target = stopped.name.clone();
    drop(stopped); // killed
    let sent = ask(&nodes[0], &["send", &target, "hi", "--reliable"]);
    assert_eq!(sent.status.code(), Some(1), "{sent:?}");
    assert!(!sent.stderr.is_empty());
}
