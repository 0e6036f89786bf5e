//! TCP carries the packets whose frame exceeds the MTU: one frame per connection.
//!
//! The listener bounds what clients can cost: the frame size, the time a connection may
//! stay open, the number of connections open at once (beyond it, new ones are closed at
//! once), and the bytes held for all of them together ([`TcpLimits::max_buffered`]): a
//! connection's buffer grows only as bytes arrive and only while the shared budget has
//! room, and its share is held until the driver has taken the decoded packet. Frames are
//! verified and decoded on the connection's task, so neither a slow nor a hostile client
//! ever stalls the driver. Connections from outside the allow-list are closed unread.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use swim_core::{Packet, PeerWire};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::debug;

use super::{decode_counted, stopped};
use crate::admission::Limits;
use crate::codec::{Codec, TcpAccepts, TcpFraming};
use crate::stats::{self, Stats};

/// How much a connection's buffer grows at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Limits applied to incoming and outgoing TCP connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// Largest frame accepted.
    pub max_frame: usize,
    /// Longest a connection may take, from accept (or connect) to the last byte.
    pub io_timeout: Duration,
    /// Most connections handled (or sends in flight) at once.
    pub max_connections: usize,
    /// Most bytes of frames held by all connections together, including the packets
    /// decoded from them until the driver takes them.
    pub max_buffered: usize,
}

impl Default for TcpLimits {
    fn default() -> Self {
        TcpLimits {
            // Room for the header of either framing (the Python one has a variable salt).
            max_frame: swim_core::wire::MAX_PAYLOAD + 512,
            io_timeout: Duration::from_secs(5),
            max_connections: 64,
            max_buffered: 16 * 1024 * 1024,
        }
    }
}

/// Why a connection's frame was not read.
#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Io(io::Error),
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(u64),
    #[error("timed out")]
    TimedOut,
    #[error("the listener's buffer budget is spent")]
    OverBudget,
}

/// A packet received over TCP, with the share of the buffer budget its frame took.
pub(crate) struct Inbound {
    /// The packet.
    pub packet: Packet,
    /// The wire format it came in.
    pub wire: PeerWire,
    /// Released when the driver drops this.
    _budget: OwnedSemaphorePermit,
}

