//! Which strings may become file names, and which local files are not metadata.
//!
//! Member names and metadata keys arrive from the network; they become paths only when they
//! name exactly one entry directly inside its parent directory.

/// The name of the hook script in the base directory; a member named so would hide it.
pub const HOOK_NAME: &str = "on-update";

/// Longest file name (in bytes) accepted; Linux file systems allow 255.
pub const MAX_NAME_LEN: usize = 255;

/// Why a string cannot be used as a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeName {
    /// The string is empty.
    #[error("it is empty")]
    Empty,
    /// The string starts with `.` (this covers `.` and `..`, and the hidden entries we own).
    #[error("it starts with '.'")]
    Hidden,
    /// The string contains `/` and would reach into another directory.
    #[error("it contains '/'")]
    Slash,
    /// The string contains a NUL byte, which no path may hold.
    #[error("it contains a NUL byte")]
    Nul,
    /// The string is longer than a file name may be.
    #[error("it is longer than {MAX_NAME_LEN} bytes")]
    TooLong,
}

/// Checks that `name` names one plain entry inside a directory: not empty, no `/` or NUL,
/// not starting with `.`, at most [`MAX_NAME_LEN`] bytes.
pub fn check_file_name(name: &str) -> Result<(), UnsafeName> {
    if name.is_empty() {
        Err(UnsafeName::Empty)
    } else if name.starts_with('.') {
        Err(UnsafeName::Hidden)
    } else if name.contains('/') {
        Err(UnsafeName::Slash)
    } else if name.contains('\0') {
        Err(UnsafeName::Nul)
    } else if name.len() > MAX_NAME_LEN {
        Err(UnsafeName::TooLong)
    } else {
        Ok(())
    }
}

/// Whether a file in the local member's directory is an editor's temporary rather than
/// metadata: backups (`name~`), Emacs auto-saves (`#name#`) and lock files (`.#name`), and
/// Vim swap files (`.name.swp`, also covered by the dotfile rule).
pub fn is_editor_temporary(name: &str) -> bool {
    name.ends_with('~')
        || (name.len() >= 2 && name.starts_with('#') && name.ends_with('#'))
        || name.starts_with(".#")
        || (name.starts_with('.') && (name.ends_with(".swp") || name.ends_with(".swx")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        assert_eq!(check_file_name(""), Err(UnsafeName::Empty));
        assert_eq!(check_file_name("."), Err(UnsafeName::Hidden));
        assert_eq!(check_file_name(".."), Err(UnsafeName::Hidden));
        assert_eq!(check_file_name(".hidden"), Err(UnsafeName::Hidden));
        assert_eq!(check_file_name("../x"), Err(UnsafeName::Hidden));
        assert_eq!(check_file_name("a/b"), Err(UnsafeName::Slash));
        assert_eq!(check_file_name("/etc"), Err(UnsafeName::Slash));
        assert_eq!(check_file_name("a\0b"), Err(UnsafeName::Nul));
        assert_eq!(check_file_name(&"x".repeat(256)), Err(UnsafeName::TooLong));
    }

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "127.0.0.1:2001",
            "[::1]:2001",
            "file-one.txt",
            "a..b",
            "x",
            "é",
        ] {
            assert_eq!(check_file_name(name), Ok(()), "{name}");
        }
        assert_eq!(check_file_name(&"x".repeat(255)), Ok(()));
    }

    #[test]
    fn editor_temporaries_are_recognised() {
        for name in ["notes~", "#notes#", ".#notes", ".notes.swp", ".notes.swx"] {
            assert!(is_editor_temporary(name), "{name}");
        }
        for name in ["notes", "#", "a#b", "~a", "notes.swp"] {
            assert!(!is_editor_temporary(name), "{name}");
        }
    }
}
