//! The application's messages the member receives, handed to the handler scripts: a user
//! event to `on-event`, a query to `on-query` (its output, if any, is the response), a
//! direct message logged.

use std::path::Path;

use swim_protocol::messaging::{AppMessage, Messages};
use swim_protocol::Cluster;

use super::handlers::{HandlerLimits, Handlers};

/// Direct messages logged one by one; past them every 1000th is.
const LOGGED_DIRECT: u64 = 16;

/// The member's messages and the scripts they go to.
pub struct Inbox {
    cluster: Cluster,
    messages: Messages,
    handlers: Handlers,
    directs: u64,
}

impl Inbox {
    /// Takes the member's messages from now on, for the scripts in `base`.
    pub fn start(cluster: &Cluster, base: &Path, limits: HandlerLimits) -> Inbox {
        Inbox {
            cluster: cluster.clone(),
            messages: cluster.messages(),
            handlers: Handlers::start(base, limits),
            directs: 0,
        }
    }

    /// The next message; `None` once the member has shut down.
    pub async fn recv(&mut self) -> Option<AppMessage> {
        self.messages.recv().await
    }

    /// Hands `message` to its script. A query's answer is awaited and sent on a task of its
    /// own; there are at most as many as the `on-query` pool holds, since a call it does not
    /// take ends at once, without a response.
    pub fn deliver(&mut self, message: AppMessage) {
        match message {
            AppMessage::Event {
                name,
                origin,
                payload,
            } => self.handlers.event(&name, &origin, payload.to_vec()),
            AppMessage::Query(query) => {
                let response = self.handlers.query(
                    &query.name,
                    &query.from,
                    query.payload.to_vec(),
                    Some(query.timeout),
                );
                let cluster = self.cluster.clone();
                tokio::spawn(async move {
                    let Ok(answer) = response.await else { return };
                    if let Err(err) = cluster.respond(&query, answer).await {
                        tracing::debug!("response to {:?} not sent: {err}", query.name);
                    }
                });
            }
            AppMessage::Direct { from, payload } => {
                self.directs += 1;
                let n = self.directs;
                if n <= LOGGED_DIRECT || n % 1000 == 0 {
                    tracing::info!(
                        "direct message from {from:?}: {} bytes ({n} so far)",
                        payload.len()
                    );
                } else {
                    tracing::debug!("direct message from {from:?}: {} bytes", payload.len());
                }
            }
        }
    }

    /// Stops the scripts (those running are killed); says how many messages were missed.
    pub async fn stop(self) {
        let missed = self.messages.missed();
        if missed > 0 {
            tracing::warn!("{missed} messages were missed: the handlers fell behind");
        }
        self.handlers.stop().await;
    }
}