/// Accepts connections until shutdown, passing each valid packet to `inbound`. Returns
/// once every connection task has ended.
pub(crate) async fn run_listener(
    listener: TcpListener,
    codec: Arc<Codec>,
    stats: Arc<Stats>,
    inbound: mpsc::Sender<Inbound>,
    mut shutdown: watch::Receiver<bool>,
    limits: TcpLimits,
    sources: Arc<Limits>,
) {
    let mut connections = JoinSet::new();
    let budget = Arc::new(Semaphore::new(limits.max_buffered));
    loop {
        tokio::select! {
            () = stopped(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Per-connection errors (e.g. reset before accept, no file
                        // descriptors left): pause briefly rather than spin.
                        debug!("tcp accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if !sources.allows(peer.ip()) {
                    stats::incr(&stats.dropped_source_not_allowed);
                    debug!(%peer, "tcp connection refused: source not allowed");
                    continue;
                }
                if connections.len() >= limits.max_connections {
                    stats::incr(&stats.tcp_connections_refused);
                    debug!(%peer, "tcp connection refused: {} open", connections.len());
                    continue; // dropping the stream closes it
                }
                let (codec, stats, inbound) = (codec.clone(), stats.clone(), inbound.clone());
                let budget = budget.clone();
                connections.spawn(async move {
                    let framing = codec.tcp_accepts();
                    let read = tokio::time::timeout(
                        limits.io_timeout,
                        read_frame(stream, framing, limits.max_frame, budget),
                    );
                    let (frame, held) = match read.await.unwrap_or(Err(ReadError::TimedOut)) {
                        Ok(frame) => frame,
                        Err(e) => {
                            if matches!(e, ReadError::OverBudget) {
                                stats::incr(&stats.tcp_over_budget);
                            }
                            if !matches!(e, ReadError::Io(_)) {
                                stats::incr(&stats.tcp_connections_aborted);
                            }
                            stats::incr(&stats.dropped_malformed);
                            debug!(%peer, "tcp frame dropped: {e}");
                            return;
                        }
                    };
                    stats::incr(&stats.tcp_packets_received);
                    stats::add(&stats.tcp_bytes_received, frame.len());
                    if let Some((packet, wire)) = decode_counted(&codec, &stats, &frame, peer) {
                        drop(frame);
                        let inbound_packet = Inbound { packet, wire, _budget: held };
                        // Fails only when the driver has stopped.
                        let _ = inbound.send(inbound_packet).await;
                    }
                });
            }
        }
    }
    connections.shutdown().await;
}

/// Reads one frame, growing the buffer only as bytes arrive and only with room in the
/// shared `budget`; returns the frame and its share of the budget.
async fn read_frame(
    mut stream: TcpStream,
    accepts: TcpAccepts,
    max_frame: usize,
    budget: Arc<Semaphore>,
) -> Result<(Vec<u8>, OwnedSemaphorePermit), ReadError> {
    // A Python frame's first byte, read to tell the framings apart, belongs to the frame.
    let mut first = None;
    let framing = match accepts {
        TcpAccepts::One(framing) => framing,
        TcpAccepts::Either => {
            let byte = stream.read_u8().await.map_err(ReadError::Io)?;
            if byte == 0 {
                TcpFraming::LengthPrefixed
            } else {
                first = Some(byte);
                TcpFraming::UntilClose
            }
        }
    };
    let limit = match framing {
        TcpFraming::LengthPrefixed => {
            let mut len = [0u8; 4];
            let start = usize::from(first.is_none() && accepts == TcpAccepts::Either);
            stream
                .read_exact(&mut len[start..])
                .await
                .map_err(ReadError::Io)?;
            let len = u32::from_be_bytes(len);
            if len as usize > max_frame {
                return Err(ReadError::TooLarge(len.into()));
            }
            Some(len as usize)
        }
        TcpFraming::UntilClose => None,
    };
    // The budget is counted in bytes; one byte (the first, if already read) to start with.
    let mut held = budget
        .clone()
        .try_acquire_many_owned(u32::from(first.is_some()))
        .map_err(|_| ReadError::OverBudget)?;
    let mut frame: Vec<u8> = first.into_iter().collect();
    loop {
        let want = match limit {
            Some(len) if frame.len() >= len => break,
            Some(len) => (len - frame.len()).min(READ_CHUNK),
            None => READ_CHUNK.min(max_frame + 1 - frame.len()),
        };
        let short = (frame.len() + want).saturating_sub(held.num_permits());
        if short > 0 {
            let more = budget
                .clone()
                .try_acquire_many_owned(u32::try_from(short).unwrap_or(u32::MAX))
                .map_err(|_| ReadError::OverBudget)?;
            held.merge(more);
        }
        let start = frame.len();
        frame.resize(start + want, 0);
        let read = stream
            .read(&mut frame[start..])
            .await
            .map_err(ReadError::Io)?;
        frame.truncate(start + read);
        if read == 0 {
            match limit {
                Some(_) => return Err(ReadError::Io(io::ErrorKind::UnexpectedEof.into())),
                None => break,
            }
        }
        if limit.is_none() && frame.len() > max_frame {
            return Err(ReadError::TooLarge(frame.len() as u64));
        }
    }
    // Give back what was reserved but not filled.
    if let Some(unused) = held.num_permits().checked_sub(frame.len()) {
        if unused > 0 {
            drop(held.split(unused));
        }
    }
    Ok((frame, held))
}

/// Sends one frame on a new connection to `addr`, then closes it gracefully (a reset
/// would make the seed discard the frame).
pub(crate) async fn send_frame(
    addr: SocketAddr,
    frame: &[u8],
    framing: TcpFraming,
    limits: TcpLimits,
) -> io::Result<()> {
    let send = async {
        let mut stream = TcpStream::connect(addr).await?;
        if framing == TcpFraming::LengthPrefixed {
            let len = u32::try_from(frame.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
            stream.write_all(&len.to_be_bytes()).await?;
        }
        stream.write_all(frame).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(limits.io_timeout, send)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use tokio::time::Instant;

    use super::*;
    use crate::config::WireKind;

    struct Harness {
        addr: SocketAddr,
        stats: Arc<Stats>,
        inbound: mpsc::Receiver<Inbound>,
        shutdown: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
    }

    async fn listen(limits: TcpLimits) -> Harness {
        listen_with(WireKind::Native, limits).await
    }

    async fn listen_with(kind: WireKind, limits: TcpLimits) -> Harness {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let codec = Arc::new(Codec::new(
            kind,
            b"secret",
            "127.0.0.1:2",
            Default::default(),
        ));
        let stats = Arc::new(Stats::default());
        let (tx, inbound) = mpsc::channel(8);
        let (shutdown, rx) = watch::channel(false);
        let sources = Arc::new(Limits::default());
        let task = tokio::spawn(run_listener(
            listener,
            codec,
            stats.clone(),
            tx,
            rx,
            limits,
            sources,
        ));
        Harness {
            addr,
            stats,
            inbound,
            shutdown,
            task,
        }
    }

    fn wrongly_signed() -> Vec<u8> {
        crate::frame::Framer::new(b"wrong", "127.0.0.1:1", Default::default())
            .seal(b"payload", &"127.0.0.1:2".into())
    }

    fn limits() -> TcpLimits {
        TcpLimits {
            max_frame: 1000,
            io_timeout: Duration::from_millis(300),
            max_connections: 2,
            max_buffered: 1500,
        }
    }

    /// Reads until the peer closes; `true` if it closed within `within`.
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut sink = Vec::new();
        matches!(
            tokio::time::timeout(within, stream.read_to_end(&mut sink)).await,
            Ok(Ok(_)) | Ok(Err(_))
        )
    }

    async fn wait_for(counter: &std::sync::atomic::AtomicU64, value: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while counter.load(Ordering::Relaxed) < value {
            assert!(Instant::now() < deadline, "counter stayed below {value}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn badly_signed_frames_are_counted_and_dropped() {
        let mut h = listen(limits()).await;
        let frame = wrongly_signed();
        send_frame(h.addr, &frame, TcpFraming::LengthPrefixed, limits())
            .await
            .unwrap();
        wait_for(&h.stats.dropped_bad_signature, 1).await;
        assert_eq!(h.stats.tcp_packets_received.load(Ordering::Relaxed), 1);
        assert!(h.inbound.try_recv().is_err());
        h.shutdown.send_replace(true);
        h.task.await.unwrap();
    }

    #[tokio::test]
    async fn auto_accepts_both_framings_on_one_listener() {
        let mut h = listen_with(WireKind::Auto, limits()).await;
        let packet = Packet {
            app: Default::default(),
            source: swim_core::Source {
                name: "127.0.0.1:1".into(),
                validity: swim_core::Validity([1; 8]),
            },
            message: swim_core::Message::Ping {
                seq: 0,
                known: 0,
                window: None,
            },
            gossip: vec![],
        };
        let to = swim_core::MemberName::from("127.0.0.1:2");
        for (kind, wire, framing) in [
            (
                WireKind::Native,
                PeerWire::Native,
                TcpFraming::LengthPrefixed,
            ),
            (WireKind::Python, PeerWire::Python, TcpFraming::UntilClose),
        ] {
            let sender = Codec::new(kind, b"secret", "127.0.0.1:1", Default::default());
            let frame = sender.encode(&packet, &to, wire).pop().flatten().unwrap();
            send_frame(h.addr, &frame, framing, limits()).await.unwrap();
            let inbound = tokio::time::timeout(Duration::from_secs(5), h.inbound.recv())
                .await
                .expect("received in time")
                .expect("a packet");
            assert_eq!((inbound.packet, inbound.wire), (packet.clone(), wire));
        }
        // A length prefix above the limit is still cut off before it is read.
        let mut stream = TcpStream::connect(h.addr).await.unwrap();
        stream.write_all(&5000u32.to_be_bytes()).await.unwrap();
        assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
        wait_for(&h.stats.tcp_connections_aborted, 1).await;
        h.shutdown.send_replace(true);
        h.task.await.unwrap();
    }

    #[tokio::test]
    async fn oversized_frames_are_cut_off_before_they_are_read() {
        let h = listen(limits()).await;
        let mut stream = TcpStream::connect(h.addr).await.unwrap();
        stream.write_all(&5000u32.to_be_bytes()).await.unwrap();
        assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
        wait_for(&h.stats.tcp_connections_aborted, 1).await;
        assert_eq!(h.stats.dropped_malformed.load(Ordering::Relaxed), 1);
        h.shutdown.send_replace(true);
        h.task.await.unwrap();
    }

    #[tokio::test]
    async fn connections_share_one_buffer_budget() {
        let h = listen(limits()).await;
        // Each client announces 1000 bytes of the 1500-byte budget: whichever is read
        // second does not fit while the other (sending part of its frame) holds its share.
        let mut first = TcpStream::connect(h.addr).await.unwrap();
        first.write_all(&1000u32.to_be_bytes()).await.unwrap();
        first.write_all(&[0; 600]).await.unwrap();
        let mut second = TcpStream::connect(h.addr).await.unwrap();
        second.write_all(&1000u32.to_be_bytes()).await.unwrap();
        wait_for(&h.stats.tcp_over_budget, 1).await;
        // When both are done (one cut off, the other complete or timed out), the budget
        // is back.
        let _ = first.write_all(&[0; 400]).await;
        drop(first);
        assert!(closed_within(&mut second, Duration::from_secs(2)).await);
        wait_for(&h.stats.dropped_malformed, 2).await;
        let frame = wrongly_signed();
        send_frame(h.addr, &frame, TcpFraming::LengthPrefixed, limits())
            .await
            .unwrap();
        wait_for(&h.stats.dropped_bad_signature, 1).await;
        assert_eq!(h.stats.tcp_over_budget.load(Ordering::Relaxed), 1);
        h.shutdown.send_replace(true);
        h.task.await.unwrap();
    }

    #[tokio::test]
    async fn slow_clients_are_cut_off_and_extra_ones_refused() {
        let h = listen(limits()).await;
        let mut slow1 = TcpStream::connect(h.addr).await.unwrap();
        let mut slow2 = TcpStream::connect(h.addr).await.unwrap();
        slow1.write_all(&[0, 0]).await.unwrap();
        // Connections are accepted in order: the slow ones hold both slots.
        let mut extra = TcpStream::connect(h.addr).await.unwrap();
        assert!(closed_within(&mut extra, Duration::from_millis(200)).await);
        assert_eq!(h.stats.tcp_connections_refused.load(Ordering::Relaxed), 1);
        // The slow ones are closed by the read timeout.
        assert!(closed_within(&mut slow1, Duration::from_secs(2)).await);
        assert!(closed_within(&mut slow2, Duration::from_secs(2)).await);
        wait_for(&h.stats.tcp_connections_aborted, 2).await;
        h.shutdown.send_replace(true);
        h.task.await.unwrap();
    }

    #[tokio::test]
    async fn shutdown_ends_open_connections() {
        let h = listen(limits()).await;
        let mut idle = TcpStream::connect(h.addr).await.unwrap();
        // Once a later connection is handled, the idle one has been accepted.
        let frame = wrongly_signed();
        send_frame(h.addr, &frame, TcpFraming::LengthPrefixed, limits())
            .await
            .unwrap();
        wait_for(&h.stats.dropped_bad_signature, 1).await;
        h.shutdown.send_replace(true);
        tokio::time::timeout(Duration::from_millis(200), h.task)
            .await
            .expect("listener stops without waiting for clients")
            .unwrap();
        assert!(closed_within(&mut idle, Duration::from_millis(200)).await);
    }
}
