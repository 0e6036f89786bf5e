//! The native encoding of the application's messages: the app section after a packet's
//! records, and the query reply and direct message bodies (`docs/wire-format.md`,
//! "Application section").

use std::time::Duration;

use super::decode::Reader;
use super::primitives::{bytes_len, put_bytes, put_source, put_varint, source_len, varint_len};
use super::{tag, DecodeError, MAX_KEY_LEN};
use crate::{
    AppBody, AppMessage, AppSection, KeyTest, MemberName, Message, QueryFilter, ReplyKind, Source,
    MAX_APP_NAME_LEN, MAX_APP_PAYLOAD, MAX_FILTER_NAMES, MAX_FILTER_TESTS, MAX_QUERY_TIMEOUT,
    MAX_RELAY, MAX_TEST_LEN,
};

type Result<T> = std::result::Result<T, DecodeError>;

/// Bits of the app section's flags byte.
const HAS_MESSAGES: u8 = 0x01;
const HAS_DIGEST: u8 = 0x02;
/// Most messages in one packet's app section.
pub(super) const MAX_APP_MESSAGES: usize = 4096;
/// Most entries in one digest.
pub(super) const MAX_DIGEST_ENTRIES: usize = 64;
/// Message kinds.
const EVENT: u8 = 1;
const EVENT_COALESCE: u8 = 2;
const QUERY: u8 = 3;
/// Query flags.
const QUERY_ACK: u8 = 0x01;
/// Metadata test operators.
const EQUALS: u8 = 1;
const MATCHES: u8 = 2;
/// Reply kinds.
const REPLY_ACK: u8 = 0;
const REPLY_RESPONSE: u8 = 1;
/// The fewest bytes a message takes: source (1 + 8), seq, kind, name, payload.
const MIN_MESSAGE_LEN: usize = 13;
/// The fewest bytes a digest entry takes: source (1 + 8) and a sequence number.
const MIN_DIGEST_LEN: usize = 10;

pub(super) fn put_section(out: &mut Vec<u8>, app: &AppSection) {
    if app.is_empty() {
        return;
    }
    let mut flags = 0;
    if !app.messages.is_empty() {
        flags |= HAS_MESSAGES;
    }
    if !app.digest.is_empty() {
        flags |= HAS_DIGEST;
    }
    out.push(flags);
    if !app.messages.is_empty() {
        put_varint(out, app.messages.len() as u64);
        for message in &app.messages {
            put_app_message(out, message);
        }
    }
    if !app.digest.is_empty() {
        put_varint(out, app.digest.len() as u64);
        for (origin, highest) in &app.digest {
            put_source(out, origin);
            put_varint(out, *highest);
        }
    }
}

pub(super) fn section_len(app: &AppSection) -> usize {
    if app.is_empty() {
        return 0;
    }
    let mut len = 1;
    if !app.messages.is_empty() {
        len += varint_len(app.messages.len() as u64);
        len += app.messages.iter().map(app_message_len).sum::<usize>();
    }
    if !app.digest.is_empty() {
        len += varint_len(app.digest.len() as u64);
        len += (app.digest.iter())
            .map(|(o, h)| source_len(o) + varint_len(*h))
            .sum::<usize>();
    }
    len
}

fn put_app_message(out: &mut Vec<u8>, message: &AppMessage) {
    put_source(out, &message.origin);
    put_varint(out, message.seq);
    match &message.body {
        AppBody::Event {
            name,
            payload,
            coalesce,
        } => {
            out.push(if *coalesce { EVENT_COALESCE } else { EVENT });
            put_bytes(out, name.as_bytes());
            put_bytes(out, payload);
        }
        AppBody::Query {
            name,
            payload,
            filter,
            timeout,
            ack,
            relay,
        } => {
            out.push(QUERY);
            put_bytes(out, name.as_bytes());
            put_bytes(out, payload);
            put_varint(out, timeout.as_millis() as u64);
            out.push(if *ack { QUERY_ACK } else { 0 });
            out.push(*relay);
            put_varint(out, filter.names.len() as u64);
            for name in &filter.names {
                put_bytes(out, name.as_bytes());
            }
            put_varint(out, filter.metadata.len() as u64);
            for (key, test) in &filter.metadata {
                put_bytes(out, key.as_bytes());
                match test {
                    KeyTest::Equals(value) => {
                        out.push(EQUALS);
                        put_bytes(out, value);
                    }
                    KeyTest::Matches(pattern) => {
                        out.push(MATCHES);
                        put_bytes(out, pattern.as_bytes());
                    }
                }
            }
        }
    }
}

