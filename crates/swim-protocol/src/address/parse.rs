//! Member names as network addresses: parsing `host:port`, `[v6]:port`, `:port` and `host`.
//!
//! A member's name is the address others use to reach it. [`AddressParser`] turns a name into a
//! [`MemberAddress`], filling a missing host or port from its defaults, and the address's
//! `Display` is the name's canonical form (`host:port`, or `[v6]:port` for IPv6 literals).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use swim_core::MemberName;

/// Longest name accepted, in bytes: the native wire format's limit, so that every name the
/// configuration accepts can be sent to and decoded by every peer. Names may come from the
/// network, so they are bounded before anything else is done.
pub const MAX_NAME_LEN: usize = swim_core::wire::MAX_NAME_LEN;

const MAX_HOST_NAME_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Why a name is not a usable address. The messages name the part at fault, not the whole
/// name: whoever reports the error says which name it was (see
/// [`ConfigError::Address`](crate::ConfigError::Address)), so it is said once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The name is the empty string.
    #[error("empty address")]
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("address is {0} bytes long, at most {MAX_NAME_LEN} are allowed")]
    TooLong(usize),
    /// `[` without a matching `]`.
    #[error("unclosed '[' in address")]
    UnclosedBracket,
    /// Text between `[` and `]` that is not an IPv6 address.
    #[error("only an IPv6 address may be written between '[' and ']'")]
    BadIpv6,
    /// Something other than `:port` after `]`.
    #[error("expected ':port' or nothing after ']'")]
    AfterBracket,
    /// Several colons outside brackets, as in an IPv6 address written bare.
    #[error("an IPv6 address must be written in brackets, as in [::1]:9999")]
    Ipv6NeedsBrackets,
    /// A name ending with `:` (as in `host:`).
    #[error("missing port number after ':'")]
    MissingPort,
    /// A port that is not a number from 0 to 65535.
    #[error("port {0:?} is not a number from 0 to 65535")]
    BadPort(String),
    /// Port 0, which cannot be reached.
    #[error("port 0 cannot be reached")]
    ZeroPort,
    /// A host that is neither an IP address nor a valid host name.
    #[error("host {host:?} is not a valid host name ({reason})")]
    BadHost {
        /// The host text.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A name without host (`:port`) and no default host configured.
    #[error("no host given and no default host is configured")]
    NoDefaultHost,
    /// A name without port (`host`) and no default port configured.
    #[error("no port given and no default port is configured")]
    NoDefaultPort,
}

/// The host part of an address: an IP literal, or a name to resolve with DNS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A host name, as written (DNS is case-insensitive, but names are kept as the user wrote
    /// them because other members, the seed's included, compare names byte for byte).
    Name(String),
}

impl Host {
    /// Parses a bare host: an IPv4 address, an IPv6 address (bare or in brackets) or a host
    /// name made of letters, digits, `-` and `_` in dot-separated labels.
    ///
    /// ```
    /// use swim_protocol::address::Host;
    /// assert_eq!(Host::parse("::1").unwrap().to_string(), "::1");
    /// assert_eq!(Host::parse("node-1.local").unwrap(), Host::Name("node-1.local".into()));
    /// assert!(Host::parse("bad host").is_err());
    /// ```
    pub fn parse(host: &str) -> Result<Host, AddressError> {
        if host.len() > MAX_NAME_LEN {
            return Err(AddressError::TooLong(host.len()));
        }
        let unbracketed = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = IpAddr::from_str(unbracketed) {
            return Ok(Host::Ip(ip));
        }
        check_host_name(host)?;
        Ok(Host::Name(host.to_owned()))
    }
}

impl fmt::Display for Host {
    /// IPv6 addresses are written bare here; [`MemberAddress`] adds the brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

pub(crate) fn check_host_name(host: &str) -> Result<(), AddressError> {
    let bad = |reason| {
        Err(AddressError::BadHost {
            host: host.to_owned(),
            reason,
        })
    };
    if host.is_empty() {
        return bad("empty");
    }
    if host.len() > MAX_HOST_NAME_LEN {
        return bad("longer than 253 bytes");
    }
    // One trailing dot marks a fully qualified name.
    let labels = host.strip_suffix('.').unwrap_or(host);
    for label in labels.split('.') {
        if label.is_empty() {
            return bad("empty label");
        }
        if label.len() > MAX_LABEL_LEN {
            return bad("label longer than 63 bytes");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return bad("only letters, digits, '-', '_' and '.' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label cannot start or end with '-'");
        }
    }
    Ok(())
}

/// A member's address: host and port. Its `Display` is the canonical member name.
///
/// ```
/// use swim_protocol::address::MemberAddress;
/// let addr: MemberAddress = "[::1]:2001".parse().unwrap();
/// assert_eq!(addr.port, 2001);
/// assert_eq!(addr.to_string(), "[::1]:2001");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberAddress {
    /// Where the member runs.
    pub host: Host,
    /// Its UDP and TCP port.
    pub port: u16,
}

