//! Deterministic simulator of swim-core members (being built).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
