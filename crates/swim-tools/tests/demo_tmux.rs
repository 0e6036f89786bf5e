//! End to end: three `swim-protocol-demo` members drawn in tmux windows on loopback. Text typed
//! in one window must appear in the others; Backspace must edit it; Ctrl-C and SIGTERM must end
//! the process cleanly and give the terminal back. Skipped, with a notice, without tmux.

use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");
const DEADLINE: Duration = Duration::from_secs(20);

/// A private tmux server (its own socket), killed with everything in it when dropped.
struct Tmux {
    socket: String,
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
        let tmux = Tmux {
            socket: format!("swim-demo-test-{}-{nanos}", std::process::id()),
        };
        // A placeholder window keeps the server up; panes stay visible after their process
        // exits so that the exit status can be read.
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
        tmux.run(&["set-option", "-g", "remain-on-exit", "on"]);
        tmux.run(&["set-option", "-g", "default-size", "120x30"]);
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
        let _ = self.try_run(&["kill-server"]);
    }
}

/// A loopback port free for both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `check` on the capture of `window` until it holds, or fails showing the screen.
fn wait_for_screen(tmux: &Tmux, window: &str, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let screen = tmux.capture(window);
        if check(&screen) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{window}: no {what} within {DEADLINE:?}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
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

fn wait_until_dead(tmux: &Tmux, window: &str) -> String {
    let deadline = Instant::now() + DEADLINE;
    while tmux.pane(window, "#{pane_dead}") != "1" {
        assert!(
            Instant::now() < deadline,
            "{window} still running:\n{}",
            tmux.capture(window)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.pane(window, "#{pane_dead_status}")
}

#[test]
fn typed_text_spreads_and_the_demo_exits_cleanly() {
    let Some(tmux) = Tmux::start() else {
        eprintln!("demo_tmux: tmux is not installed; skipping (apt-get install -y tmux)");
        return;
    };
    let names: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let peer = &names[(i + 1) % names.len()];
        let command = format!("exec '{DEMO}' --name {name} --peer {peer} --secret e2e-test");
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

    // Ctrl-C in the full-screen view: a clean exit and the normal screen back.
    tmux.run(&["send-keys", "-t", "demo:m0", "C-c"]);
    assert_eq!(
        wait_until_dead(&tmux, "m0"),
        "0",
        "exit status after Ctrl-C"
    );
    let after = tmux.capture("m0");
    assert!(
        !after.contains("Available:"),
        "alternate screen not left:\n{after}"
    );

    // SIGTERM: the same.
    let pid: i32 = tmux.pane("m2", "#{pane_pid}").parse().unwrap();
    kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    assert_eq!(
        wait_until_dead(&tmux, "m2"),
        "0",
        "exit status after SIGTERM"
    );
    assert!(!tmux.capture("m2").contains("Available:"));
}
