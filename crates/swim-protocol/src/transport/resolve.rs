//! Destination names (`host:port`) to socket addresses, without ever blocking the driver.
//!
//! A name that is an IP literal is parsed on the spot. Other names are looked up in the
//! background, with the configuration's lookup and address choice (`config::resolver`);
//! frames for them wait in a short queue until the answer arrives. Answers are cached for a while, failures for less, and
//! the cache holds a bounded number of names.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use swim_core::MemberName;

use crate::config::resolver::{lookup_all, pick_ip, SystemResolver, LOOKUP_TIMEOUT};
use crate::{AddressParser, Host, ResolveError};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::debug;

/// Most names cached.
const CAPACITY: usize = 1024;
/// Most lookups in flight.
const MAX_LOOKUPS: usize = 16;
/// Most frames waiting for one name.
const MAX_QUEUED: usize = 16;
/// How long a looked-up address is trusted.
const RESOLVED_TTL: Duration = Duration::from_secs(60);
/// How long a failed lookup is remembered.
const FAILED_TTL: Duration = Duration::from_secs(5);

/// What is known about a name right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Send to this address.
    Known(SocketAddr),
    /// Being looked up: queue the frame with [`Resolver::enqueue`].
    Pending,
    /// Cannot be reached now.
    Failed,
}

/// A finished lookup and the frames that waited for it.
pub(crate) struct Resolved {
    /// The name looked up.
    pub name: MemberName,
    /// Its address, if found.
    pub addr: Option<SocketAddr>,
    /// Frames queued for it, in order.
    pub frames: Vec<Vec<u8>>,
}

enum Entry {
    Ready {
        addr: SocketAddr,
        until: Instant,
    },
    Failed {
        until: Instant,
    },
    Pending {
        since: Instant,
        frames: Vec<Vec<u8>>,
    },
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        match self {
            Entry::Ready { until, .. } | Entry::Failed { until } => *until <= now,
            // A lookup that never reported (its task failed) is retried.
            Entry::Pending { since, .. } => *since + 2 * LOOKUP_TIMEOUT <= now,
        }
    }
}

/// The name cache and the lookups in flight.
pub(crate) struct Resolver {
    ipv6: bool,
    entries: HashMap<MemberName, Entry>,
    lookups: JoinSet<(MemberName, Option<SocketAddr>)>,
}

impl Resolver {
    /// A resolver preferring addresses of the same family as `local`.
    pub fn new(local: SocketAddr) -> Self {
        Resolver {
            ipv6: local.is_ipv6(),
            entries: HashMap::new(),
            lookups: JoinSet::new(),
        }
    }

    /// Where to send to `name`, starting a lookup if needed.
    pub fn lookup(&mut self, name: &MemberName) -> Lookup {
        if let Ok(addr) = name.parse::<SocketAddr>() {
            return Lookup::Known(addr);
        }
        let now = Instant::now();
        match self.entries.get(name) {
            Some(entry) if !entry.expired(now) => {
                return match entry {
                    Entry::Ready { addr, .. } => Lookup::Known(*addr),
                    Entry::Failed { .. } => Lookup::Failed,
                    Entry::Pending { .. } => Lookup::Pending,
                }
            }
            _ => {}
        }
        if self.lookups.len() >= MAX_LOOKUPS {
            debug!(%name, "too many name lookups in flight");
            return Lookup::Failed;
        }
        self.make_room(now);
        let pending = Entry::Pending {
            since: now,
            frames: Vec::new(),
        };
        self.entries.insert(name.clone(), pending);
        let (name, ipv6) = (name.clone(), self.ipv6);
        self.lookups.spawn(async move {
            let addr = match lookup_member(&name, ipv6).await {
                Ok(addr) => Some(addr),
                Err(e) => {
                    debug!(%name, "name lookup failed: {e}");
                    None
                }
            };
            (name, addr)
        });
        Lookup::Pending
    }

    /// Queues a frame for a name being looked up; `false` if it cannot wait.
    pub fn enqueue(&mut self, name: &MemberName, frame: Vec<u8>) -> bool {
        match self.entries.get_mut(name) {
            Some(Entry::Pending { frames, .. }) if frames.len() < MAX_QUEUED => {
                frames.push(frame);
                true
            }
            _ => false,
        }
    }

    /// Whether lookups are in flight (only then is [`Resolver::next_resolved`] useful).
    pub fn is_resolving(&self) -> bool {
        !self.lookups.is_empty()
    }

