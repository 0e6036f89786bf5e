//! The native frame around every payload of our wire format, UDP and TCP: signed with the
//! shared secret or encrypted with the keyring's primary key, bound to the cluster label
//! and to the recipient, and numbered so that a receiver accepts each frame at most once.
//! The byte layout is specified in `docs/signing.md`; the threat model in
//! `docs/SECURITY.md`. The protocol core never sees a key: this wraps the codec.
//!
//! ```text
//! off len
//!  0   1  version = 2
//!  1   1  mode: 1 signed (HMAC-SHA256), 2 encrypted (XChaCha20-Poly1305)
//!  2   4  label id     SHA-256("swim-rs label\0" || label)[..4]
//!  6   4  key id       SHA-256("swim-rs key id\0" || key)[..4]; 0 when signed
//! 10   4  recipient    SHA-256("swim-rs recipient\0" || name)[..4], 0 when not known
//! 14   8  sender       random id of the sending process
//! 22   8  counter      +1 per frame sent by that process
//! 30   8  time         sender's clock, ms since the Unix epoch, never decreasing
//! 38   -  signed: tag (32) then payload; encrypted: ciphertext then tag (16)
//! aad = len(label) (1 byte) || label || header (38 bytes); nonce = header[14..38]
//! ```

pub(crate) mod aead;
pub(crate) mod hmac;
pub mod keyring;
pub(crate) mod replay;

pub use self::replay::Replayed;

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use swim_core::MemberName;

use self::hmac::HmacKey;
use self::keyring::{KeyId, KeyringEntry, LiveKeyring};
use self::replay::ReplayGuard;

/// The version byte of the frames written and accepted.
pub(crate) const VERSION: u8 = 2;
/// Length of the header.
pub(crate) const HEADER_LEN: usize = 38;
/// Longest cluster label.
pub const MAX_LABEL_LEN: usize = 255;
/// Bytes a frame adds to its payload, at most (signed mode).
pub(crate) const MAX_OVERHEAD: usize = HEADER_LEN + hmac::TAG_LEN;
/// How many names of members heard from are remembered for binding frames to them.
const MAX_KNOWN_RECIPIENTS: usize = 65_536;

const MODE_SIGNED: u8 = 1;
const MODE_ENCRYPTED: u8 = 2;
const NO_RECIPIENT: [u8; 4] = [0; 4];
/// Signed frames have one key, the shared secret: a wrong secret is a bad signature.
const SIGNED_KEY_ID: KeyId = KeyId([0; 4]);

/// Why a frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Too short, or an unknown version or mode.
    #[error("malformed frame")]
    Malformed,
    /// Made for a cluster with another label.
    #[error("another cluster label")]
    WrongLabel,
    /// Its key (or the signed mode) is not in our keyring.
    #[error("key not in the keyring")]
    UnknownKey,
    /// The tag does not verify: another secret or key, or the frame was altered.
    #[error("bad signature")]
    BadSignature,
    /// Authentic, but addressed to another member.
    #[error("addressed to another member")]
    Misdirected,
    /// Authentic, but accepted before (or too old to tell).
    #[error("replayed frame: {0:?}")]
    Replayed(Replayed),
}

/// The header fields of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub mode: u8,
    pub label: [u8; 4],
    pub key: KeyId,
    pub recipient: [u8; 4],
    pub sender: u64,
    pub counter: u64,
    pub time_ms: u64,
}

impl Header {
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0] = VERSION;
        out[1] = self.mode;
        out[2..6].copy_from_slice(&self.label);
        out[6..10].copy_from_slice(&self.key.0);
        out[10..14].copy_from_slice(&self.recipient);
        out[14..22].copy_from_slice(&self.sender.to_be_bytes());
        out[22..30].copy_from_slice(&self.counter.to_be_bytes());
        out[30..38].copy_from_slice(&self.time_ms.to_be_bytes());
        out
    }

    fn parse(frame: &[u8]) -> Result<Header, FrameError> {
        let Some(bytes) = frame.get(..HEADER_LEN) else {
            return Err(FrameError::Malformed);
        };
        let mode = bytes[1];
        if bytes[0] != VERSION || !matches!(mode, MODE_SIGNED | MODE_ENCRYPTED) {
            return Err(FrameError::Malformed);
        }
        let four = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        let eight = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        Ok(Header {
            mode,
            label: four(2),
            key: KeyId(four(6)),
            recipient: four(10),
            sender: eight(14),
            counter: eight(22),
            time_ms: eight(30),
        })
    }
}

