//! The state machine: one member's protocol logic (see `docs/PROTOCOL.md`).

mod health;
mod helpers;
mod join;
mod leave;
mod outbox;
mod probe_targets;
mod probing;
mod push_pull;
mod reaping;
mod records;
mod seed_rules;
mod standing;
mod suspicion;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use rand::Rng;

use crate::broadcast::BroadcastQueue;
use crate::counters::{Counters, Tally};
use crate::probe::{Probe, ProbeRing, Relay};
use crate::table::{compare, Applied, Table};
use crate::tombstone::Tombstones;
use crate::{
    ConfigError, Event, MemberChange, MemberName, MemberSnapshot, Message, Metadata, Packet,
    PeerWire, ProtocolConfig, Source, Status, StatusSet, Transmit, Update, Validity,
};
use health::Health;
use helpers::Responders;
use suspicion::Suspicion;

/// Room for events kept once they are drained: a full sync reports every member at once,
/// and keeping that room would cost each member about 112 bytes per member for good.
const EVENTS_KEPT: usize = 64;

/// The local member's index in the table.
const LOCAL: usize = 0;

/// How many full syncs with random members follow the first one, while they teach us new
/// members: when many members join at once, the first answers are partial.
const JOIN_FOLLOWUPS: u8 = 4;

/// Follow-ups made even when one teaches nothing (a random member may know less than us).
const JOIN_FOLLOWUPS_ALWAYS: u8 = 2;

/// One member's SWIM state machine. `R` is the injected random number generator.
///
/// Inputs: [`Swim::handle_packet`], [`Swim::handle_timeout`], [`Swim::set_local_metadata`],
/// [`Swim::add_peer`], each with the current time. Outputs: [`Swim::poll_transmit`],
/// [`Swim::poll_timeout`], [`Swim::poll_event`].
pub struct Swim<R> {
    config: ProtocolConfig,
    rng: R,
    validity: Validity,
    table: Table,
    /// Lamport clock: greater than every clock seen; the local member's changes use it.
    next_clock: u64,
    peers: Vec<MemberName>,
    joined: bool,
    /// Further full syncs to make after joining, while they keep teaching us new members.
    join_followups: u8,
    /// The next join request goes to every configured peer (at start, and after add_peer).
    next_join_all: bool,
    ring: ProbeRing,
    probes: Vec<Probe>,
    relays: VecDeque<Relay>,
    suspects: BTreeSet<(Duration, usize)>,
    /// Lifeguard: the confirmations of each suspicion we track, by suspect.
    suspicions: HashMap<usize, Suspicion>,
    /// Lifeguard: relay pings of ours that went unanswered lately: (target, when), oldest
    /// first, at most `suspicion::UNANSWERED`.
    unanswered: VecDeque<(usize, Duration)>,
    /// Lifeguard: how much we distrust our own timing (always 0 without it).
    health: Health,
    /// Lifeguard: the members that last answered our probes, asked first as helpers.
    responders: Responders,
    broadcasts: BroadcastQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// When the next probe is due at health score 0 (see `probe_due`).
    next_probe: Duration,
    next_gossip: Duration,
    /// No eager fanout before this (see `fan_out`).
    next_fanout: Duration,
    next_push_pull: Duration,
    /// A push-pull is due: its window rides on the next probe (see `push_pull.rs`).
    push_pull_pending: bool,
    next_join: Duration,
    next_catch_up: Duration,
    catch_up_backoff: Duration,
    /// When the last catch-up was answered (the catch-up backoff's reference).
    last_caught_up: Duration,
    /// A catch-up was asked for and its full list has not arrived yet.
    catching_up: bool,
    seq: u32,
    sync_cursor: usize,
    tally: Tally,
    /// Full member lists sent in the current `ping_interval` window, and when it began.
    full_answers: (Duration, usize),
    /// Set once [`Swim::leave`] is called: the member is going and stays silent.
    leaving: Option<leave::Leaving>,
    /// While a packet from a source not in good standing is handled: what may still be
    /// sent back to it (see `machine/standing.rs`).
    answer_limit: Option<standing::AnswerLimit>,
    /// What remains of forgotten members.
    tombstones: Tombstones,
    /// When OFFLINE members are next checked for reaping.
    next_reap: Duration,
    /// Counts probe periods, to ping an OFFLINE member every few of them.
    offline_turn: u32,
}

