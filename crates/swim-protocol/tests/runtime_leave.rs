//! Graceful leave on real sockets: the others see the member OFFLINE, with the left flag, at
//! once, never SUSPECT on the way.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{eventually, start_online};
use swim_protocol::{MemberChange, Status, WireKind};

const SECRET: &[u8] = b"leave test secret";

#[tokio::test]
async fn a_member_that_leaves_is_offline_and_left_everywhere_without_suspicion() {
    let members = start_online(3, SECRET, WireKind::Native).await;
    let leaver = members[2].name().clone();
    // Every change about the leaver seen by the others, with when it was seen.
    let seen: Arc<Mutex<Vec<(Instant, MemberChange)>>> = Arc::default();
    for member in &members[..2] {
        let (seen, leaver) = (seen.clone(), leaver.clone());
        member.on_change(move |change| {
            if change.member.name == leaver {
                seen.lock().unwrap().push((Instant::now(), change));
            }
        });
    }
    let started = Instant::now();
    assert!(
        members[2].leave(Duration::from_secs(2)).await,
        "not acknowledged"
    );
    // Both others report the leave; poll with a bound (real sockets, no virtual time).
    eventually(Duration::from_secs(5), "the leave reaches both", || async {
        members[..2].iter().all(|m| {
            m.members()
                .iter()
                .any(|s| s.name == leaver && s.status == Status::Offline && s.left)
        })
    })
    .await;
    let took = started.elapsed();
    let changes = seen.lock().unwrap().clone();
    assert!(
        changes
            .iter()
            .all(|(_, c)| c.member.status != Status::Suspect),
        "suspected on the way: {changes:?}"
    );
    let lefts: Vec<_> = changes.iter().filter(|(_, c)| c.left()).collect();
    assert_eq!(lefts.len(), 2, "{changes:?}");
    // Well before a suspicion could even start (fast_protocol: suspect_timeout 1 s).
    assert!(took < Duration::from_millis(700), "took {took:?}");
    for member in members {
        member.shutdown().await;
    }
}
