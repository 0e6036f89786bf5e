//! The running tool: a member's events into the mirror, local edits into the member.

use std::collections::HashSet;
use std::future::pending;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use swim_protocol::{Cluster, MemberSnapshot, MembershipEvent, Metadata, Status};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use super::cli::SyncArgs;
use super::hook::{HookCall, HookRunner};
use super::inbox::Inbox;
use super::local::{copy_metadata, read_local_metadata, LocalError, LocalLimits};
use super::mirror::{Mirror, MirrorError, Outcome};
use super::names::HOOK_NAME;
use super::watch::LocalWatcher;
use crate::cmd::{stopped, StartPlan};

/// Why the tool stopped other than by a signal.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The directory could not be prepared.
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// The local metadata could not be read at start.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// A signal handler could not be installed.
    #[error("cannot handle signals: {0}")]
    Signal(std::io::Error),
    /// The member stopped on its own.
    #[error("the cluster member stopped unexpectedly")]
    MemberStopped,
}

/// Reads the local metadata before the member starts, from `base/name` (empty if that
/// directory does not exist yet), so that the member starts with it.
pub fn initial_metadata(
    base: &Path,
    name: &str,
    limits: LocalLimits,
) -> Result<Metadata, LocalError> {
    let dir = base.join(name);
    if !dir.is_dir() {
        return Ok(Metadata::empty());
    }
    Ok(read_local_metadata(&dir, limits)?.metadata)
}

/// Most distinct refusals warned about; later ones are logged at debug level only, so a
/// hostile peer cannot flood the log.
const MAX_WARNED: usize = 1024;

/// Runs until `stop` is set (SIGINT or SIGTERM, see [`stop_signals`](crate::cmd::stop_signals)):
/// mirrors every remote member into `args.directory`, runs the hook after each change, and
/// re-reads the local directory on SIGHUP and on edits, and hands the application's messages
/// to the handler scripts ([`Inbox`]). On the way out the member is shut
/// down and the mirror cleaned up as the seed does. Once the mirror is written and the
/// directory watched, logs the start line of `started`.
pub async fn run(
    cluster: Cluster,
    args: SyncArgs,
    mut stop: watch::Receiver<bool>,
    started: StartPlan,
) -> Result<(), SyncError> {
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(err) => {
            cluster.shutdown().await;
            return Err(SyncError::Signal(err));
        }
    };
    let mut events = cluster.subscribe();
    let mirror = match Mirror::open(&args.directory, &cluster.local().name) {
        Ok(mirror) => Arc::new(Mutex::new(mirror.with_file_mode(args.file_mode))),
        Err(err) => {
            cluster.shutdown().await;
            return Err(err.into());
        }
    };
    let (base, local_dir) = {
        let mirror = lock(&mirror);
        (mirror.base().to_owned(), mirror.local_dir())
    };
    let mut inbox = Inbox::start(&cluster, &base, args.handler_limits());
    if let Some(from) = args.metadata_from.clone() {
        let limits = args.limits();
        let copied = blocking(&mirror, move |mirror| {
            mirror.ensure_local()?;
            Ok::<_, SyncError>(copy_metadata(&from, &mirror.local_dir(), limits)?)
        })
        .await;
        if let Some(Err(err)) = copied {
            cluster.shutdown().await;
            return Err(err);
        }
    }
    let mut tool = Tool {
        cluster: cluster.clone(),
        mirror: mirror.clone(),
        hooks: HookRunner::start(base.join(HOOK_NAME), args.hook_timeout),
        limits: args.limits(),
        warned: HashSet::new(),
    };
    tool.reload().await;
    tool.mirror_batch(
        cluster
            .non_local()
            .into_iter()
            .map(Mirrored::Changed)
            .collect(),
    )
    .await;
    let mut watcher = if args.no_watch {
        None
    } else {
        match LocalWatcher::start(&local_dir) {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!(
                    "cannot watch {}: {err}{}; edits are read on SIGHUP only",
                    local_dir.display(),
                    super::watch::limit_hint(&err)
                );
                None
            }
        }
    };
    started.log_started(
        &cluster,
        &format!("mirroring the cluster into {}", base.display()),
    );
    let quiet = args.watch_delay;
    let max_wait = quiet.saturating_mul(10).max(Duration::from_secs(1));
    let result = loop {
        let edited = async {
            match &mut watcher {
                Some(watcher) => watcher.changed(quiet, max_wait).await,
                None => pending().await,
            }
        };
        tokio::select! {
            () = stopped(&mut stop) => break Ok(()),
            _ = hangup.recv() => tool.reload().await,
            message = inbox.recv() => match message {
                Some(message) => inbox.deliver(message),
                None => break Err(SyncError::MemberStopped),
            },
            edit = edited => match edit {
                Some(()) => tool.reload().await,
                None => {
                    tracing::warn!("stopped watching {}; use SIGHUP", local_dir.display());
                    watcher = None;
                }
            },
            event = events.next_event() => {
                let Some(first) = event else { break Err(SyncError::MemberStopped) };
                // What is already waiting goes into the same file-system job: a join brings
                // hundreds of changes at once, and one job per change costs a thread
                // hand-off each.
                let mut batch: Vec<Mirrored> = Mirrored::of(first).into_iter().collect();
                while batch.len() < MIRROR_BATCH {
                    let Some(next) = events.try_next_event() else { break };
                    batch.extend(Mirrored::of(next));
                }
                tool.mirror_batch(batch).await;
            }
        }
    };
    drop(watcher);
    tool.hooks.stop().await;
    inbox.stop().await;
    if result.is_ok() {
        crate::cmd::leave(&cluster).await;
    }
    cluster.shutdown().await;
    let problems = blocking(&mirror, |mirror| mirror.cleanup())
        .await
        .unwrap_or_default();
    for problem in problems {
        tracing::warn!("cleanup: {problem}");
    }
    tracing::info!("stopped; {} cleaned up", base.display());
    result
}

