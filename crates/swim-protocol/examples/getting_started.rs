//! The seed's "Getting Started", in Rust: one member of a two-member cluster.
//!
//! Run `cargo run --example getting_started`, and a second member on 127.0.0.1:2002.

use swim_protocol::{Cluster, Config, Metadata};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::new("127.0.0.1:2001");
    config.local_metadata = Metadata::empty().with("name", "one");
    config.peers = vec!["127.0.0.1:2002".into()];
    config.secret = Some(b"my secret".to_vec());

    let cluster = Cluster::start(config).await?;
    cluster.on_change(|change| {
        let member = change.member;
        println!(
            "{} {} {:?}",
            member.name,
            member.status,
            member.metadata_or_empty()
        );
    });
    tokio::signal::ctrl_c().await?; // run your application
    cluster.shutdown().await;
    Ok(())
}
