//! The demo's command line: the library's cluster options plus `--token-interval`.

use std::time::Duration;

use clap::Parser;

use swim_protocol::config::parse_positive_seconds;

use crate::control::client::MessagingCommand;
use crate::ops::shell::ShellCommand;
use crate::ops::OpsArgs;

/// Commands besides running a member.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DemoCommand {
    /// `event`, `query`, `send`.
    #[command(flatten)]
    Messaging(MessagingCommand),
    /// `completions`, `man`.
    #[command(flatten)]
    Shell(ShellCommand),
}

/// Runs one cluster member for demo purposes, showing the status and metadata of every member
/// as they change. Type to set the local metadata key `typed`; Ctrl-C quits.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "swim-protocol-demo",
    version,
    after_help = crate::cmd::EXIT_STATUS_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct DemoArgs {
    /// Talk to a running member, or print shell completions or the man page, instead of
    /// running.
    #[command(subcommand)]
    pub command: Option<DemoCommand>,

    /// The library's cluster options (with `SWIM_*` environment fallbacks).
    #[command(flatten)]
    pub swim: swim_protocol::Args,

    /// Set the local metadata key `token` to 16 random bytes at random intervals around SECONDS.
    #[arg(
        short = 'i',
        long,
        value_name = "SECONDS",
        value_parser = parse_positive_seconds,
        allow_negative_numbers = true,
        help_heading = "swim demo options"
    )]
    pub token_interval: Option<Duration>,

    /// The control socket that `event`, `query` and `send` use (default: NAME.sock in
    /// $XDG_RUNTIME_DIR/swim-protocol-demo, or in /tmp/swim-protocol-demo-UID).
    #[arg(
        long,
        value_name = "PATH",
        env = "SWIM_CONTROL",
        help_heading = "swim demo options"
    )]
    pub control: Option<std::path::PathBuf>,

    /// Metrics, status page and logging.
    #[command(flatten)]
    pub ops: OpsArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_demo_command() {
        let args = DemoArgs::try_parse_from([
            "swim-protocol-demo",
            "--name",
            "127.0.0.1:2001",
            "--peer",
            "127.0.0.1:2003",
            "-i",
            "2.5",
        ])
        .unwrap();
        assert_eq!(args.token_interval, Some(Duration::from_millis(2500)));
        let config = args.swim.into_config_with_env("SWIM", |_| None).unwrap();
        assert_eq!(config.local_name, "127.0.0.1:2001");
        assert_eq!(config.peers, ["127.0.0.1:2003"]);
    }

    #[test]
    fn rejects_a_bad_token_interval() {
        for bad in ["0", "-3", "soon"] {
            let parsed =
                DemoArgs::try_parse_from(["demo", "--name", "a:1", "--token-interval", bad]);
            assert!(parsed.is_err(), "{bad} accepted");
        }
    }
}
