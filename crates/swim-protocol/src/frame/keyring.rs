//! The keyring: the encryption keys a member accepts, and which one it sends with.
//!
//! A keyring is an ordered list of entries. The first is the *primary*: every frame the
//! member sends uses it. All entries are accepted on receipt. An entry is either a 32-byte
//! key (frames encrypted with XChaCha20-Poly1305) or [`KeyringEntry::Signed`]: frames only
//! signed with the shared secret (HMAC-SHA256), which is how a cluster that does not
//! encrypt yet keeps talking while it moves to encryption.
//!
//! As a file (`--keyring-file`): one entry per line, a key in standard base64 or the word
//! `signed`; blank lines and lines starting with `#` are ignored; the first entry is primary.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Length of an encryption key.
pub const KEY_LEN: usize = 32;

/// Most entries a keyring may hold (rotation needs two or three).
pub const MAX_KEYRING_ENTRIES: usize = 16;

/// Largest keyring file read.
pub const MAX_KEYRING_FILE_LEN: u64 = 64 * 1024;

/// The word that stands for [`KeyringEntry::Signed`] in a keyring file.
pub const SIGNED_WORD: &str = "signed";

/// A 32-byte encryption key. Its `Debug` shows only its [`KeyId`].
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

/// The short, public name of a key (or of the shared secret) carried in every frame, so
/// that a receiver picks the right key without trying them all. Not secret: it is the
/// first 4 bytes of a hash of the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct KeyId(pub [u8; 4]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The id of any key material: SHA-256 over a domain prefix and the bytes, first 4 bytes.
pub(crate) fn key_id_of(material: &[u8]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(b"swim-rs key id\0")
        .chain_update(material)
        .finalize();
    KeyId([digest[0], digest[1], digest[2], digest[3]])
}

impl Key {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(bytes)
    }

    /// A fresh random key (from the thread-local CSPRNG, seeded by the operating system).
    pub fn generate() -> Key {
        let mut bytes = [0u8; KEY_LEN];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        Key(bytes)
    }

    /// A key from standard base64 (44 characters, surrounding spaces ignored).
    pub fn from_base64(text: &str) -> Result<Key, KeyringError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| KeyringError::BadKey(format!("not base64: {e}")))?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|b: Vec<u8>| {
            KeyringError::BadKey(format!("{} bytes, expected {KEY_LEN}", b.len()))
        })?;
        Ok(Key(bytes))
    }

    /// The key in standard base64, as written in a keyring file.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// The key's public id.
    pub fn id(&self) -> KeyId {
        key_id_of(&self.0)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id())
    }
}

/// One entry of a [`Keyring`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum KeyringEntry {
    /// Frames signed with the shared secret, not encrypted (the default mode).
    Signed,
    /// Frames encrypted with this key.
    Key(Key),
}

impl fmt::Display for KeyringEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringEntry::Signed => f.write_str(SIGNED_WORD),
            KeyringEntry::Key(key) => write!(f, "key {}", key.id()),
        }
    }
}

/// The keys a member accepts; the first (primary) is used to send. Never empty.
///
/// ```
/// use swim_protocol::frame::keyring::{Key, Keyring, KeyringEntry};
/// let (old, new) = (Key::generate(), Key::generate());
/// let mut ring = Keyring::with_key(old.clone());
/// ring.install(KeyringEntry::Key(new.clone())).unwrap(); // 1. everywhere
/// ring.use_primary(&KeyringEntry::Key(new.clone())).unwrap(); // 2. everywhere
/// ring.remove(&KeyringEntry::Key(old)).unwrap(); // 3. everywhere
/// assert_eq!(ring, Keyring::with_key(new));
/// ```
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Keyring {
    entries: Vec<KeyringEntry>,
}

impl Default for Keyring {
    /// Signed frames only: no encryption.
    fn default() -> Self {
        Keyring::signed_only()
    }
}

impl Keyring {
    /// Signed frames only, no encryption: the mode of a member without a keyring.
    pub fn signed_only() -> Keyring {
        Keyring {
            entries: vec![KeyringEntry::Signed],
        }
    }

    /// One encryption key, primary; signed-only frames are refused.
    pub fn with_key(key: Key) -> Keyring {
        Keyring {
            entries: vec![KeyringEntry::Key(key)],
        }
    }

    /// A keyring of `entries`, the first primary: not empty, no entry twice, at most
    /// [`MAX_KEYRING_ENTRIES`].
    pub fn new(entries: Vec<KeyringEntry>) -> Result<Keyring, KeyringError> {
        if entries.is_empty() {
            return Err(KeyringError::Empty);
        }
        if entries.len() > MAX_KEYRING_ENTRIES {
            return Err(KeyringError::TooMany(entries.len()));
        }
        for (i, entry) in entries.iter().enumerate() {
            if entries[..i].iter().any(|e| same_id(e, entry)) {
                return Err(KeyringError::Duplicate(entry.to_string()));
            }
        }
        Ok(Keyring { entries })
    }

    /// The entry frames are sent with.
    pub fn primary(&self) -> &KeyringEntry {
        &self.entries[0]
    }

