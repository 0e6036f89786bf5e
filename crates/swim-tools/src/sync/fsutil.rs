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

/// Operations relative to an open directory (`*at` calls): the mirror holds the base and
/// status directories open and names each entry by its bare name inside one of them, so no
/// path is walked again and no component but the last is looked up. The last component is
/// never followed if it is a symlink.
pub mod at {
    use std::ffi::{CStr, CString, OsStr};
    use std::fs::File;
    use std::io::{self, Read, Write};
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::sync::OnceLock;
    use std::time::SystemTime;

    use nix::dir::Dir;
    use nix::errno::Errno;
    use nix::fcntl::{self, AtFlags, OFlag};
    use nix::sys::stat::{self, FileStat, Mode, SFlag};
    use nix::sys::time::TimeSpec;
    use nix::unistd::{self, UnlinkatFlags};

    /// The process id, asked once (each `getpid` is a system call).
    fn pid() -> u32 {
        static PID: OnceLock<u32> = OnceLock::new();
        *PID.get_or_init(std::process::id)
    }

    const DIR_FLAGS: OFlag = OFlag::O_RDONLY
        .union(OFlag::O_DIRECTORY)
        .union(OFlag::O_NOFOLLOW)
        .union(OFlag::O_CLOEXEC);

    fn is_dir_stat(st: &FileStat) -> bool {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
    }

    fn is_file_stat(st: &FileStat) -> bool {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
    }