impl<R: Rng> Swim<R> {
    /// Creates the local member `local` with `metadata`, knowing `peers` by name only, and
    /// queues a join request to each peer. `now` is the driver's current time; the validity
    /// bytes and every later random choice are drawn from `rng`.
    pub fn new(
        config: ProtocolConfig,
        local: MemberName,
        metadata: Metadata,
        peers: impl IntoIterator<Item = MemberName>,
        mut rng: R,
        now: Duration,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let validity = Validity(rng.random());
        let mut table = Table::default();
        table.get_or_insert(&local, true, now);
        let first_probe = now + config.ping_interval.mul_f64(rng.random::<f64>());
        let health = Health::new(if config.lifeguard {
            config.awareness_max
        } else {
            0
        });
        let mut swim = Swim {
            next_probe: first_probe,
            next_gossip: now + config.sync_interval,
            next_fanout: now,
            next_push_pull: now + config.push_pull_interval.mul_f64(0.5 + rng.random::<f64>()),
            push_pull_pending: false,
            next_join: now,
            next_catch_up: now,
            catch_up_backoff: Duration::ZERO,
            last_caught_up: now,
            catching_up: false,
            config,
            rng,
            validity,
            table,
            next_clock: 1,
            peers: Vec::new(),
            joined: false,
            join_followups: JOIN_FOLLOWUPS,
            next_join_all: true,
            ring: ProbeRing::default(),
            probes: Vec::new(),
            relays: VecDeque::new(),
            suspects: BTreeSet::new(),
            suspicions: HashMap::new(),
            unanswered: VecDeque::new(),
            health,
            responders: Responders::default(),
            broadcasts: BroadcastQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            seq: 0,
            sync_cursor: 0,
            tally: Tally::default(),
            full_answers: (now, 0),
            leaving: None,
            answer_limit: None,
            tombstones: Tombstones::default(),
            next_reap: now,
            offline_turn: 0,
        };
        swim.change_local(now, Some(metadata));
        for peer in peers {
            swim.add_peer(now, peer);
        }
        Ok(swim)
    }

    /// Feeds a packet received from the network in the wire format of this member's
    /// clock rules (the Python format under [`ClockRules::Seed`](crate::ClockRules::Seed), ours otherwise). Packets
    /// that claim to come from the local member are ignored.
    pub fn handle_packet(&mut self, now: Duration, packet: Packet) {
        let wire = self.home_wire();
        self.handle_packet_on(now, wire, packet);
    }

