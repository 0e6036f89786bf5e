//! The lifecycle phases of the standard run: a graceful leave, and a partition that heals.

use std::time::Duration;

use crate::engine::Simulation;
use crate::faults::Cut;
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

/// Cuts the cluster as `cut` says for `length`, so that each side marks the other OFFLINE,
/// then heals it. Returns the time from the heal until every live member sees every other
/// live member ONLINE again (or `None` by `end`). False alarms are not counted from the cut
/// until the cluster is whole again: the partition makes them true.
pub(crate) fn partition_phase(
    sim: &mut Simulation,
    tracker: &mut Tracker,
    length: Duration,
    end: Duration,
    cut: &Cut,
) -> Option<Duration> {
    let n = sim.len();
    tracker.count_false_alarms = false;
    let start = sim.now();
    let heal_at = (start + length).min(end);
    // The highest live member: alone on its side (`Lone`), or restarted (`Restart`).
    let last_live = (0..n).rev().find(|&i| sim.is_running(i)).unwrap_or(0);
    let halves: Vec<u32> = (0..n).map(|i| u32::from(i >= n / 2)).collect();
    match cut {
        Cut::Halves | Cut::Flapping { .. } | Cut::Restart => sim.partition.split(halves),
        Cut::OneWay => sim.partition.split_one_way(halves),
        Cut::Lone => sim
            .partition
            .split((0..n).map(|i| u32::from(i == last_live)).collect()),
        Cut::Islands(k) => {
            let k = (*k).max(2) as usize;
            sim.partition
                .split((0..n).map(|i| (i * k / n.max(1)) as u32).collect());
        }
    }
    match cut {
        Cut::Flapping { period } => {
            // The cut comes and goes every `period` until the heal.
            let period = (*period).max(Duration::from_millis(10));
            let mut on = true;
            let mut at = start;
            while at + period < heal_at {
                at += period;
                sim.run_until(at, tracker);
                on = !on;
                if on {
                    sim.partition
                        .split((0..n).map(|i| u32::from(i >= n / 2)).collect());
                } else {
                    sim.partition.heal();
                }
            }
        }
        Cut::Restart if last_live >= n / 2 && n >= 4 => {
            // Midway, a member of the upper side restarts under its name (a new process,
            // knowing one member of its side), while the cut still holds.
            sim.run_until(start + length / 2, tracker);
            let peer = (n / 2..n).find(|&i| i != last_live && sim.is_running(i));
            sim.crash(last_live);
            tracker.set_alive(last_live, false);
            let metadata = [("version", "2")].into_iter().collect();
            let peers: Vec<usize> = peer.into_iter().collect();
            tracker.set_alive(last_live, true);
            sim.start(last_live, metadata, &peers, tracker);
        }
        _ => {}
    }
    sim.run_until(heal_at, tracker);
    sim.partition.heal();
    let healed = sim.run_while(tracker, end, Tracker::fully_joined);
    tracker.count_false_alarms = true;
    healed.map(|at| at - heal_at)
}
