//! No amplification for strangers: whatever a packet makes us send back to its source is
//! no larger than the packet itself, unless the source is a member in good standing.
//!
//! A source name is easily claimed: a key holder can send requests under a victim's name
//! (address), and every answer goes to that name. So a member is in good standing only if
//! its process is the one we knew before this packet, and that process has **answered a
//! ping of ours** (an ack echoing the sequence number of a probe, or the random one of a
//! challenge, sent to its address): it can receive at that address. To anyone else, each
//! answer is cut to the bytes left of the request's size (gossip first, then a push-pull
//! answer's records); an answer that still cannot fit is not sent, and the source gets a
//! **challenge** instead: a bare ping with a random sequence number, at most one per
//! `ping_timeout`, itself sent only if it fits. The ack to it confirms the sender.
//!
//! A full sync from a stranger gets only the challenge; the whole list it asked for is sent
//! when its ack arrives, so a joiner's first full sync costs one more round trip. The one
//! exception to the size rule is the ack to a ping, and the ack a ping-req relays back:
//! probes must be answered (or live members become suspect), so strangers get them bare,
//! which may exceed the request by a few bytes of names, never by a record or a list.
//!
//! Sizes are those of the native encoding: the frame around it (header, tag) is the same
//! size in both directions in one mode, so the frames compare alike. The seed's rules (the
//! Python wire) keep answering as the seed does: its members do not take a ping as the
//! answer to a probe.

use super::*;

/// Challenge sequence numbers: random, and each four bytes long in the native encoding.
const CHALLENGE_SEQS: std::ops::Range<u32> = 1 << 21..1 << 28;

/// What may still be sent back to the source of the packet being handled.
#[derive(Debug, Clone, Copy)]
pub(super) struct AnswerLimit {
    /// The source's table index.
    pub to: usize,
    /// Bytes (native encoding) left of the request's size.
    pub left: usize,
    /// Something was not sent for lack of room: challenge the source.
    pub wants_challenge: bool,
}

/// How much may be sent to a source now.
pub(super) enum Room {
    /// No limit: the source is in good standing (or the packet is not being handled).
    Unlimited,
    /// The message fits, with this many bytes left for gossip.
    Gossip(usize),
    /// The message does not fit: it is not sent.
    Nothing,
}

impl<R: Rng> Swim<R> {
    /// An ack from `sender` with `seq`: if it answers a probe or a challenge of ours sent to
    /// it, its process can receive at its address. Called before the probes are completed.
    pub(super) fn confirm_by_ack(&mut self, sender: usize, seq: u32) {
        let probed = self
            .probes
            .iter()
            .any(|p| p.target == sender && p.seq == seq);
        let challenged = self.table.challenge(sender).is_some_and(|(s, _)| s == seq);
        if probed || challenged {
            self.table.entries[sender].reach.confirmed = true;
            self.table.set_challenge(sender, None);
        }
    }

    /// Whether `sender` (`new_process` if its validity changed with this packet) is in
    /// good standing: its current process answered a ping of ours. Its status does not
    /// matter: a restarted member we hold OFFLINE must get the list to refute.
    pub(super) fn in_good_standing(&self, sender: usize, new_process: bool) -> bool {
        self.seed_rules(sender) || (!new_process && self.table.entries[sender].reach.confirmed)
    }

    /// What may be sent to `to`, a message of `bare` bytes without gossip.
    pub(super) fn answer_room(&mut self, to: usize, bare: usize) -> Room {
        let Some(limit) = self.answer_limit.as_mut().filter(|l| l.to == to) else {
            return Room::Unlimited;
        };
        if bare > limit.left {
            limit.wants_challenge = true;
            return Room::Nothing;
        }
        Room::Gossip(limit.left - bare)
    }

    /// Cuts the records a sync answer (or an ack's push-pull answer) carries until it fits
    /// the room of its request.
    pub(super) fn fit_answer(&self, message: &mut Message) {
        let Some(limit) = self.answer_limit else {
            return;
        };
        let mut packet = Packet {
            source: self.source(),
            message: std::mem::replace(message, Message::GossipOnly),
            gossip: Vec::new(),
        };
        while crate::wire::encoded_len(&packet) > limit.left {
            match &mut packet.message {
                Message::Sync { records, .. } | Message::AckSync { records, .. }
                    if !records.is_empty() =>
                {
                    records.pop();
                }
                _ => break,
            }
        }
        // An ack whose answer was cut to nothing is a plain ack.
        if matches!(&packet.message, Message::AckSync { records, .. } if records.is_empty()) {
            packet.message = packet.message.split_window().0;
        }
        *message = packet.message;
    }

    /// Accounts for `len` bytes sent to the limited source.
    pub(super) fn answer_sent(&mut self, to: usize, len: usize) {
        if let Some(limit) = self.answer_limit.as_mut().filter(|l| l.to == to) {
            limit.left = limit.left.saturating_sub(len);
        }
    }

    /// Ends the limit of the packet handled, first sending the challenge it called for.
    pub(super) fn finish_answer(&mut self, now: Duration) {
        if self.answer_limit.is_some_and(|l| l.wants_challenge) {
            self.challenge(now);
        }
        self.answer_limit = None;
    }

    /// Sends the limited source a challenge, if it fits in what is left and none is in
    /// flight: a bare ping with a random sequence number, whose ack confirms it.
    pub(super) fn challenge(&mut self, now: Duration) {
        let Some(limit) = self.answer_limit.as_mut() else {
            return;
        };
        limit.wants_challenge = false;
        let (to, left) = (limit.to, limit.left);
        if self
            .table
            .challenge(to)
            .is_some_and(|(_, at)| now < at + self.config.ping_timeout)
        {
            return;
        }
        // Unguessable (one in 2^28), and four bytes long as a varint, so that it fits
        // after the smallest request that can call for it (a ping-req).
        let seq = self.rng.random_range(CHALLENGE_SEQS);
        let packet = Packet {
            source: self.source(),
            message: Message::Ping {
                seq,
                known: self.known(),
            },
            gossip: Vec::new(),
        };
        let len = crate::wire::encoded_len(&packet);
        if len > left {
            return;
        }
        self.answer_sent(to, len);
        self.table.set_challenge(to, Some((seq, now)));
        let wire = self.wire_of(to);
        let to = self.table.entries[to].name.clone();
        self.transmits.push_back(Transmit { to, packet, wire });
    }

    /// The one answer sent to a stranger even if larger than its request: the ack to a
    /// ping, without gossip (a probe unanswered would make a live member suspect). It
    /// exceeds the ping by at most the local member's name twice plus a few bytes (its
    /// source in the header and as `alive`), never by a record or a list.
    pub(super) fn send_bare_ack(&mut self, to: usize, ack: Message) {
        let packet = Packet {
            source: self.source(),
            message: ack,
            gossip: Vec::new(),
        };
        self.answer_sent(to, crate::wire::encoded_len(&packet));
        let wire = self.wire_of(to);
        let to = self.table.entries[to].name.clone();
        self.transmits.push_back(Transmit { to, packet, wire });
    }

    /// The whole list owed to `sender`, now confirmed, if it asked for one.
    pub(super) fn pay_owed_full(&mut self, now: Duration, sender: usize) {
        let reach = &mut self.table.entries[sender].reach;
        if std::mem::take(&mut reach.owed_full) {
            let reply = self.sync_reply(now, true, &[]);
            self.send(sender, reply, false);
        }
    }
}
