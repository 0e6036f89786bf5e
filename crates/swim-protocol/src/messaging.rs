//! The application's messages through the cluster: user events to every member, queries
//! answered by the members a filter selects, direct messages to one member (see
//! `docs/messaging.md`). The rules live in the core (`swim_core::Swim::publish` and its
//! neighbours); this module carries requests to the member's task and its answers back.

use std::sync::Arc;
use std::time::Duration;

use swim_core::{AppError, AppId, MemberName, QueryFilter, ReplyKind};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Messages for the application waiting in [`Messages`] before a slow reader misses some.
pub(crate) const MESSAGES_BUFFER: usize = 1024;
/// Replies to one query waiting for its reader.
const REPLIES_BUFFER: usize = 256;
/// Queries waiting for one [`crate::Cluster::on_query`] handler.
pub(crate) const HANDLER_BUFFER: usize = 64;

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessagingError {
    /// The core refused it (size, name, filter, a full queue, an unknown member...).
    #[error(transparent)]
    Refused(#[from] AppError),
    /// The member acknowledged nothing within the direct-message timeout.
    #[error("{0} did not acknowledge the message in time")]
    NotAcknowledged(MemberName),
    /// The member has shut down.
    #[error("the member has shut down")]
    Stopped,
}

/// How a direct message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// One datagram; nothing tells whether it arrived.
    #[default]
    BestEffort,
    /// Over TCP, acknowledged by the member: [`crate::Cluster::send`] returns an error when
    /// no acknowledgement comes within `direct_timeout` (5 s by default).
    Reliable,
}

/// Options of a user event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventOptions {
    /// A newer event of the same name from this member replaces an older one still waiting
    /// to be gossiped, and members never hand over an older one after a newer.
    pub coalesce: bool,
}

/// Options of a query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Which members answer (by name, and by metadata: equals or a `*`/`?` pattern).
    pub filter: QueryFilter,
    /// Each selected member acknowledges receipt at once.
    pub ack: bool,
    /// Through how many random members each answer is also relayed (0 to 5; duplicates
    /// are dropped before they reach you).
    pub relay: u8,
    /// How long answers are taken (`None`: a default that grows with the cluster's size,
    /// `swim_core::Swim::default_query_timeout`).
    pub timeout: Option<Duration>,
}

/// One answer to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryReply {
    /// The member that answered.
    pub from: MemberName,
    /// Its acknowledgement or response.
    pub kind: ReplyKind,
}

/// The answers to one query, until its timeout.
#[derive(Debug)]
pub struct QueryResponses {
    pub(crate) replies: mpsc::Receiver<QueryReply>,
}

impl QueryResponses {
    /// The next answer; `None` once the query's timeout has passed (or the member stopped).
    pub async fn next(&mut self) -> Option<QueryReply> {
        self.replies.recv().await
    }
}

/// A query handed to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingQuery {
    /// Identifies it, to answer with [`crate::Cluster::respond`].
    pub id: AppId,
    /// The query's name.
    pub name: String,
    /// The member that asked.
    pub from: MemberName,
    /// The query's bytes.
    pub payload: Arc<[u8]>,
    /// How long it may be answered for, from when it arrived.
    pub timeout: Duration,
}

/// A message for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppMessage {
    /// A user event (this member's own included).
    Event {
        /// The event's name.
        name: String,
        /// The member that published it.
        origin: MemberName,
        /// The event's bytes.
        payload: Arc<[u8]>,
    },
    /// A query no [`crate::Cluster::on_query`] handler took: answer it with
    /// [`crate::Cluster::respond`].
    Query(IncomingQuery),
    /// A direct message from another member.
    Direct {
        /// The sending member.
        from: MemberName,
        /// The application's bytes.
        payload: Arc<[u8]>,
    },
}

/// The application's messages from the time of [`crate::Cluster::messages`] on.
#[derive(Debug)]
pub struct Messages {
    pub(crate) receiver: Option<broadcast::Receiver<AppMessage>>,
    pub(crate) missed: u64,
}

impl Messages {
    /// The next message; `None` once the member has shut down. A reader that falls more
    /// than 1,024 messages behind misses the oldest (counted by [`Messages::missed`]).
    pub async fn recv(&mut self) -> Option<AppMessage> {
        let receiver = self.receiver.as_mut()?;
        loop {
            match receiver.recv().await {
                Ok(message) => return Some(message),
                Err(broadcast::error::RecvError::Lagged(n)) => self.missed += n,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// How many messages this reader missed by falling behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

/// What the handle asks of the member's task about messages.
#[derive(Debug)]
pub(crate) enum MessagingCommand {
    Publish {
        name: String,
        payload: Arc<[u8]>,
        options: EventOptions,
        done: oneshot::Sender<Result<(), MessagingError>>,
    },
    Query {
        name: String,
        payload: Arc<[u8]>,
        options: QueryOptions,
        done: oneshot::Sender<Result<QueryResponses, MessagingError>>,
    },
    Respond {
        id: AppId,
        payload: Arc<[u8]>,
        done: oneshot::Sender<Result<(), MessagingError>>,
    },
    Send {
        to: String,
        payload: Arc<[u8]>,
        delivery: Delivery,
        done: oneshot::Sender<Result<(), MessagingError>>,
    },
    OnQuery {
        name: String,
        handler: mpsc::Sender<IncomingQuery>,
    },
}

/// A fresh reply channel for a query.
pub(crate) fn replies() -> (mpsc::Sender<QueryReply>, QueryResponses) {
    let (tx, replies) = mpsc::channel(REPLIES_BUFFER);
    (tx, QueryResponses { replies })
}
