//! The package's packet classes (`swimprotocol/packet.py`) as Rust values, and how an
//! unpickled object graph is checked against them.

use std::collections::BTreeMap;

use swim_core::wire::MAX_PAYLOAD;
use swim_core::Status;

use crate::unpickle::{unpickle, Unpickled};
use crate::vocab::{Class, Id, Value};
use crate::PyWireError;

/// `swimprotocol.packet.Source`: the member that created a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PySource {
    /// `name: str`, the member's `host:port`.
    pub name: String,
    /// `validity: bytes`, random per process (the package draws 8 bytes).
    pub validity: Vec<u8>,
}

/// One of the package's packet classes, with exactly its dataclass fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyPacket {
    /// `Ping(source)`.
    Ping {
        /// The sender.
        source: PySource,
    },
    /// `PingReq(source, target)`.
    PingReq {
        /// The sender.
        source: PySource,
        /// The member to probe on the sender's behalf.
        target: String,
    },
    /// `Ack(source)`: `source` is alive (the sender itself, or the target of a ping-req).
    Ack {
        /// The member shown to be alive.
        source: PySource,
    },
    /// `Gossip(source, name, clock, status, metadata)`.
    Gossip {
        /// The sender.
        source: PySource,
        /// The member the record is about.
        name: String,
        /// The record's clock.
        clock: u64,
        /// The member's status (never an aggregate).
        status: Status,
        /// The member's metadata; `None` when the sender does not know it yet.
        metadata: Option<BTreeMap<String, Vec<u8>>>,
    },
    /// `GossipAck(source, name, clock)`.
    GossipAck {
        /// The sender.
        source: PySource,
        /// The member whose record is acknowledged.
        name: String,
        /// The acknowledged clock.
        clock: u64,
    },
}

impl PyPacket {
    /// The packet's `source` field.
    pub fn source(&self) -> &PySource {
        match self {
            PyPacket::Ping { source }
            | PyPacket::PingReq { source, .. }
            | PyPacket::Ack { source }
            | PyPacket::Gossip { source, .. }
            | PyPacket::GossipAck { source, .. } => source,
        }
    }
}

/// Decodes a pickle (the payload of a datagram) into one of the package's packets, strictly:
/// only the opcodes and globals those packets need, every field present once and of the
/// right type, no other fields, and bounded work and memory.
pub fn unpickle_packet(pickle: &[u8]) -> Result<PyPacket, PyWireError> {
    let unpickled = unpickle(pickle)?;
    Reader {
        graph: &unpickled,
        budget: MAX_PAYLOAD,
    }
    .packet()
}

fn schema(what: impl Into<String>) -> PyWireError {
    PyWireError::Schema(what.into())
}

/// Walks an unpickled graph along the fixed shape of the packet classes (so the walk is
/// bounded however the graph is shared or cyclic), copying strings out against a byte
/// budget so memo sharing cannot multiply the output.
struct Reader<'a> {
    graph: &'a Unpickled,
    budget: usize,
}

