//! The native encoder, and exact sizes computed without encoding.

use super::primitives::{bytes_len, put_bytes, put_source, put_varint, source_len, varint_len};
use super::{app, sync_flags, tag, MAGIC, VERSION};
use crate::{MemberName, Message, MetaDelta, Metadata, Packet, Status, Update};

/// Bytes of the fixed header: magic and version.
const HEADER_LEN: usize = MAGIC.len() + 1;

pub(super) fn packet(packet: &Packet) -> Vec<u8> {
    let mut out = Vec::with_capacity(packet_len(packet));
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    put_source(&mut out, &packet.source);
    put_message(&mut out, &packet.message);
    put_records(&mut out, &packet.gossip);
    app::put_section(&mut out, &packet.app);
    out
}

fn put_message(out: &mut Vec<u8>, message: &Message) {
    match message {
        Message::Ping { seq, known, window } => {
            // A ping carrying a window has a tag of its own.
            out.push(if window.is_some() {
                tag::PING_SYNC
            } else {
                tag::PING
            });
            put_varint(out, u64::from(*seq));
            put_varint(out, u64::from(*known));
            if let Some(records) = window {
                put_records(out, records);
            }
        }
        Message::PingReq { seq, target } => {
            out.push(tag::PING_REQ);
            put_varint(out, u64::from(*seq));
            put_bytes(out, target.as_bytes());
        }
        Message::Ack {
            seq,
            alive,
            known,
            window,
        } => {
            out.push(if window.is_some() {
                tag::ACK_SYNC
            } else {
                tag::ACK
            });
            put_varint(out, u64::from(*seq));
            put_source(out, alive);
            put_varint(out, u64::from(*known));
            if let Some(records) = window {
                put_records(out, records);
            }
        }
        Message::Gossip(update) => {
            out.push(tag::GOSSIP);
            put_update(out, update);
        }
        Message::GossipAck { name, clock } => {
            out.push(tag::GOSSIP_ACK);
            put_bytes(out, name.as_bytes());
            put_varint(out, *clock);
        }
        Message::GossipOnly => out.push(tag::GOSSIP_ONLY),
        Message::Nack { seq } => {
            out.push(tag::NACK);
            put_varint(out, u64::from(*seq));
        }
        Message::Sync {
            reply,
            full,
            records,
        } => {
            out.push(tag::SYNC);
            out.push(flags_byte(*reply, *full));
            put_records(out, records);
        }
        Message::QueryReply {
            querier,
            seq,
            responder,
            reply,
        } => app::put_query_reply(out, querier, *seq, responder, reply),
        Message::Direct { id, payload } => app::put_direct(out, *id, payload),
        Message::DirectAck { id } => app::put_direct_ack(out, *id),
    }
}

fn flags_byte(reply: bool, full: bool) -> u8 {
    let mut flags = 0;
    if reply {
        flags |= sync_flags::REPLY;
    }
    if full {
        flags |= sync_flags::FULL;
    }
    flags
}

fn put_records(out: &mut Vec<u8>, records: &[Update]) {
    put_varint(out, records.len() as u64);
    for update in records {
        put_update(out, update);
    }
}

fn put_update(out: &mut Vec<u8>, update: &Update) {
    put_bytes(out, update.name.as_bytes());
    put_varint(out, update.clock);
    out.push(state_byte(update));
    if let Some(accuser) = accuser(update) {
        put_bytes(out, accuser.as_bytes());
    }
    if let Some(metadata) = &update.metadata {
        put_metadata(out, metadata);
    } else if let Some(delta) = &update.delta {
        put_delta(out, delta);
    }
}

/// A metadata delta: base, digest (8 bytes, little-endian), the keys set (as *metadata*),
/// then the keys removed (a count and the keys, in increasing order).
fn put_delta(out: &mut Vec<u8>, delta: &MetaDelta) {
    put_varint(out, delta.base);
    out.extend_from_slice(&delta.digest.to_le_bytes());
    put_metadata(out, &delta.set);
    put_varint(out, delta.removed.len() as u64);
    for key in delta.removed.iter() {
        put_bytes(out, key.as_bytes());
    }
}

/// The accuser written with `update`: only a SUSPECT record carries one (the decoder
/// rejects it on any other), so an accuser on another record is not sent.
fn accuser(update: &Update) -> Option<&MemberName> {
    update
        .accuser
        .as_ref()
        .filter(|_| update.status == Status::Suspect)
}

