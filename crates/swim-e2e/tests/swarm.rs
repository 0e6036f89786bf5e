//! The Swarm stack of `deploy/swarm/stack.yml`, deployed as written: replicas find each
//! other through the service's DNS name, get the secret from a Docker secret and metadata
//! from a Docker config, and pass their health check; a rolling restart and scaling
//! 5 -> 20 -> 5 leave every member seeing exactly the live set.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use swim_e2e::cluster::{locals, wait_views};
use swim_e2e::view::read_views;

use swim_e2e::deployment::{
    deploy_stack, service_tasks, task_errors, wait_converged, wait_deployed,
};
use swim_e2e::docker::{docker, one_at_a_time, require_docker};
use swim_e2e::images::build_ours;
use swim_e2e::poll::{figure, wait_for};
use swim_e2e::resources::Resources;

/// Tasks are scheduled, started and found through DNS; a loaded machine is slow at it.
const JOIN_TIMEOUT: Duration = Duration::from_secs(180);
/// Detection of the replicas that went away (default timings: ~7-10 s) plus their removal.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A rolling update of 5 replicas, one at a time with a 5 s delay.
const UPDATE_TIMEOUT: Duration = Duration::from_secs(300);

fn no_task_failed(service: &str) {
    let errors = task_errors(service);
    assert!(errors.is_empty(), "tasks of {service} failed: {errors:#?}");
}

/// Our image deployed as the stack with some replicas: the service, when its deployment
/// began (after the image was built), and the directory its files live in (kept until the
/// test ends).
struct Stack {
    service: String,
    started: Instant,
    _dir: tempfile::TempDir,
}

fn deploy(resources: &mut Resources, replicas: usize) -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let image = build_ours(resources).expect("image");
    let started = Instant::now();
    let service = deploy_stack(resources, &image, replicas, dir.path()).expect("stack deploy");
    Stack {
        service,
        started,
        _dir: dir,
    }
}

#[test]
fn a_stack_forms_one_cluster_and_survives_a_rolling_restart() {
    if !require_docker("a_stack_forms_one_cluster_and_survives_a_rolling_restart") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let stack = deploy(&mut resources, 5);
    let service = &stack.service;
    let list = || service_tasks(service);
    let tasks = wait_deployed(
        list,
        5,
        stack.started,
        "stack deploy -> 5 replicas joined",
        JOIN_TIMEOUT,
    );
    no_task_failed(service);

    let before: Vec<String> = tasks;
    let started = Instant::now();
    docker(&["service", "update", "--detach", "--force", service]).unwrap();
    wait_for(
        "the rolling update completes",
        UPDATE_TIMEOUT,
        || {
            let state = docker(&[
                "service",
                "inspect",
                "-f",
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                service,
            ])
            .map_err(|e| e.to_string())?;
            match state.as_str() {
                "completed" => Ok(Some(())),
                "paused" | "rollback_completed" => Err(format!("the update stopped: {state}")),
                _ => Ok(None),
            }
        },
        || docker(&["service", "ps", service]).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (after, _) = wait_converged(
        list,
        5,
        "after the rolling restart every member sees exactly the live set",
        SETTLE_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure(
        "rolling restart of 5 replicas -> exactly the live set everywhere",
        started.elapsed(),
    );
    assert!(
        after.iter().all(|c| !before.contains(c)),
        "every task was replaced: {before:?} -> {after:?}"
    );
    no_task_failed(service);
}

#[test]
fn a_stack_scales_from_5_to_20_and_back_to_5() {
    if !require_docker("a_stack_scales_from_5_to_20_and_back_to_5") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let stack = deploy(&mut resources, 5);
    let service = &stack.service;
    let list = || service_tasks(service);
    wait_converged(list, 5, "5 replicas see each other ONLINE", JOIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));

    let started = Instant::now();
    docker(&["service", "scale", "--detach", &format!("{service}=20")]).unwrap();
    let (twenty, _) = wait_converged(list, 20, "20 replicas see each other ONLINE", JOIN_TIMEOUT)
        .unwrap_or_else(|e| panic!("{e}"));
    figure("scale 5 -> 20: all 20 see each other", started.elapsed());
    let twenty = locals(&read_views(&twenty).unwrap());

    let started = Instant::now();
    docker(&["service", "scale", "--detach", &format!("{service}=5")]).unwrap();
    let (survivors, _) = wait_converged(
        list,
        5,
        "after scaling down the 5 left see exactly each other ONLINE",
        SETTLE_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure(
        "scale 20 -> 5: the 5 left see exactly each other",
        started.elapsed(),
    );
    // The 15 removed replicas end up OFFLINE at every survivor, not forgotten while ONLINE.
    let survivors_names = locals(&read_views(&survivors).unwrap());
    let removed: BTreeSet<String> = twenty.difference(&survivors_names).cloned().collect();
    assert_eq!(removed.len(), 15, "{twenty:?} -> {survivors_names:?}");
    wait_views(
        &survivors,
        "the 15 removed are OFFLINE at every survivor",
        SETTLE_TIMEOUT,
        |views| views.iter().all(|v| removed.is_subset(&v.offline)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure(
        "scale 20 -> 5: the 15 removed OFFLINE at all 5",
        started.elapsed(),
    );
    no_task_failed(service);
}

/// How many health checks the lone replica must pass before the service is scaled up.
const HEALTHY_CHECKS_ALONE: usize = 3;

/// The passed health checks Docker recorded for `container` (it keeps the last five).
fn passed_health_checks(container: &str) -> Result<usize, String> {
    let out = docker(&[
        "inspect",
        "-f",
        "{{range .State.Health.Log}}{{.ExitCode}} {{end}}",
        container,
    ])
    .map_err(|e| e.to_string())?;
    Ok(out.split_whitespace().filter(|code| *code == "0").count())
}

/// A service of one replica starts, although discovery finds nobody else (and nothing at
/// all until Swarm lists the healthy task in DNS), and stays up alone through several
/// health checks; scaled to 3, all find each other, that first replica among them (it was
/// never replaced: it looks the name up again while alone).
#[test]
fn one_replica_starts_alone_and_later_replicas_find_it() {
    if !require_docker("one_replica_starts_alone_and_later_replicas_find_it") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let stack = deploy(&mut resources, 1);
    let service = &stack.service;
    let list = || service_tasks(service);
    let alone = wait_deployed(
        list,
        1,
        stack.started,
        "swarm: stack of one replica -> healthy alone",
        JOIN_TIMEOUT,
    );
    wait_for(
        "the lone replica passes its health checks and stays alone",
        JOIN_TIMEOUT,
        || {
            let passed = passed_health_checks(&alone[0])?;
            Ok((passed >= HEALTHY_CHECKS_ALONE && list() == alone).then_some(()))
        },
        || docker(&["service", "ps", service]).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    no_task_failed(service);

    let started = Instant::now();
    docker(&["service", "scale", "--detach", &format!("{service}=3")]).unwrap();
    let three = wait_deployed(
        list,
        3,
        started,
        "swarm: scale 1 -> 3: all 3 see each other",
        JOIN_TIMEOUT,
    );
    assert!(
        three.contains(&alone[0]),
        "the first replica stayed up: {alone:?} -> {three:?}"
    );
    no_task_failed(service);
}
