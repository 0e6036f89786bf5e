//! The handler scripts `on-event` and `on-query` in the base directory, run for the user
//! events and queries the member receives.
//!
//! `on-event NAME SENDER` gets the payload on standard input (its output goes where the
//! tool's goes); `on-query NAME SENDER` likewise, and its standard output, if it exits with
//! status 0 within its time and writes at most [`HandlerLimits::max_output`] bytes, is the
//! response. NAME and SENDER come from the network: they are checked
//! ([`check_message_name`], [`check_sender_name`]) and passed as plain arguments, never
//! through a shell. Each script runs in its own process group, killed with it at its
//! timeout.
//!
//! Each kind has its own [`ScriptPool`]: a bounded queue and at most
//! [`HandlerLimits::concurrency`] scripts running at once, so a flood of events can neither
//! fork-bomb the host nor keep queries from being answered. What does not fit in the queue is
//! dropped, counted and logged.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::hook::{kill_group, script_state, spawn_script, ScriptState};
use super::names::{check_message_name, check_sender_name, ON_EVENT_NAME, ON_QUERY_NAME};

/// Bounds on the handler scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerLimits {
    /// Most bytes of `on-query` output taken as a response; more and there is no response.
    pub max_output: usize,
    /// Longest an `on-event` run may take before it is killed.
    pub event_timeout: Duration,
    /// Longest an `on-query` run may take before it is killed (and no response is sent).
    pub query_timeout: Duration,
    /// Most runs waiting per script; more are dropped and counted.
    pub queue: usize,
    /// Most runs of one script at once.
    pub concurrency: usize,
}

/// 64 KiB: the most an `on-query` may answer.
pub const MAX_HANDLER_OUTPUT: usize = 64 * 1024;

impl Default for HandlerLimits {
    fn default() -> Self {
        HandlerLimits {
            max_output: MAX_HANDLER_OUTPUT,
            event_timeout: Duration::from_secs(10),
            query_timeout: Duration::from_secs(2),
            queue: 256,
            concurrency: 4,
        }
    }
}

/// One run of a handler script.
#[derive(Debug)]
pub struct HandlerCall {
    /// The event or query name (checked before the run).
    pub name: String,
    /// The member that sent it (checked before the run).
    pub sender: String,
    /// What goes to the script's standard input.
    pub payload: Vec<u8>,
    /// For a query, where the response goes; nothing is sent when there is none.
    pub respond: Option<oneshot::Sender<Vec<u8>>>,
    /// For a query, how long its asker still listens: the script gets at most 9/10 of it
    /// (and at most its own timeout), so that its answer can still travel back.
    pub within: Option<Duration>,
}

/// How one run ended.
#[derive(Debug)]
pub enum ScriptOutcome {
    /// There is no script file.
    Absent,
    /// The script file is not executable.
    NotExecutable,
    /// The name or the sender may not be passed to a script.
    Refused(String),
    /// The script could not be started.
    SpawnFailed(io::Error),
    /// The script exited; its output if it was captured.
    Exited(ExitStatus, Option<Vec<u8>>),
    /// The script wrote more than allowed and was killed.
    TooMuchOutput(usize),
    /// The script overstayed its timeout and was killed.
    TimedOut(Duration),
    /// The pool was stopped while the script ran; it was killed.
    Stopped,
}

impl ScriptOutcome {
    /// The response an `on-query` run gives: its output, if it exited with status 0.
    pub fn response(self) -> Option<Vec<u8>> {
        match self {
            ScriptOutcome::Exited(status, output) if status.success() => output,
            _ => None,
        }
    }
}

