//! SWIM cluster membership for tokio applications.
//!
//! Start a member with [`Cluster::start`] (or [`Cluster::start_with_retry`]) from a
//! [`Config`]; the returned [`Cluster`] handle gives snapshots of the members, a stream of
//! changes ([`Events`]), and updates the local metadata.
//!
//! The top of the crate holds what an application uses. The rest lives in named modules:
//! [`config`] (settings, the resolved configuration, seconds and secret helpers),
//! [`address`] (the address pipeline: parse, resolve, discover, cache), [`stats`] (traffic
//! counters), [`security`] (label, keyring, allow-list, budgets), [`frame`] (the native
//! frame: signing, encryption, replay protection; [`frame::keyring`]) and [`admission`]
//! (the source allow-list and request budgets).
//!
//! "The seed" in these docs is the Python package `swim-protocol` 0.6.3, which this crate
//! reimplements and can interoperate with ([`WireKind::Python`]).
//!
//! Features: `cli` (default) adds [`Args`], the command-line options, with `clap`;
//! `metrics` adds `metrics`, the member's Prometheus metrics.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod address;
pub mod admission;
mod cluster;
mod codec;
pub mod config;
mod error;
mod events;
pub mod frame;
mod keyring_file;
pub mod messaging;
#[cfg(feature = "metrics")]
pub mod metrics;
mod runtime;
pub mod security;
pub mod stats;
mod transport;

pub use cluster::Cluster;
#[cfg(feature = "cli")]
pub use config::Args;
pub use config::{Config, WireKind};
pub use error::{ConfigError, StartError};
pub use events::{Events, MembershipEvent};
pub use swim_core::{
    AppError, AppId, KeyTest, MemberChange, MemberName, MemberSnapshot, MessagingConfig, Metadata,
    Profile, ProtocolConfig, QueryFilter, ReplyKind, Status, StatusSet,
};
