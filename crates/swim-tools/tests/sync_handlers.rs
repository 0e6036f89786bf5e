//! The `on-event` and `on-query` handler scripts with real scripts: arguments and standard
//! input, responses, the size and time bounds, hostile names, the bounded queue.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use swim_tools::sync::handlers::{
    run_script, Handler, HandlerCall, HandlerLimits, Handlers, ScriptOutcome, ScriptPool,
    MAX_HANDLER_OUTPUT,
};
use tokio::sync::{oneshot, watch};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    // Written under another name then renamed: no process holds it open for writing when it
    // starts.
    let temp = dir.join(format!(".{name}.tmp"));
    fs::write(&temp, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&temp, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&temp, &path).unwrap();
    path
}

fn call(name: &str, sender: &str, payload: &[u8]) -> HandlerCall {
    HandlerCall {
        name: name.into(),
        sender: sender.into(),
        payload: payload.to_vec(),
        respond: None,
        within: None,
    }
}

async fn run(
    path: &Path,
    call: &HandlerCall,
    capture: Option<usize>,
    timeout: Duration,
) -> ScriptOutcome {
    let (_stop, mut stop_rx) = watch::channel(false);
    run_script(path, call, capture, timeout, &mut stop_rx).await
}

const LONG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn on_event_gets_name_and_sender_as_arguments_and_the_payload_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let body = format!(
        "printf '%s|%s|' \"$1\" \"$2\" >> {0}; cat >> {0}",
        log.display()
    );
    let on_event = script(dir.path(), "on-event", &body);
    let outcome = run(
        &on_event,
        &call("deploy", "[::1]:2001", b"v2\n\0x"),
        None,
        LONG,
    )
    .await;
    assert!(matches!(outcome, ScriptOutcome::Exited(status, None) if status.success()));
    assert_eq!(fs::read(&log).unwrap(), b"deploy|[::1]:2001|v2\n\0x");
}

#[tokio::test]
async fn on_query_output_is_the_response_only_when_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let on_query = script(dir.path(), "on-query", "cat; printf ' for %s' \"$2\"");
    let outcome = run(&on_query, &call("who", "a:1", b"shard 7"), Some(100), LONG).await;
    assert_eq!(outcome.response(), Some(b"shard 7 for a:1".to_vec()));
    let failing = script(dir.path(), "on-query", "echo partial; exit 3");
    let outcome = run(&failing, &call("who", "a:1", b""), Some(100), LONG).await;
    assert!(matches!(outcome, ScriptOutcome::Exited(ref status, _) if status.code() == Some(3)));
    assert_eq!(outcome.response(), None);
}

#[tokio::test]
async fn a_slow_on_query_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let body = format!("echo $$ > {}; exec sleep 30", pid_file.display());
    let slow = script(dir.path(), "on-query", &body);
    let start = Instant::now();
    let timeout = Duration::from_millis(300);
    let outcome = run(&slow, &call("who", "a:1", b""), Some(100), timeout).await;
    assert!(
        matches!(outcome, ScriptOutcome::TimedOut(t) if t == timeout),
        "{outcome:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let pid = fs::read_to_string(&pid_file).unwrap();
    let stat = fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "still running: {stat}"
    );
}

