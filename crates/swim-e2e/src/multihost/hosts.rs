//! H "hosts" on this machine: each a Docker engine (`dockerd`) in its own network namespace,
//! with its own data and exec roots, the namespaces joined by a bridge, the engines joined into
//! one Swarm (the first host is its only manager).
//!
//! Everything carries the name `swmhPID` (PID: this process): the namespaces `swmhPID-hI`,
//! the bridge `swmhPIDb`, the host ends of the links `swmhPIDhI`, the directory
//! `/tmp/swmh/PID`, and one `DOCKER-USER` rule (`-i swmhPIDb -o swmhPIDb -j ACCEPT`, which
//! lets the bridged traffic past the `FORWARD` policy Docker sets). [`Hosts`] removes them
//! all when dropped (also on a panic); [`Hosts::start`] first removes what an earlier run
//! whose process is gone left behind, and refuses to start if it cannot.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::docker::{run_for, run_with_env, CommandError};

/// Where every run keeps its engines' files: short, as a Unix socket path must be.
pub const ROOT: &str = "/tmp/swmh";
/// What every name the harness gives starts with.
pub const PREFIX: &str = "swmh";
/// The bridge's subnet: `192.168.250.0/24`, host `i` at `.i+1` (the namespaces are isolated,
/// so two runs can use the same subnet).
const SUBNET: [u8; 3] = [192, 168, 250];
/// Longest wait for an engine to answer after its start.
const ENGINE_START: Duration = Duration::from_secs(90);
/// Longest wait for an engine to stop after SIGTERM (it stops its containers first).
const ENGINE_STOP: Duration = Duration::from_secs(40);
/// Most hosts.
pub const MAX_HOSTS: usize = 5;

/// One simulated host: a network namespace with a link to the bridge and an engine.
#[derive(Debug)]
pub struct Host {
    /// Index, from 0 (the Swarm manager).
    pub index: usize,
    /// The network namespace's name (`ip netns`).
    pub netns: String,
    /// The host's address on the bridge (its `eth0`).
    pub ip: Ipv4Addr,
    /// The engine's directory (data root, exec root, socket, log).
    pub dir: PathBuf,
    /// `unix://…` socket of the engine.
    pub socket: String,
    engine: Option<Child>,
}

impl Host {
    /// The network namespace's file, for `nsenter --net=` and `setns`.
    pub fn netns_path(&self) -> PathBuf {
        Path::new("/var/run/netns").join(&self.netns)
    }
}

/// The running hosts; dropping it tears everything down.
#[derive(Debug)]
pub struct Hosts {
    /// The hosts, in order.
    pub hosts: Vec<Host>,
    tag: String,
    bridge: String,
    dir: PathBuf,
    forward_rule: bool,
    torn_down: bool,
}

fn io_err(what: &str, e: std::io::Error) -> CommandError {
    CommandError(format!("{what}: {e}"))
}

/// Runs a command (through [`run_for`], bounded) and returns its output.
fn sh(program: &str, args: &[&str]) -> Result<String, CommandError> {
    run_for(Duration::from_secs(60), program, args, &[])
}

/// `iptables` with the arguments, in the network namespace at `netns_path`.
pub fn iptables_in(netns_path: &Path, args: &[&str]) -> Result<String, CommandError> {
    let net = format!("--net={}", netns_path.display());
    let mut full = vec![net.as_str(), "iptables", "-w", "10"];
    full.extend_from_slice(args);
    sh("nsenter", &full)
}

/// `tc` with the arguments, in the network namespace at `netns_path`.
pub fn tc_in(netns_path: &Path, args: &[&str]) -> Result<String, CommandError> {
    let net = format!("--net={}", netns_path.display());
    let mut full = vec![net.as_str(), "tc"];
    full.extend_from_slice(args);
    sh("nsenter", &full)
}

