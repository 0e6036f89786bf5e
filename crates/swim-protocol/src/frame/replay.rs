//! Replay protection. Every sending process numbers its frames (a random 64-bit process
//! id, a counter that grows by one per frame, and its wall clock in milliseconds). A
//! receiver remembers, per sending process, the highest counter seen and which of the
//! [`WINDOW`] counters below it arrived, so each frame is accepted at most once.
//!
//! A sending process the receiver holds no window for (the receiver restarted, or evicted
//! the window) is only accepted with a time at or after the receiver's *floor*: its start
//! time minus the allowed clock skew, raised to the newest time of any evicted window. A
//! new window counts every counter up to its first one as seen, so frames captured before
//! the receiver's restart cannot be slipped in below the sender's next fresh frame.

use std::collections::HashMap;

/// How many counters below the highest one a window tracks: frames of one sender may be
/// reordered by this much (a TCP frame overtaken by UDP ones) and still count.
pub(crate) const WINDOW: u64 = 1024;

/// Most sending processes tracked at once (128 bytes of bitmap each).
pub(crate) const MAX_SENDERS: usize = 4096;

const WORDS: usize = (WINDOW / 64) as usize;

/// Why a frame was refused as a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// This counter of this sender was accepted before.
    Duplicate,
    /// More than the window (1024 counters) below the sender's highest counter.
    TooOld,
    /// An untracked sender's frame older than the floor (e.g. captured before a restart).
    Stale,
}

struct Window {
    highest: u64,
    /// Bit `c % WINDOW` set: counter `c` (within the window) was seen.
    seen: [u64; WORDS],
    /// The newest sender time seen.
    newest_ms: u64,
    /// When the window was last used, for eviction (a tick of the guard).
    used: u64,
}

impl Window {
    fn starting_at(counter: u64, time_ms: u64, tick: u64) -> Window {
        Window {
            highest: counter,
            // Everything up to the first counter counts as seen.
            seen: [u64::MAX; WORDS],
            newest_ms: time_ms,
            used: tick,
        }
    }

    fn bit(counter: u64) -> (usize, u64) {
        let i = counter % WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn accept(&mut self, counter: u64) -> Result<(), Replayed> {
        if counter > self.highest {
            let ahead = counter - self.highest;
            if ahead >= WINDOW {
                self.seen = [0; WORDS];
            } else {
                for c in self.highest + 1..counter {
                    let (w, b) = Window::bit(c);
                    self.seen[w] &= !b;
                }
            }
            self.highest = counter;
            let (w, b) = Window::bit(counter);
            self.seen[w] |= b;
            return Ok(());
        }
        if self.highest - counter >= WINDOW {
            return Err(Replayed::TooOld);
        }
        let (w, b) = Window::bit(counter);
        if self.seen[w] & b != 0 {
            return Err(Replayed::Duplicate);
        }
        self.seen[w] |= b;
        Ok(())
    }
}

/// The receiver's memory of frames accepted. Bounded: [`MAX_SENDERS`] windows.
pub(crate) struct ReplayGuard {
    senders: HashMap<u64, Window>,
    floor_ms: u64,
    tick: u64,
    capacity: usize,
}

impl ReplayGuard {
    /// A guard that accepts untracked senders from `floor_ms` (sender time) on.
    pub fn new(floor_ms: u64) -> Self {
        ReplayGuard::with_capacity(floor_ms, MAX_SENDERS)
    }

    pub fn with_capacity(floor_ms: u64, capacity: usize) -> Self {
        ReplayGuard {
            senders: HashMap::new(),
            floor_ms,
            tick: 0,
            capacity: capacity.max(8),
        }
    }

    /// Accepts frame `counter` of process `sender`, stamped `time_ms` by it, at most once.
    /// Only call this for frames whose authenticity is verified.
    pub fn accept(&mut self, sender: u64, counter: u64, time_ms: u64) -> Result<(), Replayed> {
        self.tick += 1;
        if let Some(window) = self.senders.get_mut(&sender) {
            window.accept(counter)?;
            window.newest_ms = window.newest_ms.max(time_ms);
            window.used = self.tick;
            return Ok(());
        }
        if time_ms < self.floor_ms {
            return Err(Replayed::Stale);
        }
        if self.senders.len() >= self.capacity {
            self.evict();
        }
        self.senders
            .insert(sender, Window::starting_at(counter, time_ms, self.tick));
        Ok(())
    }