/// The status code, with the accuser flag for a suspicion naming its accuser, the left flag
/// for a leave (OFFLINE only: `left` or an accuser on another status is not encoded, so
/// every encoding decodes) and the metadata flag set when metadata follows.
pub(super) fn state_byte(update: &Update) -> u8 {
    let code = match update.status {
        Status::Online => super::state::ONLINE,
        Status::Suspect if accuser(update).is_some() => {
            super::state::SUSPECT | super::state::HAS_ACCUSER
        }
        Status::Suspect => super::state::SUSPECT,
        Status::Offline if update.left => super::state::OFFLINE | super::state::LEFT,
        Status::Offline => super::state::OFFLINE,
    };
    if update.metadata.is_some() {
        code | super::state::HAS_METADATA
    } else if update.delta.is_some() {
        code | super::state::HAS_DELTA
    } else {
        code
    }
}

fn put_metadata(out: &mut Vec<u8>, metadata: &Metadata) {
    put_varint(out, metadata.len() as u64);
    // BTreeMap iteration is in key order, which the decoder requires.
    for (key, value) in metadata.iter() {
        put_bytes(out, key.as_bytes());
        put_bytes(out, value);
    }
}

/// The bytes of a probe's window, if it carries one.
fn window_len(window: &Option<Vec<Update>>) -> usize {
    window.as_deref().map_or(0, records_len)
}

fn message_len(message: &Message) -> usize {
    let body = match message {
        Message::Ping { seq, known, window } => {
            varint_len(u64::from(*seq)) + varint_len(u64::from(*known)) + window_len(window)
        }
        Message::PingReq { seq, target } => varint_len(u64::from(*seq)) + bytes_len(target.len()),
        Message::Ack {
            seq,
            alive,
            known,
            window,
        } => {
            varint_len(u64::from(*seq))
                + source_len(alive)
                + varint_len(u64::from(*known))
                + window_len(window)
        }
        Message::Gossip(update) => update_len(update),
        Message::GossipAck { name, clock } => bytes_len(name.len()) + varint_len(*clock),
        Message::GossipOnly => 0,
        Message::Nack { seq } => varint_len(u64::from(*seq)),
        Message::Sync { records, .. } => 1 + records_len(records),
        Message::QueryReply {
            querier,
            seq,
            responder,
            reply,
        } => return app::query_reply_len(querier, *seq, responder, reply),
        Message::Direct { id, payload } => return app::direct_len(*id, payload),
        Message::DirectAck { id } => return app::direct_ack_len(*id),
    };
    1 + body
}

fn records_len(records: &[Update]) -> usize {
    varint_len(records.len() as u64) + records.iter().map(update_len).sum::<usize>()
}

pub(super) fn update_len(update: &Update) -> usize {
    let accuser = accuser(update).map(|a| &**a);
    let metadata = match (&update.metadata, &update.delta) {
        (Some(metadata), _) => metadata_len(metadata),
        (None, Some(delta)) => delta_len(delta),
        (None, None) => 0,
    };
    record_len(&update.name, update.clock, accuser, metadata)
}

/// The size of a record with these fields (the status and flags take one byte; `accuser`
/// only if it is written, on a SUSPECT record), the metadata or delta taking `metadata`.
pub(super) fn record_len(name: &str, clock: u64, accuser: Option<&str>, metadata: usize) -> usize {
    let accuser = accuser.map_or(0, |name| bytes_len(name.len()));
    bytes_len(name.len()) + varint_len(clock) + 1 + accuser + metadata
}

/// The size of a *metadata* field.
pub(super) fn metadata_len(metadata: &Metadata) -> usize {
    varint_len(metadata.len() as u64)
        + metadata
            .iter()
            .map(|(key, value)| bytes_len(key.len()) + bytes_len(value.len()))
            .sum::<usize>()
}

/// The size of a delta field.
pub(super) fn delta_len(delta: &MetaDelta) -> usize {
    varint_len(delta.base)
        + 8
        + metadata_len(&delta.set)
        + varint_len(delta.removed.len() as u64)
        + delta
            .removed
            .iter()
            .map(|k| bytes_len(k.len()))
            .sum::<usize>()
}

pub(super) fn packet_len(packet: &Packet) -> usize {
    HEADER_LEN
        + source_len(&packet.source)
        + message_len(&packet.message)
        + records_len(&packet.gossip)
        + app::section_len(&packet.app)
}