    /// Feeds a packet received from the network in the wire format `wire`: a driver that
    /// speaks both formats says which one each packet came in, and the sender is answered
    /// in it from then on (see [`Transmit::wire`]).
    pub fn handle_packet_on(&mut self, now: Duration, wire: PeerWire, packet: Packet) {
        if self.is_local(&packet.source.name) {
            return;
        }
        if self.leaving.is_some() {
            self.leaving_packet(&packet.message);
            return;
        }
        let request_len = crate::wire::encoded_len(&packet);
        let Packet {
            source,
            message,
            gossip,
        } = packet;
        // A push-pull window riding on a probe: the probe is handled as any other, and the
        // window beside it (`push_pull.rs`).
        let (message, window) = message.split_window();
        let sender = self.member_index(&source.name, now);
        let entry = &mut self.table.entries[sender];
        let new_process = entry.validity != Some(source.validity);
        if new_process {
            entry.reach = Default::default();
        }
        entry.wire = Some(wire);
        // A new process under a known name: tell it what we know of it, so it can refute.
        let mut correct_sender = new_process && entry.validity.is_some();
        entry.validity = Some(source.validity);
        if new_process {
            self.table.set_self_clock(sender, None);
            self.table.set_challenge(sender, None);
        }
        if let Message::Ack { seq, .. } = message {
            self.confirm_by_ack(sender, seq);
        }
        let good = self.in_good_standing(sender, new_process);
        if !good {
            self.answer_limit = Some(standing::AnswerLimit {
                to: sender,
                left: request_len,
                wants_challenge: false,
            });
        }
        let greet = new_process
            && self.seed_rules(sender)
            && !matches!(message, Message::Sync { full: true, .. });
        for update in gossip {
            correct_sender |= self.apply_from(now, sender, update, true);
        }
        if let Message::Ack { seq, .. } = message {
            self.tally.ack(seq, now);
        }
        self.heard_from(now, sender, &source);
        let replied = match message {
            Message::Ping { seq, known } => {
                // The digest first: what a window teaches is a sample of the list, and
                // must not hide that the sender knows more members than we do.
                self.catch_up(now, sender, known);
                let answer =
                    window.map(|w| self.answer_window(now, sender, w, &mut correct_sender));
                self.ack_probe(sender, seq, answer, good, correct_sender);
                true
            }
            Message::PingReq { seq, target } => {
                // For a stranger, the ack relayed back goes bare (the ping goes to the
                // target, a member we chose to know).
                self.relay(now, sender, seq, target, correct_sender);
                false
            }
            Message::Ack { alive, known, .. } => {
                if good {
                    self.pay_owed_full(now, sender);
                }
                self.catch_up(now, sender, known);
                if let Some(records) = window {
                    correct_sender |= self.apply_answer(now, sender, records);
                }
                // A relayed ack about a member we forgot: the relay is out of date.
                if !self.is_local(&alive.name) && !self.is_forgotten(&alive.name) {
                    let index = self.member_index(&alive.name, now);
                    self.heard_from(now, index, &alive);
                }
                false
            }
            Message::Gossip(update) => {
                let (name, clock) = (update.name.clone(), update.clock);
                correct_sender |= self.apply_from(now, sender, update, true);
                self.send(sender, Message::GossipAck { name, clock }, correct_sender);
                if !self.joined {
                    // Only the seed's members send `Gossip`, and they never answer a full
                    // sync: their dissemination (every record we have not acknowledged) is
                    // how they hand us the member list, so we have joined.
                    self.joined_with(now, false);
                }
                true
            }
            Message::GossipAck { .. } | Message::GossipOnly => false,
            // Split into a ping or an ack and its window above.
            Message::PingSync { .. } | Message::AckSync { .. } => false,
            Message::Nack { seq } => {
                self.nacked(sender, seq);
                false
            }
            Message::Sync {
                reply,
                full,
                records,
            } => {
                // What was pushed, to answer with our newer versions (a reply needs none:
                // a full one is the whole list of the member answering).
                let pushed: Vec<(MemberName, u64, Status)> = if reply {
                    Vec::new()
                } else {
                    records
                        .iter()
                        .map(|r| (r.name.clone(), r.clock, r.status))
                        .collect()
                };
                // A full reply is state transfer, not news: re-gossiping a whole member list
                // to every joiner would flood the cluster when many join at once.
                let rebroadcast = !(reply && full);
                let changes = self.events.len();
                for record in records {
                    correct_sender |= self.apply_from(now, sender, record, rebroadcast);
                }
                if reply {
                    if full {
                        if std::mem::take(&mut self.catching_up) {
                            self.caught_up(now);
                        }
                        self.joined_with(now, self.events.len() > changes);
                    } else {
                        self.redirected(now);
                    }
                    false
                } else {
                    // The list goes once the sender proves it can receive at its address:
                    // a stranger gets the challenge, then a partial reply in the room left.
                    if !good && full {
                        // The list goes once the sender proves it receives at its address.
                        self.challenge(now);
                        self.table.entries[sender].reach.owed_full = true;
                        return self.finish_packet(now, sender);
                    }
                    let mut message = self.sync_reply(now, full, &pushed);
                    if !good {
                        // A push-pull answer in the room of its request.
                        self.fit_answer(&mut message);
                    }
                    self.send(sender, message, correct_sender);
                    true
                }
            }
        };
        if correct_sender && !replied {
            self.send(sender, Message::GossipOnly, true);
        }
        if greet {
            self.seed_greet(sender);
        }
        self.finish_packet(now, sender);
    }

