//! The application's messages: user events and queries spread by gossip in a queue of
//! their own (within a bounded share of each packet, after the membership records),
//! duplicates suppressed by origin process and sequence number, the recent ones retained
//! and handed on push-pull to members that missed them; the queries this member may still
//! answer and those it asked; acknowledged direct messages in flight. See "Application
//! messages" in `docs/PROTOCOL.md`.

mod budget;
mod seen;

use std::collections::VecDeque;
use std::time::Duration;

use hashbrown::{HashMap, HashSet};

use crate::budget::Window;
use budget::Budget;
use seen::Seen;

use crate::{AppBody, AppId, AppMessage, MemberName, MessagingConfig, ReplyKind, Source};

/// Most queries this member may still answer at once.
const MAX_ANSWERABLE: usize = 1024;
/// Most queries of our own open at once.
const MAX_ASKED: usize = 256;
/// Most acknowledged direct messages in flight.
const MAX_DIRECT: usize = 1024;
/// Most origins a push-pull digest names (the most recently heard).
const MAX_DIGEST: usize = 32;
/// Most answers one query of ours takes (an ack and a response from each of 16,384
/// members): the rest are dropped, so invented responders cannot grow it without bound.
const MAX_ANSWERS: usize = 32 * 1024;
/// Most payload bytes handed back for one digest (the packet then travels over a stream).
const MAX_REPAIR_BYTES: usize = 256 * 1024;

/// A message waiting to be gossiped, with how often it was sent.
#[derive(Debug)]
struct Queued {
    message: AppMessage,
    sends: u32,
    /// Its encoded size, measured once (every packet built checks it).
    len: usize,
}

/// A query this member's application may answer until `deadline`.
#[derive(Debug)]
pub(super) struct Answerable {
    /// The member that asked.
    pub(super) querier: MemberName,
    /// Through how many members the answer is also relayed.
    pub(super) relay: u8,
    deadline: Duration,
}

/// A query of ours: who answered, until when.
#[derive(Debug)]
struct Asked {
    deadline: Duration,
    answered: HashSet<(MemberName, bool)>,
}

/// What became of a received message.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Arrival {
    /// New: hand it to the application.
    New,
    /// New, but a newer coalescing event of its name was delivered already.
    Superseded,
    /// Seen before.
    Duplicate,
    /// New, but its origin is over its budget: dropped (not marked seen, so a copy that
    /// comes once the budget refilled, e.g. on push-pull, is taken).
    OverBudget,
}

/// What expired at a deadline.
#[derive(Debug, Default)]
pub(super) struct Expired {
    /// Our queries whose time is up.
    pub(super) queries: Vec<u64>,
    /// Acknowledged direct messages never acknowledged.
    pub(super) directs: Vec<u32>,
}

/// The messaging part's state.
#[derive(Debug)]
pub(super) struct Messaging {
    config: MessagingConfig,
    next_seq: u64,
    next_direct: u32,
    queue: VecDeque<Queued>,
    seen: Seen,
    /// Received and published messages kept for `event_retention`, oldest first.
    recent: VecDeque<(Duration, AppMessage)>,
    recent_bytes: usize,
    answerable: HashMap<AppId, Answerable>,
    asked: HashMap<u64, Asked>,
    directs: HashMap<u32, Duration>,
    /// Queries handed to the application per second (`queries_per_s`).
    answers: Window,
    /// A message was queued since the last eager fanout.
    fresh: bool,
    /// New events and queries taken per origin process.
    events_budget: Budget<Source>,
    queries_budget: Budget<Source>,
    /// Direct messages, and query replies to relay, taken per sending member.
    directs_budget: Budget<MemberName>,
    relays_budget: Budget<MemberName>,
    /// New events and queries taken per sending member, whatever their origin.
    new_budget: Budget<MemberName>,
}

impl Messaging {
    pub(super) fn new(config: &MessagingConfig) -> Messaging {
        Messaging {
            config: config.clone(),
            next_seq: 1,
            next_direct: 1,
            queue: VecDeque::new(),
            seen: Seen::default(),
            recent: VecDeque::new(),
            recent_bytes: 0,
            answerable: HashMap::new(),
            asked: HashMap::new(),
            directs: HashMap::new(),
            answers: Window::new(
                Duration::from_secs(1),
                config.queries_per_s as usize,
                Duration::ZERO,
            ),
            fresh: false,
            events_budget: Budget::new(config.events_per_origin),
            queries_budget: Budget::new(config.queries_per_origin),
            directs_budget: Budget::new(config.directs_per_sender),
            relays_budget: Budget::new(config.relays_per_sender),
            new_budget: Budget::new(config.new_per_sender),
        }
    }

    /// The configured limits.
    pub(super) fn config(&self) -> &MessagingConfig {
        &self.config
    }