/// Whether this machine can run the harness: root, `ip`, `nsenter`, `iptables`, `dockerd`.
/// `Err` says what is missing.
pub fn check_prerequisites() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not root (network namespaces and engines need it)".to_owned());
    }
    for tool in ["ip", "nsenter", "iptables", "dockerd", "tc"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
        if !found {
            return Err(format!("`{tool}` is not on PATH"));
        }
    }
    Ok(())
}

impl Hosts {
    /// Starts `count` hosts (1..=[`MAX_HOSTS`]) joined into one Swarm. Leftovers of earlier
    /// runs whose process is gone are removed first; anything of ours that cannot be removed,
    /// or that belongs to a live process, is an error.
    pub fn start(count: usize) -> Result<Hosts, CommandError> {
        if count == 0 || count > MAX_HOSTS {
            return Err(CommandError(format!(
                "hosts: {count} asked, 1 to {MAX_HOSTS} supported"
            )));
        }
        check_prerequisites().map_err(CommandError)?;
        clean_leftovers()?;
        let pid = std::process::id();
        let tag = format!("{PREFIX}{pid}");
        let dir = Path::new(ROOT).join(pid.to_string());
        let mut hosts = Hosts {
            hosts: Vec::new(),
            bridge: format!("{tag}b"),
            tag,
            dir,
            forward_rule: false,
            torn_down: false,
        };
        // From here on, a failure drops `hosts`, which removes what was made so far.
        hosts.build(count)?;
        Ok(hosts)
    }

    fn build(&mut self, count: usize) -> Result<(), CommandError> {
        fs::create_dir_all(&self.dir).map_err(|e| io_err("hosts dir", e))?;
        let empty = self.dir.join("empty.json");
        fs::write(&empty, "{}\n").map_err(|e| io_err("engine config", e))?;
        sh("ip", &["link", "add", &self.bridge, "type", "bridge"])?;
        sh("ip", &["link", "set", &self.bridge, "up"])?;
        let rule = ["-i", &self.bridge, "-o", &self.bridge, "-j", "ACCEPT"];
        let mut insert = vec!["-w", "10", "-I", "DOCKER-USER"];
        insert.extend_from_slice(&rule);
        sh("iptables", &insert)?;
        self.forward_rule = true;
        for index in 0..count {
            let host = self.add_host(index, &empty)?;
            self.hosts.push(host);
        }
        for host in &self.hosts {
            wait_engine(host)?;
        }
        self.form_swarm()
    }

