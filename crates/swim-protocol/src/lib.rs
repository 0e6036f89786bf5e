//! SWIM cluster membership for tokio applications.
//!
//! Start a member with [`Cluster::start`] from a [`Config`]; the returned [`Cluster`] handle
//! gives snapshots of the members, a stream of changes, and updates the local metadata.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cluster;
mod codec;
mod config;
mod error;
mod events;
mod resolved;
mod runtime;
pub mod sign;
mod stats;
mod transport;

pub use cluster::Cluster;
pub use config::{Config, WireKind};
pub use error::{ConfigError, StartError};
pub use events::Events;
pub use resolved::ResolvedConfig;
pub use stats::StatsSnapshot;
pub use swim_core::{
    Event, MemberChange, MemberName, MemberSnapshot, Metadata, ProtocolConfig, Status, StatusSet,
};
