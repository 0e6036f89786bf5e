//! The driver: one task that owns the sans-IO state machine and its UDP socket, feeds it
//! packets and expired timers, and carries out what it asks (send packets, publish
//! changes). No protocol decision is made here.

mod messaging;
pub(crate) mod publish;
mod refresh;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::rngs::StdRng;
use rand::SeedableRng;
use swim_core::{Event, MemberName, Metadata, Packet, PeerWire, Swim};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::address::cache::{Lookup, NameCache, Resolved};
use crate::admission::{Admission, Limits};
use crate::codec::Codec;
use crate::config::ResolvedConfig;
use crate::error::{ConfigError, StartError};
use crate::events::MembershipEvent;
use crate::frame::keyring::LiveKeyring;
use crate::frame::FrameSettings;
use crate::keyring_file;
use crate::messaging::MessagingCommand;
use crate::stats::{self, ProtocolReadings, Stats};
use crate::transport::tcp::{self, Inbound, TcpLimits};
use crate::transport::{self, decode_counted, stopped, MAX_DATAGRAM};
use messaging::Router;
pub(crate) use messaging::{subscribe as subscribe_messages, MessagesChannel};
use publish::{Publisher, Subscription};
use refresh::PeerRefresh;

/// Packets received over TCP waiting for the driver.
const INBOUND_BUFFER: usize = 64;

/// Commands from the handle waiting for the driver.
const COMMAND_BUFFER: usize = 64;

/// Datagrams already waiting that are handled before the member list is published again.
const DRAIN_BATCH: usize = 64;

/// How often the member list is published in full, sorted afresh from the protocol's table;
/// between times each batch of changes is applied to the last one published (a record whose
/// clock alone changed shows the new clock at the next full list).
const FULL_VIEW_EVERY: Duration = Duration::from_secs(1);

/// What the handle asks the driver to do (besides metadata, which is a watch: only the
/// latest value matters).
#[derive(Debug)]
pub(crate) enum Command {
    /// Contact this member when joining, as if configured.
    AddPeer(MemberName),
    /// No longer contact this member when joining.
    RemovePeer(MemberName),
    /// Leave the cluster gracefully; the sender is told once the leave was acknowledged.
    Leave(oneshot::Sender<()>),
    /// The application's messages.
    Messaging(MessagingCommand),
}

/// What the handle keeps of a started member.
pub(crate) struct Started {
    pub name: MemberName,
    pub addr: SocketAddr,
    pub subscription: Subscription,
    pub stats: Arc<Stats>,
    /// The wall-clock time of the state machine's time zero.
    pub started_at: SystemTime,
    pub keyring: LiveKeyring,
    pub metadata: watch::Sender<Metadata>,
    pub commands: mpsc::Sender<Command>,
    pub shutdown: watch::Sender<bool>,
    pub driver: JoinHandle<()>,
    /// Where the application's messages are handed over.
    pub messages: Arc<MessagesChannel>,
}

