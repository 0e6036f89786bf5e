//! The message vocabulary exchanged between members, independent of any wire format.
//!
//! It expresses the seed's five packet kinds (ping, ping-req, ack, gossip, gossip-ack) plus
//! the messages of our own protocol (gossip piggybacked on every packet, push-pull sync and
//! its windows riding on probes, Lifeguard's nack). How each is tagged on the wire is the
//! codec's business (`docs/wire-format.md`).

use std::sync::Arc;

use crate::{AppSection, MemberName, MetaDelta, Metadata, ReplyKind, Status, Validity};

/// Identifies the process that created a packet: its name and its validity bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// The sending member's name.
    pub name: MemberName,
    /// The sending process's validity bytes.
    pub validity: Validity,
}

/// One member's state as disseminated: the newest record wins (see `docs/PROTOCOL.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The member the record is about.
    pub name: MemberName,
    /// The logical clock of the record.
    pub clock: u64,
    /// The member's status in the record.
    pub status: Status,
    /// The member's metadata, if known to the sender.
    pub metadata: Option<Metadata>,
    /// For a SUSPECT record: a member whose own probe found `name` unresponsive (the one
    /// that raised the suspicion, or one that confirmed it). Lifeguard counts distinct
    /// accusers to shorten the suspicion; `None` on any other record and on the Python wire.
    pub accuser: Option<MemberName>,
    /// The member announced that it left the cluster (graceful leave). Only meaningful with
    /// [`Status::Offline`]: such a record makes the member OFFLINE at once, without a
    /// suspicion (see "Graceful leave" in `docs/PROTOCOL.md`).
    pub left: bool,
    /// The member's latest metadata change instead of its whole map (native wire only; then
    /// `metadata` is `None` on the wire). A receiver that holds the map the change was made
    /// to fills `metadata` in before applying the record (see [`MetaDelta`]). Boxed: few
    /// records carry one, and a record without costs 8 bytes instead of 40 (a full member
    /// list in flight holds one record per member).
    pub delta: Option<Box<MetaDelta>>,
}

/// What a packet asks or says, besides the gossip it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Are you alive? Answered with [`Message::Ack`].
    Ping {
        /// Sequence number echoed in the ack (0 where the wire format has none).
        seq: u32,
        /// How many members the sender knows a record of (0: no hint). A cheap digest: a
        /// receiver that knows fewer asks the sender for its whole member list.
        known: u32,
        /// A push-pull window riding on the probe (native wire only): records rotating
        /// through the sender's table, which the receiver applies as pushed and answers in
        /// its ack's window. Anti-entropy rides on probes, so it costs no datagrams of its
        /// own (see "Joining and anti-entropy" in `docs/PROTOCOL.md`).
        window: Option<Vec<Update>>,
    },
    /// Please ping `target` for me and forward its ack.
    PingReq {
        /// Sequence number to echo in the forwarded ack.
        seq: u32,
        /// The member to probe.
        target: MemberName,
    },
    /// `alive` answered a ping (directly, or forwarded by an intermediary).
    Ack {
        /// The sequence number of the ping or ping-req answered.
        seq: u32,
        /// The member shown to be alive.
        alive: Source,
        /// How many members the sender knows a record of (0: no hint), as in `Ping`.
        known: u32,
        /// The answer to a ping's push-pull window (native wire only): the answering
        /// member's newer versions of the records pushed, then a window of its own.
        window: Option<Vec<Update>>,
    },
    /// The seed's dissemination: one record, to be acknowledged with [`Message::GossipAck`].
    Gossip(Update),
    /// The seed's acknowledgement of a [`Message::Gossip`].
    GossipAck {
        /// The member the acknowledged record was about.
        name: MemberName,
        /// The clock of the acknowledged record.
        clock: u64,
    },
    /// Nothing but the piggybacked gossip (sent when updates are pending).
    GossipOnly,
    /// Lifeguard's negative acknowledgement: a member relaying our ping-req for `seq` has not
    /// heard from the target yet. It proves the relay and the path to it work, so a missing
    /// nack says more about us than about the target. Native wire only.
    Nack {
        /// The sequence number of the ping-req that is not answered yet.
        seq: u32,
    },
    /// Push-pull anti-entropy: the sender's records; a request is answered with a reply.
    Sync {
        /// Whether this answers a sync request.
        reply: bool,
        /// Whether the sender wants (request) or gives (reply) its whole member list.
        full: bool,
        /// Records pushed by the sender.
        records: Vec<Update>,
    },
    /// An answer to a query (native wire only): sent to the querier by the responder, or
    /// to a relay, which forwards it to the querier once.
    QueryReply {
        /// The member that asked.
        querier: MemberName,
        /// The query's sequence number at the querier.
        seq: u64,
        /// The member that answered.
        responder: MemberName,
        /// An acknowledgement or the response.
        reply: ReplyKind,
    },
    /// An application's message to this one member (native wire only). `id` 0: best
    /// effort; otherwise the receiver answers with [`Message::DirectAck`].
    Direct {
        /// The sender's number for an acknowledged message (0: none wanted).
        id: u32,
        /// The application's bytes.
        payload: Arc<[u8]>,
    },
    /// The receipt of a [`Message::Direct`] with a non-zero `id`.
    DirectAck {
        /// The acknowledged message's number.
        id: u32,
    },
}

impl Message {
    /// A ping without a window.
    pub fn ping(seq: u32, known: u32) -> Message {
        Message::Ping {
            seq,
            known,
            window: None,
        }
    }

    /// An ack without a window.
    pub fn ack(seq: u32, alive: Source, known: u32) -> Message {
        Message::Ack {
            seq,
            alive,
            known,
            window: None,
        }
    }

    /// The records the message itself carries (a sync's, or a window riding on a probe),
    /// besides the packet's gossip.
    pub fn records(&self) -> &[Update] {
        match self {
            Message::Sync { records, .. } => records,
            Message::Ping { window, .. } | Message::Ack { window, .. } => {
                window.as_deref().unwrap_or_default()
            }
            _ => &[],
        }
    }

    /// Takes the push-pull window off a ping or an ack, if it carries one.
    pub fn take_window(&mut self) -> Option<Vec<Update>> {
        match self {
            Message::Ping { window, .. } | Message::Ack { window, .. } => window.take(),
            _ => None,
        }
    }
}

/// A packet: who sent it, what it says, and the gossip piggybacked on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The process that created the packet.
    pub source: Source,
    /// The request or answer.
    pub message: Message,
    /// Records piggybacked on the packet.
    pub gossip: Vec<Update>,
    /// The application's messages piggybacked after the records (native wire only).
    pub app: AppSection,
}

impl Transmit {
    /// Whether the packet must go over a stream (an acknowledged direct message).
    pub fn reliable(&self) -> bool {
        matches!(self.packet.message, Message::Direct { id, .. } if id != 0)
    }
}

/// A packet the driver must send to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The destination member's name (its address).
    pub to: MemberName,
    /// The packet.
    pub packet: Packet,
    /// The wire format to send it in. A driver that speaks one format only may ignore it:
    /// it differs from that format only under [`Wire::Auto`](crate::Wire).
    pub wire: PeerWire,
}

/// The wire format a packet came in or is to be sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerWire {
    /// Ours (`docs/wire-format.md`).
    Native,
    /// The Python package's (swim-protocol 0.6.3): no nacks, no left flag, no encryption.
    Python,
}

impl PeerWire {
    /// The other format.
    pub fn other(self) -> PeerWire {
        match self {
            PeerWire::Native => PeerWire::Python,
            PeerWire::Python => PeerWire::Native,
        }
    }
}
