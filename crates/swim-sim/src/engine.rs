//! The discrete-event engine: runs many [`Swim`] members in virtual time over a simulated
//! network. Everything random comes from seeded generators, so a run is reproducible.

use std::cmp::Ordering;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use swim_core::wire::{NativeWire, WireFormat};
use swim_core::{
    AppError, AppId, Event, MemberChange, MemberName, MemberSnapshot, Metadata, Packet,
    ProtocolConfig, QueryRequest, Swim,
};

use crate::host::{Cpu, HostCpu};
use crate::intern::Interner;
pub use crate::names::{member_index, member_name};
use crate::network::{NetworkConfig, Partition, TcpSender};
use crate::workload::Workload;

/// Receives every membership event of every member as it happens.
pub trait Observer {
    /// Member `observer` reported `change` at virtual time `now`.
    fn on_change(&mut self, now: Duration, observer: usize, change: &MemberChange);

    /// Member `observer` forgot `member` (OFFLINE for `offline_retention`) at `now`.
    fn on_forgotten(&mut self, _now: Duration, _observer: usize, _member: &MemberSnapshot) {}

    /// Member `observer` handed its application one of the application's messages (a user
    /// event, a query, a reply to its query, a direct message...) at `now`.
    fn on_app(&mut self, _now: Duration, _observer: usize, _event: &Event) {}
}

/// Traffic sent by one member.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Packets sent.
    pub packets: u64,
    /// Bytes sent: the payloads exactly as the wire format (and signing, if any) made them.
    pub bytes: u64,
    /// Payloads received that the wire format rejected (zero unless the codec is broken).
    pub rejected: u64,
    /// Payloads above the MTU sent over TCP.
    pub tcp_sent: u64,
    /// TCP sends dropped because too many were in flight.
    pub tcp_dropped: u64,
}

enum Scheduled {
    /// A payload reaches `to`; `late` once a slow member's delay (or the shared host's queue)
    /// was added.
    Deliver {
        to: usize,
        payload: Payload,
        late: bool,
    },
    Wake {
        node: usize,
    },
    /// The workload publishes its next user event.
    Publish,
    /// The workload asks its next query.
    Query,
}

/// A scheduled item in the queue, ordered by time, then by scheduling order (`id`), so
/// that equal times run in a deterministic order.
struct Queued {
    at: Duration,
    id: u64,
    item: Scheduled,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.id) == (other.at, other.id)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.id).cmp(&(other.at, other.id))
    }
}

/// A member's pending wake-up: the deadline it asked for, and when it fires (later for a
/// slow member).
#[derive(Debug, Clone, Copy)]
struct Wake {
    deadline: Duration,
    fires: Duration,
}

/// What travels: the bytes the wire format made, or (direct delivery) the packet itself.
#[derive(Clone)]
enum Payload {
    Bytes(Vec<u8>),
    Packet(Box<Packet>),
}

struct Node {
    name: MemberName,
    swim: Option<Swim<StdRng>>,
    wake: Option<Wake>,
    /// A slow member handles every packet and timer this late, jittered ±50%.
    slow: Option<Duration>,
    incarnation: u64,
    traffic: Traffic,
    tcp: TcpSender,
    /// How fast this member's clock runs against virtual time (1.0: exactly; 1.05: 5% fast,
    /// its timers fire early). The member is given its own clock's readings.
    rate: f64,
}

/// A simulated cluster.
pub struct Simulation {
    now: Duration,
    seed: u64,
    /// Every scheduled item, earliest first (the items live in the heap: no side map).
    queue: BinaryHeap<Reverse<Queued>>,
    next_id: u64,
    nodes: Vec<Node>,
    by_name: HashMap<MemberName, usize>,
    net_rng: StdRng,
    /// Network behaviour; may be changed between steps.
    pub network: NetworkConfig,
    /// Partitions; may be changed between steps.
    pub partition: Partition,
    protocol: ProtocolConfig,
    wire: Box<dyn WireFormat>,
    /// One shared copy of each name and metadata for every member (see `intern`).
    interner: Interner,
    /// Packets are handed over as sent, not encoded and decoded (see `with_direct_delivery`).
    direct: bool,
    /// The application's messages published, if any (see `with_workload`), with a
    /// generator of its own so that runs without one draw exactly as before.
    workload: Option<(Workload, Duration, StdRng)>,
    /// One host's CPU shared by every member, if modelled (see `with_host_cpu`).
    cpu: Option<Cpu>,
}

