//! Admission: what a member lets reach its state machine, so that a flood of authentic
//! packets (from a member holding the key, or replayed from one) costs a bounded amount.
//!
//! Two checks, both before the protocol sees a packet:
//! - the **source allow-list**: datagrams and connections from addresses outside the
//!   configured CIDR blocks are dropped before any cryptography;
//! - **budgets** for the requests whose answer costs something: a full sync (the whole
//!   member list), a push-pull sync (a window of records), a ping-req (a ping sent on the
//!   sender's behalf) and a ping (an ack with piggybacked records), each limited per source
//!   and in total; and the names never seen before, which grow the member table.
//!   Senders ONLINE in our table have a total budget of their own for full syncs, so
//!   strangers (joiners, or a flood under made-up names) cannot starve them. (Whether a
//!   sender may get answers larger than its request is another matter, the core's "good
//!   standing": `docs/PROTOCOL.md`.)
//!
//! The budgets only drop requests: the protocol copes with a lost request as with a lost
//! datagram (it asks again later). What is answered is decided by the core, as always.

pub mod budget;
pub mod cidr;

use swim_core::{Message, Packet, Status};
use tokio::time::Instant;

use self::budget::{Bucket, PerSource, Rate};
use self::cidr::Cidr;

/// Most sources with a bucket of their own, per kind of request.
const MAX_SOURCES: usize = 4096;

/// The budgets and the allow-list of a member. `Default` suits clusters of up to a few
/// thousand members (see `docs/SECURITY.md`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Sources allowed to send (UDP and TCP); empty allows every address.
    pub allow: Vec<Cidr>,
    /// Full-sync requests answered per source name.
    pub full_sync_per_source: Rate,
    /// Full-sync requests answered in total from senders ONLINE in our table.
    pub full_sync_members: Rate,
    /// Full-sync requests answered in total from anyone else (joiners included).
    pub full_sync_strangers: Rate,
    /// Push-pull requests answered per source name.
    pub push_pull_per_source: Rate,
    /// Push-pull requests answered in total.
    pub push_pull_total: Rate,
    /// Ping-reqs relayed per source name.
    pub ping_req_per_source: Rate,
    /// Ping-reqs relayed in total.
    pub ping_req_total: Rate,
    /// Pings answered per source name.
    pub ping_per_source: Rate,
    /// Pings answered in total.
    pub ping_total: Rate,
    /// Packets accepted from names not in the member table yet, in total.
    pub new_names: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            allow: Vec::new(),
            // A joiner asks once per peer, then makes up to 4 follow-ups, one per ping
            // interval; the member-count digest asks at most every 5 s.
            full_sync_per_source: Rate::new(1.0, 5.0),
            full_sync_members: Rate::new(50.0, 100.0),
            full_sync_strangers: Rate::new(20.0, 100.0),
            // One push-pull per member per 10 s on average.
            push_pull_per_source: Rate::new(2.0, 10.0),
            push_pull_total: Rate::new(200.0, 400.0),
            // One probe per second per member, each with a few ping-reqs (seed: 1). A
            // member's pings include those it relays for others' ping-reqs, so their
            // budget is larger than the relays allowed to any one source.
            ping_req_per_source: Rate::new(10.0, 20.0),
            ping_req_total: Rate::new(200.0, 400.0),
            ping_per_source: Rate::new(100.0, 200.0),
            ping_total: Rate::new(4000.0, 8000.0),
            new_names: Rate::new(100.0, 1000.0),
        }
    }
}

impl Limits {
    /// The limits with sources restricted to `allow` (empty: every address).
    #[must_use]
    pub fn with_allow(mut self, allow: Vec<Cidr>) -> Self {
        self.allow = allow;
        self
    }

    /// Whether packets from `ip` may be looked at.
    pub fn allows(&self, ip: std::net::IpAddr) -> bool {
        self.allow.is_empty() || self.allow.iter().any(|block| block.contains(ip))
    }
}

/// What the sender of a packet is in our member table (its status, for the budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Not in our member table.
    Unknown,
    /// Known, but not ONLINE.
    Known,
    /// ONLINE in our table.
    Online,
}

impl Listing {
    /// The listing of a member of this status (`None`: not in the table).
    pub fn of(status: Option<Status>) -> Listing {
        match status {
            None => Listing::Unknown,
            Some(Status::Online) => Listing::Online,
            Some(_) => Listing::Known,
        }
    }
}

struct Class {
    per_source: PerSource,
    total: (Rate, Bucket),
}

impl Class {
    fn new(per_source: Rate, total: Rate, now: Instant) -> Class {
        Class {
            per_source: PerSource::new(per_source, MAX_SOURCES),
            total: (total, Bucket::full(total, now)),
        }
    }

    fn take(&mut self, packet: &Packet, now: Instant) -> bool {
        self.per_source.take(&packet.source.name, now) && self.total.1.take(self.total.0, now)
    }
}

/// The budgets of one running member.
pub(crate) struct Admission {
    full_sync: PerSource,
    full_sync_members: (Rate, Bucket),
    full_sync_strangers: (Rate, Bucket),
    push_pull: Class,
    ping_req: Class,
    ping: Class,
    new_names: (Rate, Bucket),
}

