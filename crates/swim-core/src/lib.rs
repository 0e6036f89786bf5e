//! The SWIM membership protocol as a sans-IO state machine.
//!
//! [`Swim`] holds one member's view of the cluster. The driver (the simulator or the tokio
//! runtime) feeds it received packets and expired timers together with the current time, and
//! drains what it produces: packets to send ([`Swim::poll_transmit`]), the next deadline
//! ([`Swim::poll_timeout`]) and membership changes ([`Swim::poll_event`]). It never reads a
//! clock, opens a socket or uses a global random number generator, so a run is reproducible
//! from its inputs. The protocol rules are written down in `docs/PROTOCOL.md`.
//!
//! "The seed" in these docs is the Python package `swim-protocol` 0.6.3, which this project
//! reimplements; where we differ from it, the docs say so.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod broadcast;
mod config;
mod counters;
mod event;
mod machine;
mod member;
mod message;
mod metadata;
mod name;
mod probe;
mod profile;
mod status;
mod table;
mod tombstone;
pub mod wire;

pub use config::{ClockRules, ConfigError, ProtocolConfig};
pub use counters::{Counters, MessageKind, RoundTrips};
pub use event::Event;
pub use machine::Swim;
pub use member::{MemberChange, MemberSnapshot};
pub use message::{Message, Packet, PeerWire, Source, Transmit, Update};
pub use metadata::Metadata;
pub use name::{MemberName, Validity};
pub use profile::{Profile, UnknownProfile};
pub use status::{Status, StatusSet, UnknownStatus};
