//! Decoding what the real package produced (committed vectors, no Python needed).

mod common;

use common::{packet_from_desc, unhex, VECTORS};
use serde_json::Value;
use swim_core::wire::WireFormat;
use swim_core::{Message, Status};
use swim_wire_python::{
    default_secret, pickle_packet, to_core, unpack, unpickle_packet, PyPacket, PyWireError,
    PythonWire,
};

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

#[test]
fn vectors_come_from_the_right_package() {
    let v = vectors();
    assert_eq!(v["version"], "0.6.3");
    assert_eq!(v["pickle_protocol"], 5);
    assert!(v["packets"].as_array().unwrap().len() >= 10);
}

#[test]
fn python_pickles_decode_to_the_described_packets() {
    let v = vectors();
    for item in v["packets"].as_array().unwrap() {
        let name = &item["name"];
        let expected = packet_from_desc(&item["packet"]);
        let decoded = unpickle_packet(&unhex(&item["pickle"]));
        assert_eq!(decoded.as_ref(), Ok(&expected), "vector {name}");
        // Our own pickle of the same packet decodes to it as well.
        assert_eq!(
            unpickle_packet(&pickle_packet(&expected)),
            Ok(expected),
            "{name}"
        );
    }
}

#[test]
fn python_datagrams_unpack_to_their_pickles() {
    let v = vectors();
    let secret = v["secret"].as_str().unwrap().as_bytes();
    for item in v["packets"].as_array().unwrap() {
        let packed = unhex(&item["packed"]);
        assert_eq!(
            unpack(secret, &packed),
            Ok(&unhex(&item["pickle"])[..]),
            "vector {}",
            item["name"]
        );
        assert_eq!(unpack(b"wrong", &packed), Err(PyWireError::BadSignature));
    }
}

#[test]
fn python_packets_map_to_core_messages() {
    let v = vectors();
    let wire = PythonWire;
    let by_name = |name: &str| {
        let item = v["packets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["name"] == name)
            .unwrap();
        wire.decode(&unhex(&item["pickle"])).unwrap()
    };
    let ping = by_name("ping");
    assert_eq!(
        ping.message,
        Message::Ping {
            seq: 0,
            known: 0,
            window: None
        }
    );
    assert_eq!(ping.source.name.as_str(), "127.0.0.1:2001");
    assert_eq!(ping.source.validity.0, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(ping.gossip.is_empty());

    let ack = by_name("ack");
    assert_eq!(ack.source.name.as_str(), "[::1]:7000");
    assert_eq!(
        ack.message,
        Message::Ack {
            seq: 0,
            alive: ack.source.clone(),
            known: 0,
            window: None
        }
    );

    let Message::PingReq { seq: 0, target } = by_name("ping_req").message else {
        panic!("not a ping-req");
    };
    assert_eq!(target.as_str(), "127.0.0.1:2002");

    let Message::Gossip(update) = by_name("gossip_suspect").message else {
        panic!("not gossip");
    };
    assert_eq!(
        (update.name.as_str(), update.clock, update.status),
        ("127.0.0.1:2003", 5, Status::Suspect)
    );
    let metadata = update.metadata.unwrap();
    assert_eq!(metadata.get("a").map(Vec::as_slice), Some(&b"x"[..]));
    assert_eq!(metadata.get("b").map(Vec::as_slice), Some(&b""[..]));

    let Message::Gossip(update) = by_name("gossip_unknown_metadata").message else {
        panic!("not gossip");
    };
    assert_eq!((update.status, update.metadata), (Status::Offline, None));
    let Message::Gossip(update) = by_name("gossip_empty_metadata").message else {
        panic!("not gossip");
    };
    assert_eq!(update.metadata.map(|m| m.len()), Some(0));

    assert_eq!(
        by_name("gossip_ack_4294967296").message,
        Message::GossipAck {
            name: "m".into(),
            clock: 1 << 32
        }
    );
}

#[test]
fn python_pickles_outside_our_model_are_refused() {
    let v = vectors();
    for item in v["rejects"].as_array().unwrap() {
        let name = item["name"].as_str().unwrap();
        let result = unpickle_packet(&unhex(&item["pickle"]));
        assert!(
            matches!(result, Err(PyWireError::Schema(_))),
            "{name}: {result:?}"
        );
    }
}

#[test]
fn validity_of_another_length_is_refused_by_the_core_mapping() {
    let mut packet = packet_from_desc(&vectors()["packets"][0]["packet"]);
    let PyPacket::Ping { source } = &mut packet else {
        panic!("first vector is a ping");
    };
    source.validity = vec![1, 2, 3];
    assert_eq!(to_core(packet.clone()), Err(PyWireError::ValidityLength(3)));
    let err = PythonWire.decode(&pickle_packet(&packet)).unwrap_err();
    assert!(err.to_string().contains("8 bytes"), "{err}");
}

#[test]
fn default_secrets_match_the_package() {
    let v = vectors();
    for item in v["default_secrets"].as_array().unwrap() {
        let node = item["node"].as_u64().unwrap();
        assert_eq!(
            default_secret(node),
            item["secret"].as_str().unwrap().as_bytes(),
            "node {node:#x}"
        );
    }
}