    fn add_host(&self, index: usize, empty_config: &Path) -> Result<Host, CommandError> {
        let netns = netns_name(&self.tag, index);
        let link = veth_name(&self.tag, index);
        let peer = format!("{link}p");
        let octet = u8::try_from(index + 1).expect("at most MAX_HOSTS");
        let ip = Ipv4Addr::new(SUBNET[0], SUBNET[1], SUBNET[2], octet);
        sh("ip", &["netns", "add", &netns])?;
        sh(
            "ip",
            &["link", "add", &link, "type", "veth", "peer", "name", &peer],
        )?;
        sh("ip", &["link", "set", &peer, "netns", &netns])?;
        sh("ip", &["link", "set", &link, "master", &self.bridge, "up"])?;
        let in_ns = |args: &[&str]| {
            let mut full = vec!["-n", netns.as_str()];
            full.extend_from_slice(args);
            sh("ip", &full)
        };
        in_ns(&["link", "set", &peer, "name", "eth0"])?;
        in_ns(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"])?;
        in_ns(&["link", "set", "eth0", "up"])?;
        in_ns(&["link", "set", "lo", "up"])?;

        let dir = self.dir.join(format!("h{index}"));
        fs::create_dir_all(&dir).map_err(|e| io_err("engine dir", e))?;
        let socket = format!("unix://{}", dir.join("docker.sock").display());
        let log = fs::File::create(dir.join("dockerd.log")).map_err(|e| io_err("engine log", e))?;
        let log2 = log.try_clone().map_err(|e| io_err("engine log", e))?;
        let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
        // `nsenter --net` only: `ip netns exec` would also remount /sys, and the engine then
        // finds no cgroups. `vfs`: the storage driver that works on any file system.
        let engine = Command::new("nsenter")
            .arg(format!("--net=/var/run/netns/{netns}"))
            .arg("dockerd")
            .args(["--config-file", &empty_config.to_string_lossy()])
            .args(["--data-root", &path("data")])
            .args(["--exec-root", &path("exec")])
            .args(["--pidfile", &path("docker.pid")])
            .args(["-H", &socket])
            .args(["--storage-driver", "vfs"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| io_err("nsenter dockerd", e))?;
        Ok(Host {
            index,
            netns,
            ip,
            dir,
            socket,
            engine: Some(engine),
        })
    }

    fn form_swarm(&self) -> Result<(), CommandError> {
        let manager = &self.hosts[0];
        let addr = manager.ip.to_string();
        self.docker(
            0,
            &[
                "swarm",
                "init",
                "--advertise-addr",
                &addr,
                "--listen-addr",
                &format!("{addr}:2377"),
            ],
        )?;
        let token = self.docker(0, &["swarm", "join-token", "-q", "worker"])?;
        for host in &self.hosts[1..] {
            let ip = host.ip.to_string();
            self.docker(
                host.index,
                &[
                    "swarm",
                    "join",
                    "--token",
                    &token,
                    "--advertise-addr",
                    &ip,
                    "--listen-addr",
                    &format!("{ip}:2377"),
                    &format!("{addr}:2377"),
                ],
            )?;
        }
        let deadline = Instant::now() + ENGINE_START;
        loop {
            let states = self.docker(0, &["node", "ls", "--format", "{{.Status}}"])?;
            let ready = states.lines().filter(|s| *s == "Ready").count();
            if ready == self.hosts.len() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(CommandError(format!(
                    "swarm: {ready} of {} nodes Ready after {ENGINE_START:?}",
                    self.hosts.len()
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `docker args…` against host `index`'s engine.
    pub fn docker(&self, index: usize, args: &[&str]) -> Result<String, CommandError> {
        run_with_env(
            "docker",
            args,
            &[("DOCKER_HOST", self.hosts[index].socket.as_str())],
        )
    }

    /// `docker args…` against host `index`'s engine, with more environment variables.
    pub fn docker_env(
        &self,
        index: usize,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<String, CommandError> {
        let mut all = vec![("DOCKER_HOST", self.hosts[index].socket.as_str())];
        all.extend_from_slice(envs);
        run_with_env("docker", args, &all)
    }

    /// Copies `image` from the machine's own engine into every host's engine.
    pub fn load_image(&self, image: &str) -> Result<(), CommandError> {
        for host in &self.hosts {
            let script = format!("docker save {image} | docker -H {} load", host.socket);
            run_for(Duration::from_secs(300), "sh", &["-c", &script], &[])?;
        }
        Ok(())
    }

    /// The tag every name of this run starts with (`swmhPID`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Removes everything; failures are printed. Runs once (drop calls it too).
    pub fn teardown(&mut self) {
        if std::mem::replace(&mut self.torn_down, true) {
            return;
        }
        // Workers leave first, then the manager: the engines then remove the overlay
        // networks and `docker_gwbridge`'s endpoints themselves.
        for host in self.hosts.iter().rev() {
            let left = self.docker(host.index, &["swarm", "leave", "--force"]);
            report(left);
        }
        for host in &mut self.hosts {
            if let Some(engine) = host.engine.take() {
                stop_engine(engine, &host.dir);
            }
        }
        for host in &self.hosts {
            remove_veth(&self.tag, host.index);
            report(sh("ip", &["netns", "del", &host.netns]));
        }
        if std::mem::take(&mut self.forward_rule) {
            report(sh(
                "iptables",
                &[
                    "-w",
                    "10",
                    "-D",
                    "DOCKER-USER",
                    "-i",
                    &self.bridge,
                    "-o",
                    &self.bridge,
                    "-j",
                    "ACCEPT",
                ],
            ));
        }
        if link_exists(&self.bridge) {
            report(sh("ip", &["link", "del", &self.bridge]));
        }
        unmount_under(&self.dir);
        if self.dir.exists() {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                eprintln!("cleanup: {}: {e}", self.dir.display());
            }
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn report<T>(result: Result<T, CommandError>) {
    if let Err(err) = result {
        eprintln!("cleanup: {err}");
    }
}

fn wait_engine(host: &Host) -> Result<(), CommandError> {
    let deadline = Instant::now() + ENGINE_START;
    loop {
        let info = run_for(
            Duration::from_secs(10),
            "docker",
            &["-H", &host.socket, "info", "--format", "{{.ServerVersion}}"],
            &[],
        );
        if info.is_ok_and(|v| !v.is_empty()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let log = fs::read_to_string(host.dir.join("dockerd.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            return Err(CommandError(format!(
                "engine of host {} did not answer within {ENGINE_START:?}; its log ends:\n{}",
                host.index,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// SIGTERM (the engine stops its containers and unmounts), then SIGKILL after [`ENGINE_STOP`].
fn stop_engine(mut engine: Child, dir: &Path) {
    if let Ok(pid) = i32::try_from(engine.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let deadline = Instant::now() + ENGINE_STOP;
    loop {
        match engine.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                eprintln!(
                    "cleanup: engine in {} still running after {ENGINE_STOP:?}: killed",
                    dir.display()
                );
                let _ = engine.kill();
                let _ = engine.wait();
                break;
            }
        }
    }
    // The engine's containerd and the containers' shims go with it; wait for any straggler
    // that still names this directory.
    let deadline = Instant::now() + ENGINE_STOP;
    while !processes_naming(dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    for pid in processes_naming(dir) {
        eprintln!(
            "cleanup: process {pid} still names {}: killed",
            dir.display()
        );
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Processes whose command line mentions `dir` (an engine, its containerd, shims).
fn processes_naming(dir: &Path) -> Vec<i32> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                String::from_utf8_lossy(&cmd)
                    .split('\0')
                    .any(|arg| arg.contains(&needle))
            })
        })
        .collect()
}

/// Unmounts every mount point under `dir`, deepest first (lazily: a busy one goes once free).
fn unmount_under(dir: &Path) {
    let prefix = dir.to_string_lossy().into_owned();
    let mut points: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(str::to_owned))
        .filter(|p| p.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        report(sh("umount", &["-l", &point]));
    }
}

/// Deletes host `index`'s veth pair by its end on the bridge. Deleting the namespace would
/// take the pair with it, but the kernel destroys a namespace later, in the background: the
/// end on the bridge could still be listed when the run checks what it left behind.
fn remove_veth(tag: &str, index: usize) {
    let link = veth_name(tag, index);
    if link_exists(&link) {
        report(sh("ip", &["link", "del", &link]));
    }
}

/// Host `index`'s network namespace in the run tagged `tag`.
fn netns_name(tag: &str, index: usize) -> String {
    format!("{tag}-h{index}")
}

/// The end on the bridge of host `index`'s veth pair (its peer inside the host is this
/// name with `p` appended).
fn veth_name(tag: &str, index: usize) -> String {
    format!("{tag}h{index}")
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// The PID in a name of ours (`swmh1234b`, `swmh1234-h0`, `swmh1234h0`, directory `1234`).
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX).unwrap_or(name);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether `pid` is a live harness process (a test or `swim-multihost`); a reused PID of
/// anything else does not count.
fn process_alive(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmd| String::from_utf8_lossy(&cmd).contains("multihost"))
}

/// Everything of the harness on this machine: (what, owning PID).
pub fn leftovers() -> Vec<(String, u32)> {
    let mut found = Vec::new();
    let netns = sh("ip", &["netns", "list"]).unwrap_or_default();
    for name in netns.lines().filter_map(|l| l.split_whitespace().next()) {
        if let (true, Some(pid)) = (name.starts_with(PREFIX), owner_pid(name)) {
            found.push((format!("netns {name}"), pid));
        }
    }
    if let Ok(links) = fs::read_dir("/sys/class/net") {
        for link in links.filter_map(|l| l.ok()) {
            let name = link.file_name().to_string_lossy().into_owned();
            if let (true, Some(pid)) = (name.starts_with(PREFIX), owner_pid(&name)) {
                found.push((format!("link {name}"), pid));
            }
        }
    }
    let rules = sh("iptables", &["-w", "10", "-S", "DOCKER-USER"]).unwrap_or_default();
    for rule in rules.lines() {
        let owner = rule
            .split_whitespace()
            .find(|w| w.starts_with(PREFIX))
            .and_then(owner_pid);
        if let Some(pid) = owner {
            found.push((format!("iptables rule {rule}"), pid));
        }
    }
    if let Ok(dirs) = fs::read_dir(ROOT) {
        for dir in dirs.filter_map(|d| d.ok()) {
            let name = dir.file_name().to_string_lossy().into_owned();
            if let Some(pid) = owner_pid(&name) {
                found.push((format!("directory {}", dir.path().display()), pid));
            }
        }
    }
    found
}

/// Removes what runs whose process is gone left behind; an error if anything of ours is
/// left afterwards (including what a live process owns: a run in progress).
pub fn clean_leftovers() -> Result<(), CommandError> {
    let me = std::process::id();
    let mut dead: Vec<u32> = leftovers()
        .into_iter()
        .map(|(_, pid)| pid)
        .filter(|pid| *pid != me && !process_alive(*pid))
        .collect();
    dead.sort_unstable();
    dead.dedup();
    for pid in dead {
        eprintln!("multihost: removing the leftovers of the run of process {pid}");
        let tag = format!("{PREFIX}{pid}");
        let dir = Path::new(ROOT).join(pid.to_string());
        // Its engines may still run (the run was killed): stop them through their pid files.
        for host in 0..MAX_HOSTS {
            let hdir = dir.join(format!("h{host}"));
            if let Some(engine) = fs::read_to_string(hdir.join("docker.pid"))
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(engine),
                    nix::sys::signal::Signal::SIGTERM,
                );
                let deadline = Instant::now() + ENGINE_STOP;
                while Path::new(&format!("/proc/{engine}")).exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            if hdir.exists() {
                for straggler in processes_naming(&hdir) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(straggler),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            remove_veth(&tag, host);
            let _ = sh("ip", &["netns", "del", &netns_name(&tag, host)]);
        }
        let bridge = format!("{tag}b");
        let _ = sh(
            "iptables",
            &[
                "-w",
                "10",
                "-D",
                "DOCKER-USER",
                "-i",
                &bridge,
                "-o",
                &bridge,
                "-j",
                "ACCEPT",
            ],
        );
        if link_exists(&bridge) {
            let _ = sh("ip", &["link", "del", &bridge]);
        }
        unmount_under(&dir);
        let _ = fs::remove_dir_all(&dir);
        // The image that run built on the machine's own engine (`images::build_ours` tags it
        // `swim-e2e-PID-…`); only for a PID that owned a multi-host run.
        let images = crate::docker::docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .unwrap_or_default();
        let prefix = format!("swim-e2e-{pid}-");
        for image in images.lines().filter(|i| i.starts_with(&prefix)) {
            report(crate::docker::docker(&["image", "rm", "-f", image]));
        }
    }
    let left: Vec<String> = leftovers()
        .into_iter()
        .map(|(what, pid)| {
            let state = if pid == me {
                "this process"
            } else if process_alive(pid) {
                "a live process"
            } else {
                "a dead process"
            };
            format!("{what} (process {pid}: {state})")
        })
        .collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(CommandError(format!(
            "multihost: refusing to start over leftovers that could not be removed:\n{}",
            left.join("\n")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_reads_every_name_form() {
        assert_eq!(owner_pid("swmh1234b"), Some(1234));
        assert_eq!(owner_pid("swmh1234-h0"), Some(1234));
        assert_eq!(owner_pid("swmh77h3"), Some(77));
        assert_eq!(owner_pid("1234"), Some(1234));
        assert_eq!(owner_pid("swmhb"), None);
    }
}
