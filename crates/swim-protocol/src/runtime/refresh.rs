//! Looks the peers that stand for many members (`dns+`, `dnssrv+`, the discovery name) up
//! again while the member runs, and hands the state machine the addresses that appeared
//! (`add_peer`, which makes a member that lost everyone join again) and those that went
//! away (`remove_peer`: no longer asked when joining). Who to ask and when stays the core's
//! decision; this task only keeps the list of names current.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use swim_core::MemberName;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

use super::Command;
use crate::address::{resolve_peer, PeerSpec, Resolver, RETRY_AFTER_NO_PEERS};
use crate::transport::stopped;

/// What to look up again, and how.
pub(crate) struct PeerRefresh {
    /// The peers that stand for many members.
    pub sources: Vec<PeerSpec>,
    pub resolver: Arc<dyn Resolver>,
    /// The wait between two rounds while some peer is found.
    pub every: Duration,
    /// The local member's name, never a peer of its own.
    pub local: MemberName,
    /// The local socket's family: only addresses of it are peers.
    pub ipv6: bool,
}

impl PeerRefresh {
    /// One round: the names each source stands for now. A source whose lookup fails keeps
    /// what it gave last (DNS down for a moment does not empty the list).
    async fn round(&self, found: &mut [BTreeSet<MemberName>]) {
        for (source, names) in self.sources.iter().zip(found.iter_mut()) {
            match resolve_peer(&*self.resolver, source, self.ipv6).await {
                Ok(addresses) => {
                    *names = addresses
                        .iter()
                        .map(|a| a.to_member_name())
                        .filter(|name| *name != self.local)
                        .collect();
                }
                Err(error) => {
                    debug!(%source, %error, "peer lookup failed; keeping the last answer")
                }
            }
        }
    }

    /// Runs rounds until `shutdown`, sending the changes on `commands`. The first round
    /// comes after `every`, or sooner if `alone` (the member started without peers).
    pub async fn run(
        self,
        alone: bool,
        commands: mpsc::Sender<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut found = vec![BTreeSet::new(); self.sources.len()];
        let mut reported: BTreeSet<MemberName> = BTreeSet::new();
        let mut wait = if alone {
            RETRY_AFTER_NO_PEERS
        } else {
            self.every
        };
        loop {
            tokio::select! {
                () = stopped(&mut shutdown) => return,
                () = tokio::time::sleep(wait) => {}
            }
            self.round(&mut found).await;
            let now: BTreeSet<MemberName> = found.iter().flatten().cloned().collect();
            for name in now.difference(&reported) {
                info!(peer = %name, "peer found by DNS");
                if commands.send(Command::AddPeer(name.clone())).await.is_err() {
                    return;
                }
            }
            for name in reported.difference(&now) {
                debug!(peer = %name, "peer no longer in DNS");
                if commands
                    .send(Command::RemovePeer(name.clone()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            wait = if now.is_empty() {
                RETRY_AFTER_NO_PEERS
            } else {
                self.every
            };
            reported = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{AddressParser, StaticResolver};

    fn refresh(resolver: &StaticResolver, sources: &[&str]) -> PeerRefresh {
        let parser = AddressParser::new();
        PeerRefresh {
            sources: sources
                .iter()
                .map(|s| parser.parse_peer_spec(s).unwrap())
                .collect(),
            resolver: Arc::new(resolver.clone()),
            every: Duration::from_secs(10),
            local: "10.0.0.1:9".into(),
            ipv6: false,
        }
    }

    fn ips(texts: &[&str]) -> Vec<std::net::IpAddr> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    async fn next(rx: &mut mpsc::Receiver<Command>) -> String {
        match rx.recv().await.expect("a command") {
            Command::AddPeer(name) => format!("+{name}"),
            Command::RemovePeer(name) => format!("-{name}"),
            #[allow(unreachable_patterns)]
            other => format!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn changes_in_dns_become_peers_added_and_removed() {
        let resolver = StaticResolver::new().with_host("svc", ips(&["10.0.0.1"]));
        let (tx, mut rx) = mpsc::channel(16);
        let (stop, stop_rx) = watch::channel(false);
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(refresh(&resolver, &["dns+svc:9"]).run(true, tx, stop_rx));
        // Alone: only the local address. Nothing to report; asked again every 2 s.
        resolver.set_host("svc", ips(&["10.0.0.1", "10.0.0.2"]));
        assert_eq!(next(&mut rx).await, "+10.0.0.2:9");
        assert!(started.elapsed() <= RETRY_AFTER_NO_PEERS * 2);
        // Everyone replaced (a new deployment): the new ones are found within one period.
        resolver.set_host("svc", ips(&["10.0.0.1", "10.0.0.3"]));
        let asked = tokio::time::Instant::now();
        assert_eq!(next(&mut rx).await, "+10.0.0.3:9");
        assert_eq!(next(&mut rx).await, "-10.0.0.2:9");
        assert!(asked.elapsed() <= Duration::from_secs(10));
        // DNS failing keeps the last answer: nothing removed.
        resolver.set_host("svc", []);
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert!(rx.try_recv().is_err());
        stop.send(true).unwrap();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn srv_targets_are_peers_too() {
        let resolver = StaticResolver::new()
            .with_host("a.svc", ips(&["10.0.0.5"]))
            .with_srv("_swim._udp.svc", [("a.svc", 9000)]);
        let (tx, mut rx) = mpsc::channel(16);
        let (_stop, stop_rx) = watch::channel(false);
        tokio::spawn(refresh(&resolver, &["dnssrv+_swim._udp.svc"]).run(false, tx, stop_rx));
        assert_eq!(next(&mut rx).await, "+10.0.0.5:9000");
    }
}
