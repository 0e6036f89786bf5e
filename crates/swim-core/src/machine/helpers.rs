//! Whom an indirect probe asks (Lifeguard). A helper's silence counts against our local
//! health, so the helpers should be members that are likely alive: with Lifeguard on they
//! are drawn first from the members that most recently answered a probe of ours or sent a
//! nack we asked for, and only then at random. Only the silence of such a recent responder
//! counts against us (a helper drawn at random may be dead), and a silent one is no longer
//! asked first. Without this, a cluster that lost most of its members at once (a rack,
//! a scale-down without leave) asks dead helpers, takes their silence for its own slowness,
//! stretches its timeouts ninefold and needs minutes to find the dead (see "Lifeguard" in
//! `docs/PROTOCOL.md`). Plain SWIM (Lifeguard off) keeps the random choice.

use super::*;

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
}

impl<R: Rng> Swim<R> {
    /// How many of the silent `helpers` (the ones that owed a nack and sent none) were
    /// recent responders, whose silence is evidence against us; all of them are no longer
    /// asked first.
    pub(super) fn silent_helpers(&mut self, helpers: &[(usize, bool)]) -> u32 {
        let mut count = 0;
        for &(helper, got) in helpers {
            if !got && self.responders.contains(helper) {
                count += 1;
                self.responders.remove(helper);
            }
        }
        count
    }

    /// Up to `count` available members other than `target` to relay a probe of it: recent
    /// responders first (in random order), then random available members.
    pub(super) fn probe_helpers(&mut self, count: usize, target: usize) -> Vec<usize> {
        if !self.config.lifeguard {
            return self.find_indices(count, StatusSet::AVAILABLE, &[target]);
        }
        let table = &self.table;
        let mut chosen: Vec<usize> = (self.responders.recent.iter().copied())
            .filter(|&i| {
                i != target
                    && i != LOCAL
                    && table
                        .entries
                        .get(i)
                        .is_some_and(|e| StatusSet::AVAILABLE.contains(e.status))
            })
            .collect();
        rand::seq::SliceRandom::shuffle(&mut chosen[..], &mut self.rng);
        chosen.truncate(count);
        if chosen.len() < count {
            let mut exclude = chosen.clone();
            exclude.push(target);
            let more = self.find_indices(count - chosen.len(), StatusSet::AVAILABLE, &exclude);
            chosen.extend(more);
        }
        chosen
    }
}
