//! The seed's "Getting Started", in Rust: one member of a two-member cluster.
//!
//! Run `cargo run --example getting_started`, and a second member on 127.0.0.1:2002.

use swim_protocol::{Cluster, Config, Metadata};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::new("127.0.0.1:2001")
        .with_metadata(Metadata::empty().with("name", "one"))
        .with_peers(["127.0.0.1:2002"])
        .with_secret("my secret");

    let cluster = Cluster::start(config).await?;
    eprintln!(
        "{} started: waiting for 127.0.0.1:2002 (Ctrl-C stops)",
        cluster.name()
    );
    cluster.on_change(|change| {
        let member = change.member; // and change.previous: the snapshot before
        println!("{} {} {:?}", member.name, member.status, member.metadata);
    });
    tokio::signal::ctrl_c().await?; // run your application
    cluster.shutdown().await;
    Ok(())
}
