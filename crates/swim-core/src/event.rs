//! Events the state machine reports to its driver.

use crate::{MemberChange, MemberSnapshot};

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
}
