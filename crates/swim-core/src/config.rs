//! Timing and sizing parameters of the protocol. `Default` is the `lan` profile; see
//! [`Profile`](crate::Profile) for the others (the seed's timings among them).

use std::time::Duration;

use crate::budget::Rate;
use crate::Profile;

/// Protocol parameters. `Default` gives the [`Profile::Lan`](crate::Profile::Lan) values;
/// [`ProtocolConfig::with_profile`] gives another profile's.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolConfig {
    /// Time between two probes sent by a member (seed: 1.0 s).
    pub ping_interval: Duration,
    /// How long to wait for a direct ack before asking others to probe (seed: 0.3 s).
    pub ping_timeout: Duration,
    /// How many other available members are asked to probe an unresponsive member (seed: 1).
    pub ping_req_count: usize,
    /// How long to wait for an indirect ack before suspecting the member (seed: 0.9 s).
    pub ping_req_timeout: Duration,
    /// How long a suspect member has to refute before it is declared offline (seed: 5.0 s).
    /// With [`ProtocolConfig::lifeguard`] this is the shortest wait, reached once enough
    /// members confirm the suspicion; see [`ProtocolConfig::suspicion_max_mult`].
    pub suspect_timeout: Duration,
    /// Time between two gossip-only packets while updates are pending (seed: 0.5 s).
    pub sync_interval: Duration,
    /// Time between two push-pull anti-entropy exchanges with a random member.
    pub push_pull_interval: Duration,
    /// Each update is piggybacked `retransmit_mult * ceil(log10(n + 1))` times.
    pub retransmit_mult: u32,
    /// Most records a full sync reply may carry (bounds what a joining member receives).
    pub max_sync_records: usize,
    /// Budget in bytes (native encoding) for the records piggybacked on one packet.
    pub piggyback_budget: usize,
    /// The wire formats spoken, and with them whose clock a local verdict (suspect,
    /// offline, alive again) carries: `Native` unless the cluster has members of the
    /// Python package.
    pub wire: Wire,
    /// How many random members a member passes a record to at once when it learns it (0: only
    /// piggybacking and periodic gossip, as in the seed). These sends count against the
    /// record's retransmission budget.
    pub fanout: usize,
    /// Rules switched off for comparisons (the simulator's A/B runs); only with the
    /// `ablation` feature, never in a production build.
    #[cfg(feature = "ablation")]
    pub ablation: Ablation,
    /// The full-sync budget: full-sync requests taken per source and in total, and full
    /// member lists sent per `ping_interval`.
    pub full_sync: FullSyncLimits,
    /// Lifeguard (Dadgar et al., 2017): local health scales our own timeouts, relays send
    /// nacks, and a suspicion lasts longer until others confirm it. On by default; off gives
    /// plain SWIM. Nacks and confirmations need the native wire: under
    /// the Python wire only local health applies (see `docs/PROTOCOL.md`).
    pub lifeguard: bool,
    /// Highest local health score (Lifeguard): at score `s` the probe timeouts and the
    /// wait before the next probe are `(s + 1)` times their configured value.
    pub awareness_max: u32,
    /// Lifeguard: a suspicion nobody confirms lasts `suspicion_max_mult × suspect_timeout`;
    /// confirmations bring it down to `suspect_timeout`.
    pub suspicion_max_mult: u32,
    /// Lifeguard: how many independent confirmations bring a suspicion down to
    /// `suspect_timeout` (fewer in small clusters: at most the members left to confirm).
    pub suspicion_confirmations: u32,
    /// How long a member stays listed OFFLINE before it is forgotten (reaped). A forgotten
    /// member leaves a tombstone for as long again, so that stale gossip cannot bring it
    /// back. Must outlast the partitions that should heal on their own (see "Reaping" in
    /// `docs/PROTOCOL.md`).
    pub offline_retention: Duration,
    /// The application's messages: payload limit, retention, their share of each packet.
    pub messaging: MessagingConfig,
}

