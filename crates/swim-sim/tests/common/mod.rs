//! Helpers shared by the simulator's integration tests.

use std::time::Duration;

use swim_sim::{Simulation, Tracker};

/// Runs until `done` holds, failing the test at `limit` virtual seconds from now; returns the
/// virtual time it took.
pub fn run_until(
    sim: &mut Simulation,
    tracker: &mut Tracker,
    limit: f64,
    what: &str,
    done: impl Fn(&Simulation, &Tracker) -> bool,
) -> f64 {
    let start = sim.now();
    let deadline = start + Duration::from_secs_f64(limit);
    while !done(sim, tracker) {
        assert!(
            sim.now() < deadline,
            "{what}: not reached after {limit} virtual s"
        );
        let next = sim.now() + Duration::from_millis(20);
        sim.run_until(next, tracker);
    }
    (sim.now() - start).as_secs_f64()
}
