//! The options of `swim-protocol-sync` beyond the member's own (`--name`, `--peer`, ...).

use std::path::PathBuf;
use std::time::Duration;

use swim_protocol::config::parse_positive_seconds;

use super::handlers::HandlerLimits;
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
    /// Seconds an `on-update` hook or an `on-event` handler may run before it is killed.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_positive_seconds)]
    pub hook_timeout: Duration,
    /// Seconds an `on-query` handler may run before it is killed (and gives no response);
    /// keep it under the queries' own timeout.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_positive_seconds)]
    pub on_query_timeout: Duration,
    /// The control socket that `event`, `query` and `send` use (default: BASE/.control).
    #[arg(long, value_name = "PATH", env = "SWIM_CONTROL")]
    pub control: Option<PathBuf>,
    /// Permissions of the files written for remote members, in octal (the seed's 600: owner
    /// only; 644 lets other users' processes read the mirror).
    #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_file_mode)]
    pub file_mode: u32,
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

    /// The bounds on the handler scripts.
    pub fn handler_limits(&self) -> HandlerLimits {
        HandlerLimits {
            event_timeout: self.hook_timeout,
            query_timeout: self.on_query_timeout,
            ..HandlerLimits::default()
        }
    }

    /// The control socket's path: `--control`, else `.control` in the base directory.
    pub fn control_path(&self) -> PathBuf {
        self.control
            .clone()
            .unwrap_or_else(|| crate::control::path::sync_socket(&self.directory))
    }
}

/// Parses file permissions in octal, such as `600` or `0644`.
pub fn parse_file_mode(text: &str) -> Result<u32, String> {
    let digits = text.trim();
    let mode = u32::from_str_radix(digits, 8).map_err(|_| format!("{text:?} is not octal"))?;
    if digits.is_empty() || mode > 0o777 {
        return Err(format!("{text:?}: expected permissions from 000 to 777"));
    }
    Ok(mode)
}

#[cfg(test)]
mod tests {
    use super::parse_file_mode;

    #[test]
    fn file_modes_are_octal_permissions() {
        assert_eq!(parse_file_mode("600"), Ok(0o600));
        assert_eq!(parse_file_mode("0644"), Ok(0o644));
        for bad in ["", "8", "1777", "rw", "-1"] {
            assert!(parse_file_mode(bad).is_err(), "{bad}");
        }
    }
}
