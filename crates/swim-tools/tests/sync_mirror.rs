//! The mirror on a temporary directory, fed crafted snapshots (no network).

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::STATUS_DIRS;
use swim_protocol::{MemberName, MemberSnapshot, Status};
use swim_tools::sync::{Mirror, MirrorError, Outcome};

const LOCAL: &str = "127.0.0.1:2001";
const REMOTE: &str = "127.0.0.1:2002";

fn member(name: &str, status: Status, metadata: Option<&[(&str, &str)]>) -> MemberSnapshot {
    MemberSnapshot {
        name: MemberName::from(name),
        local: false,
        clock: 1,
        status,
        status_time: Duration::ZERO,
        metadata: metadata.map(|pairs| pairs.iter().map(|(k, v)| (*k, v.as_bytes())).collect()),
        left: false,
    }
}

/// Every path under `root`, relative, with `/` after directories and `-> target` for links.
fn tree(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                out.insert(format!(
                    "{rel} -> {}",
                    fs::read_link(&path).unwrap().display()
                ));
            } else if meta.is_dir() {
                out.insert(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The five status directories, as [`tree`] lists them, and `more`.
fn layout_and(more: &[&str]) -> BTreeSet<String> {
    let dirs = STATUS_DIRS.iter().map(|dir| format!("{dir}/"));
    dirs.chain(more.iter().map(|s| s.to_string())).collect()
}

fn links(base: &Path, status_dir: &str) -> Vec<String> {
    let mut names: Vec<_> = fs::read_dir(base.join(status_dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn mirrored(outcome: Outcome) -> (PathBuf, Vec<MirrorError>) {
    match outcome {
        Outcome::Mirrored { dir, problems } => (dir, problems),
        other => panic!("expected Mirrored, got {other:?}"),
    }
}

fn age(path: &Path) {
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::open(path).unwrap().set_modified(old).unwrap();
}

fn is_touched(path: &Path) -> bool {
    fs::metadata(path).unwrap().mtime() > 1_000_000_000
}

#[test]
fn open_lays_out_the_seed_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("node1");
    Mirror::open(&base, LOCAL).unwrap();
    let expected = layout_and(&[".local -> 127.0.0.1:2001", "127.0.0.1:2001/"]);
    assert_eq!(tree(&base), expected);
}

#[test]
fn statuses_become_links_in_each_set_and_touch_the_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    let (dir, problems) = mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[]))));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(dir, base.join(REMOTE));
    assert_eq!(
        fs::read_link(base.join(".online").join(REMOTE)).unwrap(),
        Path::new("../127.0.0.1:2002")
    );
    let cases = [
        (Status::Online, [".available", ".online"].as_slice()),
        (Status::Suspect, &[".available", ".suspect", ".unavailable"]),
        (Status::Offline, &[".offline", ".unavailable"]),
        (Status::Online, &[".available", ".online"]),
    ];
    for (status, dirs) in cases {
        for sub in STATUS_DIRS {
            age(&base.join(sub));
        }
        let before: Vec<_> = STATUS_DIRS
            .iter()
            .map(|sub| links(base, sub).len())
            .collect();
        mirrored(mirror.apply(&member(REMOTE, status, Some(&[]))));
        for (i, sub) in STATUS_DIRS.iter().enumerate() {
            let listed = links(base, sub);
            assert_eq!(
                listed.len(),
                usize::from(dirs.contains(sub)),
                "{status} {sub}"
            );
            assert_eq!(
                is_touched(&base.join(sub)),
                listed.len() != before[i],
                "{status} {sub} mtime"
            );
        }
    }
}

#[test]
fn metadata_becomes_files_and_removed_keys_go() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    mirrored(mirror.apply(&member(
        REMOTE,
        Status::Online,
        Some(&[("a", "1"), ("b", "2")]),
    )));
    let dir = base.join(REMOTE);
    assert_eq!(fs::read_to_string(dir.join("a")).unwrap(), "1");
    assert_eq!(fs::read_to_string(dir.join("b")).unwrap(), "2");
    let inode_a = fs::metadata(dir.join("a")).unwrap().ino();
    age(&dir);
    mirrored(mirror.apply(&member(
        REMOTE,
        Status::Online,
        Some(&[("a", "1"), ("c", "3")]),
    )));
    assert!(is_touched(&dir), "the member directory's mtime is touched");
    assert_eq!(tree(&dir), set(&["a", "c"]));
    assert_eq!(
        fs::metadata(dir.join("a")).unwrap().ino(),
        inode_a,
        "unchanged file not rewritten"
    );
    // Unknown metadata leaves the files alone.
    mirrored(mirror.apply(&member(REMOTE, Status::Suspect, None)));
    assert_eq!(tree(&dir), set(&["a", "c"]));
    mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[]))));
    assert!(tree(&dir).is_empty());
}

