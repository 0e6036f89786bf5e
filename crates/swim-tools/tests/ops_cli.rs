//! The operations options of the real binaries: two `swim-protocol-sync` members with
//! `--metrics-addr` and `--log-format json`, asked with `swim-protocol-sync members`;
//! completions and man pages.

mod support;

use std::fs::File;
use std::process::Command;
use std::time::Duration;

use support::{free_address, wait_until, Node, FAST_TIMINGS};
use swim_tools::ops::members::MembersDoc;

const SYNC: &str = env!("CARGO_BIN_EXE_swim-protocol-sync");
const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");

/// Runs `swim-protocol-sync members ARGS`; its standard output, or `None` if it failed.
fn members(http: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(SYNC)
        .args(["members", "--addr", http])
        .args(args)
        .output()
        .expect("members runs");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).expect("utf-8"))
}

#[test]
fn members_query_lists_the_cluster_from_a_running_member() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (name1, name2) = (free_address(), free_address());
    let (http1, http2) = (free_address(), free_address());
    let start = |name: &str, peer: &str, http: &str, n: &str| {
        let base = dir.path().join(n);
        let log = dir.path().join(format!("{n}.log"));
        let mut cmd = Command::new(SYNC);
        cmd.args(["--name", name, "--peer", peer, "--secret", "ops"])
            .args(FAST_TIMINGS)
            .args(["--metrics-addr", http, "--log-format", "json"])
            .arg(&base)
            .env_remove("RUST_LOG")
            .stdout(File::create(&log).expect("log"))
            .stderr(File::create(&log).expect("log"));
        Node::spawn(name, base, log, &mut cmd)
    };
    let nodes = [
        start(&name1, &name2, &http1, "n1"),
        start(&name2, &name1, &http2, "n2"),
    ];
    let both_online = || {
        members(&http1, &["--format", "json", "--status", "online"])
            .and_then(|json| serde_json::from_str::<MembersDoc>(&json).ok())
            .is_some_and(|doc| doc.members.len() == 2)
    };
    wait_until(
        &nodes,
        Duration::from_secs(20),
        Duration::from_millis(100),
        "both ONLINE",
        both_online,
    );

    let table = members(&http1, &[]).expect("table");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("NAME"));
    assert!(table.contains(&format!("{name1} (local)")));
    assert!(
        lines.iter().skip(1).all(|l| l.contains("ONLINE")),
        "{table}"
    );
    let offline = members(&http1, &["--status", "offline"]).expect("filtered");
    assert_eq!(offline.lines().count(), 1, "only the header: {offline}");
    assert!(
        members(&http1, &["--status", "busy"]).is_none(),
        "bad status refused"
    );

    // Logs are JSON lines, and the peer joining was one info line saying why.
    wait_until(
        &nodes,
        Duration::from_secs(10),
        Duration::from_millis(100),
        "join logged",
        || nodes[0].logs().contains("joined"),
    );
    let logs = nodes[0].logs();
    for line in logs.lines() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value.get("level").is_some(), "{line}");
    }
    assert!(
        logs.lines().any(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("json");
            value["fields"]["member"] == name2.as_str() && value["fields"]["to"] == "ONLINE"
        }),
        "{logs}"
    );
}

#[test]
fn a_taken_metrics_address_fails_at_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bound");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(SYNC)
        .args(["--name", &free_address(), "--metrics-addr", &addr])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--metrics-addr"), "{stderr}");
}

#[test]
fn completions_and_man_pages_come_from_the_clap_definitions() {
    for (binary, name) in [(SYNC, "swim-protocol-sync"), (DEMO, "swim-protocol-demo")] {
        let run = |args: &[&str]| {
            let out = Command::new(binary).args(args).output().expect("runs");
            assert!(out.status.success(), "{name} {args:?} failed");
            String::from_utf8(out.stdout).expect("utf-8")
        };
        let bash = run(&["completions", "bash"]);
        assert!(
            bash.contains("--metrics-addr") && bash.contains("complete -F"),
            "{name}"
        );
        let zsh = run(&["completions", "zsh"]);
        assert!(zsh.starts_with(&format!("#compdef {name}")), "{name}");
        let man = run(&["man"]);
        assert!(man.contains(&format!(".TH {name} 1")), "{name}");
        assert!(man.contains("metrics\\-addr"), "{name}");
    }
}
