//! [`Events`]: one subscriber's stream of membership changes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use swim_core::{MemberChange, MemberName, MemberSnapshot, Status};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};

use crate::runtime::publish::{Sequenced, View, EVENT_BUFFER};

/// A stream of membership changes, in the order they happened, from the moment of
/// [`crate::Cluster::subscribe`]. Read it with `while let Some(change) = events.recv().await`.
///
/// **Nothing is lost silently.** A subscriber that keeps up receives every change. The
/// stream buffers a fixed number of changes per subscriber (1024); one that falls further
/// behind is *resynchronised*: instead of the changes it missed, it receives one change per
/// member whose state differs from what this stream last reported for it (`previous` is
/// that last-reported state, intermediate states are skipped), then the live stream
/// resumes. [`Events::resyncs`] counts how often that happened.
///
/// The stream ends (`None`) once the member has shut down and every buffered change has
/// been read.
pub struct Events {
    rx: broadcast::Receiver<Arc<Sequenced>>,
    view: watch::Receiver<Arc<View>>,
    /// What this stream last reported for each member.
    seen: HashMap<MemberName, MemberSnapshot>,
    /// Changes numbered up to this one are already reflected in `seen`.
    skip_through: u64,
    /// Synthetic changes from a resync, not yet returned.
    pending: VecDeque<MemberChange>,
    resyncs: u64,
}

impl Events {
    /// Subscribes: first to the stream, then reads the snapshot (see
    /// `runtime::publish` for why this order loses nothing).
    pub(crate) fn new(
        sender: Option<broadcast::Sender<Arc<Sequenced>>>,
        view: watch::Receiver<Arc<View>>,
    ) -> Events {
        let rx = match sender {
            Some(sender) => sender.subscribe(),
            // The member has stopped: a stream that is already closed.
            None => broadcast::channel(1).1,
        };
        let mut events = Events {
            rx,
            view,
            seen: HashMap::new(),
            skip_through: 0,
            pending: VecDeque::new(),
            resyncs: 0,
        };
        let current = events.view.borrow().clone();
        events.adopt(&current);
        events
    }

    /// The next change; `None` once the member has shut down.
    pub async fn recv(&mut self) -> Option<MemberChange> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Some(change);
            }
            match self.rx.recv().await {
                Ok(item) => {
                    if let Some(change) = self.accept(&item) {
                        return Some(change);
                    }
                }
                Err(RecvError::Lagged(_)) => self.resync(),
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The next change if one is ready, without waiting. `None` when none is ready (or the
    /// member has shut down).
    pub fn try_recv(&mut self) -> Option<MemberChange> {
        loop {
            if let Some(change) = self.pending.pop_front() {
                return Some(change);
            }
            match self.rx.try_recv() {
                Ok(item) => {
                    if let Some(change) = self.accept(&item) {
                        return Some(change);
                    }
                }
                Err(TryRecvError::Lagged(_)) => self.resync(),
                Err(TryRecvError::Empty | TryRecvError::Closed) => return None,
            }
        }
    }

    /// How many times this subscriber fell more than the buffer behind and was
    /// resynchronised from a snapshot.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// How many changes a subscriber may fall behind before it is resynchronised.
    pub const BUFFER: usize = EVENT_BUFFER;

    fn accept(&mut self, item: &Sequenced) -> Option<MemberChange> {
        if item.seq <= self.skip_through {
            return None;
        }
        let member = &item.change.member;
        self.seen.insert(member.name.clone(), member.clone());
        Some(item.change.clone())
    }

    fn resync(&mut self) {
        self.resyncs += 1;
        let current = self.view.borrow().clone();
        for member in &current.members {
            let previous = match self.seen.get(&member.name) {
                Some(seen) if seen == member => continue,
                Some(seen) => seen.clone(),
                None => unknown(member),
            };
            self.pending.push_back(MemberChange {
                member: member.clone(),
                previous,
            });
        }
        self.adopt(&current);
    }

    fn adopt(&mut self, view: &View) {
        self.skip_through = view.seq;
        self.seen = view
            .members
            .iter()
            .map(|m| (m.name.clone(), m.clone()))
            .collect();
    }
}

/// The state reported as `previous` for a member this stream had never reported.
fn unknown(member: &MemberSnapshot) -> MemberSnapshot {
    MemberSnapshot {
        name: member.name.clone(),
        local: member.local,
        clock: 0,
        status: Status::Offline,
        status_time: std::time::Duration::ZERO,
        metadata: None,
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("skip_through", &self.skip_through)
            .field("pending", &self.pending.len())
            .field("resyncs", &self.resyncs)
            .finish_non_exhaustive()
    }
}
