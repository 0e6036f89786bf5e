//! The handle to a running member (skeleton: owned by the runtime work).

use swim_core::{MemberChange, MemberSnapshot, Metadata, StatusSet};

use crate::{Config, StartError};

/// A running member of the cluster. Cheap to clone; all clones drive the same member.
#[derive(Clone)]
pub struct Cluster {
    _private: (),
}

/// A stream of membership changes, in the order they happened.
pub struct Events {
    _private: (),
}

impl Events {
    /// The next change; `None` once the member has shut down.
    pub async fn recv(&mut self) -> Option<MemberChange> {
        todo!()
    }
}

impl Cluster {
    /// Opens the sockets and starts the member in the background.
    pub async fn start(config: Config) -> Result<Cluster, StartError> {
        let _ = config;
        todo!()
    }

    /// A snapshot of the local member.
    pub fn local(&self) -> MemberSnapshot {
        todo!()
    }

    /// Snapshots of every member, the local one included, sorted by name.
    pub fn members(&self) -> Vec<MemberSnapshot> {
        todo!()
    }

    /// Snapshots of the non-local members, sorted by name.
    pub fn non_local(&self) -> Vec<MemberSnapshot> {
        todo!()
    }

    /// Snapshots of the non-local members whose status is in `statuses`, sorted by name.
    pub fn with_status(&self, statuses: StatusSet) -> Vec<MemberSnapshot> {
        let _ = statuses;
        todo!()
    }

    /// Replaces the local metadata; the change spreads to every member.
    pub fn set_local_metadata(&self, metadata: Metadata) {
        let _ = metadata;
        todo!()
    }

    /// Subscribes to membership changes from now on.
    pub fn subscribe(&self) -> Events {
        todo!()
    }

    /// Stops the member: closes the sockets and ends every task it started.
    pub async fn shutdown(self) {
        todo!()
    }
}
