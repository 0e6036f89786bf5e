//! The library's cluster as the control socket's target: each request is the matching
//! [`Cluster`] call. What the library refuses (a name, a size, a filter, an unknown member) is
//! a wrong request (exit status 2); anything else that fails (no acknowledgement, the member
//! stopped) is a failure (1).

use swim_protocol::messaging::{Delivery, EventOptions, MessagingError, QueryOptions};
use swim_protocol::{Cluster, QueryFilter, ReplyKind};
use tokio::sync::mpsc;

use super::{ControlTarget, QueryReply, QuerySpec, TargetError};

/// Answers waiting for the connection that asked; the library keeps its own, larger buffer.
const REPLIES_WAITING: usize = 64;

fn target_error(err: MessagingError) -> TargetError {
    match err {
        MessagingError::Refused(_) => TargetError::usage(err.to_string()),
        MessagingError::NotAcknowledged(_) | MessagingError::Stopped => {
            TargetError::failure(err.to_string())
        }
    }
}

impl ControlTarget for Cluster {
    async fn publish(
        &self,
        name: &str,
        payload: Vec<u8>,
        coalesce: bool,
    ) -> Result<(), TargetError> {
        let options = EventOptions { coalesce };
        Cluster::publish(self, name, payload, options)
            .await
            .map_err(target_error)
    }

    async fn send(
        &self,
        member: &str,
        payload: Vec<u8>,
        reliable: bool,
    ) -> Result<(), TargetError> {
        let delivery = if reliable {
            Delivery::Reliable
        } else {
            Delivery::BestEffort
        };
        Cluster::send(self, member, payload, delivery)
            .await
            .map_err(target_error)
    }

    async fn query(&self, query: QuerySpec) -> Result<mpsc::Receiver<QueryReply>, TargetError> {
        let options = QueryOptions {
            filter: QueryFilter {
                names: query.names.into_iter().map(Into::into).collect(),
                metadata: query.filters,
            },
            ack: query.ack,
            relay: query.relay,
            timeout: query.timeout,
        };
        let mut replies = Cluster::query(self, &query.name, query.payload, options)
            .await
            .map_err(target_error)?;
        let (tx, rx) = mpsc::channel(REPLIES_WAITING);
        // Ends with the library's stream (at the query's timeout), or when the asker is gone.
        tokio::spawn(async move {
            while let Some(reply) = replies.next().await {
                let from = reply.from.to_string();
                let reply = match reply.kind {
                    ReplyKind::Ack => QueryReply::Ack { from },
                    ReplyKind::Response(payload) => QueryReply::Response {
                        from,
                        payload: payload.to_vec(),
                    },
                };
                if tx.send(reply).await.is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }
}