impl Simulation {
    /// Advances in small steps until `done` holds or `deadline`; returns the time it held.
    pub(crate) fn run_while<O: Observer>(
        &mut self,
        tracker: &mut O,
        deadline: Duration,
        done: impl Fn(&O) -> bool,
    ) -> Option<Duration> {
        let step = Duration::from_millis(10);
        while self.now() < deadline {
            if done(tracker) {
                return Some(self.now());
            }
            let next = (self.now() + step).min(deadline);
            self.run_until(next, tracker);
        }
        done(tracker).then(|| self.now())
    }

    /// Creates `members` members, not yet started. Their full-sync requests are not
    /// rate-limited ([`FullSyncLimits::with_unlimited_requests`](swim_core::FullSyncLimits)):
    /// the simulator's figures predate those rates' move from the runtime's admission into
    /// the core and stay comparable by seed; the lists sent per period are limited as
    /// configured.
    pub fn new(
        members: usize,
        seed: u64,
        network: NetworkConfig,
        mut protocol: ProtocolConfig,
    ) -> Self {
        protocol.full_sync = protocol.full_sync.with_unlimited_requests();
        let nodes: Vec<Node> = (0..members)
            .map(|i| Node {
                name: member_name(i),
                swim: None,
                wake: None,
                slow: None,
                incarnation: 0,
                traffic: Traffic::default(),
                tcp: TcpSender::default(),
                rate: 1.0,
            })
            .collect();
        let by_name = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let mut interner = Interner::default();
        for node in &nodes {
            interner.name(&mut node.name.clone());
        }
        Simulation {
            now: Duration::ZERO,
            seed,
            queue: BinaryHeap::new(),
            next_id: 0,
            nodes,
            by_name,
            net_rng: StdRng::seed_from_u64(seed ^ 0x5eed_f00d),
            network,
            partition: Partition::default(),
            protocol,
            wire: Box::new(NativeWire),
            interner,
            direct: false,
            cpu: None,
            workload: None,
        }
    }

    /// Publishes `workload` from `from` on (see [`Workload`]).
    pub fn with_workload(&mut self, workload: Workload, from: Duration) {
        let rng = StdRng::seed_from_u64(self.seed ^ 0xe7e7_5eed);
        if workload.query_every.is_some() {
            self.schedule(from, Scheduled::Query);
        }
        if workload.events_per_s > 0.0 {
            self.schedule(from, Scheduled::Publish);
        }
        self.workload = Some((workload, from, rng));
    }

