//! Errors of the library.

use std::path::PathBuf;
use std::time::Duration;

use crate::AddressError;

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The protocol timings are inconsistent.
    #[error(transparent)]
    Protocol(#[from] swim_core::ConfigError),
    /// Anything else, described.
    #[error("{0}")]
    Invalid(String),
    /// A member name (the local one, a peer's) or a host is not a valid address.
    #[error("{what}: {source}")]
    Address {
        /// Which setting holds it, as in `local name` or `peer "x"`.
        what: String,
        /// What is wrong.
        source: AddressError,
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

/// Why a member could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid; retrying will not help.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
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
    Io(#[from] std::io::Error),
}
