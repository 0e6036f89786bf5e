//! The `event`, `query` and `send` subcommands of the real binaries, against a socket that
//! plays the member: what they ask, what they print, their exit statuses.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use swim_tools::control::wire::{Reply, Request};
use swim_tools::control::{KeyTest, QueryReply, QuerySpec};

const SYNC: &str = env!("CARGO_BIN_EXE_swim-protocol-sync");
const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");

/// Serves one connection at `path`: returns the request it got, after answering `replies`.
fn member(path: &Path, replies: Vec<Reply>) -> JoinHandle<Request> {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut stream = stream;
        for reply in replies {
            stream.write_all(&reply.to_line()).unwrap();
        }
        Request::parse(line.trim_end().as_bytes()).unwrap()
    })
}

fn run(command: &str, args: &[&str], stdin: &[u8], env: &[(&str, &Path)]) -> Output {
    let mut child = Command::new(command)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("SWIM_CONTROL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn query_sends_its_options_and_prints_answers_as_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let served = member(
        &path,
        vec![
            Reply::Query(QueryReply::Ack { from: "b:2".into() }),
            Reply::Query(QueryReply::Response {
                from: "b:2".into(),
                payload: b"yes\n".to_vec(),
            }),
            Reply::Done {
                acks: 1,
                responses: 1,
            },
        ],
    );
    let control = path.to_str().unwrap();
    let args = [
        "query",
        "who",
        "-",
        "--filter",
        "role=web",
        "--filter",
        "zone~eu-*",
        "--name",
        "b:2",
        "--ack",
        "--relay",
        "2",
        "--timeout",
        "1.5",
        "--control",
        control,
    ];
    let out = run(SYNC, &args, b"shard 7", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ack b:2\nresponse b:2 yes\\n\n");
    assert!(
        text(&out.stderr).contains("1 response, 1 ack"),
        "{}",
        text(&out.stderr)
    );
    let expected = QuerySpec {
        name: "who".into(),
        payload: b"shard 7".to_vec(),
        names: vec!["b:2".into()],
        filters: vec![
            ("role".into(), KeyTest::Equals(b"web".to_vec())),
            ("zone".into(), KeyTest::Matches("eu-*".into())),
        ],
        ack: true,
        relay: 2,
        timeout: Some(Duration::from_millis(1500)),
    };
    assert_eq!(served.join().unwrap(), Request::Query(expected));
}

#[test]
fn a_failed_request_exits_1_and_a_wrong_one_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sock");
    let control = path.to_str().unwrap();
    let failed = Reply::Error {
        usage: false,
        message: "gone did not acknowledge".into(),
    };
    let served = member(&path, vec![failed]);
    let out = run(
        SYNC,
        &["send", "gone", "hi", "--reliable", "--control", control],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("gone did not acknowledge"),
        "{}",
        text(&out.stderr)
    );
    let sent = Request::Send {
        member: "gone".into(),
        payload: b"hi".to_vec(),
        reliable: true,
    };
    assert_eq!(served.join().unwrap(), sent);
    std::fs::remove_file(&path).unwrap();

    let wrong = Reply::Error {
        usage: true,
        message: "payload over the limit".into(),
    };
    let served = member(&path, vec![wrong]);
    let out = run(
        SYNC,
        &["event", "deploy", "--coalesce", "--control", control],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("payload over the limit"));
    assert!(matches!(
        served.join().unwrap(),
        Request::Event { coalesce: true, .. }
    ));
}

#[test]
fn usage_errors_exit_2_and_an_absent_member_1() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("none.sock");
    let absent = absent.to_str().unwrap();
    let out = run(SYNC, &["event", "e", "--control", absent], b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot reach a member"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        SYNC,
        &["query", "q", "--filter", "novalue", "--control", absent],
        b"",
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let big = vec![b'x'; swim_tools::control::client::MAX_PAYLOAD + 1];
    let out = run(SYNC, &["event", "e", "-", "--control", absent], &big, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn the_demo_client_takes_the_only_socket_in_its_directory() {
    let runtime = tempfile::tempdir().unwrap();
    let dir = runtime.path().join("swim-protocol-demo");
    std::fs::create_dir(&dir).unwrap();
    let env = [("XDG_RUNTIME_DIR", runtime.path())];
    let served = member(&dir.join("a:1.sock"), vec![Reply::Ok]);
    let out = run(DEMO, &["event", "hello", "there"], b"", &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(matches!(served.join().unwrap(), Request::Event { name, .. } if name == "hello"));
    let _second = UnixListener::bind(dir.join("b:2.sock")).unwrap();
    let out = run(DEMO, &["event", "hello"], b"", &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("several members"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_demo_client_without_a_running_demo_fails_with_1() {
    let runtime = tempfile::tempdir().unwrap();
    let env = [("XDG_RUNTIME_DIR", runtime.path())];
    let out = run(DEMO, &["event", "hello"], b"", &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is a demo running?"),
        "{}",
        text(&out.stderr)
    );
}
