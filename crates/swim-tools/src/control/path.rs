//! Where the control socket is.
//!
//! - `swim-protocol-sync`: `.control` in its base directory (so `BASE/.control`); each
//!   member on a host has its own base directory, hence its own socket, and the client run
//!   in that directory finds it without options.
//! - `swim-protocol-demo`: `NAME.sock` (the member's name) in `$XDG_RUNTIME_DIR/swim-protocol-demo`,
//!   or in `/tmp/swim-protocol-demo-UID` without `XDG_RUNTIME_DIR`; the directory is created
//!   mode 0700 and must belong to the user. The client takes the only socket there, or
//!   `--control` when there are several.
//!
//! `--control PATH` (or `SWIM_CONTROL`) chooses another path, for the member and the client
//! alike.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::client::ClientError;

/// The socket's name in the sync tool's base directory (a dotfile: no member can be named so).
pub const SYNC_SOCKET_NAME: &str = ".control";

/// The sync tool's socket: `base/.control`.
pub fn sync_socket(base: &Path) -> PathBuf {
    base.join(SYNC_SOCKET_NAME)
}

/// The directory of the demo's sockets: `RUNTIME/swim-protocol-demo` when `runtime_dir`
/// (`$XDG_RUNTIME_DIR`) is set and absolute, else `/tmp/swim-protocol-demo-UID`.
pub fn demo_dir(runtime_dir: Option<OsString>, uid: u32) -> PathBuf {
    match runtime_dir.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir.join("swim-protocol-demo"),
        _ => PathBuf::from(format!("/tmp/swim-protocol-demo-{uid}")),
    }
}

/// The demo directory of this process's user.
pub fn demo_dir_here() -> PathBuf {
    demo_dir(
        std::env::var_os("XDG_RUNTIME_DIR"),
        nix::unistd::getuid().as_raw(),
    )
}

/// The demo's socket for `member` in `dir`: `NAME.sock`, with any character outside
/// `[A-Za-z0-9._:[]-]` (and a leading `.`) replaced by `_`.
pub fn demo_socket(dir: &Path, member: &str) -> PathBuf {
    let mut name: String = member
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._:[]-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    dir.join(format!("{name}.sock"))
}

/// The demo member `name`'s socket: `explicit` (`--control`) if given, else its socket in
/// [`demo_dir_here`], which is created (or checked) private first.
pub fn demo_socket_for(name: &str, explicit: Option<&Path>) -> io::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let dir = demo_dir_here();
    ensure_private_dir(&dir)?;
    Ok(demo_socket(&dir, name))
}

/// Creates `dir` mode 0700 if missing; an existing one must be a real directory (not a
/// symlink) owned by this user and writable by no one else, or it is refused.
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(err),
    }
    let meta = fs::symlink_metadata(dir)?;
    let uid = nix::unistd::getuid().as_raw();
    if !meta.file_type().is_dir() {
        Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )))
    } else if meta.uid() != uid {
        Err(io::Error::other(format!(
            "{} belongs to uid {}, not to this user (uid {uid})",
            dir.display(),
            meta.uid()
        )))
    } else if meta.permissions().mode() & 0o022 != 0 {
        Err(io::Error::other(format!(
            "{} is writable by others (mode {:o})",
            dir.display(),
            meta.permissions().mode() & 0o777
        )))
    } else {
        Ok(())
    }
}

/// The only socket in `dir`, for a client given no `--control`: none is a failure (no member
/// is running: exit status 1), several a usage error (which one: 2).
pub fn only_socket(dir: &Path) -> Result<PathBuf, ClientError> {
    let hint = "give --control PATH";
    let none = |why: String| {
        ClientError::failure(format!(
            "no member's control socket in {}{why} (is a demo running?)",
            dir.display()
        ))
    };
    let entries = fs::read_dir(dir).map_err(|err| none(format!(": {err}")))?;
    let mut sockets: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_socket()))
        .map(|entry| entry.path())
        .collect();
    sockets.sort();
    match sockets.len() {
        0 => Err(none(String::new())),
        1 => Ok(sockets.remove(0)),
        _ => Err(ClientError::usage(format!(
            "several members' control sockets in {}: {}; {hint}",
            dir.display(),
            sockets
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_directory_prefers_the_runtime_directory() {
        assert_eq!(
            demo_dir(Some("/run/user/1000".into()), 1000),
            PathBuf::from("/run/user/1000/swim-protocol-demo")
        );
        assert_eq!(
            demo_dir(None, 1000),
            PathBuf::from("/tmp/swim-protocol-demo-1000")
        );
        assert_eq!(
            demo_dir(Some("relative".into()), 7),
            PathBuf::from("/tmp/swim-protocol-demo-7")
        );
    }

    #[test]
    fn demo_sockets_are_named_after_the_member_safely() {
        let dir = Path::new("/d");
        assert_eq!(
            demo_socket(dir, "127.0.0.1:2001"),
            PathBuf::from("/d/127.0.0.1:2001.sock")
        );
        assert_eq!(demo_socket(dir, "../x y"), PathBuf::from("/d/_.._x_y.sock"));
        assert_eq!(demo_socket(dir, ""), PathBuf::from("/d/_.sock"));
    }

    #[test]
    fn a_shared_or_foreign_directory_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("demo");
        ensure_private_dir(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        ensure_private_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(ensure_private_dir(&dir).is_err());
        let link = temp.path().join("link");
        std::os::unix::fs::symlink(temp.path(), &link).unwrap();
        assert!(ensure_private_dir(&link).is_err());
    }
}
