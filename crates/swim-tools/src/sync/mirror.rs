//! The cluster as a directory tree: the seed's layout, kept up to date from member snapshots.
//!
//! ```text
//! BASE/.online/NAME -> ../NAME      one link per non-local member in each status set
//! BASE/.suspect/ .offline/ .available/ .unavailable/
//! BASE/.local -> LOCAL_NAME
//! BASE/LOCAL_NAME/KEY               the local metadata, edited by the user
//! BASE/NAME/KEY                     each remote member's metadata, written here
//! ```
//! Names and keys come from the network: only those passing [`check_file_name`] ever become a
//! path, and every change is made to an entry inside a directory checked to be real.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use swim_protocol::{MemberSnapshot, Metadata, StatusSet};

use super::fsutil;
use super::names::{check_file_name, UnsafeName, SCRIPT_NAMES};

/// The status directories and the set of statuses each one lists, in the seed's order.
pub const STATUS_DIRS: [(&str, StatusSet); 5] = [
    (".online", StatusSet::ONLINE),
    (".offline", StatusSet::OFFLINE),
    (".suspect", StatusSet::SUSPECT),
    (".available", StatusSet::AVAILABLE),
    (".unavailable", StatusSet::UNAVAILABLE),
];

/// The link in the base directory naming the local member's directory.
pub const LOCAL_LINK: &str = ".local";

/// Something the mirror could not do.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path operated on.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// The local member's name cannot be a directory name.
    #[error("the local member name {name:?} cannot be a directory name: {reason}")]
    UnsafeLocalName {
        /// The name.
        name: String,
        /// Why not.
        reason: String,
    },
    /// A metadata key of a remote member cannot be a file name; it was skipped.
    #[error("member {member}: metadata key {key:?} skipped: {reason}")]
    UnsafeKey {
        /// The member.
        member: String,
        /// The key, as received.
        key: String,
        /// Why it cannot be a file name.
        reason: UnsafeName,
    },
}

/// What [`Mirror::apply`] did with one member.
#[derive(Debug)]
pub enum Outcome {
    /// The member is the local one: the user owns its directory, nothing was written.
    Local,
    /// The member's name cannot be a file name (or is the hook's): nothing was written.
    Refused(String),
    /// The member's directory and links were brought up to date, except for `problems`.
    Mirrored {
        /// The member's directory.
        dir: PathBuf,
        /// What could not be done; everything else was.
        problems: Vec<MirrorError>,
    },
}

/// The directory tree mirroring the cluster, as seen by one local member.
///
/// The mirror keeps the base and status directories open and remembers what it wrote for
/// each member this run, so that a change writes only what changed: a link, a file, the
/// directory's mtime. What it did not write itself (an entry added or removed by someone
/// else) is not looked for again until a write of its own fails.
#[derive(Debug)]
pub struct Mirror {
    base: PathBuf,
    /// `base`, open.
    base_dir: OwnedFd,
    /// The [`STATUS_DIRS`], open, checked at [`Mirror::open`] to be real directories.
    status_dirs: Vec<OwnedFd>,
    local_name: String,
    /// Remote members whose directory this run has written (emptied again on cleanup), and
    /// what it holds.
    mirrored: HashMap<String, Written>,
    /// The status directories (bit `i`: `STATUS_DIRS[i]`) whose entries changed since
    /// [`Mirror::touch_status_dirs`] last ran.
    untouched: u8,
    /// Makes temporary file names unique.
    serial: u64,
    /// Entries created, replaced or removed so far.
    writes: u64,
    /// Permissions of the files written.
    file_mode: u32,
}

/// What the mirror wrote for one member this run.
#[derive(Debug)]
struct Written {
    /// The status directories holding its link (bit `i`: `STATUS_DIRS[i]`); `None` when
    /// unknown (after a failure): each is looked at again.
    links: Option<u8>,
    /// The metadata its directory's files hold; `None` when unknown (the directory was
    /// there before this run wrote it, or a write failed): the files are compared.
    files: Option<Metadata>,
}

/// Permissions of the files the mirror writes, as the seed's (`NamedTemporaryFile`):
/// readable by the owner only, since metadata may be private to the cluster.
pub const DEFAULT_FILE_MODE: u32 = 0o600;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> MirrorError + '_ {
    move |source| MirrorError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Checks a member name: a safe file name that does not hide a script.
fn check_member_name(name: &str) -> Result<(), String> {
    check_file_name(name).map_err(|reason| reason.to_string())?;
    if SCRIPT_NAMES.contains(&name) {
        return Err(format!("it is the name of the script {name}"));
    }
    Ok(())
}

