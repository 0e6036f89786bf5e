//! A deterministic simulator of swim-core members: thousands of members in one process, in
//! virtual time, over a network with loss, latency, partitions and crashes. The same seed and
//! parameters always give the same run.
//!
//! "The seed" in these docs is the Python package `swim-protocol` 0.6.3, which this project
//! reimplements; where we differ from it, the docs say so.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod engine;
pub mod faults;
pub mod host;
mod intern;
mod lifecycle;
mod names;
pub mod network;
pub mod samples;
pub mod scenario;
pub mod sweep;
pub mod tracker;
pub mod wire;
pub mod workload;

pub use engine::{Observer, Simulation, Traffic};
pub use faults::{Cut, Faults};
pub use host::HostCpu;
pub use names::{member_index as simulation_name_index, member_name};
pub use network::{NetworkConfig, Partition};
pub use samples::Samples;
pub use scenario::{
    run_standard, run_standard_with, run_standard_with_progress, Phase, Progress, Report, RunConfig,
};
pub use tracker::Tracker;
pub use wire::SimWire;
pub use workload::{AppFigures, AppTally, Workload};
