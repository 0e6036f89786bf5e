//! Reading the local member's metadata from its directory.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use swim_protocol::Metadata;

use super::fsutil;
use super::names::{check_file_name, is_editor_temporary};

/// Limits on what the local directory may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalLimits {
    /// Largest file accepted, in bytes.
    pub max_file_size: u64,
    /// Most files accepted.
    pub max_files: usize,
}

impl Default for LocalLimits {
    fn default() -> Self {
        LocalLimits {
            max_file_size: 64 * 1024,
            max_files: 1024,
        }
    }
}

/// Why the local metadata could not be read; the previous metadata stays in effect.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A file or the directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path read.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A file is over the size limit.
    #[error("{path} is over the size limit of {limit} bytes (--max-file-size)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// The directory holds more files than allowed.
    #[error("{dir} holds more than {limit} metadata files")]
    TooMany {
        /// The directory.
        dir: PathBuf,
        /// The limit.
        limit: usize,
    },
}

/// Why an entry of the local directory is not metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// A sub-directory.
    Directory,
    /// A name starting with `.`.
    Hidden,
    /// An editor's backup, swap or auto-save file.
    EditorTemporary,
    /// A name that is not UTF-8 or cannot be a key (see `check_file_name`).
    BadName,
    /// A socket, FIFO, device or dangling symlink.
    NotAFile,
}

/// The metadata read, and the entries that were not metadata.
#[derive(Debug)]
pub struct LocalRead {
    /// One key per file name, its contents as the value.
    pub metadata: Metadata,
    /// Entries left out, and why.
    pub skipped: Vec<(OsString, Skipped)>,
}

/// Reads the metadata in `dir`: one key per regular file (symlinks to files are followed),
/// leaving out sub-directories, dotfiles, editor temporaries and special files. A file over
/// the size limit, too many files or a read error fails the whole read.
pub fn read_local_metadata(dir: &Path, limits: LocalLimits) -> Result<LocalRead, LocalError> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| LocalError::Io { path, source }
    };
    let mut map = std::collections::BTreeMap::new();
    let mut skipped = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let file_name = entry.file_name();
        let path = entry.path();
        let reason = match file_name.to_str() {
            None => Some(Skipped::BadName),
            Some(name) if is_editor_temporary(name) => Some(Skipped::EditorTemporary),
            Some(name) if name.starts_with('.') => Some(Skipped::Hidden),
            Some(name) if check_file_name(name).is_err() => Some(Skipped::BadName),
            Some(_) => match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => Some(Skipped::Directory),
                Ok(meta) if meta.is_file() => None,
                Ok(_) => Some(Skipped::NotAFile),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Some(Skipped::NotAFile),
                Err(source) => return Err(LocalError::Io { path, source }),
            },
        };
        if let Some(reason) = reason {
            skipped.push((file_name, reason));
            continue;
        }
        let Some(key) = file_name.to_str() else {
            continue;
        };
        if map.len() >= limits.max_files {
            return Err(LocalError::TooMany {
                dir: dir.to_owned(),
                limit: limits.max_files,
            });
        }
        let mut value = Vec::new();
        let file = fs::File::open(&path).map_err(io_err(&path))?;
        file.take(limits.max_file_size.saturating_add(1))
            .read_to_end(&mut value)
            .map_err(io_err(&path))?;
        if value.len() as u64 > limits.max_file_size {
            return Err(LocalError::TooLarge {
                path,
                limit: limits.max_file_size,
            });
        }
        map.insert(key.to_owned(), value);
    }
    Ok(LocalRead {
        metadata: Metadata::new(map),
        skipped,
    })
}

