//! The address pipeline, in one place: a member name is **parsed** into a host and port
//! ([`AddressParser`], with the configuration's default host and port), its host is
//! **resolved** by the configuration's [`Resolver`] (at start for the local name, the peers and
//! discovery; afterwards for every name the member sends to), and the running member **caches**
//! the answers for the configured name TTL, so that it follows a name that moves.
//!
//! | stage | module | used by |
//! |---|---|---|
//! | parse | `parse` | the configuration, the cache |
//! | resolve | `resolver` | `Config::resolve`, [`discover`], the cache |
//! | discover | `discovery` | `Config::resolve` with discovery on |
//! | peers by DNS | `peers` | `Config::resolve`, the runtime's re-resolution (`dns+`, `dnssrv+`) |
//! | cache | `cache` | the runtime (crate-private) |

pub(crate) mod cache;
mod discovery;
mod parse;
mod peers;
mod resolver;

pub use cache::{DEFAULT_NAME_TTL, FAILED_RETRY};
pub(crate) use discovery::transient;
pub use discovery::{discover, Discovered, RETRY_AFTER_LOOKUP_FAILURE, RETRY_AFTER_NO_PEERS};
pub use parse::{AddressError, AddressParser, Host, MemberAddress, MAX_NAME_LEN};
pub use peers::{resolve_peer, PeerSpec, DNS_PREFIX, MAX_ADDRESSES_PER_NAME, SRV_PREFIX};
pub(crate) use resolver::resolve_host;
pub use resolver::{
    LookupFuture, ResolveError, Resolver, SrvFuture, SrvTarget, StaticResolver, SystemResolver,
    LOOKUP_TIMEOUT,
};
