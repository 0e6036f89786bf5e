//! The swim-protocol-sync command: runs a cluster member and mirrors the cluster into a
//! directory. Each member has a sub-directory named after it; the files in the local
//! member's sub-directory are its metadata, and appear in the same sub-directory on every
//! other member. Edits are picked up automatically, or on SIGHUP.

use std::process::ExitCode;

use clap::Parser;
use swim_protocol::Cluster;
use swim_tools::sync::{daemon, SyncArgs};

/// Runs a cluster member. Each member in the cluster has a sub-directory with its member
/// name. Files placed in the sub-directory of the local member are synchronized to the same
/// sub-directory on other members of the cluster. Edits are noticed automatically; SIGHUP
/// also makes the process read them.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    swim: swim_protocol::Args,
    #[command(flatten)]
    sync: SyncArgs,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("swim-protocol-sync: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("swim-protocol-sync: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = cli.swim.into_config()?;
    std::fs::create_dir_all(&cli.sync.directory)?;
    config.local_metadata =
        daemon::initial_metadata(&cli.sync.directory, &config.local_name, cli.sync.limits())?;
    let cluster = Cluster::start(config).await?;
    daemon::run(cluster, cli.sync).await?;
    Ok(())
}
