//! The Debian package of `deploy/debian/build-deb.sh`, installed with `dpkg -i` on a clean
//! Debian with systemd as PID 1 (the image of `scripts/debian-systemd-image.sh`, built once
//! per machine): two instances of `swim-protocol-sync@.service` start from their env and
//! secret files, run unprivileged, join each other and answer the `members` query; the
//! commands of deploy/README.md's Debian section, pasted, start a third; `systemctl
//! stop` is a clean leave (status 0, the other member sees OFFLINE at once); `dpkg -r` stops
//! the running instances and removes the package's files but keeps the administrator's, and
//! `dpkg --purge` forgets the instances and their state.
//!
//! The members listen on fixed ports inside the container's own network namespace, where
//! nothing else runs. Skipped with a notice without Docker (`SWIM_REQUIRE_DOCKER=1` fails
//! instead) or without `dpkg-deb`, or `mmdebstrap` while the image is not built yet
//! (`SWIM_REQUIRE_DEB=1` fails instead).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use swim_e2e::docker::{docker, one_at_a_time, require_docker, run_for, unique_name, CommandError};
use swim_e2e::images::repo_file;
use swim_e2e::poll::{figure, wait_for};
use swim_e2e::resources::Resources;

/// The first build downloads Debian's packages; later runs find the image.
const IMAGE_TIMEOUT: Duration = Duration::from_secs(900);
/// The package script builds the `dist` binaries first (`.ci/run` has built them).
const PACKAGE_TIMEOUT: Duration = Duration::from_secs(1800);
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The two instances: name, address, metrics address.
const A: (&str, &str, &str) = ("a", "127.0.0.1:7001", "127.0.0.1:9101");
const B: (&str, &str, &str) = ("b", "127.0.0.1:7002", "127.0.0.1:9102");

/// Whether all of `tools` are on the PATH; if not, one notice naming the missing ones (or a
/// failure with `SWIM_REQUIRE_DEB=1`).
fn have_all(tools: &[&str]) -> bool {
    let on_path = |tool: &&str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing: Vec<&str> = tools.iter().filter(|t| !on_path(t)).copied().collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    if std::env::var_os("SWIM_REQUIRE_DEB").is_some() {
        panic!("the Debian package test on systemd needs {missing}, and SWIM_REQUIRE_DEB is set");
    }
    eprintln!("notice: the Debian package test on systemd is skipped: no {missing} (set SWIM_REQUIRE_DEB=1 to fail instead)");
    false
}

/// `sh -c script` in `container`, as root; its standard output.
fn sh(container: &str, script: &str) -> Result<String, CommandError> {
    docker(&["exec", container, "sh", "-c", script])
}

/// The members `instance` reports through its metrics address: (name, status) pairs.
fn members(container: &str, metrics: &str) -> Result<Vec<(String, String)>, String> {
    let table = sh(
        container,
        &format!("swim-protocol-sync members --addr {metrics}"),
    )
    .map_err(|e| e.to_string())?;
    Ok(table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut words = line.split_whitespace().filter(|w| *w != "(local)");
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect())
}

fn status_of(container: &str, metrics: &str, name: &str) -> Result<Option<String>, String> {
    Ok(members(container, metrics)?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, status)| status))
}

