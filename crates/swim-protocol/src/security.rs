//! A member's security settings, all in one place: the shared secret, cluster label,
//! keyring (or keyring file), allowed clock skew for replay protection, source allow-list
//! and request budgets. They are settings only: the frame layer (`frame/`) and admission
//! (`admission/`) enforce them. See `docs/SECURITY.md` for what each protects against.

use std::path::PathBuf;
use std::time::Duration;

use crate::admission::cidr::Cidr;
use crate::admission::Limits;
use crate::error::ConfigError;
use crate::frame::keyring::{read_keyring_file, Keyring};
use crate::frame::{DEFAULT_MAX_CLOCK_SKEW, MAX_LABEL_LEN};

/// The security settings of a member. `Default`: no secret (one derived from the machine,
/// loopback only), no label, frames signed with the secret (no encryption), every source
/// address allowed, the default budgets.
///
/// ```
/// use swim_protocol::frame::keyring::{Key, Keyring};
/// use swim_protocol::security::Security;
/// let security = Security::default()
///     .with_label("prod-eu")
///     .with_keyring(Keyring::with_key(Key::generate()))
///     .with_allow(vec!["10.0.0.0/8".parse().unwrap()]);
/// assert!(security.validate().is_ok());
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Security {
    /// Shared secret signing every frame (and keying the replay window); `None` derives
    /// one from the machine (loopback only). With a keyring that has keys, frames are
    /// encrypted with the keys instead.
    pub secret: Option<Vec<u8>>,
    /// The cluster label, bound into every frame: clusters with other labels (or none)
    /// ignore this member even with the same secret or key. At most 255 bytes.
    pub label: String,
    /// The keyring at start (replaced by the file's when `keyring_file` is set).
    pub keyring: Keyring,
    /// A keyring file, read at start and again whenever it changes (and on SIGHUP).
    pub keyring_file: Option<PathBuf>,
    /// How far behind ours another member's clock may be: a restarted member refuses
    /// frames stamped earlier than its start minus this (replay protection).
    pub max_clock_skew: Duration,
    /// Source allow-list and request budgets.
    pub limits: Limits,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            secret: None,
            label: String::new(),
            keyring: Keyring::signed_only(),
            keyring_file: None,
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            limits: Limits::default(),
        }
    }
}

impl std::fmt::Debug for Security {
    /// Like a derived `Debug`, but the secret is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("label", &self.label)
            .field("keyring", &self.keyring)
            .field("keyring_file", &self.keyring_file)
            .field("max_clock_skew", &self.max_clock_skew)
            .field("limits", &self.limits)
            .finish()
    }
}

impl Security {
    /// Sets the shared secret.
    #[must_use]
    pub fn with_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Sets the cluster label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the keyring.
    #[must_use]
    pub fn with_keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = keyring;
        self
    }

    /// Reads the keyring from `path`, at start and whenever it changes.
    #[must_use]
    pub fn with_keyring_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.keyring_file = Some(path.into());
        self
    }

    /// Allows only sources in these blocks (empty: every address).
    #[must_use]
    pub fn with_allow(mut self, allow: Vec<Cidr>) -> Self {
        self.limits.allow = allow;
        self
    }

    /// Sets the allowed clock skew.
    #[must_use]
    pub fn with_max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// Checks what can be checked without the file system.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.secret.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::Invalid(
                "the secret is empty: give a non-empty secret, or none to derive one from this \
                 machine (loopback only)"
                    .to_owned(),
            ));
        }
        if self.label.len() > MAX_LABEL_LEN {
            return Err(ConfigError::Invalid(format!(
                "the cluster label is {} bytes long, at most {MAX_LABEL_LEN} are allowed",
                self.label.len()
            )));
        }
        Ok(())
    }

    /// The keyring to start with: the file's if one is set, else `keyring`.
    pub fn initial_keyring(&self) -> Result<Keyring, ConfigError> {
        match &self.keyring_file {
            Some(path) => read_keyring_file(path).map_err(|e| ConfigError::Invalid(e.to_string())),
            None => Ok(self.keyring.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_refused() {
        assert!(Security::default()
            .with_label("x".repeat(255))
            .validate()
            .is_ok());
        let err = Security::default()
            .with_label("x".repeat(256))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("label"), "{err}");
    }

    #[test]
    fn a_keyring_file_wins_and_must_be_readable() {
        let missing = Security::default().with_keyring_file("/nonexistent/swim-keyring");
        let err = missing.initial_keyring().unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/swim-keyring"),
            "{err}"
        );
        assert_eq!(
            Security::default().initial_keyring().unwrap(),
            Keyring::signed_only()
        );
    }
}