impl Reader<'_> {
    fn value(&self, id: Id) -> &Value {
        &self.graph.values[id]
    }

    fn spend(&mut self, len: usize) -> Result<(), PyWireError> {
        self.budget = self.budget.checked_sub(len).ok_or(PyWireError::Limit {
            what: "decoded bytes",
            limit: MAX_PAYLOAD,
        })?;
        Ok(())
    }

    fn packet(&mut self) -> Result<PyPacket, PyWireError> {
        let (class, state) = self.object(self.graph.root)?;
        Ok(match class {
            Class::Ping => {
                let [source] = self.fields(state, ["source"])?;
                PyPacket::Ping {
                    source: self.source(source)?,
                }
            }
            Class::PingReq => {
                let [source, target] = self.fields(state, ["source", "target"])?;
                PyPacket::PingReq {
                    source: self.source(source)?,
                    target: self.string(target, "target")?,
                }
            }
            Class::Ack => {
                let [source] = self.fields(state, ["source"])?;
                PyPacket::Ack {
                    source: self.source(source)?,
                }
            }
            Class::Gossip => {
                let [source, name, clock, status, metadata] =
                    self.fields(state, ["source", "name", "clock", "status", "metadata"])?;
                PyPacket::Gossip {
                    source: self.source(source)?,
                    name: self.string(name, "name")?,
                    clock: self.clock(clock)?,
                    status: match self.value(status) {
                        Value::Status(status) => *status,
                        _ => return Err(schema("Gossip.status is not a Status")),
                    },
                    metadata: self.metadata(metadata)?,
                }
            }
            Class::GossipAck => {
                let [source, name, clock] = self.fields(state, ["source", "name", "clock"])?;
                PyPacket::GossipAck {
                    source: self.source(source)?,
                    name: self.string(name, "name")?,
                    clock: self.clock(clock)?,
                }
            }
            Class::Source | Class::Status => {
                return Err(schema("the top-level object is not a packet"))
            }
        })
    }

    /// An object built by NEWOBJ + BUILD: its class and state dict.
    fn object(&self, id: Id) -> Result<(Class, Id), PyWireError> {
        match self.value(id) {
            Value::Object {
                class,
                state: Some(state),
            } => Ok((*class, *state)),
            Value::Object { state: None, .. } => Err(schema("an object without state")),
            _ => Err(schema("expected an object")),
        }
    }

    /// The values of exactly the named keys of a state dict, in the order given.
    fn fields<const N: usize>(
        &self,
        dict: Id,
        names: [&'static str; N],
    ) -> Result<[Id; N], PyWireError> {
        let Value::Dict(entries) = self.value(dict) else {
            return Err(schema("state is not a dict"));
        };
        let mut found: [Option<Id>; N] = [None; N];
        for &(key, value) in entries {
            let Value::Str(key) = self.value(key) else {
                return Err(schema("a field name is not a string"));
            };
            let index = names.iter().position(|name| name == key).ok_or_else(|| {
                schema(format!("unexpected field {:?}", crate::error::shorten(key)))
            })?;
            if found[index].replace(value).is_some() {
                return Err(schema(format!("field {key:?} given twice")));
            }
        }
        let mut out = [0; N];
        for (i, slot) in found.iter().enumerate() {
            out[i] = slot.ok_or_else(|| schema(format!("missing field {:?}", names[i])))?;
        }
        Ok(out)
    }

    fn source(&mut self, id: Id) -> Result<PySource, PyWireError> {
        let (class, state) = self.object(id)?;
        if class != Class::Source {
            return Err(schema("source is not a Source"));
        }
        let [name, validity] = self.fields(state, ["name", "validity"])?;
        Ok(PySource {
            name: self.string(name, "Source.name")?,
            validity: self.bytes(validity, "Source.validity")?,
        })
    }

    fn string(&mut self, id: Id, what: &str) -> Result<String, PyWireError> {
        let graph = self.graph;
        match &graph.values[id] {
            Value::Str(s) => {
                self.spend(s.len())?;
                Ok(s.clone())
            }
            _ => Err(schema(format!("{what} is not a str"))),
        }
    }

    fn bytes(&mut self, id: Id, what: &str) -> Result<Vec<u8>, PyWireError> {
        let graph = self.graph;
        match &graph.values[id] {
            Value::Bytes(b) => {
                self.spend(b.len())?;
                Ok(b.clone())
            }
            _ => Err(schema(format!("{what} is not bytes"))),
        }
    }

    fn clock(&self, id: Id) -> Result<u64, PyWireError> {
        match self.value(id) {
            Value::Int(v) => {
                u64::try_from(*v).map_err(|_| schema(format!("clock {v} is not a u64")))
            }
            _ => Err(schema("clock is not an int")),
        }
    }

    fn metadata(&mut self, id: Id) -> Result<Option<BTreeMap<String, Vec<u8>>>, PyWireError> {
        let graph = self.graph;
        let entries = match &graph.values[id] {
            Value::None => return Ok(None),
            Value::Dict(entries) => entries,
            _ => return Err(schema("metadata is neither None nor a dict")),
        };
        let mut map = BTreeMap::new();
        for &(key, value) in entries {
            let key = self.string(key, "a metadata key")?;
            let value = self.bytes(value, "a metadata value")?;
            if map.insert(key, value).is_some() {
                return Err(schema("a metadata key given twice"));
            }
        }
        Ok(Some(map))
    }
}
