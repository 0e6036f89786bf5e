//! In-process members, each with the HTTP server of `--metrics-addr` on a free port, for
//! the tests that read the endpoints as Prometheus or a browser would.

use std::time::{Duration, Instant};

use swim_protocol::{Cluster, Config, MemberName, Metadata, ProtocolConfig, Status};
use swim_tools::ops::server;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Timings about ten times faster than the defaults: a stopped member is OFFLINE in ~1.5 s.
pub fn fast_protocol() -> ProtocolConfig {
    ProtocolConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(40),
        ping_req_timeout: Duration::from_millis(90),
        suspect_timeout: Duration::from_millis(1000),
        sync_interval: Duration::from_millis(50),
        push_pull_interval: Duration::from_millis(1000),
        ..ProtocolConfig::default()
    }
}

/// A member and its HTTP server; the server stops when this is dropped.
pub struct Served {
    pub cluster: Cluster,
    /// `127.0.0.1:PORT` of the HTTP server.
    pub http: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Stops the member; its HTTP server keeps answering with the last state.
    pub async fn shutdown_member(&self) {
        self.cluster.clone().shutdown().await;
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        self.server.abort();
    }
}

/// Starts `n` members (each after the first knows the first), metadata `name=memberI`, each
/// serving its endpoints.
pub async fn start_served(n: usize) -> Vec<Served> {
    let mut served: Vec<Served> = Vec::new();
    for i in 0..n {
        let peers: Vec<String> = served
            .first()
            .map(|s| s.cluster.name().to_string())
            .into_iter()
            .collect();
        let config = Config::new("127.0.0.1:0")
            .with_peers(peers)
            .with_secret("ops test secret")
            .with_metadata(Metadata::empty().with("name", format!("member{i}")))
            .with_protocol(fast_protocol());
        let cluster = Cluster::start(config).await.expect("member starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("http port");
        let http = listener.local_addr().expect("bound").to_string();
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(server::serve(listener, cluster.clone(), async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        served.push(Served {
            cluster,
            http,
            stop,
            server,
        });
    }
    served
}

/// Waits (polling, with a deadline) until `check` holds.
pub async fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `observer` sees `name` with `status`.
pub fn sees(observer: &Cluster, name: &MemberName, status: Status) -> bool {
    observer
        .members()
        .iter()
        .any(|m| &m.name == name && m.status == status)
}

/// Whether every member sees all `members` ONLINE.
pub fn all_online(members: &[Served]) -> bool {
    members.iter().all(|observer| {
        members
            .iter()
            .all(|m| sees(&observer.cluster, m.cluster.name(), Status::Online))
    })
}
