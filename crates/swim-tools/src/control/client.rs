//! The `event`, `query` and `send` subcommands: one request to a running member over its
//! control socket.
//!
//! Output: nothing for `event` and `send` (exit status 0 once the member accepted the event,
//! or sent the message, or, with `--reliable`, got it acknowledged). `query` prints a line
//! per answer as it arrives: `response MEMBER PAYLOAD` and, with `--ack`, `ack MEMBER`; the
//! payload as text, with invalid UTF-8 replaced and `\`, newlines, tabs and other control
//! characters escaped (`--json`: the socket's reply lines as they are, base64 payloads). A
//! count goes to standard error at the end. Exit status 1 when the member cannot be reached
//! or the request failed, 2 when it is wrong (a bad filter, a payload too large, a name the
//! library refuses).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use swim_protocol::config::parse_positive_seconds;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::wire::{read_line, Reply, Request, MAX_REPLY_LINE};
use super::{KeyTest, QueryReply, QuerySpec};

/// Largest payload read from standard input (`-`) or given as an argument.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// A request that failed: wrong (`usage`, exit status 2) or failed at run time (1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    /// Whether the request itself is wrong.
    pub usage: bool,
    /// Why.
    pub message: String,
}

impl ClientError {
    /// A wrong request.
    pub fn usage(message: impl Into<String>) -> ClientError {
        ClientError {
            usage: true,
            message: message.into(),
        }
    }

    /// A request that failed.
    pub fn failure(message: impl Into<String>) -> ClientError {
        ClientError {
            usage: false,
            message: message.into(),
        }
    }

    /// 2 for a wrong request, 1 for a failed one.
    pub fn exit_status(&self) -> u8 {
        if self.usage {
            2
        } else {
            1
        }
    }
}

/// The subcommands that talk to a running member.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MessagingCommand {
    /// Publish a user event to the cluster through a running member
    Event(EventArgs),
    /// Query the cluster through a running member; prints the answers as they arrive
    Query(QueryArgs),
    /// Send a direct message to one member through a running member
    Send(SendArgs),
}

/// Where the running member's control socket is.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ControlArg {
    /// The running member's control socket (default: see docs/messaging.md)
    #[arg(long, value_name = "PATH", env = "SWIM_CONTROL")]
    pub control: Option<PathBuf>,
}

/// `event NAME [PAYLOAD|-]`.
#[derive(Debug, Clone, clap::Args)]
pub struct EventArgs {
    /// The event's name
    pub name: String,
    /// The payload; `-` reads it from standard input; empty when left out
    pub payload: Option<String>,
    /// A newer event of this name replaces a pending older one
    #[arg(long)]
    pub coalesce: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub control: ControlArg,
}

/// `query NAME [PAYLOAD|-] [options]`.
#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// The query's name
    pub name: String,
    /// The payload; `-` reads it from standard input; empty when left out
    pub payload: Option<String>,
    /// Only members whose metadata KEY is VALUE (KEY=VALUE) or matches GLOB (KEY~GLOB)
    /// answer; repeatable, all must hold
    #[arg(long = "filter", value_name = "KEY=VALUE|KEY~GLOB", value_parser = parse_filter)]
    pub filters: Vec<(String, KeyTest)>,
    /// Only this member answers; repeatable
    #[arg(long = "name", value_name = "MEMBER")]
    pub names: Vec<String>,
    /// Seconds to collect answers (default: the member's, from the cluster's size)
    #[arg(long, value_name = "SECONDS", value_parser = parse_positive_seconds)]
    pub timeout: Option<Duration>,
    /// Members acknowledge receipt (printed as `ack MEMBER`)
    #[arg(long)]
    pub ack: bool,
    /// Responses also come back through K random members
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub relay: u8,
    /// Print the socket's JSON reply lines instead of text
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub control: ControlArg,
}

/// `send MEMBER [PAYLOAD|-] [--reliable]`.
#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// The member the message goes to
    pub member: String,
    /// The payload; `-` reads it from standard input; empty when left out
    pub payload: Option<String>,
    /// Over TCP, and fail (exit status 1) unless the member acknowledges it in time
    #[arg(long)]
    pub reliable: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub control: ControlArg,
}

