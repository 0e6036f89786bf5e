//! A mixed cluster on loopback: two `swim-protocol-sync` processes of the Python package
//! swim-protocol 0.6.3 (`$SWIM_PY_VENV/bin/swim-protocol-sync`, default `/tmp/pyswim`) and two
//! of ours with `--wire python`, observed through their directories. Skipped with a notice
//! when the virtualenv is missing, unless `SWIM_REQUIRE_PY=1` (CI), which makes that a failure.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use support::{free_address, python_venv_file, Node, FAST_TIMINGS};

/// The Python members use the seed's timings (1 s probes, 5 s suspicion), and a loaded CI
/// machine slows them further: allow for both (each phase takes 1 to 4 s when idle).
const DEADLINE: Duration = Duration::from_secs(45);
const SECRET: &str = "interop-secret";

impl Node {
    /// Starts a member: the Python tool at `python`, or ours when `None`.
    fn start(root: &Path, python: Option<&Path>, name: &str, peer: &str) -> Node {
        let base = root.join(name);
        let log = root.join(format!("{name}.log"));
        let mut cmd = match python {
            Some(tool) => Command::new(tool),
            None => {
                // Short timings for ours only: the Python tool has no timing flags.
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_swim-protocol-sync"));
                cmd.args(["--wire", "python"]).args(FAST_TIMINGS);
                cmd.env("RUST_LOG", "info");
                cmd
            }
        };
        let out = fs::File::create(&log).unwrap();
        cmd.args(["--secret", SECRET, "--name", name, "--peer", peer])
            .arg(&base)
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        Node::spawn(name, base, log, &mut cmd)
    }

    /// Writes `key` into the local member's directory and signals the process to read it.
    fn publish(&self, key: &str, value: &str) {
        let tmp = self.base.join(format!(".{key}.tmp"));
        fs::write(&tmp, value).unwrap();
        fs::rename(&tmp, self.local_file(key)).unwrap();
        self.signal(Signal::SIGHUP);
    }
}

/// Polls `cond` every 50 ms; on timeout prints every member's state and log, and fails.
fn wait_until(nodes: &[Node], what: &str, cond: impl FnMut() -> bool) {
    support::wait_until(nodes, DEADLINE, Duration::from_millis(50), what, cond);
}

fn others(nodes: &[Node], me: usize, except: &[usize]) -> BTreeSet<String> {
    (0..nodes.len())
        .filter(|i| *i != me && !except.contains(i))
        .map(|i| nodes[i].name.clone())
        .collect()
}

#[test]
fn python_and_rust_members_form_one_cluster() {
    let Some(python) = python_venv_file("bin/swim-protocol-sync") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..4).map(|_| free_address()).collect();
    // 0, 1: Python; 2, 3: ours. Each kind joins through a member of the other kind.
    let (p0, p1, r2, r3) = (0, 1, 2, 3);
    let mut nodes = vec![
        Node::start(root.path(), Some(&python), &names[p0], &names[r2]),
        Node::start(root.path(), Some(&python), &names[p1], &names[r2]),
        Node::start(root.path(), None, &names[r2], &names[p0]),
        Node::start(root.path(), None, &names[r3], &names[p0]),
    ];

    wait_until(&nodes, "every member sees every other ONLINE", || {
        (0..4).all(|i| nodes[i].links(".online") == others(&nodes, i, &[]))
    });

    // Metadata files spread both ways.
    nodes[p0].publish("from-python", "written by a Python member\n");
    nodes[r2].publish("from-rust", "written by one of ours\n");
    wait_until(&nodes, "files reach every other member", || {
        (0..4).all(|i| {
            (i == p0
                || nodes[i].remote_file(&names[p0], "from-python").as_deref()
                    == Some("written by a Python member\n"))
                && (i == r2
                    || nodes[i].remote_file(&names[r2], "from-rust").as_deref()
                        == Some("written by one of ours\n"))
        })
    });

    // A Python member that stalls long enough to be suspected by ours is ONLINE again
    // everywhere once it resumes (it ignores a suspicion whose clock is not newer than its
    // own, so ours must follow its clock rules).
    nodes[p1].signal(Signal::SIGSTOP);
    let suspected = |nodes: &[Node]| {
        [r2, r3]
            .iter()
            .any(|&i| nodes[i].links(".suspect").contains(&names[p1]))
    };
    wait_until(&nodes, "ours suspect the stalled Python member", || {
        suspected(&nodes)
    });
    nodes[p1].signal(Signal::SIGCONT);
    wait_until(
        &nodes,
        "the resumed member is ONLINE everywhere again",
        || (0..4).all(|i| nodes[i].links(".online") == others(&nodes, i, &[])),
    );

    // A killed Python member is detected by ours (and by the other Python member).
    nodes[p1].kill();
    wait_until(&nodes, "ours see the killed Python member OFFLINE", || {
        [p0, r2, r3].iter().all(|&i| {
            nodes[i].links(".offline").contains(&names[p1])
                && nodes[i].links(".online") == others(&nodes, i, &[p1])
        })
    });

    // A killed member of ours is detected by the remaining Python member.
    nodes[r3].kill();
    wait_until(&nodes, "the Python member sees ours OFFLINE", || {
        let offline = nodes[p0].links(".offline");
        offline.contains(&names[r3])
            && offline.contains(&names[p1])
            && nodes[p0].links(".online") == others(&nodes, p0, &[p1, r3])
    });
    wait_until(&nodes, "the survivors still see each other ONLINE", || {
        nodes[r2].links(".online") == others(&nodes, r2, &[p1, r3])
    });
}