impl Mirror {
    /// Prepares `base` for the local member `local_name`: creates it, the status directories,
    /// the local directory and the `.local` link, and reconciles what a crashed run left: the
    /// links in the status directories are removed and the directories they named are
    /// emptied, as a clean exit would have done.
    pub fn open(base: impl Into<PathBuf>, local_name: &str) -> Result<Mirror, MirrorError> {
        let base: PathBuf = base.into();
        // Absolute, so that the hook gets absolute paths; symlinks are left as they are.
        let base = std::path::absolute(&base).map_err(io_err(&base))?;
        check_member_name(local_name).map_err(|reason| MirrorError::UnsafeLocalName {
            name: local_name.to_owned(),
            reason,
        })?;
        fs::create_dir_all(&base).map_err(io_err(&base))?;
        let base_dir = fsutil::open_dir(&base).map_err(io_err(&base))?;
        let mut status_dirs = Vec::new();
        let mut stale = BTreeSet::new();
        for (sub, _) in STATUS_DIRS {
            let dir = base.join(sub);
            let (status_dir, _) =
                fsutil::ensure_subdir(base_dir.as_fd(), sub, false).map_err(io_err(&dir))?;
            for name in fsutil::clear(status_dir.as_fd()).map_err(io_err(&dir))? {
                if let Ok(name) = name.into_string() {
                    stale.insert(name);
                }
            }
            status_dirs.push(status_dir);
        }
        let mirror = Mirror {
            base,
            base_dir,
            status_dirs,
            local_name: local_name.to_owned(),
            mirrored: HashMap::new(),
            untouched: 0,
            serial: 0,
            writes: 0,
            file_mode: DEFAULT_FILE_MODE,
        };
        for name in stale {
            if check_member_name(&name).is_ok() && name != mirror.local_name {
                mirror.clear_member_dir(&name)?;
            }
        }
        mirror.ensure_local()?;
        Ok(mirror)
    }

    /// Writes remote members' files with permissions `mode` (default [`DEFAULT_FILE_MODE`]).
    #[must_use]
    pub fn with_file_mode(mut self, mode: u32) -> Self {
        self.file_mode = mode;
        self
    }

    /// The base directory.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The local member's name.
    pub fn local_name(&self) -> &str {
        &self.local_name
    }

    /// The local member's directory, whose files are the local metadata.
    pub fn local_dir(&self) -> PathBuf {
        self.base.join(&self.local_name)
    }

