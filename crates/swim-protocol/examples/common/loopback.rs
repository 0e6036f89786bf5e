//! A loopback cluster in this process, for the benchmarks: members started one after the
//! other, each seeded with the first, with signed frames.

use swim_protocol::{Cluster, Config, Metadata, StartError};

/// Starts `count` members on 127.0.0.1 (ports chosen by the system), named in their
/// metadata `member0`, `member1`, ...
pub async fn start_members(count: usize) -> Result<Vec<Cluster>, StartError> {
    let mut members: Vec<Cluster> = Vec::with_capacity(count);
    for i in 0..count {
        let peers = members.first().map(|m| m.name().to_string());
        let config = Config::new("127.0.0.1:0")
            .with_peers(peers)
            .with_metadata(Metadata::empty().with("name", format!("member{i}")))
            .with_secret("benchmark");
        members.push(Cluster::start(config).await?);
    }
    Ok(members)
}

/// The positional argument `index` as a number, or `default`.
pub fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}
