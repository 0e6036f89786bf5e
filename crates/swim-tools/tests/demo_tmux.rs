//! End to end: three `swim-protocol-demo` members drawn in tmux windows on loopback. Text typed
//! in one window must appear in the others; Backspace must edit it; Ctrl-C and SIGTERM must end
//! the process cleanly and give the terminal back. Skipped, with a notice, without tmux.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::{free_address, poll_for};

const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");
const DEADLINE: Duration = Duration::from_secs(20);
/// What the shell around each demo prints when the demo has exited, before the status.
const EXIT_REPORT: &str = "demo exited with status";

/// A private tmux server (its own socket), killed with everything in it when dropped.
struct Tmux {
    socket: String,
    /// The socket file, which tmux leaves behind when its server is killed.
    socket_path: Option<String>,
}

impl Tmux {
    fn start() -> Option<Tmux> {
        let found = Command::new("tmux").arg("-V").output();
        if !found.is_ok_and(|out| out.status.success()) {
            return None;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let mut tmux = Tmux {
            socket: format!("swim-demo-test-{}-{nanos}", std::process::id()),
            socket_path: None,
        };
        // A placeholder window keeps the server up.
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "demo",
            "-x",
            "120",
            "-y",
            "30",
        ]);
        tmux.run(&["set-option", "-g", "default-size", "120x30"]);
        tmux.socket_path = Some(
            tmux.run(&["display-message", "-p", "#{socket_path}"])
                .trim()
                .to_owned(),
        );
        Some(tmux)
    }

    fn try_run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn window(&self, name: &str, command: &str) {
        self.run(&["new-window", "-d", "-t", "demo", "-n", name, command]);
    }

    fn capture(&self, window: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", &format!("demo:{window}")])
    }

    fn pane(&self, window: &str, format: &str) -> String {
        let target = format!("demo:{window}");
        self.run(&["display-message", "-p", "-t", &target, format])
            .trim()
            .to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The demos first: a demo that outlives its pane (the hangup lost, or ignored) would
        // go on running after the test, whatever made it end.
        let panes = self.try_run(&["list-panes", "-a", "-F", "#{pane_pid}"]);
        for shell in String::from_utf8_lossy(&panes.stdout).split_whitespace() {
            let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"));
            for pid in children.unwrap_or_default().split_whitespace() {
                if let Ok(pid) = pid.parse() {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                }
            }
        }
        let _ = self.try_run(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Polls `check` on the capture of `window` until it holds, or fails showing the screen.
fn wait_for_screen(tmux: &Tmux, window: &str, what: &str, check: impl Fn(&str) -> bool) {
    let mut screen = String::new();
    let seen = poll_for(DEADLINE, Duration::from_millis(100), || {
        screen = tmux.capture(window);
        check(&screen).then_some(())
    });
    assert!(
        seen.is_some(),
        "{window}: no {what} within {DEADLINE:?}:\n{screen}"
    );
}

/// The member-pane line of member `name` (event lines start with a time, not the name).
fn member_row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|line| {
        let text = line.trim_start_matches('│').trim_start();
        text.starts_with(name)
            || text
                .strip_prefix(">>>")
                .is_some_and(|t| t.trim_start().starts_with(name))
    })
}

/// The pid of the demo in `window`: the only child of the pane's shell.
fn demo_pid(tmux: &Tmux, window: &str) -> Pid {
    let shell = tmux.pane(window, "#{pane_pid}");
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let pids: Vec<i32> = children
        .split_whitespace()
        .map(|pid| pid.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 1, "children of the pane shell: {children:?}");
    Pid::from_raw(pids[0])
}

/// Waits for the wrapper shell's exit report in `window`, and checks the terminal was given
/// back (the full-screen view lives on the alternate screen, which tmux drops when left).
fn assert_exited_cleanly(tmux: &Tmux, window: &str, after: &str) {
    wait_for_screen(
        tmux,
        window,
        &format!("exit report after {after}"),
        |screen| screen.contains(EXIT_REPORT),
    );
    let screen = tmux.capture(window);
    assert!(
        screen.contains(&format!("{EXIT_REPORT} 0")),
        "after {after}:\n{screen}"
    );
    assert!(
        !screen.contains("Available:"),
        "terminal not restored after {after}:\n{screen}"
    );
}

#[test]
fn typed_text_spreads_and_the_demo_exits_cleanly() {
    let Some(tmux) = Tmux::start() else {
        eprintln!("demo_tmux: tmux is not installed; skipping (apt-get install -y tmux)");
        return;
    };
    let names: Vec<String> = (0..3).map(|_| free_address()).collect();
    for (i, name) in names.iter().enumerate() {
        let peer = &names[(i + 1) % names.len()];
        // The shell reports the exit status and stays, so the report stays on screen: tmux
        // 3.3 may miss a pane process's exit, or drop the last output of a pane that died.
        let command = format!(
            "'{DEMO}' --name {name} --peer {peer} --secret e2e-test; \
             echo {EXIT_REPORT} $?; sleep 600"
        );
        tmux.window(&format!("m{i}"), &command);
    }
    for window in ["m0", "m1", "m2"] {
        wait_for_screen(&tmux, window, "three available members", |screen| {
            screen.contains("Available: 3") && names.iter().all(|n| member_row(screen, n).is_some())
        });
    }
    let local = member_row(&tmux.capture("m0"), &names[0])
        .unwrap()
        .to_owned();
    assert!(local.contains(">>>"), "local member not marked: {local}");

    tmux.run(&["send-keys", "-t", "demo:m0", "-l", "hello swim"]);
    for window in ["m0", "m1", "m2"] {
        wait_for_screen(&tmux, window, "typed text", |screen| {
            member_row(screen, &names[0]).is_some_and(|row| row.contains("typed=hello swim"))
        });
    }
    tmux.run(&["send-keys", "-t", "demo:m0", "BSpace", "BSpace"]);
    wait_for_screen(&tmux, "m1", "edited text", |screen| {
        member_row(screen, &names[0])
            .is_some_and(|row| row.contains("typed=hello sw") && !row.contains("typed=hello swi"))
    });
    let events = tmux.capture("m1");
    assert!(events.contains("Events"), "{events}");

    // Ctrl-C in the full-screen view, then SIGTERM: clean exits and the terminal given back.
    tmux.run(&["send-keys", "-t", "demo:m0", "C-c"]);
    assert_exited_cleanly(&tmux, "m0", "Ctrl-C");
    kill(demo_pid(&tmux, "m2"), Signal::SIGTERM).unwrap();
    assert_exited_cleanly(&tmux, "m2", "SIGTERM");

    // The terminal hangs up (its window closed): the demo exits, it does not spin on a
    // terminal that is gone (it did, at full CPU, until killed).
    let demo = demo_pid(&tmux, "m1");
    tmux.run(&["kill-window", "-t", "demo:m1"]);
    let gone = poll_for(DEADLINE, Duration::from_millis(50), || {
        // Gone, or a zombie waiting for whoever inherited it.
        let stat = std::fs::read_to_string(format!("/proc/{demo}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or_default().trim_start();
        (stat.is_empty() || state.starts_with('Z')).then_some(())
    });
    assert!(
        gone.is_some(),
        "the demo (pid {demo}) still runs after its terminal hung up"
    );
}
