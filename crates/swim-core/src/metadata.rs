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

impl Metadata {
    /// A digest of the map (64-bit FNV-1a over every key and value with their lengths, in
    /// key order): how a receiver checks that a [`MetaDelta`] applied to the map it holds
    /// gives the sender's map. Deterministic on every platform.
    pub fn digest(&self) -> u64 {
        let mut hash = Fnv::default();
        for (key, value) in self.iter() {
            hash.write(&(key.len() as u64).to_le_bytes());
            hash.write(key.as_bytes());
            hash.write(&(value.len() as u64).to_le_bytes());
            hash.write(value);
        }
        hash.0
    }
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A change of a member's metadata as gossiped on the native wire: the keys set and the keys
/// removed by the member's latest metadata change, instead of the whole map (see "Metadata
/// deltas" in `docs/PROTOCOL.md`).
///
/// Every key set carries the version of the change, the clock of the record that carries
/// the delta; `base` is the version of the map the change was made to: every record of the
/// member with a clock from `base` up to the carrying record's clock holds that map. A
/// receiver holding such a record applies the delta; `digest` ([`Metadata::digest`]) of
/// the result must match, or the delta is not applied and the receiver repairs the map by
/// push-pull with the sender. Applying a delta twice gives the same map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaDelta {
    /// The clock at which the member's previous map was set (below the record's clock).
    pub base: u64,
    /// The digest of the whole map after the change.
    pub digest: u64,
    /// The keys set (added or changed), with their new values.
    pub set: Metadata,
    /// The keys removed, in strictly increasing order, none of them in `set`.
    pub removed: Arc<[String]>,
}

impl MetaDelta {
    /// The change from `old` (set at clock `base`) to `new`.
    pub fn between(base: u64, old: &Metadata, new: &Metadata) -> MetaDelta {
        let set: BTreeMap<String, Vec<u8>> = (new.iter())
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let removed: Vec<String> = (old.keys())
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        MetaDelta {
            base,
            digest: new.digest(),
            set: Metadata::new(set),
            removed: removed.into(),
        }
    }

    /// The map this change makes of `old`, if its digest matches (else the change was made
    /// to another map than `old`, and the delta cannot be applied to it).
    pub fn apply(&self, old: &Metadata) -> Option<Metadata> {
        let mut map = old.to_map();
        for key in self.removed.iter() {
            map.remove(key);
        }
        for (key, value) in self.set.iter() {
            map.insert(key.clone(), value.clone());
        }
        let new = Metadata::new(map);
        (new.digest() == self.digest).then_some(new)
    }

    /// How many keys the change names (set and removed).
    pub fn keys(&self) -> usize {
        self.set.len() + self.removed.len()
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

    #[test]
    fn a_delta_applies_to_its_base_map_only_and_twice_gives_the_same() {
        let old: Metadata = [("a", "1"), ("b", "2"), ("c", "3")].into_iter().collect();
        let new: Metadata = [("a", "1"), ("b", "9"), ("d", "4")].into_iter().collect();
        let delta = MetaDelta::between(4, &old, &new);
        assert_eq!(delta.base, 4);
        assert_eq!(delta.set, [("b", "9"), ("d", "4")].into_iter().collect());
        assert_eq!(&*delta.removed, ["c".to_owned()]);
        assert_eq!(delta.keys(), 3);
        assert_eq!(delta.apply(&old), Some(new.clone()));
        assert_eq!(delta.apply(&new), Some(new.clone()), "idempotent");
        let other: Metadata = [("a", "0"), ("b", "2")].into_iter().collect();
        assert_eq!(delta.apply(&other), None, "another map: the digest differs");
    }

    #[test]
    fn the_digest_tells_key_and_value_boundaries_apart() {
        let a: Metadata = [("ab", "c")].into_iter().collect();
        let b: Metadata = [("a", "bc")].into_iter().collect();
        assert_ne!(a.digest(), b.digest());
        assert_ne!(Metadata::empty().digest(), a.digest());
        // A fixed value: the digest is part of the wire format.
        assert_eq!(Metadata::empty().digest(), 0xcbf2_9ce4_8422_2325);
    }
}