struct Tool {
    cluster: Cluster,
    mirror: Arc<Mutex<Mirror>>,
    hooks: HookRunner,
    limits: LocalLimits,
    /// Refusals already warned about.
    warned: HashSet<String>,
}

/// Most changes written by one file-system job.
const MIRROR_BATCH: usize = 256;

/// A change the mirror writes.
enum Mirrored {
    /// A member's new state.
    Changed(MemberSnapshot),
    /// A member forgotten (OFFLINE for `offline_retention`).
    Forgotten(MemberSnapshot),
}

impl Mirrored {
    fn of(event: MembershipEvent) -> Option<Mirrored> {
        match event {
            MembershipEvent::Changed(change) => Some(Mirrored::Changed(change.member)),
            MembershipEvent::Forgotten(member) => Some(Mirrored::Forgotten(member)),
            _ => None,
        }
    }
}

/// What the mirror did with one [`Mirrored`] change.
enum Done {
    Applied(String, Status, Outcome),
    Forgot(String, Vec<MirrorError>),
}

impl Tool {
    /// Writes changes into the mirror in order, in one file-system job that ends by touching
    /// the status directories that changed and looking for the hook, then queues the hook
    /// for each member written if there is one.
    async fn mirror_batch(&mut self, batch: Vec<Mirrored>) {
        if batch.is_empty() {
            return;
        }
        let done = blocking(&self.mirror, move |mirror| {
            let done = batch
                .into_iter()
                .map(|change| match change {
                    Mirrored::Changed(member) => {
                        let outcome = mirror.apply(&member);
                        Done::Applied(member.name.to_string(), member.status, outcome)
                    }
                    Mirrored::Forgotten(member) => {
                        let name = member.name.to_string();
                        let problems = mirror.forget(&name);
                        Done::Forgot(name, problems)
                    }
                })
                .collect::<Vec<_>>();
            let touched = mirror.touch_status_dirs();
            // Looked for once the batch is written: while there is none, nothing is queued
            // for it (the runner looks again at each run).
            let hook = std::fs::metadata(mirror.base().join(HOOK_NAME)).is_ok_and(|m| m.is_file());
            (done, touched, hook)
        })
        .await;
        let Some((done, touched, hook)) = done else {
            return;
        };
        for problem in touched {
            tracing::warn!("{problem}");
        }
        for item in done {
            match item {
                Done::Applied(name, status, outcome) => self.applied(name, status, outcome, hook),
                Done::Forgot(name, problems) => {
                    for problem in problems {
                        tracing::warn!("{problem}");
                    }
                    tracing::debug!("member {name} forgotten");
                }
            }
        }
    }

