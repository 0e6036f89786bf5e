//! `--wire auto` on loopback, between members of ours: a member speaking both formats
//! talks to a `--wire python` member and, after that member is restarted under the same
//! name with `--wire native`, to the native one (the rolling migration against the real
//! Python package is `runtime_python_migration.rs`).

mod support;

use std::time::Duration;

use support::{eventually, has_metadata, member_config, sees};
use swim_protocol::{Cluster, Config, MemberName, Metadata, Status, WireKind};

const SECRET: &[u8] = b"auto secret";
const WAIT: Duration = Duration::from_secs(10);

fn config(name: &str, peers: &[MemberName], wire: WireKind, tag: &str) -> Config {
    let mut config = member_config(SECRET, peers, Metadata::empty().with("name", tag));
    config.local_name = name.to_owned();
    config.protocol.wire = wire;
    config
}

/// Both see each other ONLINE and each other's new metadata.
async fn talk(a: &Cluster, b: &Cluster, round: &str) {
    eventually(WAIT, &format!("{round}: both ONLINE"), || async {
        sees(a, b.name(), Status::Online) && sees(b, a.name(), Status::Online)
    })
    .await;
    for (from, to) in [(a, b), (b, a)] {
        let metadata = from.local().metadata_or_empty().with("round", round);
        from.set_local_metadata(metadata.clone());
        eventually(WAIT, &format!("{round}: metadata spreads"), || async {
            has_metadata(to, from.name(), &metadata)
        })
        .await;
    }
}

#[tokio::test]
async fn an_auto_member_follows_a_peer_from_the_python_to_the_native_format() {
    let python = Cluster::start(config("127.0.0.1:0", &[], WireKind::Python, "p"))
        .await
        .unwrap();
    let name = python.name().clone();
    let auto = Cluster::start(config(
        "127.0.0.1:0",
        std::slice::from_ref(&name),
        WireKind::Auto,
        "a",
    ))
    .await
    .unwrap();
    talk(&auto, &python, "python").await;
    let stats = auto.stats();
    assert_eq!(
        stats.dropped_malformed + stats.dropped_bad_signature,
        0,
        "{stats:?}"
    );
    // The Python-format member is restarted under its name in our format.
    python.shutdown().await;
    let native = Cluster::start(config(name.as_str(), &[], WireKind::Native, "n"))
        .await
        .unwrap();
    talk(&auto, &native, "native").await;
    assert!(sees(&auto, &name, Status::Online));
    // The auto member now answers it in our format: nothing it sends is dropped any more.
    let dropped = native.stats().dropped_malformed;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(native.stats().dropped_malformed, dropped);
    native.shutdown().await;
    auto.shutdown().await;
}

#[tokio::test]
async fn auto_refuses_encryption() {
    use swim_protocol::frame::keyring::{Key, Keyring};
    use swim_protocol::security::Security;
    let config = config("127.0.0.1:0", &[], WireKind::Auto, "a")
        .with_security(Security::default().with_keyring(Keyring::with_key(Key::generate())));
    let err = config.resolve().await.unwrap_err().to_string();
    assert!(err.contains("--wire auto"), "{err}");
}
