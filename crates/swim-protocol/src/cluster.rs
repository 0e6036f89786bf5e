//! The handle to a running member.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::{Duration, SystemTime};

use swim_core::{MemberChange, MemberName, MemberSnapshot, Metadata, StatusSet};
use tokio::sync::{broadcast, mpsc, watch, Mutex};
use tokio::task::{AbortHandle, JoinHandle};
use tracing::{debug, warn};

use crate::address::AddressParser;
use crate::config::{parse_peer, Config, ResolvedConfig};
use crate::error::{ConfigError, StartError};
use crate::events::Events;
use crate::events::{Sequenced, View};
use crate::frame::keyring::LiveKeyring;
use crate::messaging::{
    Delivery, EventOptions, IncomingQuery, Messages, MessagingCommand, MessagingError,
    QueryOptions, QueryResponses, HANDLER_BUFFER,
};
use crate::runtime::{self, subscribe_messages, Command, MessagesChannel, Started};
use crate::stats::{Stats, StatsSnapshot};

/// A running member of the cluster. Cheap to clone; all clones drive the same member.
///
/// The member runs in background tasks until [`Cluster::shutdown`] is called, or until the
/// last clone is dropped (then the tasks stop on their own, without being awaited).
#[derive(Clone)]
pub struct Cluster {
    shared: Arc<Shared>,
}

struct Shared {
    name: MemberName,
    addr: SocketAddr,
    view: watch::Receiver<Arc<View>>,
    events: broadcast::WeakSender<Arc<Sequenced>>,
    metadata: watch::Sender<Metadata>,
    commands: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    stats: Arc<Stats>,
    started_at: SystemTime,
    keyring: LiveKeyring,
    /// The driver task; taken by the first `shutdown`, which holds the lock until done.
    driver: Mutex<Option<JoinHandle<()>>>,
    /// Tasks started by [`Cluster::on_change`] and [`Cluster::on_query`].
    watchers: StdMutex<Vec<JoinHandle<()>>>,
    /// Where the application's messages are handed over.
    /// Weak: the member's task holds the channel, and its end closes the readers' streams.
    messages: Weak<MessagesChannel>,
}

impl Cluster {
    /// Resolves `config` (names, peers, secret) and starts the member: see
    /// [`Cluster::start_resolved`].
    pub async fn start(config: Config) -> Result<Cluster, StartError> {
        let resolved = config.resolve().await?;
        Cluster::start_resolved(resolved).await
    }

