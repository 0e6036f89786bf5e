//! Member metadata: string keys to byte values, cheap to clone and share.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

/// A member's metadata: UTF-8 keys mapped to arbitrary bytes. Immutable and cheap to clone;
/// build a new one to change it.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata(Arc<BTreeMap<String, Vec<u8>>>);

/// Ordered by value; two clones of one map are equal without walking it (the table compares
/// every received record with the one it holds, usually the same shared map).
impl Ord for Metadata {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return std::cmp::Ordering::Equal;
        }
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Metadata {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Metadata {
    /// Metadata with no keys.
    pub fn empty() -> Self {
        Metadata::default()
    }

    /// Wraps a map.
    pub fn new(map: BTreeMap<String, Vec<u8>>) -> Self {
        Metadata(Arc::new(map))
    }

    /// A copy of the map, to edit and wrap again.
    pub fn to_map(&self) -> BTreeMap<String, Vec<u8>> {
        (*self.0).clone()
    }

    /// A copy with `key` set to `value`.
    #[must_use]
    pub fn with(&self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        let mut map = self.to_map();
        map.insert(key.into(), value.into());
        Metadata::new(map)
    }

    /// A copy without `key`.
    #[must_use]
    pub fn without(&self, key: &str) -> Self {
        let mut map = self.to_map();
        map.remove(key);
        Metadata::new(map)
    }
}

impl Deref for Metadata {
    type Target = BTreeMap<String, Vec<u8>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl From<BTreeMap<String, Vec<u8>>> for Metadata {
    fn from(map: BTreeMap<String, Vec<u8>>) -> Self {
        Metadata::new(map)
    }
}

impl<K: Into<String>, V: Into<Vec<u8>>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Metadata::new(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, String::from_utf8_lossy(v))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn order_is_by_value_whether_or_not_shared() {
        let a: Metadata = [("k", "1")].into_iter().collect();
        let b: Metadata = [("k", "2")].into_iter().collect();
        let a2: Metadata = [("k", "1")].into_iter().collect();
        assert_eq!(a.cmp(&a.clone()), Ordering::Equal);
        assert_eq!(a.cmp(&a2), Ordering::Equal);
        assert_eq!(a.cmp(&b), Ordering::Less);
        assert_eq!(b.cmp(&a2), Ordering::Greater);
        assert_eq!(a.partial_cmp(&b), Some(Ordering::Less));
    }
}