#[test]
fn the_local_member_is_never_written() {
    let tmp = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::open(tmp.path(), LOCAL).unwrap();
    fs::write(tmp.path().join(LOCAL).join("mine"), b"x").unwrap();
    let mut local = member(LOCAL, Status::Online, Some(&[("other", "y")]));
    assert!(matches!(mirror.apply(&local), Outcome::Local));
    local.local = true;
    local.name = MemberName::from("renamed");
    assert!(matches!(mirror.apply(&local), Outcome::Local));
    assert_eq!(tree(&tmp.path().join(LOCAL)), set(&["mine"]));
    assert!(!tmp.path().join("renamed").exists());
}

#[test]
fn hostile_names_and_keys_never_leave_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    let mut mirror = Mirror::open(&base, LOCAL).unwrap();
    let before_outside = tree(tmp.path());
    let hostile_names = [
        "../x",
        "a/b",
        ".hidden",
        "",
        ".",
        "..",
        "/tmp/evil",
        "on-update",
        "x\0y",
        ".online",
    ];
    for name in hostile_names {
        let outcome = mirror.apply(&member(name, Status::Online, Some(&[("k", "v")])));
        assert!(
            matches!(outcome, Outcome::Refused(_)),
            "{name:?}: {outcome:?}"
        );
    }
    assert_eq!(
        tree(tmp.path()),
        before_outside,
        "nothing written for hostile names"
    );

    let hostile_keys = [
        ("../../escape", "x"),
        ("a/b", "x"),
        ("/abs", "x"),
        (".hidden", "x"),
        ("", "x"),
        ("..", "x"),
        ("nul\0", "x"),
        ("ok", "fine"),
    ];
    let (dir, problems) =
        mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&hostile_keys))));
    assert_eq!(problems.len(), hostile_keys.len() - 1, "{problems:?}");
    assert!(problems
        .iter()
        .all(|p| matches!(p, MirrorError::UnsafeKey { .. })));
    assert_eq!(tree(&dir), set(&["ok"]));
    let mut expected = before_outside.clone();
    for added in [
        "base/127.0.0.1:2002/",
        "base/127.0.0.1:2002/ok",
        "base/.online/127.0.0.1:2002 -> ../127.0.0.1:2002",
        "base/.available/127.0.0.1:2002 -> ../127.0.0.1:2002",
    ] {
        expected.insert(added.to_owned());
    }
    assert_eq!(tree(tmp.path()), expected);
}

#[test]
fn planted_symlinks_are_replaced_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("k"), b"precious").unwrap();
    let base = tmp.path().join("base");
    fs::create_dir(&base).unwrap();
    // A status directory and a member directory planted as links to the outside.
    symlink(&outside, base.join(".online")).unwrap();
    symlink(&outside, base.join(REMOTE)).unwrap();
    let mut mirror = Mirror::open(&base, LOCAL).unwrap();
    let (dir, problems) =
        mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[("k", "new")]))));
    assert!(problems.is_empty(), "{problems:?}");
    assert!(!fs::symlink_metadata(&dir).unwrap().is_symlink());
    // A key planted as a link to an outside file.
    fs::remove_file(dir.join("k")).unwrap();
    symlink(outside.join("k"), dir.join("k")).unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Offline, Some(&[("k", "newer")]))));
    assert_eq!(fs::read_to_string(dir.join("k")).unwrap(), "newer");
    assert_eq!(tree(&outside), set(&["k"]));
    assert_eq!(fs::read(outside.join("k")).unwrap(), b"precious");
    mirror.cleanup();
    assert_eq!(fs::read(outside.join("k")).unwrap(), b"precious");
}

