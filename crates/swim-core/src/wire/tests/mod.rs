//! Tests of the native wire format: properties over arbitrary packets, hostile payloads and
//! fixed test vectors.

mod hostile;
mod vectors;

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

use super::{decode, encode, encoded_len, update_len, DecodeError};
use std::time::Duration;

use crate::{
    AppBody, AppMessage, AppSection, KeyTest, MemberName, Message, MetaDelta, Metadata, Packet,
    QueryFilter, ReplyKind, Source, Status, Update, Validity,
};

fn name() -> impl Strategy<Value = MemberName> {
    // Mostly short names in any script, sometimes ones at or near the 255-byte limit.
    prop_oneof![
        4 => "\\PC{0,12}",
        1 => "[a-z0-9.:-]{250,255}",
    ]
    .prop_map(MemberName::from)
}

fn clock() -> impl Strategy<Value = u64> {
    prop_oneof![0..300u64, any::<u64>()]
}

fn source() -> impl Strategy<Value = Source> {
    (name(), any::<[u8; 8]>()).prop_map(|(name, validity)| Source {
        name,
        validity: Validity(validity),
    })
}

fn metadata() -> impl Strategy<Value = Metadata> {
    btree_map("\\PC{0,8}", vec(any::<u8>(), 0..40), 0..4).prop_map(Metadata::new)
}

fn status() -> impl Strategy<Value = Status> {
    prop::sample::select(Status::ALL.to_vec())
}

/// A delta for a record of `clock` (its base is below it), or `None` at clock 0.
fn delta(clock: u64) -> impl Strategy<Value = Option<MetaDelta>> {
    let removed = btree_set("\\PC{0,8}", 0..4);
    (0..clock.max(1), any::<u64>(), metadata(), removed).prop_map(
        move |(base, digest, set, removed)| {
            let removed: Vec<String> = (removed.into_iter())
                .filter(|k| !set.contains_key(k))
                .collect();
            (clock > 0).then(|| MetaDelta {
                base,
                digest,
                set,
                removed: removed.into(),
            })
        },
    )
}

pub(super) fn update() -> impl Strategy<Value = Update> {
    (
        name(),
        clock(),
        status(),
        prop::option::of(metadata()),
        prop::option::of(name()),
        any::<bool>(),
    )
        .prop_flat_map(|(name, clock, status, metadata, accuser, left)| {
            // A map or a delta, never both.
            let delta = if metadata.is_none() {
                prop::option::of(delta(clock))
                    .prop_map(Option::flatten)
                    .boxed()
            } else {
                Just(None).boxed()
            };
            delta.prop_map(move |delta| Update {
                name: name.clone(),
                clock,
                status,
                metadata: metadata.clone(),
                // Only a suspicion carries an accuser on the wire.
                accuser: accuser.clone().filter(|_| status == Status::Suspect),
                // Only an OFFLINE record can say the member left.
                left: left && status == Status::Offline,
                delta: delta.map(Box::new),
            })
        })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u32>(), any::<u32>()).prop_map(|(seq, known)| Message::Ping {
            seq,
            known,
            window: None
        }),
        (any::<u32>(), name()).prop_map(|(seq, target)| Message::PingReq { seq, target }),
        (any::<u32>(), source(), any::<u32>()).prop_map(|(seq, alive, known)| Message::Ack {
            seq,
            alive,
            known,
            window: None
        }),
        update().prop_map(Message::Gossip),
        (name(), clock()).prop_map(|(name, clock)| Message::GossipAck { name, clock }),
        Just(Message::GossipOnly),
        any::<u32>().prop_map(|seq| Message::Nack { seq }),
        (any::<u32>(), any::<u32>(), vec(update(), 0..6)).prop_map(|(seq, known, records)| {
            Message::Ping {
                seq,
                known,
                window: Some(records),
            }
        }),
        (any::<u32>(), source(), any::<u32>(), vec(update(), 0..6)).prop_map(
            |(seq, alive, known, records)| Message::Ack {
                seq,
                alive,
                known,
                window: Some(records),
            }
        ),
        (any::<bool>(), any::<bool>(), vec(update(), 0..6)).prop_map(|(reply, full, records)| {
            Message::Sync {
                reply,
                full,
                records,
            }
        }),
        (name(), any::<u64>(), name(), prop::option::of(payload())).prop_map(
            |(querier, seq, responder, response)| Message::QueryReply {
                querier,
                seq,
                responder,
                reply: response.map_or(ReplyKind::Ack, ReplyKind::Response),
            }
        ),
        (any::<u32>(), payload()).prop_map(|(id, payload)| Message::Direct { id, payload }),
        any::<u32>().prop_map(|id| Message::DirectAck { id }),
    ]
}

fn payload() -> impl Strategy<Value = std::sync::Arc<[u8]>> {
    vec(any::<u8>(), 0..64).prop_map(Into::into)
}

fn app_name() -> impl Strategy<Value = String> {
    "[a-z0-9._:/-]{1,20}"
}

