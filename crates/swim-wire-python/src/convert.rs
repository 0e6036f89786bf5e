//! Mapping between the package's packets and the core's [`Packet`].
//!
//! The package has no sequence numbers, no piggybacked gossip and no sync, so one core packet
//! may become several Python packets, and a Python packet always becomes a core packet with
//! `seq: 0` and no piggybacked gossip.

use swim_core::{MemberName, Message, Metadata, Packet, Source, Update, Validity};

use crate::model::{PyPacket, PySource};
use crate::PyWireError;

/// The core packet a Python packet means.
///
/// `Ping` → `Message::Ping { seq: 0, known: 0 }`; `PingReq` → `Message::PingReq { seq: 0, target }`;
/// `Ack(source=S)` → a packet from `S` with `Message::Ack { seq: 0, alive: S }`;
/// `Gossip` → `Message::Gossip(Update)` (metadata `None` stays `None`);
/// `GossipAck` → `Message::GossipAck`. Fails if a validity is not 8 bytes.
pub fn to_core(packet: PyPacket) -> Result<Packet, PyWireError> {
    let (source, message) = match packet {
        PyPacket::Ping { source } => (
            core_source(source)?,
            Message::Ping {
                seq: 0,
                known: 0,
                window: None,
            },
        ),
        PyPacket::PingReq { source, target } => (
            core_source(source)?,
            Message::PingReq {
                seq: 0,
                target: MemberName::from(target),
            },
        ),
        PyPacket::Ack { source } => {
            let alive = core_source(source)?;
            (
                alive.clone(),
                Message::Ack {
                    seq: 0,
                    alive,
                    known: 0,
                    window: None,
                },
            )
        }
        PyPacket::Gossip {
            source,
            name,
            clock,
            status,
            metadata,
        } => (
            core_source(source)?,
            Message::Gossip(Update {
                name: MemberName::from(name),
                clock,
                status,
                metadata: metadata.map(Metadata::new),
                accuser: None,
                left: false,
            }),
        ),
        PyPacket::GossipAck {
            source,
            name,
            clock,
        } => (
            core_source(source)?,
            Message::GossipAck {
                name: MemberName::from(name),
                clock,
            },
        ),
    };
    Ok(Packet {
        app: Default::default(),
        source,
        message,
        gossip: Vec::new(),
    })
}

fn core_source(source: PySource) -> Result<Source, PyWireError> {
    let validity = <[u8; 8]>::try_from(source.validity.as_slice())
        .map_err(|_| PyWireError::ValidityLength(source.validity.len()))?;
    Ok(Source {
        name: MemberName::from(source.name),
        validity: Validity(validity),
    })
}

/// The Python packets that carry a core packet, in sending order.
///
/// The main message first (`Ack { alive }` becomes `Ack(source=alive)`; `GossipOnly` and
/// `Nack` have none; `Sync` becomes one `Gossip` per record, as the package has no sync, and
/// a window on a `Ping`/`Ack` goes as such records after it), then one `Gossip` per piggybacked
/// update. All come from `packet.source`, except the ack.
pub fn from_core(packet: &Packet) -> Vec<PyPacket> {
    let source = py_source(&packet.source);
    let mut out = Vec::with_capacity(1 + packet.gossip.len());
    match &packet.message {
        // The core never sends a window on this wire; were one given, it goes as a sync's.
        Message::Ping { window, .. } => {
            out.push(PyPacket::Ping {
                source: source.clone(),
            });
            let records = window.iter().flatten();
            out.extend(records.map(|update| gossip(&source, update)));
        }
        Message::PingReq { target, .. } => out.push(PyPacket::PingReq {
            source: source.clone(),
            target: target.to_string(),
        }),
        Message::Ack { alive, window, .. } => {
            out.push(PyPacket::Ack {
                source: py_source(alive),
            });
            let records = window.iter().flatten();
            out.extend(records.map(|update| gossip(&source, update)));
        }
        Message::Gossip(update) => out.push(gossip(&source, update)),
        Message::GossipAck { name, clock } => out.push(PyPacket::GossipAck {
            source: source.clone(),
            name: name.to_string(),
            clock: *clock,
        }),
        // The package has no nack and no application messages; the core never sends them
        // on this wire (nor a packet's app section, which is left out here).
        Message::GossipOnly
        | Message::Nack { .. }
        | Message::QueryReply { .. }
        | Message::Direct { .. }
        | Message::DirectAck { .. } => {}
        Message::Sync { records, .. } => {
            out.extend(records.iter().map(|update| gossip(&source, update)));
        }
    }
    out.extend(packet.gossip.iter().map(|update| gossip(&source, update)));
    out
}

fn py_source(source: &Source) -> PySource {
    PySource {
        name: source.name.to_string(),
        validity: source.validity.0.to_vec(),
    }
}

fn gossip(source: &PySource, update: &Update) -> PyPacket {
    PyPacket::Gossip {
        source: source.clone(),
        name: update.name.to_string(),
        clock: update.clock,
        status: update.status,
        metadata: update.metadata.as_ref().map(|m| m.to_map()),
    }
}
