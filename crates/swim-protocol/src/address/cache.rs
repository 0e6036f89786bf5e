//! The last stage of the pipeline: destination names (`host:port`) to socket addresses for
//! the running member, without ever blocking its driver.
//!
//! A name that is an IP literal is parsed on the spot. Other names are looked up in the
//! background with the configuration's [`Resolver`]; frames for them wait in a short queue
//! until the answer arrives. Answers are kept for the configured name TTL (so a member
//! follows a name that moves), failures for at most [`FAILED_RETRY`], and the cache holds a
//! bounded number of names.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use swim_core::MemberName;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::debug;

use super::parse::AddressParser;
use super::resolver::{resolve_address, ResolveError, Resolver, LOOKUP_TIMEOUT};

/// Most names cached.
const CAPACITY: usize = 1024;
/// Most lookups in flight.
const MAX_LOOKUPS: usize = 16;
/// Most frames waiting for one name.
const MAX_QUEUED: usize = 16;
/// Default of how long a looked-up address is trusted (`Config::name_ttl`).
pub const DEFAULT_NAME_TTL: Duration = Duration::from_secs(30);
/// Longest time a failed lookup is remembered (less when the name TTL is shorter): a peer
/// whose name is not in DNS yet is tried again soon.
pub const FAILED_RETRY: Duration = Duration::from_secs(5);

/// What is known about a name right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Send to this address.
    Known(SocketAddr),
    /// Being looked up: queue the frame with [`NameCache::enqueue`].
    Pending,
    /// Cannot be reached now.
    Failed,
}

/// A finished lookup and the frames (of type `F`) that waited for it.
pub(crate) struct Resolved<F> {
    /// The name looked up.
    pub name: MemberName,
    /// Its address, if found.
    pub addr: Option<SocketAddr>,
    /// Frames queued for it, in order.
    pub frames: Vec<F>,
}

enum Entry<F> {
    Ready { addr: SocketAddr, until: Instant },
    Failed { until: Instant },
    Pending { since: Instant, frames: Vec<F> },
}

impl<F> Entry<F> {
    fn expired(&self, now: Instant) -> bool {
        match self {
            Entry::Ready { until, .. } | Entry::Failed { until } => *until <= now,
            // A lookup that never reported (its task failed) is retried.
            Entry::Pending { since, .. } => *since + 2 * LOOKUP_TIMEOUT <= now,
        }
    }
}

/// The name cache and the lookups in flight, with the frames of type `F` waiting for them.
pub(crate) struct NameCache<F> {
    resolver: Arc<dyn Resolver>,
    ttl: Duration,
    ipv6: bool,
    entries: HashMap<MemberName, Entry<F>>,
    lookups: JoinSet<(MemberName, Option<SocketAddr>)>,
}

