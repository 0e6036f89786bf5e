//! File operations that never follow a symlink at the entry they change, and atomic writes.
//!
//! The mirror only ever changes an entry directly inside a directory it has checked to be a
//! real directory, so nothing planted in the base directory (a symlink to `/etc`, say) can
//! redirect a write or a removal elsewhere.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What is at a path, looked at without following a symlink there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing.
    Missing,
    /// A real directory.
    Dir,
    /// A regular file of this many bytes.
    File(u64),
    /// A symlink to this target.
    Symlink(PathBuf),
    /// A socket, FIFO or device.
    Other,
}

/// Looks at `path` without following a symlink there.
pub fn entry(path: &Path) -> io::Result<Entry> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Entry::Missing),
        Err(err) => return Err(err),
    };
    let kind = meta.file_type();
    Ok(if kind.is_dir() {
        Entry::Dir
    } else if kind.is_file() {
        Entry::File(meta.len())
    } else if kind.is_symlink() {
        Entry::Symlink(fs::read_link(path)?)
    } else {
        Entry::Other
    })
}

/// Makes `path` a real directory, replacing a symlink or file found there (never following
/// it). Returns whether anything changed.
pub fn ensure_dir(path: &Path) -> io::Result<bool> {
    match entry(path)? {
        Entry::Dir => return Ok(false),
        Entry::Missing => {}
        Entry::File(_) | Entry::Symlink(_) | Entry::Other => remove_entry(path)?,
    }
    match fs::create_dir(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists && entry(path)? == Entry::Dir => {
            Ok(false)
        }
        Err(err) => Err(err),
    }
}

/// Makes `link` a symlink to `target`, replacing atomically a wrong link or file found there.
/// Refuses to replace a directory. Returns whether anything changed.
pub fn ensure_symlink(link: &Path, target: &Path) -> io::Result<bool> {
    match entry(link)? {
        Entry::Symlink(current) if current == target => return Ok(false),
        Entry::Dir => return Err(is_a_directory()),
        Entry::Missing => match std::os::unix::fs::symlink(target, link) {
            Ok(()) => return Ok(true),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(err),
        },
        Entry::File(_) | Entry::Symlink(_) | Entry::Other => {}
    }
    // Something else is there: build the link beside it and rename it over, so that a
    // reader sees either the old entry or the new link, never nothing.
    let temp = sibling_temp_path(link)?;
    remove_if_present(&temp)?;
    std::os::unix::fs::symlink(target, &temp)?;
    fs::rename(&temp, link).inspect_err(|_| {
        let _ = fs::remove_file(&temp);
    })?;
    Ok(true)
}

/// Writes `contents` to the file `name` in the real directory `dir`: a temporary file in `dir`
/// renamed over the target, so readers see the old or the new contents, never a mix. Returns
/// `false` without writing when the file already holds exactly `contents`.
pub fn write_atomic(dir: &Path, name: &str, contents: &[u8], mode: u32) -> io::Result<bool> {
    let path = dir.join(name);
    match entry(&path)? {
        Entry::File(len)
            if usize::try_from(len).ok() == Some(contents.len())
                && read_no_follow(&path, contents.len())? == contents =>
        {
            return Ok(false)
        }
        Entry::Dir => return Err(is_a_directory()),
        _ => {}
    }
    let mut temp = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    temp.write_all(contents)?;
    // rename(2) replaces the directory entry itself, even when it is a symlink.
    temp.persist(&path).map_err(|err| err.error)?;
    Ok(true)
}

/// Removes `path` unless it is a directory (a symlink is removed, not followed). Returns
/// whether something was removed.
pub fn remove_non_dir(path: &Path) -> io::Result<bool> {
    match entry(path)? {
        Entry::Missing => Ok(false),
        Entry::Dir => Err(is_a_directory()),
        _ => remove_if_present(path),
    }
}

/// Sets the modification time of the real directory `dir` to now.
pub fn touch_dir(dir: &Path) -> io::Result<()> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NOFOLLOW)
        .open(dir)?;
    file.set_modified(SystemTime::now())
}

/// Reads at most `limit + 1` bytes of the regular file at `path`, refusing a symlink there.
fn read_no_follow(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)?;
    let mut buf = Vec::with_capacity(limit);
    file.take(limit as u64 + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

fn remove_entry(path: &Path) -> io::Result<()> {
    remove_if_present(path).map(|_| ())
}

fn remove_if_present(path: &Path) -> io::Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

fn sibling_temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(temp))
}

fn is_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "a directory is in the way")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    #[test]
    fn write_atomic_writes_replaces_and_skips_identical() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(dir.path(), "k", b"one", 0o600).unwrap());
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"one");
        assert!(!write_atomic(dir.path(), "k", b"one", 0o600).unwrap());
        assert!(write_atomic(dir.path(), "k", b"two", 0o600).unwrap());
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn write_atomic_replaces_a_planted_symlink_without_following_it() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("k")).unwrap();
        assert!(write_atomic(dir.path(), "k", b"precious", 0o600).unwrap());
        assert!(write_atomic(dir.path(), "k", b"new", 0o600).unwrap());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(entry(&dir.path().join("k")).unwrap(), Entry::File(3));
        assert_eq!(read_no_follow(&dir.path().join("k"), 3).unwrap(), b"new");
    }

    #[test]
    fn ensure_dir_replaces_a_symlink_and_keeps_its_target() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("f"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("m");
        std::os::unix::fs::symlink(outside.path(), &member).unwrap();
        assert!(ensure_dir(&member).unwrap());
        assert_eq!(entry(&member).unwrap(), Entry::Dir);
        assert!(!ensure_dir(&member).unwrap());
        assert_eq!(fs::read(outside.path().join("f")).unwrap(), b"x");
    }

    #[test]
    fn ensure_symlink_creates_fixes_and_refuses_directories() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        assert!(ensure_symlink(&link, Path::new("../a")).unwrap());
        assert!(!ensure_symlink(&link, Path::new("../a")).unwrap());
        assert!(ensure_symlink(&link, Path::new("../b")).unwrap());
        assert_eq!(entry(&link).unwrap(), Entry::Symlink("../b".into()));
        fs::remove_file(&link).unwrap();
        fs::write(&link, b"file").unwrap();
        assert!(ensure_symlink(&link, Path::new("../c")).unwrap());
        assert_eq!(entry(&link).unwrap(), Entry::Symlink("../c".into()));
        fs::remove_file(&link).unwrap();
        fs::create_dir(&link).unwrap();
        assert!(ensure_symlink(&link, Path::new("../c")).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn remove_non_dir_removes_links_not_their_targets() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(remove_non_dir(&link).unwrap());
        assert!(!remove_non_dir(&link).unwrap());
        assert!(victim.exists());
        fs::create_dir(&link).unwrap();
        assert!(remove_non_dir(&link).is_err());
    }

    #[test]
    fn touch_dir_sets_the_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::open(dir.path()).unwrap().set_modified(old).unwrap();
        touch_dir(dir.path()).unwrap();
        let mtime = fs::metadata(dir.path()).unwrap().modified().unwrap();
        assert!(mtime > old);
    }
}
