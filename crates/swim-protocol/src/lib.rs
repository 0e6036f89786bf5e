//! SWIM cluster membership for tokio applications (being built).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use swim_core::{
    Event, MemberChange, MemberName, MemberSnapshot, Metadata, ProtocolConfig, Status, StatusSet,
};