/// The full-sync budget (see "Full-sync budget" in `docs/PROTOCOL.md`). A full-sync request
/// beyond its source's rate or its class's total is ignored, as a lost datagram is (the
/// asker tries again later); one taken is answered with the whole list while
/// `lists_per_period` allows, else with a window of records. `Default` suits clusters of up
/// to a few thousand members.
#[derive(Debug, Clone, PartialEq)]
pub struct FullSyncLimits {
    /// Requests taken per source name. A joiner asks once per peer, then makes up to 4
    /// follow-ups, one per ping interval; the member-count digest asks at most every 5 s.
    pub per_source: Rate,
    /// Requests taken in total from senders ONLINE in our table.
    pub members: Rate,
    /// Requests taken in total from anyone else (joiners included), so that strangers (or
    /// a flood under made-up names) cannot starve the members.
    pub strangers: Rate,
    /// Most full member lists (answers to joins and catch-ups) sent per `ping_interval`;
    /// requests beyond get a window of records instead.
    pub lists_per_period: usize,
}

impl Default for FullSyncLimits {
    fn default() -> Self {
        FullSyncLimits {
            per_source: Rate::new(1.0, 5.0),
            members: Rate::new(50.0, 100.0),
            strangers: Rate::new(20.0, 100.0),
            lists_per_period: 16,
        }
    }
}

impl FullSyncLimits {
    /// These limits with every request taken (only `lists_per_period` applies): the
    /// simulator's runs, whose figures predate the request rates' move into the core.
    #[must_use]
    pub fn with_unlimited_requests(self) -> Self {
        FullSyncLimits {
            per_source: Rate::UNLIMITED,
            members: Rate::UNLIMITED,
            strangers: Rate::UNLIMITED,
            ..self
        }
    }

    /// Checks that every limit can serve something.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_rates([
            ("full_sync.per_source", self.per_source),
            ("full_sync.members", self.members),
            ("full_sync.strangers", self.strangers),
        ])?;
        if self.lists_per_period == 0 {
            return Err(ConfigError::OutOfRange {
                name: "full_sync.lists_per_period",
                value: "0".to_owned(),
                expected: "at least 1",
            });
        }
        Ok(())
    }
}

/// Limits of the application's messages (user events, queries, direct messages): see
/// "Application messages" in `docs/PROTOCOL.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagingConfig {
    /// Largest payload the application may send (at most [`crate::MAX_APP_PAYLOAD`]).
    /// 8 KiB by default: 16 times Serf's 512 bytes, enough for a command or a small
    /// document; a message larger than its share of a datagram travels alone.
    pub max_payload: usize,
    /// How long a member keeps the messages it received, to hand them on push-pull to
    /// members that missed them (a partition healed, a late join). 120 s by default: twice
    /// the 60 s partition the simulator heals, bounded by `retained_messages` and
    /// `retained_bytes`.
    pub event_retention: Duration,
    /// Most messages kept for `event_retention`.
    pub retained_messages: usize,
    /// Most payload bytes kept for `event_retention`.
    pub retained_bytes: usize,
    /// Bytes of each packet's piggyback room the application's messages may take, after
    /// the membership records: membership news always goes first.
    pub packet_share: usize,
    /// Most messages waiting to be gossiped; beyond it a publish is refused (busy) and a
    /// received message is not passed on (counted as dropped).
    pub max_pending: usize,
    /// Most queries per second handed to the application to answer (the rest are passed
    /// on but not answered, counted as dropped).
    pub queries_per_s: u32,
    /// How long an acknowledged direct message waits for its acknowledgement.
    pub direct_timeout: Duration,
    /// New user events accepted from one origin process (handed over and passed on); the
    /// rest are dropped (counted in `Counters::app_over_budget`). 100 a second, 1,024 at
    /// once by default: a burst as large as the origin's own queue (`max_pending`), and a
    /// rate well above what gossip spreads (a 20-member cluster sustains 20–50 events a
    /// second in all, `docs/benchmarks.md`), so only a flood meets it.
    pub events_per_origin: Rate,
    /// New queries accepted from one origin process (handed over and passed on). 10 a
    /// second, 64 at once by default: fifty times the simulator's workload (a query every
    /// 5 s cluster-wide), and a fifth of the queries a member hands its application in all
    /// (`queries_per_s`), so that one origin's flood leaves the others most of that rate.
    pub queries_per_origin: Rate,
    /// Direct messages accepted from one member (the rest are dropped unacknowledged). 200
    /// a second, 1,024 at once by default: as many as a member may have in flight
    /// acknowledged, at a rate the application can use for request/response traffic.
    pub directs_per_sender: Rate,
    /// Query responses (and acks) one member may ask this one to relay to their asker. 100
    /// a second, 512 at once by default: a responder answers at most `queries_per_s` (50)
    /// queries a second with an ack and a response each, and asks each relay once.
    pub relays_per_sender: Rate,
    /// New events and queries taken from one member, whatever their origin (any member can
    /// claim to pass on another origin's messages: this bounds what a member inventing
    /// origins gets in). 1,000 a second, 4,096 at once by default: a push-pull answer
    /// holds at most `retained_messages` (4,096), and no member relays more new messages
    /// than the whole cluster publishes (tens a second).
    pub new_per_sender: Rate,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        MessagingConfig {
            max_payload: 8 * 1024,
            event_retention: Duration::from_secs(120),
            retained_messages: 4096,
            retained_bytes: 4 * 1024 * 1024,
            packet_share: 600,
            max_pending: 1024,
            queries_per_s: 50,
            direct_timeout: Duration::from_secs(5),
            events_per_origin: Rate::new(100.0, 1024.0),
            queries_per_origin: Rate::new(10.0, 64.0),
            directs_per_sender: Rate::new(200.0, 1024.0),
            relays_per_sender: Rate::new(100.0, 512.0),
            new_per_sender: Rate::new(1000.0, 4096.0),
        }
    }
}

