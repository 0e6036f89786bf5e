//! Admission: what a member lets reach its state machine, so that a flood of authentic
//! packets (from a member holding the key, or replayed from one) costs a bounded amount.
//!
//! Two checks, both before the protocol sees a packet:
//! - the **source allow-list**: datagrams and connections from addresses outside the
//!   configured CIDR blocks are dropped before any cryptography;
//! - **budgets** for the requests whose answer costs something: a push-pull sync (a window
//!   of records), a ping-req (a ping sent on the sender's behalf) and a ping (an ack with
//!   piggybacked records), each limited per source and in total; and the names never seen
//!   before, which grow the member table. (The full-sync budget, for the largest answer, is
//!   the core's: [`swim_core::FullSyncLimits`] in the protocol config. Whether a sender may
//!   get answers larger than its request is the core's "good standing": `docs/PROTOCOL.md`.)
//!
//! The budgets only drop requests: the protocol copes with a lost request as with a lost
//! datagram (it asks again later). What is answered is decided by the core, as always.

pub mod cidr;

use std::time::Duration;

use swim_core::budget::{Bucket, PerSource};
use swim_core::{Message, Packet};

pub use swim_core::budget::Rate;

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

struct Class {
    per_source: PerSource,
    total: (Rate, Bucket),
}

impl Class {
    fn new(per_source: Rate, total: Rate, now: Duration) -> Class {
        Class {
            per_source: PerSource::new(per_source, MAX_SOURCES),
            total: (total, Bucket::full(total, now)),
        }
    }

    fn take(&mut self, packet: &Packet, now: Duration) -> bool {
        self.per_source.take(&packet.source.name, now) && self.total.1.take(self.total.0, now)
    }
}

/// The budgets of one running member, on the driver's clock (the time since it started).
pub(crate) struct Admission {
    push_pull: Class,
    ping_req: Class,
    ping: Class,
    new_names: (Rate, Bucket),
}

impl Admission {
    pub fn new(limits: &Limits, now: Duration) -> Admission {
        let total = |rate: Rate| (rate, Bucket::full(rate, now));
        Admission {
            push_pull: Class::new(limits.push_pull_per_source, limits.push_pull_total, now),
            ping_req: Class::new(limits.ping_req_per_source, limits.ping_req_total, now),
            ping: Class::new(limits.ping_per_source, limits.ping_total, now),
            new_names: total(limits.new_names),
        }
    }

    /// Whether `packet`, from a sender in our member table or not (`listed`), may reach
    /// the state machine now. Full-sync requests pass: their budget is the core's.
    pub fn admit(&mut self, packet: &Packet, listed: bool, now: Duration) -> bool {
        if !listed {
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
            } => true,
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
    use swim_core::{Source, Validity};

    use super::*;

    const T0: Duration = Duration::from_secs(10);

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
    fn full_syncs_pass_to_the_core_whose_budget_they_are() {
        let mut admission = Admission::new(&Limits::default(), T0);
        let served = (0..1000)
            .filter(|_| admission.admit(&full_sync("a:1"), true, T0))
            .count();
        assert_eq!(served, 1000);
    }

    #[test]
    fn new_names_are_limited_and_cheap_messages_pass() {
        let mut admission = Admission::new(&Limits::default(), T0);
        let served = (0..5000)
            .filter(|i| admission.admit(&packet(&format!("n:{i}"), Message::GossipOnly), false, T0))
            .count();
        assert_eq!(served, 1000);
        let gossip = packet("a:1", Message::GossipOnly);
        assert!((0..10_000).all(|_| admission.admit(&gossip, true, T0)));
    }

    #[test]
    fn ping_reqs_and_pings_have_budgets() {
        let mut admission = Admission::new(&Limits::default(), T0);
        let req = packet(
            "a:1",
            Message::PingReq {
                seq: 1,
                target: "b:1".into(),
            },
        );
        let served = (0..1000)
            .filter(|_| admission.admit(&req, true, T0))
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
                admission.admit(probe, true, T0)
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