    /// Reports what writing one member did, and queues the hook for it if there is one.
    fn applied(&mut self, name: String, status: Status, outcome: Outcome, hook: bool) {
        match outcome {
            Outcome::Local => {}
            Outcome::Refused(reason) => {
                self.warn_once(format!("member name {name:?} skipped: {reason}"));
            }
            Outcome::Mirrored { dir, problems } => {
                for problem in problems {
                    match problem {
                        MirrorError::UnsafeKey { .. } => self.warn_once(problem.to_string()),
                        _ => tracing::warn!("{problem}"),
                    }
                }
                tracing::debug!("member {name} is {status}");
                if !hook {
                    return;
                }
                self.hooks.enqueue(HookCall {
                    member: name,
                    status,
                    dir,
                });
            }
        }
    }

    /// Reads the local directory and, if its files changed, the local metadata with them.
    /// Any error keeps the previous metadata.
    async fn reload(&mut self) {
        let limits = self.limits;
        let read = blocking(&self.mirror, move |mirror| {
            mirror.ensure_local()?;
            Ok::<_, SyncError>(read_local_metadata(&mirror.local_dir(), limits)?)
        })
        .await;
        match read {
            None => {}
            Some(Ok(read)) => {
                for (name, reason) in &read.skipped {
                    tracing::debug!("local file {name:?} is not metadata: {reason:?}");
                }
                let before = self.cluster.local().metadata_or_empty();
                if read.metadata != before {
                    tracing::info!(
                        "local metadata changed: {}",
                        describe_change(&before, &read.metadata)
                    );
                    self.cluster.set_local_metadata(read.metadata);
                }
            }
            Some(Err(err)) => tracing::error!("{err}; keeping the previous local metadata"),
        }
    }

    fn warn_once(&mut self, message: String) {
        if self.warned.contains(&message) {
            tracing::debug!("{message}");
        } else if self.warned.len() < MAX_WARNED {
            tracing::warn!("{message}");
            self.warned.insert(message);
        } else {
            tracing::debug!("{message}");
        }
    }
}

/// What changed between two versions of the local metadata, said once, as in
/// `a.txt set; old removed (1 key in all)`.
pub fn describe_change(before: &Metadata, after: &Metadata) -> String {
    let set: Vec<&str> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, _)| key.as_str())
        .collect();
    let removed: Vec<&str> = before
        .keys()
        .filter(|key| !after.contains_key(*key))
        .map(String::as_str)
        .collect();
    let mut parts = Vec::new();
    if !set.is_empty() {
        parts.push(format!("{} set", set.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("{} removed", removed.join(", ")));
    }
    let keys = match after.len() {
        1 => "1 key".to_owned(),
        n => format!("{n} keys"),
    };
    format!("{} ({keys} in all)", parts.join("; "))
}

fn lock(mirror: &Mutex<Mirror>) -> MutexGuard<'_, Mirror> {
    mirror
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a file-system job on the mirror off the async threads; `None` if the job panicked.
async fn blocking<T: Send + 'static>(
    mirror: &Arc<Mutex<Mirror>>,
    job: impl FnOnce(&mut Mirror) -> T + Send + 'static,
) -> Option<T> {
    let mirror = mirror.clone();
    match tokio::task::spawn_blocking(move || job(&mut lock(&mirror))).await {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::error!("file-system task failed: {err}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_names_the_keys_set_and_removed_with_the_right_plural() {
        let before: Metadata = [("a", "1"), ("b", "2")].into_iter().collect();
        let after: Metadata = [("a", "1"), ("c", "3")].into_iter().collect();
        assert_eq!(
            describe_change(&before, &after),
            "c set; b removed (2 keys in all)"
        );
        let one: Metadata = [("a", "9")].into_iter().collect();
        assert_eq!(
            describe_change(&before, &one),
            "a set; b removed (1 key in all)"
        );
        assert_eq!(
            describe_change(&one, &Metadata::empty()),
            "a removed (0 keys in all)"
        );
    }
}
