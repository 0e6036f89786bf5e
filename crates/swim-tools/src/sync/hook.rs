//! Running the `on-update` hook after remote member changes, off the member's path.
//!
//! Calls are queued and run one at a time by a background task. While a member already has a
//! call waiting, a newer change to it replaces that call (the hook then sees the latest
//! status), so the queue holds at most one call per member however slow the hook is. The
//! hook file is looked for at each run; when it is absent (or not executable), the calls
//! waiting then are dropped with the one that found it so. Each
//! run is bounded by a timeout; a hook that overstays it is killed with its whole process
//! group.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use swim_protocol::Status;
use tokio::process::{Child, Command};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// One run of the hook: `on-update NAME STATUS DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookCall {
    /// The member that changed.
    pub member: String,
    /// Its status after the change.
    pub status: Status,
    /// The absolute path of its directory.
    pub dir: PathBuf,
}

/// How one run ended.
#[derive(Debug)]
pub enum HookOutcome {
    /// There is no hook file.
    Absent,
    /// The hook file is not executable.
    NotExecutable,
    /// The hook could not be started.
    SpawnFailed(io::Error),
    /// The hook ran and exited.
    Exited(ExitStatus),
    /// The hook overstayed the timeout and was killed.
    TimedOut,
    /// The runner was stopped while the hook ran; it was killed.
    Stopped,
}

/// The calls waiting: members in the order of their first waiting call, and each one's
/// latest call (a join queues hundreds at once: finding a member's call must not be a scan).
#[derive(Default)]
struct Pending {
    order: VecDeque<String>,
    calls: HashMap<String, HookCall>,
}

impl Pending {
    fn push(&mut self, call: HookCall) {
        if let Some(waiting) = self.calls.get_mut(&call.member) {
            *waiting = call;
        } else {
            self.order.push_back(call.member.clone());
            self.calls.insert(call.member.clone(), call);
        }
    }

    fn pop(&mut self) -> Option<HookCall> {
        let member = self.order.pop_front()?;
        self.calls.remove(&member)
    }

    fn clear(&mut self) {
        self.order.clear();
        self.calls.clear();
    }
}

#[derive(Default)]
struct Queue {
    pending: Mutex<Pending>,
    wake: Notify,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The background task running the hook.
pub struct HookRunner {
    queue: Arc<Queue>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HookRunner {
    /// Starts the task that runs `hook` (checked for at each call) with `timeout` per run.
    pub fn start(hook: PathBuf, timeout: Duration) -> HookRunner {
        let queue = Arc::new(Queue::default());
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(work(hook, timeout, queue.clone(), stop_rx));
        HookRunner { queue, stop, task }
    }

    /// Queues a run; replaces the call already waiting for the same member, if any.
    pub fn enqueue(&self, call: HookCall) {
        self.queue.lock().push(call);
        self.queue.wake.notify_one();
    }

    /// How many calls are waiting (the one running, if any, not counted).
    pub fn waiting(&self) -> usize {
        self.queue.lock().order.len()
    }

    /// Stops the task: a running hook is killed, waiting calls are dropped.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::error!("hook task failed: {err}");
        }
    }
}

async fn work(
    hook: PathBuf,
    timeout: Duration,
    queue: Arc<Queue>,
    mut stop: watch::Receiver<bool>,
) {
    let mut warned_not_executable = false;
    loop {
        if *stop.borrow() {
            return;
        }
        let next = queue.lock().pop();
        let Some(call) = next else {
            tokio::select! {
                _ = queue.wake.notified() => continue,
                _ = stop.changed() => return,
            }
        };
        let outcome = run_hook(&hook, &call, timeout, &mut stop).await;
        let what = || {
            format!(
                "hook {} {} {}",
                call.member,
                call.status,
                call.dir.display()
            )
        };
        match outcome {
            // The calls waiting now would find the same: they go too (a join queues
            // hundreds at once, mostly where there is no hook).
            HookOutcome::Absent => queue.lock().clear(),
            HookOutcome::Stopped => {}
            HookOutcome::NotExecutable => {
                queue.lock().clear();
                if !warned_not_executable {
                    warned_not_executable = true;
                    tracing::warn!("{} is not executable; not running it", hook.display());
                }
            }
            HookOutcome::SpawnFailed(err) => tracing::warn!("{}: cannot start: {err}", what()),
            HookOutcome::Exited(status) if status.success() => {
                tracing::debug!("{}: done", what())
            }
            HookOutcome::Exited(status) => tracing::warn!("{}: failed: {status}", what()),
            HookOutcome::TimedOut => {
                tracing::warn!("{}: killed after {timeout:?} (--hook-timeout)", what())
            }
        }
    }
}

/// Runs the hook once for `call`, killing it after `timeout` or when `stop` turns true.
pub async fn run_hook(
    hook: &Path,
    call: &HookCall,
    timeout: Duration,
    stop: &mut watch::Receiver<bool>,
) -> HookOutcome {
    match script_state(hook) {
        ScriptState::Ready => {}
        ScriptState::NotExecutable => return HookOutcome::NotExecutable,
        ScriptState::Absent => return HookOutcome::Absent,
    }
    let args = [
        call.member.as_ref(),
        OsStr::new(call.status.name()),
        call.dir.as_os_str(),
    ];
    let mut child = match spawn_script(hook, &args, Stdio::null, Stdio::inherit).await {
        Ok(child) => child,
        Err(err) => return HookOutcome::SpawnFailed(err),
    };
    let ended = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => return HookOutcome::Exited(status),
            Err(err) => return HookOutcome::SpawnFailed(err),
        },
        _ = tokio::time::sleep(timeout) => HookOutcome::TimedOut,
        _ = stop.wait_for(|stopped| *stopped) => HookOutcome::Stopped,
    };
    kill_group(&mut child).await;
    ended
}

/// Whether a script file is there to be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptState {
    /// A file with an execute bit.
    Ready,
    /// A file without any execute bit.
    NotExecutable,
    /// No file (or something else than a file).
    Absent,
}

/// Looks at the script at `path` (following symlinks).
pub fn script_state(path: &Path) -> ScriptState {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => ScriptState::Ready,
        Ok(meta) if meta.is_file() => ScriptState::NotExecutable,
        _ => ScriptState::Absent,
    }
}

/// Starts a script with `args` (passed as they are: no shell is involved) in its own
/// process group, with the standard input and output that `stdin` and `stdout` make and
/// stderr inherited, killed when the handle is dropped. Retries briefly while the
/// file is being written by someone (ETXTBSY), as happens when it is replaced while we start
/// it. The hook and the handler scripts ([`super::handlers`]) all start here.
pub(crate) async fn spawn_script(
    script: &Path,
    args: &[&OsStr],
    stdin: fn() -> Stdio,
    stdout: fn() -> Stdio,
) -> io::Result<Child> {
    let mut attempts = 0;
    loop {
        let spawned = Command::new(script)
            .args(args)
            .stdin(stdin())
            .stdout(stdout())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Err(err) if err.raw_os_error() == Some(nix::libc::ETXTBSY) && attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
}

/// Kills the child's process group (the script and anything it started), then reaps the
/// child.
pub(crate) async fn kill_group(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = child.kill().await;
}
