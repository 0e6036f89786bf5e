//! Whom an indirect probe asks first (Lifeguard). A helper's silence counts against our
//! local health, so the helpers should be members that are likely alive: with Lifeguard on
//! they are drawn first from the members that most recently answered a probe of ours or
//! sent a nack we asked for, and only then at random. Only the silence of such a recent
//! responder counts against us (a helper drawn at random may be dead), and a silent one is
//! no longer asked first. Without this, a cluster that lost most of its members at once (a
//! rack, a scale-down without leave) asks dead helpers, takes their silence for its own
//! slowness, stretches its timeouts ninefold and needs minutes to find the dead (see
//! "Lifeguard" in `docs/PROTOCOL.md`). Plain SWIM (Lifeguard off) keeps the random choice.

use std::collections::VecDeque;

/// How many of the latest members to answer our probes are remembered as helpers.
const RECENT_RESPONDERS: usize = 8;

/// The members whose latest probe by us was answered, most recent last (table indices).
#[derive(Debug, Default, Clone)]
pub(super) struct Responders {
    recent: VecDeque<usize>,
}

impl Responders {
    /// `index` answered a probe of ours.
    pub(super) fn answered(&mut self, index: usize) {
        self.recent.retain(|&i| i != index);
        if self.recent.len() == RECENT_RESPONDERS {
            self.recent.pop_front();
        }
        self.recent.push_back(index);
    }

    /// Whether `index` is among the recent responders.
    pub(super) fn contains(&self, index: usize) -> bool {
        self.recent.contains(&index)
    }

    /// `index` left the table, or did not answer as a helper.
    pub(super) fn remove(&mut self, index: usize) {
        self.recent.retain(|&i| i != index);
    }

    /// The entry at `from` moved to `to`.
    pub(super) fn rename(&mut self, from: usize, to: usize) {
        for i in self.recent.iter_mut().filter(|i| **i == from) {
            *i = to;
        }
    }

    /// The recent responders, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.recent.iter().copied()
    }
}
