//! Which strings may become file names, and which local files are not metadata.
//!
//! Member names and metadata keys arrive from the network; they become paths only when they
//! name exactly one entry directly inside its parent directory.

/// The name of the hook script in the base directory; a member named so would hide it.
pub const HOOK_NAME: &str = "on-update";

/// The handler script run for each user event received (see [`super::handlers`]).
pub const ON_EVENT_NAME: &str = "on-event";

/// The handler script whose output answers each query received (see [`super::handlers`]).
pub const ON_QUERY_NAME: &str = "on-query";

/// The scripts the base directory may hold; no member may be named like one.
pub const SCRIPT_NAMES: [&str; 3] = [HOOK_NAME, ON_EVENT_NAME, ON_QUERY_NAME];

/// Longest event or query name (in bytes) passed to a handler script.
pub const MAX_MESSAGE_NAME_LEN: usize = 128;

/// Why a name from the network is not passed to a handler script as an argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeArgument {
    /// The name is empty.
    #[error("it is empty")]
    Empty,
    /// The name is longer than allowed.
    #[error("it is longer than {0} bytes")]
    TooLong(usize),
    /// The name starts with `-`, which the script could take for an option.
    #[error("it starts with '-'")]
    Dash,
    /// The name holds a character outside those allowed.
    #[error("it holds {0:?}, outside {1}")]
    Character(char, &'static str),
}

/// Checks that `name` is plain text a script may receive as an argument: only `allowed`
/// characters (all ASCII, no space, no shell metacharacter), at most `max` bytes, not
/// starting with `-`.
fn check_argument(
    name: &str,
    max: usize,
    allowed: fn(char) -> bool,
    what: &'static str,
) -> Result<(), UnsafeArgument> {
    if name.is_empty() {
        return Err(UnsafeArgument::Empty);
    }
    if name.len() > max {
        return Err(UnsafeArgument::TooLong(max));
    }
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        return Err(UnsafeArgument::Character(bad, what));
    }
    if name.starts_with('-') {
        return Err(UnsafeArgument::Dash);
    }
    Ok(())
}

/// Checks an event or query name before it becomes a handler's first argument: what the
/// library allows in a name, `[A-Za-z0-9._:/-]`, 1 to [`MAX_MESSAGE_NAME_LEN`] bytes, and
/// not starting with `-`.
pub fn check_message_name(name: &str) -> Result<(), UnsafeArgument> {
    check_argument(
        name,
        MAX_MESSAGE_NAME_LEN,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-'),
        "[A-Za-z0-9._:/-]",
    )
}

/// Checks a member name before it becomes a handler's second argument: what host names,
/// IPv4 and bracketed IPv6 addresses with a port are made of (`[A-Za-z0-9._:[]-]`), 1 to
/// [`MAX_NAME_LEN`] bytes, not starting with `-`.
pub fn check_sender_name(name: &str) -> Result<(), UnsafeArgument> {
    check_argument(
        name,
        MAX_NAME_LEN,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '[' | ']'),
        "[A-Za-z0-9._:[]-]",
    )
}

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
    fn message_names_are_plain_words() {
        for good in ["deploy", "reload-config", "v1.2_x", "a", "app/reload:v2"] {
            assert_eq!(check_message_name(good), Ok(()), "{good}");
        }
        assert_eq!(check_message_name(""), Err(UnsafeArgument::Empty));
        assert_eq!(check_message_name("-rf"), Err(UnsafeArgument::Dash));
        assert_eq!(
            check_message_name(&"x".repeat(MAX_MESSAGE_NAME_LEN + 1)),
            Err(UnsafeArgument::TooLong(MAX_MESSAGE_NAME_LEN))
        );
        for bad in ["a b", "a;b", "$(id)", "a*b", "é", "a\nb", "a`b"] {
            assert!(
                matches!(check_message_name(bad), Err(UnsafeArgument::Character(..))),
                "{bad}"
            );
        }
    }

    #[test]
    fn sender_names_are_host_and_port() {
        for good in ["127.0.0.1:2001", "[::1]:2001", "node-3.example.org:7946"] {
            assert_eq!(check_sender_name(good), Ok(()), "{good}");
        }
        for bad in ["a b:1", "`id`:1", "x;y", "--help", ""] {
            assert!(check_sender_name(bad).is_err(), "{bad}");
        }
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
