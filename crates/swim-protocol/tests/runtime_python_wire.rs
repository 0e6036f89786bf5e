//! Members speaking the Python package's wire format among themselves, on real sockets.

mod support;

use std::time::Duration;

use support::{assert_nothing_dropped, eventually, has_metadata, shutdown_all, start_online};
use swim_protocol::{Metadata, WireKind};

#[tokio::test]
async fn python_wire_members_join_and_carry_large_metadata_over_tcp() {
    let members = start_online(3, b"my secret", WireKind::Python).await;
    let metadata = Metadata::empty().with("blob", vec![42u8; 10 * 1024]);
    members[2].set_local_metadata(metadata.clone());
    let name = members[2].name().clone();
    eventually(
        Duration::from_secs(10),
        "the 10 KB value reached everyone",
        || async {
            members
                .iter()
                .all(|observer| has_metadata(observer, &name, &metadata))
        },
    )
    .await;
    assert!(members[2].stats().tcp_packets_sent > 0);
    for member in &members {
        assert_nothing_dropped(member);
    }
    shutdown_all(members).await;
}