/// Runs `script NAME SENDER` once with `payload` on its standard input, capturing at most
/// `max_output` bytes of its standard output when that is `Some` (inherited otherwise), and
/// killing it (with its process group) after `timeout` or when `stop` turns true.
pub async fn run_script(
    script: &Path,
    call: &HandlerCall,
    max_output: Option<usize>,
    timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) -> ScriptOutcome {
    if let Err(reason) = check_message_name(&call.name) {
        return ScriptOutcome::Refused(format!("name {:?}: {reason}", call.name));
    }
    if let Err(reason) = check_sender_name(&call.sender) {
        return ScriptOutcome::Refused(format!("sender {:?}: {reason}", call.sender));
    }
    match script_state(script) {
        ScriptState::Ready => {}
        ScriptState::NotExecutable => return ScriptOutcome::NotExecutable,
        ScriptState::Absent => return ScriptOutcome::Absent,
    }
    let deadline = Instant::now() + timeout;
    let args = [OsStr::new(&call.name), OsStr::new(&call.sender)];
    let stdout = if max_output.is_some() {
        Stdio::piped
    } else {
        Stdio::inherit
    };
    let mut child = match spawn_script(script, &args, Stdio::piped, stdout).await {
        Ok(child) => child,
        Err(err) => return ScriptOutcome::SpawnFailed(err),
    };
    let stdin = child.stdin.take();
    let output = child.stdout.take();
    let feed = async {
        if let Some(mut stdin) = stdin {
            // A script that does not read its input makes this fail (EPIPE): that is its
            // choice.
            let _ = stdin.write_all(&call.payload).await;
        }
    };
    let read = async {
        let (Some(output), Some(max)) = (output, max_output) else {
            return None;
        };
        let mut buf = Vec::new();
        // One byte more than allowed tells "too much" from "just enough".
        let read = output.take(max as u64 + 1).read_to_end(&mut buf).await;
        Some(read.map(|_| buf))
    };
    let io = async { tokio::join!(feed, read).1 };
    let read = tokio::select! {
        read = io => Ok(read),
        () = tokio::time::sleep_until(deadline) => Err(ScriptOutcome::TimedOut(timeout)),
        _ = stop.wait_for(|stopped| *stopped) => Err(ScriptOutcome::Stopped),
    };
    let output = match read {
        Err(outcome) => Err(outcome),
        Ok(Some(Err(err))) => Err(ScriptOutcome::SpawnFailed(err)),
        Ok(Some(Ok(buf))) if max_output.is_some_and(|max| buf.len() > max) => {
            Err(ScriptOutcome::TooMuchOutput(max_output.unwrap_or_default()))
        }
        Ok(read) => Ok(read.and_then(Result::ok)),
    };
    let outcome = match output {
        Err(outcome) => outcome,
        Ok(output) => tokio::select! {
            status = child.wait() => match status {
                Ok(status) => return ScriptOutcome::Exited(status, output),
                Err(err) => ScriptOutcome::SpawnFailed(err),
            },
            () = tokio::time::sleep_until(deadline) => ScriptOutcome::TimedOut(timeout),
            _ = stop.wait_for(|stopped| *stopped) => ScriptOutcome::Stopped,
        },
    };
    kill_group(&mut child).await;
    outcome
}

/// Which script a pool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `on-event`: output inherited, no response.
    Event,
    /// `on-query`: output captured as the response.
    Query,
}

impl Handler {
    /// The script's file name in the base directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Handler::Event => ON_EVENT_NAME,
            Handler::Query => ON_QUERY_NAME,
        }
    }
}

/// Runs one handler script for the calls submitted: a bounded queue, a bounded number of runs
/// at once, drops counted.
pub struct ScriptPool {
    handler: Handler,
    script: PathBuf,
    queue: mpsc::Sender<HandlerCall>,
    dropped: Arc<AtomicU64>,
    warned_not_executable: AtomicBool,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ScriptPool {
    /// Starts the pool running `handler`'s script in `base` within `limits`.
    pub fn start(base: &Path, handler: Handler, limits: HandlerLimits) -> ScriptPool {
        let script = base.join(handler.file_name());
        let (queue, calls) = mpsc::channel(limits.queue.max(1));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(work(script.clone(), handler, limits, calls, stop_rx));
        ScriptPool {
            handler,
            script,
            queue,
            dropped: Arc::default(),
            warned_not_executable: AtomicBool::new(false),
            stop,
            task,
        }
    }

    /// Queues a run; returns false when it was not queued: there is no executable script
    /// (then a query simply gets no response from this member; a file without an execute
    /// bit is warned about once) or the queue is full (counted in
    /// [`ScriptPool::dropped`] and logged at each power of two).
    pub fn submit(&self, call: HandlerCall) -> bool {
        match script_state(&self.script) {
            ScriptState::Ready => {}
            ScriptState::Absent => return false,
            ScriptState::NotExecutable => {
                if !self.warned_not_executable.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "{} is not executable; not running it",
                        self.script.display()
                    );
                }
                return false;
            }
        }
        match self.queue.try_send(call) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(call)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        "{} {} from {} dropped: the queue is full ({dropped} dropped so far)",
                        self.handler.file_name(),
                        call.name,
                        call.sender
                    );
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// How many calls were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Stops the pool: running scripts are killed, waiting calls dropped.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::error!("{} task failed: {err}", self.handler.file_name());
        }
    }
}

