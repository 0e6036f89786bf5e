//! The `on-update` hook runner with real scripts: arguments, timeouts, failures, queueing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use swim_protocol::Status;
use swim_tools::sync::hook::{run_hook, HookCall, HookOutcome, HookRunner};

const DEADLINE: Duration = Duration::from_secs(10);

fn script(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("on-update");
    // Written under another name then renamed, so that no process holds it open for writing
    // when it is started.
    let temp = dir.join(".on-update.tmp");
    fs::write(&temp, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&temp, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&temp, &path).unwrap();
    path
}

fn call(member: &str, status: Status) -> HookCall {
    HookCall {
        member: member.to_owned(),
        status,
        dir: PathBuf::from("/base").join(member),
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn log_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn is_dead(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn the_hook_gets_name_status_and_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let hook = script(
        tmp.path(),
        &format!("echo \"$1|$2|$3|$#\" >> {}", log.display()),
    );
    let runner = HookRunner::start(hook, Duration::from_secs(5));
    runner.enqueue(call("127.0.0.1:2002", Status::Suspect));
    wait_until("the hook's line", || !log_lines(&log).is_empty()).await;
    assert_eq!(
        log_lines(&log),
        ["127.0.0.1:2002|SUSPECT|/base/127.0.0.1:2002|3"]
    );
    runner.stop().await;
}

#[tokio::test]
async fn a_hanging_hook_is_killed_with_its_children_and_the_queue_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let pid_file = tmp.path().join("pid");
    let body = format!(
        "echo \"$1\" >> {log}\nif [ \"$1\" = hang ]; then sleep 30 & echo $! > {pid}; wait; fi",
        log = log.display(),
        pid = pid_file.display()
    );
    let hook = script(tmp.path(), &body);
    let runner = HookRunner::start(hook, Duration::from_millis(300));
    runner.enqueue(call("hang", Status::Online));
    runner.enqueue(call("next", Status::Online));
    wait_until("the next hook", || log_lines(&log) == ["hang", "next"]).await;
    let pid = fs::read_to_string(&pid_file).unwrap();
    wait_until("the hook's child to die", || is_dead(pid.trim())).await;
    runner.stop().await;
}

#[tokio::test]
async fn a_failing_hook_does_not_stop_later_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let hook = script(
        tmp.path(),
        &format!("echo \"$1\" >> {}\nexit 3", log.display()),
    );
    let runner = HookRunner::start(hook, Duration::from_secs(5));
    runner.enqueue(call("a", Status::Online));
    runner.enqueue(call("b", Status::Offline));
    wait_until("both runs", || log_lines(&log) == ["a", "b"]).await;
    runner.stop().await;
}

#[tokio::test]
async fn waiting_calls_for_one_member_collapse_into_the_latest() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let release = tmp.path().join("release");
    let body = format!(
        "echo \"$1 $2\" >> {log}\nif [ \"$1\" = gate ]; then while [ ! -e {release} ]; do sleep 0.01; done; fi",
        log = log.display(),
        release = release.display()
    );
    let hook = script(tmp.path(), &body);
    let runner = HookRunner::start(hook, Duration::from_secs(20));
    runner.enqueue(call("gate", Status::Online));
    wait_until("the gate hook to start", || !log_lines(&log).is_empty()).await;
    runner.enqueue(call("a", Status::Online));
    runner.enqueue(call("b", Status::Online));
    runner.enqueue(call("a", Status::Suspect));
    runner.enqueue(call("a", Status::Offline));
    fs::write(&release, b"").unwrap();
    let expected = ["gate ONLINE", "a OFFLINE", "b ONLINE"];
    wait_until("the queued runs", || log_lines(&log).len() >= 3).await;
    assert_eq!(log_lines(&log), expected);
    runner.stop().await;
}

#[tokio::test]
async fn stopping_kills_a_running_hook_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("pid");
    let hook = script(
        tmp.path(),
        &format!("echo $$ > {}\nsleep 30", pid_file.display()),
    );
    let runner = HookRunner::start(hook, Duration::from_secs(60));
    runner.enqueue(call("a", Status::Online));
    wait_until("the hook to start", || {
        fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n'))
    })
    .await;
    let start = Instant::now();
    runner.stop().await;
    assert!(start.elapsed() < Duration::from_secs(5));
    let pid = fs::read_to_string(&pid_file).unwrap();
    wait_until("the hook to die", || is_dead(pid.trim())).await;
}

#[tokio::test]
async fn an_absent_or_non_executable_hook_is_not_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (_stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let hook = tmp.path().join("on-update");
    let outcome = run_hook(&hook, &call("a", Status::Online), DEADLINE, &mut stop_rx).await;
    assert!(matches!(outcome, HookOutcome::Absent), "{outcome:?}");
    fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    let outcome = run_hook(&hook, &call("a", Status::Online), DEADLINE, &mut stop_rx).await;
    assert!(matches!(outcome, HookOutcome::NotExecutable), "{outcome:?}");
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let outcome = run_hook(&hook, &call("a", Status::Online), DEADLINE, &mut stop_rx).await;
    assert!(
        matches!(outcome, HookOutcome::Exited(status) if status.success()),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn calls_waiting_when_the_hook_is_absent_are_dropped_with_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let runner = HookRunner::start(tmp.path().join("on-update"), DEADLINE);
    for member in ["a", "b", "c", "d"] {
        runner.enqueue(call(member, Status::Online));
    }
    wait_until("the queue to empty", || runner.waiting() == 0).await;
    script(tmp.path(), &format!("echo \"$1\" >> {}", log.display()));
    runner.enqueue(call("e", Status::Online));
    wait_until("the hook's line", || !log_lines(&log).is_empty()).await;
    assert_eq!(
        log_lines(&log),
        ["e"],
        "only the call made once the hook is there"
    );
    runner.stop().await;
}