/// Rules that can be switched off to measure what they bring (the simulator's A/B runs,
/// `ablation` feature). The defaults are the protocol's rules.
#[cfg(feature = "ablation")]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ablation {
    /// Fan out join news heard second-hand too (the rule before "join news heard
    /// second-hand is not fanned out"; see "Eager fanout" in `docs/PROTOCOL.md`): a mass
    /// join of `n` members then costs `fanout × n²` eager packets instead of `fanout × n`.
    pub fanout_joins: bool,
    /// Gossip join news that arrives in a burst this many times at most, instead of not at
    /// all (`u32::MAX`: the full retransmission limit, the rule before "Mass joins").
    pub join_news_retransmits: u32,
}

/// The wire formats a member speaks, and with them the clock rules it follows: the one
/// interoperation setting (see "Seed clock rules" and "Members that speak both wires" in
/// `docs/PROTOCOL.md`). The driver encodes packets as [`Transmit::wire`](crate::Transmit)
/// says, which follows from this setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Wire {
    /// Our own compact format, and our rules: a suspicion keeps the suspect's clock and wins
    /// by status precedence; only the member itself refutes, with a newer clock.
    #[default]
    Native,
    /// The format of the Python package swim-protocol 0.6.3, and its clock rules, which its
    /// members need (they ignore any record whose clock is not newer than theirs):
    /// suspicions and OFFLINE verdicts take the detector's next clock; a member that answers
    /// a probe, or states its own record ONLINE, is marked ONLINE again with the detector's
    /// next clock; a new process is sent the whole member list.
    Python,
    /// Both, for migrating a live cluster: each member is sent packets in the format last
    /// heard from its current process, and the Python format until it is heard from. The
    /// seed's rules about one member apply toward the members addressed in the Python
    /// format; verdicts take the detector's clock for every member, since records reach
    /// members through Python members, which take only strictly newer clocks.
    Auto,
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Wire::Native => "native",
            Wire::Python => "python",
            Wire::Auto => "auto",
        })
    }
}

/// A wire format name that is not `native`, `python` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown wire format {0:?}: expected native, python or auto")]
pub struct UnknownWire(pub String);

