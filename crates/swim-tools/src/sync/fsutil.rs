//! File operations relative to an open directory (`*at` calls) that never follow a symlink
//! at the entry they change, and atomic writes: the one vocabulary of the sync tool's
//! safe writes.
//!
//! The mirror holds the base and status directories open and names each entry by its bare
//! name inside one of them, so no path is walked again and no component but the last is
//! looked up; the last component is never followed if it is a symlink. Nothing planted in
//! the base directory (a symlink to `/etc`, say) can redirect a write or a removal
//! elsewhere.

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
        Err(Errno::EISDIR | Errno::EPERM) if is_dir(dir, name) => Err(is_a_directory()),
        Err(err) => Err(err.into()),
    }
}

/// Removes the empty directory `name` of `dir` (`NotFound`, `DirectoryNotEmpty` or
/// `NotADirectory` otherwise; a symlink there is not followed).
pub fn remove_empty_dir(dir: BorrowedFd<'_>, name: &str) -> io::Result<()> {
    Ok(unistd::unlinkat(dir, name, UnlinkatFlags::RemoveDir)?)
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
                return Err(is_a_directory());
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
        return Err(is_a_directory());
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

/// Whether `name` in `dir` is a symlink (not followed).
pub fn is_symlink(dir: BorrowedFd<'_>, name: &str) -> bool {
    stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

/// Removes every entry of `dir` but its subdirectories; returns the names removed.
pub fn clear(dir: BorrowedFd<'_>) -> io::Result<Vec<CString>> {
    let mut removed = Vec::new();
    for name in list(dir)? {
        match remove_raw(dir, OsStr::from_bytes(name.as_bytes())) {
            Ok(true) => removed.push(name),
            Ok(false) => {}
            Err(err) if err.kind() == io::ErrorKind::IsADirectory => {}
            Err(err) => return Err(err),
        }
    }
    Ok(removed)
}

fn is_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "a directory is in the way")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::fd::AsFd;
    use std::path::Path;

    fn dir() -> (tempfile::TempDir, OwnedFd) {
        let dir = tempfile::tempdir().unwrap();
        let fd = open_dir(dir.path()).unwrap();
        (dir, fd)
    }

    fn names(path: &Path) -> Vec<String> {
        let mut names: Vec<String> = (fs::read_dir(path).unwrap())
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_writes_and_replaces_and_holds_tells_identical() {
        let (dir, fd) = dir();
        let mut serial = 0;
        assert!(!holds(fd.as_fd(), "k", b"one").unwrap());
        write_atomic(fd.as_fd(), "k", b"one", 0o600, &mut serial).unwrap();
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"one");
        assert!(holds(fd.as_fd(), "k", b"one").unwrap());
        assert!(!holds(fd.as_fd(), "k", b"two").unwrap());
        write_atomic(fd.as_fd(), "k", b"two", 0o600, &mut serial).unwrap();
        assert_eq!(fs::read(dir.path().join("k")).unwrap(), b"two");
        assert_eq!(names(dir.path()), ["k"], "no temporary file is left behind");
    }

    #[test]
    fn write_atomic_replaces_a_planted_symlink_without_following_it() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let (dir, fd) = dir();
        std::os::unix::fs::symlink(&victim, dir.path().join("k")).unwrap();
        assert!(is_symlink(fd.as_fd(), "k"));
        assert!(
            !holds(fd.as_fd(), "k", b"precious").unwrap(),
            "not followed"
        );
        write_atomic(fd.as_fd(), "k", b"new", 0o600, &mut 0).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!is_symlink(fd.as_fd(), "k"));
        assert!(holds(fd.as_fd(), "k", b"new").unwrap());
        fs::create_dir(dir.path().join("d")).unwrap();
        assert!(
            holds(fd.as_fd(), "d", b"").is_err(),
            "a directory is in the way"
        );
    }

    #[test]
    fn ensure_subdir_replaces_a_symlink_and_keeps_its_target() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("f"), b"x").unwrap();
        let (dir, fd) = dir();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("m")).unwrap();
        assert!(
            open_subdir(fd.as_fd(), "m").is_err(),
            "a symlink is not opened"
        );
        let (_, created) = ensure_subdir(fd.as_fd(), "m", false).unwrap();
        assert!(created);
        assert!(fs::symlink_metadata(dir.path().join("m")).unwrap().is_dir());
        let (_, created) = ensure_subdir(fd.as_fd(), "m", true).unwrap();
        assert!(!created);
        assert_eq!(fs::read(outside.path().join("f")).unwrap(), b"x");
    }

    #[test]
    fn ensure_symlink_creates_fixes_and_refuses_directories() {
        let (dir, fd) = dir();
        let fd = fd.as_fd();
        let target = || fs::read_link(dir.path().join("l")).unwrap();
        assert!(ensure_symlink(fd, "l", "../a").unwrap());
        assert!(!ensure_symlink(fd, "l", "../a").unwrap());
        assert!(ensure_symlink(fd, "l", "../b").unwrap());
        assert_eq!(target(), Path::new("../b"));
        assert!(remove(fd, "l").unwrap());
        fs::write(dir.path().join("l"), b"file").unwrap();
        assert!(ensure_symlink(fd, "l", "../c").unwrap());
        assert_eq!(target(), Path::new("../c"));
        assert!(remove(fd, "l").unwrap());
        fs::create_dir(dir.path().join("l")).unwrap();
        assert!(ensure_symlink(fd, "l", "../c").is_err());
        assert_eq!(names(dir.path()), ["l"]);
    }

    #[test]
    fn remove_and_clear_remove_links_not_their_targets_nor_directories() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::write(&victim, b"x").unwrap();
        let (dir, fd) = dir();
        let fd = fd.as_fd();
        std::os::unix::fs::symlink(&victim, dir.path().join("l")).unwrap();
        assert!(remove(fd, "l").unwrap());
        assert!(!remove(fd, "l").unwrap());
        assert!(victim.exists());
        fs::create_dir(dir.path().join("d")).unwrap();
        assert!(remove(fd, "d").is_err());
        std::os::unix::fs::symlink(&victim, dir.path().join("l")).unwrap();
        fs::write(dir.path().join("f"), b"y").unwrap();
        let mut removed = clear(fd).unwrap();
        removed.sort();
        assert_eq!(removed, [c"f".to_owned(), c"l".to_owned()]);
        assert_eq!(names(dir.path()), ["d"]);
        assert!(victim.exists());
    }

    #[test]
    fn touch_sets_the_mtime() {
        let (dir, fd) = dir();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::open(dir.path()).unwrap().set_modified(old).unwrap();
        touch(&fd).unwrap();
        let mtime = fs::metadata(dir.path()).unwrap().modified().unwrap();
        assert!(mtime > old);
    }
}