fn filter() -> impl Strategy<Value = QueryFilter> {
    let test = prop_oneof![
        vec(any::<u8>(), 0..10).prop_map(KeyTest::Equals),
        "[a-z*?]{0,10}".prop_map(KeyTest::Matches),
    ];
    (vec(name(), 0..3), vec(("\\PC{0,8}", test), 0..3))
        .prop_map(|(names, metadata)| QueryFilter { names, metadata })
}

fn app_message() -> impl Strategy<Value = AppMessage> {
    let event = (app_name(), payload(), any::<bool>()).prop_map(|(name, payload, coalesce)| {
        AppBody::Event {
            name,
            payload,
            coalesce,
        }
    });
    let query = (
        app_name(),
        payload(),
        filter(),
        1..300_000u64,
        any::<bool>(),
        0..=5u8,
    )
        .prop_map(
            |(name, payload, filter, millis, ack, relay)| AppBody::Query {
                name,
                payload,
                filter,
                timeout: Duration::from_millis(millis),
                ack,
                relay,
            },
        );
    (source(), any::<u64>(), prop_oneof![event, query]).prop_map(|(origin, seq, body)| AppMessage {
        origin,
        seq,
        body,
    })
}

fn app_section() -> impl Strategy<Value = AppSection> {
    prop_oneof![
        2 => Just(AppSection::default()),
        1 => (vec(app_message(), 0..3), vec((source(), any::<u64>()), 0..3))
            .prop_map(|(messages, digest)| AppSection { messages, digest }),
    ]
}

pub(super) fn packet() -> impl Strategy<Value = Packet> {
    (source(), message(), vec(update(), 0..5), app_section()).prop_map(
        |(source, message, gossip, app)| Packet {
            source,
            message,
            gossip,
            app,
        },
    )
}

/// Decodes `bytes` and, when that succeeds, checks that they are the one encoding of the
/// result: the format is canonical.
fn decode_is_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(packet) = decode(bytes) {
        prop_assert_eq!(encode(&packet), bytes);
    }
    Ok(())
}

proptest! {
    #[test]
    fn a_snapshot_measures_as_its_update(u in update()) {
        let mut table = crate::table::Table::default();
        let (i, _) = table.get_or_insert(&u.name, false, std::time::Duration::ZERO);
        table.set_clock(i, u.clock);
        let entry = table.entry_mut(i);
        entry.set_status(u.status, std::time::Duration::ZERO);
        entry.replace_metadata(u.metadata.clone());
        entry.set_left(u.left);
        let len = super::snapshot_len(table.entry(i), u.accuser.as_deref(), u.delta.as_deref());
        prop_assert_eq!(len, update_len(&u));
    }

    #[test]
    fn every_packet_round_trips(packet in packet()) {
        let bytes = encode(&packet);
        prop_assert_eq!(bytes.len(), encoded_len(&packet));
        prop_assert_eq!(decode(&bytes), Ok(packet));
    }

    #[test]
    fn update_len_is_what_an_update_adds_to_a_packet(packet in packet(), extra in update()) {
        let mut grown = packet.clone();
        grown.gossip.push(extra.clone());
        let added = encode(&grown).len() - encode(&packet).len();
        prop_assert_eq!(added, update_len(&extra));
    }

    #[test]
    fn every_truncation_is_an_error(packet in packet()) {
        let bytes = encode(&packet);
        // The app section is optional: cut right before it, the payload is the packet
        // without it (the frame's length and signature guard against such a cut).
        let mut bare = packet.clone();
        bare.app = AppSection::default();
        let bare_len = encoded_len(&bare);
        for end in 0..bytes.len() {
            if end == bare_len {
                prop_assert_eq!(decode(&bytes[..end]), Ok(bare.clone()));
            } else {
                prop_assert_eq!(decode(&bytes[..end]), Err(DecodeError::Truncated), "cut at {}", end);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        decode_is_canonical(&bytes)?;
    }

    #[test]
    fn arbitrary_bodies_never_panic(body in vec(any::<u8>(), 0..256)) {
        // Behind a valid header, so the decoder gets past the magic and version.
        let mut bytes = b"SW\x01".to_vec();
        bytes.extend_from_slice(&body);
        decode_is_canonical(&bytes)?;
    }

    #[test]
    fn mutated_packets_never_panic(
        packet in packet(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&packet);
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        decode_is_canonical(&bytes)?;
    }
}

#[test]
fn metadata_encoding_does_not_depend_on_insertion_order() {
    let forward: Metadata = [("a", "1"), ("b", "2"), ("c", "3")].into_iter().collect();
    let backward: Metadata = [("c", "3"), ("b", "2"), ("a", "1")].into_iter().collect();
    let record = |metadata| Update {
        name: "m".into(),
        clock: 1,
        status: Status::Online,
        metadata: Some(metadata),
        accuser: None,
        left: false,
        delta: None,
    };
    let packet = |metadata| Packet {
        app: Default::default(),
        source: Source {
            name: "s".into(),
            validity: Validity::default(),
        },
        message: Message::Gossip(record(metadata)),
        gossip: vec![],
    };
    assert_eq!(encode(&packet(forward)), encode(&packet(backward)));
}
