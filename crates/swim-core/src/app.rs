//! The application's own messages carried by the cluster: user events (to every member),
//! queries (to the members a filter selects, answered back to the asker) and direct
//! messages (to one member). The rules are in "Application messages" in `docs/PROTOCOL.md`.

use std::sync::Arc;
use std::time::Duration;

use crate::{MemberName, Metadata, Source};

/// Longest event or query name, in UTF-8 bytes.
pub const MAX_APP_NAME_LEN: usize = 128;
/// Largest payload of an event, a query, a response or a direct message any member accepts
/// (the configured maximum, `ProtocolConfig::max_app_payload`, is at most this).
pub const MAX_APP_PAYLOAD: usize = 64 * 1024;
/// Most member names a query's filter may list.
pub const MAX_FILTER_NAMES: usize = 64;
/// Most metadata tests a query's filter may hold.
pub const MAX_FILTER_TESTS: usize = 16;
/// Longest value or pattern of one metadata test, in bytes.
pub const MAX_TEST_LEN: usize = 255;
/// Longest time a query may be answered for.
pub const MAX_QUERY_TIMEOUT: Duration = Duration::from_secs(300);
/// Most members a response may be relayed through besides the direct answer.
pub const MAX_RELAY: u8 = 5;
/// A metadata value longer than this never matches a pattern (bounds the matching work a
/// received query can cause).
pub const MAX_MATCHED_VALUE: usize = 4096;

/// One application message spread by gossip: identified by the process that published it
/// and that process's sequence number (see [`AppMessage::id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMessage {
    /// The publishing process.
    pub origin: Source,
    /// The origin's sequence number: every message a process publishes takes the next one.
    pub seq: u64,
    /// What it says.
    pub body: AppBody,
}

/// The application's part of a packet: messages spread by gossip, and on a push-pull
/// exchange a digest of the recent ones held (see "Application messages" in
/// `docs/PROTOCOL.md`). Empty on most packets, and then it takes no bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSection {
    /// Messages piggybacked on the packet.
    pub messages: Vec<AppMessage>,
    /// Per origin process whose messages the sender holds, the highest sequence number it
    /// has seen: the receiver sends back what it holds above that.
    pub digest: Vec<(Source, u64)>,
}

impl AppSection {
    /// Whether the section is empty (and not encoded).
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.digest.is_empty()
    }
}

/// Identifies an application message: its origin process and sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppId {
    /// The publishing process.
    pub origin: Source,
    /// The origin's sequence number.
    pub seq: u64,
}

impl AppMessage {
    /// The message's identity.
    pub fn id(&self) -> AppId {
        AppId {
            origin: self.origin.clone(),
            seq: self.seq,
        }
    }

    /// The event or query name.
    pub fn name(&self) -> &str {
        match &self.body {
            AppBody::Event { name, .. } | AppBody::Query { name, .. } => name,
        }
    }

    /// The payload.
    pub fn payload(&self) -> &Arc<[u8]> {
        match &self.body {
            AppBody::Event { payload, .. } | AppBody::Query { payload, .. } => payload,
        }
    }
}

/// The kinds of application message spread by gossip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppBody {
    /// A user event, for every member's application.
    Event {
        /// The event's name.
        name: String,
        /// The event's bytes.
        payload: Arc<[u8]>,
        /// A newer event of the same name from the same origin replaces this one where it
        /// still waits to be gossiped, and an older one is not delivered after a newer.
        coalesce: bool,
    },
    /// A query: the members its filter selects hand it to their application, whose answer
    /// goes back to the origin.
    Query {
        /// The query's name.
        name: String,
        /// The query's bytes.
        payload: Arc<[u8]>,
        /// Which members answer.
        filter: QueryFilter,
        /// How long after receiving it a member may answer (the asker stops listening then).
        timeout: Duration,
        /// Whether each selected member acknowledges receipt at once.
        ack: bool,
        /// Through how many random members each answer is also relayed.
        relay: u8,
    },
}

/// A query as the application asks it (see [`crate::Swim::query`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// The query's name (checked by [`check_app_name`]).
    pub name: String,
    /// The query's bytes.
    pub payload: Arc<[u8]>,
    /// Which members answer.
    pub filter: QueryFilter,
    /// How long answers are taken (`None`: [`crate::Swim::default_query_timeout`]).
    pub timeout: Option<Duration>,
    /// Whether each selected member acknowledges receipt at once.
    pub ack: bool,
    /// Through how many random members each answer is also relayed (at most [`MAX_RELAY`]).
    pub relay: u8,
}

/// Which members a query selects: all of `names` (every member when empty) whose metadata
/// passes every test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryFilter {
    /// The members asked (empty: every member).
    pub names: Vec<MemberName>,
    /// Tests on the member's metadata, all of which must pass.
    pub metadata: Vec<(String, KeyTest)>,
}

/// A test on one metadata value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyTest {
    /// The key is present with exactly this value.
    Equals(Vec<u8>),
    /// The key is present and its value (UTF-8, at most [`MAX_MATCHED_VALUE`] bytes) matches
    /// this pattern: `*` any run of characters, `?` one character.
    Matches(String),
}

