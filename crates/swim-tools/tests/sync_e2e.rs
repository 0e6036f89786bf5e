//! End to end: real `swim-protocol-sync` processes on loopback, observed through their
//! directories.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{free_port, Node, FAST_TIMINGS, STATUS_DIRS};

const DEADLINE: Duration = Duration::from_secs(20);

impl Node {
    fn start(root: &Path, name: &str, peers: &[&str], extra: &[&str]) -> Node {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_swim-protocol-sync"));
        cmd.args(["--name", name, "--secret", "e2e-secret"]);
        for peer in peers {
            cmd.args(["--peer", peer]);
        }
        let (base, log) = (root.join(name), root.join(format!("{name}.log")));
        cmd.args(FAST_TIMINGS)
            .args(["--watch-delay", "0.05"])
            .args(extra)
            .arg(&base)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        Node::spawn(name, base, log, &mut cmd)
    }

    /// Waits for the process to exit after a signal.
    fn wait_exit(&mut self) -> ExitStatus {
        let failure = format!("{} did not exit", self.name);
        let child = self.child.as_mut().unwrap();
        let status = child.wait_exit(DEADLINE, Duration::from_millis(20), &failure);
        self.child = None;
        status
    }
}

fn wait_until(nodes: &[&Node], what: &str, cond: impl FnMut() -> bool) {
    support::wait_until(nodes, DEADLINE, Duration::from_millis(20), what, cond);
}

fn names(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn write_atomically(path: &Path, contents: &str) {
    let temp = path.with_extension("partial~");
    fs::write(&temp, contents).unwrap();
    fs::rename(&temp, path).unwrap();
}

#[test]
fn three_members_share_files_statuses_and_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let [a, b, c] = [free_port(), free_port(), free_port()].map(|p| format!("127.0.0.1:{p}"));
    // Local files present before start are the initial metadata.
    for (name, contents) in [(&a, "from a"), (&b, "from b")] {
        fs::create_dir_all(root.join(name).join(name)).unwrap();
        fs::write(root.join(name).join(name).join("greeting"), contents).unwrap();
    }
    // c runs a hook that logs its arguments.
    let hook_log = root.join("hook.log");
    fs::create_dir_all(root.join(&c)).unwrap();
    let hook = root.join(&c).join("on-update");
    fs::write(
        &hook,
        format!("#!/bin/sh\necho \"$1 $2 $3\" >> {}\n", hook_log.display()),
    )
    .unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();

    let node_a = Node::start(root, &a, &[&b], &["--no-watch"]);
    let node_b = Node::start(root, &b, &[&a], &[]);
    let node_c = Node::start(root, &c, &[&a], &[]);
    let all = [&node_a, &node_b, &node_c];

    // Everyone sees the two others online, with their files, and the layout is the seed's.
    for node in all {
        let others: BTreeSet<_> = [&a, &b, &c]
            .into_iter()
            .filter(|n| **n != node.name)
            .cloned()
            .collect();
        wait_until(&all, &format!("{} sees all online", node.name), || {
            node.links(".online") == others && node.links(".available") == others
        });
        assert_eq!(
            fs::read_link(node.base.join(".local")).unwrap(),
            Path::new(&node.name)
        );
        assert_eq!(
            fs::read_link(node.base.join(".online").join(others.first().unwrap())).unwrap(),
            Path::new("..").join(others.first().unwrap())
        );
    }
    for node in [&node_b, &node_c] {
        wait_until(&all, "a's greeting", || {
            node.remote_file(&a, "greeting").as_deref() == Some("from a")
        });
    }
    wait_until(&all, "b's greeting", || {
        node_c.remote_file(&b, "greeting").as_deref() == Some("from b")
    });

    // The hook ran on c with NAME STATUS DIR.
    let expected_line = format!("{a} ONLINE {}", root.join(&c).join(&a).display());
    wait_until(&all, "the hook line", || {
        fs::read_to_string(&hook_log)
            .unwrap_or_default()
            .lines()
            .any(|l| l == expected_line)
    });

    // a only reads on SIGHUP.
    write_atomically(&node_a.local_file("greeting"), "hello again");
    fs::write(node_a.local_file("added"), "new key").unwrap();
    node_a.signal(Signal::SIGHUP);
    for node in [&node_b, &node_c] {
        wait_until(&all, "a's SIGHUP'd change", || {
            node.remote_file(&a, "greeting").as_deref() == Some("hello again")
                && node.remote_file(&a, "added").as_deref() == Some("new key")
        });
    }
    // A file over the size limit is an error: the previous metadata stays until it is fixed.
    fs::write(node_a.local_file("big"), vec![b'x'; 70_000]).unwrap();
    write_atomically(&node_a.local_file("greeting"), "after the fix");
    node_a.signal(Signal::SIGHUP);
    wait_until(&all, "a's size error", || {
        node_a.logs().contains("over the size limit")
    });
    assert_eq!(
        node_c.remote_file(&a, "greeting").as_deref(),
        Some("hello again")
    );
    assert!(node_c.remote_file(&a, "big").is_none());
    fs::remove_file(node_a.local_file("big")).unwrap();
    node_a.signal(Signal::SIGHUP);
    for node in [&node_b, &node_c] {
        wait_until(&all, "a's fixed change", || {
            node.remote_file(&a, "greeting").as_deref() == Some("after the fix")
        });
    }
    // b's edits are noticed without a signal; editor leftovers and dotfiles are not metadata.
    fs::write(node_b.local_file("edited"), "by inotify").unwrap();
    fs::write(node_b.local_file("edited~"), "backup").unwrap();
    fs::write(node_b.local_file(".hidden"), "hidden").unwrap();
    wait_until(&all, "b's edit", || {
        node_c.remote_file(&b, "edited").as_deref() == Some("by inotify")
    });
    fs::remove_file(node_b.local_file("greeting")).unwrap();
    wait_until(&all, "b's removed key", || {
        node_c.remote_file(&b, "greeting").is_none()
    });
    let b_files: BTreeSet<_> = fs::read_dir(node_a.base.join(&b))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    wait_until(&all, "b's files on a", || {
        node_a.remote_file(&b, "greeting").is_none()
    });
    assert!(
        !b_files.contains("edited~") && !b_files.contains(".hidden"),
        "{b_files:?}"
    );

    // Kill b: the others list it as suspect, then offline.
    node_b.signal(Signal::SIGKILL);
    for node in [&node_a, &node_c] {
        wait_until(&all, "b suspect", || {
            node.links(".suspect").contains(&b) || node.links(".offline").contains(&b)
        });
    }
    let mut saw_suspect = [&node_a, &node_c]
        .iter()
        .any(|n| n.links(".suspect").contains(&b));
    for node in [&node_a, &node_c] {
        wait_until(&all, "b offline", || {
            saw_suspect |= node.links(".suspect").contains(&b);
            node.links(".offline") == names(&[&b])
        });
        assert_eq!(node.links(".unavailable"), names(&[&b]));
        assert!(!node.links(".online").contains(&b) && !node.links(".available").contains(&b));
    }
    assert!(saw_suspect, "b went through SUSPECT");
    wait_until(&all, "the hook saw b offline", || {
        fs::read_to_string(&hook_log)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with(&format!("{b} OFFLINE ")))
    });
}

