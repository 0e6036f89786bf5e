//! Building packets: piggybacking queued records within the byte budget, and choosing
//! random members by status.

use super::*;

/// Records waiting to be gossiped from which join news counts as a burst (about three
/// packets' worth at the default 1,200-byte piggyback budget): see
/// [`Swim::join_news_in_a_burst`].
pub(super) const JOIN_BURST: usize = 100;

impl<R: Rng> Swim<R> {
    /// Builds and queues a packet to member `to`, piggybacking gossip: first the receiver's
    /// own record if we do not see it ONLINE (so it can refute), then ours if `with_local`,
    /// then pending records by priority within the byte budget.
    pub(super) fn send(&mut self, to: usize, message: Message, with_local: bool) {
        let wire = self.wire_of(to);
        self.send_on(to, wire, message, with_local);
    }

    /// [`Swim::send`] in the wire format `wire`. What the Python format cannot carry is
    /// never sent in it: a nack is dropped here, a probe's push-pull window is left out
    /// (the left flag reads as the member's own OFFLINE record in that format, see
    /// `docs/python-wire.md`).
    pub(super) fn send_on(
        &mut self,
        to: usize,
        wire: PeerWire,
        message: Message,
        with_local: bool,
    ) {
        if wire == PeerWire::Python && matches!(message, Message::Nack { .. }) {
            return;
        }
        // Nor a window on a probe: the ping or ack goes without it.
        let message = match wire {
            PeerWire::Python => message.split_window().0,
            PeerWire::Native => message,
        };
        let mut packet = Packet {
            source: self.source(),
            message,
            gossip: Vec::new(),
        };
        // To a source not in good standing, no more than it sent (machine/standing.rs).
        let bare = crate::wire::encoded_len(&packet);
        let room = match self.answer_room(to, bare) {
            standing::Room::Nothing => return,
            standing::Room::Gossip(bytes) => Some(bytes),
            standing::Room::Unlimited => None,
        };
        let mut gossip = Vec::new();
        // A sync's own records (or a window riding on a probe) share the budget, so that a
        // window and its gossip still fit in one datagram.
        let carried: usize = (packet.message.records().iter())
            .map(crate::wire::update_len)
            .sum();
        let mut budget = self.config.piggyback_budget.saturating_sub(carried);
        if let Some(room) = room {
            // The gossip count prefix may take a byte more than the records.
            budget = budget.min(room.saturating_sub(1));
        }
        // Members whose record is already in the packet (at most the receiver and us).
        let mut firsts: Vec<usize> = Vec::new();
        let mut first = |index: usize, gossip: &mut Vec<Update>, budget: &mut usize| {
            let record = self.table.update(index);
            *budget = budget.saturating_sub(crate::wire::update_len(&record));
            gossip.push(record);
            firsts.push(index);
        };
        let dest_first = self.table.entries[to].status != Status::Online;
        let limit = self.retransmit_limit();
        // Our own record goes first while it is news: it is usually a refutation. (It goes
        // before the receiver's only when room is short: a stranger's answer is cut.)
        let local_first = self.broadcasts.take_one(LOCAL, limit) || with_local;
        if local_first && room.is_some() {
            first(LOCAL, &mut gossip, &mut budget);
        }
        if dest_first {
            first(to, &mut gossip, &mut budget);
        }
        if local_first && room.is_none() {
            first(LOCAL, &mut gossip, &mut budget);
        }
        let table = &self.table;
        let mut taken = gossip.len();
        let chosen = self.broadcasts.take(limit, None, |index| {
            let accuser = table.accuser(index).map(|a| &**a);
            let len = crate::wire::snapshot_len(&table.entries[index], accuser);
            // A record larger than the whole budget still goes, alone (over TCP if need be).
            if len <= budget || taken == 0 {
                budget = budget.saturating_sub(len);
                taken += 1;
                true
            } else {
                false
            }
        });
        for index in chosen {
            if !firsts.contains(&index) {
                gossip.push(self.table.update(index));
            }
        }
        packet.gossip = gossip;
        if let Some(room) = room {
            // A record larger than the budget may still have been taken: cut to the room.
            while crate::wire::encoded_len(&packet) > bare + room {
                packet.gossip.pop();
            }
            self.answer_sent(to, crate::wire::encoded_len(&packet));
        }
        let to = self.table.entries[to].name.clone();
        self.transmits.push_back(Transmit { to, packet, wire });
    }

