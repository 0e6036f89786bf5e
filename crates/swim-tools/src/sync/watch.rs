//! Noticing edits in the local member's directory (inotify through `notify`), debounced.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::names::is_editor_temporary;

/// What to do about a watch that could not start because a limit was reached, as a clause
/// to append to the error (empty for other errors). inotify fails with "Too many open files"
/// when the user's inotify instances (`fs.inotify.max_user_instances`, 128 by default) or the
/// process's file descriptors are used up, and with "No space left on device" when the
/// user's watches are (`fs.inotify.max_user_watches`).
pub fn limit_hint(err: &notify::Error) -> &'static str {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    const ENOSPC: i32 = 28;
    match &err.kind {
        notify::ErrorKind::MaxFilesWatch => WATCHES_HINT,
        notify::ErrorKind::Io(io) => match io.raw_os_error() {
            Some(EMFILE) | Some(ENFILE) => {
                " (inotify instances or file descriptors used up: raise the sysctl \
                 fs.inotify.max_user_instances, 128 by default, or the open-file limit, \
                 ulimit -n)"
            }
            Some(ENOSPC) => WATCHES_HINT,
            _ => "",
        },
        _ => "",
    }
}

const WATCHES_HINT: &str =
    " (the inotify watches of this user are used up: raise the sysctl fs.inotify.max_user_watches)";

/// Watches one directory; [`LocalWatcher::changed`] resolves once edits have settled. A
/// directory removed or renamed away (an editor or a deployment replacing it) is looked for
/// again until it is back, then watched again, instead of silently lost. Its parent, the
/// base directory, is not watched: the mirror writes there all the time (a directory per
/// member, its mtime at every change), and each write would wake the watcher.
pub struct LocalWatcher {
    watcher: RecommendedWatcher,
    dir: PathBuf,
    triggers: mpsc::Receiver<()>,
    /// Set when an event was about the directory itself (removed, renamed, replaced).
    rewatch: Arc<AtomicBool>,
    /// The directory was gone when last looked for: look again before waiting for edits.
    missing: bool,
}

impl LocalWatcher {
    /// Starts watching `dir` (not its sub-directories).
    pub fn start(dir: &Path) -> notify::Result<LocalWatcher> {
        // One slot is enough: a pending trigger already means "read again".
        let (tx, triggers) = mpsc::channel(1);
        let rewatch = Arc::new(AtomicBool::new(false));
        let (flag, own) = (rewatch.clone(), dir.to_owned());
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            let relevant = match &event {
                Ok(event) if event.paths.iter().any(|path| path == &own) => {
                    flag.store(true, Ordering::Relaxed);
                    true
                }
                Ok(event) => {
                    event.paths.iter().any(|p| p.parent() == Some(&own)) && is_relevant(event)
                }
                // An overflowed queue may have lost edits: read again.
                Err(_) => true,
            };
            if relevant {
                let _ = tx.try_send(());
            }
        })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        Ok(LocalWatcher {
            watcher,
            dir: dir.to_owned(),
            triggers,
            rewatch,
            missing: false,
        })
    }

    /// Waits for an edit, then until no further edit came for `quiet` (at most `max_wait`
    /// after the first). `None` if the watcher stopped. While the directory is gone, looks
    /// for it every `quiet` and resolves once it is back (and watched again). Safe to drop
    /// at any point and call again.
    pub async fn changed(&mut self, quiet: Duration, max_wait: Duration) -> Option<()> {
        if self.missing {
            loop {
                tokio::time::sleep(quiet.max(MIN_LOOK_AGAIN)).await;
                if self.watch_again() {
                    self.missing = false;
                    return Some(());
                }
            }
        }
        let changed = debounced(&mut self.triggers, quiet, max_wait).await;
        if self.rewatch.swap(false, Ordering::Relaxed) && !self.watch_again() {
            // Gone: read now (it is empty to the reader), look for it from the next call.
            self.missing = true;
        }
        changed
    }

    /// Watches the directory afresh (the old watch died with the old directory); false if
    /// it is not there.
    fn watch_again(&mut self) -> bool {
        let _ = self.watcher.unwatch(&self.dir);
        match self.watcher.watch(&self.dir, RecursiveMode::NonRecursive) {
            Ok(()) => true,
            Err(err) => {
                tracing::debug!("{} not watched yet: {err}", self.dir.display());
                false
            }
        }
    }
}

/// How often a missing local directory is looked for, at the least.
const MIN_LOOK_AGAIN: Duration = Duration::from_millis(100);

/// Whether a file-system event may change the metadata: reads and opens are not (the
/// mirror's own reads would otherwise trigger it), nor events only about dotfiles or editor
/// temporaries.
fn is_relevant(event: &Event) -> bool {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return false,
        _ => {}
    }
    event.paths.is_empty()
        || event.paths.iter().any(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_none_or(|name| !name.starts_with('.') && !is_editor_temporary(name))
        })
}

