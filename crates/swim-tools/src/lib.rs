//! Shared code of the command-line tools (being built).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod demo;
pub mod sync;
