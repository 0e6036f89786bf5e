//! The control socket's protocol: one request line, then reply lines until the member
//! closes the connection.
//!
//! Every line is one JSON object ending in `\n`; payloads are base64 (standard alphabet,
//! padded). Requests:
//!
//! ```text
//! {"op":"event","name":"deploy","payload":"djI=","coalesce":false}
//! {"op":"send","member":"127.0.0.1:2002","payload":"aGk=","reliable":true}
//! {"op":"query","name":"who","payload":"","names":[],"filters":[{"key":"role","test":{"matches":"web*"}}],"ack":true,"relay":0,"timeout_ms":2000}
//! ```
//!
//! Replies: `{"reply":"ok"}` ends an event or a message; a query gets
//! `{"reply":"ack","from":M}` and `{"reply":"response","from":M,"payload":B64}` as they
//! arrive, then `{"reply":"done","acks":N,"responses":N}`. Any request may instead get
//! `{"reply":"error","usage":BOOL,"message":TEXT}` (`usage`: the request is wrong, not its
//! outcome). A request line is at most [`MAX_REQUEST_LINE`] bytes, a reply line at most
//! [`MAX_REPLY_LINE`].

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

use super::{KeyTest, QueryReply, QuerySpec};

/// Longest request line, in bytes (room for a 64 KiB payload in base64).
pub const MAX_REQUEST_LINE: usize = 128 * 1024;
/// Longest reply line, in bytes.
pub const MAX_REPLY_LINE: usize = 256 * 1024;
/// Longest query timeout a request may ask for.
pub const MAX_QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Publish a user event.
    Event {
        /// Its name.
        name: String,
        /// Its payload.
        payload: Vec<u8>,
        /// Whether a newer event of this name replaces a pending older one.
        coalesce: bool,
    },
    /// Send a direct message.
    Send {
        /// The member it goes to.
        member: String,
        /// Its payload.
        payload: Vec<u8>,
        /// Over TCP, acknowledged, rather than one datagram.
        reliable: bool,
    },
    /// Run a query and stream back what it brings.
    Query(QuerySpec),
}

/// What the member answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The request was carried out.
    Ok,
    /// The request failed.
    Error {
        /// Whether the request itself was wrong.
        usage: bool,
        /// Why.
        message: String,
    },
    /// An ack or a response to the query.
    Query(QueryReply),
    /// The query's time is over.
    Done {
        /// Acks received.
        acks: u64,
        /// Responses received.
        responses: u64,
    },
}

