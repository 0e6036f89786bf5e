//! The demo's main loop: starts the member, then reacts to membership changes, user events,
//! keys, the token timer and shutdown signals until asked to stop. Its control socket serves
//! `event`, `query` and `send` meanwhile.

use std::io::{self, IsTerminal};
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use crossterm::event::Event;
use swim_protocol::messaging::AppMessage;
use swim_protocol::{Cluster, MembershipEvent};
use tokio::signal::unix::SignalKind;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::cli::DemoArgs;
use super::input::{action_for, Action, InputReader};
use super::state::DemoState;
use super::terminal::TerminalGuard;
use super::token::{new_token, next_token_delay, TOKEN_KEY};
use super::typed::{TypedBuffer, TYPED_KEY};
use super::{plain, ui};
use crate::cmd;
use crate::control::path;
use crate::control::server::ControlSocket;
use crate::ops::{self, Endpoint};
use tracing_subscriber::filter::LevelFilter;

/// The screen is redrawn at most this often, however fast changes arrive.
const FRAME_INTERVAL: Duration = Duration::from_millis(50);
/// How long the member may take to shut down before the demo exits anyway.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

/// Runs the demo until Ctrl-C, SIGTERM or SIGHUP. Draws full-screen when standard output is a
/// terminal, otherwise prints one line per change.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let log = cmd::init_logging(LevelFilter::WARN, &args.ops.log);
    let config = args.swim.into_config()?;
    // SIGHUP: the terminal went away; stop cleanly rather than die mid-draw.
    let stop = cmd::stop_signals_and(&[SignalKind::hangup()])?;
    let endpoint = Endpoint::bind(&args.ops).await?;
    let socket = path::demo_socket_for(&config.local_name, args.control.as_deref())
        .context("cannot prepare the control socket's directory")?;
    // Bound before the member starts: a second demo of the same name stops here.
    let control = ControlSocket::bind(&socket)?;
    let plan = cmd::StartPlan::of(&config);
    let Some(cluster) = cmd::start_member(config, &stop).await? else {
        return Ok(()); // stopped while waiting to start
    };
    let server = ops::attach(&cluster, endpoint, &stop);
    let control = control.serve(cluster.clone(), stop.clone());
    let mut output = if io::stdout().is_terminal() {
        // Log lines would garble the full-screen view (which shows the member itself).
        log.mute(true);
        Output::screen()?
    } else {
        // The demo logs warnings only by default; its start line is said all the same,
        // on standard error beside the log, unless -q.
        if args.ops.log.quiet == 0 {
            eprintln!("{}", plan.line(&cluster, "printing one line per change"));
        }
        Output::Plain
    };
    let result = run_loop(&cluster, &mut output, stop, args.token_interval).await;
    if let Some(server) = server {
        server.abort(); // the loop ended: stop serving even if no signal came
    }
    control.abort(); // the same; the socket is removed when its task ends
    let _ = control.await;
    drop(output); // gives the terminal back before the shutdown wait
    log.mute(false);
    if result.is_ok() {
        cmd::leave(&cluster).await;
    }
    if tokio::time::timeout(SHUTDOWN_WAIT, cluster.shutdown())
        .await
        .is_err()
    {
        eprintln!("swim-protocol-demo: the member did not stop within {SHUTDOWN_WAIT:?}");
    }
    result
}

/// Where the state goes: the full-screen view (with keyboard input) or plain lines.
enum Output {
    /// Full-screen view; fields drop in order: input reader first, then the terminal.
    Screen {
        input: mpsc::Receiver<io::Result<Event>>,
        _reader: InputReader,
        terminal: TerminalGuard,
    },
    /// Lines on standard output; no keyboard input.
    Plain,
}

impl Output {
    fn screen() -> anyhow::Result<Output> {
        let terminal = TerminalGuard::take().context("cannot set up the terminal")?;
        let (reader, input) = InputReader::start().context("cannot read the keyboard")?;
        Ok(Output::Screen {
            input,
            _reader: reader,
            terminal,
        })
    }

