//! What both commands share, so that they behave alike: logging, the stop signals, starting
//! the member with retries, and the exit status.
//!
//! Exit statuses (the same for every command): **0** stopped by SIGINT or SIGTERM (or done),
//! **1** a runtime failure, **2** a usage or configuration error.

use std::future::Future;
use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use swim_protocol::{Cluster, Config, ConfigError, StartError};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The exit statuses, as a `--help` footer.
pub const EXIT_STATUS_HELP: &str = "Exit status: 0 when stopped by SIGINT or SIGTERM, 1 on a \
    runtime failure, 2 on a usage or configuration error.";

/// Runs `main` on a tokio runtime and turns its outcome into the exit status, printing an
/// error as `NAME: message` (each cause once) on standard error.
pub fn run_main<F>(name: &str, worker_threads: usize, main: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let runtime = match worker_threads {
        0 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{name}: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(main) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: {}", error_message(&err));
            ExitCode::from(exit_status(&err))
        }
    }
}

/// Runs `main` as a task of the runtime rather than as the future `block_on` drives: a task
/// woken by another task on the same thread (a member's event, a packet) is queued in memory,
/// while waking the future `block_on` drives writes to the runtime's eventfd and wakes its
/// `epoll` once more each time (strace: ~40 such writes per member learned during a join).
/// A panic in `main` goes on as a panic.
pub async fn as_task<F>(main: F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    match tokio::spawn(main).await {
        Ok(result) => result,
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(err) => Err(anyhow::anyhow!("the main task stopped: {err}")),
    }
}

/// The error and its causes on one line, `outer: cause: cause`, each said once: a cause whose
/// text the line already holds (an error that prints its source as part of its own message)
/// is left out.
pub fn error_message(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// 2 for a configuration error or a wrong control request (retrying will not help), 1 for
/// anything else.
pub fn exit_status(err: &anyhow::Error) -> u8 {
    if err.is::<ConfigError>() {
        return 2;
    }
    if let Some(request) = err.downcast_ref::<crate::control::client::ClientError>() {
        return request.exit_status();
    }
    match err.downcast_ref::<StartError>() {
        Some(start) => start.exit_status(),
        None => 1,
    }
}

/// Whether log lines may carry colour codes: only to a terminal, and never with `NO_COLOR`
/// set to anything (<https://no-color.org>).
pub fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// The logging options both commands share.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// More log lines: -v debug, -vv trace (RUST_LOG, if set, decides instead)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Fewer log lines: -q warnings and errors only, -qq errors only, -qqq none
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// Log line format: text for people, json (one object per line) for log shippers
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t,
        env = "SWIM_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields).
    Json,
}

/// The level a command logs at: `default` moved up by `-v`s and down by `-q`s.
pub fn log_level(default: LevelFilter, args: &LogArgs) -> LevelFilter {
    const LEVELS: [LevelFilter; 6] = [
        LevelFilter::OFF,
        LevelFilter::ERROR,
        LevelFilter::WARN,
        LevelFilter::INFO,
        LevelFilter::DEBUG,
        LevelFilter::TRACE,
    ];
    let at = LEVELS.iter().position(|&l| l == default).unwrap_or(3);
    let at = (at + usize::from(args.verbose)).saturating_sub(usize::from(args.quiet));
    LEVELS[at.min(LEVELS.len() - 1)]
}

/// Logs to standard error with `RUST_LOG`, else at [`log_level`], as text (in colour only
/// where [`use_colour`] allows) or JSON lines. The returned gate mutes the log while a
/// full-screen view owns the terminal.
pub fn init_logging(default: LevelFilter, args: &LogArgs) -> LogGate {
    let gate = LogGate::default();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(log_level(default, args).to_string())
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(gate.clone());
    // Each fails only if a subscriber is already set (tests), which is fine.
    let _ = match args.log_format {
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
        LogFormat::Text => {
            let colour = use_colour(
                io::stderr().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            );
            builder.with_ansi(colour).try_init()
        }
    };
    gate
}

/// Standard error for log lines, unless muted.
#[derive(Debug, Clone, Default)]
pub struct LogGate {
    muted: Arc<AtomicBool>,
}

impl LogGate {
    /// Drops log lines from now on (or lets them through again with `false`).
    pub fn mute(&self, muted: bool) {
        self.muted.store(muted, Ordering::Relaxed);
    }
}

impl<'a> MakeWriter<'a> for LogGate {
    type Writer = Box<dyn io::Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        if self.muted.load(Ordering::Relaxed) {
            Box::new(io::sink())
        } else {
            Box::new(io::stderr())
        }
    }
}

/// A flag that becomes true on SIGINT or SIGTERM.
pub fn stop_signals() -> io::Result<watch::Receiver<bool>> {
    stop_signals_and(&[])
}

