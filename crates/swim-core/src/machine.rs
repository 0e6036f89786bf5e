//! The state machine: one member's protocol logic. (Skeleton: bodies being written.)

use std::time::Duration;

use rand::Rng;

use crate::{
    ConfigError, Event, MemberName, MemberSnapshot, Metadata, Packet, ProtocolConfig, StatusSet,
    Transmit, Validity,
};

/// One member's SWIM state machine. `R` is the injected random number generator.
pub struct Swim<R> {
    rng: R,
}

impl<R: Rng> Swim<R> {
    /// Creates the local member `local` with `metadata`, knowing `peers` by name only.
    /// `now` is the driver's current time; validity bytes are drawn from `rng`.
    pub fn new(
        config: ProtocolConfig,
        local: MemberName,
        metadata: Metadata,
        peers: impl IntoIterator<Item = MemberName>,
        rng: R,
        now: Duration,
    ) -> Result<Self, ConfigError> {
        let _ = (config, local, metadata, peers.into_iter().count(), now);
        Ok(Swim { rng })
    }

    /// Feeds a packet received from the network.
    pub fn handle_packet(&mut self, now: Duration, packet: Packet) {
        let _ = (now, packet, &mut self.rng);
        todo!()
    }

    /// Lets the machine act on every deadline up to `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        let _ = now;
        todo!()
    }

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        todo!()
    }

    /// The earliest time at which [`Swim::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        todo!()
    }

    /// The next membership event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }

    /// Replaces the local member's metadata; the change is disseminated.
    pub fn set_local_metadata(&mut self, now: Duration, metadata: Metadata) {
        let _ = (now, metadata);
        todo!()
    }

    /// Adds a member known by name only (e.g. found by discovery after start).
    pub fn add_peer(&mut self, now: Duration, name: MemberName) {
        let _ = (now, name);
        todo!()
    }

    /// The local member's name.
    pub fn local_name(&self) -> &MemberName {
        todo!()
    }

    /// The local member's validity bytes.
    pub fn validity(&self) -> Validity {
        todo!()
    }

    /// A snapshot of the local member.
    pub fn local(&self) -> MemberSnapshot {
        todo!()
    }

    /// A snapshot of the member called `name`, if known.
    pub fn member(&self, name: &str) -> Option<MemberSnapshot> {
        let _ = name;
        todo!()
    }

    /// Snapshots of every member, the local one included, sorted by name.
    pub fn members(&self) -> Vec<MemberSnapshot> {
        todo!()
    }

    /// Snapshots of the non-local members whose status is in `statuses`, sorted by name.
    pub fn members_with(&self, statuses: StatusSet) -> Vec<MemberSnapshot> {
        let _ = statuses;
        todo!()
    }

    /// Up to `count` distinct non-local members with a status in `statuses`, chosen at random,
    /// none of them in `exclude`.
    pub fn find(
        &mut self,
        count: usize,
        statuses: StatusSet,
        exclude: &[MemberName],
    ) -> Vec<MemberName> {
        let _ = (count, statuses, exclude);
        todo!()
    }

    /// The protocol parameters in use.
    pub fn config(&self) -> &ProtocolConfig {
        todo!()
    }
}
