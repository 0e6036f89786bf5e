//! Shared code of the command-line tools: what both commands share ([`cmd`], [`ops`], the
//! [`control`] socket), the
//! sync tool ([`sync`]) and the demo ([`demo`]).
//!
//! "The seed" in these docs is the Python package `swim-protocol` 0.6.3, which this project
//! reimplements; where we differ from it, the docs say so.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cmd;
pub mod control;
pub mod demo;
pub mod ops;
pub mod sync;
