//! What one member knows about another (or itself) at one moment.

use std::time::Duration;

use crate::{MemberName, Metadata, Status};

/// A member's state as seen by the local member, at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    /// The member's unique name (`host:port`).
    pub name: MemberName,
    /// Whether this is the local member.
    pub local: bool,
    /// The logical clock of the latest change applied; it only grows.
    pub clock: u64,
    /// The last known status.
    pub status: Status,
    /// When the status last changed, on the driver's clock (time since its epoch).
    pub status_time: Duration,
    /// The last known metadata; `None` until it is first learned.
    pub metadata: Option<Metadata>,
    /// Whether the member is OFFLINE because it left the cluster gracefully (it said so),
    /// rather than because it stopped answering. Always false unless `status` is OFFLINE.
    pub left: bool,
}

impl MemberSnapshot {
    /// The metadata, or an empty map while it is still unknown.
    pub fn metadata_or_empty(&self) -> Metadata {
        self.metadata.clone().unwrap_or_default()
    }
}

/// A change to one member: its new state and the state before the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    /// The member after the change.
    pub member: MemberSnapshot,
    /// The member before the change.
    pub previous: MemberSnapshot,
}

impl MemberChange {
    /// Whether the status changed (as opposed to only the metadata).
    pub fn status_changed(&self) -> bool {
        self.member.status != self.previous.status
    }

    /// Whether the metadata changed.
    pub fn metadata_changed(&self) -> bool {
        self.member.metadata != self.previous.metadata
    }

    /// Whether this change is the member leaving the cluster gracefully: it is now OFFLINE
    /// because it said so, and was not known to have left before.
    pub fn left(&self) -> bool {
        self.member.left && !self.previous.left
    }
}