    /// Whether a new message of ours would find room in the queue.
    pub(super) fn has_room(&self) -> bool {
        self.queue.len() < self.config.max_pending
    }

    /// Our next message: numbered, marked seen, retained and queued.
    pub(super) fn publish(&mut self, now: Duration, origin: Source, body: AppBody) -> AppMessage {
        let message = AppMessage {
            origin,
            seq: self.next_seq,
            body,
        };
        self.next_seq += 1;
        self.seen.insert(&message.origin, message.seq);
        if let AppBody::Event { name, .. } = &message.body {
            self.seen.newest_of_name(&message.origin, name, message.seq);
        }
        self.retain(now, message.clone());
        self.enqueue(message.clone());
        message
    }

    /// A message received from the network through `sender`: whether it is new and within
    /// its sender's and its origin's budgets, and if so it is retained and queued to be
    /// passed on (unless the queue is full: `false` in the second place).
    pub(super) fn receive(
        &mut self,
        now: Duration,
        sender: &MemberName,
        message: &AppMessage,
    ) -> (Arrival, bool) {
        if self.seen.contains(&message.origin, message.seq) {
            return (Arrival::Duplicate, true);
        }
        let budget = match message.body {
            AppBody::Event { .. } => &mut self.events_budget,
            AppBody::Query { .. } => &mut self.queries_budget,
        };
        if !self.new_budget.take(sender, now) || !budget.take(&message.origin, now) {
            return (Arrival::OverBudget, true);
        }
        self.seen.insert(&message.origin, message.seq);
        let arrival = match &message.body {
            AppBody::Event {
                name,
                coalesce: true,
                ..
            } if !self.seen.newest_of_name(&message.origin, name, message.seq) => {
                Arrival::Superseded
            }
            _ => Arrival::New,
        };
        self.retain(now, message.clone());
        let queued = self.has_room();
        if queued {
            self.enqueue(message.clone());
        }
        (arrival, queued)
    }

    /// Queues a message to gossip; a coalescing event replaces older ones of its name from
    /// its origin still waiting.
    fn enqueue(&mut self, message: AppMessage) {
        if let AppBody::Event {
            name,
            coalesce: true,
            ..
        } = &message.body
        {
            self.queue.retain(|q| {
                !(q.message.origin == message.origin
                    && q.message.seq < message.seq
                    && matches!(&q.message.body,
                        AppBody::Event { name: n, coalesce: true, .. } if n == name))
            });
        }
        let len = crate::wire::app_message_len(&message);
        self.queue.push_back(Queued {
            message,
            sends: 0,
            len,
        });
        self.fresh = true;
    }

    /// Whether a message was queued since the last eager fanout.
    pub(super) fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// An eager fanout goes now.
    pub(super) fn take_fresh(&mut self) {
        self.fresh = false;
    }

