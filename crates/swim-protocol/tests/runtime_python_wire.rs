//! Members speaking the Python package's wire format among themselves, on real sockets.

mod support;

use std::time::Duration;

use support::{all_online, eventually, resolved, shutdown_all};
use swim_protocol::{Cluster, Metadata, WireKind};

#[tokio::test]
async fn python_wire_members_join_and_carry_large_metadata_over_tcp() {
    let mut members: Vec<Cluster> = Vec::new();
    for i in 0..3 {
        let peers: Vec<_> = members
            .first()
            .map(|m| m.name().clone())
            .into_iter()
            .collect();
        let metadata = Metadata::empty().with("name", format!("py{i}"));
        let mut config = resolved(b"my secret", &peers, metadata);
        config.wire = WireKind::Python;
        members.push(Cluster::start_resolved(config).await.unwrap());
    }
    eventually(Duration::from_secs(10), "all ONLINE", || async {
        all_online(&members)
    })
    .await;
    let metadata = Metadata::empty().with("blob", vec![42u8; 10 * 1024]);
    members[2].set_local_metadata(metadata.clone());
    let name = members[2].name().clone();
    eventually(
        Duration::from_secs(10),
        "the 10 KB value reached everyone",
        || async {
            members.iter().all(|observer| {
                observer
                    .members()
                    .iter()
                    .any(|m| m.name == name && m.metadata.as_ref() == Some(&metadata))
            })
        },
    )
    .await;
    assert!(members[2].stats().tcp_packets_sent > 0);
    for member in &members {
        let stats = member.stats();
        assert_eq!(
            stats.dropped_malformed + stats.dropped_bad_signature,
            0,
            "{stats:?}"
        );
    }
    shutdown_all(members).await;
}
