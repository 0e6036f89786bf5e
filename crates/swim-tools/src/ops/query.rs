//! `members`: asks a running member (its `--metrics-addr`) for its member list and prints
//! it as a table, like `serf members`, or as JSON.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use swim_protocol::StatusSet;
use tokio::net::TcpStream;

use super::members::{MemberDoc, MembersDoc, Value};

/// The longest answer read, in bytes (a member list of many thousands of members).
const MAX_ANSWER: usize = 64 << 20;

/// How long the whole question may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Widest metadata summary in the table, in characters.
const SUMMARY_WIDTH: usize = 60;

/// How to print the members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns: name, status, clock, since, metadata summary.
    #[default]
    Table,
    /// The `/members` document, filtered.
    Json,
}

/// The options of `members`.
#[derive(Debug, Clone, clap::Args)]
pub struct MembersArgs {
    /// The `--metrics-addr` of the running member to ask
    #[arg(long, value_name = "HOST:PORT", env = "SWIM_METRICS_ADDR")]
    pub addr: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Only members with this status: online, suspect, offline, available or unavailable
    #[arg(long, value_name = "STATUS")]
    pub status: Option<StatusSet>,
}

/// Runs the query and prints the answer on `out`.
pub async fn run(args: &MembersArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut doc = tokio::time::timeout(TIMEOUT, fetch(&args.addr))
        .await
        .with_context(|| format!("{} did not answer within {TIMEOUT:?}", args.addr))??;
    if let Some(statuses) = args.status {
        doc.members
            .retain(|m| m.status().is_some_and(|s| statuses.contains(s)));
    }
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)?;
        }
        Format::Table => out.write_all(table(&doc).as_bytes())?,
    }
    Ok(())
}

/// GETs `/members` from `addr`.
pub async fn fetch(addr: &str) -> anyhow::Result<MembersDoc> {
    let body = get(addr, "/members").await?;
    serde_json::from_slice(&body).with_context(|| format!("{addr} sent no member list"))
}

/// GETs `path` from the HTTP server at `addr`: the body of a successful answer (at most
/// 64 MiB), else an error.
pub async fn get(addr: &str, path: &str) -> anyhow::Result<Bytes> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake failed")?;
    let connection = tokio::spawn(connection);
    let request = Request::get(path)
        .header(hyper::header::HOST, addr)
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| anyhow::anyhow!("reading the answer: {e}"))?
        .to_bytes();
    connection.abort();
    if !status.is_success() {
        bail!("{addr} answered {status} for {path}");
    }
    Ok(body)
}

/// The members as aligned columns, a header first.
pub fn table(doc: &MembersDoc) -> String {
    let header = ["NAME", "STATUS", "CLOCK", "SINCE", "METADATA"].map(String::from);
    let rows: Vec<[String; 5]> = doc
        .members
        .iter()
        .map(|m| {
            let name = if m.local {
                format!("{} (local)", m.name)
            } else {
                m.name.clone()
            };
            [
                name,
                m.status.clone(),
                m.clock.to_string(),
                m.changed_at.clone(),
                summary(m),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `key=value` pairs, binary values as their size, cut to [`SUMMARY_WIDTH`]. Control
/// characters from the network are shown escaped (`\n`), so they cannot drive the terminal.
fn summary(member: &MemberDoc) -> String {
    let Some(metadata) = &member.metadata else {
        return "(unknown yet)".to_owned();
    };
    let pairs: Vec<String> = metadata
        .iter()
        .map(|(key, value)| match value {
            Value::Text(text) => format!("{key}={text}"),
            Value::Base64(b64) => format!("{key}=<{} bytes>", b64.len() / 4 * 3),
        })
        .collect();
    let mut text = String::new();
    for c in pairs.join(",").chars() {
        if c.is_control() {
            text.extend(c.escape_default());
        } else {
            text.push(c);
        }
    }
    match text.char_indices().nth(SUMMARY_WIDTH) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_summarises_metadata() {
        let member = |name: &str, status: &str, local: bool| MemberDoc {
            name: name.into(),
            local,
            status: status.into(),
            clock: 12,
            changed_at: "2026-01-01T00:00:00.000Z".into(),
            metadata: Some(
                [
                    ("name".to_owned(), Value::Text("one\nline".into())),
                    ("raw".to_owned(), Value::Base64("AAAA".into())),
                ]
                .into_iter()
                .collect(),
            ),
            left: false,
        };
        let doc = MembersDoc {
            local: "127.0.0.1:2001".into(),
            members: vec![
                member("127.0.0.1:2001", "ONLINE", true),
                member("127.0.0.1:2002", "SUSPECT", false),
            ],
        };
        let table = table(&doc);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("NAME                    STATUS   CLOCK"));
        assert!(lines[1].starts_with("127.0.0.1:2001 (local)  ONLINE   12"));
        assert!(lines[2].starts_with("127.0.0.1:2002          SUSPECT  12"));
        assert!(lines[2].ends_with(r"name=one\nline,raw=<3 bytes>"));
    }
}
