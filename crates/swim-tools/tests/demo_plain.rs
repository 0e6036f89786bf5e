//! End to end without a terminal: with standard output piped, the demo prints one line per
//! member and per change, reads no keyboard, and exits cleanly on SIGTERM and SIGINT.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{free_address, ChildGuard};

const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");
const DEADLINE: Duration = Duration::from_secs(20);

/// A demo process whose output lines arrive on a channel; killed if still running when dropped.
struct Demo {
    child: ChildGuard,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Demo {
    fn start(args: &[&str]) -> Demo {
        let mut child = Command::new(DEMO)
            .args(args)
            .args(["--secret", "e2e-test"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Demo {
            child: ChildGuard(child),
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for an output line matching `check` and returns it.
    fn wait_for_line(&mut self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(line) = self.seen.iter().find(|l| check(l)) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no {what} within {DEADLINE:?}; output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal_and_wait(&mut self, signal: Signal) -> ExitStatus {
        self.child.signal(signal);
        let failure = format!("still running {DEADLINE:?} after {signal}");
        self.child
            .wait_exit(DEADLINE, Duration::from_millis(50), &failure)
    }
}

#[test]
fn piped_output_prints_members_and_changes() {
    let (a, b) = (free_address(), free_address());
    let mut first = Demo::start(&["--name", &a, "--peer", &b, "--token-interval", "0.3"]);
    let mut second = Demo::start(&["--name", &b, "--peer", &a]);

    let local = first.wait_for_line("local member line", |l| {
        l.contains(&format!(">>> {a} ONLINE"))
    });
    assert!(local.contains("clock="), "{local}");
    // The first member's tokens reach the second, one printed change each.
    let token_line = |l: &str| l.contains(&a) && l.contains("token=") && !l.contains(">>>");
    let one = second.wait_for_line("token change from the first member", token_line);
    second.seen.retain(|l| l != &one);
    let two = second.wait_for_line("a second token change", token_line);
    assert_ne!(one, two, "the token did not change");
    let hex = two.rsplit("token=").next().unwrap();
    assert!(
        hex.len() >= 32 && hex[..32].chars().all(|c| c.is_ascii_hexdigit()),
        "{two}"
    );

    assert!(first.signal_and_wait(Signal::SIGTERM).success());
    assert!(second.signal_and_wait(Signal::SIGINT).success());
}

#[test]
fn an_event_published_through_the_control_socket_is_printed_and_the_socket_removed() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("demo.sock");
    let name = free_address();
    let control = socket.to_str().unwrap();
    let mut demo = Demo::start(&["--name", &name, "--control", control]);
    demo.wait_for_line("local member line", |l| l.contains(">>>"));
    let published = Command::new(DEMO)
        .args(["event", "deploy", "v2", "--control", control])
        .env_remove("SWIM_CONTROL")
        .output()
        .unwrap();
    assert!(published.status.success(), "{published:?}");
    let line = demo.wait_for_line("the event", |l| l.contains("event deploy"));
    assert!(line.contains(&name) && line.ends_with("v2"), "{line}");
    assert!(demo.signal_and_wait(Signal::SIGTERM).success());
    assert!(!socket.exists(), "the socket is left behind");
}