    fn retain(&mut self, now: Duration, message: AppMessage) {
        self.recent_bytes += message.payload().len();
        self.recent.push_back((now, message));
        while self.recent.len() > self.config.retained_messages
            || self.recent_bytes > self.config.retained_bytes
        {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some((_, old)) = self.recent.pop_front() {
            self.recent_bytes -= old.payload().len();
        }
    }

    /// Whether messages wait to be gossiped.
    pub(super) fn has_pending(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The encoded size of every message waiting to be gossiped.
    pub(super) fn pending_bytes(&self) -> usize {
        self.queue.iter().map(|q| q.len).sum()
    }

    /// Picks queued messages, least sent first, while `fits` accepts their encoded size,
    /// counting one sending each; a message sent `limit` times leaves the queue.
    pub(super) fn take(
        &mut self,
        limit: u32,
        mut fits: impl FnMut(usize) -> bool,
    ) -> Vec<AppMessage> {
        let mut order: Vec<usize> = (0..self.queue.len()).collect();
        order.sort_by_key(|&i| self.queue[i].sends);
        let mut taken = Vec::new();
        for i in order {
            if fits(self.queue[i].len) {
                self.queue[i].sends += 1;
                taken.push(self.queue[i].message.clone());
            }
        }
        self.queue.retain(|q| q.sends < limit);
        taken
    }

    /// A digest of the retained messages: per origin (the most recently heard first), the
    /// highest sequence number seen.
    pub(super) fn digest(&self) -> Vec<(Source, u64)> {
        let mut origins: Vec<&Source> = Vec::new();
        for (_, message) in self.recent.iter().rev() {
            if !origins.contains(&&message.origin) {
                origins.push(&message.origin);
                if origins.len() == MAX_DIGEST {
                    break;
                }
            }
        }
        origins
            .into_iter()
            .filter_map(|o| Some((o.clone(), self.seen.highest(o)?)))
            .collect()
    }

    /// The retained messages a member with `digest` has not seen: above its highest
    /// sequence number for origins it names, every one for origins it does not (a digest
    /// names at most [`MAX_DIGEST`]). Bounded in bytes; the newest go first.
    pub(super) fn missing_for(&self, digest: &[(Source, u64)]) -> Vec<AppMessage> {
        let mut bytes = 0;
        let mut missing = Vec::new();
        for (_, message) in self.recent.iter().rev() {
            let known = digest
                .iter()
                .find(|(origin, _)| *origin == message.origin)
                .map(|(_, highest)| *highest);
            let absent = known.is_none_or(|highest| message.seq > highest);
            if !absent {
                continue;
            }
            bytes += message.payload().len();
            if bytes > MAX_REPAIR_BYTES {
                break;
            }
            missing.push(message.clone());
        }
        missing.reverse();
        missing
    }

    /// Whether the application may be handed one more query now (a rate per second).
    pub(super) fn may_answer(&mut self, now: Duration) -> bool {
        self.answers.take(now) && self.answerable.len() < MAX_ANSWERABLE
    }

    /// The application may answer `id` until `deadline`.
    pub(super) fn expect_answer(&mut self, id: AppId, answer: Answerable) {
        self.answerable.insert(id, answer);
    }

    /// An answerable query's details.
    pub(super) fn answerable(querier: MemberName, relay: u8, deadline: Duration) -> Answerable {
        Answerable {
            querier,
            relay,
            deadline,
        }
    }

    /// Takes the query `id` to answer, if it still may be.
    pub(super) fn take_answerable(&mut self, id: &AppId, now: Duration) -> Option<Answerable> {
        let answer = self.answerable.remove(id)?;
        (now < answer.deadline).then_some(answer)
    }

    /// Whether another query of ours can be opened.
    pub(super) fn may_ask(&self) -> bool {
        self.asked.len() < MAX_ASKED
    }

    /// Our query `seq` is open until `deadline`.
    pub(super) fn asked(&mut self, seq: u64, deadline: Duration) {
        self.asked.insert(
            seq,
            Asked {
                deadline,
                answered: HashSet::new(),
            },
        );
    }

    /// An answer to our query `seq` arrived: whether it is the first of its kind from
    /// `responder` to an open query (the others are dropped).
    pub(super) fn answer_arrived(
        &mut self,
        seq: u64,
        responder: &MemberName,
        reply: &ReplyKind,
    ) -> bool {
        let ack = matches!(reply, ReplyKind::Ack);
        self.asked.get_mut(&seq).is_some_and(|q| {
            q.answered.len() < MAX_ANSWERS && q.answered.insert((responder.clone(), ack))
        })
    }

    /// Whether a direct message from `sender` is within its budget at `now`.
    pub(super) fn take_direct(&mut self, sender: &MemberName, now: Duration) -> bool {
        self.directs_budget.take(sender, now)
    }

    /// Whether a query reply `sender` asks us to relay is within its budget at `now`.
    pub(super) fn take_relay(&mut self, sender: &MemberName, now: Duration) -> bool {
        self.relays_budget.take(sender, now)
    }

    /// Numbers an acknowledged direct message in flight until `now + direct_timeout`;
    /// `None` when too many are in flight.
    pub(super) fn direct_sent(&mut self, now: Duration) -> Option<u32> {
        if self.directs.len() >= MAX_DIRECT {
            return None;
        }
        let id = self.next_direct;
        self.next_direct = self.next_direct.checked_add(1).unwrap_or(1);
        self.directs.insert(id, now + self.config.direct_timeout);
        Some(id)
    }

    /// Whether `id` was in flight (it is acknowledged now).
    pub(super) fn direct_acked(&mut self, id: u32) -> bool {
        self.directs.remove(&id).is_some()
    }

    /// Everything whose time is up at `now`.
    pub(super) fn expire(&mut self, now: Duration) -> Expired {
        let retention = self.config.event_retention;
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| *at + retention <= now)
        {
            self.drop_oldest();
        }
        self.answerable.retain(|_, a| a.deadline > now);
        let mut expired = Expired::default();
        self.asked.retain(|seq, q| {
            let open = q.deadline > now;
            if !open {
                expired.queries.push(*seq);
            }
            open
        });
        self.directs.retain(|id, deadline| {
            let open = *deadline > now;
            if !open {
                expired.directs.push(*id);
            }
            open
        });
        expired.queries.sort_unstable();
        expired.directs.sort_unstable();
        expired
    }

    /// The earliest deadline of anything in flight.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        let retention = self.config.event_retention;
        let recent = self.recent.front().map(|(at, _)| *at + retention);
        let asked = self.asked.values().map(|q| q.deadline).min();
        let directs = self.directs.values().copied().min();
        let answerable = self.answerable.values().map(|a| a.deadline).min();
        [recent, asked, directs, answerable]
            .into_iter()
            .flatten()
            .min()
    }
}
