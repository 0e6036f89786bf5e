//! Members speaking the Python package's wire format among themselves, on real sockets.

mod support;

use support::{assert_nothing_dropped, shutdown_all, spread_metadata, start_online};
use swim_protocol::{Metadata, WireKind};

#[tokio::test]
async fn python_wire_members_join_and_carry_large_metadata_over_tcp() {
    let members = start_online(3, b"my secret", WireKind::Python).await;
    let metadata = Metadata::empty().with("blob", vec![42u8; 10 * 1024]);
    spread_metadata(&members, 2, &metadata, "the 10 KB value reached everyone").await;
    assert!(members[2].stats().tcp_packets_sent > 0);
    for member in &members {
        assert_nothing_dropped(member);
    }
    shutdown_all(members).await;
}