/// `systemctl show -p PROPERTY --value unit`.
fn property(container: &str, unit: &str, property: &str) -> String {
    sh(
        container,
        &format!("systemctl show -p {property} --value {unit}"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn unit(instance: &str) -> String {
    format!("swim-protocol-sync@{instance}.service")
}

/// The commands of deploy/README.md's Debian section that set up and start an instance, as
/// written (the package's build and install lines aside: this test installs the package it
/// built with `dpkg -i`).
fn readme_instance_commands() -> String {
    let readme = std::fs::read_to_string(repo_file("deploy/README.md")).unwrap();
    let section = readme
        .split("\n## Debian package and systemd\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("deploy/README.md has a Debian section");
    let commands: Vec<&str> = section
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .filter(|line| !line.contains("build-deb.sh") && !line.contains("apt install"))
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("systemctl enable --now")),
        "no instance is started in deploy/README.md's Debian section:\n{section}"
    );
    commands.join("\n")
}

/// The journal of the package's units, for failure messages.
fn journal(container: &str) -> impl Fn() -> String + '_ {
    move || {
        sh(
            container,
            "journalctl --no-pager -n 60 -u 'swim-protocol-sync@*' 2>&1",
        )
        .unwrap_or_else(|e| e.to_string())
    }
}

#[test]
fn the_package_installs_starts_leaves_and_purges_under_systemd() {
    let test = "the_package_installs_starts_leaves_and_purges_under_systemd";
    if !require_docker(test) || !have_all(&["dpkg-deb"]) {
        return;
    }
    let image_script = repo_file("crates/swim-e2e/scripts/debian-systemd-image.sh");
    let image_built = run_for(IMAGE_TIMEOUT, "bash", &[&image_script, "--print-tag"], &[]).is_ok();
    if !image_built && !have_all(&["mmdebstrap"]) {
        return;
    }
    let _turn = one_at_a_time();
    let mut resources = Resources::new();
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let image = run_for(IMAGE_TIMEOUT, "bash", &[&image_script], &[]).expect("image");
    let out = tmp.path().to_string_lossy().into_owned();
    let deb = run_for(
        PACKAGE_TIMEOUT,
        "bash",
        &[
            &repo_file("deploy/debian/build-deb.sh"),
            "--fast",
            "--out",
            &out,
        ],
        &[],
    )
    .expect("package");
    figure("Debian image and package ready", started.elapsed());

    // A clean system: what systemd in a container needs is said in the image script.
    let c = unique_name("debian");
    resources.container(&c);
    docker(&[
        "run",
        "-d",
        "--name",
        &c,
        "--cap-add",
        "SYS_ADMIN",
        "-v",
        "/sys/fs/cgroup:/sys/fs/cgroup:ro",
        &image,
    ])
    .expect("container");
    let booted = Instant::now();
    wait_for(
        "systemd runs",
        BOOT_TIMEOUT,
        || {
            let state = sh(&c, "systemctl is-system-running || true").map_err(|e| e.to_string())?;
            Ok((state == "running").then_some(()))
        },
        || {
            sh(
                &c,
                "systemctl --failed --no-pager 2>&1; journalctl -b --no-pager -n 30 2>&1",
            )
            .unwrap_or_else(|e| e.to_string())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure("systemd up in the container", booted.elapsed());

    docker(&["cp", &deb, &format!("{c}:/tmp/swim-tools.deb")]).unwrap();
    sh(&c, "dpkg -i /tmp/swim-tools.deb").expect("dpkg -i");
    // The installed unit, on a real system with all its targets: no error, no warning (this
    // minimal system has no `man` to check the unit's Documentation= with).
    let verify = sh(
        &c,
        &format!("systemd-analyze verify --man=no {} 2>&1", unit("a")),
    )
    .unwrap();
    assert!(verify.is_empty(), "systemd-analyze verify: {verify}");

    // Each instance's settings and secret, as the unit's comments say.
    for (instance, name, metrics) in [A, B] {
        let peer = if name == A.1 { B.1 } else { A.1 };
        sh(
            &c,
            &format!(
                "printf 'SWIM_NAME={name}\\nSWIM_PEERS={peer}\\nSWIM_METRICS_ADDR={metrics}\\n' > /etc/swim/{instance}.env"
            ),
        )
        .unwrap();
    }
    sh(
        &c,
        "umask 077 && head -c 32 /dev/urandom | base64 > /etc/swim/a.secret && cp /etc/swim/a.secret /etc/swim/b.secret",
    )
    .unwrap();
    let joining = Instant::now();
    sh(
        &c,
        &format!("systemctl enable --now {} {}", unit("a"), unit("b")),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", journal(&c)()));
    wait_for(
        "both instances see each other ONLINE",
        JOIN_TIMEOUT,
        || {
            let a_sees = status_of(&c, A.2, B.1)?;
            let b_sees = status_of(&c, B.2, A.1)?;
            Ok(
                (a_sees.as_deref() == Some("ONLINE") && b_sees.as_deref() == Some("ONLINE"))
                    .then_some(()),
            )
        },
        journal(&c),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    figure("two unit instances joined", joining.elapsed());

    // The member runs as a user of its own, with no capability.
    let pid = property(&c, &unit("a"), "MainPID");
    let status = sh(&c, &format!("grep -E '^(Uid|CapEff):' /proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .unwrap_or_default()
        .to_owned();
    assert!(!uid.is_empty() && uid != "0", "{status}");
    assert!(status.contains("CapEff:\t0000000000000000"), "{status}");

    // deploy/README.md's commands, pasted as root (with `sudo` doing nothing more), all
    // succeed and start a lone member on the container's address, whose mirror appears.
    let pasted = format!("sudo() {{ \"$@\"; }}\n{}", readme_instance_commands());
    docker(&["exec", &c, "bash", "-e", "-c", &pasted])
        .unwrap_or_else(|e| panic!("deploy/README.md's commands: {e}\n{}", journal(&c)()));
    assert_eq!(property(&c, &unit("web"), "ActiveState"), "active");
    wait_for(
        "the README's member has its mirror",
        JOIN_TIMEOUT,
        || Ok(sh(&c, "test -d /var/lib/swim/web/.online").ok()),
        journal(&c),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // `systemctl stop`: a clean leave, which the other member sees at once.
    sh(&c, &format!("systemctl stop {}", unit("b"))).unwrap();
    assert_eq!(property(&c, &unit("b"), "Result"), "success");
    assert_eq!(property(&c, &unit("b"), "ExecMainStatus"), "0");
    wait_for(
        "a sees b OFFLINE",
        Duration::from_secs(10),
        || Ok((status_of(&c, A.2, B.1)?.as_deref() == Some("OFFLINE")).then_some(())),
        journal(&c),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // `dpkg -r` with an instance running: stopped, the package's files gone, the
    // administrator's settings, the state and the enablement kept for a reinstall.
    sh(&c, "dpkg -r swim-tools").expect("dpkg -r");
    assert_eq!(
        sh(
            &c,
            &format!("test -e /proc/{pid} && echo running || echo gone")
        )
        .unwrap(),
        "gone"
    );
    let web_state = sh(&c, &format!("systemctl is-active {} || true", unit("web"))).unwrap();
    assert_eq!(web_state, "inactive", "the README's instance after dpkg -r");
    let left = |paths: &str| {
        sh(&c, &format!("for p in {paths}; do if test -e \"$p\" || test -L \"$p\"; then echo \"$p\"; fi; done"))
            .unwrap()
    };
    assert_eq!(
        left("/usr/bin/swim-protocol-sync /usr/bin/swim-protocol-demo /lib/systemd/system/swim-protocol-sync@.service /usr/share/doc/swim-tools"),
        ""
    );
    let kept = "/etc/swim/a.env /etc/swim/a.secret /var/lib/private/swim/a \
                /etc/swim/web.env /var/lib/private/swim/web \
                /etc/systemd/system/multi-user.target.wants/swim-protocol-sync@a.service";
    assert_eq!(left(kept).lines().count(), 6, "{}", left(kept));

    // `dpkg --purge`: the instances' enablement and state are forgotten; the
    // administrator's files in /etc/swim stay theirs.
    sh(&c, "dpkg --purge swim-tools").expect("dpkg --purge");
    assert_eq!(
        left("/var/lib/swim /var/lib/private/swim /etc/systemd/system/multi-user.target.wants/swim-protocol-sync@a.service /etc/systemd/system/multi-user.target.wants/swim-protocol-sync@b.service"),
        ""
    );
    assert_eq!(left("/etc/swim/a.env"), "/etc/swim/a.env");
    assert!(sh(&c, "dpkg -s swim-tools").is_err(), "still installed");
    figure("the whole test", started.elapsed());
}