    /// The next terminal event; never resolves when there is no keyboard input. The reader
    /// stopping on its own (it only does after a panic) is an error: without it the demo
    /// could not be quit with Ctrl-C.
    async fn next_event(&mut self) -> io::Result<Event> {
        match self {
            Output::Screen { input, .. } => match input.recv().await {
                Some(event) => event,
                None => Err(io::Error::other("the keyboard reader stopped")),
            },
            Output::Plain => std::future::pending().await,
        }
    }
}

async fn run_loop(
    cluster: &Cluster,
    output: &mut Output,
    mut stop: watch::Receiver<bool>,
    token_interval: Option<Duration>,
) -> anyhow::Result<()> {
    let mut events = cluster.subscribe();
    let mut messages = cluster.messages();
    let mut state = DemoState::new(cluster.members());
    let mut typed = TypedBuffer::new();
    let mut rng = rand::rng();
    let mut next_token = Instant::now();
    let mut frames = tokio::time::interval(FRAME_INTERVAL);
    frames.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut dirty = true;
    if matches!(output, Output::Plain) {
        plain::write_members(&mut io::stdout().lock(), &state.view(), SystemTime::now())?;
    }
    loop {
        tokio::select! {
            () = cmd::stopped(&mut stop) => return Ok(()),
            event = events.next_event() => {
                let Some(event) = event else { bail!("the member stopped unexpectedly") };
                let entry = match event {
                    MembershipEvent::Changed(change) => state.apply(&change, SystemTime::now()),
                    MembershipEvent::Forgotten(member) => {
                        state.forget(&member.name);
                        None
                    }
                    _ => None,
                };
                if let (Some(entry), Output::Plain) = (entry, &output) {
                    plain::write_entry(&mut io::stdout().lock(), entry)?;
                }
                dirty = true;
            }
            message = messages.recv() => {
                let Some(message) = message else { bail!("the member stopped unexpectedly") };
                // Queries and direct messages are for applications; the demo shows events.
                let AppMessage::Event { name, origin, payload } = message else { continue };
                let entry = state.user_event(&origin, &name, &payload, SystemTime::now());
                if let (Some(entry), Output::Plain) = (entry, &output) {
                    plain::write_entry(&mut io::stdout().lock(), entry)?;
                }
                dirty = true;
            }
            event = output.next_event() => {
                let event = event.context("cannot read the keyboard")?;
                let edited = match action_for(&event) {
                    Some(Action::Quit) => return Ok(()),
                    Some(Action::Type(text)) => typed.push_str(&text),
                    Some(Action::Backspace) => typed.backspace(),
                    Some(Action::Redraw) => {
                        dirty = true;
                        false
                    }
                    None => false,
                };
                if edited {
                    set_local_key(cluster, TYPED_KEY, typed.metadata_value());
                }
            }
            () = tokio::time::sleep_until(next_token), if token_interval.is_some() => {
                let interval = token_interval.unwrap_or_default();
                set_local_key(cluster, TOKEN_KEY, Some(new_token(&mut rng).to_vec()));
                next_token = Instant::now() + next_token_delay(interval, &mut rng);
            }
            _ = frames.tick(), if dirty => {
                if let Output::Screen { terminal, .. } = output {
                    terminal.terminal().draw(|frame| ui::draw(frame, &state))?;
                }
                dirty = false;
            }
        }
    }
}

/// Sets (or with `None` removes) one key of the local metadata, keeping the others. Only the
/// main loop calls this, so two updates never race to overwrite each other.
fn set_local_key(cluster: &Cluster, key: &str, value: Option<Vec<u8>>) {
    let metadata = cluster.local().metadata_or_empty();
    let metadata = match value {
        Some(value) => metadata.with(key, value),
        None => metadata.without(key),
    };
    cluster.set_local_metadata(metadata);
}
