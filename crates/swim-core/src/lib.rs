//! The SWIM membership protocol as a sans-IO state machine.
//!
//! [`Swim`] holds one member's view of the cluster. The driver (the simulator or the tokio
//! runtime) feeds it received packets and expired timers together with the current time, and
//! drains what it produces: packets to send ([`Swim::poll_transmit`]), the next deadline
//! ([`Swim::poll_timeout`]) and membership changes ([`Swim::poll_event`]). It never reads a
//! clock, opens a socket or uses a global random number generator, so a run is reproducible
//! from its inputs. The protocol rules are written down in `docs/PROTOCOL.md`.
//!
//! # Parts
//!
//! [`Swim`] is an orchestrator over parts that own their state behind small APIs (private
//! fields: a part asks another only through its methods); `docs/ARCHITECTURE.md` says where
//! each rule lives.
//!
//! - **membership**: the member table, tombstones of forgotten members, the Lamport clock;
//!   which record wins, refutation, local verdicts, the seed's clock rules;
//! - **failure detection**: the shuffled probe round, probes with their indirect rounds,
//!   relayed ping-reqs and Lifeguard's nacks, local health, recent responders;
//! - **suspicions**: one store of every suspicion with its deadline and Lifeguard's
//!   confirmations;
//! - **dissemination**: the gossip queue with bounded retransmits, eager fanout, join news
//!   in a burst;
//! - **synchronisation**: joining, catch-up on the member-count digest, push-pull windows
//!   riding on probes, metadata repairs (an immediate push-pull), the full-sync budget
//!   (requests per source and in total, lists per period; token buckets in [`budget`]);
//! - **standing**: no answer to a stranger larger than its request, and challenges;
//! - **messaging**: the application's user events, queries and direct messages, their own
//!   gossip queue within a bounded share of each packet, duplicate suppression, the
//!   retention buffer exchanged on push-pull;
//! - **timers**, **leave** and **output** (packets, events, counters for the driver).
//!
//! The [`wire`] module is the native codec; the Python package's lives in another crate.
//!
//! "The seed" in these docs is the Python package `swim-protocol` 0.6.3, which this project
//! reimplements; where we differ from it, the docs say so.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod app;
pub mod budget;
mod config;
mod counters;
mod event;
mod machine;
mod member;
mod message;
mod metadata;
mod name;
mod profile;
mod status;
mod table;
mod tombstone;
pub mod wire;

pub use app::{
    check_app_name, check_query, AppBody, AppError, AppId, AppMessage, AppSection, KeyTest,
    QueryFilter, QueryRequest, ReplyKind, MAX_APP_NAME_LEN, MAX_APP_PAYLOAD, MAX_FILTER_NAMES,
    MAX_FILTER_TESTS, MAX_MATCHED_VALUE, MAX_QUERY_TIMEOUT, MAX_RELAY, MAX_TEST_LEN,
};
#[cfg(feature = "ablation")]
pub use config::Ablation;
pub use config::{ConfigError, FullSyncLimits, MessagingConfig, ProtocolConfig, UnknownWire, Wire};
pub use counters::{Counters, MessageKind, RoundTrips};
pub use event::Event;
pub use machine::Swim;
pub use member::{MemberChange, MemberSnapshot};
pub use message::{Message, Packet, PeerWire, Source, Transmit, Update};
pub use metadata::{MetaDelta, Metadata};
pub use name::{MemberName, Validity};
pub use profile::{Profile, UnknownProfile};
pub use status::{Status, StatusSet, UnknownStatus};