    /// The end of every packet handled: the challenge it called for, and eager fanout.
    fn finish_packet(&mut self, now: Duration, sender: usize) {
        self.finish_answer(now);
        self.fan_out(now, Some(sender));
    }

    /// Lets the machine act on every deadline up to `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.leaving.is_some() {
            self.leaving_timeout(now);
            return;
        }
        self.reap(now);
        self.advance_probes(now);
        self.send_nacks(now);
        while self.relays.front().is_some_and(|r| r.expires <= now) {
            self.relays.pop_front();
        }
        while let Some(&(deadline, index)) = self.suspects.first() {
            if deadline > now {
                break;
            }
            self.suspects.pop_first();
            self.table.set_suspect_deadline(index, None);
            self.end_suspicion(index);
            if self.verdict(index, Status::Offline, now) {
                self.tally.counters.offline_declared += 1;
                self.changed(index);
            }
        }
        let due = self.probe_due();
        if now >= due {
            self.start_probe(now);
            self.push_pull_unridden();
            self.next_probe = (due + self.config.ping_interval).max(now);
        }
        if now >= self.next_gossip {
            if !self.broadcasts.is_empty() {
                if let Some(target) = self.find_index(StatusSet::AVAILABLE, None) {
                    self.send(target, Message::GossipOnly, false);
                }
            }
            self.next_gossip = now + self.config.sync_interval;
        }
        if now >= self.next_push_pull {
            self.push_pull_due();
            let jitter = 0.5 + self.rng.random::<f64>();
            self.next_push_pull = now + self.config.push_pull_interval.mul_f64(jitter);
        }
        if self.wants_join() && now >= self.next_join {
            self.send_join(now);
        }
        self.fan_out(now, None);
    }

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The earliest time at which [`Swim::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.leaving.is_some() {
            return self.leaving_deadline();
        }
        let mut next = self
            .probe_due()
            .min(self.next_push_pull)
            .min(self.next_reap);
        if !self.broadcasts.is_empty() {
            next = next.min(self.next_gossip);
        }
        if self.wants_join() {
            next = next.min(self.next_join);
        }
        if let Some(fanout) = self.fanout_due() {
            next = next.min(fanout);
        }
        for probe in &self.probes {
            next = next.min(probe.next_round_at.min(probe.suspect_at));
        }
        if let Some(relay) = self.relays.front() {
            next = next.min(relay.expires);
        }
        for nack in self.relays.iter().filter_map(|r| r.nack_at) {
            next = next.min(nack);
        }
        if let Some(&(deadline, _)) = self.suspects.first() {
            next = next.min(deadline);
        }
        Some(next)
    }

    /// The next membership event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > EVENTS_KEPT {
            self.events.shrink_to(EVENTS_KEPT);
        }
        event
    }

    /// Replaces the local member's metadata; the change is disseminated. Ignored once the
    /// member has left.
    pub fn set_local_metadata(&mut self, now: Duration, metadata: Metadata) {
        if self.leaving.is_none() && self.table.entries[LOCAL].metadata.as_ref() != Some(&metadata)
        {
            self.change_local(now, Some(metadata));
            self.fan_out(now, None);
        }
    }

    /// Adds a member known by name only (e.g. found by discovery after start) and asks the
    /// peers for the member list if the local member has not joined yet, or has lost every
    /// other member (none ONLINE or SUSPECT): it then joins again, as a new member would, so
    /// that a member that lost everyone finds the cluster through a peer found later (a
    /// DNS name re-resolved to the service's new addresses).
    pub fn add_peer(&mut self, now: Duration, name: MemberName) {
        if self.is_local(&name) || self.peers.contains(&name) {
            return;
        }
        self.member_index(&name, now);
        self.peers.push(name);
        let alone = self.find_index(StatusSet::AVAILABLE, None).is_none();
        if self.joined && alone && self.leaving.is_none() {
            self.rejoin();
        }
        if !self.joined {
            self.next_join = now;
            self.next_join_all = true;
        }
    }

    /// Forgets `name` as a configured peer: it is no longer asked when joining. A member
    /// already known stays in the table and is probed as any other.
    pub fn remove_peer(&mut self, name: &MemberName) {
        self.peers.retain(|peer| peer != name);
    }

    /// The local member's name.
    pub fn local_name(&self) -> &MemberName {
        &self.table.entries[LOCAL].name
    }

    /// The local member's validity bytes.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// A snapshot of the local member.
    pub fn local(&self) -> MemberSnapshot {
        self.table.entries[LOCAL].snapshot()
    }

    /// A snapshot of the member called `name`, if known.
    pub fn member(&self, name: &str) -> Option<MemberSnapshot> {
        let index = self.table.get(name)?;
        Some(self.table.entries[index].snapshot())
    }

    /// Snapshots of every member, the local one included, sorted by name.
    pub fn members(&self) -> Vec<MemberSnapshot> {
        let mut all: Vec<_> = self.table.entries.iter().map(|e| e.snapshot()).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Snapshots of the non-local members whose status is in `statuses`, sorted by name.
    pub fn members_with(&self, statuses: StatusSet) -> Vec<MemberSnapshot> {
        let mut found: Vec<_> = self.table.entries[LOCAL + 1..]
            .iter()
            .filter(|e| statuses.contains(e.status))
            .map(|e| e.snapshot())
            .collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found
    }

    /// The number of members known, the local one included.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Always false: the local member is always known.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Up to `count` distinct non-local members with a status in `statuses`, chosen at random,
    /// none of them in `exclude`.
    pub fn find(
        &mut self,
        count: usize,
        statuses: StatusSet,
        exclude: &[MemberName],
    ) -> Vec<MemberName> {
        let excluded: Vec<usize> = exclude.iter().filter_map(|n| self.table.get(n)).collect();
        self.find_indices(count, statuses, &excluded)
            .into_iter()
            .map(|i| self.table.entries[i].name.clone())
            .collect()
    }

    /// The protocol parameters in use.
    pub fn config(&self) -> &ProtocolConfig {
        &self.config
    }

    /// The number of records waiting to be piggybacked (zero when the cluster is quiet).
    pub fn pending_gossip(&self) -> usize {
        self.broadcasts.len()
    }

    /// Counts of protocol events so far (probes, suspicions, OFFLINE verdicts, round trips,
    /// nacks), and the local health score.
    pub fn counters(&self) -> Counters {
        Counters {
            local_health: self.health.score(),
            ..self.tally.counters
        }
    }

    /// Lifeguard's local health score: 0 when healthy, up to
    /// [`ProtocolConfig::awareness_max`] when our own probes keep failing without the relays'
    /// nacks or we keep refuting suspicions of ourselves. Probe timeouts and the probe
    /// interval are `(score + 1)` times their configured values. Always 0 without Lifeguard.
    pub fn local_health(&self) -> u32 {
        self.health.score()
    }

    /// When the next probe is due: Lifeguard stretches the wait to `(score + 1)` intervals,
    /// with the score as it is when the wait ends.
    fn probe_due(&self) -> Duration {
        let extra = self.health.scale(self.config.ping_interval) - self.config.ping_interval;
        self.next_probe + extra
    }

    fn is_local(&self, name: &str) -> bool {
        name == &**self.local_name()
    }

    fn source(&self) -> Source {
        Source {
            name: self.local_name().clone(),
            validity: self.validity,
        }
    }

    /// The index of `name`, adding it if new. A forgotten member comes back from its
    /// tombstone (callers drop stale records about it first, see `buried`).
    fn member_index(&mut self, name: &MemberName, now: Duration) -> usize {
        let (index, added) = self.table.get_or_insert(name, false, now);
        if added {
            self.ring.insert(index, &mut self.rng);
            if let Some(tombstone) = self.tombstones.take(name) {
                self.unbury(index, tombstone);
            }
        }
        index
    }
}
