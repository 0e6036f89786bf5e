//! The engine side of the Python package `swimprotocol` (the seed's asyncio API over
//! [`swim_protocol::Cluster`]).
//!
//! With the `python` feature (which maturin turns on, see `pyproject.toml`) this crate is the
//! extension module `swimprotocol._native`: it turns the seed's configuration into a
//! [`swim_protocol::Config`], starts the member on a tokio runtime of its own (two worker
//! threads shared by every member of the process, which never hold the GIL while the
//! protocol runs), and hands every batch of membership changes to the application's event
//! loop with `loop.call_soon_threadsafe`; with `metrics_addr` it also serves the tools'
//! metrics/status server (`swim_tools::ops`). The seed's classes (`Members`, `Member`, `Worker`,
//! `UdpTransport`, `Listener`, `Status`, the configs) are Python, in `python/swimprotocol`,
//! and hold no protocol logic.
//!
//! Without the feature the crate is empty, so that `cargo test --workspace` builds on a
//! machine without Python; its integration test `tests/pytest.rs` runs the Python test
//! suite against the wheel that `.ci/run` installs (see `docs/python.md`).
#![deny(missing_docs)]

#[cfg(feature = "python")]
mod native;
