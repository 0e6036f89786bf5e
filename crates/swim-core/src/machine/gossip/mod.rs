//! Dissemination: the queue of records to piggyback, each sent a bounded number of times,
//! eager fanout of fresh news (wide for news other than joins, within a packet budget per
//! `sync_interval`), and join news in a burst (see "Dissemination" and "Mass joins" in
//! `docs/PROTOCOL.md`). Which records a packet carries is decided here; the
//! orchestrator builds the packet.

mod queue;

use std::time::Duration;

use queue::BroadcastQueue;

use crate::ProtocolConfig;

/// Records waiting to be gossiped from which join news counts as a burst (about three
/// packets' worth at the default 1,200-byte piggyback budget): see [`Gossip::join_news`].
const JOIN_BURST: usize = 100;

/// Eager packets a member may send per `sync_interval`, in `fanout`s: the gate lets a batch
/// of `fanout` through every `sync_interval / 4`, so this is what fanouts cost at most
/// before wide fanouts (see [`Gossip::fanout_now`]).
const EAGER_WINDOWS: usize = 4;

/// The records waiting to be gossiped and the rules of their sending.
#[derive(Debug)]
pub(super) struct Gossip {
    queue: BroadcastQueue,
    retransmit_mult: u32,
    fanout: usize,
    /// Join news heard second-hand is fanned out too (an ablation).
    fanout_joins: bool,
    /// Most sendings of join news in a burst (0: none; an ablation may raise it).
    join_news_retransmits: u32,
    /// News other than join news was queued since the last fanout: the next one is wide.
    wide: bool,
    /// Eager packets left in the current window of `sync_interval`, and when it ends.
    eager_left: usize,
    eager_window_end: Duration,
    sync_interval: Duration,
}

/// What the fanout owes before join news is applied: see [`Gossip::before_join_news`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Owed {
    fresh: bool,
    wide: bool,
}

impl Gossip {
    /// An empty queue with the configured limits.
    pub(super) fn new(config: &ProtocolConfig) -> Gossip {
        Gossip {
            queue: BroadcastQueue::default(),
            retransmit_mult: config.retransmit_mult,
            fanout: config.fanout,
            #[cfg(feature = "ablation")]
            fanout_joins: config.ablation.fanout_joins,
            #[cfg(not(feature = "ablation"))]
            fanout_joins: false,
            #[cfg(feature = "ablation")]
            join_news_retransmits: config.ablation.join_news_retransmits,
            #[cfg(not(feature = "ablation"))]
            join_news_retransmits: 0,
            wide: false,
            eager_left: 0,
            eager_window_end: Duration::ZERO,
            sync_interval: config.sync_interval,
        }
    }

    /// Makes room for the queue's slots of `members` members.
    pub(super) fn reserve(&mut self, members: usize) {
        self.queue.reserve(members);
    }

    /// Queues (or re-queues, fresh) the record of member `index`.
    pub(super) fn push(&mut self, index: usize) {
        self.wide = true;
        self.queue.push(index);
    }

    /// Whether nothing waits to be gossiped (a quiet cluster sends no gossip).
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// How many records wait to be gossiped.
    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    /// How many times a record is piggybacked in a cluster of `members`:
    /// `retransmit_mult × ceil(log10(members + 1))`.
    pub(super) fn limit(&self, members: usize) -> u32 {
        let n = members as f64;
        let factor = (n + 1.0).log10().ceil().max(1.0) as u32;
        self.retransmit_mult.saturating_mul(factor)
    }

    /// To how many members a wide fanout goes in a cluster of `members`: the record's whole
    /// retransmission limit, and at least `fanout`.
    pub(super) fn wide_width(&self, members: usize) -> usize {
        self.fanout.max(self.limit(members) as usize)
    }

    /// Counts one sending of the record of `index` if it is queued; returns whether it was.
    pub(super) fn take_one(&mut self, index: usize, limit: u32) -> bool {
        self.queue.take_one(index, limit)
    }

    /// Picks records in priority order while `fits` accepts them, counting one sending each.
    pub(super) fn take(&mut self, limit: u32, fits: impl FnMut(usize) -> bool) -> Vec<usize> {
        self.queue.take(limit, None, fits)
    }

    /// Eager fanout: when news was queued since the last fanout and `gate_open` (fanouts
    /// are at least `sync_interval / 4` apart, so a burst goes in one batch), returns to how
    /// many random members it goes now (`members` in the cluster, `now` the time). Each
    /// such packet piggybacks the queue as any other, so it counts against every record's
    /// budget, and a quiet member sends nothing.
    ///
    /// News other than join news goes **wide**: to as many members as its record's whole
    /// retransmission limit, at once, instead of `fanout` now and the rest one gossip tick
    /// (`sync_interval`) at a time; with `fanout` alone about `e^-fanout` of the members are
    /// missed by the first wave and wait for a tick. Join news keeps `fanout` (a join heard
    /// first-hand is fanned out by every member that hears it, so its cost grows with the
    /// fanout squared). Every fanout draws on a budget of `4 × fanout` eager packets per
    /// `sync_interval`, the most the gate let through before wide fanouts, so a member
    /// busy with news sends no more eager packets than it did.
    pub(super) fn fanout_now(
        &mut self,
        gate_open: bool,
        members: usize,
        now: Duration,
    ) -> Option<usize> {
        if self.fanout == 0 {
            self.queue.take_fresh();
            self.wide = false;
            return None;
        }
        if !self.queue.has_fresh() || !gate_open {
            return None;
        }
        self.queue.take_fresh();
        if now >= self.eager_window_end {
            self.eager_left = EAGER_WINDOWS * self.fanout;
            self.eager_window_end = now + self.sync_interval;
        }
        let wanted = if std::mem::take(&mut self.wide) {
            self.wide_width(members)
        } else {
            self.fanout
        };
        let count = wanted.min(self.eager_left);
        self.eager_left -= count;
        (count > 0).then_some(count)
    }

