//! `swim-protocol-sync`: the cluster's membership and metadata as a directory tree.
//!
//! The [`mirror::Mirror`] turns member snapshots into files and links and knows nothing of the
//! network; [`local`] reads the local member's metadata from its directory; [`hook`] runs the
//! `on-update` script; [`handlers`] the `on-event` and `on-query` scripts, which [`inbox`]
//! feeds the member's messages; [`watch`] notices local edits; [`daemon`] wires them to a
//! running [`swim_protocol::Cluster`].

pub mod cli;
pub mod daemon;
pub mod fsutil;
pub mod handlers;
pub mod hook;
pub mod inbox;
pub mod local;
pub mod mirror;
pub mod names;
pub mod watch;

pub use cli::SyncArgs;
pub use mirror::{Mirror, MirrorError, Outcome};