    /// Forgets the least recently used eighth of the windows, raising the floor past
    /// everything they saw so that their old frames stay refused.
    fn evict(&mut self) {
        let mut used: Vec<u64> = self.senders.values().map(|w| w.used).collect();
        let cut = used.len() / 8;
        let (_, threshold, _) = used.select_nth_unstable(cut);
        let threshold = *threshold;
        let mut floor = self.floor_ms;
        self.senders.retain(|_, w| {
            let keep = w.used > threshold;
            if !keep {
                floor = floor.max(w.newest_ms.saturating_add(1));
            }
            keep
        });
        self.floor_ms = floor;
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.senders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counter_is_accepted_once_in_any_order() {
        let mut guard = ReplayGuard::new(0);
        assert_eq!(guard.accept(1, 100, 5), Ok(()));
        assert_eq!(guard.accept(1, 100, 5), Err(Replayed::Duplicate));
        for c in [105, 103, 101, 104, 102] {
            assert_eq!(guard.accept(1, c, 5), Ok(()), "counter {c}");
        }
        for c in 100..=105 {
            assert_eq!(
                guard.accept(1, c, 5),
                Err(Replayed::Duplicate),
                "counter {c}"
            );
        }
        // Counters up to the first one count as seen.
        assert_eq!(guard.accept(1, 99, 5), Err(Replayed::Duplicate));
        // Another sender has its own window.
        assert_eq!(guard.accept(2, 100, 5), Ok(()));
    }

    #[test]
    fn a_big_jump_clears_the_window_and_old_counters_fall_out() {
        let mut guard = ReplayGuard::new(0);
        guard.accept(1, 10, 0).unwrap();
        guard.accept(1, 10 + 5 * WINDOW, 0).unwrap();
        assert_eq!(guard.accept(1, 10 + 4 * WINDOW, 0), Err(Replayed::TooOld));
        // Inside the new window, unseen counters are fine once.
        assert_eq!(guard.accept(1, 11 + 4 * WINDOW, 0), Ok(()));
        assert_eq!(
            guard.accept(1, 11 + 4 * WINDOW, 0),
            Err(Replayed::Duplicate)
        );
        // Wrapping the ring exactly: a counter WINDOW below a new highest is too old.
        let h = 10 + 5 * WINDOW;
        guard.accept(1, h + WINDOW - 1, 0).unwrap();
        assert_eq!(guard.accept(1, h - 1, 0), Err(Replayed::TooOld));
        assert_eq!(guard.accept(1, h, 0), Err(Replayed::Duplicate));
        assert_eq!(guard.accept(1, h + 1, 0), Ok(()));
    }

    #[test]
    fn untracked_senders_must_be_newer_than_the_floor() {
        let mut guard = ReplayGuard::new(1_000);
        assert_eq!(guard.accept(1, 5, 999), Err(Replayed::Stale));
        assert_eq!(guard.accept(1, 5, 1_000), Ok(()));
        // Once tracked, the counter decides.
        assert_eq!(guard.accept(1, 6, 10), Ok(()));
    }

    #[test]
    fn eviction_is_bounded_and_keeps_old_frames_out() {
        let mut guard = ReplayGuard::with_capacity(0, 16);
        for sender in 0..16 {
            guard.accept(sender, 1, 100 + sender).unwrap();
        }
        // A frame of sender 0 is captured at time 100; then senders keep arriving.
        for sender in 16..64 {
            guard.accept(sender, 1, 200 + sender).unwrap();
            assert!(guard.tracked() <= 16);
        }
        assert_eq!(guard.accept(0, 2, 100), Err(Replayed::Stale));
        // A sender still tracked is unaffected.
        assert_eq!(guard.accept(63, 2, 263), Ok(()));
    }
}
