//! The orchestrator: one member's protocol, wired from parts that own their state (see
//! `docs/ARCHITECTURE.md` and `docs/PROTOCOL.md`).
//!
//! | part | owns | file |
//! | --- | --- | --- |
//! | membership | the table, tombstones, Lamport clock, which record wins, refutation, verdicts, the seed's clock rules | `machine/membership.rs` (+ `table.rs`, `tombstone.rs`) |
//! | failure detection | the probe round, probes and indirect rounds, relays and nacks, local health, responders | `machine/detector/` |
//! | suspicions | every suspicion with its deadline, Lifeguard's confirmations | `machine/suspicion.rs` |
//! | dissemination | the gossip queue, retransmit limits, fanout, join news in a burst | `machine/gossip/` |
//! | synchronisation | joining, catch-up, push-pull windows, metadata repairs (an immediate push-pull), the full-sync budget | `machine/sync/` |
//! | standing | answers to strangers no larger than their requests, challenges | `machine/standing.rs` |
//! | timers | the member's own deadlines | `machine/timers.rs` |
//! | leave | a graceful leave in progress | `machine/leave.rs` |
//! | output | packets, events and counters for the driver | `machine/output.rs` |
//!
//! This file holds only what ties them together: the `handle_*`/`poll_*` surface, building
//! packets, and the flows that cross parts (a record applied, a probe failed, a member
//! forgotten).

mod detector;
mod gossip;
mod leave;
mod membership;
mod messaging;
mod output;
mod standing;
mod suspicion;
mod sync;
mod timers;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::table::Applied;
use crate::{
    check_app_name, check_query, AppBody, AppError, AppId, AppMessage, AppSection, QueryRequest,
    ReplyKind,
};
use crate::{
    ConfigError, Counters, Event, MemberChange, MemberName, MemberSnapshot, Message, Metadata,
    Packet, PeerWire, ProtocolConfig, Source, Status, StatusSet, Transmit, Update, Validity,
};
use detector::{Detector, ProbeStep};
use gossip::Gossip;
use leave::Leaving;
use membership::{LocalNews, Membership, LOCAL};
use messaging::{Arrival, Messaging};
use output::Output;
use standing::{Room, Standing, CHALLENGE_SEQS};
use suspicion::Suspicions;
use sync::{JoinRequest, Sync};
use timers::{Timer, Timers};