    /// A random member that may publish (running and not leaving), if any.
    fn publisher(&mut self) -> Option<usize> {
        let (_, _, rng) = self.workload.as_mut()?;
        let n = self.nodes.len();
        let start = rng.random_range(0..n);
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.nodes[i].swim.as_ref().is_some_and(|s| !s.has_left()))
    }

    /// The workload's next event or query, and when the one after is due.
    fn run_workload(&mut self, query: bool, obs: &mut impl Observer) {
        let Some((workload, from)) =
            (self.workload.as_ref()).map(|(w, from, _)| (w.clone(), *from))
        else {
            return;
        };
        if self.now >= from + workload.length {
            return;
        }
        if let Some(i) = self.publisher() {
            let now = self.local_time(i, self.now);
            let payload: Arc<[u8]> = vec![0x5a; workload.event_size].into();
            if let Some(swim) = self.nodes[i].swim.as_mut() {
                let result = if query {
                    let request = QueryRequest {
                        name: "sim-query".to_owned(),
                        payload: payload.clone(),
                        filter: Default::default(),
                        timeout: None,
                        ack: false,
                        relay: 0,
                    };
                    swim.query(now, request).map(|_| ())
                } else {
                    swim.publish(now, "sim-event", payload, false).map(|_| ())
                };
                if result.is_ok() {
                    self.after_input(i, obs);
                }
            }
        }
        let Some((_, _, rng)) = self.workload.as_mut() else {
            return;
        };
        let next = if query {
            workload.query_every.unwrap_or(Duration::MAX)
        } else {
            // Exponential gaps: a Poisson process of the given rate.
            let u: f64 = rng.random_range(f64::EPSILON..1.0);
            Duration::from_secs_f64(-u.ln() / workload.events_per_s)
        };
        let at = self.now.saturating_add(next);
        self.schedule(
            at,
            if query {
                Scheduled::Query
            } else {
                Scheduled::Publish
            },
        );
    }

    /// Runs every member on one shared host (see [`HostCpu`]): each packet waits for the
    /// CPU, costs it, and a datagram is dropped when its member's socket buffer is full. A slow member's own delay
    /// (`set_slow`) does not apply on top.
    #[must_use]
    pub fn with_host_cpu(mut self, host: HostCpu) -> Self {
        self.cpu = Some(Cpu::new(host));
        self
    }

    /// Queues `cost` of work on the shared host at the current time (e.g. starting a
    /// process); returns when it is done (now, without a host model).
    pub fn host_work(&mut self, cost: Duration) -> Duration {
        let now = self.now;
        match self.cpu.as_mut() {
            Some(cpu) => cpu.run(now, cost),
            None => now,
        }
    }

    /// The host model's start cost of a member (zero without a host model).
    pub fn host_start_cost(&self) -> Duration {
        self.cpu.as_ref().map_or(Duration::ZERO, |c| c.config.start)
    }

    /// Datagrams dropped so far because a member's socket buffer was full (shared host).
    pub fn host_dropped(&self) -> u64 {
        self.cpu.as_ref().map_or(0, |c| c.dropped)
    }

    /// Makes members talk through `wire` instead of the native format (e.g. a signing
    /// wrapper): every packet is encoded to bytes when sent and decoded when delivered.
    #[must_use]
    pub fn with_wire(mut self, wire: Box<dyn WireFormat>) -> Self {
        self.wire = wire;
        self
    }

    /// Hands each packet to its receiver as sent instead of encoding and decoding it, counting
    /// its bytes with the native format's exact `encoded_len` (so traffic figures, the MTU
    /// and TCP choice are unchanged). What the run decides is the same as with the native
    /// bytes, since decoding undoes encoding exactly (the core's round-trip property tests);
    /// it saves the codec's time and the decoded copies, which dominate large runs.
    #[must_use]
    pub fn with_direct_delivery(mut self) -> Self {
        self.direct = true;
        self.wire = Box::new(NativeWire);
        self
    }

    /// The current virtual time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The number of members (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no members at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether member `i` is running.
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].swim.is_some()
    }

    /// Member `i`'s state machine, if running.
    pub fn member(&self, i: usize) -> Option<&Swim<StdRng>> {
        self.nodes[i].swim.as_ref()
    }

    /// Traffic sent so far by member `i` (across restarts).
    pub fn traffic(&self, i: usize) -> Traffic {
        self.nodes[i].traffic
    }

    /// Starts (or restarts, as a new process under the same name) member `i`, knowing `peers`.
    pub fn start(
        &mut self,
        i: usize,
        metadata: Metadata,
        peers: &[usize],
        obs: &mut impl Observer,
    ) {
        let node = &mut self.nodes[i];
        node.incarnation += 1;
        let rng = StdRng::seed_from_u64(
            self.seed
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .wrapping_add((i as u64) << 20 | node.incarnation),
        );
        // The members' own names, so that every table shares them.
        let peers: Vec<MemberName> = peers
            .iter()
            .map(|&p| {
                self.nodes
                    .get(p)
                    .map_or_else(|| member_name(p), |n| n.name.clone())
            })
            .collect();
        let local_now = self.local_time(i, self.now);
        let members = self.nodes.len();
        let node = &mut self.nodes[i];
        let mut swim = Swim::new(
            self.protocol.clone(),
            node.name.clone(),
            self.interner.shared_metadata(metadata),
            peers,
            rng,
            local_now,
        )
        .expect("the simulation's protocol config is valid");
        // Every member comes to know every member: its tables are allocated once at that
        // size, not grown (growing copies them, and at 10,000 members the holes and slack
        // it leaves were a third of the run's memory).
        swim.reserve_members(members);
        node.swim = Some(swim);
        node.wake = None;
        self.after_input(i, obs);
    }

    /// Stops member `i` at once, as a crash: it sends and receives nothing more.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].swim = None;
        self.nodes[i].wake = None;
    }

    /// Makes member `i` slow (a CPU-starved or paused process): from now on it handles every
    /// packet it receives and every timer `delay` late, jittered uniformly by ±50%, and sends
    /// what it produces when it handles them. `None` makes it normal again.
    pub fn set_slow(&mut self, i: usize, delay: Option<Duration>) {
        self.nodes[i].slow = delay.filter(|d| !d.is_zero());
    }

    /// Makes member `i`'s clock run `rate` times as fast as virtual time (1.0: exact; must
    /// be positive): it reads its own clock, so its timers (probe periods, timeouts,
    /// suspicions) fire early (fast clock) or late (slow clock). Set before it starts.
    pub fn set_clock_rate(&mut self, i: usize, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            self.nodes[i].rate = rate;
        }
    }

    /// Member `i`'s clock at virtual time `t` (whole nanoseconds, rounded down).
    fn local_time(&self, i: usize, t: Duration) -> Duration {
        let rate = self.nodes[i].rate;
        if rate == 1.0 {
            return t;
        }
        Duration::from_nanos((t.as_nanos() as f64 * rate).floor() as u64)
    }

    /// The first virtual time at which member `i`'s clock reads `local` or later (rounded
    /// up, plus a nanosecond: the member must find its deadline passed when woken, or it
    /// would ask again for the same instant).
    fn global_time(&self, i: usize, local: Duration) -> Duration {
        let rate = self.nodes[i].rate;
        if rate == 1.0 || local == Duration::MAX {
            return local;
        }
        let nanos = (local.as_nanos() as f64 / rate).ceil() + 1.0;
        if nanos >= u64::MAX as f64 {
            Duration::MAX
        } else {
            Duration::from_nanos(nanos as u64)
        }
    }

    /// Whether member `i` is slow.
    pub fn is_slow(&self, i: usize) -> bool {
        self.nodes[i].slow.is_some()
    }

    /// How late slow member `i` handles its next input (zero for a normal member).
    fn lateness(&mut self, i: usize) -> Duration {
        match self.nodes[i].slow {
            Some(delay) => delay.mul_f64(0.5 + self.net_rng.random::<f64>()),
            None => Duration::ZERO,
        }
    }

    /// Makes member `i` leave the cluster gracefully (see `Swim::leave`). It goes on running
    /// (silent, but for its leave) until [`Simulation::crash`] stops it.
    pub fn leave(&mut self, i: usize, obs: &mut impl Observer) {
        let now = self.local_time(i, self.now);
        if let Some(swim) = self.nodes[i].swim.as_mut() {
            swim.leave(now);
            self.after_input(i, obs);
        }
    }

    /// Cuts the network into groups: `group_of[i]` is member `i`'s (a packet between two
    /// groups is lost).
    pub fn split(&mut self, group_of: Vec<u32>) {
        self.partition.split(group_of);
    }

    /// Ends any partition.
    pub fn heal(&mut self) {
        self.partition.heal();
    }

    /// Member `i` publishes a user event (see [`Swim::publish`]).
    pub fn publish(
        &mut self,
        i: usize,
        name: &str,
        payload: Arc<[u8]>,
        coalesce: bool,
        obs: &mut impl Observer,
    ) -> Result<AppId, AppError> {
        let now = self.local_time(i, self.now);
        let swim = self.nodes[i].swim.as_mut().ok_or(AppError::Leaving)?;
        let id = swim.publish(now, name, payload, coalesce)?;
        self.after_input(i, obs);
        Ok(id)
    }

    /// Member `i` asks a query; its replies reach the observer.
    pub fn query(
        &mut self,
        i: usize,
        request: QueryRequest,
        obs: &mut impl Observer,
    ) -> Result<u64, AppError> {
        let now = self.local_time(i, self.now);
        let swim = self.nodes[i].swim.as_mut().ok_or(AppError::Leaving)?;
        let seq = swim.query(now, request)?;
        self.after_input(i, obs);
        Ok(seq)
    }

    /// Changes member `i`'s metadata.
    pub fn set_metadata(&mut self, i: usize, metadata: Metadata, obs: &mut impl Observer) {
        let now = self.local_time(i, self.now);
        if let Some(swim) = self.nodes[i].swim.as_mut() {
            swim.set_local_metadata(now, self.interner.shared_metadata(metadata));
            self.after_input(i, obs);
        }
    }

    /// Runs every scheduled event up to and including `until`, then sets the clock to it
    /// (never back: a scenario that stepped past `until` stays where it is).
    pub fn run_until(&mut self, until: Duration, obs: &mut impl Observer) {
        while let Some(Reverse(next)) = self.queue.peek() {
            if next.at > until {
                break;
            }
            let Some(Reverse(Queued { at, item, .. })) = self.queue.pop() else {
                break;
            };
            self.now = at;
            match item {
                Scheduled::Deliver {
                    to,
                    payload,
                    late: false,
                } if self.cpu.is_some() => self.queue_on_host(to, payload),
                Scheduled::Deliver {
                    to,
                    payload,
                    late: false,
                } if self.nodes[to].slow.is_some() => {
                    let at = self.now + self.lateness(to);
                    let late = true;
                    self.schedule(at, Scheduled::Deliver { to, payload, late });
                }
                Scheduled::Deliver { to, payload, .. } => {
                    let now = self.local_time(to, self.now);
                    if let Some(cpu) = self.cpu.as_mut() {
                        cpu.handled(to, payload_len(&payload));
                    }
                    if self.nodes[to].swim.is_none() {
                        continue;
                    }
                    let packet = match payload {
                        Payload::Packet(packet) => *packet,
                        Payload::Bytes(bytes) => match self.wire.decode(&bytes) {
                            Ok(mut packet) => {
                                self.interner.packet(&mut packet);
                                packet
                            }
                            Err(_) => {
                                self.nodes[to].traffic.rejected += 1;
                                continue;
                            }
                        },
                    };
                    if let Some(swim) = self.nodes[to].swim.as_mut() {
                        swim.handle_packet(now, packet);
                        self.after_input(to, obs);
                    }
                }
                Scheduled::Publish => self.run_workload(false, obs),
                Scheduled::Query => self.run_workload(true, obs),
                Scheduled::Wake { node } => {
                    if self.nodes[node].wake.map(|w| w.fires) != Some(at) {
                        continue; // superseded by an earlier or later deadline
                    }
                    self.nodes[node].wake = None;
                    let now = self.local_time(node, self.now);
                    if let Some(swim) = self.nodes[node].swim.as_mut() {
                        swim.handle_timeout(now);
                        self.after_input(node, obs);
                    }
                }
            }
        }
        self.now = self.now.max(until);
    }

    fn schedule(&mut self, at: Duration, item: Scheduled) {
        // The id orders events of equal time by scheduling order, deterministically.
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push(Reverse(Queued { at, id, item }));
    }

    /// Drains what member `i` produced: packets onto the network, events to the observer,
    /// and its next deadline into the queue.
    fn after_input(&mut self, i: usize, obs: &mut impl Observer) {
        let now = self.now;
        let rate = self.nodes[i].rate;
        let Some(swim) = self.nodes[i].swim.as_mut() else {
            return;
        };
        let mut outgoing = Vec::new();
        while let Some(transmit) = swim.poll_transmit() {
            outgoing.push(transmit);
        }
        let mut changes = 0;
        let local = self.local_time(i, now);
        let Some(swim) = self.nodes[i].swim.as_mut() else {
            return;
        };
        while let Some(event) = swim.poll_event() {
            changes += 1;
            match event {
                Event::MemberChanged(change) => obs.on_change(now, i, &change),
                Event::MemberForgotten(member) => obs.on_forgotten(now, i, &member),
                event => {
                    obs.on_app(now, i, &event);
                    // The simulated application answers every query it is handed with its
                    // member's name.
                    if let Event::Query { id, .. } = &event {
                        let answer: Arc<[u8]> = swim.local_name().as_bytes().into();
                        if swim.respond(local, id, answer).is_ok() {
                            while let Some(transmit) = swim.poll_transmit() {
                                outgoing.push(transmit);
                            }
                        }
                    }
                }
            }
        }
        let deadline = swim.poll_timeout();
        if let Some(cpu) = self.cpu.as_mut() {
            let cost = cpu.output_cost(outgoing.len(), changes);
            cpu.run(now, cost);
        }
        for transmit in outgoing {
            if self.direct {
                let len = swim_core::wire::encoded_len(&transmit.packet);
                let payload = Payload::Packet(Box::new(transmit.packet));
                self.send_payload(i, &transmit.to, len, payload);
                continue;
            }
            // Bytes on the wire, as a real driver sends them: the format may split a packet.
            for bytes in self.wire.encode(&transmit.packet) {
                let len = bytes.len();
                self.send_payload(i, &transmit.to, len, Payload::Bytes(bytes));
            }
        }
        let deadline = deadline.map(|t| {
            if rate == 1.0 {
                t
            } else {
                self.global_time(i, t)
            }
            .max(now)
        });
        if let Some(deadline) = deadline {
            let pending = self.nodes[i].wake;
            if pending.is_none_or(|w| deadline < w.deadline || w.fires < now) {
                let fires = deadline + self.lateness(i);
                self.nodes[i].wake = Some(Wake { deadline, fires });
                self.schedule(fires, Scheduled::Wake { node: i });
            }
        }
    }

    /// A payload reached member `to` on a shared host: it is handled once the CPU got
    /// through the work queued before it, or dropped if that queue is too long (a datagram;
    /// TCP waits).
    fn queue_on_host(&mut self, to: usize, payload: Payload) {
        let now = self.now;
        let Some(cpu) = self.cpu.as_mut() else {
            return;
        };
        let len = payload_len(&payload);
        if !cpu.arrive(to, len, len > self.network.mtu) {
            return;
        }
        let done = cpu.run(now, cpu.receive_cost(len));
        let late = true;
        self.schedule(done, Scheduled::Deliver { to, payload, late });
    }

    /// Counts and schedules one payload of `len` bytes from member `from` to `to`: over TCP
    /// above the MTU, else as a datagram that the network may lose.
    fn send_payload(&mut self, from: usize, to: &MemberName, len: usize, payload: Payload) {
        let now = self.now;
        let traffic = &mut self.nodes[from].traffic;
        traffic.packets += 1;
        traffic.bytes += len as u64;
        let Some(&to) = self.by_name.get(to) else {
            return;
        };
        if !self.partition.connected(from, to) {
            return;
        }
        let delay = if len > self.network.mtu {
            let node = &mut self.nodes[from];
            let sent = node.tcp.send(now, len, &self.network);
            node.traffic.tcp_sent += 1;
            node.traffic.tcp_dropped += u64::from(sent.is_none());
            sent
        } else {
            self.network.delivery_delay(&mut self.net_rng)
        };
        if let Some(delay) = delay {
            let late = false;
            if len <= self.network.mtu && self.network.duplicated(&mut self.net_rng) {
                if let Some(again) = self.network.delivery_delay(&mut self.net_rng) {
                    let payload = payload.clone();
                    self.schedule(now + again, Scheduled::Deliver { to, payload, late });
                }
            }
            self.schedule(now + delay, Scheduled::Deliver { to, payload, late });
        }
    }

    /// Records waiting to be piggybacked, summed over the running members (0 when quiet).
    pub fn pending_gossip(&self) -> usize {
        self.nodes
            .iter()
            .filter_map(|n| n.swim.as_ref())
            .map(|s| s.pending_gossip())
            .sum()
    }

    /// A random number from the simulation's own generator (for scenario choices).
    pub fn random_index(&mut self, below: usize) -> usize {
        self.net_rng.random_range(0..below)
    }
}

/// The size of a payload on the wire.
fn payload_len(payload: &Payload) -> usize {
    match payload {
        Payload::Bytes(bytes) => bytes.len(),
        Payload::Packet(packet) => swim_core::wire::encoded_len(packet),
    }
}
