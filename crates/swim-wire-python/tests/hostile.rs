//! Hostile pickles: every one is refused with an error, nothing panics, and the decoder keeps
//! decoding good packets afterwards.

mod common;

use common::{unhex, VECTORS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use swim_wire_python::limits::{MAX_MARKS, MAX_MEMO, MAX_STACK, MAX_VALUES};
use swim_wire_python::{unpickle_packet, PyWireError};

/// A good pickle (the package's Gossip about a suspect), to check the decoder afterwards.
fn good() -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    unhex(&v["packets"][3]["pickle"])
}

/// `PROTO 5` followed by the given pieces.
fn pickle(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0x80, 5];
    for piece in pieces {
        out.extend_from_slice(piece);
    }
    out
}

fn s(text: &str) -> Vec<u8> {
    let mut out = vec![0x8c, text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

fn global(module: &str, name: &str) -> Vec<u8> {
    [s(module), s(name), vec![0x93]].concat()
}

/// Decodes `data`, expects an error, and checks the good pickle still decodes.
fn refused(data: &[u8]) -> PyWireError {
    let err = unpickle_packet(data).expect_err("hostile pickle accepted");
    assert!(unpickle_packet(&good()).is_ok());
    err
}

#[test]
fn globals_outside_the_whitelist_are_refused() {
    for (module, name) in [
        ("os", "system"),
        ("builtins", "eval"),
        ("builtins", "getattr"),
        ("subprocess", "Popen"),
        ("swimprotocol.packet", "Packet"),
        ("swimprotocol.members", "Member"),
    ] {
        let data = pickle(&[&global(module, name), &s("id"), b"\x85R."]);
        assert_eq!(
            refused(&data),
            PyWireError::Global {
                module: module.into(),
                name: name.into()
            }
        );
    }
    // The text GLOBAL opcode of older protocols is not understood at all.
    let err = refused(&pickle(&[b"cos\nsystem\n", &s("id"), b"\x85R."]));
    assert!(
        matches!(err, PyWireError::Opcode { opcode: b'c', .. }),
        "{err:?}"
    );
    // Nor is a protocol-0 pickle.
    assert!(matches!(
        refused(b"cos\nsystem\n(S'id'\ntR."),
        PyWireError::Malformed { .. }
    ));
}

#[test]
fn reduce_and_newobj_only_on_what_packets_need() {
    let ping = global("swimprotocol.packet", "Ping");
    let status = global("swimprotocol.status", "Status");
    for data in [
        pickle(&[&ping, b")R."]),                    // REDUCE on a packet class
        pickle(&[&status, &s("ONLINE"), b"\x85R."]), // Status() of a str
        pickle(&[&status, b")R."]),                  // Status() without argument
        pickle(&[&status, b")\x81."]),               // NEWOBJ of Status
        pickle(&[&ping, b"K\x01\x85\x81."]),         // NEWOBJ with arguments
        pickle(&[&ping, b")\x81}b}b."]),             // BUILD twice
        pickle(&[&ping, b")\x81Nb."]),               // BUILD with a non-dict state
        pickle(&[b"}}b."]),                          // BUILD on a dict
        pickle(&[&status, b"K\x05\x85R."]),          // aggregate status value
    ] {
        assert!(
            matches!(
                refused(&data),
                PyWireError::Malformed { .. } | PyWireError::Schema(_)
            ),
            "{data:x?}"
        );
    }
}

#[test]
fn deep_nesting_is_refused() {
    let mut data = pickle(&[b")"]);
    data.extend(std::iter::repeat_n(0x85, 10_000));
    data.push(b'.');
    assert!(matches!(
        refused(&data),
        PyWireError::Limit {
            what: "nesting depth",
            ..
        }
    ));
    // {"k": {"k": {"k": ...}}}: push d0, "k", d1, "k", d2, ..., then SETITEM inside out.
    let mut dicts = pickle(&[b"}"]);
    for _ in 0..100 {
        dicts.extend_from_slice(&s("k"));
        dicts.push(b'}');
    }
    dicts.extend(std::iter::repeat_n(b's', 100));
    dicts.push(b'.');
    assert!(matches!(
        refused(&dicts),
        PyWireError::Limit {
            what: "nesting depth",
            ..
        }
    ));
}

#[test]
fn huge_lengths_are_refused_without_allocating() {
    for data in [
        pickle(&[b"X\xff\xff\xff\xff"]),    // BINUNICODE of 4 GiB
        pickle(&[b"B\xff\xff\xff\xffabc"]), // BINBYTES of 4 GiB
        pickle(&[b"\x95\xff\xff\xff\xff\xff\xff\xff\xff."]), // FRAME of 2^64 - 1
        pickle(&[b"\x8c\xffabc"]),          // SHORT_BINUNICODE past the end
    ] {
        assert!(
            matches!(refused(&data), PyWireError::Truncated(_)),
            "{data:x?}"
        );
    }
    let long = [&b"\x8a\xff"[..], &[0x11; 255], b"."].concat();
    assert!(matches!(
        refused(&pickle(&[&long])),
        PyWireError::Limit { .. }
    ));
}

#[test]
fn every_truncation_of_a_good_pickle_is_refused() {
    let good = good();
    for len in 0..good.len() {
        refused(&good[..len]);
    }
    let mut trailing = good.clone();
    trailing.push(b'N');
    assert_eq!(refused(&trailing), PyWireError::Trailing(1));
}

#[test]
fn unknown_opcodes_are_refused() {
    let known = b"\x80\x95.(\x94hjNJKM\x8a\x8cXCB)\x85}su\x93\x81Rb";
    for opcode in 0..=255u8 {
        if known.contains(&opcode) {
            continue;
        }
        let err = refused(&pickle(&[&[opcode], b"."]));
        assert_eq!(err, PyWireError::Opcode { opcode, offset: 2 });
    }
    assert_eq!(refused(b"\x80\x02N."), PyWireError::Protocol(2));
    assert!(matches!(
        refused(&pickle(&[b"\x80\x05N."])),
        PyWireError::Malformed { .. }
    ));
}

#[test]
fn memo_and_stack_abuse_is_refused() {
    for data in [
        pickle(&[b"h\x05."]),             // get of an unset memo index
        pickle(&[b"j\xff\xff\xff\xff."]), // same, long form
        pickle(&[b"\x94."]),              // memoize an empty stack
        pickle(&[b"N(s."]),               // SETITEM reaching below a MARK
        pickle(&[b"}(N."]),               // STOP with a MARK open
        pickle(&[b"NN."]),                // STOP with two values
        pickle(&[b"}(Nu."]),              // SETITEMS with an odd count
        pickle(&[b"u."]),                 // SETITEMS without MARK
        pickle(&[b"\x8c\x02\xff\xfe."]),  // invalid UTF-8
    ] {
        refused(&data);
    }
    let memo = pickle(&[b"N", &vec![0x94; MAX_MEMO + 1], b"."]);
    assert!(matches!(
        refused(&memo),
        PyWireError::Limit {
            what: "memo size",
            ..
        }
    ));
    let stack = pickle(&[&vec![b'N'; MAX_STACK + 1], b"."]);
    assert!(matches!(
        refused(&stack),
        PyWireError::Limit {
            what: "stack depth",
            ..
        }
    ));
    let marks = pickle(&[&[b'('; MAX_MARKS + 1], b"."]);
    assert!(matches!(
        refused(&marks),
        PyWireError::Limit {
            what: "open MARK",
            ..
        }
    ));
    let mut values = pickle(&[b"}"]);
    for _ in 0..MAX_VALUES / 2 + 1 {
        values.extend_from_slice(b"K\x01K\x02s"); // two ints per SETITEM, a flat stack
    }
    values.push(b'.');
    assert!(matches!(
        refused(&values),
        PyWireError::Limit {
            what: "value count",
            ..
        }
    ));
}

/// A Gossip pickle whose metadata items are `items` (pushed between MARK and SETITEMS).
fn gossip_with_metadata_items(items: &[u8]) -> Vec<u8> {
    gossip_with_metadata(&[&b"}("[..], items, b"u"].concat())
}

/// A Gossip pickle whose metadata value is written by `metadata`.
fn gossip_with_metadata(metadata: &[u8]) -> Vec<u8> {
    let source = [
        global("swimprotocol.packet", "Source"),
        b")\x81}(".to_vec(),
        s("name"),
        s("a"),
        s("validity"),
        b"C\x08AAAAAAAAub".to_vec(),
    ]
    .concat();
    pickle(&[
        &global("swimprotocol.packet", "Gossip"),
        b")\x81}(",
        &s("source"),
        &source,
        &s("name"),
        &s("n"),
        &s("clock"),
        b"K\x01",
        &s("status"),
        &global("swimprotocol.status", "Status"),
        b"K\x01\x85R",
        &s("metadata"),
        metadata,
        b"ub.",
    ])
}

#[test]
fn shared_values_cannot_amplify_the_output() {
    // One 100 KB bytes object, memoized, then used as the value of 99 more keys: 10 MB out
    // of a 100 KB pickle.
    let mut items = [&s("k0")[..], b"B\xa0\x86\x01\x00", &[0u8; 100_000], b"\x94"].concat();
    for i in 1..100 {
        items.extend_from_slice(&s(&format!("k{i}")));
        items.extend_from_slice(b"h\x00");
    }
    let data = gossip_with_metadata_items(&items);
    assert!(matches!(
        refused(&data),
        PyWireError::Limit {
            what: "decoded bytes",
            ..
        }
    ));
    // The same shape with few keys is fine: sharing itself is legal (Python shares b"").
    let few = [&s("k0")[..], b"C\x03abc\x94", &s("k1"), b"h\x00"].concat();
    let packet = unpickle_packet(&gossip_with_metadata_items(&few)).unwrap();
    let swim_wire_python::PyPacket::Gossip {
        metadata: Some(m), ..
    } = packet
    else {
        panic!("not gossip with metadata");
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m["k1"], b"abc");
}

#[test]
fn cycles_and_wrong_shapes_are_refused() {
    // The metadata dict as a value inside itself (memo 0 is that dict here).
    let cyclic = [&b"}\x94("[..], &s("self"), b"h\x00u"].concat();
    assert!(matches!(
        refused(&gossip_with_metadata(&cyclic)),
        PyWireError::Schema(_)
    ));
    // MEMOIZE right after a MARK sees nothing: the MARK fences the stack.
    let fenced = [&b"}("[..], b"\x94", &s("k"), b"C\x00u"].concat();
    assert!(matches!(
        refused(&gossip_with_metadata(&fenced)),
        PyWireError::Malformed { .. }
    ));
    let dup = [&s("k")[..], b"C\x01a", &s("k"), b"C\x01b"].concat();
    assert!(matches!(
        refused(&gossip_with_metadata_items(&dup)),
        PyWireError::Schema(_)
    ));
    let str_value = [&s("k")[..], &s("v")].concat();
    assert!(matches!(
        refused(&gossip_with_metadata_items(&str_value)),
        PyWireError::Schema(_)
    ));
    // Ping with an extra attribute smuggled into its __dict__, and Ping without a source.
    let ping = global("swimprotocol.packet", "Ping");
    let extra = pickle(&[&ping, b")\x81}(", &s("source"), b"N", &s("x"), b"Nub."]);
    assert!(matches!(refused(&extra), PyWireError::Schema(_)));
    let missing = pickle(&[&ping, b")\x81}b."]);
    assert!(matches!(refused(&missing), PyWireError::Schema(_)));
    // A packet whose source is the packet itself.
    let self_source = pickle(&[&ping, b")\x81\x94}", &s("source"), b"h\x00sb."]);
    assert!(matches!(refused(&self_source), PyWireError::Schema(_)));
}

#[test]
fn random_corruption_never_panics() {
    let good = good();
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..20_000 {
        let mut data = good.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..data.len());
            data[i] = rng.random();
        }
        let _ = unpickle_packet(&data);
    }
    for _ in 0..2_000 {
        let len = rng.random_range(0..64);
        let mut data: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        data.splice(0..0, [0x80, 5]);
        let _ = unpickle_packet(&data);
    }
    assert!(unpickle_packet(&good).is_ok());
}
