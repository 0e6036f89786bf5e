//! The member's task's side of the application's messages: requests from the handle go to
//! the state machine, and what it hands over goes to the readers, the query handlers and
//! the callers waiting for an answer.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rand::rngs::StdRng;
use swim_core::{Event, MemberName, QueryRequest, Swim};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::debug;

use crate::messaging::{
    replies, AppMessage, Delivery, IncomingQuery, MessagingCommand, MessagingError, QueryReply,
    MESSAGES_BUFFER,
};
use crate::stats::{self, Stats};

/// The channel of the application's messages, made when the application first asks for
/// them ([`crate::Cluster::messages`]): its buffer (`MESSAGES_BUFFER` slots, ~130 KiB
/// written at creation) is not paid for by members whose application never reads them.
/// Until then a message has no reader, and is not kept either way.
pub(crate) type MessagesChannel = OnceLock<broadcast::Sender<AppMessage>>;

/// A new receiver of `channel`, making it if this is the first.
pub(crate) fn subscribe(channel: &MessagesChannel) -> broadcast::Receiver<AppMessage> {
    channel
        .get_or_init(|| broadcast::channel(MESSAGES_BUFFER).0)
        .subscribe()
}

/// Where the application's messages go.
pub(crate) struct Router {
    /// Dropped with the router (the member's task), which closes the readers' streams.
    messages: Arc<MessagesChannel>,
    /// Our open queries: where their replies go.
    queries: HashMap<u64, mpsc::Sender<QueryReply>>,
    /// Acknowledged direct messages in flight: the member and who waits.
    directs: HashMap<u32, (MemberName, oneshot::Sender<Result<(), MessagingError>>)>,
    /// Query handlers by query name.
    handlers: HashMap<String, mpsc::Sender<IncomingQuery>>,
}

impl Router {
    pub(crate) fn new() -> Router {
        Router {
            messages: Arc::new(OnceLock::new()),
            queries: HashMap::new(),
            directs: HashMap::new(),
            handlers: HashMap::new(),
        }
    }

    /// A handle's way to subscribe (the handle keeps it weakly: see [`subscribe`]).
    pub(crate) fn channel(&self) -> Arc<MessagesChannel> {
        self.messages.clone()
    }

    /// Carries out a request of the handle at `now`.
    pub(crate) fn command(
        &mut self,
        swim: &mut Swim<StdRng>,
        now: Duration,
        command: MessagingCommand,
    ) {
        match command {
            MessagingCommand::Publish {
                name,
                payload,
                options,
                done,
            } => {
                let result = swim.publish(now, &name, payload, options.coalesce);
                let _ = done.send(result.map(|_| ()).map_err(MessagingError::from));
            }
            MessagingCommand::Query {
                name,
                payload,
                options,
                done,
            } => {
                let request = QueryRequest {
                    name,
                    payload,
                    filter: options.filter,
                    timeout: options.timeout,
                    ack: options.ack,
                    relay: options.relay,
                };
                // The replies' channel exists before the query: our own answer comes at once.
                let (tx, responses) = replies();
                match swim.query(now, request) {
                    Ok(seq) => {
                        self.queries.insert(seq, tx);
                        let _ = done.send(Ok(responses));
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.into()));
                    }
                }
            }
            MessagingCommand::Respond { id, payload, done } => {
                let _ = done.send(swim.respond(now, &id, payload).map_err(Into::into));
            }
            MessagingCommand::Send {
                to,
                payload,
                delivery,
                done,
            } => {
                let acknowledged = delivery == Delivery::Reliable;
                match swim.send_direct(now, &to, payload, acknowledged) {
                    Ok(Some(id)) => {
                        let member = MemberName::from(to.as_str());
                        self.directs.insert(id, (member, done));
                    }
                    Ok(None) => {
                        let _ = done.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = done.send(Err(e.into()));
                    }
                }
            }
            MessagingCommand::OnQuery { name, handler } => {
                self.handlers.insert(name, handler);
            }
        }
    }

    /// Hands over what the state machine reported; returns the events that are not about
    /// the application's messages.
    pub(crate) fn event(&mut self, stats: &Stats, event: Event) -> Option<Event> {
        match event {
            Event::UserEvent { id, name, payload } => {
                let origin = id.origin.name;
                self.hand_over(
                    stats,
                    AppMessage::Event {
                        name,
                        origin,
                        payload,
                    },
                );
            }
            Event::Direct { from, payload } => {
                self.hand_over(stats, AppMessage::Direct { from, payload });
            }
            Event::Query {
                id,
                name,
                payload,
                timeout,
            } => {
                let query = IncomingQuery {
                    from: id.origin.name.clone(),
                    id,
                    name,
                    payload,
                    timeout,
                };
                self.query_arrived(stats, query);
            }
            Event::QueryReply { seq, from, reply } => {
                if let Some(tx) = self.queries.get(&seq) {
                    if tx.try_send(QueryReply { from, kind: reply }).is_err() {
                        stats::incr(&stats.app_dropped);
                    }
                }
            }
            Event::QueryDone { seq } => {
                // Dropping the sender ends the reader's stream.
                self.queries.remove(&seq);
            }
            Event::DirectAcked { id } => {
                if let Some((_, done)) = self.directs.remove(&id) {
                    let _ = done.send(Ok(()));
                }
            }
            Event::DirectFailed { id } => {
                if let Some((member, done)) = self.directs.remove(&id) {
                    let _ = done.send(Err(MessagingError::NotAcknowledged(member)));
                }
            }
            other => return Some(other),
        }
        None
    }

    /// A query goes to its handler if one is registered (and keeps up), else to the
    /// readers of [`crate::Cluster::messages`].
    fn query_arrived(&mut self, stats: &Stats, query: IncomingQuery) {
        if let Some(handler) = self.handlers.get(&query.name) {
            match handler.try_send(query) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    stats::incr(&stats.app_dropped);
                    debug!("query handler busy: query dropped");
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(query)) => {
                    self.handlers.remove(&query.name);
                    self.hand_over(stats, AppMessage::Query(query));
                    return;
                }
            }
        }
        self.hand_over(stats, AppMessage::Query(query));
    }

    fn hand_over(&self, stats: &Stats, message: AppMessage) {
        stats::incr(&stats.app_received);
        // No reader (or no channel yet): nobody to tell (the message is not kept).
        if let Some(sender) = self.messages.get() {
            let _ = sender.send(message);
        }
    }
}
