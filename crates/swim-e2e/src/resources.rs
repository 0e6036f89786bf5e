//! Everything a test creates, removed when the test ends, passed or failed.

use std::time::{Duration, Instant};

use crate::docker::{docker, run_with_env, CommandError};

/// Longest wait for Swarm to take a stack or service down before its networks are removed.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(90);

/// The bridge Swarm mode creates for its containers' outside traffic.
const GWBRIDGE: &str = "docker_gwbridge";

/// A compose project started by a test.
#[derive(Debug)]
struct ComposeProject {
    file: String,
    project: String,
    envs: Vec<(String, String)>,
}

/// The containers, networks, services, stacks, compose projects and images a test created,
/// and whether it initialised Swarm mode; dropping it removes them all, newest kind first,
/// and leaves Swarm mode if this guard entered it. Failures to remove are printed, never
/// raised, so the test's own failure stays the one reported.
#[derive(Debug, Default)]
pub struct Resources {
    containers: Vec<String>,
    networks: Vec<String>,
    services: Vec<String>,
    stacks: Vec<String>,
    compose: Vec<ComposeProject>,
    images: Vec<String>,
    left_swarm_on_drop: bool,
    /// `docker swarm init` makes the bridge `docker_gwbridge`, which leaving keeps.
    remove_gwbridge_on_drop: bool,
}

impl Resources {
    /// Nothing yet.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// A container to remove (with its anonymous volumes).
    pub fn container(&mut self, name: &str) {
        self.containers.push(name.to_owned());
    }

    /// A network to remove.
    pub fn network(&mut self, name: &str) {
        self.networks.push(name.to_owned());
    }

    /// A Swarm service to remove.
    pub fn service(&mut self, name: &str) {
        self.services.push(name.to_owned());
    }

    /// A stack to remove (`docker stack rm`, then its leftovers).
    pub fn stack(&mut self, name: &str) {
        self.stacks.push(name.to_owned());
    }

    /// A compose project to take down (`docker-compose down -v`) with the same file and
    /// variables it was started with.
    pub fn compose_project(&mut self, file: &str, project: &str, envs: &[(&str, &str)]) {
        self.compose.push(ComposeProject {
            file: file.to_owned(),
            project: project.to_owned(),
            envs: envs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        });
    }

    /// An image (tag) to remove.
    pub fn image(&mut self, tag: &str) {
        self.images.push(tag.to_owned());
    }

    /// Makes sure this node is a Swarm manager: `docker swarm init` if Swarm mode is
    /// inactive, remembered so that the drop leaves it again.
    pub fn swarm(&mut self) -> Result<(), CommandError> {
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"])?;
        match state.as_str() {
            "active" => Ok(()),
            "inactive" => {
                let name_filter = format!("name=^{GWBRIDGE}$");
                self.remove_gwbridge_on_drop =
                    list(&["network", "ls", "-q", "--filter", &name_filter]).is_empty();
                // Loopback: a one-node swarm needs no other address, and none is exposed.
                docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"])?;
                self.left_swarm_on_drop = true;
                Ok(())
            }
            other => Err(CommandError(format!("Swarm mode is {other:?}"))),
        }
    }

    fn teardown(&mut self) {
        for project in self.compose.drain(..).rev() {
            let envs: Vec<(&str, &str)> = project
                .envs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let args = [
                "-f",
                &project.file,
                "-p",
                &project.project,
                "down",
                "-v",
                "--remove-orphans",
                "--timeout",
                "5",
            ];
            report(run_with_env("docker-compose", &args, &envs));
        }
        for stack in self.stacks.drain(..).rev() {
            report(docker(&["stack", "rm", &stack]));
            let label = format!("label=com.docker.stack.namespace={stack}");
            wait_gone(&["ps", "-aq", "--filter", &label]);
            // Networks of a removed stack go after its tasks; remove any straggler.
            for network in list(&["network", "ls", "-q", "--filter", &label]) {
                report(docker(&["network", "rm", &network]));
            }
        }
        for service in self.services.drain(..).rev() {
            report(docker(&["service", "rm", &service]));
            let label = format!("label=com.docker.swarm.service.name={service}");
            wait_gone(&["ps", "-aq", "--filter", &label]);
        }
        if !self.containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(self.containers.iter().map(String::as_str));
            report(docker(&args));
            self.containers.clear();
        }
        for network in self.networks.drain(..).rev() {
            report(docker(&["network", "rm", &network]));
        }
        if !self.images.is_empty() {
            let mut args = vec!["image", "rm", "-f"];
            args.extend(self.images.iter().map(String::as_str));
            report(docker(&args).map(|_| ()));
            self.images.clear();
        }
        if std::mem::take(&mut self.left_swarm_on_drop) {
            report(docker(&["swarm", "leave", "--force"]));
        }
        if std::mem::take(&mut self.remove_gwbridge_on_drop) {
            // Its last endpoint goes a moment after the node has left.
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut removed = docker(&["network", "rm", GWBRIDGE]);
            while removed.is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(500));
                removed = docker(&["network", "rm", GWBRIDGE]);
            }
            report(removed);
        }
    }
}

impl Drop for Resources {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn report<T>(result: Result<T, CommandError>) {
    if let Err(err) = result {
        eprintln!("cleanup: {err}");
    }
}

fn list(args: &[&str]) -> Vec<String> {
    docker(args)
        .map(|out| out.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Waits (bounded) until `docker args` lists nothing.
fn wait_gone(args: &[&str]) {
    let deadline = Instant::now() + TEARDOWN_TIMEOUT;
    while !list(args).is_empty() {
        if Instant::now() > deadline {
            eprintln!(
                "cleanup: still present after {TEARDOWN_TIMEOUT:?}: docker {}",
                args.join(" ")
            );
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
