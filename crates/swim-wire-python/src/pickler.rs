//! Writes the package's packets as protocol-5 pickles that Python's unpickler turns into the
//! same objects `pickle.dumps(packet, 5)` would: `NEWOBJ` of the dataclass with `()`, then
//! `BUILD` with its field dict; `Status(n)` via `REDUCE`. No memo is written (it is optional
//! for the reader), and the whole body is one frame.

use swim_core::Status;

use crate::model::{PyPacket, PySource};
use crate::vocab::op::*;

/// The protocol the package uses: `pickle.HIGHEST_PROTOCOL` (5 on Python 3.8 and later).
pub const PICKLE_PROTOCOL: u8 = 5;
/// Items per `SETITEMS` batch, as in CPython's pickler (keeps the reader's stack small).
const BATCH: usize = 1000;
const BINUNICODE8: u8 = 0x8d;
const BINBYTES8: u8 = 0x8e;

/// The value of a status in `swimprotocol.status.Status` (an `enum.Flag` with `auto()`).
pub fn status_value(status: Status) -> u8 {
    match status {
        Status::Online => 1,
        Status::Offline => 2,
        Status::Suspect => 4,
    }
}

/// Pickles one packet as the package's class.
pub fn pickle_packet(packet: &PyPacket) -> Vec<u8> {
    let mut body = Vec::with_capacity(256);
    let w = &mut body;
    let (class, source) = match packet {
        PyPacket::Ping { source } => ("Ping", source),
        PyPacket::PingReq { source, .. } => ("PingReq", source),
        PyPacket::Ack { source } => ("Ack", source),
        PyPacket::Gossip { source, .. } => ("Gossip", source),
        PyPacket::GossipAck { source, .. } => ("GossipAck", source),
    };
    new_object(w, "swimprotocol.packet", class);
    w.push(EMPTY_DICT);
    w.push(MARK);
    string(w, "source");
    write_source(w, source);
    match packet {
        PyPacket::Ping { .. } | PyPacket::Ack { .. } => {}
        PyPacket::PingReq { target, .. } => {
            string(w, "target");
            string(w, target);
        }
        PyPacket::Gossip {
            name,
            clock,
            status,
            metadata,
            ..
        } => {
            string(w, "name");
            string(w, name);
            string(w, "clock");
            int(w, *clock);
            string(w, "status");
            global(w, "swimprotocol.status", "Status");
            int(w, u64::from(status_value(*status)));
            w.extend([TUPLE1, REDUCE]);
            string(w, "metadata");
            match metadata {
                None => w.push(NONE),
                Some(map) => {
                    w.push(EMPTY_DICT);
                    let items: Vec<_> = map.iter().collect();
                    for batch in items.chunks(BATCH) {
                        w.push(MARK);
                        for (key, value) in batch {
                            string(w, key);
                            bytes(w, value);
                        }
                        w.push(SETITEMS);
                    }
                }
            }
        }
        PyPacket::GossipAck { name, clock, .. } => {
            string(w, "name");
            string(w, name);
            string(w, "clock");
            int(w, *clock);
        }
    }
    w.extend([SETITEMS, BUILD, STOP]);
    let mut out = Vec::with_capacity(body.len() + 11);
    out.extend([PROTO, PICKLE_PROTOCOL, FRAME]);
    out.extend((body.len() as u64).to_le_bytes());
    out.extend(body);
    out
}

fn write_source(w: &mut Vec<u8>, source: &PySource) {
    new_object(w, "swimprotocol.packet", "Source");
    w.push(EMPTY_DICT);
    w.push(MARK);
    string(w, "name");
    string(w, &source.name);
    string(w, "validity");
    bytes(w, &source.validity);
    w.extend([SETITEMS, BUILD]);
}

fn global(w: &mut Vec<u8>, module: &str, name: &str) {
    string(w, module);
    string(w, name);
    w.push(STACK_GLOBAL);
}

/// `cls.__new__(cls)`, what `copyreg.__newobj__` does for a dataclass.
fn new_object(w: &mut Vec<u8>, module: &str, name: &str) {
    global(w, module, name);
    w.extend([EMPTY_TUPLE, NEWOBJ]);
}

fn string(w: &mut Vec<u8>, s: &str) {
    counted(w, s.as_bytes(), SHORT_BINUNICODE, BINUNICODE, BINUNICODE8);
}

fn bytes(w: &mut Vec<u8>, b: &[u8]) {
    counted(w, b, SHORT_BINBYTES, BINBYTES, BINBYTES8);
}

/// Writes a length-prefixed string or bytes with the shortest opcode that fits.
fn counted(w: &mut Vec<u8>, data: &[u8], short: u8, long: u8, huge: u8) {
    if let Ok(len) = u8::try_from(data.len()) {
        w.extend([short, len]);
    } else if let Ok(len) = u32::try_from(data.len()) {
        w.push(long);
        w.extend(len.to_le_bytes());
    } else {
        w.push(huge);
        w.extend((data.len() as u64).to_le_bytes());
    }
    w.extend_from_slice(data);
}

/// Writes a non-negative int the way CPython's pickler does.
fn int(w: &mut Vec<u8>, v: u64) {
    if let Ok(v) = u8::try_from(v) {
        w.extend([BININT1, v]);
    } else if let Ok(v) = u16::try_from(v) {
        w.push(BININT2);
        w.extend(v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        w.push(BININT);
        w.extend(v.to_le_bytes());
    } else {
        // Two's complement, little-endian, with room for a sign bit: bit_length // 8 + 1.
        let len = (64 - v.leading_zeros() as usize) / 8 + 1;
        let digits = u128::from(v).to_le_bytes();
        w.extend([LONG1, len as u8]);
        w.extend_from_slice(&digits[..len]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::unpickle_packet;

    fn source() -> PySource {
        PySource {
            name: "127.0.0.1:1".into(),
            validity: vec![9; 8],
        }
    }

    #[test]
    fn ints_round_trip_at_every_width() {
        for clock in [
            0,
            255,
            256,
            65535,
            65536,
            i32::MAX as u64,
            1 << 31,
            1 << 32,
            1 << 63,
            u64::MAX,
        ] {
            let packet = PyPacket::GossipAck {
                source: source(),
                name: "m".into(),
                clock,
            };
            assert_eq!(unpickle_packet(&pickle_packet(&packet)), Ok(packet));
        }
    }

    #[test]
    fn many_metadata_items_are_batched() {
        let map = (0..2500)
            .map(|i| (format!("k{i}"), vec![1u8; i % 3]))
            .collect();
        let packet = PyPacket::Gossip {
            source: source(),
            name: "n".repeat(300),
            clock: 1,
            status: Status::Suspect,
            metadata: Some(map),
        };
        // 5000 keys and values in one SETITEMS would overflow the reader's stack limit.
        assert_eq!(unpickle_packet(&pickle_packet(&packet)), Ok(packet));
    }
}
