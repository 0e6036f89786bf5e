//! Helpers shared by the workspace's tests: free loopback ports, child processes killed when
//! dropped, polling with a deadline, and the Python package's virtualenv. Dev-only.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::net::{TcpListener, UdpSocket};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A port free on 127.0.0.1 for both UDP and TCP at the time of asking.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on loopback");
        let port = udp
            .local_addr()
            .expect("a bound socket has an address")
            .port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `127.0.0.1:PORT` on a free port.
pub fn free_address() -> String {
    format!("127.0.0.1:{}", free_port())
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

/// A child process, killed (and reaped) when dropped, so a failing test leaves none behind.
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// Sends `signal` to the process.
    pub fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.0.id()).expect("process ids fit in i32");
        kill(Pid::from_raw(pid), signal).expect("signal the child");
    }

    /// Polls every `every` for the process to exit; fails with `failure` after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration, every: Duration, failure: &str) -> ExitStatus {
        poll_for(timeout, every, || {
            self.0.try_wait().expect("poll the child")
        })
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
