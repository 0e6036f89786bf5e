//! The rolling migration of `docs/migration.md`, live: four members of the real Python
//! package (`$SWIM_PY_VENV/bin/python`, default `/tmp/pyswim`) are replaced one by one by
//! ours with `--wire python`, which are then restarted one by one with `--wire auto`, and
//! then with `--wire native`. After every restart the cluster is whole again (every member
//! sees every other ONLINE), metadata still spreads both ways between a member of the new
//! kind and one of another, and no member was ever seen SUSPECT or OFFLINE after being seen
//! ONLINE, except the one being restarted. Skipped with a notice when the virtualenv is
//! missing, unless `SWIM_REQUIRE_PY=1` (CI). A second test skips the `--wire python` round:
//! the package's members are replaced by ours with `--wire auto` directly.
//!
//! Every member runs the `local` profile's timings (the Python members through
//! `$SWIM_PY_TIMINGS`, read by `support/py_member.py`), so that a step takes about a second.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{free_port, python_venv_file};
use swim_protocol::{Cluster, Config, Metadata, Profile, Status, WireKind};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/py_member.py");
const SECRET: &str = "migration secret";
/// The `local` profile's ping interval, ping timeout, ping-req timeout, suspect timeout and
/// sync interval, for the Python members.
const PY_TIMINGS: &str = "0.5,0.1,0.3,2.0,0.1";
/// How long each wait may take (a loaded machine slows the Python members most).
const WAIT: Duration = Duration::from_secs(30);
/// How long the cluster is watched after each step, for late false suspicions.
const QUIET: Duration = Duration::from_millis(1500);
/// The value every metadata key is set to (what `py_member.py`'s `meta KEY 3` writes).
const VALUE: &[u8] = b"***";

/// Sightings of a member going from ONLINE to another status: (observer, member, status).
type Sightings = Arc<Mutex<Vec<(String, String, String)>>>;

/// A member of the Python package; killed when dropped.
struct PyMember {
    child: Child,
    stdin: ChildStdin,
    /// Its latest printed view: name → [status, {key: hex value}].
    view: Arc<Mutex<Value>>,
}

impl PyMember {
    fn start(python: &Path, name: &str, peer: &str, sightings: &Sightings) -> PyMember {
        let mut child = Command::new(python)
            .args([SCRIPT, name, peer, SECRET])
            .env("SWIM_PY_TIMINGS", PY_TIMINGS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a python member");
        let view = Arc::new(Mutex::new(Value::Null));
        let stdout = child.stdout.take().expect("piped");
        let (latest, sightings, observer) = (view.clone(), sightings.clone(), name.to_owned());
        std::thread::spawn(move || {
            let mut last: BTreeMap<String, String> = BTreeMap::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if let Some(members) = value.as_object() {
                    for (member, state) in members {
                        let status = state[0].as_str().unwrap_or_default().to_owned();
                        let was = last.insert(member.clone(), status.clone());
                        if was.as_deref() == Some("ONLINE") && status != "ONLINE" {
                            let seen = (observer.clone(), member.clone(), status);
                            sightings.lock().unwrap().push(seen);
                        }
                    }
                }
                *latest.lock().unwrap() = value;
            }
        });
        let stdin = child.stdin.take().expect("piped");
        PyMember { child, stdin, view }
    }
}

impl Drop for PyMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One member of the cluster, of either implementation.
enum Member {
    Python(PyMember),
    Ours(Cluster, WireKind),
}

impl Member {
    fn kind(&self) -> &'static str {
        match self {
            Member::Python(_) => "package",
            Member::Ours(_, WireKind::Python) => "python",
            Member::Ours(_, WireKind::Auto) => "auto",
            Member::Ours(_, WireKind::Native) => "native",
        }
    }

    /// Whether it sees `name` ONLINE with every key of `keys` set to [`VALUE`].
    fn sees(&self, name: &str, keys: &[String]) -> bool {
        match self {
            Member::Python(py) => {
                let view = py.view.lock().unwrap();
                let hex: String = VALUE.iter().map(|b| format!("{b:02x}")).collect();
                view[name][0] == "ONLINE"
                    && keys
                        .iter()
                        .all(|k| view[name][1][k.as_str()] == Value::String(hex.clone()))
            }
            Member::Ours(cluster, _) => cluster.members().iter().any(|m| {
                m.name.as_str() == name
                    && m.status == Status::Online
                    && keys
                        .iter()
                        .all(|k| m.metadata_or_empty().get(k).map(Vec::as_slice) == Some(VALUE))
            }),
        }
    }

    /// Its view and, for ours, its counters: printed when a wait fails.
    fn describe(&self) -> String {
        match self {
            Member::Python(py) => py.view.lock().unwrap().to_string(),
            Member::Ours(cluster, _) => {
                let view: Vec<String> = cluster
                    .members()
                    .iter()
                    .map(|m| {
                        let keys: Vec<String> =
                            m.metadata_or_empty().to_map().into_keys().collect();
                        format!("{} {} {} {keys:?}", m.name, m.status.name(), m.clock)
                    })
                    .collect();
                format!("{view:#?}\n{:?}", cluster.stats())
            }
        }
    }

    fn publish(&mut self, key: &str) {
        match self {
            Member::Python(py) => {
                writeln!(py.stdin, "meta {key} {}", VALUE.len()).unwrap();
                py.stdin.flush().unwrap();
            }
            Member::Ours(cluster, _) => {
                let metadata = cluster.local().metadata_or_empty().with(key, VALUE);
                cluster.set_local_metadata(metadata);
            }
        }
    }

    async fn stop(self) {
        match self {
            Member::Python(py) => drop(py),
            Member::Ours(cluster, _) => cluster.shutdown().await,
        }
    }
}

