//! Running `docker` (and `docker-compose`) with a bounded wait, and the skip rule.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Longest wait for one command; `docker stack rm` or a service update can take a while on
/// a loaded machine, a hung daemon must not hang the tests.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// A failed command: what was run, and what it said.
#[derive(Debug)]
pub struct CommandError(pub String);

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandError {}

/// Runs `program args`, with extra environment variables, and returns its standard output
/// (trimmed) if it exits with status 0 within [`COMMAND_TIMEOUT`].
pub fn run_with_env(
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<String, CommandError> {
    run_for(COMMAND_TIMEOUT, program, args, envs)
}

/// [`run_with_env`] with another limit; on timeout the command's whole process group is
/// killed (a script's children too).
pub fn run_for(
    timeout: Duration,
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<String, CommandError> {
    let shown = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CommandError(format!("{shown}: cannot start: {e}")))?;
    // Both pipes are drained on their own threads, so a chatty command cannot block.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                let _ = child.wait();
                break Err(format!("{shown}: no answer within {timeout:?}"));
            }
            Err(e) => break Err(format!("{shown}: {e}")),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    match status {
        Ok(status) if status.success() => Ok(out.trim().to_owned()),
        Ok(status) => Err(CommandError(format!(
            "{shown}: {status}: {}{}",
            err.trim(),
            out.trim()
        ))),
        Err(message) => Err(CommandError(message)),
    }
}

/// `docker args...`.
pub fn docker(args: &[&str]) -> Result<String, CommandError> {
    run_with_env("docker", args, &[])
}

/// Whether a Docker daemon answers.
pub fn docker_available() -> bool {
    docker(&["info", "--format", "{{.ServerVersion}}"]).is_ok_and(|v| !v.is_empty())
}

/// `true` if the test can run. Without Docker: a notice and `false`, or a panic when
/// `SWIM_REQUIRE_DOCKER=1`.
pub fn require_docker(test: &str) -> bool {
    if docker_available() {
        return true;
    }
    if std::env::var("SWIM_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
        panic!("{test}: no Docker daemon answers, and SWIM_REQUIRE_DOCKER=1");
    }
    eprintln!(
        "notice: {test} skipped: no Docker daemon (set SWIM_REQUIRE_DOCKER=1 to fail instead)"
    );
    false
}

/// A name no other test, run or process uses: `swim-e2e-PID-N-LABEL`.
pub fn unique_name(label: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("swim-e2e-{}-{n}-{label}", std::process::id())
}

/// Held by each container test: they run one at a time, also across test processes (a
/// lock file in the temporary directory), as a 2-core machine cannot run two clusters of
/// containers side by side and keep their timings, and one test's `docker swarm leave` must
/// not take down another's stack.
pub struct Turn {
    _file: Flock<std::fs::File>,
    _in_process: MutexGuard<'static, ()>,
}

/// Waits for this test's [`Turn`].
pub fn one_at_a_time() -> Turn {
    static LOCK: Mutex<()> = Mutex::new(());
    let in_process = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = std::env::temp_dir().join("swim-e2e.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file = Flock::lock(file, FlockArg::LockExclusive)
        .unwrap_or_else(|(_, e)| panic!("lock {}: {e}", path.display()));
    Turn {
        _file: file,
        _in_process: in_process,
    }
}
