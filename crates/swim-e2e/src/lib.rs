//! The harness of the container tests: `docker` commands with bounded waits, a guard that
//! removes everything a test created (containers, networks, services, stacks, compose
//! projects, images, a Swarm it initialised), the images built by `deploy/docker/`, and the
//! membership seen by each container, read from its `swim-protocol-sync` directory.
//!
//! The tests drive the tools from outside, as an operator would. Where Docker is absent they
//! print a notice and pass; with `SWIM_REQUIRE_DOCKER=1` (CI) they fail instead.
#![forbid(unsafe_code)]

pub mod bridge;
pub mod cluster;
pub mod deployment;
pub mod docker;
pub mod images;
pub mod multihost;
pub mod poll;
pub mod resources;
pub mod view;
