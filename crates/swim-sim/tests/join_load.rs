//! The join under load. Packets above the MTU go over TCP, and a member pushes its TCP sends
//! out one after the other and drops them beyond a cap, as the runtime does. Hundreds of
//! members starting together all ask the one seed member for the whole list: without a
//! budget its answers (each the size of the cluster) pile up until it drops them, and its
//! joiners must retry. With `full_sync_budget` it answers a few in full per interval and
//! sends the rest elsewhere with a window, and nothing is dropped.
//!
//! The model is scaled down so that the test is quick: 120 members and a slow sender show
//! what 600 real processes on a 2-core host do (`swim-sim --members 600 --start-spread 2`
//! with and without `--full-sync-budget 100000`; figures in docs/benchmarks.md).

use std::time::Duration;

use swim_core::ProtocolConfig;
use swim_sim::{run_standard, NetworkConfig, Report, RunConfig};

fn run(full_sync_budget: usize) -> Report {
    run_standard(&RunConfig {
        members: 120,
        network: NetworkConfig {
            tcp_bytes_per_s: 200e3,
            tcp_max_in_flight: 16,
            ..NetworkConfig::default()
        },
        protocol: ProtocolConfig {
            full_sync_budget,
            ..ProtocolConfig::default()
        },
        start_spread: Duration::from_secs(1),
        quiet: Duration::from_secs(2),
        duration: Duration::from_secs(60),
        ..RunConfig::default()
    })
}

#[test]
fn unbounded_full_answers_overflow_the_seed_members_tcp_sends() {
    let before = run(usize::MAX);
    assert!(before.join_tcp_dropped > 0, "{before:?}");
    let after = run(ProtocolConfig::default().full_sync_budget);
    assert_eq!(after.join_tcp_dropped, 0, "{after:?}");
    let (before_s, after_s) = (before.join_s.unwrap_or(60.0), after.join_s.unwrap());
    assert!(
        after_s < before_s,
        "join {after_s} s with the budget, {before_s} s without"
    );
    assert!(
        after_s < 1.0 + 2.5,
        "joined {after_s} s after the first start"
    );
    assert_eq!(after.false_offline, 0);
}
