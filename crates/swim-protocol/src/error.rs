//! Errors of the library.

use std::time::Duration;

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The protocol timings are inconsistent.
    #[error(transparent)]
    Protocol(#[from] swim_core::ConfigError),
    /// Anything else, described.
    #[error("{0}")]
    Invalid(String),
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
