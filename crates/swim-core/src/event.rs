//! Events the state machine reports to its driver.

use std::sync::Arc;

use crate::{AppId, MemberChange, MemberName, MemberSnapshot, ReplyKind};

/// Something the application may want to know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A member's status or metadata changed (or a member was first learned of).
    MemberChanged(MemberChange),
    /// A member OFFLINE for longer than `offline_retention` was forgotten: it is no longer
    /// listed. The snapshot is its last state. Only the member itself can bring it back (a
    /// newer record of its own, or a restart), which is then reported as a new member.
    MemberForgotten(MemberSnapshot),
    /// A user event published by a member (this one's own included), handed over once.
    UserEvent {
        /// The publishing process and its sequence number.
        id: AppId,
        /// The event's name.
        name: String,
        /// The event's bytes.
        payload: Arc<[u8]>,
    },
    /// A query this member's filter passes: answer it with [`crate::Swim::respond`] before
    /// its timeout (at most once).
    Query {
        /// The asking process and its sequence number.
        id: AppId,
        /// The query's name.
        name: String,
        /// The query's bytes.
        payload: Arc<[u8]>,
        /// How long it may be answered for, from now.
        timeout: std::time::Duration,
    },
    /// An answer to one of this member's queries.
    QueryReply {
        /// The query's sequence number (as returned by [`crate::Swim::query`]).
        seq: u64,
        /// The member that answered.
        from: MemberName,
        /// Its acknowledgement or response.
        reply: ReplyKind,
    },
    /// One of this member's queries timed out: no more answers are taken.
    QueryDone {
        /// The query's sequence number.
        seq: u64,
    },
    /// A direct message from another member.
    Direct {
        /// The sending member.
        from: MemberName,
        /// The application's bytes.
        payload: Arc<[u8]>,
    },
    /// An acknowledged direct message was received by its member.
    DirectAcked {
        /// The number [`crate::Swim::send_direct`] returned.
        id: u32,
    },
    /// An acknowledged direct message was not acknowledged within `direct_timeout`.
    DirectFailed {
        /// The number [`crate::Swim::send_direct`] returned.
        id: u32,
    },
}
