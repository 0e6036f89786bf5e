//! Shared code of the command-line tools: what both commands share ([`cmd`]), the sync tool
//! ([`sync`]) and the demo ([`demo`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cmd;
pub mod demo;
pub mod sync;
