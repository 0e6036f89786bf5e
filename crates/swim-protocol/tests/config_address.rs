//! Member name parsing: every accepted form, its canonical name, and every rejected form.

use std::net::{IpAddr, Ipv6Addr};

use swim_protocol::address::{AddressError, AddressParser, Host, MemberAddress, MAX_NAME_LEN};

fn parser() -> AddressParser {
    AddressParser::new()
        .with_default_host(Host::parse("127.0.0.1").unwrap())
        .with_default_port(9999)
}

fn canonical(name: &str) -> String {
    parser().parse(name).unwrap().to_string()
}

#[test]
fn accepted_forms_and_their_canonical_names() {
    assert_eq!(canonical("127.0.0.1:2001"), "127.0.0.1:2001");
    assert_eq!(
        canonical("node-1.example.com:2001"),
        "node-1.example.com:2001"
    );
    assert_eq!(canonical("[::1]:2001"), "[::1]:2001");
    assert_eq!(canonical(":2001"), "127.0.0.1:2001");
    assert_eq!(canonical("node1"), "node1:9999");
    assert_eq!(canonical("10.0.0.7"), "10.0.0.7:9999");
    assert_eq!(canonical("[::1]"), "[::1]:9999");
    assert_eq!(canonical("localhost:65535"), "localhost:65535");
    assert_eq!(canonical("fqdn.example.:1"), "fqdn.example.:1");
    assert_eq!(canonical("svc_name:1"), "svc_name:1");
    // IPv6 literals are written in their shortest form, so one address has one name.
    assert_eq!(canonical("[0:0:0:0:0:0:0:1]:2001"), "[::1]:2001");
    assert_eq!(canonical("[FE80::A]:2001"), "[fe80::a]:2001");
    // Host names keep their case: other members compare names byte for byte.
    assert_eq!(canonical("Node1:2001"), "Node1:2001");
}