/// Associated data of a frame: the label (length-prefixed) and the header.
fn aad(label: &[u8], header: &[u8; HEADER_LEN]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + label.len() + HEADER_LEN);
    aad.push(label.len() as u8);
    aad.extend_from_slice(label);
    aad.extend_from_slice(header);
    aad
}

fn nonce(header: &[u8; HEADER_LEN]) -> [u8; aead::NONCE_LEN] {
    let mut nonce = [0u8; aead::NONCE_LEN];
    nonce.copy_from_slice(&header[14..38]);
    nonce
}

fn short_hash(domain: &[u8], bytes: &[u8]) -> [u8; 4] {
    let d = Sha256::new()
        .chain_update(domain)
        .chain_update(bytes)
        .finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The label id carried in every frame.
pub(crate) fn label_id(label: &[u8]) -> [u8; 4] {
    short_hash(b"swim-rs label\0", label)
}

/// The recipient id of a member name; never the "no recipient" value.
pub(crate) fn recipient_id(name: &str) -> [u8; 4] {
    match short_hash(b"swim-rs recipient\0", name.as_bytes()) {
        NO_RECIPIENT => [0, 0, 0, 1],
        id => id,
    }
}

/// The wall clock in milliseconds since the Unix epoch (0 before it).
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a member's native framing needs besides the secret.
#[derive(Debug, Clone)]
pub struct FrameSettings {
    /// The cluster label (at most [`MAX_LABEL_LEN`] bytes; empty for none).
    pub label: Vec<u8>,
    /// The live keyring.
    pub keyring: LiveKeyring,
    /// How far behind the receiver's a sender's clock may be (see "Replay protection" in `docs/SECURITY.md`).
    pub max_clock_skew: Duration,
}

/// Default allowed clock skew between members (see "Replay protection" in `docs/SECURITY.md`).
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(5);

impl Default for FrameSettings {
    /// No label, signed frames only, [`DEFAULT_MAX_CLOCK_SKEW`].
    fn default() -> Self {
        FrameSettings {
            label: Vec::new(),
            keyring: LiveKeyring::default(),
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
        }
    }
}

/// The native framing of one member: seals what it sends, opens what it receives. The
/// runtime uses one per member; it is public for tests, fuzzing and tools that must speak
/// the frame format.
pub struct Framer {
    label: Vec<u8>,
    label_id: [u8; 4],
    secret: HmacKey,
    keyring: LiveKeyring,
    sender: u64,
    counter: AtomicU64,
    clock_ms: AtomicU64,
    local: [u8; 4],
    known: Mutex<HashSet<MemberName>>,
    replay: Mutex<ReplayGuard>,
}

impl std::fmt::Debug for Framer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Framer")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl Framer {
    /// The framing of member `local_name` with the shared `secret`, for a process with a
    /// fresh random id.
    pub fn new(secret: &[u8], local_name: &str, settings: FrameSettings) -> Framer {
        Framer::with_sender(secret, local_name, settings, rand::random())
    }

    /// [`Framer::new`] with the given process id, for simulations that must not use a
    /// global random generator. Two live processes must never share an id.
    pub fn with_sender(
        secret: &[u8],
        local_name: &str,
        mut settings: FrameSettings,
        sender: u64,
    ) -> Framer {
        // The configuration refuses longer labels; the length must fit its one byte.
        settings.label.truncate(MAX_LABEL_LEN);
        let now = wall_ms();
        let skew = u64::try_from(settings.max_clock_skew.as_millis()).unwrap_or(u64::MAX);
        Framer {
            label_id: label_id(&settings.label),
            label: settings.label,
            secret: HmacKey::new(secret),
            keyring: settings.keyring,
            sender,
            counter: AtomicU64::new(0),
            clock_ms: AtomicU64::new(0),
            local: recipient_id(local_name),
            known: Mutex::new(HashSet::new()),
            replay: Mutex::new(ReplayGuard::new(now.saturating_sub(skew))),
        }
    }

    /// Wraps `payload` for member `to` with the keyring's primary entry.
    pub fn seal(&self, payload: &[u8], to: &MemberName) -> Vec<u8> {
        let known = lock(&self.known).contains(to);
        // Never decreasing, even if the wall clock steps back.
        let now = wall_ms();
        let time_ms = self.clock_ms.fetch_max(now, Ordering::Relaxed).max(now);
        let keyring = self.keyring.get();
        let (mode, key) = match keyring.primary() {
            KeyringEntry::Signed => (MODE_SIGNED, SIGNED_KEY_ID),
            KeyringEntry::Key(key) => (MODE_ENCRYPTED, key.id()),
        };
        let header = Header {
            mode,
            label: self.label_id,
            key,
            recipient: if known {
                recipient_id(to)
            } else {
                NO_RECIPIENT
            },
            sender: self.sender,
            counter: self.counter.fetch_add(1, Ordering::Relaxed),
            time_ms,
        };
        seal_with(
            &self.secret,
            &self.label,
            keyring.primary(),
            header,
            payload,
        )
    }

    /// Checks a frame, in the order of cost: layout, label, key, tag, recipient, replay.
    /// Returns the payload.
    pub fn open<'a>(&self, frame: &'a [u8]) -> Result<Cow<'a, [u8]>, FrameError> {
        let header = Header::parse(frame)?;
        if header.label != self.label_id {
            return Err(FrameError::WrongLabel);
        }
        let bytes = header.to_bytes();
        let aad = aad(&self.label, &bytes);
        let body = &frame[HEADER_LEN..];
        let keyring = self.keyring.get();
        let payload = if header.mode == MODE_SIGNED {
            if header.key != SIGNED_KEY_ID || !keyring.accepts_signed() {
                return Err(FrameError::UnknownKey);
            }
            if body.len() < hmac::TAG_LEN {
                return Err(FrameError::Malformed);
            }
            let (tag, payload) = body.split_at(hmac::TAG_LEN);
            if !self.secret.verify(&[&aad], payload, tag) {
                return Err(FrameError::BadSignature);
            }
            Cow::Borrowed(payload)
        } else {
            let key = keyring.key(header.key).ok_or(FrameError::UnknownKey)?;
            let Some(split) = body.len().checked_sub(aead::TAG_LEN) else {
                return Err(FrameError::Malformed);
            };
            let (ciphertext, tag) = body.split_at(split);
            let mut tag_bytes = [0u8; aead::TAG_LEN];
            tag_bytes.copy_from_slice(tag);
            let mut plain = ciphertext.to_vec();
            if !aead::open(key, &nonce(&bytes), &aad, &mut plain, &tag_bytes) {
                return Err(FrameError::BadSignature);
            }
            Cow::Owned(plain)
        };
        if header.recipient != NO_RECIPIENT && header.recipient != self.local {
            return Err(FrameError::Misdirected);
        }
        lock(&self.replay)
            .accept(header.sender, header.counter, header.time_ms)
            .map_err(FrameError::Replayed)?;
        Ok(payload)
    }

    /// Remembers that member `name` sent us a valid packet, so that frames to it are bound
    /// to it from now on (a frame to a name never heard from, e.g. a peer known by another
    /// name, carries no recipient).
    pub fn heard_from(&self, name: &MemberName) {
        let mut known = lock(&self.known);
        if known.len() < MAX_KNOWN_RECIPIENTS && !known.contains(name) {
            known.insert(name.clone());
        }
    }
}

/// Builds a frame: the header, then the signed payload or the ciphertext.
pub(crate) fn seal_with(
    secret: &HmacKey,
    label: &[u8],
    entry: &KeyringEntry,
    header: Header,
    payload: &[u8],
) -> Vec<u8> {
    let bytes = header.to_bytes();
    let aad = aad(label, &bytes);
    let mut frame = Vec::with_capacity(MAX_OVERHEAD + payload.len());
    frame.extend_from_slice(&bytes);
    match entry {
        KeyringEntry::Signed => {
            frame.extend_from_slice(&secret.tag(&[&aad], payload));
            frame.extend_from_slice(payload);
        }
        KeyringEntry::Key(key) => {
            frame.extend_from_slice(payload);
            let tag = aead::seal(key, &nonce(&bytes), &aad, &mut frame[HEADER_LEN..]);
            frame.extend_from_slice(&tag);
        }
    }
    frame
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(test)]
mod tests;
