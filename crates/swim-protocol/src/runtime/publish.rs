//! How the driver shares what it knows: a numbered stream of changes (a bounded broadcast
//! channel) and a snapshot of the member list (a watch channel holding an `Arc`).
//!
//! Ordering contract, relied upon by [`crate::Events`]: for each batch of changes the
//! snapshot is published *before* the changes are broadcast, and the snapshot carries the
//! number of the last change it includes. A subscriber that reads the snapshot after
//! subscribing therefore receives every change newer than that snapshot.

use std::sync::Arc;

use swim_core::MemberSnapshot;

use crate::events::{MembershipEvent, Sequenced, View, EVENT_BUFFER};
use tokio::sync::{broadcast, watch};

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
        self.broadcast(first, changes);
    }

    /// Publishes a batch of events, the member list being the last one published with the
    /// batch applied to it: no copy of the list (unless a reader holds it) and no sort,
    /// where [`Publisher::publish`] takes a new list of every member for each batch. If
    /// the result does not come to `len` members (one was added or removed without an
    /// event, as a peer recorded before it is heard from), `members()` is published
    /// instead. A field that changes without an event (a record's clock alone) stays as
    /// last published until the next [`Publisher::publish`].
    pub fn publish_applied(
        &mut self,
        changes: Vec<MembershipEvent>,
        len: usize,
        members: impl FnOnce() -> Vec<MemberSnapshot>,
    ) {
        let first = self.seq + 1;
        self.seq += changes.len() as u64;
        let seq = self.seq;
        self.view.send_modify(|view| {
            let applied = Arc::make_mut(view);
            applied.seq = seq;
            for event in &changes {
                apply(&mut applied.members, event);
            }
            if applied.members.len() != len {
                *view = Arc::new(View {
                    seq,
                    members: members(),
                });
            }
        });
        self.broadcast(first, changes);
    }

    fn broadcast(&mut self, first: u64, changes: Vec<MembershipEvent>) {
        for (seq, event) in (first..).zip(changes) {
            // An error only means nobody is subscribed right now.
            let _ = self.events.send(Arc::new(Sequenced { seq, event }));
        }
    }
}

/// Applies one event to a member list sorted by name.
fn apply(members: &mut Vec<MemberSnapshot>, event: &MembershipEvent) {
    match event {
        MembershipEvent::Changed(change) => {
            let member = &change.member;
            match members.binary_search_by(|m| m.name.cmp(&member.name)) {
                Ok(i) => members[i] = member.clone(),
                Err(i) => members.insert(i, member.clone()),
            }
        }
        MembershipEvent::Forgotten(member) => {
            if let Ok(i) = members.binary_search_by(|m| m.name.cmp(&member.name)) {
                members.remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use swim_core::{MemberChange, Status};

    use super::*;

    fn member(name: &str, clock: u64) -> MemberSnapshot {
        MemberSnapshot {
            name: name.into(),
            local: false,
            clock,
            status: Status::Online,
            status_time: Duration::ZERO,
            metadata: None,
            left: false,
        }
    }

    fn changed(name: &str, clock: u64) -> MembershipEvent {
        MembershipEvent::Changed(MemberChange {
            member: member(name, clock),
            previous: member(name, clock.saturating_sub(1)),
        })
    }

    fn names(view: &View) -> Vec<(String, u64)> {
        let members = view.members.iter();
        members.map(|m| (m.name.to_string(), m.clock)).collect()
    }

    #[test]
    fn an_applied_batch_gives_the_list_a_full_one_would() {
        let (mut publisher, subscription) =
            Publisher::new(vec![member("b:1", 1), member("d:1", 1)]);
        let batch = vec![
            changed("c:1", 1),
            changed("a:1", 1),
            changed("d:1", 2),
            MembershipEvent::Forgotten(member("b:1", 1)),
            changed("e:1", 1),
        ];
        publisher.publish_applied(batch, 4, || panic!("no full list needed"));
        let view = subscription.view.borrow().clone();
        assert_eq!(view.seq, 5);
        assert_eq!(
            names(&view),
            [("a:1", 1), ("c:1", 1), ("d:1", 2), ("e:1", 1)].map(|(n, c)| (n.to_owned(), c))
        );
    }

    #[test]
    fn a_member_added_without_an_event_makes_a_full_list() {
        let (mut publisher, subscription) = Publisher::new(vec![member("a:1", 1)]);
        let held = subscription.view.borrow().clone();
        // A placeholder "p:1" appeared without an event: the counts differ.
        let full = || vec![member("a:1", 1), member("b:1", 1), member("p:1", 0)];
        publisher.publish_applied(vec![changed("b:1", 1)], 3, full);
        let view = subscription.view.borrow().clone();
        assert_eq!(view.seq, 1);
        assert_eq!(names(&view).len(), 3);
        assert_eq!(
            names(&held),
            [("a:1".to_owned(), 1)],
            "a reader's copy is kept"
        );
    }
}
