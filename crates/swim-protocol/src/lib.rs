//! SWIM cluster membership for tokio applications.
//!
//! Start a member with [`Cluster::start`] from a [`Config`]; the returned [`Cluster`] handle
//! gives snapshots of the members, a stream of changes, and updates the local metadata.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod admission;
mod cluster;
mod codec;
mod config;
mod error;
mod events;
pub mod frame;
mod keyring_file;
mod resolved;
mod runtime;
mod security;
mod stats;
mod transport;

pub use cluster::Cluster;
pub use config::address::{AddressError, AddressParser, Host, MemberAddress, MAX_NAME_LEN};
pub use config::cli::{parse_seconds, Args};
pub use config::discovery::{
    discover, Discovered, RETRY_AFTER_LOOKUP_FAILURE, RETRY_AFTER_NO_PEERS,
};
pub use config::resolver::{
    resolve_member_addr, LookupFuture, MemberAddrs, ResolveError, Resolver, StaticResolver,
    SystemResolver, CACHE_TTL, LOOKUP_TIMEOUT,
};
pub use config::secret::{default_secret, read_secret_file, MAX_SECRET_FILE_LEN};
pub use config::{Config, WireKind, MAX_MTU_SIZE, MAX_PEERS, MIN_MTU_SIZE};
pub use error::{ConfigError, StartError};
pub use events::Events;
pub use frame::keyring;
pub use resolved::ResolvedConfig;
pub use security::Security;
pub use stats::StatsSnapshot;
pub use swim_core::{
    ClockRules, Event, MemberChange, MemberName, MemberSnapshot, Metadata, ProtocolConfig, Status,
    StatusSet,
};
