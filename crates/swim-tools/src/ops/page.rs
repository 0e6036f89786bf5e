//! The status page at `/`: one table of the members, statuses coloured, metadata shown, and
//! a refresh every few seconds (a plain `<meta http-equiv="refresh">`: no script to break).

use std::fmt::Write;

use super::members::{MemberDoc, MembersDoc, Value};

/// Seconds between refreshes of the page.
pub const REFRESH_SECONDS: u32 = 2;

/// Longest metadata value shown in full; longer ones are cut (the JSON has them whole).
const VALUE_SHOWN: usize = 120;

/// The page for `doc`.
pub fn render(doc: &MembersDoc) -> String {
    let mut html = String::with_capacity(4096);
    let title = format!("swim: {}", doc.local);
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; vertical-align: top; }}
.status {{ font-weight: bold; border-radius: 0.3em; padding: 0.1em 0.5em; color: white; }}
.ONLINE {{ background: #2e7d32; }}
.SUSPECT {{ background: #ef6c00; }}
.OFFLINE {{ background: #c62828; }}
.key {{ color: #555; }}
.b64 {{ color: #777; font-style: italic; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary} &middot; <a href="/members">members as JSON</a> &middot; <a href="/metrics">metrics</a></p>
<table id="members">
<thead><tr><th>name</th><th>status</th><th>clock</th><th>since</th><th>metadata</th></tr></thead>
<tbody>
"#,
        title = escape(&title),
        summary = summary(doc),
    );
    for member in &doc.members {
        row(&mut html, member);
    }
    html.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    html
}

/// "3 members: 2 ONLINE, 1 SUSPECT".
fn summary(doc: &MembersDoc) -> String {
    let mut counts = Vec::new();
    for status in ["ONLINE", "SUSPECT", "OFFLINE"] {
        let n = doc.members.iter().filter(|m| m.status == status).count();
        if n > 0 {
            counts.push(format!("{n} {status}"));
        }
    }
    format!("{} members: {}", doc.members.len(), counts.join(", "))
}

fn row(html: &mut String, member: &MemberDoc) {
    let name = escape(&member.name);
    let local = if member.local { " (local)" } else { "" };
    // The status string comes from our own snapshot, but it is escaped like everything else.
    let status = escape(&member.status);
    let _ = write!(
        html,
        "<tr class=\"member\" data-name=\"{name}\" data-status=\"{status}\">\
         <td>{name}{local}</td><td><span class=\"status {status}\">{status}</span></td>\
         <td>{clock}</td><td>{since}</td><td>",
        clock = member.clock,
        since = escape(&member.changed_at),
    );
    match &member.metadata {
        None => html.push_str("<span class=\"b64\">unknown yet</span>"),
        Some(metadata) => {
            for (key, value) in metadata {
                let _ = write!(html, "<div><span class=\"key\">{}</span> = ", escape(key));
                match value {
                    Value::Text(text) => html.push_str(&escape(&shorten(text))),
                    Value::Base64(b64) => {
                        let _ = write!(
                            html,
                            "<span class=\"b64\">base64 {}</span>",
                            escape(&shorten(b64))
                        );
                    }
                }
                html.push_str("</div>");
            }
        }
    }
    html.push_str("</td></tr>\n");
}

/// `text` cut to [`VALUE_SHOWN`] characters, with an ellipsis if it was longer.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(VALUE_SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `text` safe inside HTML elements and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, status: &str, value: Value) -> MemberDoc {
        MemberDoc {
            name: name.into(),
            local: false,
            status: status.into(),
            clock: 1,
            changed_at: "2026-01-01T00:00:00.000Z".into(),
            metadata: Some([("k<ey>".to_owned(), value)].into_iter().collect()),
            left: false,
        }
    }

    #[test]
    fn members_are_listed_with_their_status_and_escaped_metadata() {
        let doc = MembersDoc {
            local: "a:1".into(),
            members: vec![
                member(
                    "a:1",
                    "ONLINE",
                    Value::Text("<script>alert(1)</script>".into()),
                ),
                member("b:1", "SUSPECT", Value::Base64("/wA=".into())),
            ],
        };
        let html = render(&doc);
        assert!(html.contains(r#"data-name="a:1" data-status="ONLINE""#));
        assert!(html.contains(r#"data-name="b:1" data-status="SUSPECT""#));
        assert!(html.contains("2 members: 1 ONLINE, 1 SUSPECT"));
        assert!(!html.contains("<script>"), "metadata is escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("k&lt;ey&gt;"));
        assert!(html.contains("base64 /wA="));
        assert!(html.contains(r#"http-equiv="refresh""#));
    }

    #[test]
    fn long_values_are_cut() {
        let long = "é".repeat(VALUE_SHOWN + 5);
        let short = shorten(&long);
        assert_eq!(short.chars().count(), VALUE_SHOWN + 1);
        assert!(short.ends_with('…'));
        assert_eq!(shorten("abc"), "abc");
    }
}
