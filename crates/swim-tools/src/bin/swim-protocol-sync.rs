//! The swim-protocol-sync command: runs a cluster member and mirrors the cluster into a
//! directory. Each member has a sub-directory named after it; the files in the local
//! member's sub-directory are its metadata, and appear in the same sub-directory on every
//! other member. Edits are picked up automatically, or on SIGHUP.

use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use swim_tools::cmd;
use swim_tools::control::client::MessagingCommand;
use swim_tools::control::path;
use swim_tools::control::server::ControlSocket;
use swim_tools::ops::query::{self, MembersArgs};
use swim_tools::ops::shell::ShellCommand;
use swim_tools::ops::{self, Endpoint, OpsArgs};
use swim_tools::sync::{daemon, SyncArgs};
use tracing_subscriber::filter::LevelFilter;

/// Runs a cluster member. Each member in the cluster has a sub-directory with its member
/// name. Files placed in the sub-directory of the local member are synchronized to the same
/// sub-directory on other members of the cluster. Edits are noticed automatically; SIGHUP
/// also makes the process read them.
#[derive(Debug, Parser)]
#[command(
    name = "swim-protocol-sync",
    version,
    after_help = cmd::EXIT_STATUS_HELP,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    swim: swim_protocol::Args,
    #[command(flatten)]
    sync: SyncArgs,
    #[command(flatten)]
    ops: OpsArgs,
}

/// Commands besides running a member (a directory named like one needs a `./` prefix).
#[derive(Debug, Subcommand)]
enum Command {
    /// Ask a running member (its --metrics-addr) for its member list
    Members(MembersArgs),
    #[command(flatten)]
    Messaging(MessagingCommand),
    #[command(flatten)]
    Shell(ShellCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = "swim-protocol-sync";
    match cli.command {
        Some(Command::Members(args)) => cmd::run_main(name, 0, async move {
            query::run(&args, &mut std::io::stdout().lock()).await
        }),
        Some(Command::Messaging(request)) => cmd::run_main(name, 0, async move {
            // Run in the base directory, the client finds the member's socket there.
            let default = || Ok(path::sync_socket(std::path::Path::new(".")));
            let stdin = std::io::stdin().lock();
            Ok(request
                .run(default, stdin, &mut std::io::stdout().lock())
                .await?)
        }),
        Some(Command::Shell(shell)) => cmd::run_main(name, 0, async move {
            Ok(shell.run(Cli::command(), &mut std::io::stdout().lock())?)
        }),
        // Boxed: the member's future is large (every state of the daemon, the member's
        // start, the servers), and by value it would be copied through the main thread's
        // stack (main's frame, the spawn, the task's output slot), and touched stack pages
        // stay resident: the main thread's stack 148 → 85 KiB (docs/benchmarks.md).
        None => cmd::run_main(name, 0, cmd::as_task(Box::pin(run(cli)))),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    cmd::init_logging(LevelFilter::INFO, &cli.ops.log);
    let stop = cmd::stop_signals()?;
    let mut config = cli.swim.into_config()?;
    let endpoint = Endpoint::bind(&cli.ops).await?;
    std::fs::create_dir_all(&cli.sync.directory).with_context(|| {
        format!(
            "cannot create the base directory {}",
            cli.sync.directory.display()
        )
    })?;
    config.local_metadata =
        daemon::initial_metadata(&cli.sync.directory, &config.local_name, cli.sync.limits())?;
    // Bound before the member starts: a second member on the same directory stops here.
    let control = ControlSocket::bind(&cli.sync.control_path())?;
    let plan = cmd::StartPlan::of(&config);
    let Some(cluster) = cmd::start_member(config, &stop).await? else {
        return Ok(()); // stopped while waiting to start
    };
    let server = ops::attach(&cluster, endpoint, &stop);
    let control = control.serve(cluster.clone(), stop.clone());
    let result = daemon::run(cluster, cli.sync, stop, plan).await;
    control.abort(); // already over after a signal; also when the member stopped on its own
    let _ = control.await;
    result?;
    if let Some(server) = server {
        let _ = server.await;
    }
    Ok(())
}
