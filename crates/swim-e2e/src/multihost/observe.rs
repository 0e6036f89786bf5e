//! The observer: one thread per host, inside the host's network namespace (`setns`), reads
//! every member's `/members` there a few times a second through the member's address on the
//! host's `docker_gwbridge` (nothing crosses the hosts' links, so the network faults do not
//! blind it); one more thread reads each member's CPU time and memory from its cgroup.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::multihost::check::{Sample, Seen, Status};
use crate::multihost::hosts::Hosts;
use crate::multihost::stack::{Task, METRICS_PORT};

/// Time between two rounds of reads on a host.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Time between two reads of the members' cgroups.
pub const RESOURCES_EVERY: Duration = Duration::from_secs(5);

/// One member's resources at one time.
#[derive(Debug, Clone)]
pub struct Usage {
    /// When.
    pub at: Duration,
    /// CPU time used so far.
    pub cpu: Duration,
    /// Resident memory (cgroup `total_rss`), bytes.
    pub rss: u64,
}

/// What the observer threads share with the run.
#[derive(Debug)]
pub struct Observation {
    /// The run's start: every time is measured from it.
    pub start: Instant,
    /// The views read, in order.
    pub samples: Mutex<Vec<Sample>>,
    /// Reads that failed (paused member, member starting or killed).
    pub failed_reads: AtomicU64,
    /// The members' containers, as last listed.
    pub tasks: Mutex<Vec<Task>>,
    /// Container id → member name, learned from its first answer.
    pub names: Mutex<BTreeMap<String, String>>,
    /// Container id → when it first answered.
    pub first_answer: Mutex<BTreeMap<String, Duration>>,
    /// Container id → its resource readings.
    pub usage: Mutex<BTreeMap<String, Vec<Usage>>>,
    stop: AtomicBool,
}

