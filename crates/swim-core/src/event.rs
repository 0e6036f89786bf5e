//! Events the state machine reports to its driver.

use crate::MemberChange;

/// Something the application may want to know about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A member's status or metadata changed (or a member was first learned of).
    MemberChanged(MemberChange),
}
