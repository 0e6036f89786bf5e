//! Sockets: one UDP socket for frames up to the MTU, and a TCP listener on the same address
//! for larger ones.

pub(crate) mod tcp;

use std::io;
use std::net::SocketAddr;

use swim_core::{Packet, PeerWire};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tracing::debug;

use crate::codec::{Codec, Rejected};
use crate::stats::{self, Stats};

/// Largest UDP payload over IPv4; frames above it always go over TCP.
pub(crate) const MAX_DATAGRAM: usize = 65_507;

/// How many times to retry when the OS-chosen UDP port is taken for TCP.
const BIND_ATTEMPTS: usize = 8;

/// Binds the UDP socket and the TCP listener on the same address. With port 0 the OS
/// picks a port free for UDP, and TCP binds the same one (retrying if it is taken).
pub(crate) async fn bind(addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut attempts = if addr.port() == 0 { BIND_ATTEMPTS } else { 1 };
    loop {
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|e| naming(e, "UDP", addr))?;
        let local = udp.local_addr()?;
        match TcpListener::bind(local).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempts > 1 => {
                attempts -= 1;
                debug!("tcp port {} taken, binding another", local.port());
            }
            Err(e) => return Err(naming(e, "TCP", local)),
        }
    }
}

/// `err` with the protocol and address it happened on in its message, as in
/// `UDP 127.0.0.1:2001: Address already in use (os error 98)` (the kind is kept).
fn naming(err: io::Error, protocol: &str, addr: SocketAddr) -> io::Error {
    io::Error::new(err.kind(), format!("{protocol} {addr}: {err}"))
}

/// Resolves once `shutdown` holds `true` or its sender is gone.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is dropped: nobody can run the member any more.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Verifies and decodes a frame (and says which wire format it was in), counting and
/// logging a drop.
pub(crate) fn decode_counted(
    codec: &Codec,
    stats: &Stats,
    frame: &[u8],
    from: SocketAddr,
) -> Option<(Packet, PeerWire)> {
    match codec.decode(frame) {
        Ok((packet, wire)) => {
            stats.received(packet.message.kind(), frame.len());
            Some((packet, wire))
        }
        Err(Rejected::BadSignature) => {
            stats::incr(&stats.dropped_bad_signature);
            debug!(%from, len = frame.len(), "dropped frame: bad signature");
            None
        }
        Err(Rejected::Malformed(why)) => {
            stats::incr(&stats.dropped_malformed);
            debug!(%from, len = frame.len(), "dropped frame: {why}");
            None
        }
        Err(Rejected::WrongLabel) => {
            stats::incr(&stats.dropped_wrong_label);
            debug!(%from, len = frame.len(), "dropped frame: another cluster label");
            None
        }
        Err(Rejected::UnknownKey) => {
            stats::incr(&stats.dropped_unknown_key);
            debug!(%from, len = frame.len(), "dropped frame: key not in the keyring");
            None
        }
        Err(Rejected::Replayed(why)) => {
            stats::incr(&stats.dropped_replayed);
            debug!(%from, len = frame.len(), "dropped frame as a replay: {why}");
            None
        }
    }
}