/// Copies the metadata files of `from` (read with the rules and limits of
/// [`read_local_metadata`]) into the real directory `to`, each written atomically; files of
/// `to` not in `from` stay. The copies are the local member's own files, mode 0644 like a
/// file made by hand. Returns how many keys were copied.
pub fn copy_metadata(from: &Path, to: &Path, limits: LocalLimits) -> Result<usize, LocalError> {
    let read = read_local_metadata(from, limits)?;
    let io_err = |path: PathBuf| move |source| LocalError::Io { path, source };
    let dir = fsutil::open_dir(to).map_err(io_err(to.to_owned()))?;
    let mut serial = 0;
    for (key, value) in read.metadata.iter() {
        // A file already holding the value is left as it is (its mtime too).
        if !fsutil::holds(dir.as_fd(), key, value).map_err(io_err(to.join(key)))? {
            fsutil::write_atomic(dir.as_fd(), key, value, 0o644, &mut serial)
                .map_err(io_err(to.join(key)))?;
        }
    }
    Ok(read.metadata.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path) -> Result<LocalRead, LocalError> {
        read_local_metadata(dir, LocalLimits::default())
    }

    #[test]
    fn files_become_keys_and_the_rest_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("one.txt"), b"1").unwrap();
        fs::write(d.join("empty"), b"").unwrap();
        fs::create_dir(d.join("subdir")).unwrap();
        for name in [".hidden", "one.txt~", "#one.txt#", ".one.txt.swp"] {
            fs::write(d.join(name), b"x").unwrap();
        }
        std::os::unix::fs::symlink("one.txt", d.join("alias")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.join("dangling")).unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(d.join("socket")).unwrap();
        let got = read(d).unwrap();
        let keys: Vec<_> = got.metadata.keys().cloned().collect();
        assert_eq!(keys, ["alias", "empty", "one.txt"]);
        assert_eq!(got.metadata["one.txt"], b"1");
        assert_eq!(got.metadata["alias"], b"1");
        assert_eq!(got.skipped.len(), 7, "{:?}", got.skipped);
        assert!(got.skipped.contains(&("subdir".into(), Skipped::Directory)));
        assert!(got.skipped.contains(&("socket".into(), Skipped::NotAFile)));
        assert!(got
            .skipped
            .contains(&("#one.txt#".into(), Skipped::EditorTemporary)));
    }

    #[test]
    fn a_file_over_the_limit_fails_the_read() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("small"), b"ok").unwrap();
        fs::write(dir.path().join("big"), vec![b'x'; 11]).unwrap();
        let limits = LocalLimits {
            max_file_size: 10,
            max_files: 10,
        };
        let err = read_local_metadata(dir.path(), limits).unwrap_err();
        assert!(
            matches!(err, LocalError::TooLarge { limit: 10, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("big"), "{err}");
        fs::write(dir.path().join("big"), vec![b'x'; 10]).unwrap();
        assert_eq!(
            read_local_metadata(dir.path(), limits)
                .unwrap()
                .metadata
                .len(),
            2
        );
    }

    #[test]
    fn too_many_files_fail_the_read() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            fs::write(dir.path().join(format!("f{i}")), b"").unwrap();
        }
        let limits = LocalLimits {
            max_file_size: 10,
            max_files: 2,
        };
        let err = read_local_metadata(dir.path(), limits).unwrap_err();
        assert!(matches!(err, LocalError::TooMany { limit: 2, .. }), "{err}");
    }

    #[test]
    fn copied_metadata_joins_what_is_there() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        fs::write(from.path().join("role"), b"db").unwrap();
        fs::write(from.path().join(".hidden"), b"x").unwrap();
        fs::write(to.path().join("role"), b"old").unwrap();
        fs::write(to.path().join("zone"), b"a").unwrap();
        assert_eq!(
            copy_metadata(from.path(), to.path(), LocalLimits::default()).unwrap(),
            1
        );
        let got = read(to.path()).unwrap().metadata;
        assert_eq!(got["role"], b"db");
        assert_eq!(got["zone"], b"a");
        assert!(!to.path().join(".hidden").exists());
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("absent")).is_err());
    }
}