#[tokio::test]
async fn a_verbose_on_query_is_cut_at_its_size_and_gives_no_response() {
    let dir = tempfile::tempdir().unwrap();
    let endless = script(dir.path(), "on-query", "exec yes");
    let start = Instant::now();
    let outcome = run(
        &endless,
        &call("who", "a:1", b""),
        Some(MAX_HANDLER_OUTPUT),
        LONG,
    )
    .await;
    assert!(
        matches!(outcome, ScriptOutcome::TooMuchOutput(MAX_HANDLER_OUTPUT)),
        "{outcome:?}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let exact = format!("head -c {MAX_HANDLER_OUTPUT} /dev/zero");
    let just = script(dir.path(), "on-query", &exact);
    let outcome = run(
        &just,
        &call("who", "a:1", b""),
        Some(MAX_HANDLER_OUTPUT),
        LONG,
    )
    .await;
    assert_eq!(
        outcome.response().map(|r| r.len()),
        Some(MAX_HANDLER_OUTPUT)
    );
}

#[tokio::test]
async fn hostile_names_never_reach_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let on_event = script(
        dir.path(),
        "on-event",
        &format!("touch {}", marker.display()),
    );
    for (name, sender) in [
        ("$(id)", "a:1"),
        ("-rf", "a:1"),
        ("ok", "a b;c"),
        ("ok", "--x"),
    ] {
        let outcome = run(&on_event, &call(name, sender, b""), None, LONG).await;
        assert!(
            matches!(outcome, ScriptOutcome::Refused(_)),
            "{name} {sender}: {outcome:?}"
        );
    }
    assert!(!marker.exists());
}

#[tokio::test]
async fn the_pool_bounds_its_queue_counts_drops_and_answers_queries() {
    let dir = tempfile::tempdir().unwrap();
    let limits = HandlerLimits {
        queue: 2,
        concurrency: 1,
        ..HandlerLimits::default()
    };
    let absent = ScriptPool::start(dir.path(), Handler::Event, limits);
    assert!(
        !absent.submit(call("e", "a:1", b"")),
        "queued without a script"
    );
    let plain = dir.path().join("on-event");
    fs::write(&plain, "#!/bin/sh\n").unwrap();
    assert!(
        !absent.submit(call("e", "a:1", b"")),
        "queued without an execute bit"
    );
    assert_eq!(absent.dropped(), 0, "no script is not a drop");
    fs::remove_file(&plain).unwrap();
    absent.stop().await;

    let log = dir.path().join("log");
    let body = format!("echo \"$1\" >> {}; sleep 0.2", log.display());
    script(dir.path(), "on-event", &body);
    let pool = ScriptPool::start(dir.path(), Handler::Event, limits);
    let queued = (0..10)
        .filter(|i| pool.submit(call(&format!("e{i}"), "a:1", b"")))
        .count();
    // The queue holds 2, one more may already have been taken to run.
    assert!((2..=3).contains(&queued), "{queued} queued");
    assert_eq!(pool.dropped(), 10 - queued as u64);
    let start = Instant::now();
    while fs::read_to_string(&log).unwrap_or_default().lines().count() < queued {
        assert!(start.elapsed() < LONG, "the queued events did not all run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ran = fs::read_to_string(&log).unwrap();
    assert_eq!(ran.lines().count(), queued, "{ran}");
    pool.stop().await;

    script(dir.path(), "on-query", "printf 'from %s' \"$2\"");
    let pool = ScriptPool::start(dir.path(), Handler::Query, limits);
    let (respond, response) = oneshot::channel();
    let mut query = call("who", "b:2", b"");
    query.respond = Some(respond);
    assert!(pool.submit(query));
    let response = tokio::time::timeout(LONG, response).await.unwrap();
    assert_eq!(response.unwrap(), b"from b:2");
    pool.stop().await;
}

#[tokio::test]
async fn a_query_handler_gets_less_time_than_its_asker_listens() {
    let dir = tempfile::tempdir().unwrap();
    script(dir.path(), "on-query", "sleep 0.5; echo late");
    script(dir.path(), "on-event", "exit 0");
    let handlers = Handlers::start(dir.path(), HandlerLimits::default());
    let start = Instant::now();
    // The asker listens 0.3 s more: the script is killed at 0.27 s, no response.
    let response = handlers.query("who", "b:2", vec![], Some(Duration::from_millis(300)));
    let response = tokio::time::timeout(LONG, response).await.unwrap();
    assert!(response.is_err(), "{response:?}");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    // Given the time, the same script answers.
    let response = handlers.query("who", "b:2", vec![], None);
    let response = tokio::time::timeout(LONG, response).await.unwrap();
    assert_eq!(response.unwrap(), b"late\n");
    handlers.stop().await;
}