impl MemberAddress {
    /// The address of an IP and port.
    pub fn from_socket_addr(addr: SocketAddr) -> Self {
        MemberAddress {
            host: Host::Ip(addr.ip()),
            port: addr.port(),
        }
    }

    /// The socket address, if the host is an IP literal (no DNS needed).
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }

    /// The canonical member name of this address.
    pub fn to_member_name(&self) -> MemberName {
        MemberName::from(self.to_string())
    }

    /// The port-0 rule: an address with port 0 (bind any free port) takes the port that was
    /// actually bound, so that the member's name is one others can reach.
    pub(crate) fn with_bound_port(mut self, bound: u16) -> Self {
        if self.port == 0 {
            self.port = bound;
        }
        self
    }
}

impl fmt::Display for MemberAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            host => write!(f, "{host}:{}", self.port),
        }
    }
}

impl FromStr for MemberAddress {
    type Err = AddressError;

    /// Parses a complete `host:port` or `[v6]:port` (no defaults).
    fn from_str(s: &str) -> Result<Self, AddressError> {
        AddressParser::new().parse(s)
    }
}

/// Parses member names, with the defaults for a missing host or port (as the seed's
/// `AddressParser`).
///
/// | name            | result                          |
/// |-----------------|---------------------------------|
/// | `host:port`     | `host`, `port`                  |
/// | `[v6addr]:port` | IPv6 address, `port`            |
/// | `[v6addr]`      | IPv6 address, default port      |
/// | `:port`         | default host, `port`            |
/// | `host`          | `host`, default port            |
///
/// An IPv6 address without brackets, `host:` and bad ports are errors.
///
/// ```
/// use swim_protocol::address::{AddressParser, Host};
/// let parser = AddressParser::new()
///     .with_default_host(Host::parse("127.0.0.1").unwrap())
///     .with_default_port(9999);
/// assert_eq!(parser.parse(":2001").unwrap().to_string(), "127.0.0.1:2001");
/// assert_eq!(parser.parse("node1").unwrap().to_string(), "node1:9999");
/// assert!(parser.parse("::1:2001").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressParser {
    /// Host of names written `:port`; `None` makes them an error.
    pub default_host: Option<Host>,
    /// Port of names written without one; `None` makes them an error.
    pub default_port: Option<u16>,
}

impl AddressParser {
    /// A parser without defaults: names must have a host and a port.
    pub fn new() -> Self {
        AddressParser::default()
    }

    /// Sets the host used for names written `:port`.
    #[must_use]
    pub fn with_default_host(mut self, host: Host) -> Self {
        self.default_host = Some(host);
        self
    }

    /// Sets the port used for names written without one.
    #[must_use]
    pub fn with_default_port(mut self, port: u16) -> Self {
        self.default_port = Some(port);
        self
    }

    /// Parses `name` into an address. Port 0 is accepted here (a local member may bind an
    /// ephemeral port); callers that need to reach the address reject it.
    pub fn parse(&self, name: &str) -> Result<MemberAddress, AddressError> {
        if name.is_empty() {
            return Err(AddressError::Empty);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(AddressError::TooLong(name.len()));
        }
        let (host, port) = if let Some(rest) = name.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return Err(AddressError::UnclosedBracket);
            };
            let ip = Ipv6Addr::from_str(inside).map_err(|_| AddressError::BadIpv6)?;
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return Err(AddressError::AfterBracket),
                },
            };
            (Some(Host::Ip(IpAddr::V6(ip))), port)
        } else {
            match name.split_once(':') {
                Some((_, port)) if port.contains(':') => {
                    return Err(AddressError::Ipv6NeedsBrackets);
                }
                Some(("", port)) => (None, Some(port)),
                Some((host, port)) => (Some(parse_unbracketed_host(host)?), Some(port)),
                None => (Some(parse_unbracketed_host(name)?), None),
            }
        };
        let port = match port {
            Some("") => return Err(AddressError::MissingPort),
            Some(port) => parse_port(port)?,
            None => self.default_port.ok_or(AddressError::NoDefaultPort)?,
        };
        let host = match host {
            Some(host) => host,
            None => self
                .default_host
                .clone()
                .ok_or(AddressError::NoDefaultHost)?,
        };
        Ok(MemberAddress { host, port })
    }
}

fn parse_unbracketed_host(host: &str) -> Result<Host, AddressError> {
    if let Ok(ip) = Ipv4Addr::from_str(host) {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    check_host_name(host)?;
    Ok(Host::Name(host.to_owned()))
}

fn parse_port(port: &str) -> Result<u16, AddressError> {
    let bad = || AddressError::BadPort(port.to_owned());
    // `u16::from_str` accepts a leading '+'; a port is digits only.
    if port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    port.parse().map_err(|_| bad())
}
