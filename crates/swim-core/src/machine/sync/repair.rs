//! Metadata repair: a record newer than ours that carries a metadata delta made to a map we
//! do not hold (we missed an earlier change: loss, a partition, a late join) is not applied;
//! its sender holds the whole record, so we ask it by push-pull at once, pushing our older
//! record of the member: its answer carries its newer record with the whole map (see
//! "Metadata deltas" in `docs/PROTOCOL.md`). One ask per member per `ping_interval`, at most
//! [`MAX_ASKS`] members at once: every copy of the same change arriving meanwhile is dropped.

use std::collections::VecDeque;
use std::time::Duration;

use crate::MemberName;

/// Most members whose repair is in flight at once; a repair beyond waits for the next copy
/// of the record, or for push-pull.
pub(super) const MAX_ASKS: usize = 64;

/// The repairs asked lately.
#[derive(Debug, Default)]
pub(super) struct Repairs {
    /// (when asked, member), oldest first.
    asked: VecDeque<(Duration, MemberName)>,
}

impl Repairs {
    /// Whether the map of `name` is to be asked for now (`gap`: the wait before asking again
    /// for the same member); records the ask if so.
    pub(super) fn ask(&mut self, now: Duration, name: &MemberName, gap: Duration) -> bool {
        while self.asked.front().is_some_and(|(at, _)| *at + gap <= now) {
            self.asked.pop_front();
        }
        if self.asked.len() >= MAX_ASKS || self.asked.iter().any(|(_, n)| n == name) {
            return false;
        }
        self.asked.push_back((now, name.clone()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_ask_per_member_per_gap_and_a_bounded_number_at_once() {
        let mut repairs = Repairs::default();
        let gap = Duration::from_secs(1);
        let t0 = Duration::ZERO;
        let a = MemberName::from("a");
        assert!(repairs.ask(t0, &a, gap));
        assert!(!repairs.ask(t0 + gap / 2, &a, gap));
        assert!(repairs.ask(t0 + gap, &a, gap), "asked again after the gap");
        for i in 1..MAX_ASKS {
            assert!(repairs.ask(t0 + gap, &MemberName::from(format!("m{i}")), gap));
        }
        assert!(!repairs.ask(t0 + gap, &MemberName::from("one too many"), gap));
    }
}
