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

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use swim_protocol::{MemberSnapshot, StatusSet};

use super::fsutil::{self, Entry};
use super::names::{check_file_name, UnsafeName, HOOK_NAME};

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
#[derive(Debug)]
pub struct Mirror {
    base: PathBuf,
    local_name: String,
    /// Remote members whose directory this run has written (emptied again on cleanup).
    mirrored: BTreeSet<String>,
    /// Permissions of the files written.
    file_mode: u32,
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

/// Checks a member name: a safe file name that does not hide the hook script.
fn check_member_name(name: &str) -> Result<(), String> {
    check_file_name(name).map_err(|reason| reason.to_string())?;
    if name == HOOK_NAME {
        return Err(format!("it is the name of the hook script {HOOK_NAME}"));
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
        let mirror = Mirror {
            base,
            local_name: local_name.to_owned(),
            mirrored: BTreeSet::new(),
            file_mode: DEFAULT_FILE_MODE,
        };
        let mut stale = BTreeSet::new();
        for (sub, _) in STATUS_DIRS {
            let dir = mirror.base.join(sub);
            fsutil::ensure_dir(&dir).map_err(io_err(&dir))?;
            for name in mirror.clear_dir(&dir)? {
                if let Some(name) = name.to_str() {
                    stale.insert(name.to_owned());
                }
            }
        }
        for name in stale {
            if check_member_name(&name).is_ok() && name != mirror.local_name {
                let dir = mirror.base.join(&name);
                if fsutil::entry(&dir).map_err(io_err(&dir))? == Entry::Dir {
                    mirror.clear_dir(&dir)?;
                }
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
        match fsutil::entry(&dir).map_err(io_err(&dir))? {
            Entry::Missing => fs::create_dir(&dir).map_err(io_err(&dir))?,
            Entry::Dir => {}
            _ if dir.is_dir() => {}
            _ => {
                return Err(MirrorError::Io {
                    path: dir,
                    source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
                })
            }
        }
        let link = self.base.join(LOCAL_LINK);
        fsutil::ensure_symlink(&link, Path::new(&self.local_name)).map_err(io_err(&link))?;
        Ok(())
    }

    /// Writes one member's state: its links in the status directories, and its metadata as
    /// files in its directory (keys no longer present are removed, keys that cannot be file
    /// names are skipped). The directory's mtime is touched. Metadata not yet known leaves the
    /// files as they are.
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
        if let Err(source) = fsutil::ensure_dir(&dir) {
            problems.push(MirrorError::Io {
                path: dir.clone(),
                source,
            });
            return Outcome::Mirrored { dir, problems };
        }
        self.mirrored.insert(name.to_owned());
        let target = Path::new("..").join(name);
        for (sub, set) in STATUS_DIRS {
            let status_dir = self.base.join(sub);
            let link = status_dir.join(name);
            let changed = if set.contains(member.status) {
                fsutil::ensure_symlink(&link, &target)
            } else {
                fsutil::remove_non_dir(&link)
            };
            match changed {
                Ok(true) => {
                    if let Err(source) = fsutil::touch_dir(&status_dir) {
                        problems.push(MirrorError::Io {
                            path: status_dir,
                            source,
                        });
                    }
                }
                Ok(false) => {}
                Err(source) => problems.push(MirrorError::Io { path: link, source }),
            }
        }
        if let Some(metadata) = &member.metadata {
            let mut keys = BTreeSet::new();
            for (key, value) in metadata.iter() {
                if let Err(reason) = check_file_name(key) {
                    problems.push(MirrorError::UnsafeKey {
                        member: name.to_owned(),
                        key: key.clone(),
                        reason,
                    });
                    continue;
                }
                keys.insert(key.as_str());
                if let Err(source) = fsutil::write_atomic(&dir, key, value, self.file_mode) {
                    problems.push(MirrorError::Io {
                        path: dir.join(key),
                        source,
                    });
                }
            }
            match fs::read_dir(&dir) {
                Ok(entries) => {
                    for entry in entries.flatten() {
                        let file_name = entry.file_name();
                        if file_name.to_str().is_some_and(|key| keys.contains(key)) {
                            continue;
                        }
                        let path = entry.path();
                        match fsutil::remove_non_dir(&path) {
                            Ok(_) => {}
                            // A directory is never ours: leave it.
                            Err(err) if err.kind() == io::ErrorKind::IsADirectory => {}
                            Err(source) => problems.push(MirrorError::Io { path, source }),
                        }
                    }
                }
                Err(source) => problems.push(MirrorError::Io {
                    path: dir.clone(),
                    source,
                }),
            }
        }
        if let Err(source) = fsutil::touch_dir(&dir) {
            problems.push(MirrorError::Io {
                path: dir.clone(),
                source,
            });
        }
        Outcome::Mirrored { dir, problems }
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
        for (sub, _) in STATUS_DIRS {
            let status_dir = self.base.join(sub);
            let link = status_dir.join(name);
            match fsutil::remove_non_dir(&link) {
                Ok(true) => {
                    if let Err(source) = fsutil::touch_dir(&status_dir) {
                        problems.push(MirrorError::Io {
                            path: status_dir,
                            source,
                        });
                    }
                }
                Ok(false) => {}
                Err(source) => problems.push(MirrorError::Io { path: link, source }),
            }
        }
        let dir = self.base.join(name);
        self.mirrored.remove(name);
        match self.clear_dir(&dir) {
            // Only an empty directory goes: anything else in it is not ours.
            Ok(_) => match fs::remove_dir(&dir) {
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
        let link = self.base.join(LOCAL_LINK);
        if let Ok(Entry::Symlink(_)) = fsutil::entry(&link) {
            if let Err(source) = fsutil::remove_non_dir(&link) {
                problems.push(MirrorError::Io { path: link, source });
            }
        }
        let dirs = std::mem::take(&mut self.mirrored)
            .into_iter()
            .map(|name| self.base.join(name))
            .chain(STATUS_DIRS.iter().map(|(sub, _)| self.base.join(sub)));
        for dir in dirs.collect::<Vec<_>>() {
            if let Err(err) = self.clear_dir(&dir) {
                problems.push(err);
            }
        }
        problems
    }

    /// Removes every non-directory entry of the real directory `dir`; returns their names.
    fn clear_dir(&self, dir: &Path) -> Result<Vec<std::ffi::OsString>, MirrorError> {
        if fsutil::entry(dir).map_err(io_err(dir))? != Entry::Dir {
            return Ok(Vec::new());
        }
        let mut removed = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let path = entry.path();
            match fsutil::remove_non_dir(&path) {
                Ok(true) => removed.push(entry.file_name()),
                Ok(false) => {}
                Err(err) if err.kind() == io::ErrorKind::IsADirectory => {}
                Err(source) => return Err(MirrorError::Io { path, source }),
            }
        }
        Ok(removed)
    }
}
