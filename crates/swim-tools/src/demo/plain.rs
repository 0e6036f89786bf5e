//! Output when standard output is not a terminal: one line per member, then per change.

use std::io::{self, Write};
use std::time::SystemTime;

use super::state::{LogEntry, MemberRow, View};
use super::text::time_of_day;

/// One member as a line of text, e.g. `>>> 127.0.0.1:2001 ONLINE clock=3 typed=hi`.
pub fn member_line(row: &MemberRow) -> String {
    let marker = if row.local { ">>> " } else { "" };
    let mut line = format!("{marker}{} {} clock={}", row.name, row.status, row.clock);
    match &row.metadata {
        Some(pairs) => {
            for pair in pairs {
                line.push_str(&format!(" {}={}", pair.key, pair.value));
            }
        }
        None => line.push_str(" unknown"),
    }
    line
}

/// One event as a line of text: its UTC time of day and what happened.
pub fn entry_line(entry: &LogEntry) -> String {
    format!("{} {}", time_of_day(entry.at), entry.description())
}

/// Writes the member list as it is at `at`.
pub fn write_members(out: &mut impl Write, view: &View, at: SystemTime) -> io::Result<()> {
    for row in &view.rows {
        writeln!(out, "{} {}", time_of_day(at), member_line(row))?;
    }
    out.flush()
}

/// Writes one event.
pub fn write_entry(out: &mut impl Write, entry: &LogEntry) -> io::Result<()> {
    writeln!(out, "{}", entry_line(entry))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use swim_protocol::{MemberChange, MemberName, MemberSnapshot, Status};

    use super::super::state::DemoState;
    use super::*;

    fn member(name: &str, local: bool, status: Status, typed: &[u8]) -> MemberSnapshot {
        MemberSnapshot {
            name: MemberName::from(name),
            local,
            clock: 4,
            status,
            status_time: Duration::ZERO,
            metadata: Some([("typed", typed.to_vec())].into_iter().collect()),
            left: false,
        }
    }

    #[test]
    fn members_and_changes_print_one_line_each() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_500);
        let before = member("b:2", false, Status::Online, b"x");
        let mut state =
            DemoState::new([member("a:1", true, Status::Online, b"hi"), before.clone()]);
        let mut out = Vec::new();
        write_members(&mut out, &state.view(), at).unwrap();
        let after = member("b:2", false, Status::Suspect, &[0xff]);
        let change = MemberChange {
            member: after,
            previous: before,
        };
        let entry = state.apply(&change, at).unwrap();
        write_entry(&mut out, entry).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "00:00:01.500 >>> a:1 ONLINE clock=4 typed=hi\n\
             00:00:01.500 b:2 ONLINE clock=4 typed=x\n\
             00:00:01.500 b:2 ONLINE → SUSPECT typed=ff\n"
        );
    }
}