impl std::str::FromStr for Wire {
    type Err = UnknownWire;

    /// `native`, `python` or `auto`, in any case.
    fn from_str(s: &str) -> Result<Self, UnknownWire> {
        match s.to_ascii_lowercase().as_str() {
            "native" => Ok(Wire::Native),
            "python" => Ok(Wire::Python),
            "auto" => Ok(Wire::Auto),
            _ => Err(UnknownWire(s.to_owned())),
        }
    }
}

impl Default for ProtocolConfig {
    /// The `lan` profile. The timings come from the profiles' table alone (`profile.rs`):
    /// they are zero here until the profile sets them.
    fn default() -> Self {
        let untimed = ProtocolConfig {
            ping_interval: Duration::ZERO,
            ping_timeout: Duration::ZERO,
            ping_req_count: 0,
            ping_req_timeout: Duration::ZERO,
            suspect_timeout: Duration::ZERO,
            sync_interval: Duration::ZERO,
            push_pull_interval: Duration::ZERO,
            retransmit_mult: 0,
            max_sync_records: 100_000,
            piggyback_budget: 1200,
            wire: Wire::Native,
            fanout: 0,
            #[cfg(feature = "ablation")]
            ablation: Ablation::default(),
            full_sync: FullSyncLimits::default(),
            lifeguard: true,
            awareness_max: 8,
            suspicion_max_mult: 3,
            suspicion_confirmations: 3,
            offline_retention: Duration::from_secs(600),
            messaging: MessagingConfig::default(),
        };
        untimed.with_profile(Profile::Lan)
    }
}

/// A protocol parameter that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A duration that must be positive is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The timeouts do not fit in a probe period.
    #[error("ping_timeout ({ping_timeout:?}) must be shorter than ping_req_timeout ({ping_req_timeout:?})")]
    TimeoutOrder {
        /// The configured ping timeout.
        ping_timeout: Duration,
        /// The configured ping-req timeout.
        ping_req_timeout: Duration,
    },
    /// A value is out of its allowed range.
    #[error("{name} is {value}, expected {expected}")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
}

impl ProtocolConfig {
    /// Checks that the parameters can work together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("ping_interval", self.ping_interval),
            ("ping_timeout", self.ping_timeout),
            ("ping_req_timeout", self.ping_req_timeout),
            ("suspect_timeout", self.suspect_timeout),
            ("sync_interval", self.sync_interval),
            ("push_pull_interval", self.push_pull_interval),
            ("offline_retention", self.offline_retention),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.ping_timeout >= self.ping_req_timeout {
            return Err(ConfigError::TimeoutOrder {
                ping_timeout: self.ping_timeout,
                ping_req_timeout: self.ping_req_timeout,
            });
        }
        if self.ping_req_count > 16 {
            return Err(ConfigError::OutOfRange {
                name: "ping_req_count",
                value: self.ping_req_count.to_string(),
                expected: "0 to 16",
            });
        }
        if !(1..=64).contains(&self.retransmit_mult) {
            return Err(ConfigError::OutOfRange {
                name: "retransmit_mult",
                value: self.retransmit_mult.to_string(),
                expected: "1 to 64",
            });
        }
        self.full_sync.validate()?;
        if self.fanout > 16 {
            return Err(ConfigError::OutOfRange {
                name: "fanout",
                value: self.fanout.to_string(),
                expected: "0 to 16",
            });
        }
        if self.awareness_max > 32 {
            return Err(ConfigError::OutOfRange {
                name: "awareness_max",
                value: self.awareness_max.to_string(),
                expected: "0 to 32",
            });
        }
        if !(1..=16).contains(&self.suspicion_max_mult) {
            return Err(ConfigError::OutOfRange {
                name: "suspicion_max_mult",
                value: self.suspicion_max_mult.to_string(),
                expected: "1 to 16",
            });
        }
        if self.suspicion_confirmations > 16 {
            return Err(ConfigError::OutOfRange {
                name: "suspicion_confirmations",
                value: self.suspicion_confirmations.to_string(),
                expected: "0 to 16",
            });
        }
        if self.piggyback_budget < 64 {
            return Err(ConfigError::OutOfRange {
                name: "piggyback_budget",
                value: self.piggyback_budget.to_string(),
                expected: "at least 64 bytes",
            });
        }
        self.messaging.validate()
    }
}

