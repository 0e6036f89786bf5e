//! The local control socket: how `event`, `query` and `send` on the command line reach a
//! running member.
//!
//! A running `swim-protocol-sync` or `swim-protocol-demo` listens on a Unix socket
//! ([`path`] says where) that only its own user may use: the socket is mode 0600 and every
//! connection's peer credentials are checked ([`server`]). A client sends one request, a JSON
//! line, and reads JSON lines back until the member closes the connection ([`wire`]).
//! [`client`] holds the subcommands. The member side is written against [`ControlTarget`],
//! which the library's [`swim_protocol::Cluster`] implements, and a test double does in the
//! tests.

pub mod client;
mod cluster;
pub mod path;
pub mod server;
pub mod wire;

use std::future::Future;
use std::time::Duration;

pub use swim_protocol::KeyTest;
use tokio::sync::mpsc;

/// A query as the control socket asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuerySpec {
    /// The query's name.
    pub name: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// Only these members answer (all when empty).
    pub names: Vec<String>,
    /// Only members whose metadata passes every test answer.
    pub filters: Vec<(String, KeyTest)>,
    /// Whether recipients acknowledge receipt.
    pub ack: bool,
    /// Through how many other members responses are also relayed.
    pub relay: u8,
    /// How long responses are collected; the library's default when `None`.
    pub timeout: Option<Duration>,
}

/// One thing a query brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryReply {
    /// A member received the query.
    Ack {
        /// The member.
        from: String,
    },
    /// A member answered.
    Response {
        /// The member.
        from: String,
        /// Its answer.
        payload: Vec<u8>,
    },
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TargetError {
    /// Whether the request itself is wrong (exit status 2) rather than its outcome (1).
    pub usage: bool,
    /// What went wrong.
    pub message: String,
}

impl TargetError {
    /// A request that cannot succeed as asked (too large, bad name, unknown member...).
    pub fn usage(message: impl Into<String>) -> TargetError {
        TargetError {
            usage: true,
            message: message.into(),
        }
    }

    /// A request that failed at run time (a reliable message not acknowledged...).
    pub fn failure(message: impl Into<String>) -> TargetError {
        TargetError {
            usage: false,
            message: message.into(),
        }
    }
}

/// What the control socket asks of a running member.
pub trait ControlTarget: Clone + Send + Sync + 'static {
    /// Publishes a user event to the cluster.
    fn publish(
        &self,
        name: &str,
        payload: Vec<u8>,
        coalesce: bool,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;

    /// Sends a direct message to `member`; resolves once sent (best effort) or acknowledged
    /// (reliable).
    fn send(
        &self,
        member: &str,
        payload: Vec<u8>,
        reliable: bool,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;

    /// Starts a query; its acks and responses arrive on the receiver, which closes when the
    /// query's timeout is over.
    fn query(
        &self,
        query: QuerySpec,
    ) -> impl Future<Output = Result<mpsc::Receiver<QueryReply>, TargetError>> + Send;
}

#[cfg(test)]
pub mod double;
#[cfg(test)]
mod tests;