#[test]
fn a_crashed_run_is_reconciled_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    for sub in STATUS_DIRS {
        fs::create_dir(base.join(sub)).unwrap();
    }
    for (name, sub) in [
        ("b:1", ".online"),
        ("b:1", ".available"),
        ("c:1", ".offline"),
        (LOCAL, ".online"),
    ] {
        symlink(format!("../{name}"), base.join(sub).join(name)).unwrap();
    }
    fs::create_dir(base.join("b:1")).unwrap();
    fs::write(base.join("b:1/stale"), b"x").unwrap();
    fs::write(base.join("b:1/.k.tmp123"), b"x").unwrap();
    fs::create_dir(base.join("c:1")).unwrap();
    fs::create_dir(base.join(LOCAL)).unwrap();
    fs::write(base.join(LOCAL).join("mine"), b"kept").unwrap();
    fs::create_dir(base.join("unrelated")).unwrap();
    fs::write(base.join("unrelated/file"), b"kept").unwrap();
    symlink("old-name:1", base.join(".local")).unwrap();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    let expected = layout_and(&[
        ".local -> 127.0.0.1:2001",
        "127.0.0.1:2001/",
        "127.0.0.1:2001/mine",
        "b:1/",
        "c:1/",
        "unrelated/",
        "unrelated/file",
    ]);
    assert_eq!(tree(base), expected);
    mirrored(mirror.apply(&member("b:1", Status::Online, Some(&[("k", "v")]))));
    assert_eq!(tree(&base.join("b:1")), set(&["k"]));
}

#[test]
fn cleanup_undoes_the_run_like_the_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    fs::write(base.join(LOCAL).join("mine"), b"kept").unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[("k", "v")]))));
    mirrored(mirror.apply(&member("b:1", Status::Offline, Some(&[("k", "v")]))));
    let problems = mirror.cleanup();
    assert!(problems.is_empty(), "{problems:?}");
    let expected = layout_and(&[
        "127.0.0.1:2001/",
        "127.0.0.1:2001/mine",
        "127.0.0.1:2002/",
        "b:1/",
    ]);
    assert_eq!(tree(base), expected);
}

#[test]
fn an_unsafe_local_name_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["a/b", "..", "", "on-update"] {
        let err = Mirror::open(tmp.path(), name).unwrap_err();
        assert!(
            matches!(err, MirrorError::UnsafeLocalName { .. }),
            "{name:?}: {err}"
        );
    }
}

#[test]
fn files_are_written_owner_only_as_the_seed_does_unless_told() {
    let tmp = tempfile::tempdir().unwrap();
    let mode = |path: PathBuf| fs::metadata(path).unwrap().mode() & 0o777;
    let mut mirror = Mirror::open(tmp.path().join("a"), LOCAL).unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[("k", "v")]))));
    assert_eq!(mode(tmp.path().join("a").join(REMOTE).join("k")), 0o600);
    let mut mirror = Mirror::open(tmp.path().join("b"), LOCAL)
        .unwrap()
        .with_file_mode(0o644);
    mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[("k", "v")]))));
    assert_eq!(mode(tmp.path().join("b").join(REMOTE).join("k")), 0o644);
}

#[test]
fn a_forgotten_member_loses_its_directory_and_links() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Offline, Some(&[("k", "v")]))));
    assert!(base.join(REMOTE).join("k").exists());
    let problems = mirror.forget(REMOTE);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        tree(base),
        layout_and(&[".local -> 127.0.0.1:2001", "127.0.0.1:2001/"])
    );
    // The local member, and names that cannot be paths, are left alone.
    assert!(mirror.forget(LOCAL).is_empty());
    assert!(base.join(LOCAL).is_dir());
    assert!(mirror.forget("../escape").is_empty());
}

#[test]
fn a_forgotten_members_directory_stays_if_something_else_is_in_it() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Offline, Some(&[("k", "v")]))));
    fs::create_dir(base.join(REMOTE).join("kept")).unwrap();
    assert!(mirror.forget(REMOTE).is_empty());
    assert!(base.join(REMOTE).join("kept").is_dir());
    assert!(!base.join(REMOTE).join("k").exists());
    assert!(links(base, ".offline").is_empty());
}

#[test]
fn an_unchanged_member_is_not_written_again() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    let online = member(REMOTE, Status::Online, Some(&[("a", "1"), ("b", "2")]));
    mirrored(mirror.apply(&online));
    // The directory, two links, two files.
    assert_eq!(mirror.writes(), 5);
    let dir = base.join(REMOTE);
    let inodes = |base: &Path| -> Vec<u64> {
        [
            dir.join("a"),
            dir.join("b"),
            base.join(".online").join(REMOTE),
            base.join(".available").join(REMOTE),
        ]
        .iter()
        .map(|path| fs::symlink_metadata(path).unwrap().ino())
        .collect()
    };
    let before = inodes(base);
    age(&dir);
    let (_, problems) = mirrored(mirror.apply(&online));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(mirror.writes(), 5, "nothing created, replaced or removed");
    assert_eq!(inodes(base), before);
    assert!(
        is_touched(&dir),
        "the member directory's mtime is still touched"
    );
    // A change writes only what changed: one file, then one link each way.
    mirrored(mirror.apply(&member(
        REMOTE,
        Status::Online,
        Some(&[("a", "1"), ("b", "3")]),
    )));
    assert_eq!(mirror.writes(), 6);
    assert_eq!(fs::read_to_string(dir.join("b")).unwrap(), "3");
    mirrored(mirror.apply(&member(
        REMOTE,
        Status::Suspect,
        Some(&[("a", "1"), ("b", "3")]),
    )));
    // .online goes, .suspect and .unavailable come; .available stays.
    assert_eq!(mirror.writes(), 9);
    assert_eq!(links(base, ".available"), [REMOTE]);
    assert_eq!(links(base, ".suspect"), [REMOTE]);
    assert!(links(base, ".online").is_empty());
}

