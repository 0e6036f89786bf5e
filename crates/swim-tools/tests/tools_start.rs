//! Both commands behave alike at start: a transient start error (here a discovery name that
//! does not resolve) is retried and logged instead of ending the process; a configuration
//! error exits 2 with each cause said once; logs sent to a file carry no colour codes; SIGTERM
//! while waiting to start exits 0.

mod support;

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{free_port, poll_for, ChildGuard};

const SYNC: &str = env!("CARGO_BIN_EXE_swim-protocol-sync");
const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");

/// The command line of `tool` with the given member options (the sync tool also gets a
/// directory).
fn command(tool: &str, dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(tool);
    cmd.args(args).env_remove("RUST_LOG").env_remove("NO_COLOR");
    if tool == SYNC {
        cmd.arg(dir);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    cmd
}

#[test]
fn a_discovery_name_that_does_not_resolve_is_retried_until_stopped() {
    for tool in [SYNC, DEMO] {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("stderr.log");
        let name = format!("no-such-host.invalid:{}", free_port());
        let mut cmd = command(
            tool,
            &dir.path().join("mirror"),
            &["--udp-discovery", "--name", &name, "--secret", "s"],
        );
        cmd.stderr(File::create(&log_path).unwrap());
        let mut child = ChildGuard(cmd.spawn().unwrap());
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let retried = poll_for(Duration::from_secs(30), Duration::from_millis(100), || {
            log().contains("retrying in").then_some(())
        });
        assert!(retried.is_some(), "{tool}: no retry logged:\n{}", log());
        assert_eq!(child.try_wait().unwrap(), None, "{tool} exited:\n{}", log());
        child.signal(Signal::SIGTERM);
        let status = child.wait_exit(
            Duration::from_secs(10),
            Duration::from_millis(50),
            "stops on SIGTERM while waiting to start",
        );
        assert_eq!(status.code(), Some(0), "{tool}:\n{}", log());
        let log = log();
        assert!(log.contains("no-such-host.invalid"), "{tool}: {log}");
        assert!(
            !log.contains('\x1b'),
            "{tool}: colour codes in a file: {log:?}"
        );
    }
}

#[test]
fn a_configuration_error_exits_2_and_says_each_thing_once() {
    for tool in [SYNC, DEMO] {
        let dir = tempfile::tempdir().unwrap();
        let out = command(
            tool,
            &dir.path().join("mirror"),
            &[
                "--name",
                "127.0.0.1:1",
                "--peer",
                "127.0.0.1:99999",
                "--secret",
                "s",
            ],
        )
        .stderr(Stdio::piped())
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(2), "{tool}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.matches("99999").count(), 2, "{tool}: {err}");
        assert!(
            err.contains(r#"peer "127.0.0.1:99999": port "99999" is not a number"#),
            "{tool}: {err}"
        );
        assert!(!err.contains('\x1b'), "{tool}: {err:?}");
    }
}

#[test]
fn version_names_the_command() {
    for (tool, name) in [(SYNC, "swim-protocol-sync"), (DEMO, "swim-protocol-demo")] {
        let out = Command::new(tool).arg("--version").output().unwrap();
        let version = String::from_utf8_lossy(&out.stdout);
        assert!(version.starts_with(&format!("{name} ")), "{version}");
    }
}

#[test]
fn help_states_the_exit_statuses() {
    for tool in [SYNC, DEMO] {
        let out = Command::new(tool).arg("--help").output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Exit status: 0"), "{tool}: {help}");
    }
}

#[test]
fn the_demo_stops_cleanly_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let name = format!("127.0.0.1:{}", free_port());
    let mut cmd = command(DEMO, dir.path(), &["--name", &name, "--secret", "s"]);
    cmd.stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::null());
    let mut child = ChildGuard(cmd.spawn().unwrap());
    // Plain mode prints the member list once the member runs.
    let started = poll_for(Duration::from_secs(30), Duration::from_millis(50), || {
        let out = std::fs::read_to_string(&out_path).unwrap_or_default();
        out.contains(&name).then_some(())
    });
    assert!(started.is_some(), "the demo did not start");
    child.signal(Signal::SIGHUP);
    let status = child.wait_exit(
        Duration::from_secs(10),
        Duration::from_millis(50),
        "stops on SIGHUP",
    );
    assert_eq!(status.code(), Some(0), "{status:?}");
}
