//! The stack of `deploy/swarm/stack.yml` on the hosts, with two additions made to a copy of
//! the file: every member serves `/members` on port [`METRICS_PORT`] (the
//! `SWIM_METRICS_ADDR` variable), and at most [`MAX_PER_HOST`] replicas run on one host:
//! Swarm spreads the `PER_HOST × H` replicas evenly (a replaced task goes to the host with
//! the fewest, its own), and a scale-up by up to H still fits.

use std::fs;
use std::path::Path;

use crate::docker::{unique_name, CommandError};
use crate::images::repo_file;
use crate::multihost::hosts::Hosts;

/// The port of every member's `--metrics-addr`.
pub const METRICS_PORT: u16 = 9100;
/// Replicas per host.
pub const PER_HOST: usize = 2;
/// Most replicas on one host (room for a scale-up by one per host).
pub const MAX_PER_HOST: usize = PER_HOST + 1;
/// The stack's name (one stack per run: the Swarm is the run's own).
pub const STACK: &str = "mh";
/// The service every member belongs to.
pub const SERVICE: &str = "mh_swim";

/// `deploy/swarm/stack.yml` with the metrics address and the spread; an error if the file no
/// longer has the lines the additions go after.
pub fn stack_variant(original: &str) -> Result<String, CommandError> {
    let mut out = String::new();
    let mut metrics = false;
    let mut placement = false;
    for line in original.lines() {
        out.push_str(line);
        out.push('\n');
        let trimmed = line.trim();
        if trimmed.starts_with("SWIM_METADATA_DIR:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!(
                "{indent}SWIM_METRICS_ADDR: \"0.0.0.0:{METRICS_PORT}\"\n"
            ));
            metrics = true;
        }
        if trimmed == "endpoint_mode: dnsrr" {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!(
                "{indent}placement:\n{indent}  max_replicas_per_node: {MAX_PER_HOST}\n"
            ));
            placement = true;
        }
    }
    if metrics && placement {
        Ok(out)
    } else {
        Err(CommandError(
            "deploy/swarm/stack.yml: no `SWIM_METADATA_DIR:` or `endpoint_mode: dnsrr` line \
             to add the metrics address and the placement after"
                .to_owned(),
        ))
    }
}

/// Deploys the stack variant with `PER_HOST × hosts` replicas of `image` (already loaded on
/// every host); its files go to `dir`.
pub fn deploy(hosts: &Hosts, image: &str, dir: &Path) -> Result<usize, CommandError> {
    let original = fs::read_to_string(repo_file("deploy/swarm/stack.yml"))
        .map_err(|e| CommandError(format!("deploy/swarm/stack.yml: {e}")))?;
    let file = dir.join("stack.yml");
    let secret = dir.join("secret.txt");
    let role = dir.join("role.txt");
    let write = |path: &Path, text: &str| {
        fs::write(path, text).map_err(|e| CommandError(format!("{}: {e}", path.display())))
    };
    write(&file, &stack_variant(&original)?)?;
    write(&secret, &format!("{}\n", unique_name("secret")))?;
    write(&role, "member\n")?;
    let replicas = PER_HOST * hosts.hosts.len();
    let replicas_text = replicas.to_string();
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let (file, secret, role) = (path(&file), path(&secret), path(&role));
    hosts.docker_env(
        0,
        &["stack", "deploy", "-c", &file, STACK],
        &[
            ("SWIM_IMAGE", image),
            ("SWIM_REPLICAS", &replicas_text),
            ("SWIM_SECRET_SOURCE", &secret),
            ("SWIM_METADATA_SOURCE", &role),
        ],
    )?;
    Ok(replicas)
}

/// `docker service scale` to `replicas`, waiting (bounded) until Swarm has them running.
pub fn scale(hosts: &Hosts, replicas: usize) -> Result<(), CommandError> {
    let target = format!("{SERVICE}={replicas}");
    hosts.docker(0, &["service", "scale", "--detach=false", &target])?;
    Ok(())
}