pub(super) fn app_message_len(message: &AppMessage) -> usize {
    let head = source_len(&message.origin) + varint_len(message.seq) + 1;
    head + match &message.body {
        AppBody::Event { name, payload, .. } => bytes_len(name.len()) + bytes_len(payload.len()),
        AppBody::Query {
            name,
            payload,
            filter,
            timeout,
            ..
        } => {
            let names = varint_len(filter.names.len() as u64)
                + filter
                    .names
                    .iter()
                    .map(|n| bytes_len(n.len()))
                    .sum::<usize>();
            let tests = varint_len(filter.metadata.len() as u64)
                + (filter.metadata.iter())
                    .map(|(key, test)| {
                        bytes_len(key.len())
                            + 1
                            + match test {
                                KeyTest::Equals(v) => bytes_len(v.len()),
                                KeyTest::Matches(p) => bytes_len(p.len()),
                            }
                    })
                    .sum::<usize>();
            bytes_len(name.len())
                + bytes_len(payload.len())
                + varint_len(timeout.as_millis() as u64)
                + 2
                + names
                + tests
        }
    }
}

/// A query reply, tag included.
pub(super) fn put_query_reply(
    out: &mut Vec<u8>,
    querier: &MemberName,
    seq: u64,
    responder: &MemberName,
    reply: &ReplyKind,
) {
    out.push(tag::QUERY_REPLY);
    put_bytes(out, querier.as_bytes());
    put_varint(out, seq);
    put_bytes(out, responder.as_bytes());
    match reply {
        ReplyKind::Ack => out.push(REPLY_ACK),
        ReplyKind::Response(payload) => {
            out.push(REPLY_RESPONSE);
            put_bytes(out, payload);
        }
    }
}

/// The size of [`put_query_reply`]'s output, tag included.
pub(super) fn query_reply_len(
    querier: &MemberName,
    seq: u64,
    responder: &MemberName,
    reply: &ReplyKind,
) -> usize {
    let reply = match reply {
        ReplyKind::Ack => 0,
        ReplyKind::Response(p) => bytes_len(p.len()),
    };
    1 + bytes_len(querier.len()) + varint_len(seq) + bytes_len(responder.len()) + 1 + reply
}

/// A direct message (`id` 0: unacknowledged), tag included.
pub(super) fn put_direct(out: &mut Vec<u8>, id: u32, payload: &[u8]) {
    out.push(tag::DIRECT);
    put_varint(out, u64::from(id));
    put_bytes(out, payload);
}

/// The size of [`put_direct`]'s output, tag included.
pub(super) fn direct_len(id: u32, payload: &[u8]) -> usize {
    1 + varint_len(u64::from(id)) + bytes_len(payload.len())
}

/// A direct message's acknowledgement, tag included.
pub(super) fn put_direct_ack(out: &mut Vec<u8>, id: u32) {
    out.push(tag::DIRECT_ACK);
    put_varint(out, u64::from(id));
}

/// The size of [`put_direct_ack`]'s output, tag included.
pub(super) fn direct_ack_len(id: u32) -> usize {
    1 + varint_len(u64::from(id))
}