    /// Eager fanout: if news was queued, passes it on at once to `fanout` random available
    /// members (not `exclude`, the member it came from). Each packet piggybacks the queue as
    /// any other, so it counts against every record's retransmission budget, and a quiet
    /// member sends nothing. Fanouts are at least `sync_interval / 4` apart: news arriving
    /// meanwhile (a burst, such as many members joining) waits and goes in one batch, so a
    /// burst costs at most `fanout` packets per window.
    pub(super) fn fan_out(&mut self, now: Duration, exclude: Option<usize>) {
        if self.config.fanout == 0 {
            self.broadcasts.take_fresh();
            return;
        }
        if !self.broadcasts.has_fresh() || now < self.next_fanout {
            return;
        }
        self.broadcasts.take_fresh();
        self.next_fanout = now + self.config.sync_interval / 4;
        let exclude: Vec<usize> = exclude.into_iter().collect();
        let targets = self.find_indices(self.config.fanout, StatusSet::AVAILABLE, &exclude);
        for target in targets {
            if self.broadcasts.is_empty() {
                break;
            }
            self.send(target, Message::GossipOnly, false);
        }
    }

    /// Whether `update` is the first record we get of its member (unknown, or known by
    /// name only): news that someone joined.
    pub(super) fn is_join_news(&self, update: &Update) -> bool {
        self.table
            .get(&update.name)
            .is_none_or(|index| self.table.entries[index].is_placeholder())
    }

    /// Join news heard second-hand is piggybacked and gossiped, never fanned out: after
    /// applying it, the queue's fresh mark is set back to `held` (what it was before).
    /// Fanning out every join at every member costs `fanout × n` packets per join, so a
    /// mass join of `n` members costs `fanout × n²` (see "Eager fanout" in
    /// `docs/PROTOCOL.md`); the joiner's own record, heard first-hand, still is.
    pub(super) fn not_fanned_out(&mut self, held: bool) {
        if !held {
            self.broadcasts.take_fresh();
        }
    }

    /// Join news (the first record of a member, first- or second-hand) that arrives while
    /// at least [`JOIN_BURST`] records wait to be gossiped, a mass join, is gossiped at most
    /// `join_news_retransmits` times (0 by default: not at all): its record counts as
    /// already sent the rest of the retransmission limit. Every member re-gossiping every
    /// joiner's record `retransmit_limit` times costs `n²` times that many copies, more
    /// than the queues drain; the joiner still announces itself (its own record, fanned
    /// out, at the full limit), and the member-count digest's catch-ups hand over the lists
    /// (see "Mass joins" in `docs/PROTOCOL.md`). A single join is gossiped as any news.
    pub(super) fn join_news_in_a_burst(&mut self, name: &MemberName) {
        if self.broadcasts.len() < JOIN_BURST {
            return;
        }
        let Some(index) = self.table.get(name) else {
            return;
        };
        let limit = self.retransmit_limit();
        let spent = limit.saturating_sub(self.config.join_news_retransmits);
        self.broadcasts.count_as_sent(index, spent, limit);
    }

    /// When a held-back fanout is due, if one is.
    pub(super) fn fanout_due(&self) -> Option<Duration> {
        (self.config.fanout > 0 && self.broadcasts.has_fresh()).then_some(self.next_fanout)
    }

    pub(super) fn retransmit_limit(&self) -> u32 {
        let n = self.table.len() as f64;
        let factor = (n + 1.0).log10().ceil().max(1.0) as u32;
        self.config.retransmit_mult.saturating_mul(factor)
    }

    pub(super) fn find_index(
        &mut self,
        statuses: StatusSet,
        exclude: Option<usize>,
    ) -> Option<usize> {
        let exclude: Vec<usize> = exclude.into_iter().collect();
        self.find_indices(1, statuses, &exclude).pop()
    }

    /// Random distinct non-local members by status: rejection sampling first (cheap in large
    /// clusters where most members match), then a scan when few match.
    pub(super) fn find_indices(
        &mut self,
        count: usize,
        statuses: StatusSet,
        exclude: &[usize],
    ) -> Vec<usize> {
        let n = self.table.len();
        if count == 0 || n <= 1 {
            return Vec::new();
        }
        let ok = |t: &Table, i: usize, chosen: &[usize]| {
            i != LOCAL
                && statuses.contains(t.entries[i].status)
                && !exclude.contains(&i)
                && !chosen.contains(&i)
        };
        let mut chosen = Vec::with_capacity(count);
        for _ in 0..count * 4 + 8 {
            let i = self.rng.random_range(1..n);
            if ok(&self.table, i, &chosen) {
                chosen.push(i);
                if chosen.len() == count {
                    return chosen;
                }
            }
        }
        let rest: Vec<usize> = (1..n).filter(|&i| ok(&self.table, i, &chosen)).collect();
        let need = count - chosen.len();
        chosen.extend(
            rand::seq::IndexedRandom::choose_multiple(&rest[..], &mut self.rng, need).copied(),
        );
        chosen
    }
}
