//! The swim-protocol-sync command: runs a cluster member and mirrors the cluster into a
//! directory. Each member has a sub-directory named after it; the files in the local
//! member's sub-directory are its metadata, and appear in the same sub-directory on every
//! other member. Edits are picked up automatically, or on SIGHUP.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use swim_protocol::{Cluster, Config};
use swim_tools::sync::cli::parse_seconds;
use swim_tools::sync::{daemon, SyncArgs};

/// Runs a cluster member. Each member in the cluster has a sub-directory with its member
/// name. Files placed in the sub-directory of the local member are synchronized to the same
/// sub-directory on other members of the cluster. Edits are noticed automatically; SIGHUP
/// also makes the process read them.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    swim: SwimArgs,
    #[command(flatten)]
    sync: SyncArgs,
}

// Interim: the library's own argument group replaces this once it exists.
/// The member's options, as the seed spells them.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "swim options")]
struct SwimArgs {
    /// The secret string used to verify messages.
    #[arg(
        long,
        env = "SWIM_SECRET",
        value_name = "STRING",
        hide_env_values = true
    )]
    secret: Option<String>,
    /// External name or address for this node.
    #[arg(long, env = "SWIM_NAME", value_name = "localname")]
    name: String,
    /// At least one name or address of a known peer.
    #[arg(
        long = "peer",
        env = "SWIM_PEERS",
        value_name = "peername",
        value_delimiter = ','
    )]
    peers: Vec<String>,
    /// The bind IP address.
    #[arg(long, value_name = "INTERFACE")]
    udp_bind: Option<IpAddr>,
    /// The bind port.
    #[arg(long, value_name = "NUM")]
    udp_bind_port: Option<u16>,
    /// The default remote hostname.
    #[arg(long, value_name = "NAME")]
    udp_host: Option<String>,
    /// The default port number.
    #[arg(long, value_name = "NUM")]
    udp_port: Option<u16>,
    /// Find cluster with DNS discovery.
    #[arg(long)]
    udp_discovery: bool,
    /// Seconds between two probes.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    ping_interval: Option<Duration>,
    /// Seconds a suspect member has to refute before it is declared offline.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    suspect_timeout: Option<Duration>,
}

impl SwimArgs {
    fn into_config(self) -> Config {
        let mut config = Config::new(self.name);
        config.peers = self.peers;
        config.secret = self.secret.map(String::into_bytes);
        config.bind_host = self.udp_bind;
        config.bind_port = self.udp_bind_port;
        if let Some(host) = self.udp_host {
            config.default_host = host;
        }
        if let Some(port) = self.udp_port {
            config.default_port = port;
        }
        config.discovery = self.udp_discovery;
        if let Some(interval) = self.ping_interval {
            config.protocol.ping_interval = interval;
        }
        if let Some(timeout) = self.suspect_timeout {
            config.protocol.suspect_timeout = timeout;
        }
        config
    }
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
    let mut config = cli.swim.into_config();
    std::fs::create_dir_all(&cli.sync.directory)?;
    config.local_metadata =
        daemon::initial_metadata(&cli.sync.directory, &config.local_name, cli.sync.limits())?;
    let cluster = Cluster::start(config).await?;
    daemon::run(cluster, cli.sync).await?;
    Ok(())
}
