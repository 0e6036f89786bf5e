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

#[test]
fn a_stack_forms_one_cluster_and_survives_a_rolling_restart() {
    if !require_docker("a_stack_forms_one_cluster_and_survives_a_rolling_restart") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let dir = tempfile::tempdir().unwrap();
    let image = build_ours(&mut resources).expect("image");
    let started = Instant::now();
    let service = deploy_stack(&mut resources, &image, 5, dir.path()).expect("stack deploy");
    let list = || service_tasks(&service);
    let tasks = wait_deployed(
        list,
        5,
        started,
        "stack deploy -> 5 replicas joined",
        JOIN_TIMEOUT,
    );
    no_task_failed(&service);

    let before: Vec<String> = tasks;
    let started = Instant::now();
    docker(&["service", "update", "--detach", "--force", &service]).unwrap();
    wait_for(
        "the rolling update completes",
        UPDATE_TIMEOUT,
        || {
            let state = docker(&[
                "service",
                "inspect",
                "-f",
                "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                &service,
            ])
            .map_err(|e| e.to_string())?;
            match state.as_str() {
                "completed" => Ok(Some(())),
                "paused" | "rollback_completed" => Err(format!("the update stopped: {state}")),
                _ => Ok(None),
            }
        },
        || docker(&["service", "ps", &service]).unwrap_or_default(),
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
    no_task_failed(&service);
}

#[test]
fn a_stack_scales_from_5_to_20_and_back_to_5() {
    if !require_docker("a_stack_scales_from_5_to_20_and_back_to_5") {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let dir = tempfile::tempdir().unwrap();
    let image = build_ours(&mut resources).expect("image");
    let service = deploy_stack(&mut resources, &image, 5, dir.path()).expect("stack deploy");
    let list = || service_tasks(&service);
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
    no_task_failed(&service);
}
