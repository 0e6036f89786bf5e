//! Which application messages were already handed to the application: per origin process,
//! the highest sequence number seen and a window of the ones below it.

use hashbrown::HashMap;

use crate::Source;

/// How many sequence numbers below the highest seen are remembered one by one; anything
/// older counts as seen (it is far older than anything the retention still offers).
const WINDOW: u64 = 1024;
/// Most origin processes remembered; the one heard from least recently goes first.
const MAX_ORIGINS: usize = 4096;

#[derive(Debug)]
struct Origin {
    highest: u64,
    /// Bit `i` set: `highest - i` was seen (bit 0 is `highest` itself).
    below: [u64; (WINDOW / 64) as usize],
    /// For coalescing events: the newest sequence number delivered per event name.
    newest_by_name: HashMap<String, u64>,
    /// When this origin was last heard from (the caller's clock, for eviction).
    touched: u64,
}

/// The record of delivered application messages (duplicates suppressed by origin process
/// and sequence number).
#[derive(Debug, Default)]
pub(super) struct Seen {
    origins: HashMap<Source, Origin>,
    ticks: u64,
}

impl Seen {
    /// Marks `seq` of `origin` seen; returns whether it was new.
    pub(super) fn insert(&mut self, origin: &Source, seq: u64) -> bool {
        self.ticks += 1;
        if !self.origins.contains_key(origin) && self.origins.len() >= MAX_ORIGINS {
            self.evict();
        }
        let entry = self
            .origins
            .entry(origin.clone())
            .or_insert_with(|| Origin {
                highest: seq,
                below: [0; (WINDOW / 64) as usize],
                newest_by_name: HashMap::new(),
                touched: 0,
            });
        entry.touched = self.ticks;
        if seq > entry.highest {
            shift(&mut entry.below, seq - entry.highest);
            entry.highest = seq;
        }
        let back = entry.highest - seq;
        if back >= WINDOW {
            return false;
        }
        let (word, bit) = ((back / 64) as usize, back % 64);
        let new = entry.below[word] & (1 << bit) == 0;
        entry.below[word] |= 1 << bit;
        new
    }

    /// Whether `seq` of `origin` was seen (or is too old to tell: counted as seen).
    pub(super) fn contains(&self, origin: &Source, seq: u64) -> bool {
        let Some(entry) = self.origins.get(origin) else {
            return false;
        };
        let Some(back) = entry.highest.checked_sub(seq) else {
            return false;
        };
        if back >= WINDOW {
            return true;
        }
        entry.below[(back / 64) as usize] & (1 << (back % 64)) != 0
    }

    /// For a coalescing event: whether `seq` is newer than every event named `name` from
    /// `origin` delivered so far (and if so it becomes the newest). Names kept per origin
    /// are bounded; past the bound every event is delivered.
    pub(super) fn newest_of_name(&mut self, origin: &Source, name: &str, seq: u64) -> bool {
        let Some(entry) = self.origins.get_mut(origin) else {
            return true;
        };
        match entry.newest_by_name.get_mut(name) {
            Some(newest) if *newest >= seq => false,
            Some(newest) => {
                *newest = seq;
                true
            }
            None => {
                if entry.newest_by_name.len() < 256 {
                    entry.newest_by_name.insert(name.to_owned(), seq);
                }
                true
            }
        }
    }

    /// The highest sequence number seen from `origin`.
    pub(super) fn highest(&self, origin: &Source) -> Option<u64> {
        self.origins.get(origin).map(|o| o.highest)
    }

    fn evict(&mut self) {
        if let Some(oldest) = (self.origins.iter())
            .min_by_key(|(_, o)| o.touched)
            .map(|(s, _)| s.clone())
        {
            self.origins.remove(&oldest);
        }
    }
}

/// Shifts the window by `by` sequence numbers (older ones fall off the end).
fn shift(words: &mut [u64], by: u64) {
    let n = words.len();
    if by >= WINDOW {
        words.fill(0);
        return;
    }
    let (whole, bits) = ((by / 64) as usize, by % 64);
    for i in (0..n).rev() {
        let src = i.checked_sub(whole);
        let hi = src.map_or(0, |s| words[s]);
        let lo = src.and_then(|s| s.checked_sub(1)).map_or(0, |s| words[s]);
        words[i] = if bits == 0 {
            hi
        } else {
            (hi << bits) | (lo >> (64 - bits))
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemberName, Validity};

    fn origin(v: u64) -> Source {
        Source {
            name: MemberName::from("o:1"),
            validity: Validity(v.to_le_bytes()),
        }
    }

    #[test]
    fn each_sequence_number_is_new_once_in_any_order() {
        let mut seen = Seen::default();
        let o = origin(1);
        for seq in [5, 3, 9, 4, 1000, 200] {
            assert!(seen.insert(&o, seq), "{seq}");
        }
        for seq in [5, 3, 9, 4, 1000, 200] {
            assert!(seen.contains(&o, seq), "{seq}");
            assert!(!seen.insert(&o, seq), "{seq}");
        }
        assert!(!seen.contains(&o, 6) && !seen.contains(&o, 1001));
        assert!(seen.insert(&o, 6));
        assert!(
            seen.insert(&o, 0),
            "1,000 below the highest: still in the window"
        );
        assert!(seen.insert(&o, 5000));
        assert!(seen.contains(&o, 1000), "fell out of the window: old");
        assert!(!seen.insert(&o, 1000), "fell out of the window: old");
        assert!(!seen.contains(&origin(3), 1), "an origin never heard of");
        // Another process under the same name has its own numbers.
        assert!(seen.insert(&origin(2), 5));
        assert_eq!(seen.highest(&o), Some(5000));
    }

    #[test]
    fn coalescing_delivers_only_newer_events_of_a_name() {
        let mut seen = Seen::default();
        let o = origin(1);
        seen.insert(&o, 7);
        assert!(seen.newest_of_name(&o, "cfg", 7));
        assert!(!seen.newest_of_name(&o, "cfg", 3));
        assert!(seen.newest_of_name(&o, "other", 3));
        assert!(seen.newest_of_name(&o, "cfg", 8));
    }

    #[test]
    fn the_window_shifts_across_word_boundaries() {
        let mut seen = Seen::default();
        let o = origin(1);
        for seq in (0..400).step_by(3) {
            seen.insert(&o, seq);
        }
        for seq in 0..400 {
            assert_eq!(seen.insert(&o, seq), seq % 3 != 0, "{seq}");
        }
    }
}
