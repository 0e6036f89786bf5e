//! The stack of `deploy/swarm/stack.yml` and the project of
//! `deploy/compose/docker-compose.yml`, deployed as written, with the test's image, secret and
//! metadata passed through the files' variables.

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::cluster::locals;
use crate::docker::{docker, run_with_env, unique_name, CommandError};
use crate::images::repo_file;
use crate::poll::wait_for;
use crate::resources::Resources;
use crate::view::{all_see_exactly, describe, read_views};

/// The metadata every member of the test stacks is given (the `role` file).
pub const ROLE: &str = "member";

/// Writes the secret and metadata files the deployment files read into `dir`; returns the
/// variables that point them there, with the image.
fn deployment_env(dir: &Path, image: &str) -> Vec<(String, String)> {
    let secret = dir.join("secret.txt");
    // Kept once written: a later deployment in `dir` (a scale-up) joins the same cluster.
    if !secret.exists() {
        fs::write(&secret, format!("{}\n", unique_name("secret"))).expect("secret file");
    }
    let role = dir.join("metadata/role");
    fs::create_dir_all(role.parent().unwrap()).expect("metadata dir");
    fs::write(&role, format!("{ROLE}\n")).expect("metadata file");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    vec![
        ("SWIM_IMAGE".to_owned(), image.to_owned()),
        ("SWIM_SECRET_SOURCE".to_owned(), path(&secret)),
        ("SWIM_METADATA_SOURCE".to_owned(), path(&role)),
    ]
}

fn as_pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Deploys `deploy/swarm/stack.yml` with `replicas` replicas (entering Swarm mode if
/// needed); returns the service's name.
pub fn deploy_stack(
    resources: &mut Resources,
    image: &str,
    replicas: usize,
    dir: &Path,
) -> Result<String, CommandError> {
    resources.swarm()?;
    let mut env = deployment_env(dir, image);
    env.push(("SWIM_REPLICAS".to_owned(), replicas.to_string()));
    let stack = unique_name("st");
    resources.stack(&stack);
    let file = repo_file("deploy/swarm/stack.yml");
    run_with_env(
        "docker",
        &["stack", "deploy", "-c", &file, &stack],
        &as_pairs(&env),
    )?;
    Ok(format!("{stack}_swim"))
}

/// Starts `deploy/compose/docker-compose.yml` scaled to `replicas`; returns the project.
pub fn compose_up(
    resources: &mut Resources,
    image: &str,
    replicas: usize,
    dir: &Path,
) -> Result<String, CommandError> {
    let project = unique_name("cp").replace('-', "");
    let file = repo_file("deploy/compose/docker-compose.yml");
    let env = compose_env(dir, image);
    resources.compose_project(&file, &project, &as_pairs(&env));
    compose_scale(&project, image, replicas, dir)?;
    Ok(project)
}

fn compose_env(dir: &Path, image: &str) -> Vec<(String, String)> {
    let mut env = deployment_env(dir, image);
    // The compose file mounts a metadata directory.
    env[2].1 = dir.join("metadata").to_string_lossy().into_owned();
    env
}

/// Scales the project started by [`compose_up`] (same `image` and `dir`) to `replicas`.
pub fn compose_scale(
    project: &str,
    image: &str,
    replicas: usize,
    dir: &Path,
) -> Result<(), CommandError> {
    let env = compose_env(dir, image);
    let file = repo_file("deploy/compose/docker-compose.yml");
    let scale = format!("swim={replicas}");
    run_with_env(
        "docker-compose",
        &["-f", &file, "-p", project, "up", "-d", "--scale", &scale],
        &as_pairs(&env),
    )?;
    Ok(())
}

/// The running containers with `label` (`KEY=VALUE`), sorted.
pub fn running_with_label(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let mut names: Vec<String> = docker(&[
        "ps",
        "--filter",
        &filter,
        "--filter",
        "status=running",
        "--format",
        "{{.Names}}",
    ])
    .map(|out| out.lines().map(str::to_owned).collect())
    .unwrap_or_default();
    names.sort();
    names
}

/// The running task containers of a Swarm service.
pub fn service_tasks(service: &str) -> Vec<String> {
    running_with_label(&format!("com.docker.swarm.service.name={service}"))
}

/// The running containers of a compose project's `swim` service.
pub fn compose_containers(project: &str) -> Vec<String> {
    running_with_label(&format!("com.docker.compose.project={project}"))
}

/// Waits until `list()` gives exactly `count` containers and each of their members sees
/// exactly the others ONLINE; returns the containers and the time it took.
pub fn wait_converged(
    list: impl Fn() -> Vec<String>,
    count: usize,
    what: &str,
    timeout: Duration,
) -> Result<(Vec<String>, Duration), String> {
    wait_for(
        what,
        timeout,
        || {
            let containers = list();
            if containers.len() != count {
                return Ok(None);
            }
            let views = read_views(&containers)?;
            let live = locals(&views);
            Ok((live.len() == count && all_see_exactly(&views, &live)).then_some(containers))
        },
        || describe(&list()),
    )
}

/// The errors Swarm recorded for the service's tasks (a task that exited non-zero has one).
pub fn task_errors(service: &str) -> Vec<String> {
    docker(&[
        "service",
        "ps",
        "--no-trunc",
        "--format",
        "{{.Name}} {{.Error}}",
        service,
    ])
    .map(|out| {
        out.lines()
            .filter(|line| {
                line.split_once(' ')
                    .is_some_and(|(_, e)| !e.trim().is_empty())
            })
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Waits until every container's health check reports `healthy`.
pub fn wait_healthy(containers: &[String], timeout: Duration) -> Result<Duration, String> {
    let (_, took) = wait_for(
        "every container is healthy",
        timeout,
        || {
            let mut args = vec!["inspect", "-f", "{{.State.Health.Status}}"];
            args.extend(containers.iter().map(String::as_str));
            let out = docker(&args).map_err(|e| e.to_string())?;
            Ok(out.lines().all(|s| s == "healthy").then_some(()))
        },
        || describe(containers),
    )?;
    Ok(took)
}

/// Waits until every member has every other's `role` file with [`ROLE`] in it.
pub fn wait_metadata(containers: &[String], timeout: Duration) -> Result<Duration, String> {
    let (_, took) = wait_for(
        "every member has every other's metadata",
        timeout,
        || {
            let views = read_views(containers)?;
            let names = locals(&views);
            let complete = containers.iter().all(|c| {
                names.iter().all(|member| {
                    crate::view::read_mirrored(c, member, "role").as_deref() == Some(ROLE)
                })
            });
            Ok(complete.then_some(()))
        },
        || describe(containers),
    )?;
    Ok(took)
}

/// The first check of every deployment: `count` containers from `list()` see each other
/// ONLINE (the time since `started` is printed as `figure`), have each other's metadata and
/// pass their health check; returns the containers.
pub fn wait_deployed(
    list: impl Fn() -> Vec<String>,
    count: usize,
    started: std::time::Instant,
    figure: &str,
    timeout: Duration,
) -> Vec<String> {
    let what = format!("{count} members see each other ONLINE");
    let (containers, _) =
        wait_converged(list, count, &what, timeout).unwrap_or_else(|e| panic!("{e}"));
    crate::poll::figure(figure, started.elapsed());
    wait_metadata(&containers, timeout).unwrap_or_else(|e| panic!("{e}"));
    wait_healthy(&containers, timeout).unwrap_or_else(|e| panic!("{e}"));
    containers
}