/// One member's SWIM state machine. `R` is the injected random number generator.
///
/// Inputs: [`Swim::handle_packet`], [`Swim::handle_timeout`], [`Swim::set_local_metadata`],
/// [`Swim::add_peer`], [`Swim::leave`], each with the current time. Outputs:
/// [`Swim::poll_transmit`], [`Swim::poll_timeout`], [`Swim::poll_event`].
pub struct Swim<R> {
    config: ProtocolConfig,
    rng: R,
    members: Membership,
    detector: Detector,
    suspicions: Suspicions,
    gossip: Gossip,
    sync: Sync,
    standing: Standing,
    timers: Timers,
    out: Output,
    messaging: Messaging,
    /// Set once [`Swim::leave`] is called: the member is going and stays silent.
    leaving: Option<Leaving>,
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
        let members = Membership::new(&local, validity, config.wire, now);
        let mut timers = Timers::new(now);
        timers.set(
            Timer::Probe,
            now + config.ping_interval.mul_f64(rng.random::<f64>()),
        );
        timers.set(Timer::Gossip, now + config.sync_interval);
        let jitter = 0.5 + rng.random::<f64>();
        timers.set(
            Timer::PushPull,
            now + config.push_pull_interval.mul_f64(jitter),
        );
        let dynamic = config.lifeguard && members.all_native();
        let mut swim = Swim {
            rng,
            detector: Detector::new(&config),
            suspicions: Suspicions::new(&config, dynamic),
            gossip: Gossip::new(&config),
            sync: Sync::new(&config, now),
            standing: Standing::default(),
            timers,
            out: Output::default(),
            messaging: Messaging::new(&config.messaging),
            leaving: None,
            members,
            config,
        };
        swim.members.change_local(now, Some(metadata));
        // Our first record is join news: announced narrowly, as `joined_with` does again.
        let owed = swim.gossip.before_join_news();
        swim.changed(LOCAL);
        swim.gossip.after_join_news(owed, true);
        for peer in peers {
            swim.add_peer(now, peer);
        }
        Ok(swim)
    }

    /// Feeds a packet received from the network in the wire format of this member's
    /// clock rules (the Python format under [`Wire::Python`](crate::Wire::Python),
    /// ours otherwise). Packets that claim to come from the local member are ignored.
    pub fn handle_packet(&mut self, now: Duration, packet: Packet) {
        let wire = self.members.home_wire();
        self.handle_packet_on(now, wire, packet);
    }

    /// Feeds a packet received from the network in the wire format `wire`: a driver that
    /// speaks both formats says which one each packet came in, and the sender is answered
    /// in it from then on (see [`Transmit::wire`]).
    pub fn handle_packet_on(&mut self, now: Duration, wire: PeerWire, packet: Packet) {
        if self.members.is_local(&packet.source.name) {
            return;
        }
        if let Some(leaving) = self.leaving.as_mut() {
            // While leaving, only an ack of one of the leave's pings matters.
            if let Message::Ack { seq, .. } = packet.message {
                leaving.ack(seq);
            }
            return;
        }
        if matches!(
            packet.message,
            Message::Sync {
                reply: false,
                full: true,
                ..
            }
        ) {
            let online = (self.members.get(&packet.source.name))
                .is_some_and(|i| self.members.status(i) == Status::Online);
            if !self
                .sync
                .take_full_request(&packet.source.name, online, now)
            {
                self.out.tally().counters.full_syncs_refused += 1;
                return;
            }
        }
        let request_len = crate::wire::encoded_len(&packet);
        let Packet {
            source,
            mut message,
            gossip,
            app,
        } = packet;
        // A push-pull window riding on a probe: the probe is handled as any other, and the
        // window beside it.
        let window = message.take_window();
        // The application's messages are taken from listed members only (a stranger's
        // query gets nothing), and on the native wire.
        let listed = (self.members.get(&source.name))
            .is_some_and(|i| self.members.status(i) != Status::Offline);
        let app_trusted = listed && wire == PeerWire::Native;
        let sender = self.member_index(&source.name, now);
        let (new_process, restarted) = self.members.heard_process(sender, source.validity, wire);
        if new_process {
            self.standing.clear(sender);
        }
        // A new process under a known name: tell it what we know of it, so it can refute.
        let mut correct_sender = restarted;
        if let Message::Ack { seq, .. } = message {
            self.confirm_by_ack(sender, seq);
        }
        let good = self.members.in_good_standing(sender, new_process);
        if !good {
            self.standing.limit(sender, request_len);
        }
        // A stranger's ping is answered bare: if it holds older news about us, our own
        // probe of it carries the correction (see `correct_stranger`).
        let stranger_ping = !good && matches!(message, Message::Ping { .. });
        let greet = new_process
            && self.members.seed_rules(sender)
            && !matches!(message, Message::Sync { full: true, .. });
        for update in gossip {
            correct_sender |= self.apply_from(now, sender, update, true);
        }
        if let Message::Ack { seq, .. } = message {
            self.out.tally().ack(seq, now);
        }
        self.receive_app(now, sender, app_trusted, app);
        self.heard_from(now, sender, &source);
        let replied = match message {
            Message::Ping { seq, known, .. } => {
                // The digest first: what a window teaches is a sample of the list, and
                // must not hide that the sender knows more members than we do.
                self.catch_up(now, sender, known);
                let answer =
                    window.map(|w| self.answer_window(now, sender, w, &mut correct_sender));
                self.ack_probe(sender, seq, answer, good, correct_sender);
                true
            }
            Message::PingReq { seq, target } => {
                self.relay(now, sender, seq, target, correct_sender);
                false
            }
            Message::Ack { alive, known, .. } => {
                if good {
                    self.pay_owed_full(now, sender);
                }
                self.catch_up(now, sender, known);
                if window.is_some() {
                    self.sync.window_answered();
                }
                for record in window.into_iter().flatten() {
                    correct_sender |= self.apply_from(now, sender, record, true);
                }
                // A relayed ack about a member we forgot: the relay is out of date.
                if !self.members.is_local(&alive.name) && !self.members.is_forgotten(&alive.name) {
                    let index = self.member_index(&alive.name, now);
                    self.heard_from(now, index, &alive);
                }
                false
            }
            Message::Gossip(update) => {
                let (name, clock) = (update.name.clone(), update.clock);
                correct_sender |= self.apply_from(now, sender, update, true);
                self.send(sender, Message::GossipAck { name, clock }, correct_sender);
                if !self.sync.joined() {
                    // Only the seed's members send `Gossip`, and they never answer a full
                    // sync: their dissemination (every record we have not acknowledged) is
                    // how they hand us the member list, so we have joined.
                    self.joined_with(now, false);
                }
                true
            }
            Message::GossipAck { .. } | Message::GossipOnly => false,
            Message::Nack { seq } => {
                if self.detector.nacked(sender, seq) {
                    self.out.tally().counters.nacks_received += 1;
                }
                false
            }
            Message::QueryReply { .. } | Message::Direct { .. } | Message::DirectAck { .. } => {
                if app_trusted {
                    self.app_message_arrived(now, sender, message);
                }
                false
            }
            Message::Sync {
                reply,
                full,
                records,
            } => {
                if reply {
                    self.sync_reply_arrived(now, sender, full, records, &mut correct_sender);
                    false
                } else if !good && full {
                    // The list goes once the sender proves it receives at its address (what
                    // the request pushed is applied; nothing else goes back to a stranger).
                    for record in records {
                        self.apply_from(now, sender, record, true);
                    }
                    self.challenge(now);
                    self.members.owe_full(sender);
                    return self.finish_packet(now, sender);
                } else {
                    self.sync_requested(now, sender, full, good, records, &mut correct_sender);
                    true
                }
            }
        };
        if correct_sender && !replied {
            self.send(sender, Message::GossipOnly, true);
        }
        if greet {
            // Seed rules: the first packet from a process (a new member or a restart) is
            // answered with our whole member list, as the seed resends all gossip to a new
            // validity.
            let records = self.full_list();
            let message = Message::Sync {
                reply: true,
                full: true,
                records,
            };
            self.send(sender, message, false);
        }
        self.finish_packet(now, sender);
        if stranger_ping && correct_sender {
            self.correct_stranger(now, sender);
        }
    }

    /// `sender`, a member not in good standing (it never answered a ping of ours), pinged
    /// us holding older news about us (after a healed partition: that we are OFFLINE). The
    /// bare ack to a stranger has no room for our record, and pinging us again would never
    /// teach it more, so we probe it, our record in the ping: a probe of a member we know
    /// is ours to send (at most one in flight per member), not an answer that a forged
    /// source could inflate, and its ack puts the member in good standing.
    fn correct_stranger(&mut self, now: Duration, sender: usize) {
        if self.members.seed_rules(sender) || self.detector.probing(sender) {
            return;
        }
        self.probe_with(now, sender, true);
    }

    /// The end of every packet handled: the challenge it called for, and eager fanout.
    fn finish_packet(&mut self, now: Duration, sender: usize) {
        if self.standing.wants_challenge() {
            self.challenge(now);
        }
        self.standing.end();
        self.fan_out(now, Some(sender));
    }

    /// Lets the machine act on every deadline up to `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.leaving.is_some() {
            if self
                .leaving
                .as_ref()
                .and_then(Leaving::deadline)
                .is_some_and(|at| now >= at)
            {
                self.leave_round(now);
            }
            return;
        }
        if now >= self.timers.at(Timer::Reap) {
            self.reap(now);
        }
        self.advance_probes(now);
        if self.detector.take_sweep(now) {
            for target in self.members.doubted() {
                self.probe(now, target);
            }
        }
        for nack in self.detector.take_due_nacks(now) {
            self.out.tally().counters.nacks_sent += 1;
            self.send(nack.requester, Message::Nack { seq: nack.seq }, false);
            if self.suspicions.relay_unanswered(nack.target, now)
                && self.members.status(nack.target) == Status::Suspect
            {
                self.confirm_suspicion(nack.target, LOCAL, now);
            }
        }
        self.detector.expire_relays(now);
        let expired = self.messaging.expire(now);
        for seq in expired.queries {
            self.out.event(Event::QueryDone { seq });
        }
        for id in expired.directs {
            self.out.event(Event::DirectFailed { id });
        }
        while let Some(suspect) = self.suspicions.take_expired(now) {
            if self.members.verdict(suspect, Status::Offline, now) {
                self.out.tally().counters.offline_declared += 1;
                self.changed(suspect);
            }
        }
        let due = self.probe_due();
        if now >= due {
            self.sync.retry_unanswered();
            self.start_probe(now);
            // A push-pull still waiting found no probe to ride on: it goes alone.
            if self.sync.take_push_pull() {
                self.push_pull_alone(now);
            }
            let next = (due + self.config.ping_interval).max(now);
            self.timers.set(Timer::Probe, next);
        }
        if now >= self.timers.at(Timer::Gossip) {
            if !self.gossip.is_empty() {
                if let Some(target) = self.pick_one(StatusSet::AVAILABLE, None) {
                    self.send(target, Message::GossipOnly, false);
                }
            }
            // The application's messages need more sendings than piggybacking gives them
            // (each member passes each message on `limit` times): while some wait, every
            // tick also sends them to random members, enough packets to give each waiting
            // message one sending, at least `fanout` and at most `4 × fanout` (a bounded
            // traffic budget: beyond it the queue waits, and fills up to `max_pending`).
            if self.messaging.has_pending() {
                let fanout = self.config.fanout.max(1);
                let needed = self
                    .messaging
                    .pending_bytes()
                    .div_ceil(self.config.piggyback_budget.max(1));
                let count = needed.clamp(fanout, 4 * fanout);
                for target in self.pick(count, StatusSet::AVAILABLE, &[]) {
                    if !self.messaging.has_pending() {
                        break;
                    }
                    self.send(target, Message::GossipOnly, false);
                }
            }
            self.timers
                .set(Timer::Gossip, now + self.config.sync_interval);
        }
        if now >= self.timers.at(Timer::PushPull) {
            // Under the seed's clock rules every member speaks the Python wire, which
            // carries no window on a probe: the push-pull goes alone, now.
            if self.members.home_wire() == PeerWire::Python {
                self.push_pull_alone(now);
            } else {
                self.sync.push_pull_due();
            }
            let jitter = 0.5 + self.rng.random::<f64>();
            let next = now + self.config.push_pull_interval.mul_f64(jitter);
            self.timers.set(Timer::PushPull, next);
        }
        if self.wants_join() && now >= self.timers.at(Timer::Join) {
            self.send_join(now);
        }
        self.fan_out(now, None);
    }

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.poll_transmit()
    }

    /// The earliest time at which [`Swim::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Duration> {
        if let Some(leaving) = &self.leaving {
            return leaving.deadline();
        }
        let timers = Timer::ALL.into_iter().filter_map(|t| self.timer_due(t));
        timers
            .chain(self.detector.next_deadline())
            .chain(self.suspicions.next_deadline())
            .chain(self.messaging.next_deadline())
            .min()
    }

    /// When `timer` needs the machine, if it is armed.
    fn timer_due(&self, timer: Timer) -> Option<Duration> {
        let at = self.timers.at(timer);
        match timer {
            Timer::Probe => Some(self.probe_due()),
            Timer::PushPull | Timer::Reap => Some(at),
            Timer::Gossip => {
                (!self.gossip.is_empty() || self.messaging.has_pending()).then_some(at)
            }
            Timer::Join => self.wants_join().then_some(at),
            Timer::Fanout => {
                (self.gossip.fanout_pending() || self.app_fanout_pending()).then_some(at)
            }
        }
    }

    /// The next membership event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.poll_event()
    }

    /// Replaces the local member's metadata; the change is disseminated. Ignored once the
    /// member has left.
    pub fn set_local_metadata(&mut self, now: Duration, metadata: Metadata) {
        if self.leaving.is_none()
            && self.members.entry(LOCAL).metadata().as_ref() != Some(&metadata)
        {
            self.members.change_local(now, Some(metadata));
            self.changed(LOCAL);
            self.fan_out(now, None);
        }
    }

    /// Adds a member known by name only (e.g. found by discovery after start) and asks the
    /// peers for the member list if the local member has not joined yet, or has lost every
    /// other member (none ONLINE or SUSPECT): it then joins again, as a new member would, so
    /// that a member that lost everyone finds the cluster through a peer found later (a
    /// DNS name re-resolved to the service's new addresses).
    pub fn add_peer(&mut self, now: Duration, name: MemberName) {
        if self.members.is_local(&name) || self.sync.peers().contains(&name) {
            return;
        }
        self.member_index(&name, now);
        self.sync.add_peer(name);
        let alone = self.pick_one(StatusSet::AVAILABLE, None).is_none();
        if !self.sync.joined() || (alone && self.leaving.is_none()) {
            self.sync.join_again();
            self.timers.set(Timer::Join, now);
        }
    }

    /// Forgets `name` as a configured peer: it is no longer asked when joining. A member
    /// already known stays in the table and is probed as any other.
    pub fn remove_peer(&mut self, name: &MemberName) {
        self.sync.remove_peer(name);
    }

    /// Leaves the cluster: the local member becomes OFFLINE with a newer clock and the left
    /// flag, and that record is sent at once, in a ping, to a few available members (again
    /// to others every `ping_timeout`, at most 3 rounds, until one acknowledges). They mark
    /// the member OFFLINE without a suspicion and gossip the leave on. From then on the
    /// member is silent: it answers nothing, probes nobody, and ignores metadata changes; the
    /// driver should stop it once [`Swim::leave_acknowledged`] or after a timeout. Calling
    /// it again does nothing. A new process under the same name rejoins as usual.
    pub fn leave(&mut self, now: Duration) {
        if self.leaving.is_some() {
            return;
        }
        self.members.leave(now);
        self.changed(LOCAL);
        self.detector.stop();
        self.leaving = Some(Leaving::new(now));
        self.leave_round(now);
    }

    /// Whether [`Swim::leave`] was called.
    pub fn has_left(&self) -> bool {
        self.leaving.is_some()
    }

    /// Whether the leave reached at least one member (an ack of a ping that carried it), or
    /// there was no available member to tell. False before [`Swim::leave`].
    pub fn leave_acknowledged(&self) -> bool {
        self.leaving.as_ref().is_some_and(Leaving::acknowledged)
    }

    /// The local member's name.
    pub fn local_name(&self) -> &MemberName {
        self.members.name(LOCAL)
    }

    /// The local member's validity bytes.
    pub fn validity(&self) -> Validity {
        self.members.validity()
    }

    /// A snapshot of the local member.
    pub fn local(&self) -> MemberSnapshot {
        self.members.entry(LOCAL).snapshot()
    }

    /// A snapshot of the member called `name`, if known.
    pub fn member(&self, name: &str) -> Option<MemberSnapshot> {
        let index = self.members.get(name)?;
        Some(self.members.entry(index).snapshot())
    }

    /// Snapshots of every member, the local one included, sorted by name.
    pub fn members(&self) -> Vec<MemberSnapshot> {
        self.members.snapshots(None)
    }

    /// Snapshots of the non-local members whose status is in `statuses`, sorted by name.
    pub fn members_with(&self, statuses: StatusSet) -> Vec<MemberSnapshot> {
        self.members.snapshots(Some(statuses))
    }

    /// The number of members known, the local one included.
    pub fn len(&self) -> usize {
        self.members.len()
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
        let excluded: Vec<usize> = exclude.iter().filter_map(|n| self.members.get(n)).collect();
        let found = self.members.pick(&mut self.rng, count, statuses, &excluded);
        found
            .into_iter()
            .map(|i| self.members.name(i).clone())
            .collect()
    }

    /// The protocol parameters in use.
    pub fn config(&self) -> &ProtocolConfig {
        &self.config
    }

    /// The number of records waiting to be piggybacked (zero when the cluster is quiet).
    pub fn pending_gossip(&self) -> usize {
        self.gossip.len()
    }

    /// Counts of protocol events so far (probes, suspicions, OFFLINE verdicts, round trips,
    /// nacks), and the local health score.
    pub fn counters(&self) -> Counters {
        Counters {
            local_health: self.detector.health(),
            ..self.out.counters()
        }
    }

    /// Lifeguard's local health score: 0 when healthy, up to
    /// [`ProtocolConfig::awareness_max`] when our own probes keep failing without the relays'
    /// nacks or we keep refuting suspicions of ourselves. Probe timeouts and the probe
    /// interval are `(score + 1)` times their configured values. Always 0 without Lifeguard.
    pub fn local_health(&self) -> u32 {
        self.detector.health()
    }

    /// How many forgotten members are remembered by a tombstone.
    pub fn tombstones(&self) -> usize {
        self.members.tombstones()
    }

    // ---- the application's messages (see "Application messages" in `docs/PROTOCOL.md`) ----

    /// Publishes a user event to every member (this one's application receives it too).
    /// With `coalesce`, a newer event of the same name from this member replaces an older
    /// one where it still waits to be gossiped.
    pub fn publish(
        &mut self,
        now: Duration,
        name: &str,
        payload: Arc<[u8]>,
        coalesce: bool,
    ) -> Result<AppId, AppError> {
        self.check_app(name, payload.len())?;
        let body = AppBody::Event {
            name: name.to_owned(),
            payload,
            coalesce,
        };
        let message = self.messaging.publish(now, self.members.source(), body);
        self.deliver(now, message.clone());
        self.fan_out(now, None);
        Ok(message.id())
    }

    /// Asks the members `request.filter` selects (this one included); their answers come
    /// as [`Event::QueryReply`] with the returned sequence number until [`Event::QueryDone`].
    pub fn query(&mut self, now: Duration, request: QueryRequest) -> Result<u64, AppError> {
        self.check_app(&request.name, request.payload.len())?;
        let timeout = request.timeout.unwrap_or(self.default_query_timeout());
        check_query(&request.filter, timeout, request.relay)?;
        if !self.messaging.may_ask() {
            return Err(AppError::Busy);
        }
        let body = AppBody::Query {
            name: request.name,
            payload: request.payload,
            filter: request.filter,
            timeout,
            ack: request.ack,
            relay: request.relay,
        };
        let message = self.messaging.publish(now, self.members.source(), body);
        self.messaging.asked(message.seq, now + timeout);
        let seq = message.seq;
        self.deliver(now, message);
        self.fan_out(now, None);
        Ok(seq)
    }

    /// How long a query is answered by default: as long as its gossip is retransmitted,
    /// `sync_interval × retransmit limit` (which grows with `log10` of the cluster size, as
    /// Serf's default does), so the last members reached still have time to answer.
    pub fn default_query_timeout(&self) -> Duration {
        let limit = self.gossip.limit(self.members.len());
        (self.config.sync_interval * limit)
            .max(self.config.ping_interval)
            .min(crate::MAX_QUERY_TIMEOUT)
    }

    /// Answers the query `id` (from [`Event::Query`]) with `payload`: once, before its
    /// timeout.
    pub fn respond(
        &mut self,
        now: Duration,
        id: &AppId,
        payload: Arc<[u8]>,
    ) -> Result<(), AppError> {
        self.check_app("response", payload.len())?;
        let Some(answer) = self.messaging.take_answerable(id, now) else {
            return Err(AppError::NotAnswerable);
        };
        let reply = ReplyKind::Response(payload);
        self.reply_to_query(answer.querier, id.seq, reply, answer.relay);
        Ok(())
    }

    /// Sends `payload` to the member `to` alone. Best effort (one datagram) unless
    /// `acknowledged`: then the packet goes over a stream ([`Transmit::reliable`]) and the
    /// returned number comes back as [`Event::DirectAcked`] or [`Event::DirectFailed`].
    pub fn send_direct(
        &mut self,
        now: Duration,
        to: &str,
        payload: Arc<[u8]>,
        acknowledged: bool,
    ) -> Result<Option<u32>, AppError> {
        self.check_app("direct", payload.len())?;
        let index = (self.members.get(to))
            .filter(|&i| i != LOCAL && self.members.wire_of(i) == PeerWire::Native)
            .ok_or_else(|| AppError::UnknownMember(to.to_owned()))?;
        let id = if acknowledged {
            Some(self.messaging.direct_sent(now).ok_or(AppError::Busy)?)
        } else {
            None
        };
        let message = Message::Direct {
            id: id.unwrap_or(0),
            payload,
        };
        self.send(index, message, false);
        Ok(id)
    }

    // ---- members and records ----

    /// The index of `name`, adding it if new (to the table and the probe round). A forgotten
    /// member comes back from its tombstone and is reported.
    fn member_index(&mut self, name: &MemberName, now: Duration) -> usize {
        let known = self.members.index_of(name, now);
        if known.added {
            self.detector.insert(known.index, &mut self.rng);
        }
        if known.unburied {
            self.report(known.index, false);
        }
        known.index
    }

    /// The record of member `index` as we disseminate it.
    fn record(&self, index: usize) -> Update {
        self.members.record(index, self.suspicions.accuser(index))
    }

    /// The record of member `index` as gossiped: with its latest metadata change instead of
    /// its map if `deltas` (our wire) and that is smaller.
    fn gossip_record(&self, index: usize, deltas: bool) -> Update {
        let accuser = self.suspicions.accuser(index);
        if deltas {
            self.members.gossip_record(index, accuser)
        } else {
            self.members.record(index, accuser)
        }
    }

    /// The whole member list as records, for a full sync.
    fn full_list(&self) -> Vec<Update> {
        let max = self.config.max_sync_records;
        self.members.full_list(max, |i| self.suspicions.accuser(i))
    }

    /// Records a visible change of member `index`: gossip it and report it.
    fn changed(&mut self, index: usize) {
        self.report(index, true);
    }

    /// Reports the latest change of member `index`, and queues its record for gossip if
    /// `rebroadcast`.
    fn report(&mut self, index: usize, rebroadcast: bool) {
        if rebroadcast {
            self.gossip.push(index);
        }
        let member = self.members.entry(index).snapshot();
        let previous = self.members.previous(index);
        // Join news (a first record) is not among them: the member-count digest's
        // catch-ups repair missed joins, and a mass join would crowd the changes out.
        if member.status != previous.status && index != LOCAL && previous.clock > 0 {
            self.sync
                .recent_change(member.name.clone(), member.status_time);
        }
        self.out
            .event(Event::MemberChanged(MemberChange { member, previous }));
    }

    /// Applies a record that came in a packet from member `sender`. Returns true when the
    /// sender holds older news about the local member than ours (it should get our record).
    fn apply_from(
        &mut self,
        now: Duration,
        sender: usize,
        mut update: Update,
        rebroadcast: bool,
    ) -> bool {
        if !self.members.resolve_delta(&mut update) {
            // Newer than ours, with a change made to a map we do not hold: the sender
            // holds the whole record (see machine/sync/repair.rs).
            self.repair(now, sender, &update.name);
            return false;
        }
        let from_itself = update.name == *self.members.name(sender);
        // A member calls itself OFFLINE only when it leaves: that is how a leave reads on the
        // Python wire, which has no left flag.
        if from_itself && update.status == Status::Offline {
            update.left = true;
        }
        if self.members.seed_rules(sender) && from_itself {
            self.members.observe(update.clock);
            if let Some(metadata) = self.members.first_hand(sender, &update) {
                self.mark_online(sender, metadata, now);
                return false;
            }
        }
        let join_news = self.members.is_join_news(&update);
        let name = join_news.then(|| update.name.clone());
        let owed = join_news.then(|| self.gossip.before_join_news());
        let correct = self.apply_update(now, update, rebroadcast);
        if let Some(owed) = owed {
            self.gossip.after_join_news(owed, from_itself);
        }
        if let Some(index) = name.and_then(|name| self.members.get(&name)) {
            self.gossip.join_news(index, self.members.len());
        }
        correct
    }

    /// Applies one disseminated record. Returns true when the sender holds older news about
    /// the local member than ours, so it should be sent our record.
    fn apply_update(&mut self, now: Duration, update: Update, rebroadcast: bool) -> bool {
        self.members.observe(update.clock);
        if self.members.is_local(&update.name) {
            return match self.members.news_about_local(now, &update) {
                LocalNews::Agrees => false,
                LocalNews::Outdated => true,
                LocalNews::Refuted { suspected } => {
                    if update.status == Status::Offline {
                        // Held OFFLINE: we were cut off, and may hold the others OFFLINE.
                        self.detector.comeback(now);
                    }
                    if suspected {
                        self.out.tally().counters.suspicions_refuted += 1;
                        // Lifeguard: others could not hear from us in time; likely we are slow.
                        self.detector.worse(1);
                    }
                    self.changed(LOCAL);
                    true
                }
            };
        }
        if self.members.buried(&update) {
            return false;
        }
        let index = self.member_index(&update.name, now);
        // Only a member we know, other than us and the suspect, can be an accuser.
        let accuser = (update.accuser.as_ref())
            .and_then(|a| self.members.get(a))
            .filter(|&a| a != LOCAL && a != index);
        match self.members.apply(index, &update, now) {
            Applied::Stale => self.maybe_confirmation(index, &update, now),
            Applied::ClockOnly => {
                if rebroadcast {
                    self.gossip.push(index);
                }
                self.maybe_confirmation(index, &update, now);
            }
            Applied::Changed => {
                let previous = self.members.previous(index);
                if previous.status == Status::Offline
                    && !previous.left
                    && previous.clock > 0
                    && self.members.status(index) == Status::Online
                {
                    // A member we held OFFLINE refuted it: a healed partition, or a restart.
                    self.detector.comeback(now);
                }
                self.follow_suspicion(index, now, accuser);
                if previous.clock > 0 && previous.status == self.members.status(index) {
                    // The member's own news (its metadata): as a status change, windows
                    // carry it first for a while (`report` lists status changes).
                    let name = self.members.name(index).clone();
                    self.sync.recent_change(name, now);
                }
                self.report(index, rebroadcast);
                if self.members.seed_rules(index) && self.members.suspicion_cleared(index) {
                    // Seed rules: gossip cleared a suspicion we may have passed on to the
                    // member (every packet to a member we do not see ONLINE carries its
                    // record); a Python member that heard it was suspect marks *itself*
                    // SUSPECT when its suspect timeout expires unless told it is ONLINE.
                    let record = self.record(index);
                    self.send(index, Message::Gossip(record), false);
                }
            }
        }
        false
    }

    /// Starts or ends the suspicion of member `index` after its status changed; `accuser` is
    /// the member whose probe found it unresponsive, if known.
    fn follow_suspicion(&mut self, index: usize, now: Duration, accuser: Option<usize>) {
        let suspect = self.members.status(index) == Status::Suspect;
        match (suspect, self.suspicions.contains(index)) {
            (true, false) => {
                let available = self.members.not_offline();
                let members = &self.members;
                self.suspicions
                    .start(index, now, accuser, available, LOCAL, |i| {
                        members.name(i).clone()
                    });
            }
            (false, true) => self.suspicions.end(index),
            _ => {}
        }
    }

    /// A record about `index` arrived: if it is a suspicion naming an accuser, not older
    /// than ours, while we hold `index` SUSPECT, it may confirm our suspicion.
    fn maybe_confirmation(&mut self, index: usize, update: &Update, now: Duration) {
        let current = self.members.entry(index);
        if update.status != Status::Suspect
            || current.status() != Status::Suspect
            || update.clock < current.clock()
        {
            return;
        }
        // Only an accuser we know counts (a made-up name must not add a member), and never
        // ourselves: we know our own accusations.
        let Some(accuser) = update.accuser.as_ref().and_then(|a| self.members.get(a)) else {
            return;
        };
        if accuser != LOCAL {
            self.confirm_suspicion(index, accuser, now);
        }
    }

    /// `accuser` found `index`, which we hold SUSPECT, unresponsive too: a new confirmation
    /// is passed on, naming `accuser`.
    fn confirm_suspicion(&mut self, index: usize, accuser: usize, now: Duration) {
        let members = &self.members;
        let name = || members.name(accuser).clone();
        if self.suspicions.confirm(index, accuser, now, name) {
            self.gossip.push(index);
        }
    }

    /// Seed rules: member `index` is ONLINE again with our next clock and `metadata`; it is
    /// gossiped and told (which stops a Python member's own suspect timer).
    fn mark_online(&mut self, index: usize, metadata: Option<Metadata>, now: Duration) {
        self.members.mark_online(index, metadata, now);
        self.follow_suspicion(index, now, None);
        self.changed(index);
        let record = self.record(index);
        self.send(index, Message::Gossip(record), false);
    }

    /// Random available members, or by status.
    fn pick(&mut self, count: usize, statuses: StatusSet, exclude: &[usize]) -> Vec<usize> {
        self.members.pick(&mut self.rng, count, statuses, exclude)
    }

    fn pick_one(&mut self, statuses: StatusSet, exclude: Option<usize>) -> Option<usize> {
        let exclude: Vec<usize> = exclude.into_iter().collect();
        self.pick(1, statuses, &exclude).pop()
    }

    // ---- building packets ----

    /// Builds and queues a packet to member `to`, piggybacking gossip: first the receiver's
    /// own record if we do not see it ONLINE (so it can refute), then ours if `with_local`,
    /// then pending records by priority within the byte budget. Returns whether it was
    /// queued (an answer to a stranger that does not fit is not).
    fn send(&mut self, to: usize, message: Message, with_local: bool) -> bool {
        let wire = self.members.wire_of(to);
        self.send_on(to, wire, message, with_local)
    }

    /// [`Swim::send`] in the wire format `wire`. What the Python format cannot carry is
    /// never sent in it: a nack is dropped here, a probe's push-pull window is left out
    /// (see `docs/python-wire.md`).
    fn send_on(&mut self, to: usize, wire: PeerWire, message: Message, with_local: bool) -> bool {
        if wire == PeerWire::Python && matches!(message, Message::Nack { .. }) {
            return false;
        }
        let mut message = message;
        if wire == PeerWire::Python {
            message.take_window();
            // The Python wire carries whole maps only.
            self.members.fill_maps(&mut message);
        }
        let mut packet = Packet {
            app: Default::default(),
            source: self.members.source(),
            message,
            gossip: Vec::new(),
        };
        // To a source not in good standing, no more than it sent (machine/standing.rs).
        let bare = crate::wire::encoded_len(&packet);
        let room = match self.standing.room(to, bare) {
            Room::Nothing => return false,
            Room::Gossip(bytes) => Some(bytes),
            Room::Unlimited => None,
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
        // On our wire, a record goes with its latest metadata change instead of its map
        // when that is smaller (see "Metadata deltas" in docs/PROTOCOL.md).
        let deltas = wire == PeerWire::Native;
        let mut first =
            |swim: &Self, index: usize, gossip: &mut Vec<Update>, budget: &mut usize| {
                let record = swim.gossip_record(index, deltas);
                *budget = budget.saturating_sub(crate::wire::update_len(&record));
                gossip.push(record);
                firsts.push(index);
            };
        let dest_first = self.members.status(to) != Status::Online;
        let limit = self.gossip.limit(self.members.len());
        // Our own record goes first while it is news: it is usually a refutation. (It goes
        // before the receiver's only when room is short: a stranger's answer is cut.)
        let local_first = self.gossip.take_one(LOCAL, limit) || with_local;
        if local_first && room.is_some() {
            first(self, LOCAL, &mut gossip, &mut budget);
        }
        if dest_first {
            first(self, to, &mut gossip, &mut budget);
        }
        if local_first && room.is_none() {
            first(self, LOCAL, &mut gossip, &mut budget);
        }
        let (members, suspicions) = (&self.members, &self.suspicions);
        let mut taken = gossip.len();
        let chosen = self.gossip.take(limit, |index| {
            let accuser = suspicions.accuser(index).map(|a| &**a);
            let delta = members.gossip_delta(index).filter(|_| deltas);
            let len = crate::wire::snapshot_len(members.entry(index), accuser, delta);
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
                gossip.push(self.gossip_record(index, deltas));
            }
        }
        packet.gossip = gossip;
        if wire == PeerWire::Native && room.is_none() {
            self.piggyback_app(&mut packet, bare, limit);
        }
        if let Some(room) = room {
            // A record larger than the budget may still have been taken: cut to the room.
            while crate::wire::encoded_len(&packet) > bare + room {
                packet.gossip.pop();
            }
            self.standing.sent(to, crate::wire::encoded_len(&packet));
        }
        self.transmit(to, wire, packet);
        true
    }

    /// Queues `packet` to member `to` in `wire`.
    fn transmit(&mut self, to: usize, wire: PeerWire, packet: Packet) {
        let to = self.members.name(to).clone();
        self.out.send(Transmit { to, packet, wire });
    }

    /// Eager fanout: if news was queued, passes it on at once to random available members
    /// (not `exclude`, the member it came from): as many as its records' retransmission
    /// limit, `fanout` for join news; at most one batch per `sync_interval / 4` and
    /// `4 × fanout` packets per `sync_interval` (see `machine/gossip/`).
    fn fan_out(&mut self, now: Duration, exclude: Option<usize>) {
        let gate_open = now >= self.timers.at(Timer::Fanout);
        let app_fresh = self.app_fanout_pending() && gate_open;
        let Some(count) = (self.gossip.fanout_now(gate_open, self.members.len(), now))
            .or(app_fresh.then_some(self.config.fanout))
        else {
            return;
        };
        if gate_open {
            self.messaging.take_fresh();
        }
        self.timers
            .set(Timer::Fanout, now + self.config.sync_interval / 4);
        let exclude: Vec<usize> = exclude.into_iter().collect();
        for target in self.pick(count, StatusSet::AVAILABLE, &exclude) {
            if self.gossip.is_empty() && !self.messaging.has_pending() {
                break;
            }
            self.send(target, Message::GossipOnly, false);
        }
    }

    // ---- failure detection ----

    /// When the next probe is due: Lifeguard stretches the wait to `(score + 1)` intervals,
    /// with the score as it is when the wait ends.
    fn probe_due(&self) -> Duration {
        let interval = self.config.ping_interval;
        self.timers.at(Timer::Probe) + (self.detector.scaled(interval) - interval)
    }

    /// Evidence that `index` is alive: completes probes of it and forwards acks to the
    /// members that asked us to probe it.
    fn heard_from(&mut self, now: Duration, index: usize, alive: &Source) {
        let probed = self.detector.heard_from(index);
        if probed {
            self.out.tally().counters.probes_answered += 1;
            if self.members.seed_rules(index) {
                if let Some(metadata) = self.members.comes_back(index) {
                    self.mark_online(index, metadata, now);
                }
            }
        }
        for relay in self.detector.take_relays_to(index) {
            let message = Message::ack(relay.seq, alive.clone(), self.members.known());
            if relay.bare {
                self.send_bare_ack(relay.requester, message, false);
            } else {
                self.send(relay.requester, message, false);
            }
        }
    }

    /// A ping-req from `requester`: ping `target` for it (or answer for ourselves).
    fn relay(
        &mut self,
        now: Duration,
        requester: usize,
        seq: u32,
        target: MemberName,
        correct: bool,
    ) {
        if self.members.is_forgotten(&target) {
            return; // the requester is out of date: we forgot that member
        }
        if self.members.is_local(&target) {
            let alive = self.members.source();
            let known = self.members.known();
            self.send(requester, Message::ack(seq, alive, known), correct);
            return;
        }
        let target = self.member_index(&target, now);
        let ping = Message::ping(self.detector.next_seq(), self.members.known());
        self.send(target, ping, false);
        // For a stranger, the ack relayed back goes bare (the ping goes to the target, a
        // member we chose to know).
        let nacks = self.nacks_with(requester);
        let bare = self.standing.limited(requester);
        self.detector
            .relay(requester, seq, target, now, nacks, bare);
        if correct {
            self.send(requester, Message::GossipOnly, true);
        }
    }

    /// Whether nacks are exchanged with member `index`: with Lifeguard, on the native wire
    /// (members of the Python package neither send nor understand them).
    fn nacks_with(&self, index: usize) -> bool {
        self.config.lifeguard && !self.members.seed_rules(index)
    }

    /// The probes of one `ping_interval`: the next member of the round that is not OFFLINE
    /// and, every few periods, a random OFFLINE member, so that a healed partition or a
    /// restarted member is seen again (see "Failure detection" in `docs/PROTOCOL.md`).
    fn start_probe(&mut self, now: Duration) {
        let members = &self.members;
        let (next, offline_turn) = self
            .detector
            .next_in_round(&mut self.rng, |i| members.status(i) != Status::Offline);
        let offline = offline_turn
            .then(|| self.pick_one(StatusSet::OFFLINE, None))
            .flatten();
        for target in next.into_iter().chain(offline) {
            self.probe(now, target);
        }
    }

    fn probe(&mut self, now: Duration, target: usize) {
        self.probe_with(now, target, false);
    }

    /// A probe of `target`, our own record in the ping if `with_local`.
    fn probe_with(&mut self, now: Duration, target: usize, with_local: bool) {
        if self.detector.probing(target) {
            return;
        }
        let seq = self.detector.next_seq();
        let known = self.members.known();
        // A push-pull waiting rides on the ping if the target can answer it (AVAILABLE, on
        // the native wire): anti-entropy costs no datagrams of its own.
        let rides = self.sync.push_pull_pending()
            && StatusSet::AVAILABLE.contains(self.members.status(target))
            && self.members.wire_of(target) == PeerWire::Native;
        let ping = if rides {
            self.sync.take_push_pull();
            self.sync.window_sent();
            let records = self.window(now);
            Message::Ping {
                seq,
                known,
                window: Some(records),
            }
        } else {
            Message::ping(seq, known)
        };
        self.send(target, ping, with_local);
        self.out.tally().probe_started(seq, now);
        self.detector.start(target, seq, now);
    }

    /// Moves every probe in flight on: indirect rounds when due, verdicts when time is up.
    fn advance_probes(&mut self, now: Duration) {
        let mut i = 0;
        while i < self.detector.probe_count() {
            match self.detector.probe_step(i, now) {
                ProbeStep::Wait => i += 1,
                ProbeStep::Round => {
                    let owing = self.indirect_round(i);
                    self.detector.round_sent(i, now, owing);
                    i += 1;
                }
                ProbeStep::Expired if self.detector.second_chance(i) => {
                    let owing = self.indirect_round(i);
                    self.detector.second_round_sent(i, now, owing);
                    i += 1;
                }
                ProbeStep::Expired => self.probe_failed(i, now),
            }
        }
    }

    /// One indirect round of probe `i`: a direct ping again (and, speaking both wires, in
    /// the other one too) and ping-reqs through `ping_req_count` helpers. An OFFLINE member
    /// cannot be made more offline: it only gets the ping. Returns the helpers that owe a
    /// nack.
    fn indirect_round(&mut self, i: usize) -> Vec<(usize, bool)> {
        let (target, seq) = self.detector.probe_target(i);
        let ping = Message::ping(seq, self.members.known());
        self.send(target, ping.clone(), false);
        if self.members.per_member() {
            // A member restarted with the other format would otherwise be sent a format it
            // drops until it happens to send us a packet, and be suspected meanwhile.
            let other = self.members.wire_of(target).other();
            self.send_on(target, other, ping, false);
        }
        if self.members.status(target) == Status::Offline {
            return Vec::new();
        }
        let helpers = self.probe_helpers(self.config.ping_req_count, target);
        let name = self.members.name(target).clone();
        for &helper in &helpers {
            let message = Message::PingReq {
                seq,
                target: name.clone(),
            };
            self.send(helper, message, false);
        }
        (helpers.into_iter())
            .filter(|&h| self.nacks_with(h))
            .map(|h| (h, false))
            .collect()
    }

    /// Up to `count` available members other than `target` to relay a probe of it: with
    /// Lifeguard recent responders first (in random order), then random available members.
    fn probe_helpers(&mut self, count: usize, target: usize) -> Vec<usize> {
        if !self.config.lifeguard {
            return self.pick(count, StatusSet::AVAILABLE, &[target]);
        }
        let members = &self.members;
        let mut chosen: Vec<usize> = (self.detector.recent_responders())
            .filter(|&i| {
                i != target
                    && i != LOCAL
                    && i < members.len()
                    && StatusSet::AVAILABLE.contains(members.status(i))
            })
            .collect();
        rand::seq::SliceRandom::shuffle(&mut chosen[..], &mut self.rng);
        chosen.truncate(count);
        if chosen.len() < count {
            let mut exclude = chosen.clone();
            exclude.push(target);
            let more = self.pick(count - chosen.len(), StatusSet::AVAILABLE, &exclude);
            chosen.extend(more);
        }
        chosen
    }

    /// Probe `i` ran out without an answer: local health, then the verdict.
    fn probe_failed(&mut self, i: usize, now: Duration) {
        let (target, _) = self.detector.probe_target(i);
        let status = self.members.status(target);
        self.detector.probe_failed(i, status == Status::Offline);
        self.out.tally().counters.probes_failed += 1;
        if status == Status::Offline {
            return; // no answer was expected: nothing to learn, nothing to suspect
        }
        if self.members.verdict(target, Status::Suspect, now) {
            self.out.tally().counters.suspicions_raised += 1;
            self.follow_suspicion(target, now, Some(LOCAL));
            self.changed(target);
        } else if status == Status::Suspect {
            // Already suspect: our own failure confirms it (Lifeguard).
            self.confirm_suspicion(target, LOCAL, now);
        } else {
            return;
        }
        // Tell the suspect at once (the packet carries its record), so that a live member
        // refutes before the suspicion spreads far.
        self.send(target, Message::GossipOnly, false);
    }

    // ---- synchronisation ----

    /// Whether a full sync is due (see [`Sync::wants_join`]).
    fn wants_join(&self) -> bool {
        self.sync
            .wants_join(self.timers.at(Timer::Join) != Duration::MAX)
    }

    /// A full sync answered: we have joined (the first time, announce ourselves: our record
    /// fanned out first-hand), and a follow-up with a random member is planned if it taught
    /// us anything.
    fn joined_with(&mut self, now: Duration, learned: bool) {
        let (first, again) = self.sync.joined_with(learned);
        if first {
            let owed = self.gossip.before_join_news();
            self.gossip.push(LOCAL);
            self.gossip.after_join_news(owed, true);
        }
        let next = if again {
            now + self.config.ping_interval
        } else {
            Duration::MAX
        };
        self.timers.set(Timer::Join, next);
    }

    /// Asks for the whole member list: at first from every configured peer, later from one
    /// (a random peer until joined, a random available member for follow-ups).
    fn send_join(&mut self, now: Duration) {
        let own = self.record(LOCAL);
        let targets: Vec<usize> = match self.sync.next_join() {
            JoinRequest::FollowUp { first } => {
                // The configured peers saw every joiner's request: ask one first.
                let peer = first.then(|| self.random_peer(now)).flatten();
                peer.or_else(|| self.pick_one(StatusSet::AVAILABLE, None))
                    .into_iter()
                    .collect()
            }
            JoinRequest::AllPeers => {
                // A peer may have been forgotten (reaped): it comes back as a placeholder.
                let peers = self.sync.peers().to_vec();
                peers.iter().map(|p| self.member_index(p, now)).collect()
            }
            JoinRequest::Retry => {
                // Any member we heard of, so that joiners spread over the cluster.
                (self.pick_one(StatusSet::AVAILABLE, None))
                    .or_else(|| self.random_peer(now))
                    .into_iter()
                    .collect()
            }
        };
        for target in targets {
            let message = Message::Sync {
                reply: false,
                full: true,
                records: vec![own.clone()],
            };
            self.send(target, message, false);
        }
        // Retry if the answer is lost; an answer reschedules. Jittered: members started
        // together must not retry together.
        let jitter = 0.5 + self.rng.random::<f64>();
        let next = now + (self.config.ping_interval * 2).mul_f64(jitter);
        self.timers.set(Timer::Join, next);
    }

    fn random_peer(&mut self, now: Duration) -> Option<usize> {
        if self.sync.peers().is_empty() {
            return None;
        }
        let pick = self.rng.random_range(0..self.sync.peers().len());
        let name = self.sync.peers()[pick].clone();
        Some(self.member_index(&name, now))
    }

    /// `sender` knows more members than we do: ask it for its whole list (see
    /// [`Sync::catch_up_sent`]). A request that was not sent (`sender` is not in good
    /// standing and the request is larger than its packet: it is challenged instead) spends
    /// nothing, so the next member that knows more is asked.
    fn catch_up(&mut self, now: Duration, sender: usize, their_known: u32) {
        if !self
            .sync
            .should_catch_up(now, their_known, self.members.known())
        {
            return;
        }
        let records = vec![self.record(LOCAL)];
        let message = Message::Sync {
            reply: false,
            full: true,
            records,
        };
        if self.send(sender, message, false) {
            self.sync.catch_up_sent(now);
        }
    }

    /// A record about `name` from `sender` carried a metadata delta we could not apply:
    /// push our record of the member to `sender` (its answer holds its newer one, with the
    /// whole map), unless asked lately (see `machine/sync/repair.rs`).
    fn repair(&mut self, now: Duration, sender: usize, name: &MemberName) {
        if !self.sync.ask_repair(now, name) {
            return;
        }
        // Without its map (the answer is decided by clock and status), and for a member we
        // do not know, clock 0 (every record is newer).
        let ours = self.members.get(name).map(|index| Update {
            metadata: None,
            ..self.record(index)
        });
        let record = ours.unwrap_or_else(|| Update {
            name: name.clone(),
            clock: 0,
            status: Status::Online,
            metadata: None,
            accuser: None,
            left: false,
            delta: None,
        });
        let message = Message::Sync {
            reply: false,
            full: false,
            records: vec![record],
        };
        self.send(sender, message, false);
    }

    /// A window of our records for push-pull.
    /// Its records go as gossip does: with their latest metadata change instead of a map
    /// that is larger (a receiver that cannot apply it asks for the map; a Python peer
    /// gets whole maps, see [`Swim::send_on`]).
    fn window(&mut self, now: Duration) -> Vec<Update> {
        let (members, suspicions) = (&self.members, &self.suspicions);
        self.sync.window(members, now, |i| {
            members.gossip_record(i, suspicions.accuser(i))
        })
    }

    /// A push-pull that found no probe to ride on: a window in a `Sync` request to a random
    /// AVAILABLE member (none: nobody to sync with).
    fn push_pull_alone(&mut self, now: Duration) {
        if let Some(target) = self.pick_one(StatusSet::AVAILABLE, None) {
            let records = self.window(now);
            let message = Message::Sync {
                reply: false,
                full: false,
                records,
            };
            self.sync.window_sent();
            self.send(target, message, false);
        }
    }

    /// Applies the records `sender` pushed (re-gossiping what is news) and returns our newer
    /// versions of them, then (unless `full`) a window of ours: a push-pull's answer.
    fn answer_push(
        &mut self,
        now: Duration,
        sender: usize,
        records: Vec<Update>,
        correct: &mut bool,
    ) -> Vec<(MemberName, u64, Status)> {
        let pushed = records
            .iter()
            .map(|r| (r.name.clone(), r.clock, r.status))
            .collect();
        for record in records {
            *correct |= self.apply_from(now, sender, record, true);
        }
        pushed
    }

    /// Our newer versions of `pushed` records, then a window of our own.
    /// A newer record goes with its latest metadata change instead of its map when the
    /// change was made to the map of the pushed clock or an older one (the pusher holds it).
    fn pull(&mut self, now: Duration, pushed: &[(MemberName, u64, Status)]) -> Vec<Update> {
        let mut records: Vec<Update> = (pushed.iter())
            .filter_map(|(name, clock, status)| {
                let index = self.members.newer_than(name, *clock, *status)?;
                let applies = (self.members.gossip_delta(index)).is_some_and(|d| d.base <= *clock);
                Some(self.gossip_record(index, applies))
            })
            .collect();
        records.extend(self.window(now));
        records
    }

    /// A window pushed by `sender` on its ping: what the ack carries back.
    fn answer_window(
        &mut self,
        now: Duration,
        sender: usize,
        records: Vec<Update>,
        correct: &mut bool,
    ) -> Vec<Update> {
        let pushed = self.answer_push(now, sender, records, correct);
        self.pull(now, &pushed)
    }

    /// A sync request from `sender` (a full one only in good standing, see the caller):
    /// everything (full, within the full-sync budget), or ours where newer than what was
    /// pushed plus a window of our own. A full request over budget gets a window in a
    /// partial reply (one datagram), which sends the asker elsewhere.
    fn sync_requested(
        &mut self,
        now: Duration,
        sender: usize,
        full: bool,
        good: bool,
        records: Vec<Update>,
        correct: &mut bool,
    ) {
        let pushed = self.answer_push(now, sender, records, correct);
        let full = full && self.sync.take_full_answer(now);
        let records = if full {
            self.full_list()
        } else {
            self.pull(now, &pushed)
        };
        let mut message = Message::Sync {
            reply: true,
            full,
            records,
        };
        if !good {
            // A push-pull answer in the room of its request.
            self.fit_answer(&mut message);
        }
        self.send(sender, message, *correct);
    }

    /// A sync reply from `sender`. A full reply is state transfer, not news: re-gossiping
    /// a whole member list to every joiner would flood the cluster when many join at once.
    fn sync_reply_arrived(
        &mut self,
        now: Duration,
        sender: usize,
        full: bool,
        records: Vec<Update>,
        correct: &mut bool,
    ) {
        let changes = self.out.events_queued();
        let known = self.members.known();
        for record in records {
            *correct |= self.apply_from(now, sender, record, !full);
        }
        if full {
            let taught_members = self.members.known() > known;
            self.sync.full_list_arrived(now, taught_members);
            let learned = self.out.events_queued() > changes;
            self.joined_with(now, learned);
        } else if self.sync.joined() {
            self.sync.window_answered();
        } else {
            // A partial answer while we wait to join (the member asked was over its
            // budget): ask a member it named, at once.
            self.timers.set(Timer::Join, now);
        }
    }

    /// Answers the ping `seq` of `sender` (a source in `good` standing or not; `correct`:
    /// it holds older news about us), with the push-pull `answer` to its window on the ack
    /// if it carried one.
    fn ack_probe(
        &mut self,
        sender: usize,
        seq: u32,
        answer: Option<Vec<Update>>,
        good: bool,
        correct: bool,
    ) {
        let alive = self.members.source();
        let known = self.members.known();
        let mut ack = Message::Ack {
            seq,
            alive,
            known,
            window: answer,
        };
        if good {
            self.send(sender, ack, correct);
        } else {
            // Probes must be answered, whoever sends them: a bare ack (with what fits of a
            // push-pull answer in the room of the ping).
            self.fit_answer(&mut ack);
            self.send_bare_ack(sender, ack, correct);
        }
    }

    // ---- standing (see `machine/standing.rs`) ----

    /// An ack from `sender` with `seq`: if it answers a probe or a challenge of ours sent to
    /// it, its process can receive at its address. Called before the probes are completed.
    fn confirm_by_ack(&mut self, sender: usize, seq: u32) {
        let probed = self.detector.is_probe_of(sender, seq);
        if probed || self.standing.answers_challenge(sender, seq) {
            self.members.confirm_reach(sender);
            self.standing.clear(sender);
        }
    }

    /// Cuts the records a sync answer (or an ack's push-pull answer) carries until it fits
    /// the room of its request.
    fn fit_answer(&self, message: &mut Message) {
        let Some(left) = self.standing.left() else {
            return;
        };
        let mut packet = Packet {
            app: Default::default(),
            source: self.members.source(),
            message: std::mem::replace(message, Message::GossipOnly),
            gossip: Vec::new(),
        };
        while crate::wire::encoded_len(&packet) > left {
            match &mut packet.message {
                Message::Sync { records, .. }
                | Message::Ack {
                    window: Some(records),
                    ..
                } if !records.is_empty() => {
                    records.pop();
                }
                _ => break,
            }
        }
        // An ack whose answer was cut to nothing is a plain ack.
        if packet.message.records().is_empty() && matches!(packet.message, Message::Ack { .. }) {
            packet.message.take_window();
        }
        *message = packet.message;
    }

    /// Sends the limited source a challenge, if it fits in what is left and none is in
    /// flight: a bare ping with a random sequence number, whose ack confirms it.
    fn challenge(&mut self, now: Duration) {
        let Some((to, left)) = self.standing.challenge_target() else {
            return;
        };
        if !self
            .standing
            .may_challenge(to, now, self.config.ping_timeout)
        {
            return;
        }
        // Unguessable (one in 2^28), and four bytes long as a varint, so that it fits
        // after the smallest request that can call for it (a ping-req).
        let seq = self.rng.random_range(CHALLENGE_SEQS);
        let packet = Packet {
            app: Default::default(),
            source: self.members.source(),
            message: Message::ping(seq, self.members.known()),
            gossip: Vec::new(),
        };
        let len = crate::wire::encoded_len(&packet);
        if len > left {
            return;
        }
        self.standing.sent(to, len);
        self.standing.challenged(to, seq, now);
        let wire = self.members.wire_of(to);
        self.transmit(to, wire, packet);
    }

    /// The one answer sent to a stranger even if larger than its request: the ack to a
    /// ping, without gossip (a probe unanswered would make a live member suspect). If the
    /// stranger holds older news about us (`correct`), our record goes with it when it fits
    /// in what is left of the request's size (when it does not, `handle_packet_on` probes
    /// the stranger with our record instead: see [`Swim::correct_stranger`]).
    fn send_bare_ack(&mut self, to: usize, ack: Message, correct: bool) {
        let mut packet = Packet {
            app: Default::default(),
            source: self.members.source(),
            message: ack,
            gossip: Vec::new(),
        };
        if correct {
            let record = self.record(LOCAL);
            let bare = crate::wire::encoded_len(&packet);
            match self.standing.room(to, bare) {
                // The gossip count prefix may take a byte more than the record.
                Room::Gossip(left) if crate::wire::update_len(&record) < left => {
                    packet.gossip.push(record);
                }
                Room::Unlimited => packet.gossip.push(record),
                Room::Gossip(_) | Room::Nothing => {}
            }
        }
        self.standing.sent(to, crate::wire::encoded_len(&packet));
        let wire = self.members.wire_of(to);
        self.transmit(to, wire, packet);
    }

    /// The whole list owed to `sender`, now confirmed, if it asked for one.
    fn pay_owed_full(&mut self, now: Duration, sender: usize) {
        if self.members.take_owed_full(sender) {
            let full = self.sync.take_full_answer(now);
            let records = if full {
                self.full_list()
            } else {
                self.pull(now, &[])
            };
            let reply = Message::Sync {
                reply: true,
                full,
                records,
            };
            self.send(sender, reply, false);
        }
    }

    // ---- the application's messages (see `machine/messaging/`) ----

    /// Refuses an application message that breaks a limit, or any while leaving.
    fn check_app(&self, name: &str, len: usize) -> Result<(), AppError> {
        if self.leaving.is_some() {
            return Err(AppError::Leaving);
        }
        check_app_name(name)?;
        let max = self.messaging.config().max_payload;
        if len > max {
            return Err(AppError::PayloadTooLarge { len, max });
        }
        if !self.messaging.has_room() {
            return Err(AppError::Busy);
        }
        Ok(())
    }

    /// The app section of a packet from `sender`: taken only from a listed member on the
    /// native wire (`trusted`); a push-pull's digest is answered with what the sender has
    /// not seen.
    fn receive_app(&mut self, now: Duration, sender: usize, trusted: bool, app: AppSection) {
        if app.is_empty() {
            return;
        }
        if !trusted {
            self.out.tally().counters.app_dropped += app.messages.len() as u64;
            return;
        }
        let from = self.members.name(sender).clone();
        for message in app.messages {
            self.app_arrived(now, &from, message);
        }
        if !app.digest.is_empty() {
            let missing = self.messaging.missing_for(&app.digest);
            if !missing.is_empty() {
                let packet = Packet {
                    source: self.members.source(),
                    message: Message::GossipOnly,
                    gossip: Vec::new(),
                    app: AppSection {
                        messages: missing,
                        digest: Vec::new(),
                    },
                };
                self.transmit(sender, PeerWire::Native, packet);
            }
        }
    }

    /// One application message from the network, passed on by `sender`.
    fn app_arrived(&mut self, now: Duration, sender: &MemberName, message: AppMessage) {
        if self.members.is_local(&message.origin.name) {
            return;
        }
        if check_app_name(message.name()).is_err() {
            self.out.tally().counters.app_dropped += 1;
            return;
        }
        let (arrival, queued) = self.messaging.receive(now, sender, &message);
        let counters = &mut self.out.tally().counters;
        if !queued {
            counters.app_dropped += 1;
        }
        match arrival {
            Arrival::Duplicate => counters.app_duplicates += 1,
            Arrival::OverBudget => self.over_budget(),
            Arrival::Superseded => {}
            Arrival::New => self.deliver(now, message),
        }
    }

    /// Counts an application message dropped for its source's budget.
    fn over_budget(&mut self) {
        let counters = &mut self.out.tally().counters;
        counters.app_dropped += 1;
        counters.app_over_budget += 1;
    }

    /// Hands a new message to the local application: an event always, a query if its
    /// filter selects us and the answer rate allows (acknowledged at once if asked).
    fn deliver(&mut self, now: Duration, message: AppMessage) {
        let id = message.id();
        match message.body {
            AppBody::Event { name, payload, .. } => {
                self.out.tally().counters.app_delivered += 1;
                self.out.event(Event::UserEvent { id, name, payload });
            }
            AppBody::Query {
                name,
                payload,
                filter,
                timeout,
                ack,
                relay,
            } => {
                let local = self.members.entry(LOCAL);
                let metadata = local.metadata().clone().unwrap_or_default();
                if !filter.selects(local.name(), &metadata) {
                    return;
                }
                if !self.messaging.may_answer(now) {
                    self.out.tally().counters.app_dropped += 1;
                    return;
                }
                let querier = id.origin.name.clone();
                let answer = Messaging::answerable(querier.clone(), relay, now + timeout);
                self.messaging.expect_answer(id.clone(), answer);
                if ack {
                    self.reply_to_query(querier, id.seq, ReplyKind::Ack, relay);
                }
                self.out.tally().counters.app_delivered += 1;
                self.out.event(Event::Query {
                    id,
                    name,
                    payload,
                    timeout,
                });
            }
        }
    }

    /// Sends `reply` to our query `seq`'s asker `querier` (ourselves: at once), and through
    /// `relay` random members.
    fn reply_to_query(&mut self, querier: MemberName, seq: u64, reply: ReplyKind, relay: u8) {
        let responder = self.members.name(LOCAL).clone();
        if self.members.is_local(&querier) {
            self.our_query_answered(seq, responder, reply);
            return;
        }
        let Some(to) = self.members.get(&querier) else {
            return;
        };
        let message = Message::QueryReply {
            querier,
            seq,
            responder,
            reply,
        };
        for helper in self.pick(usize::from(relay), StatusSet::AVAILABLE, &[to]) {
            if self.members.wire_of(helper) == PeerWire::Native {
                self.send(helper, message.clone(), false);
            }
        }
        self.send(to, message, false);
    }

    /// An answer to our query `seq`: reported once per responder and kind.
    fn our_query_answered(&mut self, seq: u64, from: MemberName, reply: ReplyKind) {
        if self.messaging.answer_arrived(seq, &from, &reply) {
            self.out.event(Event::QueryReply { seq, from, reply });
        }
    }

    /// A query reply, a direct message or its acknowledgement from `sender` (a listed
    /// member, on the native wire); a reply to relay and a direct message within the
    /// sender's budget.
    fn app_message_arrived(&mut self, now: Duration, sender: usize, message: Message) {
        let from = self.members.name(sender).clone();
        let within = match &message {
            Message::QueryReply { querier, .. } if !self.members.is_local(querier) => {
                self.messaging.take_relay(&from, now)
            }
            Message::Direct { .. } => self.messaging.take_direct(&from, now),
            _ => true,
        };
        if !within {
            self.over_budget();
            return;
        }
        match message {
            Message::QueryReply {
                querier,
                seq,
                responder,
                reply,
            } => {
                if self.members.is_local(&querier) {
                    self.our_query_answered(seq, responder, reply);
                } else if let Some(to) = self.members.get(&querier) {
                    // A relay: forwarded once, straight to the asker.
                    let message = Message::QueryReply {
                        querier,
                        seq,
                        responder,
                        reply,
                    };
                    self.send(to, message, false);
                }
            }
            Message::Direct { id, payload } => {
                self.out.tally().counters.app_delivered += 1;
                self.out.event(Event::Direct { from, payload });
                if id != 0 {
                    self.send(sender, Message::DirectAck { id }, false);
                }
            }
            Message::DirectAck { id } if self.messaging.direct_acked(id) => {
                self.out.event(Event::DirectAcked { id });
            }
            _ => {}
        }
    }

    /// Piggybacks queued application messages on `packet` within their share of the room
    /// left after the membership records (a gossip-only packet carries one larger message
    /// alone); a push-pull exchange carries our digest.
    fn piggyback_app(&mut self, packet: &mut Packet, bare: usize, limit: u32) {
        if matches!(
            packet.message,
            Message::Ping {
                window: Some(_),
                ..
            } | Message::Ack {
                window: Some(_),
                ..
            }
        ) {
            packet.app.digest = self.messaging.digest();
        }
        if !self.messaging.has_pending() {
            return;
        }
        let used = crate::wire::encoded_len(packet) - bare;
        let left = self.config.piggyback_budget.saturating_sub(used);
        // A gossip-only packet is sent for dissemination: the room the records left is
        // the messages'. Others give them a bounded share.
        let alone = matches!(packet.message, Message::GossipOnly);
        let mut room = if alone {
            left
        } else {
            left.min(self.messaging.config().packet_share)
        };
        let mut taken = 0;
        packet.app.messages = self.messaging.take(limit, |len| {
            if len <= room || (alone && taken == 0) {
                room = room.saturating_sub(len);
                taken += 1;
                true
            } else {
                false
            }
        });
    }

    /// Whether fresh application messages wait for an eager fanout.
    fn app_fanout_pending(&self) -> bool {
        self.config.fanout > 0 && self.messaging.is_fresh()
    }

    // ---- leave ----

    /// One round of the leave: pings carrying it (our record first, whatever its send
    /// count) to [`leave::round_width`] available members.
    fn leave_round(&mut self, now: Duration) {
        let width = leave::round_width(self.gossip.wide_width(self.members.len()));
        let targets = self.pick(width, StatusSet::AVAILABLE, &[]);
        let known = self.members.known();
        let mut seqs = Vec::with_capacity(targets.len());
        for &target in &targets {
            let seq = self.detector.next_seq();
            seqs.push(seq);
            self.send(target, Message::ping(seq, known), true);
        }
        if let Some(leaving) = self.leaving.as_mut() {
            leaving.round_sent(now, seqs, self.config.ping_timeout);
        }
    }

    // ---- reaping (see "Reaping" in `docs/PROTOCOL.md`) ----

    /// Forgets the members OFFLINE for `offline_retention` and drops expired tombstones.
    /// A scan of the table costs O(n), so it runs when the first member OFFLINE at the last
    /// scan (or the first tombstone) expires, at most once per `ping_interval`.
    fn reap(&mut self, now: Duration) {
        self.members.expire_tombstones(now);
        let retention = self.config.offline_retention;
        let mut next = now.saturating_add(retention);
        let mut from = LOCAL + 1;
        while let Some(index) = self.members.next_expired(from, now, retention, &mut next) {
            // The last entry moves into `index`: look at it next.
            self.forget(index, now);
            from = index;
        }
        if let Some(expiry) = self.members.next_tombstone_expiry() {
            next = next.min(expiry);
        }
        let next = next.max(now + self.config.ping_interval);
        self.timers.set(Timer::Reap, next);
    }

    /// Removes member `index` from the table and from every part that names it by index,
    /// buries it, and reports it forgotten. The table moves its last entry into the freed
    /// slot: every part renumbers it.
    fn forget(&mut self, index: usize, now: Duration) {
        self.detector.forget(index);
        self.suspicions.forget(index);
        self.gossip.forget(index);
        self.standing.clear(index);
        let expires = now.saturating_add(self.config.offline_retention);
        let (member, moved) = self.members.remove(index, expires);
        if let Some(from) = moved {
            self.detector.renumber(from, index);
            self.suspicions.renumber(from, index);
            self.gossip.renumber(from, index);
            self.standing.renumber(from, index);
        }
        self.sync.table_shrank(self.members.len());
        self.out.event(Event::MemberForgotten(member));
    }
}