    /// Makes sure the local directory exists (a user's symlink to a directory is kept: the
    /// mirror only reads it) and that `.local` names it.
    pub fn ensure_local(&self) -> Result<(), MirrorError> {
        let dir = self.local_dir();
        // Opened following a symlink, to tell a directory (or a link to one) from the rest.
        match fsutil::open_dir(&dir) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(io_err(&dir))?
            }
            Err(source) => return Err(MirrorError::Io { path: dir, source }),
        }
        let link = self.base.join(LOCAL_LINK);
        fsutil::ensure_symlink(self.base_dir.as_fd(), LOCAL_LINK, &self.local_name)
            .map_err(io_err(&link))?;
        Ok(())
    }

    /// Writes one member's state: its links in the status directories, and its metadata as
    /// files in its directory (keys no longer present are removed, keys that cannot be file
    /// names are skipped). The directory's mtime is touched; the status directories' are
    /// touched by [`Mirror::touch_status_dirs`], once per batch of changes. Metadata not yet
    /// known leaves the files as they are. Only what differs from what this run last wrote
    /// for the member is written.
    pub fn apply(&mut self, member: &MemberSnapshot) -> Outcome {
        let name = member.name.as_str();
        if member.local || name == self.local_name {
            return Outcome::Local;
        }
        if let Err(reason) = check_member_name(name) {
            return Outcome::Refused(reason);
        }
        let dir = self.base.join(name);
        let mut problems = Vec::new();
        // First seen this run: the status directories hold no link of it (they were
        // emptied at open, and forgetting it removed its links), its files are unknown.
        let (key, mut written) = match self.mirrored.remove_entry(name) {
            Some(known) => known,
            None => (
                name.to_owned(),
                Written {
                    links: Some(0),
                    files: None,
                },
            ),
        };
        let first_seen = written.links == Some(0) && written.files.is_none();
        let (member_dir, created) =
            match fsutil::ensure_subdir(self.base_dir.as_fd(), name, first_seen) {
                Ok((member_dir, created)) => {
                    if created {
                        self.writes += 1;
                        written.files = Some(Metadata::empty());
                    }
                    (member_dir, created)
                }
                Err(source) => {
                    problems.push(MirrorError::Io {
                        path: dir.clone(),
                        source,
                    });
                    written.files = None;
                    self.mirrored.insert(key, written);
                    return Outcome::Mirrored { dir, problems };
                }
            };
        written.links = self.write_links(name, member, written.links, &mut problems);
        let writes_before_files = self.writes;
        if let Some(metadata) = &member.metadata {
            if written.files.as_ref() != Some(metadata) {
                let ok = self.write_files(
                    member_dir.as_fd(),
                    &dir,
                    name,
                    metadata,
                    &written.files,
                    &mut problems,
                );
                written.files = ok.then(|| metadata.clone());
            }
        }
        // Creating, renaming or removing an entry in the directory already set its mtime
        // to now: a join then costs one system call fewer per member.
        let entries_changed = created || self.writes != writes_before_files;
        if !entries_changed {
            if let Err(source) = fsutil::touch(&member_dir) {
                problems.push(MirrorError::Io {
                    path: dir.clone(),
                    source,
                });
            }
        }
        self.mirrored.insert(key, written);
        Outcome::Mirrored { dir, problems }
    }

    /// Brings `name`'s links up to date for `member`'s status, given the status directories
    /// known to hold one (`None`: unknown, look at each). Returns what holds one now
    /// (`None` if anything failed).
    fn write_links(
        &mut self,
        name: &str,
        member: &MemberSnapshot,
        known: Option<u8>,
        problems: &mut Vec<MirrorError>,
    ) -> Option<u8> {
        let mut wanted = 0u8;
        for (i, (_, set)) in STATUS_DIRS.iter().enumerate() {
            if set.contains(member.status) {
                wanted |= 1 << i;
            }
        }
        if known == Some(wanted) {
            return known;
        }
        let target = format!("../{name}");
        let mut ok = true;
        for (i, (sub, _)) in STATUS_DIRS.iter().enumerate() {
            let bit = 1u8 << i;
            let want = wanted & bit != 0;
            if known.is_some_and(|known| (known & bit != 0) == want) {
                continue;
            }
            let status_dir = self.status_dirs[i].as_fd();
            let changed = if want {
                fsutil::ensure_symlink(status_dir, name, &target)
            } else {
                fsutil::remove(status_dir, name)
            };
            match changed {
                Ok(true) => {
                    self.writes += 1;
                    self.untouched |= bit;
                }
                Ok(false) => {}
                Err(source) => {
                    ok = false;
                    problems.push(MirrorError::Io {
                        path: self.base.join(sub).join(name),
                        source,
                    });
                }
            }
        }
        ok.then_some(wanted)
    }

    /// Makes the files of the member directory `member_dir` (at `dir`) hold `metadata`,
    /// given what they are known to hold (`None`: unknown, compare each). Returns whether
    /// everything was written.
    fn write_files(
        &mut self,
        member_dir: BorrowedFd<'_>,
        dir: &Path,
        name: &str,
        metadata: &Metadata,
        known: &Option<Metadata>,
        problems: &mut Vec<MirrorError>,
    ) -> bool {
        let mut ok = true;
        let mut same = BTreeSet::new();
        match known {
            Some(known) => {
                for (key, _) in known.iter() {
                    if metadata.contains_key(key) || check_file_name(key).is_err() {
                        continue;
                    }
                    match fsutil::remove(member_dir, key) {
                        Ok(removed) => self.writes += u64::from(removed),
                        // A directory is never ours: leave it.
                        Err(err) if err.kind() == io::ErrorKind::IsADirectory => {}
                        Err(source) => {
                            ok = false;
                            problems.push(MirrorError::Io {
                                path: dir.join(key),
                                source,
                            });
                        }
                    }
                }
                for (key, value) in metadata.iter() {
                    if known.get(key) == Some(value) {
                        same.insert(key.as_str());
                    }
                }
            }
            None => match fsutil::list(member_dir) {
                Ok(entries) => {
                    for entry in entries {
                        let wanted = (entry.to_str().ok())
                            .filter(|key| check_file_name(key).is_ok())
                            .and_then(|key| metadata.get_key_value(key));
                        if let Some((key, value)) = wanted {
                            match fsutil::holds(member_dir, key, value) {
                                Ok(true) => {
                                    same.insert(key.as_str());
                                    continue;
                                }
                                Ok(false) => continue,
                                Err(err) if err.kind() == io::ErrorKind::IsADirectory => continue,
                                Err(_) => {}
                            }
                        }
                        match fsutil::remove_raw(member_dir, OsStr::from_bytes(entry.as_bytes())) {
                            Ok(removed) => self.writes += u64::from(removed),
                            Err(err) if err.kind() == io::ErrorKind::IsADirectory => {}
                            Err(source) => {
                                ok = false;
                                problems.push(MirrorError::Io {
                                    path: dir.join(OsStr::from_bytes(entry.as_bytes())),
                                    source,
                                });
                            }
                        }
                    }
                }
                Err(source) => {
                    ok = false;
                    problems.push(MirrorError::Io {
                        path: dir.to_owned(),
                        source,
                    });
                }
            },
        }
        for (key, value) in metadata.iter() {
            if let Err(reason) = check_file_name(key) {
                problems.push(MirrorError::UnsafeKey {
                    member: name.to_owned(),
                    key: key.clone(),
                    reason,
                });
                continue;
            }
            if same.contains(key.as_str()) {
                continue;
            }
            match fsutil::write_atomic(member_dir, key, value, self.file_mode, &mut self.serial) {
                Ok(()) => self.writes += 1,
                Err(source) => {
                    ok = false;
                    problems.push(MirrorError::Io {
                        path: dir.join(key),
                        source,
                    });
                }
            }
        }
        ok
    }

    /// Touches the mtime of each status directory whose entries changed since the last
    /// call: once per batch of changes rather than once per change.
    pub fn touch_status_dirs(&mut self) -> Vec<MirrorError> {
        let mut problems = Vec::new();
        for (i, (sub, _)) in STATUS_DIRS.iter().enumerate() {
            if self.untouched & (1 << i) != 0 {
                if let Err(source) = fsutil::touch(&self.status_dirs[i]) {
                    problems.push(MirrorError::Io {
                        path: self.base.join(sub),
                        source,
                    });
                }
            }
        }
        self.untouched = 0;
        problems
    }

    /// Entries (directories, links, files) this mirror created, replaced or removed so far;
    /// mtimes are not counted.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Removes a forgotten member (OFFLINE for `offline_retention`): its links in every
    /// status directory, the files this tool wrote in its directory, and the directory
    /// itself if nothing else is left in it. A name that cannot be a file name, or the local
    /// member's, is left alone.
    pub fn forget(&mut self, name: &str) -> Vec<MirrorError> {
        if name == self.local_name || check_member_name(name).is_err() {
            return Vec::new();
        }
        let mut problems = Vec::new();
        let mut links_ok = true;
        for (i, (sub, _)) in STATUS_DIRS.iter().enumerate() {
            match fsutil::remove(self.status_dirs[i].as_fd(), name) {
                Ok(true) => {
                    self.writes += 1;
                    self.untouched |= 1 << i;
                }
                Ok(false) => {}
                Err(source) => {
                    links_ok = false;
                    problems.push(MirrorError::Io {
                        path: self.base.join(sub).join(name),
                        source,
                    });
                }
            }
        }
        let dir = self.base.join(name);
        self.mirrored.remove(name);
        if !links_ok {
            // Looked at again if it comes back.
            self.mirrored.insert(
                name.to_owned(),
                Written {
                    links: None,
                    files: None,
                },
            );
        }
        match self.clear_member_dir(name) {
            // Only an empty directory goes: anything else in it is not ours.
            Ok(()) => match fsutil::remove_empty_dir(self.base_dir.as_fd(), name) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) if err.kind() == io::ErrorKind::DirectoryNotEmpty => {}
                Err(source) => problems.push(MirrorError::Io { path: dir, source }),
            },
            Err(err) => problems.push(err),
        }
        problems
    }

    /// Undoes the run, as the seed does on exit: removes `.local`, the files of every remote
    /// member written this run (their directories stay) and every status link.
    pub fn cleanup(&mut self) -> Vec<MirrorError> {
        let mut problems = Vec::new();
        let base_dir = self.base_dir.as_fd();
        if fsutil::is_symlink(base_dir, LOCAL_LINK) {
            if let Err(source) = fsutil::remove(base_dir, LOCAL_LINK) {
                let path = self.base.join(LOCAL_LINK);
                problems.push(MirrorError::Io { path, source });
            }
        }
        for name in std::mem::take(&mut self.mirrored).into_keys() {
            if let Err(err) = self.clear_member_dir(&name) {
                problems.push(err);
            }
        }
        for (i, (sub, _)) in STATUS_DIRS.iter().enumerate() {
            if let Err(source) = fsutil::clear(self.status_dirs[i].as_fd()) {
                let path = self.base.join(sub);
                problems.push(MirrorError::Io { path, source });
            }
        }
        problems
    }

    /// Removes every non-directory entry of the real directory `name` in the base (a
    /// symlink there, or anything not a directory, is left alone).
    fn clear_member_dir(&self, name: &str) -> Result<(), MirrorError> {
        let path = self.base.join(name);
        let dir = match fsutil::open_subdir(self.base_dir.as_fd(), name) {
            Ok(dir) => dir,
            Err(err) if not_a_real_dir(&err) => return Ok(()),
            Err(source) => return Err(MirrorError::Io { path, source }),
        };
        fsutil::clear(dir.as_fd()).map_err(io_err(&path))?;
        Ok(())
    }
}

/// Whether opening a directory without following a symlink failed because nothing, a
/// symlink, or something else than a directory is there.
fn not_a_real_dir(err: &io::Error) -> bool {
    let errno = err.raw_os_error().map(nix::errno::Errno::from_raw);
    matches!(
        errno,
        Some(nix::errno::Errno::ENOENT | nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR)
    )
}