#[test]
fn parsed_parts() {
    let addr = parser().parse("[::1]:2001").unwrap();
    assert_eq!(addr.host, Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    assert_eq!(addr.port, 2001);
    assert_eq!(addr.socket_addr(), Some("[::1]:2001".parse().unwrap()));
    let addr = parser().parse("node1:7").unwrap();
    assert_eq!(addr.host, Host::Name("node1".to_owned()));
    assert_eq!(addr.socket_addr(), None);
    assert_eq!(addr.to_member_name().as_str(), "node1:7");
    // A canonical name parses back to the same address without any default.
    for name in ["127.0.0.1:1", "[::1]:2", "node1:3"] {
        let addr: MemberAddress = name.parse().unwrap();
        assert_eq!(addr.to_string(), name);
    }
}

#[test]
fn port_zero_is_syntactically_valid() {
    assert_eq!(parser().parse("127.0.0.1:0").unwrap().port, 0);
}

fn error(name: &str) -> AddressError {
    parser().parse(name).unwrap_err()
}

#[test]
fn rejected_forms() {
    assert_eq!(error(""), AddressError::Empty);
    assert!(matches!(error("[::1:2001"), AddressError::UnclosedBracket));
    assert!(matches!(error("[::1"), AddressError::UnclosedBracket));
    assert!(matches!(error("[127.0.0.1]:2001"), AddressError::BadIpv6));
    assert!(matches!(error("[node1]:2001"), AddressError::BadIpv6));
    assert!(matches!(error("[::1]2001"), AddressError::AfterBracket));
    assert!(matches!(error("[::1]:"), AddressError::MissingPort));
    assert!(matches!(error("::1"), AddressError::Ipv6NeedsBrackets));
    assert!(matches!(error("::1:2001"), AddressError::Ipv6NeedsBrackets));
    assert!(matches!(
        error("fe80::1:2001"),
        AddressError::Ipv6NeedsBrackets
    ));
    assert!(matches!(error("host:"), AddressError::MissingPort));
    assert!(matches!(error(":"), AddressError::MissingPort));
}

#[test]
fn bad_ports() {
    for name in [
        "host:65536",
        "host:99999999",
        "host:-1",
        "host:+80",
        "host: 80",
        "host:80 ",
        "host:http",
        "host:0x50",
        "[::1]:70000",
    ] {
        assert!(
            matches!(error(name), AddressError::BadPort(_)),
            "{name}: {:?}",
            error(name)
        );
    }
}

#[test]
fn bad_hosts() {
    for name in [
        "bad host:1",
        "a..b:1",
        ".a:1",
        "-a:1",
        "a-:1",
        "a/b:1",
        "user@host:1",
        "h\u{e9}llo:1",
        "a\0b:1",
    ] {
        assert!(
            matches!(error(name), AddressError::BadHost { .. }),
            "{name}: {:?}",
            error(name)
        );
    }
    let label = "a".repeat(64);
    assert!(matches!(
        error(&format!("{label}:1")),
        AddressError::BadHost { .. }
    ));
    // 254 bytes: within the name limit (the default port is added), beyond DNS's 253.
    let long = format!("{}.abcd", ["abcdefghi"; 25].join("."));
    assert_eq!(long.len(), 254);
    assert!(matches!(error(&long), AddressError::BadHost { .. }));
    assert!(matches!(
        error(&"a".repeat(256)),
        AddressError::TooLong(256)
    ));
}

#[test]
fn missing_defaults_are_errors() {
    let bare = AddressParser::new();
    assert!(matches!(
        bare.parse(":2001"),
        Err(AddressError::NoDefaultHost)
    ));
    assert!(matches!(
        bare.parse("node1"),
        Err(AddressError::NoDefaultPort)
    ));
    assert!(matches!(
        bare.parse("[::1]"),
        Err(AddressError::NoDefaultPort)
    ));
}

#[test]
fn errors_explain_themselves() {
    let message = error("::1:2001").to_string();
    assert!(message.contains("[::1]:9999"), "{message}");
    let message = error("host:").to_string();
    assert!(message.contains("missing port"), "{message}");
    let message = error("host:65536").to_string();
    assert!(
        message.contains("65536") && message.contains("0 to 65535"),
        "{message}"
    );
}

#[test]
fn host_parse() {
    assert_eq!(Host::parse("[::1]").unwrap(), Host::parse("::1").unwrap());
    assert_eq!(Host::parse("10.1.2.3").unwrap().to_string(), "10.1.2.3");
    assert!(Host::parse("").is_err());
    assert!(Host::parse("a b").is_err());
}

/// The configuration's name limit is the wire's: the longest name it accepts crosses both
/// codecs (native and the Python package's), and one byte more is refused at configuration.
#[test]
fn the_longest_accepted_name_crosses_both_wires() {
    use swim_core::wire::{NativeWire, WireFormat};
    use swim_core::{Message, Packet, Source, Status, Update, Validity};
    use swim_protocol::Config;
    use swim_wire_python::PythonWire;

    let host = format!("{}.{}", ["abcdefghi"; 24].join("."), "a".repeat(9));
    let name = format!("{host}:65535");
    assert_eq!(name.len(), MAX_NAME_LEN);
    Config::new(name.as_str()).validate().unwrap();
    let too_long = format!("a{name}");
    let err = Config::new(too_long).validate().unwrap_err().to_string();
    assert!(err.contains("at most 255"), "{err}");

    let packet = Packet {
        app: Default::default(),
        source: Source {
            name: name.as_str().into(),
            validity: Validity([3; 8]),
        },
        message: Message::Ping {
            seq: 1,
            known: 1,
            window: None,
        },
        gossip: vec![Update {
            name: name.as_str().into(),
            clock: 7,
            status: Status::Online,
            metadata: None,
            accuser: None,
            left: false,
        }],
    };
    let native = NativeWire.encode(&packet);
    assert_eq!(NativeWire.decode(&native[0]).unwrap(), packet);
    for payload in PythonWire.encode(&packet) {
        let decoded = PythonWire.decode(&payload).unwrap();
        assert_eq!(decoded.source.name.as_str(), name);
    }
}
