//! Helpers shared by the end-to-end tests: free loopback ports, child processes killed when
//! dropped, polling with a deadline, and the Python package's virtualenv.
#![allow(dead_code)] // each test file uses a subset

use std::borrow::Borrow;
use std::collections::BTreeSet;
use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

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

/// A port free on 127.0.0.1 for both UDP and TCP at the time of asking.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `127.0.0.1:PORT` on a free port.
pub fn free_address() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// A child process, killed (and reaped) when dropped, so a failing test leaves none behind.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.0.id()).unwrap();
        kill(Pid::from_raw(pid), signal).unwrap();
    }

    /// Polls every `every` for the process to exit; fails with `failure` after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration, every: Duration, failure: &str) -> ExitStatus {
        poll_for(timeout, every, || self.0.try_wait().unwrap())
            .unwrap_or_else(|| panic!("{failure}"))
    }
}

impl Deref for ChildGuard {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Calls `probe` every `every` until it returns a value; `None` once `timeout` has passed.
pub fn poll_for<T>(
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// A file of the Python package's virtualenv (`$SWIM_PY_VENV`, default `/tmp/pyswim`), or
/// `None` with a notice when it is missing; a failure instead when `SWIM_REQUIRE_PY=1` (CI).
pub fn python_venv_file(relative: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("SWIM_PY_VENV").unwrap_or_else(|| "/tmp/pyswim".into());
    let path = Path::new(&venv).join(relative);
    if path.exists() {
        return Some(path);
    }
    let required = std::env::var("SWIM_REQUIRE_PY").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "SWIM_REQUIRE_PY=1 but {} is missing (set SWIM_PY_VENV)",
        path.display()
    );
    eprintln!(
        "NOTICE: skipping: {} not found (set SWIM_PY_VENV)",
        path.display()
    );
    None
}

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