/// Binds the sockets, creates the state machine and spawns the driver. `resolved` comes
/// from `Config::resolve`, which validated it.
pub(crate) async fn start(resolved: ResolvedConfig) -> Result<Started, StartError> {
    let (udp, listener) = transport::bind(resolved.bind).await?;
    let addr = udp.local_addr()?;
    let resolved = resolved.bound_to(addr);
    let name = resolved.local_name();
    let security = &resolved.security;
    // `Config::resolve` read the keyring file (if any) into `security.keyring`.
    let keyring = LiveKeyring::new(security.keyring.clone());
    let settings = FrameSettings {
        label: security.label.as_bytes().to_vec(),
        keyring: keyring.clone(),
        max_clock_skew: security.max_clock_skew,
    };
    let codec = Arc::new(Codec::new(resolved.wire, &resolved.secret, &name, settings));
    let refresh = PeerRefresh {
        sources: resolved.peer_sources.clone(),
        resolver: resolved.resolver.clone(),
        every: resolved.peer_refresh,
        local: name.clone(),
        ipv6: addr.is_ipv6(),
    };
    let alone = resolved.peers.is_empty();
    let epoch = Instant::now();
    let started_at = SystemTime::now();
    let mut swim = Swim::new(
        resolved.protocol,
        name.clone(),
        resolved.local_metadata.clone(),
        resolved.peers,
        StdRng::from_os_rng(),
        Duration::ZERO,
    )
    .map_err(ConfigError::from)?;
    // Changes made while creating the member (the local one going ONLINE) are part of the
    // first snapshot; no subscriber can exist yet to receive them.
    while swim.poll_event().is_some() {}
    let (publisher, subscription) = Publisher::new(swim.members());
    let stats = Arc::new(Stats::default());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (metadata, metadata_rx) = watch::channel(resolved.local_metadata);
    let (commands, commands_rx) = mpsc::channel(COMMAND_BUFFER);
    let (inbound_tx, inbound) = mpsc::channel(INBOUND_BUFFER);
    let limits = TcpLimits::default();
    let sources = Arc::new(security.limits.clone());
    let keyring_watch = security.keyring_file.clone().map(|path| {
        tokio::spawn(keyring_file::watch(
            path,
            keyring.clone(),
            shutdown_rx.clone(),
        ))
    });
    let peer_refresh = (!refresh.sources.is_empty())
        .then(|| tokio::spawn(refresh.run(alone, commands.clone(), shutdown_rx.clone())));
    let listener = tokio::spawn(tcp::run_listener(
        listener,
        codec.clone(),
        stats.clone(),
        inbound_tx,
        shutdown_rx.clone(),
        limits,
        sources.clone(),
    ));
    let driver = Driver {
        swim,
        epoch,
        udp_limit: resolved.mtu_size.min(MAX_DATAGRAM),
        udp,
        codec,
        stats: stats.clone(),
        names: NameCache::new(resolved.resolver, resolved.name_ttl, addr),
        tcp_limits: limits,
        admission: Admission::new(&sources, epoch.elapsed()),
        sources,
        keyring_watch,
        peer_refresh,
        tcp_sends: JoinSet::new(),
        inbound,
        metadata: metadata_rx,
        commands: commands_rx,
        shutdown: shutdown_rx,
        publisher,
        full_view_due: Duration::ZERO,
        leave_waiter: None,
        router: Router::new(),
    };
    let messages = driver.router.channel();
    let driver = tokio::spawn(driver.run(listener));
    Ok(Started {
        name,
        addr,
        subscription,
        stats,
        started_at,
        keyring,
        metadata,
        commands,
        shutdown,
        driver,
        messages,
    })
}

/// A frame ready to send, the wire format it is in (which decides its TCP framing), and
/// whether it must go over TCP whatever its size (an acknowledged direct message).
struct Outgoing(Vec<u8>, PeerWire, bool);

struct Driver {
    swim: Swim<StdRng>,
    /// Time zero of the state machine's clock.
    epoch: Instant,
    /// Frames up to this size go over UDP, larger ones over TCP.
    udp_limit: usize,
    udp: UdpSocket,
    codec: Arc<Codec>,
    stats: Arc<Stats>,
    names: NameCache<Outgoing>,
    tcp_limits: TcpLimits,
    /// Which sources may send at all.
    sources: Arc<Limits>,
    /// The request budgets.
    admission: Admission,
    /// The task re-reading the keyring file, if there is one.
    keyring_watch: Option<JoinHandle<()>>,
    /// The task looking `dns+`/`dnssrv+` peers up again, if there are some.
    peer_refresh: Option<JoinHandle<()>>,
    tcp_sends: JoinSet<()>,
    inbound: mpsc::Receiver<Inbound>,
    metadata: watch::Receiver<Metadata>,
    commands: mpsc::Receiver<Command>,
    shutdown: watch::Receiver<bool>,
    publisher: Publisher,
    /// When the member list is next published in full (see [`FULL_VIEW_EVERY`]).
    full_view_due: Duration,
    /// Told when a leave has been acknowledged.
    leave_waiter: Option<oneshot::Sender<()>>,
    /// Where the application's messages go.
    router: Router,
}