impl<F> NameCache<F> {
    /// A cache asking `resolver`, keeping answers for `ttl`, and preferring addresses of the
    /// same family as `local`.
    pub fn new(resolver: Arc<dyn Resolver>, ttl: Duration, local: SocketAddr) -> Self {
        NameCache {
            resolver,
            ttl,
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
        let (name, ipv6, resolver) = (name.clone(), self.ipv6, self.resolver.clone());
        self.lookups.spawn(async move {
            let addr = match lookup_member(&*resolver, &name, ipv6).await {
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
    pub fn enqueue(&mut self, name: &MemberName, frame: F) -> bool {
        match self.entries.get_mut(name) {
            Some(Entry::Pending { frames, .. }) if frames.len() < MAX_QUEUED => {
                frames.push(frame);
                true
            }
            _ => false,
        }
    }

    /// Whether lookups are in flight (only then is [`NameCache::next_resolved`] useful).
    pub fn is_resolving(&self) -> bool {
        !self.lookups.is_empty()
    }

    /// Waits for the next lookup to finish and caches its answer.
    pub async fn next_resolved(&mut self) -> Option<Resolved<F>> {
        let (name, addr) = self.lookups.join_next().await?.ok()?;
        let now = Instant::now();
        let entry = match addr {
            Some(addr) => Entry::Ready {
                addr,
                until: now + self.ttl,
            },
            None => Entry::Failed {
                until: now + self.ttl.min(FAILED_RETRY),
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

/// Resolves a canonical `host:port` name (bounded in time), choosing an address of the
/// local socket's family where there is one.
async fn lookup_member(
    resolver: &dyn Resolver,
    name: &MemberName,
    ipv6: bool,
) -> Result<SocketAddr, ResolveError> {
    let address = AddressParser::new().parse(name.as_str())?;
    resolve_address(resolver, &address, ipv6).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::StaticResolver;

    fn cache_with(resolver: &StaticResolver, ttl: Duration) -> NameCache<Vec<u8>> {
        NameCache::new(
            Arc::new(resolver.clone()),
            ttl,
            "127.0.0.1:0".parse().unwrap(),
        )
    }

    #[tokio::test]
    async fn literals_resolve_at_once() {
        let mut cache = cache_with(&StaticResolver::new(), DEFAULT_NAME_TTL);
        let name = MemberName::from("127.0.0.1:2001");
        assert_eq!(
            cache.lookup(&name),
            Lookup::Known("127.0.0.1:2001".parse().unwrap())
        );
        assert!(!cache.is_resolving());
    }

    #[tokio::test]
    async fn hostnames_resolve_in_the_background_with_queued_frames() {
        let resolver = StaticResolver::new().with_host("node.test", ["127.0.0.7".parse().unwrap()]);
        let mut cache = cache_with(&resolver, DEFAULT_NAME_TTL);
        let name = MemberName::from("node.test:2001");
        assert_eq!(cache.lookup(&name), Lookup::Pending);
        assert!(cache.enqueue(&name, vec![1]));
        assert!(cache.enqueue(&name, vec![2]));
        let resolved = cache.next_resolved().await.unwrap();
        assert_eq!(resolved.name, name);
        let addr: SocketAddr = "127.0.0.7:2001".parse().unwrap();
        assert_eq!(resolved.addr, Some(addr));
        assert_eq!(resolved.frames, vec![vec![1], vec![2]]);
        assert_eq!(cache.lookup(&name), Lookup::Known(addr));
    }

    #[tokio::test(start_paused = true)]
    async fn answers_expire_after_the_ttl_and_follow_the_resolver() {
        let resolver = StaticResolver::new().with_host("node.test", ["127.0.0.7".parse().unwrap()]);
        let ttl = Duration::from_secs(10);
        let mut cache = cache_with(&resolver, ttl);
        let name = MemberName::from("node.test:2001");
        assert_eq!(cache.lookup(&name), Lookup::Pending);
        cache.next_resolved().await.unwrap();
        resolver.set_host("node.test", ["127.0.0.8".parse().unwrap()]);
        tokio::time::advance(ttl - Duration::from_millis(1)).await;
        let old: SocketAddr = "127.0.0.7:2001".parse().unwrap();
        assert_eq!(cache.lookup(&name), Lookup::Known(old), "still fresh");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(cache.lookup(&name), Lookup::Pending, "expired: asked again");
        let resolved = cache.next_resolved().await.unwrap();
        assert_eq!(resolved.addr, Some("127.0.0.8:2001".parse().unwrap()));
    }

    #[tokio::test]
    async fn queues_are_bounded_and_failures_remembered() {
        let mut cache = cache_with(&StaticResolver::new(), DEFAULT_NAME_TTL);
        let name = MemberName::from("unknown.test:1");
        assert_eq!(cache.lookup(&name), Lookup::Pending);
        for i in 0..MAX_QUEUED {
            assert!(cache.enqueue(&name, vec![i as u8]));
        }
        assert!(!cache.enqueue(&name, vec![0]));
        let resolved = cache.next_resolved().await.unwrap();
        assert_eq!(resolved.addr, None);
        assert_eq!(resolved.frames.len(), MAX_QUEUED);
        assert_eq!(cache.lookup(&name), Lookup::Failed);
        assert!(!cache.enqueue(&MemberName::from("other:1"), vec![0]));
    }

    #[tokio::test]
    async fn the_cache_stays_bounded() {
        let mut cache = cache_with(&StaticResolver::new(), DEFAULT_NAME_TTL);
        let now = Instant::now();
        for i in 0..CAPACITY + 10 {
            cache.make_room(now);
            cache.entries.insert(
                MemberName::from(format!("host{i}:1")),
                Entry::Failed {
                    until: now + FAILED_RETRY,
                },
            );
            assert!(cache.entries.len() <= CAPACITY);
        }
    }
}
