//! The pickle vocabulary this crate understands: the opcodes of protocols 4/5 that the
//! package's packets use, the whitelisted globals, and the values the decoder builds.

use swim_core::Status;

/// Index of a value in the arena.
pub(crate) type Id = usize;

/// A whitelisted global: the only callables a pickle may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Ping,
    PingReq,
    Ack,
    Gossip,
    GossipAck,
    Source,
    Status,
}

impl Class {
    /// The whitelist: `(module, name)` of every global a pickle may reference.
    pub(crate) const ALL: [(&'static str, &'static str, Class); 7] = [
        ("swimprotocol.packet", "Ping", Class::Ping),
        ("swimprotocol.packet", "PingReq", Class::PingReq),
        ("swimprotocol.packet", "Ack", Class::Ack),
        ("swimprotocol.packet", "Gossip", Class::Gossip),
        ("swimprotocol.packet", "GossipAck", Class::GossipAck),
        ("swimprotocol.packet", "Source", Class::Source),
        ("swimprotocol.status", "Status", Class::Status),
    ];

    pub(crate) fn lookup(module: &str, name: &str) -> Option<Class> {
        Class::ALL
            .iter()
            .find(|(m, n, _)| *m == module && *n == name)
            .map(|&(_, _, class)| class)
    }
}

/// A Python value as far as this decoder understands them.
#[derive(Debug)]
pub(crate) enum Value {
    None,
    Int(i128),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    Class(Class),
    /// An instance made by `NEWOBJ`; `state` is the dict given by `BUILD`.
    Object {
        class: Class,
        state: Option<Id>,
    },
    Status(Status),
}

/// The opcodes used (names as in CPython's `pickletools`).
pub(crate) mod op {
    pub const PROTO: u8 = 0x80;
    pub const FRAME: u8 = 0x95;
    pub const STOP: u8 = b'.';
    pub const MARK: u8 = b'(';
    pub const MEMOIZE: u8 = 0x94;
    pub const BINGET: u8 = b'h';
    pub const LONG_BINGET: u8 = b'j';
    pub const NONE: u8 = b'N';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const BININT2: u8 = b'M';
    pub const LONG1: u8 = 0x8a;
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE: u8 = b'X';
    pub const SHORT_BINBYTES: u8 = b'C';
    pub const BINBYTES: u8 = b'B';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const TUPLE1: u8 = 0x85;
    pub const EMPTY_DICT: u8 = b'}';
    pub const SETITEM: u8 = b's';
    pub const SETITEMS: u8 = b'u';
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const NEWOBJ: u8 = 0x81;
    pub const REDUCE: u8 = b'R';
    pub const BUILD: u8 = b'b';
}
