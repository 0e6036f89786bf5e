//! How the driver shares what it knows: a numbered stream of changes (a bounded broadcast
//! channel) and a snapshot of the member list (a watch channel holding an `Arc`).
//!
//! Ordering contract, relied upon by [`crate::Events`]: for each batch of changes the
//! snapshot is published *before* the changes are broadcast, and the snapshot carries the
//! number of the last change it includes. A subscriber that reads the snapshot after
//! subscribing therefore receives every change newer than that snapshot.

use std::sync::Arc;

use swim_core::MemberSnapshot;

use crate::events::MembershipEvent;
use tokio::sync::{broadcast, watch};

/// Changes buffered per subscriber before it is declared lagging.
pub(crate) const EVENT_BUFFER: usize = 1024;

/// An event and its number in the stream (numbers start at 1 and have no gaps).
#[derive(Debug)]
pub(crate) struct Sequenced {
    pub seq: u64,
    pub event: MembershipEvent,
}

/// The member list at one moment.
#[derive(Debug)]
pub(crate) struct View {
    /// Number of the last change reflected (0: none yet).
    pub seq: u64,
    /// Every member, the local one included, sorted by name.
    pub members: Vec<MemberSnapshot>,
}

impl View {
    /// The local member, if present.
    pub fn local(&self) -> Option<&MemberSnapshot> {
        self.members.iter().find(|m| m.local)
    }
}

/// The receiving ends given to the handle.
pub(crate) struct Subscription {
    pub events: broadcast::WeakSender<Arc<Sequenced>>,
    pub view: watch::Receiver<Arc<View>>,
}

/// The driver's sending ends. Dropping it closes the stream of changes.
pub(crate) struct Publisher {
    seq: u64,
    events: broadcast::Sender<Arc<Sequenced>>,
    view: watch::Sender<Arc<View>>,
}

impl Publisher {
    /// A publisher starting from `members`, and the ends for the handle.
    pub fn new(members: Vec<MemberSnapshot>) -> (Publisher, Subscription) {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (view, view_rx) = watch::channel(Arc::new(View { seq: 0, members }));
        let subscription = Subscription {
            events: events.downgrade(),
            view: view_rx,
        };
        let publisher = Publisher {
            seq: 0,
            events,
            view,
        };
        (publisher, subscription)
    }

    /// Publishes a batch of events and the member list that results from them.
    pub fn publish(&mut self, changes: Vec<MembershipEvent>, members: Vec<MemberSnapshot>) {
        let first = self.seq + 1;
        self.seq += changes.len() as u64;
        self.view.send_replace(Arc::new(View {
            seq: self.seq,
            members,
        }));
        for (seq, event) in (first..).zip(changes) {
            // An error only means nobody is subscribed right now.
            let _ = self.events.send(Arc::new(Sequenced { seq, event }));
        }
    }
}