/// Base64 of a payload.
fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|err| format!("payload is not base64: {err}"))
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum WireRequest {
    Event {
        name: String,
        #[serde(default)]
        payload: String,
        #[serde(default)]
        coalesce: bool,
    },
    Send {
        member: String,
        #[serde(default)]
        payload: String,
        #[serde(default)]
        reliable: bool,
    },
    Query {
        name: String,
        #[serde(default)]
        payload: String,
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        filters: Vec<WireFilter>,
        #[serde(default)]
        ack: bool,
        #[serde(default)]
        relay: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFilter {
    key: String,
    test: WireTest,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum WireTest {
    Equals(String),
    Matches(String),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case", deny_unknown_fields)]
enum WireReply {
    Ok,
    Error { usage: bool, message: String },
    Ack { from: String },
    Response { from: String, payload: String },
    Done { acks: u64, responses: u64 },
}

impl Request {
    /// Parses a request line (without its `\n`); the error says what is wrong.
    pub fn parse(line: &[u8]) -> Result<Request, String> {
        let wire: WireRequest =
            serde_json::from_slice(line).map_err(|err| format!("malformed request: {err}"))?;
        Ok(match wire {
            WireRequest::Event {
                name,
                payload,
                coalesce,
            } => Request::Event {
                name,
                payload: decode(&payload)?,
                coalesce,
            },
            WireRequest::Send {
                member,
                payload,
                reliable,
            } => Request::Send {
                member,
                payload: decode(&payload)?,
                reliable,
            },
            WireRequest::Query {
                name,
                payload,
                names,
                filters,
                ack,
                relay,
                timeout_ms,
            } => {
                let timeout = timeout_ms.map(Duration::from_millis);
                if timeout.is_some_and(|t| t.is_zero() || t > MAX_QUERY_TIMEOUT) {
                    return Err(format!(
                        "timeout_ms must be from 1 to {}",
                        MAX_QUERY_TIMEOUT.as_millis()
                    ));
                }
                let filters = filters
                    .into_iter()
                    .map(|filter| {
                        let test = match filter.test {
                            WireTest::Equals(value) => KeyTest::Equals(decode(&value)?),
                            WireTest::Matches(glob) => KeyTest::Matches(glob),
                        };
                        Ok((filter.key, test))
                    })
                    .collect::<Result<_, String>>()?;
                Request::Query(QuerySpec {
                    name,
                    payload: decode(&payload)?,
                    names,
                    filters,
                    ack,
                    relay,
                    timeout,
                })
            }
        })
    }

    /// The request as one line, `\n` included.
    pub fn to_line(&self) -> Vec<u8> {
        let wire = match self {
            Request::Event {
                name,
                payload,
                coalesce,
            } => WireRequest::Event {
                name: name.clone(),
                payload: encode(payload),
                coalesce: *coalesce,
            },
            Request::Send {
                member,
                payload,
                reliable,
            } => WireRequest::Send {
                member: member.clone(),
                payload: encode(payload),
                reliable: *reliable,
            },
            Request::Query(query) => WireRequest::Query {
                name: query.name.clone(),
                payload: encode(&query.payload),
                names: query.names.clone(),
                filters: query
                    .filters
                    .iter()
                    .map(|(key, test)| WireFilter {
                        key: key.clone(),
                        test: match test {
                            KeyTest::Equals(value) => WireTest::Equals(encode(value)),
                            KeyTest::Matches(glob) => WireTest::Matches(glob.clone()),
                        },
                    })
                    .collect(),
                ack: query.ack,
                relay: query.relay,
                timeout_ms: query
                    .timeout
                    .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            },
        };
        to_line(&wire)
    }
}

impl Reply {
    /// Parses a reply line (without its `\n`).
    pub fn parse(line: &[u8]) -> Result<Reply, String> {
        let wire: WireReply =
            serde_json::from_slice(line).map_err(|err| format!("malformed reply: {err}"))?;
        Ok(match wire {
            WireReply::Ok => Reply::Ok,
            WireReply::Error { usage, message } => Reply::Error { usage, message },
            WireReply::Ack { from } => Reply::Query(QueryReply::Ack { from }),
            WireReply::Response { from, payload } => Reply::Query(QueryReply::Response {
                from,
                payload: decode(&payload)?,
            }),
            WireReply::Done { acks, responses } => Reply::Done { acks, responses },
        })
    }

    /// The reply as one line, `\n` included.
    pub fn to_line(&self) -> Vec<u8> {
        let wire = match self {
            Reply::Ok => WireReply::Ok,
            Reply::Error { usage, message } => WireReply::Error {
                usage: *usage,
                message: message.clone(),
            },
            Reply::Query(QueryReply::Ack { from }) => WireReply::Ack { from: from.clone() },
            Reply::Query(QueryReply::Response { from, payload }) => WireReply::Response {
                from: from.clone(),
                payload: encode(payload),
            },
            Reply::Done { acks, responses } => WireReply::Done {
                acks: *acks,
                responses: *responses,
            },
        };
        to_line(&wire)
    }
}

fn to_line(wire: &impl Serialize) -> Vec<u8> {
    // Plain data with string keys: serialising cannot fail.
    let mut line = serde_json::to_vec(wire).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Why a line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The line is longer than allowed.
    #[error("line longer than {0} bytes")]
    TooLong(usize),
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one line of at most `max` bytes (its `\n` not counted, and not returned); `None` at
/// the end of input before any byte. A last line without `\n` counts as a line.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, LineError> {
    let mut line = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(limit).read_until(b'\n', &mut line).await?;
    if line.last() == Some(&b'\n') {
        line.pop();
    } else if line.len() > max {
        return Err(LineError::TooLong(max));
    } else if line.is_empty() {
        return Ok(None);
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let requests = [
            Request::Event {
                name: "deploy".into(),
                payload: b"v2\n\0".to_vec(),
                coalesce: true,
            },
            Request::Send {
                member: "127.0.0.1:2002".into(),
                payload: vec![],
                reliable: true,
            },
            Request::Query(QuerySpec {
                name: "who".into(),
                payload: b"shard 7".to_vec(),
                names: vec!["a:1".into()],
                filters: vec![
                    ("role".into(), KeyTest::Equals(b"web".to_vec())),
                    ("zone".into(), KeyTest::Matches("eu-*".into())),
                ],
                ack: true,
                relay: 2,
                timeout: Some(Duration::from_millis(1500)),
            }),
        ];
        for request in requests {
            let line = request.to_line();
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            assert_eq!(Request::parse(&line[..line.len() - 1]), Ok(request));
        }
    }

    #[test]
    fn replies_round_trip() {
        let replies = [
            Reply::Ok,
            Reply::Error {
                usage: true,
                message: "no\nsuch".into(),
            },
            Reply::Query(QueryReply::Ack { from: "a:1".into() }),
            Reply::Query(QueryReply::Response {
                from: "a:1".into(),
                payload: vec![0, 255, 10],
            }),
            Reply::Done {
                acks: 3,
                responses: 2,
            },
        ];
        for reply in replies {
            let line = reply.to_line();
            assert_eq!(Reply::parse(&line[..line.len() - 1]), Ok(reply));
        }
    }

    #[test]
    fn the_shape_is_documented() {
        let line = br#"{"op":"query","name":"who","payload":"","names":[],"filters":[{"key":"role","test":{"matches":"web*"}}],"ack":true,"relay":0,"timeout_ms":2000}"#;
        let Ok(Request::Query(query)) = Request::parse(line) else {
            panic!("the documented query does not parse");
        };
        assert_eq!(query.timeout, Some(Duration::from_secs(2)));
        assert_eq!(
            Request::parse(br#"{"op":"event","name":"deploy"}"#),
            Ok(Request::Event {
                name: "deploy".into(),
                payload: vec![],
                coalesce: false
            })
        );
    }

    #[test]
    fn malformed_requests_are_errors_saying_why() {
        let cases: [(&[u8], &str); 8] = [
            (b"", "malformed request"),
            (b"not json", "malformed request"),
            (b"{\"op\":\"reboot\"}", "unknown variant"),
            (b"{\"op\":\"event\"}", "missing field `name`"),
            (
                b"{\"op\":\"event\",\"name\":\"a\",\"x\":1}",
                "unknown field",
            ),
            (
                b"{\"op\":\"event\",\"name\":\"a\",\"payload\":\"!!\"}",
                "not base64",
            ),
            (
                b"{\"op\":\"query\",\"name\":\"a\",\"timeout_ms\":0}",
                "timeout_ms must be",
            ),
            (
                b"{\"op\":\"query\",\"name\":\"a\",\"relay\":300}",
                "malformed request",
            ),
        ];
        for (line, expected) in cases {
            let err = Request::parse(line).expect_err(&String::from_utf8_lossy(line));
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
        assert!(Request::parse(&[0xff, 0xfe]).is_err());
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let mut input: &[u8] = b"abc\nabcdef\nxy";
        assert_eq!(
            read_line(&mut input, 5).await.unwrap(),
            Some(b"abc".to_vec())
        );
        assert!(matches!(
            read_line(&mut input, 5).await,
            Err(LineError::TooLong(5))
        ));
        let mut input: &[u8] = b"abcde\nxy";
        assert_eq!(
            read_line(&mut input, 5).await.unwrap(),
            Some(b"abcde".to_vec())
        );
        assert_eq!(
            read_line(&mut input, 5).await.unwrap(),
            Some(b"xy".to_vec())
        );
        assert_eq!(read_line(&mut input, 5).await.unwrap(), None);
    }
}
