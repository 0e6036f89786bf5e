//! A Rust member and a member of the real Python package (`$SWIM_PY_VENV/bin/python`,
//! default `/tmp/pyswim`) on loopback: they see each other ONLINE with their metadata,
//! exchange 10 KB values over TCP both ways, and each notices when the other is killed.
//! Skipped with a notice when the virtualenv is missing, unless `SWIM_REQUIRE_PY=1` (set by
//! CI's `.ci/run`, which provides it): then that is a failure.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::{eventually, free_port, member_config, python_venv_file};
use swim_protocol::{Cluster, MemberName, Metadata, Status, WireKind};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/py_member.py");
const SECRET: &[u8] = b"my secret";
/// How long each phase may take.
const WAIT: Duration = Duration::from_secs(20);

/// The Python member; killed when dropped.
struct PyMember {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Its latest printed view: name → [status, {key: hex value}].
    view: Arc<Mutex<Value>>,
}

impl PyMember {
    fn start(python: &Path, name: &str, peer: &MemberName) -> PyMember {
        let mut child = Command::new(python)
            .args([
                SCRIPT,
                name,
                peer.as_str(),
                std::str::from_utf8(SECRET).unwrap(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the python member");
        let view = Arc::new(Mutex::new(Value::Null));
        let stdout = child.stdout.take().unwrap();
        let latest = view.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str(&line) {
                    *latest.lock().unwrap() = value;
                }
            }
        });
        let stdin = child.stdin.take();
        PyMember { child, stdin, view }
    }

    /// Whether it sees `name` with `status` and `key` = `value`.
    fn sees(&self, name: &str, status: Status, key: &str, value: &[u8]) -> bool {
        let view = self.view.lock().unwrap();
        let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
        view[name][0] == status.name() && view[name][1][key] == Value::String(hex)
    }

    fn command(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }
}

impl Drop for PyMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rust_sees(member: &Cluster, name: &str, status: Status, key: &str, value: &[u8]) -> bool {
    member.members().iter().any(|m| {
        m.name.as_str() == name
            && m.status == status
            && m.metadata_or_empty().get(key).map(Vec::as_slice) == Some(value)
    })
}

/// A Rust member speaking the Python wire format and a Python member, each knowing the
/// other, once each sees the other ONLINE; also their names.
async fn start_pair(python: &Path) -> (Cluster, PyMember, String, String) {
    let py_name = format!("127.0.0.1:{}", free_port());
    let mut config = member_config(
        SECRET,
        &[MemberName::from(py_name.as_str())],
        Metadata::empty().with("name", "rust"),
    );
    config.protocol.wire = WireKind::Python;
    let rust = Cluster::start(config).await.unwrap();
    let py = PyMember::start(python, &py_name, rust.name());
    let rust_name = rust.name().to_string();
    eventually(WAIT, "each sees the other ONLINE", || async {
        rust_sees(&rust, &py_name, Status::Online, "name", b"python")
            && py.sees(&rust_name, Status::Online, "name", b"rust")
    })
    .await;
    (rust, py, py_name, rust_name)
}

#[tokio::test]
async fn rust_and_python_members_interoperate() {
    let Some(python) = python_venv_file("bin/python") else {
        return;
    };
    let (rust, mut py, py_name, rust_name) = start_pair(&python).await;

    let big = vec![0x2au8; 10 * 1024];
    py.command("meta blob 10240");
    rust.set_local_metadata(rust.local().metadata_or_empty().with("blob", big.clone()));
    eventually(WAIT, "10 KB values cross both ways", || async {
        rust_sees(&rust, &py_name, Status::Online, "blob", &big)
            && py.sees(&rust_name, Status::Online, "blob", &big)
    })
    .await;
    let stats = rust.stats();
    assert!(
        stats.tcp_packets_sent > 0 && stats.tcp_packets_received > 0,
        "{stats:?}"
    );
    assert_eq!(
        stats.dropped_bad_signature + stats.dropped_malformed,
        0,
        "{stats:?}"
    );

    drop(py); // killed
    eventually(WAIT, "the killed Python member is OFFLINE", || async {
        rust_sees(&rust, &py_name, Status::Offline, "name", b"python")
    })
    .await;
    rust.shutdown().await;
}

/// Sends `signal` (e.g. "-STOP") to the Python member's process.
fn signal(py: &PyMember, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &py.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// A live Python member that stalls long enough to be suspected by ours must come back
/// ONLINE, not be declared OFFLINE: the Python package ignores a suspicion whose clock is
/// not newer than its own, so ours must follow its clock rules (docs/PROTOCOL.md, "Seed
/// clock rules").
#[tokio::test]
async fn a_stalled_python_member_is_suspected_then_online_again() {
    let Some(python) = python_venv_file("bin/python") else {
        return;
    };
    let (rust, py, py_name, _) = start_pair(&python).await;

    // Stall it past the probe timeouts (40 + 90 ms) but within the suspect timeout (1 s).
    signal(&py, "-STOP");
    eventually(Duration::from_secs(5), "ours suspects it", || async {
        rust_sees(&rust, &py_name, Status::Suspect, "name", b"python")
    })
    .await;
    signal(&py, "-CONT");
    eventually(WAIT, "ours sees it ONLINE again", || async {
        rust_sees(&rust, &py_name, Status::Online, "name", b"python")
    })
    .await;
    // The package starts a suspect timer for *itself* when told it is suspect, and marks
    // itself SUSPECT for good unless told it is ONLINE before it expires (1 s here): after
    // a few such timeouts, it must still see itself ONLINE, and ours must see it ONLINE.
    tokio::time::sleep(Duration::from_secs(3)).await;
    eventually(Duration::from_secs(5), "both see it ONLINE", || async {
        py.sees(&py_name, Status::Online, "name", b"python")
            && rust_sees(&rust, &py_name, Status::Online, "name", b"python")
    })
    .await;
    drop(py);
    rust.shutdown().await;
}