/// Parses `KEY=VALUE` (equals) or `KEY~GLOB` (matches), split at the first `=` or `~`.
pub fn parse_filter(text: &str) -> Result<(String, KeyTest), String> {
    let Some(at) = text.find(['=', '~']) else {
        return Err(format!("{text:?}: expected KEY=VALUE or KEY~GLOB"));
    };
    let (key, rest) = text.split_at(at);
    if key.is_empty() {
        return Err(format!("{text:?}: the key is empty"));
    }
    let value = &rest[1..];
    let test = if rest.starts_with('=') {
        KeyTest::Equals(value.as_bytes().to_vec())
    } else {
        KeyTest::Matches(value.to_owned())
    };
    Ok((key.to_owned(), test))
}

/// The payload argument: absent is empty, `-` is standard input (at most [`MAX_PAYLOAD`]
/// bytes), anything else is itself.
pub fn read_payload(arg: Option<&str>, stdin: impl Read) -> Result<Vec<u8>, ClientError> {
    let payload = match arg {
        None => Vec::new(),
        Some("-") => {
            let mut payload = Vec::new();
            stdin
                .take(MAX_PAYLOAD as u64 + 1)
                .read_to_end(&mut payload)
                .map_err(|err| {
                    ClientError::failure(format!("cannot read standard input: {err}"))
                })?;
            payload
        }
        Some(text) => text.as_bytes().to_vec(),
    };
    if payload.len() > MAX_PAYLOAD {
        return Err(ClientError::usage(format!(
            "the payload is larger than {MAX_PAYLOAD} bytes"
        )));
    }
    Ok(payload)
}

impl MessagingCommand {
    /// The request this command makes, its payload read from `stdin` if asked.
    pub fn request(&self, stdin: impl Read) -> Result<Request, ClientError> {
        Ok(match self {
            MessagingCommand::Event(args) => Request::Event {
                name: args.name.clone(),
                payload: read_payload(args.payload.as_deref(), stdin)?,
                coalesce: args.coalesce,
            },
            MessagingCommand::Send(args) => Request::Send {
                member: args.member.clone(),
                payload: read_payload(args.payload.as_deref(), stdin)?,
                reliable: args.reliable,
            },
            MessagingCommand::Query(args) => Request::Query(QuerySpec {
                name: args.name.clone(),
                payload: read_payload(args.payload.as_deref(), stdin)?,
                names: args.names.clone(),
                filters: args.filters.clone(),
                ack: args.ack,
                relay: args.relay,
                timeout: args.timeout,
            }),
        })
    }

    /// The `--control` given, if any.
    pub fn control(&self) -> Option<&PathBuf> {
        match self {
            MessagingCommand::Event(args) => args.control.control.as_ref(),
            MessagingCommand::Query(args) => args.control.control.as_ref(),
            MessagingCommand::Send(args) => args.control.control.as_ref(),
        }
    }

    /// Runs the command against the socket at `--control`, else the one `default` finds,
    /// printing answers to `out`.
    pub async fn run(
        &self,
        default: impl FnOnce() -> Result<PathBuf, ClientError>,
        stdin: impl Read,
        out: &mut impl Write,
    ) -> Result<(), ClientError> {
        let path = match self.control() {
            Some(path) => path.clone(),
            None => default()?,
        };
        let request = self.request(stdin)?;
        let json = matches!(self, MessagingCommand::Query(args) if args.json);
        let stream = UnixStream::connect(&path).await.map_err(|err| {
            ClientError::failure(format!(
                "cannot reach a member at {}: {err} (is it running? --control gives the path)",
                path.display()
            ))
        })?;
        // The other way round too: a socket planted by another user (in a shared
        // directory) never gets the request.
        let own = nix::unistd::getuid().as_raw();
        match stream.peer_cred().map(|cred| cred.uid()) {
            Ok(uid) if uid == own => {}
            Ok(uid) => {
                return Err(ClientError::failure(format!(
                    "{} is served by uid {uid}, not by this user (uid {own}); not using it",
                    path.display()
                )))
            }
            Err(err) => {
                return Err(ClientError::failure(format!(
                    "{}: cannot tell who serves it: {err}",
                    path.display()
                )))
            }
        }
        exchange(stream, &request, json, out).await
    }
}

