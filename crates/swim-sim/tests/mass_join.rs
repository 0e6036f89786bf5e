//! A mass join: hundreds of members start at once, all seeded with member 0. Join news that
//! arrives in a burst (a member already has 100 records queued) is not re-gossiped; the
//! joiners announce themselves and the member-count digest's catch-ups hand over the lists.
//! Re-gossiping every joiner's record the full number of times at every member (the rule
//! before, `join_news_retransmits: u32::MAX`) keeps the queues busy long after the join:
//! at 2,000 members they had not drained 60 s later, and at 10,000 they never would.

use std::time::Duration;

use swim_core::{Ablation, ProtocolConfig};
use swim_sim::{run_standard, NetworkConfig, Report, RunConfig};

fn run(join_news_retransmits: u32) -> Report {
    run_standard(&RunConfig {
        members: 400,
        network: NetworkConfig {
            loss: 0.05,
            ..NetworkConfig::default()
        },
        protocol: ProtocolConfig {
            ablation: Ablation {
                join_news_retransmits,
                ..Ablation::default()
            },
            ..ProtocolConfig::default()
        },
        quiet: Duration::from_secs(2),
        duration: Duration::from_secs(60),
        ..RunConfig::default()
    })
}

#[test]
fn join_news_in_a_burst_is_handed_over_by_catch_ups_and_the_queues_drain() {
    let before = run(u32::MAX);
    let after = run(Ablation::default().join_news_retransmits);
    eprintln!("before {before:?}\nafter {after:?}");
    let (before_s, after_s) = (before.join_s.unwrap_or(60.0), after.join_s.unwrap());
    assert!(
        after_s <= before_s + 1.0,
        "joined in {after_s} s, {before_s} s re-gossiping every joiner"
    );
    // Virtual seconds after the metadata change until no member has gossip queued.
    let (before_settle, after_settle) = (before.settle_s.unwrap_or(60.0), after.settle_s.unwrap());
    assert!(
        after_settle * 2.0 < before_settle,
        "queues drained {after_settle} s after the spread, {before_settle} s re-gossiping"
    );
    assert!(
        after.join_packets_per_member < before.join_packets_per_member,
        "{} packets per member to join, {} re-gossiping",
        after.join_packets_per_member,
        before.join_packets_per_member
    );
    assert_eq!((after.false_suspect, after.false_offline), (0, 0));
}