    /// Whether a fanout waits for its gate to open.
    pub(super) fn fanout_pending(&self) -> bool {
        self.fanout > 0 && self.queue.has_fresh()
    }

    /// Before queueing join news (a member's first record, or a joiner's own record): what
    /// the fanout owes now, to be given to [`Gossip::after_join_news`].
    pub(super) fn before_join_news(&self) -> Owed {
        Owed {
            fresh: self.queue.has_fresh(),
            wide: self.wide,
        }
    }

    /// Join news was queued: it never makes a fanout wide (see [`Gossip::fanout_now`]), and
    /// heard second-hand (`first_hand` false) it is piggybacked and gossiped but not fanned
    /// out at all (unless the `fanout_joins` ablation): the marks are set back to `owed`.
    /// Fanning out every join at every member costs `fanout × n` packets per join, so a
    /// mass join of `n` members would cost `fanout × n²`; the joiner's own record, heard
    /// first-hand, still is fanned out.
    pub(super) fn after_join_news(&mut self, owed: Owed, first_hand: bool) {
        self.wide = owed.wide;
        if !first_hand && !self.fanout_joins && !owed.fresh {
            self.queue.take_fresh();
        }
    }

    /// Join news (the first record of member `index`) arrived: while at least
    /// [`JOIN_BURST`] records wait (a mass join), it is gossiped at most
    /// `join_news_retransmits` times (0 by default: not at all). Every member re-gossiping
    /// every joiner's record costs `n²` times that many copies, more than the queues drain;
    /// the joiner still announces itself, and the member-count digest's catch-ups hand over
    /// the lists. A single join is gossiped as any news.
    pub(super) fn join_news(&mut self, index: usize, members: usize) {
        if self.queue.len() < JOIN_BURST {
            return;
        }
        let limit = self.limit(members);
        let spent = limit.saturating_sub(self.join_news_retransmits);
        self.queue.count_as_sent(index, spent, limit);
    }

    /// The member at `index` was forgotten.
    pub(super) fn forget(&mut self, index: usize) {
        self.queue.remove(index);
    }

    /// The member at table index `from` now lives at `to`.
    pub(super) fn renumber(&mut self, from: usize, to: usize) {
        self.queue.rename(from, to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: usize = 80;

    fn gossip() -> Gossip {
        Gossip::new(&ProtocolConfig::default())
    }

    #[test]
    fn news_goes_wide_join_news_goes_to_fanout() {
        let mut g = gossip();
        let (fanout, limit) = (g.fanout, g.limit(MEMBERS) as usize);
        assert!(
            limit > fanout,
            "the test needs a budget wider than the fanout"
        );
        let now = Duration::ZERO;
        g.push(1);
        assert_eq!(g.fanout_now(true, MEMBERS, now), Some(limit));
        assert_eq!(g.fanout_now(true, MEMBERS, now), None, "nothing fresh");

        // Join news heard first-hand is fanned out, narrowly.
        let owed = g.before_join_news();
        g.push(2);
        g.after_join_news(owed, true);
        let later = now + g.sync_interval;
        assert_eq!(g.fanout_now(true, MEMBERS, later), Some(fanout));

        // Heard second-hand, not at all; news beside it still goes wide.
        let owed = g.before_join_news();
        g.push(3);
        g.after_join_news(owed, false);
        let later = later + g.sync_interval;
        assert_eq!(g.fanout_now(true, MEMBERS, later), None);
        g.push(4);
        let owed = g.before_join_news();
        g.push(5);
        g.after_join_news(owed, false);
        assert_eq!(g.fanout_now(true, MEMBERS, later), Some(limit));
    }

    #[test]
    fn eager_packets_stay_within_the_budget_of_a_sync_interval() {
        let mut g = gossip();
        let budget = EAGER_WINDOWS * g.fanout;
        let step = g.sync_interval / 4;
        // News at every gate opening: the window's packets never exceed the budget, and
        // the next window has the whole budget again.
        let mut sent = 0;
        for i in 0..EAGER_WINDOWS {
            g.push(i);
            sent += g.fanout_now(true, MEMBERS, step * i as u32).unwrap_or(0);
        }
        assert_eq!(sent, budget);
        g.push(9);
        assert_eq!(
            g.fanout_now(true, MEMBERS, g.sync_interval),
            Some(g.limit(MEMBERS) as usize)
        );
    }

    #[test]
    fn no_fanout_configured_sends_nothing_eagerly() {
        let mut g = Gossip::new(&ProtocolConfig {
            fanout: 0,
            ..ProtocolConfig::default()
        });
        g.push(1);
        assert_eq!(g.fanout_now(true, MEMBERS, Duration::ZERO), None);
        assert!(!g.fanout_pending());
    }
}