/// Sends `request` and handles the replies: errors become [`ClientError`]s, query answers
/// are printed to `out`.
pub async fn exchange(
    stream: UnixStream,
    request: &Request,
    json: bool,
    out: &mut impl Write,
) -> Result<(), ClientError> {
    let lost = |err: &dyn std::fmt::Display| {
        ClientError::failure(format!("the control connection failed: {err}"))
    };
    let (read, mut write) = stream.into_split();
    // A member that refuses the connection answers and closes without reading: the write
    // may fail while its answer waits to be read.
    let written = write.write_all(&request.to_line()).await;
    let mut reader = BufReader::new(read);
    let print = |out: &mut dyn Write, line: &[u8]| {
        out.write_all(line)
            .and_then(|()| out.flush())
            .map_err(|err| ClientError::failure(format!("cannot write the output: {err}")))
    };
    loop {
        let line = match read_line(&mut reader, MAX_REPLY_LINE).await {
            Ok(Some(line)) => line,
            Ok(None) => match &written {
                Err(err) => return Err(lost(err)),
                Ok(()) => return Err(lost(&"the member closed it without an answer")),
            },
            Err(err) => return Err(lost(&err)),
        };
        let reply = Reply::parse(&line).map_err(|err| lost(&err))?;
        if json && matches!(reply, Reply::Query(_) | Reply::Done { .. }) {
            print(out, &[&line[..], b"\n"].concat())?;
        }
        match reply {
            Reply::Ok => return Ok(()),
            Reply::Error { usage, message } => return Err(ClientError { usage, message }),
            Reply::Query(answer) if !json => print(out, answer_line(&answer).as_bytes())?,
            Reply::Query(_) => {}
            Reply::Done { acks, responses } => {
                eprintln!("{}, {}", count(responses, "response"), count(acks, "ack"));
                return Ok(());
            }
        }
    }
}

/// `1 ack`, `2 acks`.
fn count(n: u64, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// `response MEMBER PAYLOAD` or `ack MEMBER`, with `\n`.
pub fn answer_line(answer: &QueryReply) -> String {
    match answer {
        QueryReply::Ack { from } => format!("ack {}\n", escape(from.as_bytes())),
        QueryReply::Response { from, payload } => {
            format!("response {} {}\n", escape(from.as_bytes()), escape(payload))
        }
    }
}

/// Bytes as one line of text: invalid UTF-8 replaced, `\` and control characters escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut text = String::new();
    for c in String::from_utf8_lossy(bytes).chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            c if c.is_control() => text.extend(c.escape_default()),
            c => text.push(c),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_split_at_the_first_operator() {
        assert_eq!(
            parse_filter("role=web"),
            Ok(("role".into(), KeyTest::Equals(b"web".to_vec())))
        );
        assert_eq!(
            parse_filter("zone~eu-*"),
            Ok(("zone".into(), KeyTest::Matches("eu-*".into())))
        );
        assert_eq!(
            parse_filter("a=b~c=d"),
            Ok(("a".into(), KeyTest::Equals(b"b~c=d".to_vec())))
        );
        assert_eq!(
            parse_filter("empty="),
            Ok(("empty".into(), KeyTest::Equals(vec![])))
        );
        assert!(parse_filter("role").is_err());
        assert!(parse_filter("=web").is_err());
    }

    #[test]
    fn payloads_from_standard_input_are_bounded() {
        assert_eq!(read_payload(None, &b"ignored"[..]), Ok(vec![]));
        assert_eq!(
            read_payload(Some("hi"), &b"ignored"[..]),
            Ok(b"hi".to_vec())
        );
        assert_eq!(read_payload(Some("-"), &b"a\0b"[..]), Ok(b"a\0b".to_vec()));
        let just = vec![7; MAX_PAYLOAD];
        assert_eq!(read_payload(Some("-"), &just[..]), Ok(just.clone()));
        let over = vec![7; MAX_PAYLOAD + 1];
        let err = read_payload(Some("-"), &over[..]).unwrap_err();
        assert!(err.usage, "{err}");
        assert!(read_payload(Some(&"x".repeat(MAX_PAYLOAD + 1)), &b""[..]).is_err());
    }

    #[test]
    fn answers_print_one_line_each() {
        let response = QueryReply::Response {
            from: "127.0.0.1:2002".into(),
            payload: b"shard 7\nand\\8\xff".to_vec(),
        };
        assert_eq!(
            answer_line(&response),
            "response 127.0.0.1:2002 shard 7\\nand\\\\8\u{fffd}\n"
        );
        let ack = QueryReply::Ack { from: "a:1".into() };
        assert_eq!(answer_line(&ack), "ack a:1\n");
    }
}
