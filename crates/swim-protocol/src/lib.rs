//! SWIM cluster membership for tokio applications.
//!
//! Start a member with [`Cluster::start`] from a [`Config`]; the returned [`Cluster`] handle
//! gives snapshots of the members, a stream of changes, and updates the local metadata.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod cluster;
mod config;
mod error;
mod resolved;

pub use cluster::{Cluster, Events};
pub use config::{Config, WireKind};
pub use error::{ConfigError, StartError};
pub use resolved::ResolvedConfig;
pub use swim_core::{
    Event, MemberChange, MemberName, MemberSnapshot, Metadata, ProtocolConfig, Status, StatusSet,
};
