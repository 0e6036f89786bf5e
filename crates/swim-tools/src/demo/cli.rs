//! The demo's command line: the library's cluster options plus `--token-interval`.

use std::net::IpAddr;
use std::time::Duration;

use clap::{Args, Parser};
use swim_protocol::Config;

use super::token::parse_token_interval;

/// Runs one cluster member for demo purposes, showing the status and metadata of every member
/// as they change. Type to set the local metadata key `typed`; Ctrl-C quits.
#[derive(Debug, Clone, Parser)]
#[command(name = "swim-protocol-demo", version)]
pub struct DemoArgs {
    /// The cluster member options.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Set the local metadata key `token` to 16 random bytes at random intervals around SECONDS.
    #[arg(
        short = 'i',
        long,
        value_name = "SECONDS",
        value_parser = parse_token_interval,
        allow_negative_numbers = true
    )]
    pub token_interval: Option<Duration>,
}

/// Cluster member options (a stand-in until the library's shared option group is available).
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// External name or address of this member (`host:port`).
    #[arg(long, env = "SWIM_NAME", value_name = "localname")]
    pub name: String,
    /// Name or address of a known peer; repeat for more.
    #[arg(
        long = "peer",
        env = "SWIM_PEERS",
        value_name = "peername",
        value_delimiter = ','
    )]
    pub peers: Vec<String>,
    /// The secret string used to sign and verify packets.
    #[arg(
        long,
        env = "SWIM_SECRET",
        value_name = "STRING",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// The bind IP address.
    #[arg(long = "udp-bind", value_name = "INTERFACE")]
    pub udp_bind: Option<IpAddr>,
    /// The bind port.
    #[arg(long = "udp-bind-port", value_name = "NUM")]
    pub udp_bind_port: Option<u16>,
    /// The default remote host name.
    #[arg(long = "udp-host", value_name = "NAME")]
    pub udp_host: Option<String>,
    /// The default port number.
    #[arg(long = "udp-port", value_name = "NUM")]
    pub udp_port: Option<u16>,
    /// Find the cluster with DNS discovery.
    #[arg(long = "udp-discovery")]
    pub udp_discovery: bool,
}

impl ClusterArgs {
    /// The library configuration these options describe.
    pub fn to_config(&self) -> Config {
        let mut config = Config::new(self.name.clone());
        config.peers = self.peers.clone();
        config.secret = self.secret.as_ref().map(|s| s.as_bytes().to_vec());
        config.bind_host = self.udp_bind;
        config.bind_port = self.udp_bind_port;
        if let Some(host) = &self.udp_host {
            config.default_host = host.clone();
        }
        if let Some(port) = self.udp_port {
            config.default_port = port;
        }
        config.discovery = self.udp_discovery;
        config
    }
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
        let config = args.cluster.to_config();
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
