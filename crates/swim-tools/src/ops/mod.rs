//! Operations: the HTTP endpoints on `--metrics-addr` (Prometheus metrics, the members as
//! JSON, a status page), the `members` query that reads them, one log line per status
//! change, and shell completions and man pages.

pub mod changes;
pub mod members;
pub mod page;
pub mod query;
pub mod server;
pub mod shell;

use anyhow::Context;
use swim_protocol::Cluster;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// The options both commands share for running in production.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "operations")]
pub struct OpsArgs {
    /// Serve Prometheus metrics (/metrics), the members as JSON (/members) and a status page
    /// (/) over HTTP on this address; off when not given
    #[arg(long, value_name = "HOST:PORT", env = "SWIM_METRICS_ADDR", value_parser = parse_listen_addr)]
    pub metrics_addr: Option<String>,
    /// The logging options.
    #[command(flatten)]
    pub log: crate::cmd::LogArgs,
}

/// Checks that `text` is `HOST:PORT` (a name or an address, IPv6 in brackets, and a port
/// number), so that a bad `--metrics-addr` is a usage error (exit status 2) found before
/// anything starts. The host is resolved when the address is bound.
pub fn parse_listen_addr(text: &str) -> Result<String, String> {
    let expected = "expected HOST:PORT, such as 127.0.0.1:9100 or localhost:9100";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("no port: {expected}"));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!("{port:?} is not a port number: {expected}"));
    }
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || (host.contains(':') && !bracketed) {
        return Err(format!("no host: {expected}"));
    }
    Ok(text.to_owned())
}

/// What the operations options add to a started member: a log line per status change, and
/// the HTTP server if `endpoint` is bound. The server stops when `stop` is set; await the
/// handle to wait for it.
pub fn attach(
    cluster: &Cluster,
    endpoint: Option<Endpoint>,
    stop: &watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    changes::log_status_changes(cluster);
    endpoint.map(|endpoint| endpoint.spawn(cluster.clone(), stop))
}

/// The HTTP server's socket, bound before the member starts so that a taken port fails
/// at once.
#[derive(Debug)]
pub struct Endpoint {
    listener: TcpListener,
}

impl Endpoint {
    /// Binds `--metrics-addr`, if given.
    pub async fn bind(args: &OpsArgs) -> anyhow::Result<Option<Endpoint>> {
        let Some(addr) = &args.metrics_addr else {
            return Ok(None);
        };
        let listener = TcpListener::bind(addr.as_str())
            .await
            .with_context(|| format!("cannot listen on --metrics-addr {addr}"))?;
        Ok(Some(Endpoint { listener }))
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `cluster` until `stop` is set.
    pub fn spawn(self, cluster: Cluster, stop: &watch::Receiver<bool>) -> JoinHandle<()> {
        let mut stop = stop.clone();
        if let Ok(addr) = self.listener.local_addr() {
            info!("metrics and status page on http://{addr}/");
        }
        tokio::spawn(async move {
            let stopped = async move { crate::cmd::stopped(&mut stop).await };
            if let Err(e) = server::serve(self.listener, cluster, stopped).await {
                warn!("the metrics server failed: {e}");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_listen_addr;

    #[test]
    fn listen_addresses_need_a_host_and_a_port() {
        for good in [
            "127.0.0.1:9100",
            "localhost:0",
            "[::1]:9100",
            "0.0.0.0:65535",
        ] {
            assert_eq!(parse_listen_addr(good).as_deref(), Ok(good));
        }
        for bad in [
            "localhost",
            "9100",
            ":9100",
            "host:",
            "host:70000",
            "::1:9100",
            "h:p",
        ] {
            assert!(parse_listen_addr(bad).is_err(), "{bad}");
        }
    }
}
