//! A cluster that talks over IPv6 only. This engine (Docker 20.10) cannot make a network
//! without IPv4, so the members' network is dual-stack, and the test takes every IPv4 address
//! off each container's `eth0` (`nsenter … ip -4 addr flush dev eth0`, from the host) before
//! its member starts: the entry point waits until `eth0` has no IPv4 address left. The
//! members are bound to `::` and discover each other through the alias' AAAA records (Docker's
//! DNS server answers on the containers' loopback). They form one cluster, every name in
//! every view is an IPv6 address, and a killed member ends OFFLINE at all the others; at the
//! end no container has an IPv4 address or route on `eth0`, so no member packet can have
//! crossed the network over IPv4.

use std::time::{Duration, Instant};

use swim_e2e::bridge::{
    create_dual_stack_network, ipv4_left, remove_ipv4, restarts_and_running, Member,
};
use swim_e2e::cluster::{locals, wait_views};
use swim_e2e::docker::{docker, one_at_a_time, require_docker};
use swim_e2e::images::build_ours;
use swim_e2e::poll::figure;
use swim_e2e::resources::Resources;
use swim_e2e::view::{all_see_exactly, read_views, View};

const MEMBERS: usize = 4;
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Default timings: a probe each second, 4 s of suspicion, then gossip; measured ~7-10 s.
const DETECT_TIMEOUT: Duration = Duration::from_secs(45);

fn is_ipv6_name(name: &str) -> bool {
    name.strip_suffix(":9000")
        .and_then(|host| host.strip_prefix('['))
        .and_then(|host| host.strip_suffix(']'))
        .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
}

fn names_in(view: &View) -> impl Iterator<Item = &String> {
    std::iter::once(&view.local)
        .chain(&view.online)
        .chain(&view.suspect)
        .chain(&view.offline)
}

fn assert_ipv6_names_only(views: &[View]) {
    for view in views {
        for name in names_in(view) {
            assert!(
                is_ipv6_name(name),
                "{name:?} is not an IPv6 member name: {view}"
            );
        }
    }
}

#[test]
fn an_ipv6_only_cluster_discovers_through_aaaa_records_and_sees_a_kill() {
    if !require_docker("an_ipv6_only_cluster_discovers_through_aaaa_records_and_sees_a_kill") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources).expect("image");
    let network = create_dual_stack_network(&mut resources, "v6").expect("network");
    let name = format!("{}:9000", network.alias);
    // The member starts only once the host has taken IPv4 off `eth0`.
    let script = format!(
        "while [ -n \"$(ip -4 -o addr show dev eth0)\" ]; do sleep 0.1; done; \
         exec swim-protocol-sync --udp-bind :: --name {name} --udp-discovery /data"
    );
    let started = Instant::now();
    let members: Vec<Member> = (0..MEMBERS)
        .map(|i| {
            let member = network
                .run_with(
                    &mut resources,
                    &image,
                    &format!("v6m{i}"),
                    &[("SWIM_SECRET", "v6")],
                    &["--entrypoint", "/bin/sh"],
                    &["-c", &script],
                )
                .expect("docker run");
            remove_ipv4(&member.container).expect("IPv4 removed");
            member
        })
        .collect();
    let containers: Vec<String> = members.iter().map(|m| m.container.clone()).collect();
    wait_views(
        &containers,
        "the members see each other ONLINE by IPv6 address",
        JOIN_TIMEOUT,
        |views| {
            let live = locals(views);
            live.len() == MEMBERS && all_see_exactly(views, &live)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure(
        "IPv6-only (IPv4 flushed from eth0, --udp-bind ::): 4 members joined",
        started.elapsed(),
    );
    let views = read_views(&containers).unwrap();
    assert_ipv6_names_only(&views);

    // A killed member ends OFFLINE everywhere, over IPv6 alone.
    let (victim, survivors) = containers.split_last().unwrap();
    let gone = views.last().unwrap().local.clone();
    docker(&["kill", victim]).unwrap();
    let took = wait_views(
        survivors,
        "the killed member is OFFLINE at every other",
        DETECT_TIMEOUT,
        |views| {
            let live = locals(views);
            views.iter().all(|v| v.offline.contains(&gone)) && all_see_exactly(views, &live)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure("IPv6-only: docker kill -> OFFLINE at all 3 others", took);
    assert_ipv6_names_only(&read_views(survivors).unwrap());
    for container in survivors {
        assert_eq!(restarts_and_running(container).unwrap(), (0, true));
        let (addresses, routes) = ipv4_left(container).unwrap();
        assert!(
            addresses.is_empty() && routes.is_empty(),
            "{container} has IPv4 again: {addresses:?} {routes:?}"
        );
    }
}
