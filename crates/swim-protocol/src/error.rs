//! Errors of the library.

use std::path::PathBuf;
use std::time::Duration;

use crate::address::AddressError;

/// A configuration that cannot work.
///
/// Each message is complete on its own and no variant reports another error as its
/// `source`, so a chain printer (`anyhow`'s `{:#}`) says each thing once.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The protocol timings are inconsistent.
    #[error(transparent)]
    Protocol(#[from] swim_core::ConfigError),
    /// Anything else, described.
    #[error("{0}")]
    Invalid(String),
    /// A member name (the local one, a peer's) or a host is not a valid address.
    #[error("{what}: {error}")]
    Address {
        /// Which setting holds it, as in `local name` or `peer "x"`.
        what: String,
        /// What is wrong.
        error: AddressError,
    },
    /// No local name was given.
    #[error("the local member needs a name: pass --name or set {env_var}")]
    MissingName {
        /// The environment variable that can hold it.
        env_var: String,
    },
    /// The secret file cannot be used.
    #[error("cannot read the secret from {path:?}: {reason}")]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An environment variable holds a value that cannot be used.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable's name.
        var: String,
        /// Why its value cannot be used.
        reason: String,
    },
}

/// Why a member could not start. As with [`ConfigError`], each message is complete and no
/// variant has a `source`, so nothing is printed twice.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid; retrying will not help.
    #[error("invalid configuration: {0}")]
    Config(ConfigError),
    /// A failure that may pass (DNS not ready, no peers found yet): retry after `retry_after`.
    #[error("{reason} (retry in {retry_after:?})")]
    Transient {
        /// What failed.
        reason: String,
        /// A suggested wait before retrying.
        retry_after: Duration,
    },
    /// The sockets could not be opened.
    #[error("cannot open sockets: {0}")]
    Io(std::io::Error),
}

impl StartError {
    /// The process exit status a command-line tool should end with: 2 for a configuration
    /// error (a usage error: retrying will not help), 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self {
            StartError::Config(_) => 2,
            StartError::Transient { .. } | StartError::Io(_) => 1,
        }
    }
}

impl From<ConfigError> for StartError {
    fn from(error: ConfigError) -> Self {
        StartError::Config(error)
    }
}

impl From<std::io::Error> for StartError {
    fn from(error: std::io::Error) -> Self {
        StartError::Io(error)
    }
}

impl From<swim_core::ConfigError> for StartError {
    fn from(error: swim_core::ConfigError) -> Self {
        StartError::Config(error.into())
    }
}
