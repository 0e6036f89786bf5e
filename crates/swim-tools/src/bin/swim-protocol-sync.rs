//! The swim-protocol-sync command: runs a cluster member and mirrors the cluster into a
//! directory. Each member has a sub-directory named after it; the files in the local
//! member's sub-directory are its metadata, and appear in the same sub-directory on every
//! other member. Edits are picked up automatically, or on SIGHUP.

use std::process::ExitCode;

use clap::Parser;
use swim_tools::cmd;
use swim_tools::sync::{daemon, SyncArgs};

/// Runs a cluster member. Each member in the cluster has a sub-directory with its member
/// name. Files placed in the sub-directory of the local member are synchronized to the same
/// sub-directory on other members of the cluster. Edits are noticed automatically; SIGHUP
/// also makes the process read them.
#[derive(Debug, Parser)]
#[command(name = "swim-protocol-sync", version, after_help = cmd::EXIT_STATUS_HELP)]
struct Cli {
    #[command(flatten)]
    swim: swim_protocol::Args,
    #[command(flatten)]
    sync: SyncArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cmd::run_main("swim-protocol-sync", 0, run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    cmd::init_logging("info");
    let stop = cmd::stop_signals()?;
    let mut config = cli.swim.into_config()?;
    std::fs::create_dir_all(&cli.sync.directory)?;
    config.local_metadata =
        daemon::initial_metadata(&cli.sync.directory, &config.local_name, cli.sync.limits())?;
    let Some(cluster) = cmd::start_member(config, &stop).await? else {
        return Ok(()); // stopped while waiting to start
    };
    daemon::run(cluster, cli.sync, stop).await?;
    Ok(())
}
