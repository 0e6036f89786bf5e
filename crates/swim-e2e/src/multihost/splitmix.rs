//! A seeded generator for the fault schedules and the delays.

/// splitmix64: a small generator whose sequence is fixed by its seed forever (a library's
/// generator may change between versions, and the schedule of a seed must not).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// The generator of `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// Uniform in `0..len` (`len` at least 1).
    pub fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.range(0, len as u64 - 1)).unwrap_or(0)
    }
}
