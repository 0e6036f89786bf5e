//! Helpers shared by the end-to-end tests: free loopback ports, child processes killed when
//! dropped, polling with a deadline, and the Python package's virtualenv.
#![allow(dead_code, unused_imports)] // each test file uses a subset

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
pub use swim_test_support::{free_address, free_port, poll_for, python_venv_file, ChildGuard};

/// Short protocol timings for our `swim-protocol-sync`, so that a failure is detected within
/// seconds.
pub const FAST_TIMINGS: [&str; 10] = [
    "--ping-interval",
    "0.3",
    "--ping-timeout",
    "0.2",
    "--ping-req-timeout",
    "0.5",
    "--suspect-timeout",
    "1.5",
    "--sync-interval",
    "0.2",
];

/// The status directories of a synced directory, each holding links to its members.
pub const STATUS_DIRS: [&str; 5] = [
    ".online",
    ".suspect",
    ".offline",
    ".available",
    ".unavailable",
];

/// A running `swim-protocol-sync` member (ours or the Python package's), observed through its
/// directory; killed when dropped.
pub struct Node {
    pub name: String,
    pub base: PathBuf,
    pub log: PathBuf,
    pub child: Option<ChildGuard>,
}

impl Node {
    /// Starts `cmd` (its output already directed) as member `name` mirrored into `base`.
    pub fn spawn(name: &str, base: PathBuf, log: PathBuf, cmd: &mut Command) -> Node {
        let child = cmd.stdin(Stdio::null()).spawn().expect("start a member");
        Node {
            name: name.to_owned(),
            base,
            log,
            child: Some(ChildGuard(child)),
        }
    }

    /// Sends `signal` to the running process.
    pub fn signal(&self, signal: Signal) {
        self.child.as_ref().expect("running").signal(signal);
    }

    /// Kills the process, if running.
    pub fn kill(&mut self) {
        self.child = None;
    }

    /// The members linked in `status_dir` (`.online`, `.suspect`, ...).
    pub fn links(&self, status_dir: &str) -> BTreeSet<String> {
        fs::read_dir(self.base.join(status_dir))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The file `key` of a member's local directory.
    pub fn local_file(&self, key: &str) -> PathBuf {
        self.base.join(&self.name).join(key)
    }

    /// The mirrored value of `member`'s `key`, if present.
    pub fn remote_file(&self, member: &str, key: &str) -> Option<String> {
        fs::read_to_string(self.base.join(member).join(key)).ok()
    }

    /// What the process has logged so far.
    pub fn logs(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Polls `cond` every `every`; after `timeout` prints every member's state and log, and fails.
pub fn wait_until<N: Borrow<Node>>(
    nodes: &[N],
    timeout: Duration,
    every: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
) {
    let start = Instant::now();
    if poll_for(timeout, every, || cond().then_some(())).is_none() {
        for node in nodes.iter().map(Borrow::borrow) {
            eprintln!(
                "--- {}: online {:?} suspect {:?} offline {:?}\n{}",
                node.name,
                node.links(".online"),
                node.links(".suspect"),
                node.links(".offline"),
                node.logs()
            );
        }
        panic!("timed out waiting until {what}");
    }
    eprintln!("{what}: {:.2} s", start.elapsed().as_secs_f64());
}
pub mod served;