    /// Opens the directory `path` (following symlinks: the base directory may be one).
    pub fn open_dir(path: &std::path::Path) -> io::Result<OwnedFd> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        Ok(fcntl::open(path, flags, Mode::empty())?)
    }

    /// Opens the real directory `name` in `dir`; a symlink or anything else there is an
    /// error (`ELOOP` or `ENOTDIR`), never followed.
    pub fn open_subdir(dir: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
        Ok(fcntl::openat(dir, name, DIR_FLAGS, Mode::empty())?)
    }

    /// Opens the real directory `name` in `dir`, creating it if missing and replacing a
    /// symlink or file found there (never following it). With `probably_new`, tries to
    /// create it first (one call fewer for a new member). Returns the directory and whether
    /// it was created.
    pub fn ensure_subdir(
        dir: BorrowedFd<'_>,
        name: &str,
        probably_new: bool,
    ) -> io::Result<(OwnedFd, bool)> {
        let mut created = false;
        if probably_new {
            match stat::mkdirat(dir, name, Mode::from_bits_truncate(0o777)) {
                Ok(()) => created = true,
                Err(Errno::EEXIST) => {}
                Err(err) => return Err(err.into()),
            }
        }
        match fcntl::openat(dir, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => return Ok((fd, created)),
            Err(Errno::ENOENT) => {}
            // A symlink (ELOOP) or a file (ENOTDIR): it goes, a directory takes its place.
            Err(Errno::ELOOP | Errno::ENOTDIR) => remove(dir, name).map(|_| ())?,
            Err(err) => return Err(err.into()),
        }
        stat::mkdirat(dir, name, Mode::from_bits_truncate(0o777))?;
        Ok((fcntl::openat(dir, name, DIR_FLAGS, Mode::empty())?, true))
    }

    /// Removes the entry `name` of `dir` unless it is a directory. Returns whether
    /// something was removed.
    pub fn remove(dir: BorrowedFd<'_>, name: &str) -> io::Result<bool> {
        remove_raw(dir, OsStr::new(name))
    }

    /// Removes the entry `name` (any bytes) of `dir`, as [`remove`].
    pub fn remove_raw(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
        match unistd::unlinkat(dir, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            // Linux says EISDIR for a directory, POSIX EPERM.
            Err(Errno::EISDIR | Errno::EPERM) if is_dir(dir, name) => Err(super::is_a_directory()),
            Err(err) => Err(err.into()),
        }
    }

    fn is_dir(dir: BorrowedFd<'_>, name: &OsStr) -> bool {
        stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|st| is_dir_stat(&st))
    }

    /// Makes `name` in `dir` a symlink to `target`: creates it (one call when nothing is
    /// there), else reads what is there. A wrong link or a file is replaced atomically (a
    /// link built beside it, renamed over it); a directory is refused. Returns whether
    /// anything changed.
    pub fn ensure_symlink(dir: BorrowedFd<'_>, name: &str, target: &str) -> io::Result<bool> {
        match unistd::symlinkat(target, dir, name) {
            Ok(()) => return Ok(true),
            Err(Errno::EEXIST) => {}
            Err(err) => return Err(err.into()),
        }
        match fcntl::readlinkat(dir, name) {
            Ok(current) if current.as_bytes() == target.as_bytes() => return Ok(false),
            Ok(_) => {}
            // Not a symlink.
            Err(Errno::EINVAL) => {
                if is_dir(dir, OsStr::new(name)) {
                    return Err(super::is_a_directory());
                }
            }
            Err(err) => return Err(err.into()),
        }
        let temp = format!(".{}.link.tmp", pid());
        remove(dir, &temp)?;
        unistd::symlinkat(target, dir, temp.as_str())?;
        fcntl::renameat(dir, temp.as_str(), dir, name).map_err(|err| {
            let _ = unistd::unlinkat(dir, temp.as_str(), UnlinkatFlags::NoRemoveDir);
            io::Error::from(err)
        })?;
        Ok(true)
    }

    /// Whether `name` in `dir` is a regular file holding exactly `contents` (a symlink
    /// there is not followed, and is not; a FIFO is not waited on).
    pub fn holds(dir: BorrowedFd<'_>, name: &str, contents: &[u8]) -> io::Result<bool> {
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let fd = match fcntl::openat(dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::ENOENT | Errno::ELOOP) => return Ok(false),
            Err(err) => return Err(err.into()),
        };
        let st = stat::fstat(&fd)?;
        if is_dir_stat(&st) {
            return Err(super::is_a_directory());
        }
        if !is_file_stat(&st) || usize::try_from(st.st_size).ok() != Some(contents.len()) {
            return Ok(false);
        }
        let mut buf = Vec::with_capacity(contents.len());
        File::from(fd)
            .take(contents.len() as u64 + 1)
            .read_to_end(&mut buf)?;
        Ok(buf == contents)
    }

    /// Writes `contents` to `name` in `dir` atomically: a new temporary file in `dir`, with
    /// permissions `mode` (less the umask), renamed over the entry, so a reader sees the
    /// old or the new contents, never a mix; a symlink there is replaced, not followed.
    /// `serial` makes the temporary name unique within the process.
    pub fn write_atomic(
        dir: BorrowedFd<'_>,
        name: &str,
        contents: &[u8],
        mode: u32,
        serial: &mut u64,
    ) -> io::Result<()> {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let pid = pid();
        let (temp, fd) = loop {
            *serial += 1;
            let temp = format!(".{pid}.{serial}.tmp");
            let mode = Mode::from_bits_truncate(mode as nix::libc::mode_t);
            match fcntl::openat(dir, temp.as_str(), flags, mode) {
                Ok(fd) => break (temp, fd),
                Err(Errno::EEXIST) => continue,
                Err(err) => return Err(err.into()),
            }
        };
        let written = File::from(fd).write_all(contents);
        let renamed = written.and_then(|()| Ok(fcntl::renameat(dir, temp.as_str(), dir, name)?));
        if renamed.is_err() {
            let _ = unistd::unlinkat(dir, temp.as_str(), UnlinkatFlags::NoRemoveDir);
        }
        renamed
    }

    /// The names in the directory `dir`, but `.` and `..`.
    pub fn list(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
        let mut listing = Dir::openat(dir, ".", DIR_FLAGS, Mode::empty())?;
        let mut names = Vec::new();
        for entry in listing.iter() {
            let entry = entry?;
            let name: &CStr = entry.file_name();
            if name.to_bytes() != b"." && name.to_bytes() != b".." {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    /// Sets the modification time of the open directory (or file) `fd` to now.
    pub fn touch(fd: impl AsFd) -> io::Result<()> {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Ok(stat::futimens(
            fd,
            &TimeSpec::UTIME_OMIT,
            &TimeSpec::from_duration(now),
        )?)
    }
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