impl Driver {
    async fn run(mut self, listener: JoinHandle<()>) {
        let mut buf = vec![0u8; 65_536];
        // The initial transmits (probes of the seed peers) and timers.
        self.flush();
        loop {
            let deadline = self.swim.poll_timeout().map(|t| self.epoch + t);
            tokio::select! {
                () = stopped(&mut self.shutdown) => break,
                received = self.udp.recv_from(&mut buf) => match received {
                    Ok((len, from)) => {
                        self.on_datagram(&buf[..len], from);
                        self.drain_datagrams(&mut buf);
                    }
                    // E.g. an ICMP error reported on some systems; the socket still works.
                    Err(e) => debug!("udp receive failed: {e}"),
                },
                Some(inbound) = self.inbound.recv() => self.on_packet(inbound.packet, inbound.wire),
                () = sleep_until(deadline), if deadline.is_some() => {
                    let now = self.now();
                    self.swim.handle_timeout(now);
                }
                Some(command) = self.commands.recv() => {
                    let now = self.now();
                    match command {
                        Command::AddPeer(name) => self.swim.add_peer(now, name),
                        Command::RemovePeer(name) => self.swim.remove_peer(&name),
                        Command::Leave(done) => {
                            self.swim.leave(now);
                            self.leave_waiter = Some(done);
                        }
                        Command::Messaging(command) => {
                            self.router.command(&mut self.swim, now, command);
                        }
                    }
                }
                Ok(()) = self.metadata.changed() => {
                    let metadata = self.metadata.borrow_and_update().clone();
                    let now = self.now();
                    self.swim.set_local_metadata(now, metadata);
                }
                Some(resolved) = self.names.next_resolved(), if self.names.is_resolving() => {
                    self.on_resolved(resolved);
                }
                Some(_) = self.tcp_sends.join_next(), if !self.tcp_sends.is_empty() => {}
            }
            self.flush();
            if self.swim.leave_acknowledged() {
                if let Some(done) = self.leave_waiter.take() {
                    let _ = done.send(());
                }
            }
        }
        // Stop everything this member started, and wait for it.
        drop(self.inbound);
        self.tcp_sends.shutdown().await;
        self.names.shutdown().await;
        if let Err(e) = listener.await {
            warn!("tcp listener task failed: {e}");
        }
        if let Some(task) = self.keyring_watch.take() {
            if let Err(e) = task.await {
                warn!("keyring file task failed: {e}");
            }
        }
        if let Some(task) = self.peer_refresh.take() {
            // It may wait on a lookup (bounded by LOOKUP_TIMEOUT): no reason to wait for it.
            task.abort();
            let _ = task.await;
        }
        debug!(name = %self.swim.local_name(), "member stopped");
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn on_datagram(&mut self, frame: &[u8], from: SocketAddr) {
        stats::incr(&self.stats.udp_packets_received);
        stats::add(&self.stats.udp_bytes_received, frame.len());
        if !self.sources.allows(from.ip()) {
            stats::incr(&self.stats.dropped_source_not_allowed);
            return;
        }
        if let Some((packet, wire)) = decode_counted(&self.codec, &self.stats, frame, from) {
            self.on_packet(packet, wire);
        }
    }

    /// Hands an authentic packet, which came in `wire`, to the state machine if its budget
    /// allows.
    fn on_packet(&mut self, packet: Packet, wire: PeerWire) {
        let now = self.now();
        let listed = self.swim.member(&packet.source.name).is_some();
        if !self.admission.admit(&packet, listed, now) {
            stats::incr(&self.stats.dropped_rate_limited);
            debug!(from = %packet.source.name, "request dropped: over budget");
            return;
        }
        // The core's full-sync budget drops too: counted with the admission's drops.
        let refused = self.swim.counters().full_syncs_refused;
        self.swim.handle_packet_on(now, wire, packet);
        if self.swim.counters().full_syncs_refused > refused {
            stats::incr(&self.stats.dropped_rate_limited);
        }
    }

    /// Handles the datagrams already waiting (at most [`DRAIN_BATCH`]) before the changes
    /// they cause are published: the member list is published once per batch instead of once
    /// per datagram (each publish copies and sorts it, which made a join of hundreds of
    /// members cost O(n) per datagram). Answers still go out after each datagram.
    fn drain_datagrams(&mut self, buf: &mut [u8]) {
        for _ in 0..DRAIN_BATCH {
            self.send_transmits();
            match self.udp.try_recv_from(buf) {
                Ok((len, from)) => self.on_datagram(&buf[..len], from),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => debug!("udp receive failed: {e}"),
            }
        }
    }

    /// Sends what the state machine produced and publishes its changes.
    fn flush(&mut self) {
        self.send_transmits();
        self.publish_changes();
    }

    fn send_transmits(&mut self) {
        while let Some(transmit) = self.swim.poll_transmit() {
            let kind = transmit.packet.message.kind();
            let stream = transmit.reliable();
            for frame in self
                .codec
                .encode(&transmit.packet, &transmit.to, transmit.wire)
            {
                match frame {
                    Some(frame) => {
                        self.stats.sent(kind, frame.len());
                        self.send(&transmit.to, Outgoing(frame, transmit.wire, stream));
                    }
                    None => self.send_failed(&transmit.to, "packet too large for the framing"),
                }
            }
        }
    }

    fn publish_changes(&mut self) {
        let mut changes = Vec::new();
        while let Some(event) = self.swim.poll_event() {
            match event {
                Event::MemberChanged(change) => changes.push(MembershipEvent::Changed(change)),
                Event::MemberForgotten(member) => {
                    changes.push(MembershipEvent::Forgotten(member));
                }
                other => {
                    if let Some(other) = self.router.event(&self.stats, other) {
                        debug!("unhandled event {other:?}");
                    }
                }
            }
        }
        if !changes.is_empty() {
            // A list of every member, sorted, is O(n log n): a join brings a batch of
            // changes per datagram. Between full lists, the batch is applied to the last.
            let now = self.now();
            if now >= self.full_view_due {
                self.full_view_due = now + FULL_VIEW_EVERY;
                self.publisher.publish(changes, self.swim.members());
            } else {
                let swim = &self.swim;
                self.publisher
                    .publish_applied(changes, swim.len(), || swim.members());
            }
        }
        self.stats.set_protocol(ProtocolReadings {
            counters: self.swim.counters(),
            pending_gossip: self.swim.pending_gossip(),
        });
    }

    fn send(&mut self, to: &MemberName, frame: Outgoing) {
        match self.names.lookup(to) {
            Lookup::Known(addr) => self.send_to(addr, frame),
            Lookup::Pending => {
                if !self.names.enqueue(to, frame) {
                    self.send_failed(to, "too many packets waiting for its address");
                }
            }
            Lookup::Failed => self.send_failed(to, "address unknown"),
        }
    }

    fn on_resolved(&mut self, resolved: Resolved<Outgoing>) {
        match resolved.addr {
            Some(addr) => {
                for frame in resolved.frames {
                    self.send_to(addr, frame);
                }
            }
            None => {
                for _ in resolved.frames {
                    self.send_failed(&resolved.name, "address unknown");
                }
            }
        }
    }

    fn send_to(&mut self, addr: SocketAddr, Outgoing(frame, wire, stream): Outgoing) {
        if frame.len() <= self.udp_limit && !stream {
            // Never wait on a full socket buffer: UDP may drop, and the protocol copes.
            match self.udp.try_send_to(&frame, addr) {
                Ok(sent) => {
                    stats::incr(&self.stats.udp_packets_sent);
                    stats::add(&self.stats.udp_bytes_sent, sent);
                }
                Err(e) => {
                    stats::incr(&self.stats.send_failures);
                    debug!(%addr, "udp send failed: {e}");
                }
            }
            return;
        }
        while self.tcp_sends.try_join_next().is_some() {}
        if self.tcp_sends.len() >= self.tcp_limits.max_connections {
            stats::incr(&self.stats.send_failures);
            debug!(%addr, "tcp send dropped: too many in flight");
            return;
        }
        let (stats, limits) = (self.stats.clone(), self.tcp_limits);
        let framing = self.codec.tcp_framing(wire);
        self.tcp_sends.spawn(async move {
            match tcp::send_frame(addr, &frame, framing, limits).await {
                Ok(()) => {
                    stats::incr(&stats.tcp_packets_sent);
                    stats::add(&stats.tcp_bytes_sent, frame.len());
                }
                Err(e) => {
                    stats::incr(&stats.send_failures);
                    debug!(%addr, "tcp send failed: {e}");
                }
            }
        });
    }

    fn send_failed(&self, to: &MemberName, why: &str) {
        stats::incr(&self.stats.send_failures);
        debug!(%to, "packet not sent: {why}");
    }
}

/// Sleeps until `deadline`; forever without one (the branch is disabled then anyway).
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
