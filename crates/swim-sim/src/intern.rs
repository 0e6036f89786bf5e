//! Shares one allocation per distinct member name and metadata map across every simulated
//! member.
//!
//! Packets really travel as bytes (each receiver decodes its own copy), so without this each
//! of N members would hold its own copy of all N names and metadata maps: at 1,000 members
//! that was about 620 of the ~1,060 bytes each record cost, most of it the B-tree leaf node
//! (~540 bytes) of a one-key metadata map. A real process holds one copy per record too, but
//! only one process's worth; the simulator holds N of them. After decoding, the engine swaps
//! every name and metadata in the packet for the shared copy of an equal value, which the
//! core cannot tell apart (`MemberName` and `Metadata` are immutable `Arc`s compared by
//! value); equal `Arc`s then also compare by pointer first, which saves the core a string
//! or map comparison on every lookup.

use std::collections::HashSet;

use swim_core::{MemberName, Message, Metadata, Packet, Update};

/// The distinct names and metadata seen so far (a few per member: bounded by the run).
#[derive(Debug, Default)]
pub(crate) struct Interner {
    names: HashSet<MemberName>,
    metadata: HashSet<Metadata>,
}

impl Interner {
    /// The shared copy of `name`, remembering it if it is new.
    pub(crate) fn name(&mut self, name: &mut MemberName) {
        match self.names.get(name) {
            Some(shared) => *name = shared.clone(),
            None => {
                self.names.insert(name.clone());
            }
        }
    }

    /// The shared copy of `metadata`, remembering it if it is new.
    pub(crate) fn shared_metadata(&mut self, metadata: Metadata) -> Metadata {
        match self.metadata.get(&metadata) {
            Some(shared) => shared.clone(),
            None => {
                self.metadata.insert(metadata.clone());
                metadata
            }
        }
    }

    fn metadata(&mut self, metadata: &mut Option<Metadata>) {
        if let Some(m) = metadata.take() {
            *metadata = Some(self.shared_metadata(m));
        }
    }

    fn update(&mut self, update: &mut Update) {
        self.name(&mut update.name);
        if let Some(accuser) = update.accuser.as_mut() {
            self.name(accuser);
        }
        self.metadata(&mut update.metadata);
    }

    /// Replaces every name and metadata in a decoded packet by its shared copy.
    pub(crate) fn packet(&mut self, packet: &mut Packet) {
        self.name(&mut packet.source.name);
        match &mut packet.message {
            Message::Ping { window, .. } => {
                window.iter_mut().flatten().for_each(|u| self.update(u))
            }
            Message::Nack { .. }
            | Message::GossipOnly
            | Message::Direct { .. }
            | Message::DirectAck { .. } => {}
            Message::QueryReply {
                querier, responder, ..
            } => {
                self.name(querier);
                self.name(responder);
            }
            Message::PingReq { target, .. } => self.name(target),
            Message::Ack { alive, window, .. } => {
                self.name(&mut alive.name);
                window.iter_mut().flatten().for_each(|u| self.update(u));
            }
            Message::Gossip(update) => self.update(update),
            Message::GossipAck { name, .. } => self.name(name),
            Message::Sync { records, .. } => records.iter_mut().for_each(|u| self.update(u)),
        }
        packet.gossip.iter_mut().for_each(|u| self.update(u));
        for message in &mut packet.app.messages {
            self.name(&mut message.origin.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swim_core::{Source, Status, Validity};

    fn packet(meta: &str) -> Packet {
        let update = Update {
            name: "10.0.0.2:7946".into(),
            clock: 3,
            status: Status::Online,
            left: false,
            metadata: Some([("version", meta)].into_iter().collect()),
            accuser: None,
        };
        Packet {
            app: Default::default(),
            source: Source {
                name: "10.0.0.1:7946".into(),
                validity: Validity::default(),
            },
            message: Message::Sync {
                reply: true,
                full: true,
                records: vec![update.clone()],
            },
            gossip: vec![update],
        }
    }

    fn meta_ptr(u: &Update) -> *const std::collections::BTreeMap<String, Vec<u8>> {
        &**u.metadata.as_ref().expect("metadata")
    }

    #[test]
    fn equal_values_share_one_allocation_and_stay_equal() {
        let mut interner = Interner::default();
        let (mut a, mut b) = (packet("1"), packet("1"));
        let original = a.clone();
        interner.packet(&mut a);
        interner.packet(&mut b);
        assert_eq!(a, original, "interning changes no value");
        assert_eq!(a, b);
        let Message::Sync { records, .. } = &b.message else {
            unreachable!()
        };
        assert_eq!(records[0].name.as_ptr(), a.gossip[0].name.as_ptr());
        assert_eq!(b.gossip[0].name.as_ptr(), a.gossip[0].name.as_ptr());
        assert_eq!(meta_ptr(&b.gossip[0]), meta_ptr(&a.gossip[0]));
        assert_eq!(b.source.name.as_ptr(), a.source.name.as_ptr());
    }

    #[test]
    fn different_values_stay_apart() {
        let mut interner = Interner::default();
        let (mut a, mut b) = (packet("1"), packet("2"));
        interner.packet(&mut a);
        interner.packet(&mut b);
        assert_ne!(meta_ptr(&b.gossip[0]), meta_ptr(&a.gossip[0]));
        assert_eq!(b.gossip[0].metadata, packet("2").gossip[0].metadata);
    }
}
