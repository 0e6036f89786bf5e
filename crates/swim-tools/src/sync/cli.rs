//! The options of `swim-protocol-sync` beyond the member's own (`--name`, `--peer`, ...).

use std::path::PathBuf;
use std::time::Duration;

use swim_protocol::config::parse_positive_seconds;

use super::local::LocalLimits;

/// The application options: the directory and how it is kept.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "app options")]
pub struct SyncArgs {
    /// The base directory: one sub-directory per member, the local one's files are its metadata.
    #[arg(default_value = ".")]
    pub directory: PathBuf,
    /// Re-read the local directory on SIGHUP only, instead of also watching it for edits.
    #[arg(long)]
    pub no_watch: bool,
    /// Seconds without further edits to the local directory before it is read again.
    #[arg(long, value_name = "SECONDS", default_value = "0.2", value_parser = parse_positive_seconds)]
    pub watch_delay: Duration,
    /// Seconds an `on-update` hook may run before it is killed.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_positive_seconds)]
    pub hook_timeout: Duration,
    /// Largest file accepted in the local directory, in bytes; a larger one is an error and
    /// the previous metadata stays.
    #[arg(long, value_name = "BYTES", default_value_t = LocalLimits::default().max_file_size)]
    pub max_file_size: u64,
    /// A directory whose files are copied into the local member's directory at start: how a
    /// volume or a Docker config gives metadata to a member whose name, and so directory, is
    /// only known once discovery has found its address.
    #[arg(long, value_name = "DIR", env = "SWIM_METADATA_DIR")]
    pub metadata_from: Option<PathBuf>,
}

impl SyncArgs {
    /// The limits on the local directory.
    pub fn limits(&self) -> LocalLimits {
        LocalLimits {
            max_file_size: self.max_file_size,
            ..LocalLimits::default()
        }
    }
}