#[test]
fn a_batch_touches_each_changed_status_directory_once() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    for name in ["b:1", "c:1", "d:1"] {
        mirrored(mirror.apply(&member(name, Status::Online, Some(&[]))));
    }
    for sub in STATUS_DIRS {
        age(&base.join(sub));
    }
    assert!(mirror.touch_status_dirs().is_empty());
    for sub in STATUS_DIRS {
        let changed = matches!(sub, ".online" | ".available");
        assert_eq!(is_touched(&base.join(sub)), changed, "{sub}");
        age(&base.join(sub));
    }
    assert!(mirror.touch_status_dirs().is_empty());
    for sub in STATUS_DIRS {
        assert!(!is_touched(&base.join(sub)), "{sub}: nothing changed since");
    }
    mirrored(mirror.apply(&member("b:1", Status::Offline, Some(&[]))));
    mirror.forget("c:1");
    mirror.touch_status_dirs();
    for sub in STATUS_DIRS {
        let changed = sub != ".suspect";
        assert_eq!(is_touched(&base.join(sub)), changed, "{sub}");
    }
}

#[test]
fn a_member_directory_replaced_by_a_symlink_between_changes_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("k"), b"precious").unwrap();
    let base = tmp.path().join("base");
    let mut mirror = Mirror::open(&base, LOCAL).unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[("k", "v")]))));
    let dir = base.join(REMOTE);
    fs::remove_file(dir.join("k")).unwrap();
    fs::remove_dir(&dir).unwrap();
    symlink(&outside, &dir).unwrap();
    let (_, problems) =
        mirrored(mirror.apply(&member(REMOTE, Status::Online, Some(&[("k", "new")]))));
    assert!(problems.is_empty(), "{problems:?}");
    assert!(!fs::symlink_metadata(&dir).unwrap().is_symlink());
    assert_eq!(fs::read_to_string(dir.join("k")).unwrap(), "new");
    assert_eq!(fs::read(outside.join("k")).unwrap(), b"precious");
    // Replaced again, and the metadata unchanged: the directory is still checked.
    fs::remove_file(dir.join("k")).unwrap();
    fs::remove_dir(&dir).unwrap();
    symlink(&outside, &dir).unwrap();
    mirrored(mirror.apply(&member(REMOTE, Status::Suspect, Some(&[("k", "new")]))));
    assert!(!fs::symlink_metadata(&dir).unwrap().is_symlink());
    assert_eq!(fs::read_to_string(dir.join("k")).unwrap(), "new");
    assert_eq!(tree(&outside), set(&["k"]));
    assert_eq!(fs::read(outside.join("k")).unwrap(), b"precious");
}

#[test]
fn a_directory_left_by_an_earlier_run_is_compared_not_rewritten() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let dir = base.join(REMOTE);
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("same"), b"1").unwrap();
    fs::write(dir.join("differs"), b"old").unwrap();
    fs::write(dir.join("gone"), b"x").unwrap();
    fs::write(dir.join(".12.34.tmp"), b"x").unwrap();
    fs::create_dir(dir.join("subdir")).unwrap();
    let same = fs::metadata(dir.join("same")).unwrap().ino();
    let mut mirror = Mirror::open(base, LOCAL).unwrap();
    let (_, problems) = mirrored(mirror.apply(&member(
        REMOTE,
        Status::Online,
        Some(&[("same", "1"), ("differs", "new"), ("added", "+")]),
    )));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(tree(&dir), set(&["added", "differs", "same", "subdir/"]));
    assert_eq!(fs::read_to_string(dir.join("differs")).unwrap(), "new");
    assert_eq!(fs::metadata(dir.join("same")).unwrap().ino(), same);
}
