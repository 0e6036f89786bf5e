//! Keeps a running member's keyring in step with its keyring file: the file is re-read
//! every [`POLL`] and applied when its text changed, and re-read and applied at once on
//! SIGHUP. A file that cannot be read or parsed leaves the keyring as it is (logged), so a
//! half-written file never locks a member out. Polling, rather than file notifications,
//! also sees the symlink swaps with which Kubernetes updates mounted secrets.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};

use crate::frame::keyring::{read_keyring_text, Keyring, LiveKeyring};
use crate::transport::stopped;

/// How often the file is looked at.
pub(crate) const POLL: Duration = Duration::from_secs(1);

struct Watched {
    path: PathBuf,
    live: LiveKeyring,
    /// The text last applied or refused, so each change is handled (and logged) once.
    last: Option<String>,
}

impl Watched {
    fn reload(&mut self, forced: bool) {
        match read_keyring_text(&self.path) {
            Ok(text) if forced || self.last.as_ref() != Some(&text) => {
                match Keyring::parse(&text) {
                    Ok(ring) => {
                        if *self.live.get() != ring {
                            info!(
                                path = %self.path.display(),
                                primary = %ring.primary(),
                                entries = ring.entries().len(),
                                "keyring reloaded"
                            );
                            self.live.set(ring);
                        }
                    }
                    Err(e) => warn!(
                        path = %self.path.display(),
                        "keyring file not applied, keeping the current keyring: {e}"
                    ),
                }
                self.last = Some(text);
            }
            Ok(_) => {}
            Err(e) => {
                if self.last.is_some() || forced {
                    warn!("keyring file not readable, keeping the current keyring: {e}");
                }
                self.last = None;
            }
        }
    }
}

/// Watches `path` until shutdown, applying its changes to `live` (which was started from
/// the file: reading it again first changes nothing).
pub(crate) async fn watch(path: PathBuf, live: LiveKeyring, mut shutdown: watch::Receiver<bool>) {
    let mut watched = Watched {
        path,
        live,
        last: None,
    };
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangups = Hangups::new();
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            _ = poll.tick() => watched.reload(false),
            () = hangups.next() => watched.reload(true),
        }
    }
}

/// SIGHUP, where there is such a thing.
struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signal = signal(SignalKind::hangup())
                .map_err(|e| warn!("cannot watch SIGHUP: {e}"))
                .ok();
            Hangups { signal }
        }
        #[cfg(not(unix))]
        Hangups {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
        }
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::keyring::Key;

    #[test]
    fn changes_apply_once_and_bad_files_change_nothing() {
        let dir = std::env::temp_dir().join(format!("swim-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keyring");
        let (k1, k2) = (Key::generate(), Key::generate());
        std::fs::write(&path, format!("{}\n", k1.to_base64())).unwrap();
        let live = LiveKeyring::new(Keyring::with_key(k1.clone()));
        let mut watched = Watched {
            path: path.clone(),
            live: live.clone(),
            last: std::fs::read_to_string(&path).ok(),
        };
        watched.reload(false);
        assert_eq!(*live.get(), Keyring::with_key(k1.clone()));
        // A change to the file is applied.
        std::fs::write(&path, format!("{}\n{}\n", k2.to_base64(), k1.to_base64())).unwrap();
        watched.reload(false);
        assert_eq!(
            live.get().primary(),
            &crate::frame::keyring::KeyringEntry::Key(k2.clone())
        );
        // A change made through the API stays until the file changes again...
        live.set(Keyring::with_key(k1.clone()));
        watched.reload(false);
        assert_eq!(*live.get(), Keyring::with_key(k1.clone()));
        // ...or SIGHUP asks for the file again.
        watched.reload(true);
        assert_eq!(live.get().entries().len(), 2);
        // Garbage and a missing file leave the keyring alone.
        let before = live.get();
        std::fs::write(&path, "not a key\n").unwrap();
        watched.reload(false);
        std::fs::remove_file(&path).unwrap();
        watched.reload(false);
        assert_eq!(live.get(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