/// The two pools of a running tool.
pub struct Handlers {
    /// Runs `on-event`.
    pub events: ScriptPool,
    /// Runs `on-query`.
    pub queries: ScriptPool,
}

impl Handlers {
    /// Starts both pools on the scripts in `base`.
    pub fn start(base: &Path, limits: HandlerLimits) -> Handlers {
        Handlers {
            events: ScriptPool::start(base, Handler::Event, limits),
            queries: ScriptPool::start(base, Handler::Query, limits),
        }
    }

    /// Queues `on-event NAME SENDER` for an event received.
    pub fn event(&self, name: &str, sender: &str, payload: Vec<u8>) {
        self.events.submit(HandlerCall {
            name: name.to_owned(),
            sender: sender.to_owned(),
            payload,
            respond: None,
            within: None,
        });
    }

    /// Queues `on-query NAME SENDER` for a query received, its asker listening for `within`
    /// more; the response, if the script gives one, arrives on the receiver (which closes
    /// without one otherwise, also when there is no script or no room in the queue).
    pub fn query(
        &self,
        name: &str,
        sender: &str,
        payload: Vec<u8>,
        within: Option<Duration>,
    ) -> oneshot::Receiver<Vec<u8>> {
        let (respond, response) = oneshot::channel();
        self.queries.submit(HandlerCall {
            name: name.to_owned(),
            sender: sender.to_owned(),
            payload,
            respond: Some(respond),
            within,
        });
        response
    }

    /// Stops both pools, killing the scripts running.
    pub async fn stop(self) {
        self.events.stop().await;
        self.queries.stop().await;
    }
}

async fn work(
    script: PathBuf,
    handler: Handler,
    limits: HandlerLimits,
    mut calls: mpsc::Receiver<HandlerCall>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    let script = Arc::new(script);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let Ok(slot) = slot else { break };
        let call = tokio::select! {
            call = calls.recv() => call,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let Some(call) = call else { break };
        // Finished runs are reaped as we go, so the set holds at most `concurrency`.
        while running.try_join_next().is_some() {}
        let script = script.clone();
        let mut stop = stop.clone();
        running.spawn(async move {
            let _slot = slot;
            run_one(&script, handler, limits, call, &mut stop).await;
        });
    }
    // Each run sees the stop flag and kills its script.
    while running.join_next().await.is_some() {}
}

async fn run_one(
    script: &Path,
    handler: Handler,
    limits: HandlerLimits,
    mut call: HandlerCall,
    stop: &mut watch::Receiver<bool>,
) {
    let (capture, limit) = match handler {
        Handler::Event => (None, limits.event_timeout),
        Handler::Query => (Some(limits.max_output), limits.query_timeout),
    };
    let timeout = call
        .within
        .map_or(limit, |within| limit.min(within.mul_f64(0.9)));
    let outcome = run_script(script, &call, capture, timeout, stop).await;
    let what = format!("{} {} {}", handler.file_name(), call.name, call.sender);
    match &outcome {
        ScriptOutcome::Absent | ScriptOutcome::Stopped => {}
        // Made so since it was queued; the pool warns when it finds it so at submission.
        ScriptOutcome::NotExecutable => tracing::debug!("{}: not executable", script.display()),
        ScriptOutcome::Refused(reason) => tracing::warn!("not running {what}: {reason}"),
        ScriptOutcome::SpawnFailed(err) => tracing::warn!("{what}: cannot run: {err}"),
        ScriptOutcome::Exited(status, _) if status.success() => tracing::debug!("{what}: done"),
        ScriptOutcome::Exited(status, _) => tracing::warn!("{what}: failed: {status}"),
        ScriptOutcome::TooMuchOutput(max) => {
            tracing::warn!("{what}: killed: wrote more than {max} bytes; no response")
        }
        ScriptOutcome::TimedOut(after) => tracing::warn!("{what}: killed after {after:?}"),
    }
    if let (Some(respond), Some(response)) = (call.respond.take(), outcome.response()) {
        let _ = respond.send(response);
    }
}