/// A flag that becomes true on SIGINT, SIGTERM or any of `more` (the demo adds SIGHUP: its
/// terminal went away).
pub fn stop_signals_and(more: &[SignalKind]) -> io::Result<watch::Receiver<bool>> {
    let kinds = [SignalKind::interrupt(), SignalKind::terminate()];
    let signals = kinds
        .iter()
        .chain(more)
        .map(|&kind| signal(kind))
        .collect::<io::Result<Vec<_>>>()?;
    let (tx, rx) = watch::channel(false);
    for mut signal in signals {
        let tx = tx.clone();
        tokio::spawn(async move {
            signal.recv().await;
            let _ = tx.send(true);
        });
    }
    Ok(rx)
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// How long a stopping command waits for its leave to be acknowledged before it stops
/// anyway (the others then detect it as failed).
pub const LEAVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Tells the cluster the member is going ([`Cluster::leave`], at most [`LEAVE_TIMEOUT`]),
/// so that the others mark it OFFLINE at once instead of suspecting it; what both commands
/// do before they stop the member on SIGINT or SIGTERM.
pub async fn leave(cluster: &Cluster) {
    if cluster.leave(LEAVE_TIMEOUT).await {
        tracing::info!("left the cluster");
    } else {
        tracing::warn!("leave not acknowledged within {LEAVE_TIMEOUT:?}; stopping anyway");
    }
}

/// Starts the member, retrying transient failures (logged) until it starts or `stop` is set
/// (then `None`).
pub async fn start_member(
    config: Config,
    stop: &watch::Receiver<bool>,
) -> Result<Option<Cluster>, StartError> {
    let mut stop = stop.clone();
    Cluster::start_with_retry(config, async move { stopped(&mut stop).await }).await
}

/// What a command says once its member started, taken from the configuration before it is
/// handed to [`start_member`]: see [`start_line`].
#[derive(Debug, Clone)]
pub struct StartPlan {
    peers: Vec<String>,
    discovery: bool,
    wire: String,
}

impl StartPlan {
    /// The peers, discovery and wire format of `config`.
    pub fn of(config: &Config) -> StartPlan {
        StartPlan {
            peers: config.peers.clone(),
            discovery: config.discovery,
            wire: config.protocol.wire.to_string(),
        }
    }

    /// The start line of `cluster`, which is `doing` (such as `mirroring the cluster into
    /// DIR`).
    pub fn line(&self, cluster: &Cluster, doing: &str) -> String {
        start_line(
            cluster.name().as_ref(),
            &cluster.addr().to_string(),
            &self.wire,
            &self.peers,
            self.discovery,
            doing,
        )
    }

    /// Logs [`StartPlan::line`] at info level, once the command is ready.
    pub fn log_started(&self, cluster: &Cluster, doing: &str) {
        tracing::info!("{}", self.line(cluster, doing));
    }
}

/// The line a command logs once its member started, as in `member 127.0.0.1:2001 started
/// on 127.0.0.1:2001 (UDP and TCP, native wire), mirroring the cluster into /srv/swim;
/// peers 127.0.0.1:2002: waiting for them to answer`.
pub fn start_line(
    name: &str,
    addr: &str,
    wire: &str,
    peers: &[String],
    discovery: bool,
    doing: &str,
) -> String {
    let waits = match (peers.is_empty(), discovery) {
        (_, true) => format!("discovering the others through the addresses of {name}"),
        (true, false) => "no peers: waiting for others to join it".to_owned(),
        (false, false) => format!("peers {}: waiting for them to answer", peers.join(", ")),
    };
    let doing = if doing.is_empty() {
        String::new()
    } else {
        format!(", {doing}")
    };
    format!("member {name} started on {addr} (UDP and TCP, {wire} wire){doing}; {waits}")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn verbose_and_quiet_move_the_level() {
        let args = |verbose, quiet| LogArgs {
            verbose,
            quiet,
            ..LogArgs::default()
        };
        assert_eq!(log_level(LevelFilter::INFO, &args(0, 0)), LevelFilter::INFO);
        assert_eq!(
            log_level(LevelFilter::INFO, &args(1, 0)),
            LevelFilter::DEBUG
        );
        assert_eq!(
            log_level(LevelFilter::INFO, &args(5, 0)),
            LevelFilter::TRACE
        );
        assert_eq!(log_level(LevelFilter::INFO, &args(0, 1)), LevelFilter::WARN);
        assert_eq!(log_level(LevelFilter::WARN, &args(0, 2)), LevelFilter::OFF);
        assert_eq!(log_level(LevelFilter::WARN, &args(0, 9)), LevelFilter::OFF);
    }

    #[test]
    fn the_start_line_says_where_and_what_it_waits_for() {
        let peers = ["127.0.0.1:2002".to_owned()];
        assert_eq!(
            start_line(
                "a:1",
                "127.0.0.1:1",
                "native",
                &peers,
                false,
                "showing the cluster"
            ),
            "member a:1 started on 127.0.0.1:1 (UDP and TCP, native wire), showing the \
             cluster; peers 127.0.0.1:2002: waiting for them to answer"
        );
        let alone = start_line("a:1", "127.0.0.1:1", "python", &[], false, "");
        assert!(
            alone.ends_with("(UDP and TCP, python wire); no peers: waiting for others to join it"),
            "{alone}"
        );
        let found = start_line("swim:9000", "10.0.0.2:9000", "native", &[], true, "");
        assert!(
            found.contains("discovering the others through the addresses of swim:9000"),
            "{found}"
        );
    }

    #[test]
    fn each_cause_is_said_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("{path}: {source}")]
        struct Read {
            path: String,
            source: io::Error,
        }
        let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
        let err = anyhow::Error::from(Read {
            path: "/d/f".into(),
            source: denied(),
        });
        assert_eq!(error_message(&err), format!("/d/f: {}", denied()));
        let err = anyhow::Error::from(denied()).context("cannot create /d");
        assert_eq!(
            error_message(&err),
            format!("cannot create /d: {}", denied())
        );
    }

    #[test]
    fn configuration_errors_exit_2_and_others_1() {
        let config = anyhow::Error::from(ConfigError::Invalid("bad".into()));
        assert_eq!(exit_status(&config), 2);
        let start = anyhow::Error::from(StartError::from(ConfigError::Invalid("bad".into())));
        assert_eq!(exit_status(&start), 2);
        let io = anyhow::Error::from(StartError::from(io::Error::other("taken")));
        assert_eq!(exit_status(&io), 1);
        assert_eq!(exit_status(&anyhow::anyhow!("other")), 1);
    }
}
