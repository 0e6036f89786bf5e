//! [`Events`]: one subscriber's stream of membership changes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use swim_core::{MemberChange, MemberName, MemberSnapshot, Status};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, watch};

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
/// **Forgotten members.** A member OFFLINE for `offline_retention` is forgotten (no longer
/// listed; see "Reaping" in `docs/PROTOCOL.md`). [`Events::recv`] and [`Events::try_recv`]
/// yield changes only; [`Events::next_event`] and [`Events::try_next_event`] yield both,
/// as [`MembershipEvent`]s. A resync reports a member forgotten meanwhile as forgotten.
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
    /// Synthetic events from a resync, not yet returned.
    pending: VecDeque<MembershipEvent>,
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

    /// The next change; `None` once the member has shut down. Forgotten members are
    /// skipped (see [`Events::next_event`]).
    pub async fn recv(&mut self) -> Option<MemberChange> {
        loop {
            match self.next_event().await? {
                MembershipEvent::Changed(change) => return Some(change),
                MembershipEvent::Forgotten(_) => {}
            }
        }
    }

    /// The next change if one is ready, without waiting. `None` when none is ready (or the
    /// member has shut down). Forgotten members are skipped.
    pub fn try_recv(&mut self) -> Option<MemberChange> {
        loop {
            match self.try_next_event()? {
                MembershipEvent::Changed(change) => return Some(change),
                MembershipEvent::Forgotten(_) => {}
            }
        }
    }

    /// The next event, a change or a forgotten member; `None` once the member has shut
    /// down.
    pub async fn next_event(&mut self) -> Option<MembershipEvent> {
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

    /// The next event if one is ready, without waiting. `None` when none is ready (or the
    /// member has shut down).
    pub fn try_next_event(&mut self) -> Option<MembershipEvent> {
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

    fn accept(&mut self, item: &Sequenced) -> Option<MembershipEvent> {
        if item.seq <= self.skip_through {
            return None;
        }
        match &item.event {
            MembershipEvent::Changed(change) => {
                let member = &change.member;
                self.seen.insert(member.name.clone(), member.clone());
            }
            MembershipEvent::Forgotten(member) => {
                self.seen.remove(&member.name);
            }
        }
        Some(item.event.clone())
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
            self.pending
                .push_back(MembershipEvent::Changed(MemberChange {
                    member: member.clone(),
                    previous,
                }));
        }
        // Members this stream reported that are no longer listed were forgotten meanwhile.
        let mut gone: Vec<&MemberSnapshot> = self
            .seen
            .values()
            .filter(|seen| current.members.iter().all(|m| m.name != seen.name))
            .collect();
        gone.sort_by(|a, b| a.name.cmp(&b.name));
        for member in gone {
            self.pending
                .push_back(MembershipEvent::Forgotten(member.clone()));
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

/// One event of the membership stream ([`Events::next_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MembershipEvent {
    /// A member's status or metadata changed, or a member was first learned of (or came
    /// back after it was forgotten).
    Changed(MemberChange),
    /// A member OFFLINE for `offline_retention` was forgotten: it is no longer listed. The
    /// snapshot is its last state.
    Forgotten(MemberSnapshot),
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
        left: false,
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

/// Changes buffered per subscriber before it is declared lagging.
pub(crate) const EVENT_BUFFER: usize = 1024;

/// An event and its number in the stream (numbers start at 1 and have no gaps).
#[derive(Debug)]
pub(crate) struct Sequenced {
    pub(crate) seq: u64,
    pub(crate) event: MembershipEvent,
}

/// The member list at one moment.
#[derive(Debug, Clone)]
pub(crate) struct View {
    /// Number of the last change reflected (0: none yet).
    pub(crate) seq: u64,
    /// Every member, the local one included, sorted by name.
    pub(crate) members: Vec<MemberSnapshot>,
}

impl View {
    /// The local member, if present.
    pub(crate) fn local(&self) -> Option<&MemberSnapshot> {
        self.members.iter().find(|m| m.local)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runtime::publish::{Publisher, Subscription};

    fn member(name: &str, clock: u64, status: Status) -> MemberSnapshot {
        MemberSnapshot {
            name: name.into(),
            local: name == "a:1",
            clock,
            status,
            status_time: Duration::from_millis(clock),
            metadata: None,
            left: false,
        }
    }

    /// Tracks the cluster state the way the driver does and publishes one change.
    struct World {
        publisher: Publisher,
        members: Vec<MemberSnapshot>,
    }

    impl World {
        fn new() -> (World, Subscription) {
            let members = vec![
                member("a:1", 1, Status::Online),
                member("b:1", 1, Status::Online),
            ];
            let (publisher, subscription) = Publisher::new(members.clone());
            (World { publisher, members }, subscription)
        }

        fn change(&mut self, index: usize, status: Status) -> MemberChange {
            let previous = self.members[index].clone();
            let next = member(&previous.name, previous.clock + 1, status);
            self.members[index] = next.clone();
            let change = MemberChange {
                member: next,
                previous,
            };
            self.publisher.publish(
                vec![MembershipEvent::Changed(change.clone())],
                self.members.clone(),
            );
            change
        }

        fn forget(&mut self, index: usize) -> MemberSnapshot {
            let gone = self.members.remove(index);
            self.publisher.publish(
                vec![MembershipEvent::Forgotten(gone.clone())],
                self.members.clone(),
            );
            gone
        }
    }

    fn subscribe(subscription: &Subscription) -> Events {
        Events::new(subscription.events.upgrade(), subscription.view.clone())
    }

    #[tokio::test]
    async fn a_subscriber_that_keeps_up_gets_every_change_then_the_end() {
        let (mut world, subscription) = World::new();
        world.change(1, Status::Suspect);
        let mut events = subscribe(&subscription);
        let mut expected = Vec::new();
        for i in 0..3000 {
            let status = [Status::Online, Status::Suspect][i % 2];
            expected.push(world.change(i % 2, status));
            assert_eq!(events.recv().await.as_ref(), expected.last());
        }
        expected.push(world.change(0, Status::Offline));
        drop(world);
        assert_eq!(events.recv().await.as_ref(), expected.last());
        assert_eq!(events.recv().await, None);
        assert_eq!(events.resyncs(), 0);
    }

    #[tokio::test]
    async fn a_subscriber_starts_from_the_present() {
        let (mut world, subscription) = World::new();
        world.change(1, Status::Suspect);
        let mut events = subscribe(&subscription);
        assert_eq!(events.try_recv(), None);
        let change = world.change(1, Status::Offline);
        assert_eq!(events.try_recv(), Some(change));
        assert_eq!(events.try_recv(), None);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_resynchronised_from_the_snapshot() {
        let (mut world, subscription) = World::new();
        let mut events = subscribe(&subscription);
        let before = world.members.clone();
        for i in 0..Events::BUFFER + 10 {
            world.change(1, [Status::Suspect, Status::Online][i % 2]);
        }
        world.change(1, Status::Offline);
        // One change, for the only member that differs, from what this stream last saw.
        let resync = events.recv().await.unwrap();
        assert_eq!(resync.previous, before[1]);
        assert_eq!(resync.member, world.members[1]);
        assert_eq!(events.resyncs(), 1);
        // Then nothing older, and the live stream resumes.
        assert_eq!(events.try_recv(), None);
        let live = world.change(0, Status::Suspect);
        assert_eq!(events.recv().await, Some(live));
    }

    #[tokio::test]
    async fn a_forgotten_member_is_an_event_that_recv_skips() {
        let (mut world, subscription) = World::new();
        let mut events = subscribe(&subscription);
        let mut changes = subscribe(&subscription);
        let gone = world.forget(1);
        let live = world.change(0, Status::Suspect);
        assert_eq!(
            events.next_event().await,
            Some(MembershipEvent::Forgotten(gone))
        );
        assert_eq!(
            events.next_event().await,
            Some(MembershipEvent::Changed(live.clone()))
        );
        assert_eq!(changes.recv().await, Some(live));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_hears_of_members_forgotten_meanwhile() {
        let (mut world, subscription) = World::new();
        let mut events = subscribe(&subscription);
        for i in 0..Events::BUFFER + 10 {
            world.change(0, [Status::Suspect, Status::Online][i % 2]);
        }
        let gone = world.forget(1);
        let mut got = Vec::new();
        while let Some(event) = events.try_next_event() {
            got.push(event);
        }
        assert!(got.contains(&MembershipEvent::Forgotten(gone)), "{got:?}");
        assert_eq!(events.resyncs(), 1);
    }

    #[tokio::test]
    async fn subscribing_to_a_stopped_member_ends_at_once() {
        let (world, subscription) = World::new();
        drop(world);
        let mut events = subscribe(&subscription);
        assert_eq!(events.recv().await, None);
    }
}