    /// Every entry, primary first.
    pub fn entries(&self) -> &[KeyringEntry] {
        &self.entries
    }

    /// Whether frames only signed with the shared secret are accepted.
    pub fn accepts_signed(&self) -> bool {
        self.entries.contains(&KeyringEntry::Signed)
    }

    /// The encryption key with this id, if installed.
    pub fn key(&self, id: KeyId) -> Option<&Key> {
        self.entries.iter().find_map(|e| match e {
            KeyringEntry::Key(key) if key.id() == id => Some(key),
            _ => None,
        })
    }

    /// Adds `entry` as a secondary (accepted, not used to send); nothing if present.
    pub fn install(&mut self, entry: KeyringEntry) -> Result<(), KeyringError> {
        if self.entries.contains(&entry) {
            return Ok(());
        }
        let mut entries = self.entries.clone();
        entries.push(entry);
        *self = Keyring::new(entries)?;
        Ok(())
    }

    /// Makes an installed `entry` the primary.
    pub fn use_primary(&mut self, entry: &KeyringEntry) -> Result<(), KeyringError> {
        let at = self.position(entry)?;
        let entry = self.entries.remove(at);
        self.entries.insert(0, entry);
        Ok(())
    }

    /// Removes a secondary `entry`; the primary cannot be removed.
    pub fn remove(&mut self, entry: &KeyringEntry) -> Result<(), KeyringError> {
        match self.position(entry)? {
            0 => Err(KeyringError::RemovePrimary),
            at => {
                self.entries.remove(at);
                Ok(())
            }
        }
    }

    fn position(&self, entry: &KeyringEntry) -> Result<usize, KeyringError> {
        self.entries
            .iter()
            .position(|e| e == entry)
            .ok_or_else(|| KeyringError::NotInstalled(entry.to_string()))
    }

    /// Parses a keyring file's text (see the module documentation).
    pub fn parse(text: &str) -> Result<Keyring, KeyringError> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = if line == SIGNED_WORD {
                KeyringEntry::Signed
            } else {
                let key = Key::from_base64(line).map_err(|e| KeyringError::Line {
                    line: n + 1,
                    reason: e.to_string(),
                })?;
                KeyringEntry::Key(key)
            };
            entries.push(entry);
        }
        Keyring::new(entries)
    }

    /// The keyring as a file's text, primary first.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for entry in &self.entries {
            match entry {
                KeyringEntry::Signed => text.push_str(SIGNED_WORD),
                KeyringEntry::Key(key) => text.push_str(&key.to_base64()),
            }
            text.push('\n');
        }
        text
    }
}

/// Two entries that a receiver could not tell apart (same key id).
fn same_id(a: &KeyringEntry, b: &KeyringEntry) -> bool {
    match (a, b) {
        (KeyringEntry::Signed, KeyringEntry::Signed) => true,
        (KeyringEntry::Key(a), KeyringEntry::Key(b)) => a.id() == b.id(),
        _ => false,
    }
}