impl MessagingConfig {
    /// Checks the limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=crate::MAX_APP_PAYLOAD).contains(&self.max_payload) {
            return Err(ConfigError::OutOfRange {
                name: "messaging.max_payload",
                value: self.max_payload.to_string(),
                expected: "1 to 65536 bytes",
            });
        }
        for (name, value) in [
            ("messaging.event_retention", self.event_retention),
            ("messaging.direct_timeout", self.direct_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        for (name, value) in [
            ("messaging.max_pending", self.max_pending),
            ("messaging.retained_messages", self.retained_messages),
            ("messaging.packet_share", self.packet_share),
        ] {
            if value == 0 {
                return Err(ConfigError::OutOfRange {
                    name,
                    value: "0".to_owned(),
                    expected: "at least 1",
                });
            }
        }
        check_rates([
            ("messaging.events_per_origin", self.events_per_origin),
            ("messaging.queries_per_origin", self.queries_per_origin),
            ("messaging.directs_per_sender", self.directs_per_sender),
            ("messaging.relays_per_sender", self.relays_per_sender),
            ("messaging.new_per_sender", self.new_per_sender),
        ])
    }
}

/// Checks that every named rate can serve something.
fn check_rates<const N: usize>(rates: [(&'static str, Rate); N]) -> Result<(), ConfigError> {
    for (name, rate) in rates {
        if !rate.is_valid() {
            return Err(ConfigError::OutOfRange {
                name,
                value: format!("{rate:?}"),
                expected: "a positive rate and a burst of at least 1",
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_profile_is_the_seeds_timings_and_valid() {
        let c = ProtocolConfig::default().with_profile(Profile::Seed);
        assert_eq!(c.ping_interval, Duration::from_secs(1));
        assert_eq!(c.ping_timeout, Duration::from_millis(300));
        assert_eq!(c.ping_req_count, 1);
        assert_eq!(c.ping_req_timeout, Duration::from_millis(900));
        assert_eq!(c.suspect_timeout, Duration::from_secs(5));
        assert_eq!(c.sync_interval, Duration::from_millis(500));
        assert_eq!(c.fanout, 0);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn default_is_lan_and_every_profile_is_valid() {
        let c = ProtocolConfig::default();
        assert_eq!(c.ping_interval, Duration::from_secs(1));
        assert_eq!(c.ping_timeout, Duration::from_millis(200));
        assert_eq!(c.ping_req_count, 3);
        assert_eq!(c.ping_req_timeout, Duration::from_millis(600));
        assert_eq!(c.suspect_timeout, Duration::from_secs(4));
        assert_eq!(c.sync_interval, Duration::from_millis(200));
        assert_eq!(c.push_pull_interval, Duration::from_secs(30));
        assert_eq!(c.fanout, 3);
        assert_eq!(c.wire, Wire::Native);
        for profile in Profile::ALL {
            let c = ProtocolConfig::default().with_profile(profile);
            assert_eq!(c.validate(), Ok(()), "{profile}");
        }
    }

    #[test]
    fn invalid_values_are_explained() {
        let c = ProtocolConfig {
            ping_interval: Duration::ZERO,
            ..Default::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::Zero("ping_interval")));
        let c = ProtocolConfig {
            ping_timeout: Duration::from_secs(2),
            ..Default::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::TimeoutOrder { .. })
        ));
        let c = ProtocolConfig {
            ping_req_count: 100,
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("ping_req_count"), "{err}");
        let c = ProtocolConfig {
            messaging: MessagingConfig {
                queries_per_origin: Rate::new(10.0, 0.0),
                ..MessagingConfig::default()
            },
            ..Default::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("messaging.queries_per_origin"), "{err}");
    }
}