impl Admission {
    pub fn new(limits: &Limits, now: Instant) -> Admission {
        let total = |rate: Rate| (rate, Bucket::full(rate, now));
        Admission {
            full_sync: PerSource::new(limits.full_sync_per_source, MAX_SOURCES),
            full_sync_members: total(limits.full_sync_members),
            full_sync_strangers: total(limits.full_sync_strangers),
            push_pull: Class::new(limits.push_pull_per_source, limits.push_pull_total, now),
            ping_req: Class::new(limits.ping_req_per_source, limits.ping_req_total, now),
            ping: Class::new(limits.ping_per_source, limits.ping_total, now),
            new_names: total(limits.new_names),
        }
    }

    /// Whether `packet`, from a sender so listed, may reach the state machine now.
    pub fn admit(&mut self, packet: &Packet, listing: Listing, now: Instant) -> bool {
        if listing == Listing::Unknown {
            let (rate, bucket) = &mut self.new_names;
            if !bucket.take(*rate, now) {
                return false;
            }
        }
        match &packet.message {
            Message::Sync {
                reply: false,
                full: true,
                ..
            } => {
                let (rate, total) = if listing == Listing::Online {
                    &mut self.full_sync_members
                } else {
                    &mut self.full_sync_strangers
                };
                self.full_sync.take(&packet.source.name, now) && total.take(*rate, now)
            }
            Message::Sync { reply: false, .. } => self.push_pull.take(packet, now),
            Message::PingReq { .. } => self.ping_req.take(packet, now),
            // A ping carrying a push-pull window is a probe: it must be answered, so it has
            // the pings' budget (its answer is one window, as an ack's gossip is one budget).
            Message::Ping { .. } => self.ping.take(packet, now),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use swim_core::{Source, Validity};

    use super::*;

    fn packet(from: &str, message: Message) -> Packet {
        Packet {
            app: Default::default(),
            source: Source {
                name: from.into(),
                validity: Validity([1; 8]),
            },
            message,
            gossip: vec![],
        }
    }

    fn full_sync(from: &str) -> Packet {
        let message = Message::Sync {
            reply: false,
            full: true,
            records: vec![],
        };
        packet(from, message)
    }

    #[test]
    fn full_syncs_are_limited_per_source_and_in_total() {
        let t0 = Instant::now();
        let mut admission = Admission::new(&Limits::default(), t0);
        let served = (0..50)
            .filter(|_| admission.admit(&full_sync("a:1"), Listing::Online, t0))
            .count();
        assert_eq!(served, 5, "the per-source burst");
        // Strangers under ever new names: the strangers' total budget.
        let served = (0..1000)
            .filter(|i| admission.admit(&full_sync(&format!("x:{i}")), Listing::Known, t0))
            .count();
        assert_eq!(served, 100);
        // Senders ONLINE in our table still have their own budget.
        assert!(admission.admit(&full_sync("b:1"), Listing::Online, t0));
        // A second later the rates allow more.
        let t1 = t0 + Duration::from_secs(1);
        assert!(admission.admit(&full_sync("a:1"), Listing::Online, t1));
        assert!(!admission.admit(&full_sync("a:1"), Listing::Online, t1));
    }

    #[test]
    fn new_names_are_limited_and_cheap_messages_pass() {
        let t0 = Instant::now();
        let mut admission = Admission::new(&Limits::default(), t0);
        let served = (0..5000)
            .filter(|i| {
                admission.admit(
                    &packet(&format!("n:{i}"), Message::GossipOnly),
                    Listing::Unknown,
                    t0,
                )
            })
            .count();
        assert_eq!(served, 1000);
        let gossip = packet("a:1", Message::GossipOnly);
        assert!((0..10_000).all(|_| admission.admit(&gossip, Listing::Online, t0)));
    }

    #[test]
    fn ping_reqs_and_pings_have_budgets() {
        let t0 = Instant::now();
        let mut admission = Admission::new(&Limits::default(), t0);
        let req = packet(
            "a:1",
            Message::PingReq {
                seq: 1,
                target: "b:1".into(),
            },
        );
        let served = (0..1000)
            .filter(|_| admission.admit(&req, Listing::Online, t0))
            .count();
        assert_eq!(served, 20);
        let ping = packet(
            "a:1",
            Message::Ping {
                seq: 1,
                known: 0,
                window: None,
            },
        );
        let window = packet(
            "a:1",
            Message::Ping {
                seq: 2,
                known: 0,
                window: Some(vec![]),
            },
        );
        let served = (0..1000)
            .filter(|i| {
                let probe = if i % 2 == 0 { &ping } else { &window };
                admission.admit(probe, Listing::Online, t0)
            })
            .count();
        assert_eq!(
            served, 200,
            "pings with and without a window share the budget"
        );
    }

    #[test]
    fn the_allow_list_is_open_when_empty() {
        let limits = Limits::default();
        assert!(limits.allows("8.8.8.8".parse().unwrap()));
        let limits = limits.with_allow(vec!["10.0.0.0/8".parse().unwrap()]);
        assert!(limits.allows("10.9.9.9".parse().unwrap()));
        assert!(!limits.allows("11.0.0.1".parse().unwrap()));
    }
}
