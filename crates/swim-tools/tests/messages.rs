//! The messages a new user meets, on the binaries: each names the path or address it is
//! about, says each cause once, and ends the process with the documented status (0 stopped by
//! a signal, 1 a runtime failure, 2 a usage or configuration error); the start line says
//! where the member is and what it waits for; a local edit is logged by key; a watch that
//! hits a limit names it; a second member on a base directory names the control socket.

mod support;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{free_address, poll_for, ChildGuard};

const SYNC: &str = env!("CARGO_BIN_EXE_swim-protocol-sync");
const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");

/// Runs `tool` to its end with `args` (the sync tool also gets `dir`), stdin closed.
fn run(tool: &str, args: &[&str], dir: &Path) -> Output {
    let mut cmd = Command::new(tool);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("SWIM_METRICS_ADDR")
        .stdin(Stdio::null());
    if tool == SYNC {
        cmd.arg(dir);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The last line the process wrote to standard error (its error, after any log lines).
fn last_line(out: &Output) -> String {
    stderr(out).lines().last().unwrap_or_default().to_owned()
}

#[test]
fn a_metrics_address_without_a_port_is_a_usage_error() {
    for tool in [SYNC, DEMO] {
        let dir = tempfile::tempdir().unwrap();
        let name = free_address();
        let out = run(
            tool,
            &[
                "--name",
                &name,
                "--secret",
                "s",
                "--metrics-addr",
                "localhost",
            ],
            &dir.path().join("m"),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{tool}: {err}");
        assert!(
            err.contains("invalid value 'localhost' for '--metrics-addr <HOST:PORT>'")
                && err.contains("expected HOST:PORT, such as 127.0.0.1:9100"),
            "{tool}: {err}"
        );
    }
}

#[test]
fn a_base_directory_that_cannot_be_created_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let base = file.join("mirror");
    let name = free_address();
    let out = run(SYNC, &["--name", &name, "--secret", "s"], &base);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let cause = std::io::Error::from_raw_os_error(20).to_string(); // ENOTDIR
    assert_eq!(
        last_line(&out),
        format!(
            "swim-protocol-sync: cannot create the base directory {}: {cause}",
            base.display()
        )
    );
}

#[test]
fn a_local_file_that_cannot_be_read_is_named_and_its_cause_said_once() {
    // Run as root, a mode cannot make a file unreadable; a symlink to itself can (ELOOP),
    // through the same path as EACCES.
    let dir = tempfile::tempdir().unwrap();
    let name = free_address();
    let local = dir.path().join(&name);
    std::fs::create_dir_all(&local).unwrap();
    let entry = local.join("loop");
    std::os::unix::fs::symlink(&entry, &entry).unwrap();
    let out = run(SYNC, &["--name", &name, "--secret", "s"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let cause = std::io::Error::from_raw_os_error(40).to_string(); // ELOOP
    assert_eq!(
        last_line(&out),
        format!("swim-protocol-sync: {}: {cause}", entry.display())
    );
}

#[test]
fn a_taken_udp_port_is_named_with_its_address() {
    for tool in [SYNC, DEMO] {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let out = run(
            tool,
            &["--name", &addr, "--secret", "s"],
            &dir.path().join("m"),
        );
        assert_eq!(out.status.code(), Some(1), "{tool}: {}", stderr(&out));
        let cause = std::io::Error::from_raw_os_error(98).to_string(); // EADDRINUSE
        let line = last_line(&out);
        assert!(
            line.ends_with(&format!("cannot open sockets: UDP {addr}: {cause}")),
            "{tool}: {line}"
        );
        drop(taken);
    }
}

/// A running sync member with its standard error in a file.
struct Running {
    child: ChildGuard,
    log: std::path::PathBuf,
}

impl Running {
    fn start(base: &Path, name: &str, shell_prefix: &str) -> Running {
        let log = base.with_extension("log");
        let command =
            format!("{shell_prefix}exec \"$0\" --name {name} --secret s --watch-delay 0.05 \"$1\"");
        let child = Command::new("sh")
            .args(["-c", &command, SYNC])
            .arg(base)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Running {
            child: ChildGuard(child),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `text`, or the process ended (then `false`).
    fn wait_for(&mut self, text: &str) -> bool {
        poll_for(Duration::from_secs(20), Duration::from_millis(20), || {
            if self.log().contains(text) {
                Some(true)
            } else if self.child.try_wait().unwrap().is_some() {
                Some(false)
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("neither {text:?} nor an exit within 20 s:\n{}", self.log()))
    }

    fn stop(mut self) -> i32 {
        self.child.signal(Signal::SIGTERM);
        let status = self.child.wait_exit(
            Duration::from_secs(10),
            Duration::from_millis(20),
            "stops on SIGTERM",
        );
        status.code().expect("exited")
    }
}

#[test]
fn the_start_line_and_a_local_edit_are_each_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("mirror");
    let name = free_address();
    let mut member = Running::start(&base, &name, "");
    let started = format!(
        "member {name} started on {name} (UDP and TCP, native wire), mirroring the cluster \
         into {}; no peers: waiting for others to join it",
        base.display()
    );
    assert!(member.wait_for(&started), "{}", member.log());
    std::fs::write(base.join(&name).join("role"), "web").unwrap();
    assert!(
        member.wait_for("local metadata changed: role set (1 key in all)"),
        "{}",
        member.log()
    );
    std::fs::write(base.join(&name).join("zone"), "a").unwrap();
    std::fs::remove_file(base.join(&name).join("role")).unwrap();
    assert!(
        member.wait_for("local metadata changed: zone set; role removed (1 key in all)"),
        "{}",
        member.log()
    );
    let log = member.log();
    assert_eq!(member.stop(), 0, "{log}");
    assert!(!log.contains("1 keys"), "{log}");
}

#[test]
fn a_watch_that_runs_out_of_descriptors_names_the_inotify_limit() {
    // inotify fails with EMFILE when the user's instances (fs.inotify.max_user_instances)
    // or the process's descriptors are used up. The first cannot be exhausted here without
    // disturbing every other process of this user; the second can, for one process: raise
    // the descriptor limit one at a time until the member starts, and the first limit at
    // which it starts without a watch is the one where the watch failed.
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for limit in 8..64 {
        let base = dir.path().join(format!("m{limit}"));
        let name = free_address();
        let mut member = Running::start(&base, &name, &format!("ulimit -n {limit} && "));
        if !member.wait_for(" started on ") {
            seen.push(format!(
                "{limit}: {}",
                member.log().lines().last().unwrap_or("")
            ));
            continue; // too few descriptors to start at all
        }
        let log = member.log();
        let code = member.stop();
        if log.contains("cannot watch") {
            assert!(
                log.contains("Too many open files")
                    && log.contains("raise the sysctl fs.inotify.max_user_instances")
                    && log.contains("edits are read on SIGHUP only"),
                "{log}"
            );
            assert_eq!(code, 0, "{log}");
            return;
        }
        panic!("limit {limit}: started and watching, but no smaller limit failed the watch alone:\n{}\n{log}", seen.join("\n"));
    }
    panic!("never started:\n{}", seen.join("\n"));
}

#[test]
fn a_second_member_on_a_base_directory_names_the_control_socket_and_the_first_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("mirror");
    let name = free_address();
    let mut member = Running::start(&base, &name, "");
    assert!(member.wait_for(" started on "), "{}", member.log());
    let socket = base.join(".control");
    assert!(socket.exists());
    let second = run(SYNC, &["--name", &free_address(), "--secret", "s"], &base);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert_eq!(
        last_line(&second),
        format!(
            "swim-protocol-sync: control socket {}: another member is running there (stop it, \
             or choose another path with --control)",
            socket.display()
        )
    );
    let log = member.log();
    assert_eq!(member.stop(), 0, "{log}");
    assert!(!socket.exists(), "the socket is left behind");
}