impl<'a> Reader<'a> {
    /// The app section: a flags byte (never 0: an empty section is not written), then the
    /// messages and the digest it announces, each list non-empty.
    pub(super) fn app_section(&mut self) -> Result<AppSection> {
        let flags = self.byte()?;
        if flags == 0 || flags & !(HAS_MESSAGES | HAS_DIGEST) != 0 {
            return Err(DecodeError::Invalid {
                what: "app section flags",
                value: u64::from(flags),
            });
        }
        let mut app = AppSection::default();
        if flags & HAS_MESSAGES != 0 {
            let count =
                self.nonempty_count("app message count", MAX_APP_MESSAGES, MIN_MESSAGE_LEN)?;
            for _ in 0..count {
                app.messages.push(self.app_message()?);
            }
        }
        if flags & HAS_DIGEST != 0 {
            let count = self.nonempty_count("digest count", MAX_DIGEST_ENTRIES, MIN_DIGEST_LEN)?;
            for _ in 0..count {
                app.digest.push((self.source()?, self.varint()?));
            }
        }
        Ok(app)
    }

    fn nonempty_count(&mut self, what: &'static str, max: usize, min: usize) -> Result<usize> {
        let count = self.count(what, max, min)?;
        if count == 0 {
            return Err(DecodeError::Invalid { what, value: 0 });
        }
        Ok(count)
    }

    fn app_message(&mut self) -> Result<AppMessage> {
        let origin: Source = self.source()?;
        let seq = self.varint()?;
        let kind = self.byte()?;
        let name = self.str("app name", MAX_APP_NAME_LEN)?.to_owned();
        let payload = self.bytes("payload", MAX_APP_PAYLOAD)?.into();
        let body = match kind {
            EVENT | EVENT_COALESCE => AppBody::Event {
                name,
                payload,
                coalesce: kind == EVENT_COALESCE,
            },
            QUERY => {
                let millis = self.varint()?;
                if millis == 0 || millis > MAX_QUERY_TIMEOUT.as_millis() as u64 {
                    return Err(DecodeError::Invalid {
                        what: "query timeout",
                        value: millis,
                    });
                }
                let flags = self.byte()?;
                if flags & !QUERY_ACK != 0 {
                    return Err(DecodeError::Invalid {
                        what: "query flags",
                        value: u64::from(flags),
                    });
                }
                let relay = self.byte()?;
                if relay > MAX_RELAY {
                    return Err(DecodeError::TooLarge {
                        what: "relay factor",
                        value: u64::from(relay),
                    });
                }
                AppBody::Query {
                    name,
                    payload,
                    filter: self.filter()?,
                    timeout: Duration::from_millis(millis),
                    ack: flags & QUERY_ACK != 0,
                    relay,
                }
            }
            other => {
                return Err(DecodeError::Invalid {
                    what: "app message kind",
                    value: u64::from(other),
                })
            }
        };
        Ok(AppMessage { origin, seq, body })
    }

    fn filter(&mut self) -> Result<QueryFilter> {
        let mut filter = QueryFilter::default();
        let names = self.count("filter name count", MAX_FILTER_NAMES, 1)?;
        for _ in 0..names {
            filter.names.push(self.name()?);
        }
        let tests = self.count("filter test count", MAX_FILTER_TESTS, 3)?;
        for _ in 0..tests {
            let key = self.str("metadata key", MAX_KEY_LEN)?.to_owned();
            let test = match self.byte()? {
                EQUALS => KeyTest::Equals(self.bytes("test value", MAX_TEST_LEN)?.to_vec()),
                MATCHES => KeyTest::Matches(self.str("test pattern", MAX_TEST_LEN)?.to_owned()),
                other => {
                    return Err(DecodeError::Invalid {
                        what: "metadata test",
                        value: u64::from(other),
                    })
                }
            };
            filter.metadata.push((key, test));
        }
        Ok(filter)
    }

    /// The body of a query reply (after its tag).
    pub(super) fn query_reply(&mut self) -> Result<Message> {
        let querier = self.name()?;
        let seq = self.varint()?;
        let responder = self.name()?;
        let reply = match self.byte()? {
            REPLY_ACK => ReplyKind::Ack,
            REPLY_RESPONSE => ReplyKind::Response(self.bytes("payload", MAX_APP_PAYLOAD)?.into()),
            other => {
                return Err(DecodeError::Invalid {
                    what: "reply kind",
                    value: u64::from(other),
                })
            }
        };
        Ok(Message::QueryReply {
            querier,
            seq,
            responder,
            reply,
        })
    }
}