    /// [`Cluster::start`], retrying failures that may pass ([`StartError::Transient`]: DNS not
    /// ready, discovery finding no peers yet) after the wait each suggests, and logging why,
    /// until the member starts or `stop` completes (then `Ok(None)`). Other errors are
    /// returned at once. This is what a service on a container platform wants at start:
    /// replicas come up in any order.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), swim_protocol::StartError> {
    /// use swim_protocol::{Cluster, Config};
    /// let config = Config::new("tasks.swim:9000").with_discovery(true).with_secret("s");
    /// let stop = async { let _ = tokio::signal::ctrl_c().await; };
    /// if let Some(cluster) = Cluster::start_with_retry(config, stop).await? {
    ///     cluster.shutdown().await;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn start_with_retry(
        config: Config,
        stop: impl Future<Output = ()>,
    ) -> Result<Option<Cluster>, StartError> {
        let mut stop = pin!(stop);
        loop {
            let wait = match Cluster::start(config.clone()).await {
                Ok(cluster) => return Ok(Some(cluster)),
                Err(StartError::Transient {
                    reason,
                    retry_after,
                }) => {
                    warn!(name = %config.local_name, "cannot start yet: {reason}; retrying in {retry_after:?}");
                    retry_after
                }
                Err(error) => return Err(error),
            };
            tokio::select! {
                () = &mut stop => return Ok(None),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Opens the UDP socket and the TCP listener on `resolved.bind()` and starts the member
    /// in the background, contacting `resolved.peers()`.
    ///
    /// Binding port 0 picks a free port; if the local name also ends in `:0`, it takes
    /// that port, so `Cluster::name` is the name other members must use.
    pub async fn start_resolved(resolved: ResolvedConfig) -> Result<Cluster, StartError> {
        let Started {
            name,
            addr,
            subscription,
            stats,
            started_at,
            keyring,
            metadata,
            commands,
            shutdown,
            driver,
            messages,
        } = runtime::start(resolved).await?;
        Ok(Cluster {
            shared: Arc::new(Shared {
                name,
                addr,
                view: subscription.view,
                events: subscription.events,
                metadata,
                commands,
                shutdown,
                stats,
                started_at,
                keyring,
                driver: Mutex::new(Some(driver)),
                watchers: StdMutex::new(Vec::new()),
                messages: Arc::downgrade(&messages),
            }),
        })
    }

    /// The local member's name, as other members know it.
    pub fn name(&self) -> &MemberName {
        &self.shared.name
    }

    /// The address the UDP socket and TCP listener are bound to.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// A snapshot of the local member.
    pub fn local(&self) -> MemberSnapshot {
        let view = self.shared.view.borrow();
        match view.local() {
            Some(local) => local.clone(),
            // The state machine always lists the local member; this is a safe fallback.
            None => MemberSnapshot {
                name: self.shared.name.clone(),
                local: true,
                clock: 0,
                status: swim_core::Status::Online,
                status_time: std::time::Duration::ZERO,
                metadata: Some(self.shared.metadata.borrow().clone()),
                left: false,
            },
        }
    }

    /// Snapshots of every member, the local one included, sorted by name.
    ///
    /// Snapshots are refreshed after each batch of changes, so they agree with the changes
    /// delivered so far; reading them never waits for the member's task.
    pub fn members(&self) -> Vec<MemberSnapshot> {
        self.shared.view.borrow().members.clone()
    }

    /// Snapshots of the non-local members, sorted by name.
    pub fn non_local(&self) -> Vec<MemberSnapshot> {
        self.with_status(StatusSet::ALL)
    }

    /// Snapshots of the non-local members whose status is in `statuses`, sorted by name.
    pub fn with_status(&self, statuses: StatusSet) -> Vec<MemberSnapshot> {
        let view = self.shared.view.borrow();
        view.members
            .iter()
            .filter(|m| !m.local && statuses.contains(m.status))
            .cloned()
            .collect()
    }

    /// Replaces the local metadata; the change spreads to every member. It is applied by
    /// the member's task shortly after (several quick calls may be merged into the last);
    /// after shutdown it does nothing.
    pub fn set_local_metadata(&self, metadata: Metadata) {
        self.shared.metadata.send_replace(metadata);
    }

    /// Adds `peer` to the members contacted when joining, as if it had been configured: until
    /// the member has joined it is asked at once, and it is a candidate for later joins.
    /// Fails on a name that is not a valid `host:port` address (port 0 included); after
    /// shutdown it does nothing.
    ///
    /// ```no_run
    /// # async fn run(cluster: swim_protocol::Cluster) -> Result<(), swim_protocol::ConfigError> {
    /// cluster.add_peer("10.0.0.7:9000").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_peer(&self, peer: &str) -> Result<(), ConfigError> {
        let name = parse_peer(&AddressParser::new(), peer)?.to_member_name();
        // A send fails only once the member has stopped, when peers no longer matter.
        let _ = self.shared.commands.send(Command::AddPeer(name)).await;
        Ok(())
    }

    /// Stops contacting `peer` when joining. Members already known stay known: membership
    /// comes from the cluster, not from this list. After shutdown it does nothing.
    pub async fn remove_peer(&self, peer: &str) -> Result<(), ConfigError> {
        let name = parse_peer(&AddressParser::new(), peer)?.to_member_name();
        let _ = self.shared.commands.send(Command::RemovePeer(name)).await;
        Ok(())
    }

    /// Leaves the cluster gracefully: the member tells a few others that it is going (they
    /// mark it OFFLINE at once, without suspecting it first, and their change says it
    /// left) and then stays silent. Returns `true` once a member has acknowledged the leave,
    /// `false` if `timeout` passed first (the others then detect the member as failed after
    /// it stops). Call [`Cluster::shutdown`] afterwards; the member cannot rejoin, but a new
    /// one started under the same name can. After shutdown it returns `false` at once.
    ///
    /// ```no_run
    /// # async fn stop(cluster: swim_protocol::Cluster) {
    /// cluster.leave(std::time::Duration::from_secs(2)).await;
    /// cluster.shutdown().await;
    /// # }
    /// ```
    pub async fn leave(&self, timeout: Duration) -> bool {
        let (done, acknowledged) = tokio::sync::oneshot::channel();
        if self
            .shared
            .commands
            .send(Command::Leave(done))
            .await
            .is_err()
        {
            return false;
        }
        matches!(
            tokio::time::timeout(timeout, acknowledged).await,
            Ok(Ok(()))
        )
    }

    /// Subscribes to membership changes from now on. See [`Events`] for what a subscriber
    /// that falls behind receives.
    pub fn subscribe(&self) -> Events {
        Events::new(self.shared.events.upgrade(), self.shared.view.clone())
    }

    /// Calls `callback` with each membership change from now on, on a task of its own,
    /// until the member shuts down (which waits for the task). Abort it early with the
    /// returned handle. A callback must not block for long: see [`Events`] on lagging.
    pub fn on_change<F>(&self, mut callback: F) -> AbortHandle
    where
        F: FnMut(MemberChange) + Send + 'static,
    {
        let mut events = self.subscribe();
        let task = tokio::spawn(async move {
            while let Some(change) = events.recv().await {
                callback(change);
            }
        });
        self.watch(task)
    }

    /// Keeps `task` to be awaited at shutdown; returns its abort handle.
    fn watch(&self, task: JoinHandle<()>) -> AbortHandle {
        let abort = task.abort_handle();
        let mut watchers = match self.shared.watchers.lock() {
            Ok(watchers) => watchers,
            Err(poisoned) => poisoned.into_inner(),
        };
        watchers.retain(|w| !w.is_finished());
        watchers.push(task);
        abort
    }

    // ---- the application's messages (see docs/messaging.md) ----

    /// Asks the member's task and waits for its answer.
    async fn ask<T>(
        &self,
        command: impl FnOnce(
            tokio::sync::oneshot::Sender<Result<T, MessagingError>>,
        ) -> MessagingCommand,
    ) -> Result<T, MessagingError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let command = Command::Messaging(command(done));
        if self.shared.commands.send(command).await.is_err() {
            return Err(MessagingError::Stopped);
        }
        answer.await.unwrap_or(Err(MessagingError::Stopped))
    }

    /// Publishes a user event: every live member's application receives it once, through
    /// [`Cluster::messages`] (this member's included). Refused, never truncated, when the
    /// payload exceeds `messaging.max_payload` (8 KiB by default) or the name is not 1 to
    /// 128 of `A-Z a-z 0-9 . _ : / -`.
    ///
    /// ```no_run
    /// # async fn run(cluster: swim_protocol::Cluster) -> Result<(), swim_protocol::messaging::MessagingError> {
    /// use swim_protocol::messaging::EventOptions;
    /// cluster.publish("reload", b"config v42".to_vec(), EventOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish(
        &self,
        name: &str,
        payload: impl Into<Arc<[u8]>>,
        options: EventOptions,
    ) -> Result<(), MessagingError> {
        let (name, payload) = (name.to_owned(), payload.into());
        self.ask(|done| MessagingCommand::Publish {
            name,
            payload,
            options,
            done,
        })
        .await
    }

    /// Asks the members `options.filter` selects (this one included): their acknowledgements
    /// and responses arrive on the returned stream, which ends at the query's timeout.
    ///
    /// ```no_run
    /// # async fn run(cluster: swim_protocol::Cluster) -> Result<(), swim_protocol::messaging::MessagingError> {
    /// use swim_protocol::messaging::QueryOptions;
    /// use swim_protocol::{KeyTest, QueryFilter};
    /// let filter = QueryFilter { names: vec![], metadata: vec![("role".into(), KeyTest::Equals(b"db".to_vec()))] };
    /// let mut replies = cluster.query("who-has-shard", b"7".to_vec(), QueryOptions { filter, ..Default::default() }).await?;
    /// while let Some(reply) = replies.next().await {
    ///     println!("{}: {:?}", reply.from, reply.kind);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query(
        &self,
        name: &str,
        payload: impl Into<Arc<[u8]>>,
        options: QueryOptions,
    ) -> Result<QueryResponses, MessagingError> {
        let (name, payload) = (name.to_owned(), payload.into());
        self.ask(|done| MessagingCommand::Query {
            name,
            payload,
            options,
            done,
        })
        .await
    }

    /// Answers a query handed over by [`Cluster::messages`] (once, before its timeout).
    pub async fn respond(
        &self,
        query: &IncomingQuery,
        payload: impl Into<Arc<[u8]>>,
    ) -> Result<(), MessagingError> {
        let (id, payload) = (query.id.clone(), payload.into());
        self.ask(|done| MessagingCommand::Respond { id, payload, done })
            .await
    }

    /// Sends `payload` to `member` alone: one datagram ([`Delivery::BestEffort`]), or over
    /// TCP with an acknowledgement ([`Delivery::Reliable`]: an error if none comes within
    /// `messaging.direct_timeout`, 5 s by default).
    pub async fn send(
        &self,
        member: &str,
        payload: impl Into<Arc<[u8]>>,
        delivery: Delivery,
    ) -> Result<(), MessagingError> {
        let (to, payload) = (member.to_owned(), payload.into());
        self.ask(|done| MessagingCommand::Send {
            to,
            payload,
            delivery,
            done,
        })
        .await
    }

    /// Answers every query named `name` with `handler`'s result (`None`: no answer), on a
    /// task of its own until the member shuts down. Queries of that name no longer reach
    /// [`Cluster::messages`]. A handler that falls 64 queries behind misses the next ones
    /// (counted in `stats().app_dropped`).
    pub async fn on_query<F>(&self, name: &str, mut handler: F) -> AbortHandle
    where
        F: FnMut(&IncomingQuery) -> Option<Vec<u8>> + Send + 'static,
    {
        let (tx, mut queries) = mpsc::channel::<IncomingQuery>(HANDLER_BUFFER);
        let command = MessagingCommand::OnQuery {
            name: name.to_owned(),
            handler: tx,
        };
        let _ = self.shared.commands.send(Command::Messaging(command)).await;
        // Weak: the handler must not keep the member running once every handle is gone.
        let shared = Arc::downgrade(&self.shared);
        let task = tokio::spawn(async move {
            while let Some(query) = queries.recv().await {
                let Some(shared) = shared.upgrade() else {
                    break;
                };
                if let Some(answer) = handler(&query) {
                    if let Err(e) = (Cluster { shared }).respond(&query, answer).await {
                        debug!(query = %query.name, "answer not sent: {e}");
                    }
                }
            }
        });
        self.watch(task)
    }

    /// The application's messages (user events, queries without a handler, direct
    /// messages) from now on.
    pub fn messages(&self) -> Messages {
        Messages {
            receiver: self
                .shared
                .messages
                .upgrade()
                .map(|channel| subscribe_messages(&channel)),
            missed: 0,
        }
    }

    /// The member's traffic counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The wall-clock time of `at`, a moment on the member's clock (such as
    /// [`MemberSnapshot::status_time`], which counts from the member's start).
    pub fn wall_time(&self, at: Duration) -> SystemTime {
        self.shared.started_at + at
    }

    /// The member's live keyring: install, use and remove keys while it runs (each change
    /// applies to the next frame). With a keyring file, a change of the file replaces it.
    /// See `docs/SECURITY.md` for the rotation procedure.
    ///
    /// ```no_run
    /// # async fn rotate(cluster: swim_protocol::Cluster) {
    /// use swim_protocol::frame::keyring::{Key, KeyringEntry};
    /// let new = KeyringEntry::Key(Key::generate());
    /// cluster.keyring().install(new.clone()).unwrap(); // on every member, then:
    /// cluster.keyring().use_primary(&new).unwrap(); // on every member, then remove the old
    /// # }
    /// ```
    pub fn keyring(&self) -> LiveKeyring {
        self.shared.keyring.clone()
    }

    /// Stops the member: closes the sockets and ends every task it started, including the
    /// [`Cluster::on_change`] tasks, and returns once they have all ended. Other clones of
    /// the handle keep answering with the last snapshots; their event streams end.
    pub async fn shutdown(self) {
        let shared = &self.shared;
        shared.shutdown.send_replace(true);
        let mut driver = shared.driver.lock().await;
        if let Some(task) = driver.take() {
            if let Err(e) = task.await {
                warn!(name = %shared.name, "member task failed: {e}");
            }
        }
        let watchers = match shared.watchers.lock() {
            Ok(mut watchers) => std::mem::take(&mut *watchers),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for watcher in watchers {
            if let Err(e) = watcher.await {
                if e.is_panic() {
                    warn!(name = %shared.name, "on_change callback panicked");
                }
            }
        }
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.shared.name)
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}
