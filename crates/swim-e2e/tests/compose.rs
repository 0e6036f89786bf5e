//! The compose file `deploy/compose/docker-compose.yml` with docker-compose 1.29, started as
//! the README says: 5 containers find each other through the service name, read the secret
//! from a file secret and the metadata from a mounted directory, and pass their health check.

use std::time::{Duration, Instant};

use swim_e2e::deployment::{compose_containers, compose_scale, compose_up, wait_deployed};
use swim_e2e::docker::{one_at_a_time, require_docker, run_with_env};
use swim_e2e::images::build_ours;
use swim_e2e::resources::Resources;

const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether the compose tests can run (Docker and docker-compose), failing without them if
/// `SWIM_REQUIRE_DOCKER=1`.
fn require_compose(test: &str) -> bool {
    if !require_docker(test) {
        return false;
    }
    if run_with_env("docker-compose", &["version"], &[]).is_err() {
        if std::env::var("SWIM_REQUIRE_DOCKER").is_ok_and(|v| v == "1") {
            panic!("docker-compose is missing, and SWIM_REQUIRE_DOCKER=1");
        }
        eprintln!("notice: {test} skipped: no docker-compose");
        return false;
    }
    true
}

/// A compose project of the image, up with `replicas`; cleaned up when dropped (fields
/// drop in order: the resources, then the directory, then the turn).
struct Up {
    _resources: Resources,
    dir: tempfile::TempDir,
    image: String,
    project: String,
    started: Instant,
    _turn: swim_e2e::docker::Turn,
}

impl Up {
    fn new(replicas: usize) -> Up {
        let turn = one_at_a_time();
        let mut resources = Resources::new();
        let dir = tempfile::tempdir().unwrap();
        let image = build_ours(&mut resources).expect("image");
        let started = Instant::now();
        let project = compose_up(&mut resources, &image, replicas, dir.path()).expect("compose up");
        Up {
            _resources: resources,
            dir,
            image,
            project,
            started,
            _turn: turn,
        }
    }
}

/// Checks that Docker never restarted any of `containers` (`restart: on-failure`: a member
/// that exited shows here).
fn assert_never_restarted(containers: &[String]) {
    let mut args = vec!["inspect", "-f", "{{.RestartCount}}"];
    args.extend(containers.iter().map(String::as_str));
    let restarts = swim_e2e::docker::docker(&args).unwrap();
    assert!(restarts.lines().all(|n| n == "0"), "restarted: {restarts}");
}

#[test]
fn the_compose_file_runs_a_five_member_cluster() {
    if !require_compose("the_compose_file_runs_a_five_member_cluster") {
        return;
    }
    let up = Up::new(5);
    let (project, started) = (&up.project, up.started);
    let list = || compose_containers(project);
    let containers = wait_deployed(
        list,
        5,
        started,
        "docker-compose up -> 5 members joined",
        JOIN_TIMEOUT,
    );
    assert_never_restarted(&containers);
}

/// A service of one replica starts (discovery finds only itself) and is healthy; replicas
/// added later find it through the service name, and it finds them (it looks the name up
/// again while alone).
#[test]
fn one_replica_starts_alone_and_later_replicas_find_it() {
    if !require_compose("one_replica_starts_alone_and_later_replicas_find_it") {
        return;
    }
    let up = Up::new(1);
    let (project, started) = (&up.project, up.started);
    let list = || compose_containers(project);
    let alone = wait_deployed(
        list,
        1,
        started,
        "compose: one replica alone -> healthy",
        JOIN_TIMEOUT,
    );
    let started = Instant::now();
    compose_scale(project, &up.image, 3, up.dir.path()).expect("compose scale");
    let three = wait_deployed(
        list,
        3,
        started,
        "compose: scale 1 -> 3: all 3 see each other",
        JOIN_TIMEOUT,
    );
    assert!(
        three.contains(&alone[0]),
        "the first replica stayed up: {alone:?} -> {three:?}"
    );
    assert_never_restarted(&three);
}
