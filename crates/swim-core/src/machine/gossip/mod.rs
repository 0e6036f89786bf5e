//! Dissemination: the queue of records to piggyback, each sent a bounded number of times,
//! eager fanout of fresh news, and join news in a burst (see "Dissemination" and "Mass
//! joins" in `docs/PROTOCOL.md`). Which records a packet carries is decided here; the
//! orchestrator builds the packet.

mod queue;

use queue::BroadcastQueue;

use crate::ProtocolConfig;

/// Records waiting to be gossiped from which join news counts as a burst (about three
/// packets' worth at the default 1,200-byte piggyback budget): see [`Gossip::join_news`].
const JOIN_BURST: usize = 100;

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
        }
    }

    /// Queues (or re-queues, fresh) the record of member `index`.
    pub(super) fn push(&mut self, index: usize) {
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
    /// many random members it goes now. Each such packet piggybacks the queue as any other,
    /// so it counts against every record's budget, and a quiet member sends nothing.
    pub(super) fn fanout_now(&mut self, gate_open: bool) -> Option<usize> {
        if self.fanout == 0 {
            self.queue.take_fresh();
            return None;
        }
        if !self.queue.has_fresh() || !gate_open {
            return None;
        }
        self.queue.take_fresh();
        Some(self.fanout)
    }

    /// Whether a fanout waits for its gate to open.
    pub(super) fn fanout_pending(&self) -> bool {
        self.fanout > 0 && self.queue.has_fresh()
    }

    /// Before applying join news heard second-hand: what the fresh mark is now, to be
    /// given to [`Gossip::not_fanned_out`]. `None` when such news is fanned out too.
    pub(super) fn hold_fresh(&self) -> Option<bool> {
        (!self.fanout_joins).then(|| self.queue.has_fresh())
    }

    /// Join news heard second-hand is piggybacked and gossiped, never fanned out: the fresh
    /// mark is set back to `held`. Fanning out every join at every member costs
    /// `fanout × n` packets per join, so a mass join of `n` members would cost
    /// `fanout × n²`; the joiner's own record, heard first-hand, still is fanned out.
    pub(super) fn not_fanned_out(&mut self, held: bool) {
        if !held {
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
