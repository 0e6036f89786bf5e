//! The state machine: one member's protocol logic (see `docs/PROTOCOL.md`).

mod seed_rules;

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use rand::Rng;

use crate::broadcast::BroadcastQueue;
use crate::probe::{Probe, ProbeRing, Relay};
use crate::table::{compare, Applied, Table};
use crate::{
    ConfigError, Event, MemberChange, MemberName, MemberSnapshot, Message, Metadata, Packet,
    ProtocolConfig, Source, Status, StatusSet, Transmit, Update, Validity,
};

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
    broadcasts: BroadcastQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_probe: Duration,
    next_gossip: Duration,
    next_push_pull: Duration,
    next_join: Duration,
    next_catch_up: Duration,
    seq: u32,
    sync_cursor: usize,
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
        let mut swim = Swim {
            next_probe: first_probe,
            next_gossip: now + config.sync_interval,
            next_push_pull: now + config.push_pull_interval.mul_f64(0.5 + rng.random::<f64>()),
            next_join: now,
            next_catch_up: now,
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
            broadcasts: BroadcastQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            seq: 0,
            sync_cursor: 0,
        };
        swim.change_local(now, Some(metadata));
        for peer in peers {
            swim.add_peer(now, peer);
        }
        Ok(swim)
    }

    /// Feeds a packet received from the network. Packets that claim to come from the local
    /// member are ignored.
    pub fn handle_packet(&mut self, now: Duration, packet: Packet) {
        let Packet {
            source,
            message,
            gossip,
        } = packet;
        if self.is_local(&source.name) {
            return;
        }
        let sender = self.member_index(&source.name, now);
        let entry = &mut self.table.entries[sender];
        let new_process = entry.validity != Some(source.validity);
        if new_process {
            entry.self_clock = None;
        }
        // A new process under a known name: tell it what we know of it, so it can refute.
        let mut correct_sender = new_process && entry.validity.is_some();
        entry.validity = Some(source.validity);
        let greet = new_process
            && self.seed_rules()
            && !matches!(message, Message::Sync { full: true, .. });
        for update in gossip {
            correct_sender |= self.apply_from(now, sender, update, true);
        }
        self.heard_from(now, sender, &source);
        let replied = match message {
            Message::Ping { seq, known } => {
                self.catch_up(now, sender, known);
                let alive = self.source();
                let known = self.known();
                let ack = Message::Ack { seq, alive, known };
                self.send(sender, ack, correct_sender);
                true
            }
            Message::PingReq { seq, target } => {
                self.relay(now, sender, seq, target, correct_sender);
                false
            }
            Message::Ack { alive, known, .. } => {
                self.catch_up(now, sender, known);
                if !self.is_local(&alive.name) {
                    let index = self.member_index(&alive.name, now);
                    self.heard_from(now, index, &alive);
                }
                false
            }
            Message::Gossip(update) => {
                let (name, clock) = (update.name.clone(), update.clock);
                correct_sender |= self.apply_from(now, sender, update, true);
                self.send(sender, Message::GossipAck { name, clock }, correct_sender);
                true
            }
            Message::GossipAck { .. } | Message::GossipOnly => false,
            Message::Sync {
                reply,
                full,
                records,
            } => {
                let pushed: Vec<(MemberName, u64, Status)> = records
                    .iter()
                    .map(|r| (r.name.clone(), r.clock, r.status))
                    .collect();
                // A full reply is state transfer, not news: re-gossiping a whole member list
                // to every joiner would flood the cluster when many join at once.
                let rebroadcast = !(reply && full);
                let changes = self.events.len();
                for record in records {
                    correct_sender |= self.apply_from(now, sender, record, rebroadcast);
                }
                if reply {
                    if full {
                        self.joined_with(now, self.events.len() > changes);
                    }
                    false
                } else {
                    let records = self.sync_reply_records(full, &pushed);
                    let message = Message::Sync {
                        reply: true,
                        full,
                        records,
                    };
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
    }

    /// Lets the machine act on every deadline up to `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.advance_probes(now);
        while self.relays.front().is_some_and(|r| r.expires <= now) {
            self.relays.pop_front();
        }
        while let Some(&(deadline, index)) = self.suspects.first() {
            if deadline > now {
                break;
            }
            self.suspects.pop_first();
            self.table.entries[index].suspect_deadline = None;
            if self.verdict(index, Status::Offline, now) {
                self.changed(index);
            }
        }
        if now >= self.next_probe {
            self.start_probe(now);
            self.next_probe = (self.next_probe + self.config.ping_interval).max(now);
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
            if let Some(target) = self.find_index(StatusSet::AVAILABLE, None) {
                let records = self.sync_window();
                let message = Message::Sync {
                    reply: false,
                    full: false,
                    records,
                };
                self.send(target, message, false);
            }
            let jitter = 0.5 + self.rng.random::<f64>();
            self.next_push_pull = now + self.config.push_pull_interval.mul_f64(jitter);
        }
        if self.wants_join() && now >= self.next_join {
            self.send_join(now);
        }
    }

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The earliest time at which [`Swim::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        let mut next = self.next_probe.min(self.next_push_pull);
        if !self.broadcasts.is_empty() {
            next = next.min(self.next_gossip);
        }
        if self.wants_join() {
            next = next.min(self.next_join);
        }
        for probe in &self.probes {
            next = next.min(probe.next_round_at.min(probe.suspect_at));
        }
        if let Some(relay) = self.relays.front() {
            next = next.min(relay.expires);
        }
        if let Some(&(deadline, _)) = self.suspects.first() {
            next = next.min(deadline);
        }
        Some(next)
    }

    /// The next membership event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Replaces the local member's metadata; the change is disseminated.
    pub fn set_local_metadata(&mut self, now: Duration, metadata: Metadata) {
        if self.table.entries[LOCAL].current.metadata.as_ref() != Some(&metadata) {
            self.change_local(now, Some(metadata));
        }
    }

    /// Adds a member known by name only (e.g. found by discovery after start) and asks it
    /// for the member list if the local member has not joined yet.
    pub fn add_peer(&mut self, now: Duration, name: MemberName) {
        if self.is_local(&name) || self.peers.contains(&name) {
            return;
        }
        self.member_index(&name, now);
        self.peers.push(name);
        if !self.joined {
            self.next_join = now;
            self.next_join_all = true;
        }
    }

    /// The local member's name.
    pub fn local_name(&self) -> &MemberName {
        &self.table.entries[LOCAL].current.name
    }

    /// The local member's validity bytes.
    pub fn validity(&self) -> Validity {
        self.validity
    }

    /// A snapshot of the local member.
    pub fn local(&self) -> MemberSnapshot {
        self.table.entries[LOCAL].current.clone()
    }

    /// A snapshot of the member called `name`, if known.
    pub fn member(&self, name: &str) -> Option<MemberSnapshot> {
        let index = self.table.get(name)?;
        Some(self.table.entries[index].current.clone())
    }

    /// The snapshot of the member called `name` before its latest change, if known.
    pub fn previous(&self, name: &str) -> Option<MemberSnapshot> {
        let index = self.table.get(name)?;
        Some(self.table.entries[index].previous.clone())
    }

    /// Snapshots of every member, the local one included, sorted by name.
    pub fn members(&self) -> Vec<MemberSnapshot> {
        let mut all: Vec<_> = self
            .table
            .entries
            .iter()
            .map(|e| e.current.clone())
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Snapshots of the non-local members whose status is in `statuses`, sorted by name.
    pub fn members_with(&self, statuses: StatusSet) -> Vec<MemberSnapshot> {
        let mut found: Vec<_> = self.table.entries[LOCAL + 1..]
            .iter()
            .filter(|e| statuses.contains(e.current.status))
            .map(|e| e.current.clone())
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
            .map(|i| self.table.entries[i].current.name.clone())
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

    // ----- internals -----

    /// The member count carried in pings and acks, as a digest of our member list.
    fn known(&self) -> u32 {
        u32::try_from(self.table.known()).unwrap_or(u32::MAX)
    }

    /// `sender` knows more members than we do: some record never reached us (gossip is
    /// probabilistic), so ask it for its whole list, at most once per catch-up period.
    fn catch_up(&mut self, now: Duration, sender: usize, their_known: u32) {
        if their_known <= self.known() || now < self.next_catch_up || !self.joined {
            return;
        }
        self.next_catch_up = now + self.config.push_pull_interval / 2;
        let records = vec![self.table.entries[LOCAL].update()];
        let message = Message::Sync {
            reply: false,
            full: true,
            records,
        };
        self.send(sender, message, false);
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

    fn member_index(&mut self, name: &MemberName, now: Duration) -> usize {
        let (index, added) = self.table.get_or_insert(name, false, now);
        if added {
            self.ring.insert(index, &mut self.rng);
        }
        index
    }

    fn change_local(&mut self, now: Duration, metadata: Option<Metadata>) {
        let was_placeholder = self.table.entries[LOCAL].is_placeholder();
        let clock = self.next_clock;
        self.next_clock += 1;
        let entry = &mut self.table.entries[LOCAL];
        entry.previous = entry.current.clone();
        entry.current.clock = clock;
        if entry.current.status != Status::Online {
            entry.current.status = Status::Online;
            entry.current.status_time = now;
        }
        if let Some(metadata) = metadata {
            entry.current.metadata = Some(metadata);
        }
        self.table.note_update(LOCAL, was_placeholder);
        self.changed(LOCAL);
    }

    /// Records a visible change of member `index`: gossip it and report it.
    fn changed(&mut self, index: usize) {
        self.report(index, true);
    }

    /// Reports the latest change of member `index`, and queues its record for gossip if
    /// `rebroadcast`.
    fn report(&mut self, index: usize, rebroadcast: bool) {
        if rebroadcast {
            self.broadcasts.push(index);
        }
        let entry = &self.table.entries[index];
        self.events.push_back(Event::MemberChanged(MemberChange {
            member: entry.current.clone(),
            previous: entry.previous.clone(),
        }));
    }

    /// Applies one disseminated record. Returns true when the sender holds older news about
    /// the local member than ours, so it should be sent our record.
    fn apply_update(&mut self, now: Duration, update: Update, rebroadcast: bool) -> bool {
        self.next_clock = self.next_clock.max(update.clock.saturating_add(1));
        if self.is_local(&update.name) {
            return self.news_about_local(now, &update);
        }
        let index = self.member_index(&update.name, now);
        match self.table.apply(index, &update, now) {
            Applied::Stale => {}
            Applied::ClockOnly if rebroadcast => self.broadcasts.push(index),
            Applied::ClockOnly => {}
            Applied::Changed => {
                self.update_suspicion(index, now);
                self.report(index, rebroadcast);
                if self.seed_rules() {
                    self.seed_cleared(index);
                }
            }
        }
        false
    }

    /// Someone says something about the local member: refute what is wrong and newer than our
    /// record; report older news so the sender can be corrected.
    fn news_about_local(&mut self, now: Duration, update: &Update) -> bool {
        let own = &self.table.entries[LOCAL].current;
        let wrong = update.status != Status::Online || update.metadata != own.metadata;
        if !wrong {
            return false;
        }
        if update.clock >= own.clock {
            self.change_local(now, None);
        }
        true
    }

    fn update_suspicion(&mut self, index: usize, now: Duration) {
        let entry = &mut self.table.entries[index];
        match (entry.current.status, entry.suspect_deadline) {
            (Status::Suspect, None) => {
                let deadline = now + self.config.suspect_timeout;
                entry.suspect_deadline = Some(deadline);
                self.suspects.insert((deadline, index));
            }
            (Status::Suspect, Some(_)) => {}
            (_, Some(deadline)) => {
                entry.suspect_deadline = None;
                self.suspects.remove(&(deadline, index));
            }
            (_, None) => {}
        }
    }

    /// Evidence that `index` is alive: completes probes of it and forwards acks to the
    /// members that asked us to probe it.
    fn heard_from(&mut self, now: Duration, index: usize, alive: &Source) {
        let probed = self.probes.iter().any(|p| p.target == index);
        self.probes.retain(|p| p.target != index);
        if probed && self.seed_rules() {
            self.seed_probe_answered(index, now);
        }
        let mut i = 0;
        while i < self.relays.len() {
            if self.relays[i].target == index {
                if let Some(relay) = self.relays.remove(i) {
                    let message = Message::Ack {
                        seq: relay.seq,
                        alive: alive.clone(),
                        known: self.known(),
                    };
                    self.send(relay.requester, message, false);
                }
            } else {
                i += 1;
            }
        }
    }

    fn relay(
        &mut self,
        now: Duration,
        requester: usize,
        seq: u32,
        target: MemberName,
        correct: bool,
    ) {
        if self.is_local(&target) {
            let alive = self.source();
            let known = self.known();
            self.send(requester, Message::Ack { seq, alive, known }, correct);
            return;
        }
        let target = self.member_index(&target, now);
        let ping_seq = self.next_seq();
        let ping = Message::Ping {
            seq: ping_seq,
            known: self.known(),
        };
        self.send(target, ping, false);
        self.relays.push_back(Relay {
            requester,
            seq,
            target,
            expires: now + self.config.ping_req_timeout,
        });
        if correct {
            self.send(requester, Message::GossipOnly, true);
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn start_probe(&mut self, now: Duration) {
        let Some(target) = self.ring.next(&mut self.rng) else {
            return;
        };
        if self.probes.iter().any(|p| p.target == target) {
            return;
        }
        let seq = self.next_seq();
        let known = self.known();
        self.send(target, Message::Ping { seq, known }, false);
        let first_round = now + self.config.ping_timeout;
        self.probes.push(Probe {
            target,
            seq,
            next_round_at: first_round,
            suspect_at: first_round + self.config.ping_req_timeout,
        });
    }

    fn advance_probes(&mut self, now: Duration) {
        let mut i = 0;
        while i < self.probes.len() {
            let probe = self.probes[i].clone();
            if now >= probe.suspect_at {
                self.probes.remove(i);
                if self.verdict(probe.target, Status::Suspect, now) {
                    self.update_suspicion(probe.target, now);
                    self.changed(probe.target);
                    // Tell the suspect at once (the packet carries its record), so that a live
                    // member refutes before the suspicion spreads far.
                    self.send(probe.target, Message::GossipOnly, false);
                }
                continue;
            }
            if now >= probe.next_round_at {
                self.indirect_round(&probe);
                let next = probe.next_round_at + self.config.ping_timeout;
                // No round so late that its answers could not arrive in time.
                self.probes[i].next_round_at = if next < probe.suspect_at {
                    next
                } else {
                    Duration::MAX
                };
            }
            i += 1;
        }
    }

    /// One indirect round of a probe without an ack yet: a direct ping again and ping-reqs
    /// through `ping_req_count` random available members. Rounds repeat every ping_timeout
    /// until ping_req_timeout has passed, so that a few lost packets alone cannot make a live
    /// member suspect. An OFFLINE member cannot be made more offline: it only gets the ping.
    fn indirect_round(&mut self, probe: &Probe) {
        let status = self.table.entries[probe.target].current.status;
        let ping = Message::Ping {
            seq: probe.seq,
            known: self.known(),
        };
        self.send(probe.target, ping, false);
        if status == Status::Offline {
            return;
        }
        let count = self.config.ping_req_count;
        let helpers = self.find_indices(count, StatusSet::AVAILABLE, &[probe.target]);
        let target = self.table.entries[probe.target].current.name.clone();
        for helper in helpers {
            let message = Message::PingReq {
                seq: probe.seq,
                target: target.clone(),
            };
            self.send(helper, message, false);
        }
    }

    /// Whether a full sync is due: not joined yet (and someone to ask), or a follow-up.
    fn wants_join(&self) -> bool {
        if self.joined {
            self.join_followups > 0 && self.next_join != Duration::MAX
        } else {
            !self.peers.is_empty()
        }
    }

    /// A full sync answered: plan a follow-up with a random member if it taught us anything.
    fn joined_with(&mut self, now: Duration, learned: bool) {
        let first = !self.joined;
        self.joined = true;
        let done = JOIN_FOLLOWUPS - self.join_followups;
        if (first || learned || done < JOIN_FOLLOWUPS_ALWAYS) && self.join_followups > 0 {
            self.next_join = now + self.config.ping_interval;
        } else {
            self.next_join = Duration::MAX;
        }
    }

    /// Asks for the whole member list: at first from every configured peer, later from one
    /// (a random peer until joined, a random available member for follow-ups).
    fn send_join(&mut self, now: Duration) {
        let own = self.table.entries[LOCAL].update();
        let targets: Vec<usize> = if self.joined {
            self.join_followups -= 1;
            // The configured peers saw every joiner's request: ask one first.
            let peer = (self.join_followups + 1 == JOIN_FOLLOWUPS)
                .then(|| self.random_peer())
                .flatten();
            peer.or_else(|| self.find_index(StatusSet::AVAILABLE, None))
                .into_iter()
                .collect()
        } else if self.next_join_all {
            self.next_join_all = false;
            self.peers
                .iter()
                .filter_map(|p| self.table.get(p))
                .collect()
        } else {
            self.random_peer().into_iter().collect()
        };
        for target in targets {
            let message = Message::Sync {
                reply: false,
                full: true,
                records: vec![own.clone()],
            };
            self.send(target, message, false);
        }
        // Retry if the answer is lost; an answer reschedules.
        self.next_join = now + self.config.ping_interval * 2;
    }

    fn random_peer(&mut self) -> Option<usize> {
        if self.peers.is_empty() {
            return None;
        }
        let pick = self.rng.random_range(0..self.peers.len());
        self.table.get(&self.peers[pick])
    }

    /// A window of records, rotating through the table, for push-pull anti-entropy.
    fn sync_window(&mut self) -> Vec<Update> {
        let n = self.table.len();
        let mut budget = self.config.piggyback_budget;
        let mut records = Vec::new();
        for _ in 0..n {
            self.sync_cursor = (self.sync_cursor + 1) % n;
            let entry = &self.table.entries[self.sync_cursor];
            if entry.is_placeholder() {
                continue;
            }
            let len = crate::wire::update_len(&entry.update());
            if len > budget && !records.is_empty() {
                break;
            }
            budget = budget.saturating_sub(len);
            records.push(entry.update());
        }
        records
    }

    /// The records answering a sync request: everything (full), or ours where newer than
    /// what was pushed plus a window of our own.
    fn sync_reply_records(
        &mut self,
        full: bool,
        pushed: &[(MemberName, u64, Status)],
    ) -> Vec<Update> {
        if full {
            return self
                .table
                .entries
                .iter()
                .filter(|e| !e.is_placeholder())
                .take(self.config.max_sync_records)
                .map(|e| e.update())
                .collect();
        }
        let mut records: Vec<Update> = pushed
            .iter()
            .filter_map(|(name, clock, status)| {
                let entry = &self.table.entries[self.table.get(name)?];
                let ours = &entry.current;
                let newer = compare(ours.clock, ours.status, None, *clock, *status, None)
                    == std::cmp::Ordering::Greater;
                newer.then(|| entry.update())
            })
            .collect();
        records.extend(self.sync_window());
        records
    }

    /// Builds and queues a packet to member `to`, piggybacking gossip: first the receiver's
    /// own record if we do not see it ONLINE (so it can refute), then ours if `with_local`,
    /// then pending records by priority within the byte budget.
    fn send(&mut self, to: usize, message: Message, with_local: bool) {
        let mut gossip = Vec::new();
        let mut budget = self.config.piggyback_budget;
        let first = |index: usize, gossip: &mut Vec<Update>, budget: &mut usize| {
            let entry = &self.table.entries[index];
            *budget = budget.saturating_sub(crate::wire::update_len(&entry.update()));
            gossip.push(entry.update());
        };
        let dest = &self.table.entries[to];
        if dest.current.status != Status::Online {
            first(to, &mut gossip, &mut budget);
        }
        let limit = self.retransmit_limit();
        // Our own record goes first while it is news: it is usually a refutation.
        if self.broadcasts.take_one(LOCAL, limit) || with_local {
            first(LOCAL, &mut gossip, &mut budget);
        }
        let table = &self.table;
        let mut taken = gossip.len();
        let chosen = self.broadcasts.take(limit, None, |index| {
            let entry = &table.entries[index];
            let len = crate::wire::update_len(&entry.update());
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
            if gossip
                .iter()
                .all(|u| *u.name != *self.table.entries[index].current.name)
            {
                gossip.push(self.table.entries[index].update());
            }
        }
        let packet = Packet {
            source: self.source(),
            message,
            gossip,
        };
        let to = self.table.entries[to].current.name.clone();
        self.transmits.push_back(Transmit { to, packet });
    }

    fn retransmit_limit(&self) -> u32 {
        let n = self.table.len() as f64;
        let factor = (n + 1.0).log10().ceil().max(1.0) as u32;
        self.config.retransmit_mult.saturating_mul(factor)
    }

    fn find_index(&mut self, statuses: StatusSet, exclude: Option<usize>) -> Option<usize> {
        let exclude: Vec<usize> = exclude.into_iter().collect();
        self.find_indices(1, statuses, &exclude).pop()
    }

    /// Random distinct non-local members by status: rejection sampling first (cheap in large
    /// clusters where most members match), then a scan when few match.
    fn find_indices(&mut self, count: usize, statuses: StatusSet, exclude: &[usize]) -> Vec<usize> {
        let n = self.table.len();
        if count == 0 || n <= 1 {
            return Vec::new();
        }
        let ok = |t: &Table, i: usize, chosen: &[usize]| {
            i != LOCAL
                && statuses.contains(t.entries[i].current.status)
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
