//! Members as plain containers on a bridge network, found through the network's DNS alias
//! (`--name ALIAS:9000 --udp-discovery`), with the deployment's default timings: join, a
//! killed member, a partition and its heal, and a mixed cluster with the Python reference.
//! Containers run without a restart policy: a member that exits fails the test.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use swim_e2e::bridge::{create_network, names, restarts_and_running, Member, Network};
use swim_e2e::cluster::wait_views;
use swim_e2e::docker::{docker, one_at_a_time, require_docker};
use swim_e2e::images::{build_ours, build_python, python_venv};
use swim_e2e::poll::figure;
use swim_e2e::resources::Resources;
use swim_e2e::view::all_see_exactly;

const PORT: u16 = 9000;
const SECRET: &str = "e2e-bridge-secret";
/// Every member started and sees every other: generous, a loaded 2-core machine starts
/// containers slowly.
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Default timings: a probe each second, 5 s of suspicion, then gossip; measured ~7-10 s.
const DETECT_TIMEOUT: Duration = Duration::from_secs(45);
/// An isolated member distrusts itself (Lifeguard: every probe fails and no nack comes, so its
/// local health reaches the maximum and its probe interval and timeouts stretch ninefold): it
/// takes about a minute to give up on everyone else, by design.
const ISOLATED_DETECT_TIMEOUT: Duration = Duration::from_secs(150);
/// Two anti-entropy (push-pull) periods of 10 s, and the time to look at every container.
const HEAL_TIMEOUT: Duration = Duration::from_secs(25);

fn member_args(network: &Network) -> Vec<String> {
    let name = format!("{}:{PORT}", network.alias);
    ["--name", &name, "--udp-discovery", "/data"]
        .map(str::to_owned)
        .to_vec()
}

/// Starts `count` members of our image, one after another as a deployment would.
fn start_ours(
    resources: &mut Resources,
    network: &Network,
    image: &str,
    count: usize,
    extra: &[&str],
) -> Vec<Member> {
    let mut args: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
    args.extend(member_args(network));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    (0..count)
        .map(|i| {
            network
                .run(
                    resources,
                    image,
                    &format!("rs{i}"),
                    &[("SWIM_SECRET", SECRET)],
                    &args,
                )
                .expect("docker run")
        })
        .collect()
}

fn containers(members: &[&Member]) -> Vec<String> {
    members.iter().map(|m| m.container.clone()).collect()
}

/// Waits until every one of `members` sees exactly the others ONLINE, and checks that none
/// of them exited or was restarted on the way; returns the time since `started`.
fn wait_joined(members: &[&Member], what: &str, started: Instant) -> Duration {
    let live = names(members, PORT);
    wait_views(&containers(members), what, JOIN_TIMEOUT, |views| {
        all_see_exactly(views, &live)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let took = started.elapsed();
    for member in members {
        let state = restarts_and_running(&member.container).unwrap();
        assert_eq!(
            state,
            (0, true),
            "{} restarted or stopped",
            member.container
        );
    }
    took
}

/// `docker kill` of the last of `members`; waits until every other sees it OFFLINE and
/// exactly the rest ONLINE.
fn kill_the_last(members: &[&Member], what: &str) -> Duration {
    let (victim, survivors) = members.split_last().unwrap();
    docker(&["kill", &victim.container]).unwrap();
    let gone = format!("{}:{PORT}", victim.ip);
    let live = names(survivors, PORT);
    wait_views(&containers(survivors), what, DETECT_TIMEOUT, |views| {
        views.iter().all(|v| v.offline.contains(&gone)) && all_see_exactly(views, &live)
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn join_through_discovery_then_a_killed_member_is_offline_everywhere() {
    if !require_docker("join_through_discovery_then_a_killed_member_is_offline_everywhere") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources).expect("image");
    let network = create_network(&mut resources, "kill").expect("network");
    let started = Instant::now();
    let members = start_ours(&mut resources, &network, &image, 6, &[]);
    let all: Vec<&Member> = members.iter().collect();
    let took = wait_joined(&all, "6 members see each other ONLINE", started);
    figure(
        "first docker run -> 6 containers joined through discovery",
        took,
    );

    let took = kill_the_last(&all, "the killed member is OFFLINE at every other");
    figure("docker kill -> OFFLINE at all 5 others", took);
}

#[test]
fn a_partition_is_seen_from_both_sides_and_heals() {
    if !require_docker("a_partition_is_seen_from_both_sides_and_heals") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let image = build_ours(&mut resources).expect("image");
    let network = create_network(&mut resources, "part").expect("network");
    let members = start_ours(&mut resources, &network, &image, 5, &[]);
    let all: Vec<&Member> = members.iter().collect();
    wait_joined(&all, "5 members see each other ONLINE", Instant::now());

    let (big, small) = all.split_at(3);
    for member in small {
        network.disconnect(member).unwrap();
    }
    let (big_names, small_names) = (names(big, PORT), names(small, PORT));
    let other_side_offline = |views: &[swim_e2e::view::View], others: &BTreeSet<String>| {
        views
            .iter()
            .all(|v| others.is_subset(&v.offline) && v.online.is_disjoint(others))
    };
    let took = wait_views(
        &containers(&all),
        "each side of the partition sees the other OFFLINE",
        ISOLATED_DETECT_TIMEOUT,
        |views| {
            let (big_views, small_views) = views.split_at(3);
            other_side_offline(big_views, &small_names)
                && all_see_exactly(big_views, &big_names)
                && other_side_offline(small_views, &big_names)
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure("partition 3|2 -> seen OFFLINE on both sides", took);

    for member in small {
        network.reconnect(member).unwrap();
    }
    let live = names(&all, PORT);
    let took = wait_views(
        &containers(&all),
        "everyone is ONLINE again after the heal",
        HEAL_TIMEOUT,
        |views| all_see_exactly(views, &live),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure("heal -> all 5 ONLINE everywhere", took);
}

#[test]
fn python_members_in_containers_beside_ours() {
    let test = "python_members_in_containers_beside_ours";
    if !require_docker(test) {
        return;
    }
    let Some(venv) = python_venv() else {
        return;
    };
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let ours = build_ours(&mut resources).expect("image");
    let python = build_python(&mut resources, &venv).expect("python image");
    let network = create_network(&mut resources, "mixed").expect("network");
    let started = Instant::now();
    let mut members = start_ours(&mut resources, &network, &ours, 3, &["--wire", "python"]);
    let mut args = vec!["--secret".to_owned(), SECRET.to_owned()];
    args.extend(member_args(&network));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    for i in 0..2 {
        members.push(
            network
                .run(&mut resources, &python, &format!("py{i}"), &[], &args)
                .expect("docker run"),
        );
    }
    let all: Vec<&Member> = members.iter().collect();
    let took = wait_joined(
        &all,
        "3 of ours and 2 Python members see each other ONLINE",
        started,
    );
    figure(
        "first docker run -> mixed cluster joined (3 ours --wire python, 2 Python 0.6.3)",
        took,
    );

    let took = kill_the_last(&all, "the killed Python member is OFFLINE at every other");
    figure(
        "mixed: docker kill of a Python member -> OFFLINE at all others",
        took,
    );
}
