//! The lifecycle phases of the standard run: a graceful leave, and a partition that heals.

use std::time::Duration;

use crate::engine::Simulation;
use crate::tracker::Tracker;

/// Member `leaver` leaves at the current time; runs until every live member sees it OFFLINE
/// with the left flag (or `end`), then stops it. Returns the time that took.
pub(crate) fn leave_phase(
    sim: &mut Simulation,
    tracker: &mut Tracker,
    leaver: usize,
    end: Duration,
) -> Option<Duration> {
    let start = sim.now();
    tracker.set_alive(leaver, false);
    tracker.watch_leave(leaver, start);
    sim.leave(leaver, tracker);
    sim.run_while(tracker, end, |t| t.all_left.is_some());
    sim.crash(leaver);
    tracker.all_left
}

/// Cuts the cluster in two halves (members below `n / 2` and the rest) for `length`, so
/// that each side marks the other OFFLINE, then heals it. Returns the time from the heal
/// until every live member sees every other live member ONLINE again (or `None` by `end`).
/// False alarms are not counted from the cut until the cluster is whole again: the
/// partition makes them true.
pub(crate) fn partition_phase(
    sim: &mut Simulation,
    tracker: &mut Tracker,
    length: Duration,
    end: Duration,
) -> Option<Duration> {
    let n = sim.len();
    tracker.count_false_alarms = false;
    sim.partition
        .split((0..n).map(|i| u32::from(i >= n / 2)).collect());
    let heal_at = (sim.now() + length).min(end);
    sim.run_until(heal_at, tracker);
    sim.partition.heal();
    let healed = sim.run_while(tracker, end, Tracker::fully_joined);
    tracker.count_false_alarms = true;
    healed.map(|at| at - heal_at)
}
