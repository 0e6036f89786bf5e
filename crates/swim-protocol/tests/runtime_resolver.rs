//! The running member resolves names with the configuration's resolver, not only at start,
//! and follows a name whose address changes once its answer's TTL has passed.

mod support;

use std::net::IpAddr;
use std::time::Duration;

use support::{eventually, fast_protocol};
use swim_protocol::address::StaticResolver;
use swim_protocol::{Cluster, Config, MemberName, Metadata, Status};

const SECRET: &[u8] = b"resolver test";
const WAIT: Duration = Duration::from_secs(10);

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// A member named `name`, bound to `bind_ip`, resolving names with `names`.
fn member(name: &str, bind_ip: &str, peers: &[&MemberName], names: &StaticResolver) -> Config {
    Config::new(name)
        .with_peers(peers.iter().map(ToString::to_string))
        .with_bind(ip(bind_ip), None)
        .with_secret(SECRET)
        .with_protocol(fast_protocol())
        .with_resolver(names.clone())
        .with_name_ttl(Duration::from_millis(200))
}

fn sees(observer: &Cluster, name: &MemberName, status: Status, place: &str) -> bool {
    observer.members().iter().any(|m| {
        &m.name == name
            && m.status == status
            && m.metadata_or_empty().get("where").map(Vec::as_slice) == Some(place.as_bytes())
    })
}

#[tokio::test]
async fn a_running_member_follows_a_name_that_moves() {
    // `b.test` first points nowhere useful; the member named by it runs on 127.0.0.2.
    let names = StaticResolver::new().with_host("b.test", [ip("127.0.0.9")]);
    let b = Cluster::start(
        member("b.test:0", "127.0.0.2", &[], &names)
            .with_metadata(Metadata::empty().with("where", "two")),
    )
    .await
    .unwrap();
    let b_name = b.name().clone();
    let port = b.addr().port();
    let a = Cluster::start(
        member("127.0.0.1:0", "127.0.0.1", &[&b_name], &names)
            .with_metadata(Metadata::empty().with("where", "one")),
    )
    .await
    .unwrap();
    let a_name = a.name().clone();

    // The injected resolver is asked after start: once it answers right, they meet.
    names.set_host("b.test", [ip("127.0.0.2")]);
    eventually(WAIT, "a and b see each other", || async {
        sees(&a, &b_name, Status::Online, "two") && sees(&b, &a_name, Status::Online, "one")
    })
    .await;

    // The member behind the name moves to 127.0.0.3 (a new process); A must follow the new
    // answer to reach it: B2 learns of A only from A's replies, sent to `b.test`.
    b.shutdown().await;
    let b2 = Cluster::start(
        member(&format!("b.test:{port}"), "127.0.0.3", &[&a_name], &names)
            .with_metadata(Metadata::empty().with("where", "three")),
    )
    .await
    .unwrap();
    names.set_host("b.test", [ip("127.0.0.3")]);
    eventually(WAIT, "a follows b.test to its new address", || async {
        sees(&a, &b_name, Status::Online, "three") && sees(&b2, &a_name, Status::Online, "one")
    })
    .await;
    a.shutdown().await;
    b2.shutdown().await;
}

/// A member whose only peer is `dns+svc.test:PORT` loses the service (its one replica stops;
/// a new one starts elsewhere, knowing nobody): looking the name up again, it finds the new
/// replica, which otherwise would never meet it.
#[tokio::test]
async fn a_member_that_lost_everyone_finds_the_service_again_by_dns() {
    let names = StaticResolver::new();
    let first = Cluster::start(member("127.0.0.2:0", "127.0.0.2", &[], &names))
        .await
        .unwrap();
    let port = first.addr().port();
    names.set_host("svc.test", [ip("127.0.0.2")]);
    let a = Cluster::start(
        member("127.0.0.1:0", "127.0.0.1", &[], &names)
            .with_peers([format!("dns+svc.test:{port}")])
            .with_peer_refresh(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let (a_name, first_name) = (a.name().clone(), first.name().clone());
    eventually(WAIT, "a joins the service through its DNS name", || async {
        a.members()
            .iter()
            .any(|m| m.name == first_name && m.status == Status::Online)
    })
    .await;

    first.shutdown().await;
    eventually(WAIT, "a has lost everyone", || async {
        a.members()
            .iter()
            .all(|m| m.local || m.status == Status::Offline)
    })
    .await;
    let second = Cluster::start(member(
        &format!("127.0.0.3:{port}"),
        "127.0.0.3",
        &[],
        &names,
    ))
    .await
    .unwrap();
    let second_name = second.name().clone();
    names.set_host("svc.test", [ip("127.0.0.3")]);
    eventually(WAIT, "a finds the new replica again", || async {
        a.members()
            .iter()
            .any(|m| m.name == second_name && m.status == Status::Online)
            && second
                .members()
                .iter()
                .any(|m| m.name == a_name && m.status == Status::Online)
    })
    .await;
    a.shutdown().await;
    second.shutdown().await;
}
