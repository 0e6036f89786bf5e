//! The Debian package of `deploy/debian/build-deb.sh`, built from this test's own binaries:
//! its files are where Debian expects them, its systemd unit passes `systemd-analyze
//! verify` with no warning and `systemd-analyze security` rates it well hardened, and the
//! packaged `swim-protocol-sync`, run with the environment the unit gives it (settings from
//! an env file, the secret from a credential file), joins a cluster.
//!
//! Skipped with a notice without `dpkg-deb` or `systemd-analyze`; with
//! `SWIM_REQUIRE_DEB=1` (set by `.ci/run`) it fails instead. Installing the package with
//! `dpkg` and running the unit under systemd: `crates/swim-e2e/tests/debian_package.rs`.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{free_address, poll_for, ChildGuard};

const SYNC: &str = env!("CARGO_BIN_EXE_swim-protocol-sync");

/// Most exposure `systemd-analyze security` may give the unit (0 best, 10 worst; "OK" is
/// below 2).
const MAX_EXPOSURE: f64 = 2.0;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether `tool` runs; without it, a notice (or a failure when required).
fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("SWIM_REQUIRE_DEB").is_none(),
            "{tool} is missing and SWIM_REQUIRE_DEB is set"
        );
        eprintln!("notice: the Debian package test is skipped: no {tool} (set SWIM_REQUIRE_DEB=1 to fail instead)");
    }
    found
}

/// Runs `cmd`; its standard output, or a failure with everything it said.
fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{stdout}\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

/// Builds the package from the binaries of this test build and unpacks it into `root`.
fn build_and_unpack(tmp: &Path, root: &Path) -> PathBuf {
    let bins = Path::new(SYNC).parent().expect("target/PROFILE");
    let profile = bins.file_name().and_then(|n| n.to_str()).expect("profile");
    let (stdout, _) = run(Command::new("bash")
        .arg(repo().join("deploy/debian/build-deb.sh"))
        .args(["--profile", profile, "--no-cargo", "--fast", "--out"])
        .arg(tmp)
        .env("CARGO_TARGET_DIR", bins.parent().expect("target")));
    let deb = PathBuf::from(stdout.trim());
    assert!(deb.is_file(), "no package at {deb:?}");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root));
    deb
}

#[test]
fn the_package_installs_a_verified_hardened_unit_and_a_working_tool() {
    if !have("dpkg-deb") || !have("systemd-analyze") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let deb = build_and_unpack(tmp.path(), &root);

    let (info, _) = run(Command::new("dpkg-deb")
        .arg("-f")
        .arg(&deb)
        .args(["Package", "Depends"]));
    assert!(
        info.contains("Package: swim-tools") && info.contains("libc6 (>="),
        "{info}"
    );
    for file in [
        "usr/bin/swim-protocol-sync",
        "usr/bin/swim-protocol-demo",
        "lib/systemd/system/swim-protocol-sync@.service",
        "usr/share/man/man1/swim-protocol-sync.1.gz",
        "usr/share/bash-completion/completions/swim-protocol-sync",
        "usr/share/doc/swim-tools/copyright",
        "usr/share/doc/swim-tools/example.env",
    ] {
        assert!(root.join(file).is_file(), "{file} is not in the package");
    }

    // The unit, verified in the unpacked tree (with this host's targets, which a system
    // has and the package does not ship): no error and no warning.
    let units = root.join("lib/systemd/system");
    for entry in fs::read_dir("/lib/systemd/system").unwrap().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".target") || name.ends_with(".slice") {
            let _ = fs::copy(entry.path(), units.join(&*name));
        }
    }
    let unit = "swim-protocol-sync@test.service";
    let (_, warnings) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.display()))
        .arg(unit));
    assert!(
        warnings.trim().is_empty(),
        "systemd-analyze verify: {warnings}"
    );
    let (security, _) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(format!("--root={}", root.display()))
        .arg(unit));
    let exposure: f64 = security
        .lines()
        .find_map(|l| l.split("Overall exposure level for ").nth(1))
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|level| level.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{security}"));
    assert!(exposure <= MAX_EXPOSURE, "exposure {exposure}:\n{security}");

    // The packaged tool, given what the unit gives it: the settings of an env file and the
    // secret as a credential file, joins a member run from this build.
    let secret = tmp.path().join("credentials-secret");
    fs::write(&secret, "packaged secret\n").unwrap();
    let (packaged, other) = (free_address(), free_address());
    let packaged_dir = tmp.path().join("state-packaged");
    let other_dir = tmp.path().join("state-other");
    let log = |name: &str| fs::File::create(tmp.path().join(name)).unwrap();
    let _packaged = ChildGuard(
        Command::new(root.join("usr/bin/swim-protocol-sync"))
            .arg(&packaged_dir)
            .env_clear()
            .env("SWIM_NAME", &packaged)
            .env("SWIM_PEERS", &other)
            .env("SWIM_SECRET_FILE", &secret)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log("packaged.log"))
            .spawn()
            .unwrap(),
    );
    let _other = ChildGuard(
        Command::new(SYNC)
            .args([
                "--name",
                &other,
                "--peer",
                &packaged,
                "--secret",
                "packaged secret",
            ])
            .arg(&other_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log("other.log"))
            .spawn()
            .unwrap(),
    );
    let online = |dir: &Path, name: &str| dir.join(".online").join(name).exists();
    let joined = poll_for(Duration::from_secs(30), Duration::from_millis(50), || {
        (online(&packaged_dir, &other) && online(&other_dir, &packaged)).then_some(())
    });
    assert!(
        joined.is_some(),
        "the packaged tool did not join:\n{}\n{}",
        fs::read_to_string(tmp.path().join("packaged.log")).unwrap_or_default(),
        fs::read_to_string(tmp.path().join("other.log")).unwrap_or_default()
    );
}
