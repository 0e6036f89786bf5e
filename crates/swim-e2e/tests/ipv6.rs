//! Members over IPv6: a dual-stack Docker network (this engine cannot make an IPv6-only one),
//! members bound to `::`, so discovery takes the name's AAAA records only. Every member's
//! name is its IPv6 address, and no IPv4 address, nor a member twice, appears in any view.

use std::time::{Duration, Instant};

use swim_e2e::bridge::{create_dual_stack_network, restarts_and_running, Member};
use swim_e2e::cluster::{locals, wait_views};
use swim_e2e::docker::{one_at_a_time, require_docker};
use swim_e2e::images::build_ours;
use swim_e2e::poll::figure;
use swim_e2e::resources::Resources;
use swim_e2e::view::{all_see_exactly, View};

const MEMBERS: usize = 4;
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

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

#[test]
fn members_bound_to_ipv6_discover_each_other_through_aaaa_records() {
    if !require_docker("members_bound_to_ipv6_discover_each_other_through_aaaa_records") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources).expect("image");
    let network = create_dual_stack_network(&mut resources, "v6").expect("network");
    let name = format!("{}:9000", network.alias);
    let args = [
        "--udp-bind",
        "::",
        "--name",
        &name,
        "--udp-discovery",
        "/data",
    ];
    let started = Instant::now();
    let members: Vec<Member> = (0..MEMBERS)
        .map(|i| {
            network
                .run(
                    &mut resources,
                    &image,
                    &format!("v6m{i}"),
                    &[("SWIM_SECRET", "v6")],
                    &args,
                )
                .expect("docker run")
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
        "IPv6 (dual-stack network, --udp-bind ::): 4 members joined",
        started.elapsed(),
    );
    let views = swim_e2e::view::read_views(&containers).unwrap();
    for view in &views {
        for name in names_in(view) {
            assert!(
                is_ipv6_name(name),
                "{name:?} is not an IPv6 member name: {view}"
            );
        }
    }
    for member in &members {
        assert_eq!(restarts_and_running(&member.container).unwrap(), (0, true));
    }
}