#[test]
fn a_clean_exit_undoes_the_mirror_and_a_crashed_directory_is_reconciled() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let [a, b] = [free_port(), free_port()].map(|p| format!("127.0.0.1:{p}"));
    // a's directory looks like a crashed run's: a ghost member with links and files.
    let base_a = root.join(&a);
    for sub in STATUS_DIRS {
        fs::create_dir_all(base_a.join(sub)).unwrap();
    }
    std::os::unix::fs::symlink("../ghost:1", base_a.join(".online/ghost:1")).unwrap();
    std::os::unix::fs::symlink("../ghost:1", base_a.join(".available/ghost:1")).unwrap();
    fs::create_dir_all(base_a.join("ghost:1")).unwrap();
    fs::write(base_a.join("ghost:1/stale"), "old").unwrap();
    std::os::unix::fs::symlink("ghost:1", base_a.join(".local")).unwrap();
    fs::create_dir_all(base_a.join(&a)).unwrap();
    fs::write(base_a.join(&a).join("key"), "value").unwrap();

    // b takes its settings from the environment.
    let mut node_a = Node::start(root, &a, &[&b], &[]);
    let node_b = {
        let base = root.join(&b);
        let log = root.join("b.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_swim-protocol-sync"));
        cmd.env("SWIM_NAME", &b)
            .env("SWIM_PEERS", &a)
            .env("SWIM_SECRET", "e2e-secret")
            .args(FAST_TIMINGS)
            .arg(&base)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap());
        Node::spawn(&b, base, log, &mut cmd)
    };
    let all = [&node_a, &node_b];
    wait_until(&all, "a and b see each other", || {
        node_a.links(".online") == names(&[&b]) && node_b.links(".online") == names(&[&a])
    });
    wait_until(&all, "a's key on b", || {
        node_b.remote_file(&a, "key").as_deref() == Some("value")
    });
    assert_eq!(fs::read_link(base_a.join(".local")).unwrap(), Path::new(&a));
    assert!(!base_a.join("ghost:1/stale").exists());
    assert!(node_a.links(".available") == names(&[&b]));

    fs::write(node_a.local_file("later"), "x").unwrap();
    wait_until(&all, "a's later key on b", || {
        node_b.remote_file(&a, "later").is_some()
    });
    node_b.signal(Signal::SIGTERM);
    node_a.signal(Signal::SIGINT);
    assert!(node_a.wait_exit().success(), "{}", node_a.logs());
    assert!(
        !base_a.join(".local").exists() && fs::symlink_metadata(base_a.join(".local")).is_err()
    );
    for sub in STATUS_DIRS {
        assert!(node_a.links(sub).is_empty(), "{sub} emptied");
    }
    assert_eq!(
        fs::read_dir(base_a.join(&b)).unwrap().count(),
        0,
        "b's files removed"
    );
    assert_eq!(
        fs::read_to_string(base_a.join(&a).join("key")).unwrap(),
        "value",
        "local files kept"
    );
}