/// Reads a keyring file (at most [`MAX_KEYRING_FILE_LEN`] bytes).
pub fn read_keyring_file(path: &Path) -> Result<Keyring, KeyringError> {
    let text = read_keyring_text(path)?;
    Keyring::parse(&text).map_err(|e| KeyringError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The text of a keyring file, unparsed (at most [`MAX_KEYRING_FILE_LEN`] bytes).
pub(crate) fn read_keyring_text(path: &Path) -> Result<String, KeyringError> {
    use std::io::Read;
    let file_error = |reason: String| KeyringError::File {
        path: path.to_owned(),
        reason,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_KEYRING_FILE_LEN + 1).read_to_end(&mut bytes))
        .map_err(|e| file_error(e.to_string()))?;
    if bytes.len() as u64 > MAX_KEYRING_FILE_LEN {
        return Err(file_error(format!(
            "longer than {MAX_KEYRING_FILE_LEN} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|_| file_error("not UTF-8".to_owned()))
}

/// Why a keyring or a change to it was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// A keyring needs at least one entry.
    #[error("the keyring is empty")]
    Empty,
    /// More than [`MAX_KEYRING_ENTRIES`] entries.
    #[error("{0} keyring entries, at most {MAX_KEYRING_ENTRIES} are allowed")]
    TooMany(usize),
    /// The same entry (or two keys with one id) twice.
    #[error("{0} is in the keyring twice")]
    Duplicate(String),
    /// Not a valid key.
    #[error("bad key: {0}")]
    BadKey(String),
    /// A line of a keyring file is not a key nor `signed`.
    #[error("line {line}: {reason}")]
    Line {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The entry to use or remove is not installed.
    #[error("{0} is not installed")]
    NotInstalled(String),
    /// The primary entry is in use: make another primary first.
    #[error("the primary entry cannot be removed: make another one primary first")]
    RemovePrimary,
    /// The keyring file cannot be used.
    #[error("keyring file {path:?}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// A keyring shared by a running member's framing and whoever changes it (the
/// [`Cluster`](crate::Cluster) handle, a keyring file watcher): a change applies to the next
/// frame sent or received. Cheap to clone; clones share the keyring.
#[derive(Clone, Debug, Default)]
pub struct LiveKeyring(Arc<RwLock<Arc<Keyring>>>);

impl LiveKeyring {
    /// A live keyring holding `keyring`.
    pub fn new(keyring: Keyring) -> Self {
        LiveKeyring(Arc::new(RwLock::new(Arc::new(keyring))))
    }

    /// The keyring now (cheap: an `Arc` clone under a read lock).
    pub fn get(&self) -> Arc<Keyring> {
        match self.0.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the keyring (e.g. with a keyring file just read).
    pub fn set(&self, keyring: Keyring) {
        let _ = self.update(|ring| {
            *ring = keyring;
            Ok(())
        });
    }

    /// Installs `entry` as a secondary: see [`Keyring::install`].
    pub fn install(&self, entry: KeyringEntry) -> Result<(), KeyringError> {
        self.update(|ring| ring.install(entry))
    }

    /// Makes an installed entry the primary: see [`Keyring::use_primary`].
    pub fn use_primary(&self, entry: &KeyringEntry) -> Result<(), KeyringError> {
        self.update(|ring| ring.use_primary(entry))
    }

    /// Removes a secondary entry: see [`Keyring::remove`].
    pub fn remove(&self, entry: &KeyringEntry) -> Result<(), KeyringError> {
        self.update(|ring| ring.remove(entry))
    }

    /// Applies `change` to a copy and installs the copy if it succeeds: all or nothing.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Keyring) -> Result<T, KeyringError>,
    ) -> Result<T, KeyringError> {
        let mut guard = match self.0.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut ring = Keyring::clone(&guard);
        let out = change(&mut ring)?;
        *guard = Arc::new(ring);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Key {
        Key::from_bytes([byte; KEY_LEN])
    }

    #[test]
    fn base64_round_trips_and_bad_keys_are_refused() {
        let k = Key::generate();
        assert_eq!(Key::from_base64(&k.to_base64()).unwrap(), k);
        assert!(matches!(
            Key::from_base64("abc"),
            Err(KeyringError::BadKey(_))
        ));
        assert!(matches!(
            Key::from_base64(&BASE64.encode([1u8; 16])),
            Err(KeyringError::BadKey(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let k = key(0xab);
        let shown = format!("{:?}", Keyring::with_key(k.clone()));
        assert!(!shown.contains(&k.to_base64()));
        assert!(shown.contains(&k.id().to_string()));
    }

    #[test]
    fn the_file_format_parses_and_prints() {
        let text = format!(
            "# rotation in progress\n{}\n\n  signed  \n{}\n",
            key(1).to_base64(),
            key(2).to_base64()
        );
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(ring.primary(), &KeyringEntry::Key(key(1)));
        assert!(ring.accepts_signed());
        assert_eq!(ring.key(key(2).id()), Some(&key(2)));
        assert_eq!(ring.key(key(3).id()), None);
        assert_eq!(Keyring::parse(&ring.to_text()).unwrap(), ring);
    }

    #[test]
    fn bad_files_say_which_line() {
        let err = Keyring::parse(&format!("{}\nnonsense\n", key(1).to_base64())).unwrap_err();
        assert!(matches!(err, KeyringError::Line { line: 2, .. }), "{err}");
        assert_eq!(Keyring::parse("# nothing\n"), Err(KeyringError::Empty));
        assert!(matches!(
            Keyring::parse("signed\nsigned\n"),
            Err(KeyringError::Duplicate(_))
        ));
        let many: String = (0..=MAX_KEYRING_ENTRIES as u8)
            .map(|i| key(i).to_base64() + "\n")
            .collect();
        assert!(matches!(
            Keyring::parse(&many),
            Err(KeyringError::TooMany(17))
        ));
    }

    #[test]
    fn install_use_remove() {
        let mut ring = Keyring::signed_only();
        ring.install(KeyringEntry::Key(key(1))).unwrap();
        ring.install(KeyringEntry::Key(key(1))).unwrap(); // idempotent
        assert_eq!(ring.entries().len(), 2);
        assert_eq!(ring.primary(), &KeyringEntry::Signed);
        assert_eq!(
            ring.remove(&KeyringEntry::Signed),
            Err(KeyringError::RemovePrimary)
        );
        assert!(matches!(
            ring.use_primary(&KeyringEntry::Key(key(2))),
            Err(KeyringError::NotInstalled(_))
        ));
        ring.use_primary(&KeyringEntry::Key(key(1))).unwrap();
        ring.remove(&KeyringEntry::Signed).unwrap();
        assert_eq!(ring, Keyring::with_key(key(1)));
        assert!(!ring.accepts_signed());
    }

    #[test]
    fn shared_updates_are_all_or_nothing() {
        let shared = LiveKeyring::new(Keyring::signed_only());
        let before = shared.get();
        assert!(shared.update(|r| r.remove(&KeyringEntry::Signed)).is_err());
        assert_eq!(*shared.get(), *before);
        shared
            .update(|r| r.install(KeyringEntry::Key(key(9))))
            .unwrap();
        assert_eq!(shared.get().entries().len(), 2);
        assert_eq!(before.entries().len(), 1, "readers keep their copy");
    }
}
