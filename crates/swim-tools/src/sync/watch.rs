//! Noticing edits in the local member's directory (inotify through `notify`), debounced.

use std::path::Path;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::names::is_editor_temporary;

/// Watches one directory; [`LocalWatcher::changed`] resolves once edits have settled.
pub struct LocalWatcher {
    _watcher: RecommendedWatcher,
    triggers: mpsc::Receiver<()>,
}

impl LocalWatcher {
    /// Starts watching `dir` (not its sub-directories).
    pub fn start(dir: &Path) -> notify::Result<LocalWatcher> {
        // One slot is enough: a pending trigger already means "read again".
        let (tx, triggers) = mpsc::channel(1);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            let relevant = match &event {
                Ok(event) => is_relevant(event),
                // An overflowed queue may have lost edits: read again.
                Err(_) => true,
            };
            if relevant {
                let _ = tx.try_send(());
            }
        })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        Ok(LocalWatcher {
            _watcher: watcher,
            triggers,
        })
    }

    /// Waits for an edit, then until no further edit came for `quiet` (at most `max_wait`
    /// after the first). `None` if the watcher stopped.
    pub async fn changed(&mut self, quiet: Duration, max_wait: Duration) -> Option<()> {
        debounced(&mut self.triggers, quiet, max_wait).await
    }
}

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
