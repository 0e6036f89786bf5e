//! Members as plain containers (`docker run`) on a user-defined bridge network, where the
//! test can cut one off (`docker network disconnect`) and put it back at its address.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use crate::docker::{docker, run_with_env, unique_name, CommandError};
use crate::resources::Resources;

/// A bridge network whose containers share one DNS alias: the name discovery resolves.
#[derive(Debug, Clone)]
pub struct Network {
    /// The network's name.
    pub name: String,
    /// The alias every member container gets: `ALIAS` resolves to all of them.
    pub alias: String,
    /// The subnet's first address; members get fixed addresses from its 10th on.
    base: Ipv4Addr,
    /// How many members were given an address.
    assigned: Cell<u32>,
}

/// A member container and its address on the network.
#[derive(Debug, Clone)]
pub struct Member {
    /// The container's name.
    pub container: String,
    /// Its IP address on the network.
    pub ip: String,
}

/// Creates a network with a fixed subnet, so that a disconnected container can be
/// reconnected at its old address (`--ip` needs a subnet given at creation). The subnet is
/// one Docker chose for a throw-away network just before, so it clashes with nothing.
pub fn create_network(resources: &mut Resources, label: &str) -> Result<Network, CommandError> {
    create(resources, label, &[])
}

/// [`create_network`] with IPv6 as well, on a unique local (`fd00::/8`) /64 picked at
/// random: every container gets an A and an AAAA record. (This engine, Docker 20.10, cannot
/// make an IPv6-only network: it always adds an IPv4 subnet.)
pub fn create_dual_stack_network(
    resources: &mut Resources,
    label: &str,
) -> Result<Network, CommandError> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    let subnet = format!(
        "fd{:02x}:{:04x}:{:04x}:1::/64",
        seed >> 24,
        (seed >> 8) & 0xffff,
        seed.wrapping_mul(2_654_435_761) & 0xffff
    );
    create(resources, label, &["--ipv6", "--subnet", &subnet])
}

fn create(resources: &mut Resources, label: &str, extra: &[&str]) -> Result<Network, CommandError> {
    let probe = unique_name(&format!("{label}-probe"));
    docker(&["network", "create", &probe])?;
    let subnet = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}}",
        &probe,
    ]);
    if docker(&["network", "rm", &probe]).is_err() {
        resources.network(&probe);
    }
    let subnet = subnet?;
    let base = subnet
        .split_once('/')
        .and_then(|(ip, _)| ip.parse::<Ipv4Addr>().ok())
        .ok_or_else(|| CommandError(format!("not an IPv4 subnet: {subnet:?}")))?;
    let name = unique_name(label);
    let mut args = vec!["network", "create", "--subnet", &subnet];
    args.extend(extra);
    args.push(&name);
    docker(&args)?;
    resources.network(&name);
    Ok(Network {
        alias: format!("{name}-swim"),
        name,
        base,
        assigned: Cell::new(0),
    })
}

impl Network {
    /// Starts a member container from `image` with the network's alias and the given
    /// arguments after the image (the member's command line), registered for removal.
    pub fn run(
        &self,
        resources: &mut Resources,
        image: &str,
        label: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Result<Member, CommandError> {
        self.run_with(resources, image, label, env, &[], args)
    }

    /// [`Network::run`] with more `docker run` options (`options`, before the image), e.g.
    /// another entry point.
    pub fn run_with(
        &self,
        resources: &mut Resources,
        image: &str,
        label: &str,
        env: &[(&str, &str)],
        options: &[&str],
        args: &[&str],
    ) -> Result<Member, CommandError> {
        let container = unique_name(label);
        // A fixed address: the member's name is its address, and a reconnected member
        // must come back under the same one.
        let n = self.assigned.get();
        self.assigned.set(n + 1);
        let ip = Ipv4Addr::from(u32::from(self.base) + 10 + n).to_string();
        let mut command = vec![
            "run",
            "-d",
            "--name",
            &container,
            "--network",
            &self.name,
            "--network-alias",
            &self.alias,
            "--ip",
            &ip,
        ];
        let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        for pair in &env {
            command.extend(["-e", pair]);
        }
        command.extend(options);
        command.push(image);
        command.extend(args);
        resources.container(&container);
        docker(&command)?;
        Ok(Member { container, ip })
    }

    /// Cuts the member off the network: it keeps running with no way to reach anyone.
    pub fn disconnect(&self, member: &Member) -> Result<(), CommandError> {
        docker(&["network", "disconnect", &self.name, &member.container]).map(drop)
    }

    /// Puts the member back, at its old address and with its alias.
    pub fn reconnect(&self, member: &Member) -> Result<(), CommandError> {
        docker(&[
            "network",
            "connect",
            "--ip",
            &member.ip,
            "--alias",
            &self.alias,
            &self.name,
            &member.container,
        ])
        .map(drop)
    }
}

/// The host's process id of the container's first process (it names the container's
/// namespaces for `nsenter`).
fn pid_of(container: &str) -> Result<String, CommandError> {
    docker(&["inspect", "-f", "{{.State.Pid}}", container])
}

/// `ip ARGS` run in the network namespace of `container`, from the host (`nsenter`, as
/// root): the container's own user could not change its addresses.
pub fn ip_in(container: &str, args: &[&str]) -> Result<String, CommandError> {
    let pid = pid_of(container)?;
    let mut command = vec!["-t", &pid, "-n", "ip"];
    command.extend(args);
    run_with_env("nsenter", &command, &[])
}

/// Takes every IPv4 address off the container's `eth0` (and with them its IPv4 routes), so
/// that it can only reach the network over IPv6; checks that none is left. Loopback keeps
/// 127.0.0.1, through which Docker's DNS server (127.0.0.11) answers inside the container.
pub fn remove_ipv4(container: &str) -> Result<(), CommandError> {
    ip_in(container, &["-4", "addr", "flush", "dev", "eth0"])?;
    let (addresses, routes) = ipv4_left(container)?;
    if addresses.is_empty() && routes.is_empty() {
        Ok(())
    } else {
        Err(CommandError(format!(
            "{container}: IPv4 left after the flush: {addresses:?} {routes:?}"
        )))
    }
}

/// The IPv4 addresses of the container's `eth0` and its IPv4 routes (not loopback's), as
/// `ip` prints them: both empty on an IPv6-only container.
pub fn ipv4_left(container: &str) -> Result<(String, String), CommandError> {
    let addresses = ip_in(container, &["-4", "-o", "addr", "show", "dev", "eth0"])?;
    let routes = ip_in(container, &["-4", "route", "show"])?;
    Ok((addresses, routes))
}

/// How often Docker restarted the container, and whether it is running: a member that
/// exited on a transient start error shows here.
pub fn restarts_and_running(container: &str) -> Result<(u32, bool), CommandError> {
    let out = docker(&[
        "inspect",
        "-f",
        "{{.RestartCount}} {{.State.Running}}",
        container,
    ])?;
    let (count, running) = out.split_once(' ').unwrap_or((&out, "false"));
    Ok((count.parse().unwrap_or(u32::MAX), running == "true"))
}

/// The member names `IP:PORT` of `members`.
pub fn names(members: &[&Member], port: u16) -> BTreeSet<String> {
    members.iter().map(|m| format!("{}:{port}", m.ip)).collect()
}
