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

use std::collections::HashMap;
use std::time::Duration;

/// Challenge sequence numbers: random, and each four bytes long in the native encoding.
pub(super) const CHALLENGE_SEQS: std::ops::Range<u32> = 1 << 21..1 << 28;

/// What may still be sent back to the source of the packet being handled.
#[derive(Debug, Clone, Copy)]
struct AnswerLimit {
    /// The source's table index.
    to: usize,
    /// Bytes (native encoding) left of the request's size.
    left: usize,
    /// Something was not sent for lack of room: challenge the source.
    wants_challenge: bool,
}

/// How much may be sent to a source now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Room {
    /// No limit: the source is in good standing (or no packet is being handled).
    Unlimited,
    /// The message fits, with this many bytes left for gossip.
    Gossip(usize),
    /// The message does not fit: it is not sent.
    Nothing,
}

/// The answer limit of the packet being handled, and the challenges in flight.
#[derive(Debug, Default)]
pub(super) struct Standing {
    limit: Option<AnswerLimit>,
    /// By member: the sequence number of the challenge in flight to it, and when it went.
    challenges: HashMap<usize, (u32, Duration)>,
}

impl Standing {
    /// A packet of `len` bytes from `to`, a source not in good standing, is being handled:
    /// what goes back to it is limited to that size.
    pub(super) fn limit(&mut self, to: usize, len: usize) {
        self.limit = Some(AnswerLimit {
            to,
            left: len,
            wants_challenge: false,
        });
    }

    /// Whether answers to `to` are limited now.
    pub(super) fn limited(&self, to: usize) -> bool {
        self.limit.is_some_and(|l| l.to == to)
    }

    /// The bytes left for the limited source, if a limit holds.
    pub(super) fn left(&self) -> Option<usize> {
        self.limit.map(|l| l.left)
    }

    /// What may be sent to `to`, a message of `bare` bytes without gossip.
    pub(super) fn room(&mut self, to: usize, bare: usize) -> Room {
        let Some(limit) = self.limit.as_mut().filter(|l| l.to == to) else {
            return Room::Unlimited;
        };
        if bare > limit.left {
            limit.wants_challenge = true;
            return Room::Nothing;
        }
        Room::Gossip(limit.left - bare)
    }

    /// Accounts for `len` bytes sent to `to`, if limited.
    pub(super) fn sent(&mut self, to: usize, len: usize) {
        if let Some(limit) = self.limit.as_mut().filter(|l| l.to == to) {
            limit.left = limit.left.saturating_sub(len);
        }
    }

    /// Whether something was not sent to the limited source for lack of room.
    pub(super) fn wants_challenge(&self) -> bool {
        self.limit.is_some_and(|l| l.wants_challenge)
    }

    /// The limited source and the bytes left, to challenge it (the wish is cleared).
    pub(super) fn challenge_target(&mut self) -> Option<(usize, usize)> {
        let limit = self.limit.as_mut()?;
        limit.wants_challenge = false;
        Some((limit.to, limit.left))
    }

    /// Ends the limit of the packet handled.
    pub(super) fn end(&mut self) {
        self.limit = None;
    }

    /// Whether a challenge may go to `to` at `now`: none in flight for `ping_timeout`.
    pub(super) fn may_challenge(&self, to: usize, now: Duration, ping_timeout: Duration) -> bool {
        (self.challenges.get(&to)).is_none_or(|&(_, at)| now >= at + ping_timeout)
    }

    /// A challenge `seq` went to `to` at `now`.
    pub(super) fn challenged(&mut self, to: usize, seq: u32, now: Duration) {
        self.challenges.insert(to, (seq, now));
    }

    /// An ack from `from` with `seq`: whether it answers our challenge in flight.
    pub(super) fn answers_challenge(&self, from: usize, seq: u32) -> bool {
        self.challenges.get(&from).is_some_and(|&(s, _)| s == seq)
    }

    /// Forgets the challenge to `index` (answered, or a new process).
    pub(super) fn clear(&mut self, index: usize) {
        self.challenges.remove(&index);
    }

    /// The member at table index `from` now lives at `to`.
    pub(super) fn renumber(&mut self, from: usize, to: usize) {
        if let Some(challenge) = self.challenges.remove(&from) {
            self.challenges.insert(to, challenge);
        }
    }
}