/// Waits for a trigger on `rx`, then for `quiet` without one (at most `max_wait` after the
/// first), draining what came meanwhile. `None` once the sender is gone.
pub async fn debounced(
    rx: &mut mpsc::Receiver<()>,
    quiet: Duration,
    max_wait: Duration,
) -> Option<()> {
    rx.recv().await?;
    let give_up = Instant::now() + max_wait;
    loop {
        let until = (Instant::now() + quiet).min(give_up);
        match tokio::time::timeout_at(until, rx.recv()).await {
            Err(_elapsed) => return Some(()),
            Ok(None) => return Some(()),
            Ok(Some(())) if Instant::now() >= give_up => return Some(()),
            Ok(Some(())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind};
    use std::path::PathBuf;

    fn event(kind: EventKind, names: &[&str]) -> Event {
        let mut event = Event::new(kind);
        event.paths = names.iter().map(|n| PathBuf::from("/d").join(n)).collect();
        event
    }

    #[test]
    fn a_reached_limit_names_the_sysctl() {
        let io = |code| notify::Error::io(std::io::Error::from_raw_os_error(code));
        assert!(limit_hint(&io(24)).contains("fs.inotify.max_user_instances"));
        assert!(limit_hint(&io(28)).contains("fs.inotify.max_user_watches"));
        let watches = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        assert!(limit_hint(&watches).contains("fs.inotify.max_user_watches"));
        assert_eq!(limit_hint(&io(2)), "");
    }

    #[test]
    fn reads_and_editor_files_are_not_relevant() {
        let open = EventKind::Access(AccessKind::Open(notify::event::AccessMode::Any));
        assert!(!is_relevant(&event(open, &["a"])));
        let close_write = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(is_relevant(&event(close_write, &["a"])));
        let create = EventKind::Create(CreateKind::File);
        assert!(is_relevant(&event(create, &["a"])));
        assert!(!is_relevant(&event(create, &[".a.swp"])));
        assert!(!is_relevant(&event(create, &["a~"])));
        let rename = EventKind::Modify(ModifyKind::Any);
        assert!(is_relevant(&event(rename, &[".a.swp", "a"])));
    }

    #[tokio::test]
    async fn a_new_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let mut watcher = LocalWatcher::start(dir.path()).unwrap();
        std::fs::write(dir.path().join("key"), b"value").unwrap();
        let quiet = Duration::from_millis(20);
        let changed = tokio::time::timeout(Duration::from_secs(10), watcher.changed(quiet, quiet));
        assert_eq!(changed.await, Ok(Some(())));
    }

    /// A base directory holding a watched directory `local`.
    fn watched_local() -> (tempfile::TempDir, PathBuf, LocalWatcher) {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("local");
        std::fs::create_dir(&dir).unwrap();
        let watcher = LocalWatcher::start(&dir).unwrap();
        (base, dir, watcher)
    }

    #[tokio::test]
    async fn a_directory_removed_and_created_again_is_watched_again() {
        let (base, dir, mut watcher) = watched_local();
        let (quiet, wait) = (Duration::from_millis(50), Duration::from_secs(10));
        std::fs::remove_dir(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        let changed = tokio::time::timeout(wait, watcher.changed(quiet, quiet));
        assert_eq!(changed.await, Ok(Some(())), "the new directory is noticed");
        // Edits in the new directory are seen.
        std::fs::write(dir.join("key"), b"value").unwrap();
        let changed = tokio::time::timeout(wait, watcher.changed(quiet, quiet));
        assert_eq!(changed.await, Ok(Some(())), "an edit in the new directory");
        // Edits elsewhere in the parent (the mirror's own writes) are not.
        std::fs::write(base.path().join("other"), b"x").unwrap();
        let changed =
            tokio::time::timeout(Duration::from_millis(500), watcher.changed(quiet, quiet));
        assert!(changed.await.is_err(), "a sibling's edit woke the watcher");
    }

    #[tokio::test]
    async fn a_directory_gone_for_a_while_is_looked_for_until_it_is_back() {
        let (_base, dir, mut watcher) = watched_local();
        let (quiet, wait) = (Duration::from_millis(50), Duration::from_secs(10));
        std::fs::remove_dir(&dir).unwrap();
        let changed = tokio::time::timeout(wait, watcher.changed(quiet, quiet));
        assert_eq!(changed.await, Ok(Some(())), "the removal is noticed");
        // Gone: nothing to report until it is back, however long that takes.
        let changed =
            tokio::time::timeout(Duration::from_millis(400), watcher.changed(quiet, quiet));
        assert!(changed.await.is_err(), "reported while still gone");
        std::fs::create_dir(&dir).unwrap();
        let changed = tokio::time::timeout(wait, watcher.changed(quiet, quiet));
        assert_eq!(changed.await, Ok(Some(())), "its return is noticed");
        std::fs::write(dir.join("key"), b"value").unwrap();
        let changed = tokio::time::timeout(wait, watcher.changed(quiet, quiet));
        assert_eq!(changed.await, Ok(Some(())), "an edit in the new directory");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_gives_one_change_after_it_settles() {
        let (tx, mut rx) = mpsc::channel(8);
        let start = Instant::now();
        let sender = tokio::spawn(async move {
            for _ in 0..5 {
                tx.send(()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(tx);
        });
        let quiet = Duration::from_millis(100);
        assert_eq!(
            debounced(&mut rx, quiet, Duration::from_secs(5)).await,
            Some(())
        );
        // Last trigger at 200 ms, then 100 ms of quiet.
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        assert_eq!(
            debounced(&mut rx, quiet, Duration::from_secs(5)).await,
            None
        );
        sender.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_never_ending_burst_is_cut_at_max_wait() {
        let (tx, mut rx) = mpsc::channel(8);
        let start = Instant::now();
        let sender = tokio::spawn(async move {
            while tx.send(()).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let got = debounced(&mut rx, Duration::from_millis(100), Duration::from_secs(1)).await;
        assert_eq!(got, Some(()));
        assert!(
            start.elapsed() <= Duration::from_millis(1010),
            "{:?}",
            start.elapsed()
        );
        assert!(start.elapsed() >= Duration::from_secs(1));
        drop(rx);
        sender.await.unwrap();
    }
}
