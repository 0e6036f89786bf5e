//! Member names and the per-process validity token.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use arcstr::ArcStr;

/// The unique name of a member, usually its `host:port` address. Cheap to clone, and one
/// pointer wide (its length lives with the text): every member holds the name of every
/// member, so at 10,000 members a cluster holds 10⁸ of them. Equal names compare by pointer
/// first.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberName(ArcStr);

impl MemberName {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for MemberName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for MemberName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MemberName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for MemberName {
    fn from(s: &str) -> Self {
        MemberName(ArcStr::from(s))
    }
}

impl From<String> for MemberName {
    fn from(s: String) -> Self {
        MemberName(ArcStr::from(s))
    }
}

impl fmt::Display for MemberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MemberName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// Random bytes chosen by each process at start: a member that restarts under the same name
/// gets new validity bytes, which tells the others it is a new process (as in the seed).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Validity(pub [u8; 8]);

impl fmt::Debug for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