    /// Waits for the next lookup to finish and caches its answer.
    pub async fn next_resolved(&mut self) -> Option<Resolved> {
        let (name, addr) = self.lookups.join_next().await?.ok()?;
        let now = Instant::now();
        let entry = match addr {
            Some(addr) => Entry::Ready {
                addr,
                until: now + RESOLVED_TTL,
            },
            None => Entry::Failed {
                until: now + FAILED_TTL,
            },
        };
        let frames = match self.entries.insert(name.clone(), entry) {
            Some(Entry::Pending { frames, .. }) => frames,
            _ => Vec::new(),
        };
        Some(Resolved { name, addr, frames })
    }

    /// Aborts the lookups in flight and waits for their tasks to end.
    pub async fn shutdown(&mut self) {
        self.lookups.shutdown().await;
    }

    fn make_room(&mut self, now: Instant) {
        if self.entries.len() < CAPACITY {
            return;
        }
        self.entries.retain(|_, entry| !entry.expired(now));
        if self.entries.len() >= CAPACITY {
            // All fresh: forget settled answers (pending ones hold queued frames).
            self.entries
                .retain(|_, entry| matches!(entry, Entry::Pending { .. }));
        }
    }
}

/// Resolves a canonical `host:port` name with the system resolver (bounded in time),
/// choosing an address of the local socket's family where there is one.
async fn lookup_member(name: &MemberName, ipv6: bool) -> Result<SocketAddr, ResolveError> {
    let address = AddressParser::new().parse(name.as_str())?;
    let host = match &address.host {
        Host::Ip(ip) => return Ok(SocketAddr::new(*ip, address.port)),
        Host::Name(host) => host,
    };
    let ips = lookup_all(&SystemResolver, host).await?;
    let ip = pick_ip(&ips, ipv6).ok_or_else(|| ResolveError::NoAddress { host: host.clone() })?;
    Ok(SocketAddr::new(ip, address.port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_resolve_at_once() {
        let mut resolver = Resolver::new("127.0.0.1:0".parse().unwrap());
        let name = MemberName::from("127.0.0.1:2001");
        assert_eq!(
            resolver.lookup(&name),
            Lookup::Known("127.0.0.1:2001".parse().unwrap())
        );
        assert!(!resolver.is_resolving());
    }

    #[tokio::test]
    async fn hostnames_resolve_in_the_background_with_queued_frames() {
        let mut resolver = Resolver::new("127.0.0.1:0".parse().unwrap());
        let name = MemberName::from("localhost:2001");
        assert_eq!(resolver.lookup(&name), Lookup::Pending);
        assert!(resolver.enqueue(&name, vec![1]));
        assert!(resolver.enqueue(&name, vec![2]));
        let resolved = resolver.next_resolved().await.unwrap();
        assert_eq!(resolved.name, name);
        let addr = resolved.addr.expect("localhost resolves");
        assert!(addr.ip().is_loopback() && addr.port() == 2001, "{addr}");
        assert_eq!(resolved.frames, vec![vec![1], vec![2]]);
        assert_eq!(resolver.lookup(&name), Lookup::Known(addr));
    }

    #[tokio::test]
    async fn queues_are_bounded_and_failures_remembered() {
        let mut resolver = Resolver::new("127.0.0.1:0".parse().unwrap());
        // No port: fails at once, without asking any DNS server.
        let name = MemberName::from("localhost");
        assert_eq!(resolver.lookup(&name), Lookup::Pending);
        for i in 0..MAX_QUEUED {
            assert!(resolver.enqueue(&name, vec![i as u8]));
        }
        assert!(!resolver.enqueue(&name, vec![0]));
        let resolved = resolver.next_resolved().await.unwrap();
        assert_eq!(resolved.addr, None);
        assert_eq!(resolved.frames.len(), MAX_QUEUED);
        assert_eq!(resolver.lookup(&name), Lookup::Failed);
        assert!(!resolver.enqueue(&MemberName::from("other:1"), vec![0]));
    }

    #[tokio::test]
    async fn the_cache_stays_bounded() {
        let mut resolver = Resolver::new("127.0.0.1:0".parse().unwrap());
        let now = Instant::now();
        for i in 0..CAPACITY + 10 {
            resolver.make_room(now);
            resolver.entries.insert(
                MemberName::from(format!("host{i}:1")),
                Entry::Failed {
                    until: now + FAILED_TTL,
                },
            );
            assert!(resolver.entries.len() <= CAPACITY);
        }
    }
}