impl QueryFilter {
    /// Whether the member `name` with `metadata` is selected.
    pub fn selects(&self, name: &MemberName, metadata: &Metadata) -> bool {
        if !self.names.is_empty() && !self.names.contains(name) {
            return false;
        }
        self.metadata.iter().all(|(key, test)| {
            let Some(value) = metadata.get(key) else {
                return false;
            };
            match test {
                KeyTest::Equals(expected) => value == expected.as_slice(),
                KeyTest::Matches(pattern) => {
                    value.len() <= MAX_MATCHED_VALUE
                        && std::str::from_utf8(value)
                            .is_ok_and(|v| wildmatch::WildMatch::new(pattern).matches(v))
                }
            }
        })
    }
}

/// An answer to a query, as the asker receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    /// The member received the query (sent at once when the query asks for acks).
    Ack,
    /// The member's application answered.
    Response(Arc<[u8]>),
}

/// Why the application's message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The payload is larger than the configured maximum.
    #[error("the payload is {len} bytes, more than the maximum of {max}")]
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The name is empty, too long, or has characters outside `[A-Za-z0-9._:/-]`.
    #[error("invalid name {0:?}: 1 to 128 of A-Z a-z 0-9 . _ : / -")]
    InvalidName(String),
    /// The query's filter or options exceed a limit.
    #[error("invalid query: {0}")]
    InvalidQuery(&'static str),
    /// The member is not in the local member list, or not reachable in a format that
    /// carries application messages (the Python wire).
    #[error("unknown member {0}, or it speaks the Python wire")]
    UnknownMember(String),
    /// The query is not one this member may still answer (unknown, expired or answered).
    #[error("no query to answer (unknown, expired or already answered)")]
    NotAnswerable,
    /// Too many messages wait to be sent: try again later.
    #[error("too many messages waiting to be sent")]
    Busy,
    /// The member is leaving the cluster.
    #[error("the member is leaving the cluster")]
    Leaving,
}

/// Checks an event or query name: 1 to [`MAX_APP_NAME_LEN`] characters from
/// `[A-Za-z0-9._:/-]`, so that a name from the network is safe as a file name component or
/// a command argument.
pub fn check_app_name(name: &str) -> Result<(), AppError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_APP_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/-".contains(&b))
        && !name.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(AppError::InvalidName(name.to_owned()))
    }
}

/// Checks a query's filter and options against the limits every member applies.
pub fn check_query(filter: &QueryFilter, timeout: Duration, relay: u8) -> Result<(), AppError> {
    if filter.names.len() > MAX_FILTER_NAMES {
        return Err(AppError::InvalidQuery("more than 64 member names"));
    }
    if filter.metadata.len() > MAX_FILTER_TESTS {
        return Err(AppError::InvalidQuery("more than 16 metadata tests"));
    }
    let long = filter.metadata.iter().any(|(key, test)| {
        key.len() > crate::wire::MAX_KEY_LEN
            || match test {
                KeyTest::Equals(v) => v.len() > MAX_TEST_LEN,
                KeyTest::Matches(p) => p.len() > MAX_TEST_LEN,
            }
    });
    if long {
        return Err(AppError::InvalidQuery(
            "a metadata key over 255 bytes or a test over 255 bytes",
        ));
    }
    if timeout.is_zero() || timeout > MAX_QUERY_TIMEOUT {
        return Err(AppError::InvalidQuery("timeout not within (0, 300 s]"));
    }
    if relay > MAX_RELAY {
        return Err(AppError::InvalidQuery("relay factor above 5"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> Metadata {
        pairs.iter().map(|(k, v)| (*k, *v)).collect()
    }

    #[test]
    fn filters_select_by_name_and_metadata() {
        let a = MemberName::from("a:1");
        let b = MemberName::from("b:1");
        let m = meta(&[("role", "db"), ("zone", "eu-west-1")]);
        assert!(QueryFilter::default().selects(&a, &m));
        let names = QueryFilter {
            names: vec![b.clone()],
            metadata: vec![],
        };
        assert!(!names.selects(&a, &m) && names.selects(&b, &m));
        let eq = |k: &str, v: &str| (k.to_owned(), KeyTest::Equals(v.as_bytes().to_vec()));
        let like = |k: &str, p: &str| (k.to_owned(), KeyTest::Matches(p.to_owned()));
        let select = |tests| QueryFilter {
            names: vec![],
            metadata: tests,
        };
        assert!(select(vec![eq("role", "db")]).selects(&a, &m));
        assert!(!select(vec![eq("role", "web")]).selects(&a, &m));
        assert!(!select(vec![eq("rack", "1")]).selects(&a, &m));
        assert!(select(vec![like("zone", "eu-*"), eq("role", "db")]).selects(&a, &m));
        assert!(!select(vec![like("zone", "us-*")]).selects(&a, &m));
        let long = meta(&[("zone", &"e".repeat(MAX_MATCHED_VALUE + 1))]);
        assert!(!select(vec![like("zone", "*")]).selects(&a, &long));
    }

    #[test]
    fn names_and_queries_are_checked() {
        assert!(check_app_name("deploy/v2:ok-1_x").is_ok());
        for bad in ["", "-rf", "a b", "a;b", "é", &"x".repeat(129)] {
            assert_eq!(
                check_app_name(bad),
                Err(AppError::InvalidName(bad.to_owned()))
            );
        }
        let ok = Duration::from_secs(5);
        assert!(check_query(&QueryFilter::default(), ok, 3).is_ok());
        assert!(check_query(&QueryFilter::default(), Duration::ZERO, 0).is_err());
        assert!(check_query(&QueryFilter::default(), ok, 6).is_err());
        let many = QueryFilter {
            names: vec![MemberName::from("a:1"); 65],
            metadata: vec![],
        };
        assert!(check_query(&many, ok, 0).is_err());
    }
}