impl Observation {
    /// Time since the run's start.
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// A copy of the samples so far.
    pub fn samples(&self) -> Vec<Sample> {
        lock(&self.samples).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running observer threads; [`Observer::stop`] (or dropping) ends them.
pub struct Observer {
    /// The shared state.
    pub shared: Arc<Observation>,
    threads: Vec<JoinHandle<()>>,
}

impl Observer {
    /// Starts one reader per host and the resource reader.
    pub fn start(hosts: &Hosts) -> Observer {
        let shared = Arc::new(Observation {
            start: Instant::now(),
            samples: Mutex::new(Vec::new()),
            failed_reads: AtomicU64::new(0),
            tasks: Mutex::new(Vec::new()),
            names: Mutex::new(BTreeMap::new()),
            first_answer: Mutex::new(BTreeMap::new()),
            usage: Mutex::new(BTreeMap::new()),
            stop: AtomicBool::new(false),
        });
        let mut threads = Vec::new();
        for host in &hosts.hosts {
            let shared = Arc::clone(&shared);
            let index = host.index;
            let netns = host.netns_path();
            threads.push(std::thread::spawn(move || {
                let file = match std::fs::File::open(&netns) {
                    Ok(f) => f,
                    Err(e) => {
                        eprintln!("observer: {}: {e}", netns.display());
                        return;
                    }
                };
                // Only this thread moves into the namespace.
                if let Err(e) = nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET) {
                    eprintln!("observer: setns {}: {e}", netns.display());
                    return;
                }
                read_host(&shared, index);
            }));
        }
        let resources = Arc::clone(&shared);
        threads.push(std::thread::spawn(move || read_resources(&resources)));
        Observer { shared, threads }
    }

    /// Stops the threads and waits for them.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_host(shared: &Observation, host: usize) {
    while !shared.stop.load(Ordering::Relaxed) {
        let round = Instant::now();
        let tasks: Vec<Task> = lock(&shared.tasks)
            .iter()
            .filter(|t| t.host == host && t.state == "running")
            .cloned()
            .collect();
        for task in tasks {
            match read_members(&task.gateway_ip) {
                Ok((local, members)) => {
                    let at = shared.now();
                    lock(&shared.names)
                        .entry(task.id.clone())
                        .or_insert_with(|| local.clone());
                    lock(&shared.first_answer)
                        .entry(task.id.clone())
                        .or_insert(at);
                    lock(&shared.samples).push(Sample {
                        at,
                        observer: local,
                        members,
                    });
                }
                Err(_) => {
                    shared.failed_reads.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if let Some(rest) = SAMPLE_EVERY.checked_sub(round.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// `GET /members` from a member at `ip`: its name and the others as it sees them.
pub fn read_members(ip: &str) -> Result<(String, Vec<Seen>), String> {
    let addr: SocketAddr = format!("{ip}:{METRICS_PORT}")
        .parse()
        .map_err(|e| format!("{ip}: {e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_millis(500)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /members HTTP/1.1\r\nHost: member\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| "no HTTP header".to_owned())?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "answer: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    parse_members(body)
}

/// The `/members` document: the local name and every other member.
pub fn parse_members(body: &str) -> Result<(String, Vec<Seen>), String> {
    let doc: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let local = doc["local"].as_str().ok_or("no \"local\"")?.to_owned();
    let mut out = Vec::new();
    for m in doc["members"].as_array().ok_or("no \"members\"")? {
        if m["local"].as_bool() == Some(true) {
            continue;
        }
        let status = match m["status"].as_str() {
            Some("ONLINE") => Status::Online,
            Some("SUSPECT") => Status::Suspect,
            Some("OFFLINE") => Status::Offline,
            other => return Err(format!("status {other:?}")),
        };
        out.push(Seen {
            name: m["name"].as_str().ok_or("no name")?.to_owned(),
            status,
            left: m["left"].as_bool().unwrap_or(false),
            clock: m["clock"].as_u64().ok_or("no clock")?,
            seq: m["metadata"]["seq"]["text"]
                .as_str()
                .and_then(|v| v.trim().parse().ok()),
        });
    }
    Ok((local, out))
}

fn read_resources(shared: &Observation) {
    while !shared.stop.load(Ordering::Relaxed) {
        let ids: Vec<String> = lock(&shared.tasks).iter().map(|t| t.id.clone()).collect();
        for id in ids {
            if let Some(usage) = cgroup_usage(&id, shared.now()) {
                lock(&shared.usage).entry(id).or_default().push(usage);
            }
        }
        let deadline = Instant::now() + RESOURCES_EVERY;
        while Instant::now() < deadline && !shared.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A container's CPU time and RSS from its cgroup (v1, the engines' `cgroupfs` driver).
fn cgroup_usage(id: &str, at: Duration) -> Option<Usage> {
    let cpu: u64 =
        std::fs::read_to_string(format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
    let stat =
        std::fs::read_to_string(format!("/sys/fs/cgroup/memory/docker/{id}/memory.stat")).ok()?;
    let rss = stat
        .lines()
        .find_map(|l| l.strip_prefix("total_rss "))
        .and_then(|v| v.trim().parse().ok())?;
    Some(Usage {
        at,
        cpu: Duration::from_nanos(cpu),
        rss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_members_document_is_read_as_documented() {
        let body = r#"{"local":"10.0.1.3:9000","members":[
            {"name":"10.0.1.3:9000","local":true,"status":"ONLINE","clock":4,"changed_at":"x","metadata":{"seq":{"text":"12"}}},
            {"name":"10.0.1.4:9000","local":false,"status":"SUSPECT","clock":2,"changed_at":"x","metadata":{"role":{"text":"member\n"}}},
            {"name":"10.0.1.5:9000","local":false,"status":"OFFLINE","left":true,"clock":1,"changed_at":"x","metadata":null}]}"#;
        let (local, members) = parse_members(body).unwrap();
        assert_eq!(local, "10.0.1.3:9000");
        assert_eq!(
            members,
            vec![
                Seen {
                    name: "10.0.1.4:9000".into(),
                    status: Status::Suspect,
                    left: false,
                    clock: 2,
                    seq: None
                },
                Seen {
                    name: "10.0.1.5:9000".into(),
                    status: Status::Offline,
                    left: true,
                    clock: 1,
                    seq: None
                },
            ]
        );
        assert!(parse_members("{}").is_err());
        assert!(parse_members(
            r#"{"local":"x","members":[{"name":"y","status":"GONE","clock":1}]}"#
        )
        .is_err());
    }
}