/// `docker service update --force`: Swarm replaces every task under the service's
/// `update_config`; waits until the update is done, at most `within`.
pub fn rolling_update(hosts: &Hosts, within: std::time::Duration) -> Result<(), CommandError> {
    crate::docker::run_for(
        within,
        "docker",
        &["service", "update", "--force", "--detach=false", SERVICE],
        &[("DOCKER_HOST", hosts.hosts[0].socket.as_str())],
    )?;
    Ok(())
}

/// When the service's containers were sent a signal to stop (`kill` events: Swarm's stop
/// sends SIGTERM) between `since` and `until` (Unix seconds), on every host: (container id,
/// Unix time in ns).
pub fn stop_signals(hosts: &Hosts, since: f64, until: f64) -> Vec<(String, u128)> {
    let label = format!("label=com.docker.swarm.service.name={SERVICE}");
    let (since, until) = (format!("{since:.3}"), format!("{until:.3}"));
    let mut out = Vec::new();
    for host in &hosts.hosts {
        let Ok(text) = hosts.docker(
            host.index,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "type=container",
                "--filter",
                "event=kill",
                "--filter",
                &label,
                "--format",
                "{{.Actor.ID}} {{.TimeNano}}",
            ],
        ) else {
            continue;
        };
        out.extend(text.lines().filter_map(|line| {
            let (id, nanos) = line.split_once(' ')?;
            Some((id.to_owned(), nanos.trim().parse().ok()?))
        }));
    }
    out
}

/// A member's container as its host's engine lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Full container id.
    pub id: String,
    /// The host it runs on.
    pub host: usize,
    /// Its address on the host's `docker_gwbridge` (what the observer on that host reaches).
    pub gateway_ip: String,
    /// `running` or `paused`.
    pub state: String,
}

/// The service's containers on every host (running or paused), by host.
pub fn tasks(hosts: &Hosts) -> Result<Vec<Task>, CommandError> {
    let mut all = Vec::new();
    for host in &hosts.hosts {
        let label = format!("label=com.docker.swarm.service.name={SERVICE}");
        let listed = hosts.docker(
            host.index,
            &[
                "ps",
                "--no-trunc",
                "--filter",
                &label,
                "--format",
                "{{.ID}} {{.State}}",
            ],
        )?;
        if listed.trim().is_empty() {
            continue;
        }
        let gateways = hosts.docker(
            host.index,
            &[
                "network",
                "inspect",
                "docker_gwbridge",
                "-f",
                "{{range $id, $c := .Containers}}{{$id}} {{$c.IPv4Address}}\n{{end}}",
            ],
        )?;
        for line in listed.lines() {
            let mut words = line.split_whitespace();
            let (Some(id), Some(state)) = (words.next(), words.next()) else {
                continue;
            };
            let gateway = gateways.lines().find_map(|g| {
                let (gid, addr) = g.split_once(' ')?;
                (gid == id).then(|| addr.split('/').next().unwrap_or(addr).to_owned())
            });
            // A container that is starting may not have its gateway endpoint yet.
            if let Some(gateway_ip) = gateway {
                all.push(Task {
                    id: id.to_owned(),
                    host: host.index,
                    gateway_ip,
                    state: state.to_owned(),
                });
            }
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variant_adds_metrics_and_placement_to_the_real_file() {
        let original = fs::read_to_string(repo_file("deploy/swarm/stack.yml")).unwrap();
        let variant = stack_variant(&original).unwrap();
        assert!(variant.contains("      SWIM_METRICS_ADDR: \"0.0.0.0:9100\"\n"));
        assert!(variant.contains(
            "      endpoint_mode: dnsrr\n      placement:\n        max_replicas_per_node: 3\n"
        ));
        assert_eq!(
            variant.lines().count(),
            original.lines().count() + 3,
            "only the three lines are added"
        );
    }

    #[test]
    fn a_file_without_the_anchors_is_an_error() {
        assert!(stack_variant("services:\n  swim:\n    image: x\n").is_err());
    }
}