/// Starts ours as `name`, knowing every other member, speaking `wire`, with the `local`
/// timings; reports every ONLINE member it later sees in another status.
async fn start_ours(name: &str, names: &[String], wire: WireKind, sightings: &Sightings) -> Member {
    let peers = names.iter().filter(|n| *n != name);
    let mut config = Config::new(name)
        .with_peers(peers)
        .with_metadata(Metadata::empty().with("name", "ours"))
        .with_secret(SECRET)
        .with_wire(wire)
        .with_profile(Profile::Local);
    // Anti-entropy every ~3 s instead of 15: among members on the seed's clock rules, a
    // record re-stamped by a detector makes relayed copies of the member's next record
    // stale, so a member that missed it first-hand may wait for a push-pull (seen taking
    // up to 30 s with 15 s, in the `--wire python` round as well; docs/migration.md,
    // "Known limits").
    config.protocol.push_pull_interval = Duration::from_secs(3);
    let cluster = Cluster::start(config).await.expect("start ours");
    let (sightings, observer) = (sightings.clone(), name.to_owned());
    cluster.on_change(move |change| {
        if change.previous.status == Status::Online
            && change.member.status != Status::Online
            && !change.member.local
        {
            let member = change.member.name.to_string();
            let seen = (
                observer.clone(),
                member,
                change.member.status.name().to_owned(),
            );
            sightings.lock().unwrap().push(seen);
        }
    });
    Member::Ours(cluster, wire)
}

/// Waits until every member sees every other ONLINE with `keys` of `publisher` (if any).
async fn wait_whole(members: &[Member], names: &[String], what: &str, keys: &[(usize, String)]) {
    let whole = || {
        members.iter().enumerate().all(|(i, observer)| {
            names.iter().enumerate().all(|(j, name)| {
                let wanted: Vec<String> = keys
                    .iter()
                    .filter(|(from, _)| *from == j)
                    .map(|(_, key)| key.clone())
                    .collect();
                i == j || observer.sees(name, &wanted)
            })
        })
    };
    let deadline = Instant::now() + WAIT;
    while !whole() {
        if Instant::now() > deadline {
            for (name, member) in names.iter().zip(members) {
                eprintln!("--- {name} ({}): {}", member.kind(), member.describe());
            }
            panic!("timed out waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_cluster_migrates_to_the_native_wire_one_member_at_a_time() {
    if let Some(python) = python_venv_file("bin/python") {
        migrate(
            &python,
            &[WireKind::Python, WireKind::Auto, WireKind::Native],
        )
        .await;
    }
}

/// The shorter way: the package's members replaced by ours with `--wire auto` directly,
/// which then work beside the remaining Python members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_cluster_migrates_through_auto_directly() {
    if let Some(python) = python_venv_file("bin/python") {
        migrate(&python, &[WireKind::Auto, WireKind::Native]).await;
    }
}

/// Starts four Python members, then restarts each member in turn with each of `rounds`.
async fn migrate(python: &Path, rounds: &[WireKind]) {
    let names: Vec<String> = (0..4)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let sightings: Sightings = Arc::default();
    let mut members: Vec<Member> = (0..4)
        .map(|i| {
            let peer = &names[usize::from(i == 0)];
            Member::Python(PyMember::start(python, &names[i], peer, &sightings))
        })
        .collect();
    let started = Instant::now();
    wait_whole(&members, &names, "the Python cluster is whole", &[]).await;
    assert_eq!(*sightings.lock().unwrap(), vec![], "while forming");

    let mut step = 0;
    for &wire in rounds {
        for i in 0..4 {
            step += 1;
            let at = Instant::now();
            let old = members.remove(i);
            let was = old.kind();
            old.stop().await;
            members.insert(i, start_ours(&names[i], &names, wire, &sightings).await);
            let what = format!("step {step}: {was} → {wire}, member {i} ONLINE everywhere");
            wait_whole(&members, &names, &what, &[]).await;
            let whole_after = at.elapsed();
            // Metadata both ways: the new member and one of another kind, if any is left.
            let other = (1..4)
                .map(|d| (i + d) % 4)
                .find(|&j| members[j].kind() != members[i].kind())
                .unwrap_or((i + 1) % 4);
            let (mine, theirs) = (format!("new{step}"), format!("other{step}"));
            members[i].publish(&mine);
            members[other].publish(&theirs);
            let keys = [(i, mine), (other, theirs)];
            let what = format!(
                "step {step}: metadata between {} and {}",
                members[i].kind(),
                members[other].kind()
            );
            wait_whole(&members, &names, &what, &keys).await;
            tokio::time::sleep(QUIET).await;
            wait_whole(
                &members,
                &names,
                &format!("step {step}: still whole"),
                &keys,
            )
            .await;
            let seen: Vec<_> = std::mem::take(&mut *sightings.lock().unwrap());
            let wrong: Vec<_> = seen.iter().filter(|(_, m, _)| *m != names[i]).collect();
            assert!(
                wrong.is_empty(),
                "step {step} ({was} → {wire}, restarting {}): members seen leaving ONLINE: \
                 {wrong:?}",
                names[i]
            );
            let limited: u64 = members
                .iter()
                .map(|m| match m {
                    Member::Ours(c, _) => c.stats().dropped_rate_limited,
                    Member::Python(_) => 0,
                })
                .sum();
            eprintln!(
                "step {step}: {was} → {wire} in {:.1} s, whole after {:.1} s ({} sightings of \
                 the restarted one, {limited} packets over budget)",
                at.elapsed().as_secs_f64(),
                whole_after.as_secs_f64(),
                seen.len()
            );
        }
    }
    eprintln!("whole migration: {:.1} s", started.elapsed().as_secs_f64());
    for member in members {
        member.stop().await;
    }
}
