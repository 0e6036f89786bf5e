//! The report for people: the run's figures grouped (join, spread, detection, leave,
//! partition, accuracy, traffic, cost), one per line, aligned, each with its unit, and what a
//! phase that did not happen or did not finish means. `--json` prints the same figures as
//! one object instead (docs/simulator.md explains each field).

use std::fmt::Write;

use swim_sim::Report;

/// What the report says besides the library's figures.
pub struct Context<'a> {
    /// The protocol profile's name (`lan`, ...).
    pub profile: &'a str,
    /// How packets were carried: `direct`, `native bytes` or `signed frames`.
    pub wire: &'a str,
    /// Whether a partition phase was asked for (`--partition-s`).
    pub partition: bool,
    /// Peak resident memory of the process, in KiB, where the system says.
    pub peak_rss_kib: Option<u64>,
}

/// Width of the label column.
const LABEL: usize = 34;

/// A section of the report, built line by line.
struct Section {
    text: String,
}

impl Section {
    fn heading(&mut self, title: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let _ = writeln!(self.text, "{title}");
    }

    fn line(&mut self, label: &str, value: impl AsRef<str>) {
        let _ = writeln!(self.text, "  {label:<LABEL$}{}", value.as_ref());
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.text, "  {text}");
    }
}

/// Seconds with the precision the figure has: `8.3 s`, `0.03 s`.
fn secs(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.1} s")
    } else if value >= 1.0 {
        format!("{value:.2} s")
    } else {
        format!("{value:.3} s")
    }
}

/// A time, or why there is none: `missing` says it.
fn time_or(value: Option<f64>, missing: &str) -> String {
    value.map_or_else(|| missing.to_owned(), secs)
}

/// An integer with thousands separators: `12,345`.
fn count(value: u64) -> String {
    let digits = value.to_string();
    let first = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let (head, rest) = digits.split_at(first);
    let mut out = head.to_owned();
    for group in rest.as_bytes().chunks(3) {
        out.push(',');
        out.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
    out
}

/// A size in KiB as MiB or GiB.
fn memory(kib: u64) -> String {
    let mib = kib as f64 / 1024.0;
    if mib >= 1024.0 {
        format!("{:.1} GiB ({} KiB)", mib / 1024.0, count(kib))
    } else {
        format!("{mib:.1} MiB ({} KiB)", count(kib))
    }
}

/// The report of `report`, as printed without `--json`.
pub fn render(report: &Report, context: &Context<'_>) -> String {
    let n = report.members;
    let mut s = Section {
        text: String::new(),
    };
    let _ = writeln!(
        s.text,
        "swim-sim: {} member{}, {}% loss, seed {}, {} profile, {}, Lifeguard {}",
        count(n as u64),
        if n == 1 { "" } else { "s" },
        (report.loss * 1000.0).round() / 10.0,
        report.seed,
        context.profile,
        context.wire,
        if report.lifeguard { "on" } else { "off" }
    );
    if n == 1 {
        s.note("One member: nobody to join, to spread metadata to, to crash or to leave.");
        s.note("Only the cost figures mean something; the others are reported as not run.");
    }
    let not_run = |needs: usize| format!("not run (needs {needs} members or more)");
    let unfinished = "not reached within the run (see --duration)";

    s.heading("Join (every member starts, seeded with member 0)");
    if n < 2 {
        s.line("all see all ONLINE", not_run(2));
    } else {
        s.line("all see all ONLINE", time_or(report.join_s, unfinished));
    }
    s.line("last member started at", secs(report.last_start_s));
    s.line(
        "sent per member until joined",
        format!(
            "{} packets, {} bytes",
            count(report.join_packets_per_member as u64),
            count(report.join_bytes_per_member as u64)
        ),
    );
    s.line(
        "TCP sends (over the MTU)",
        format!(
            "{} ({} dropped: too many in flight)",
            count(report.join_tcp_sends),
            count(report.join_tcp_dropped)
        ),
    );
    if report.join_host_dropped > 0 {
        s.line(
            "datagrams dropped by the host",
            count(report.join_host_dropped),
        );
    }

    s.heading("Spread (member 0 changes its metadata)");
    if n < 2 {
        s.line("reached the others", not_run(2));
    } else {
        let none = "no member reached";
        s.line(
            "reached half of them (p50)",
            time_or(report.meta_p50_s, none),
        );
        s.line("reached 99% (p99)", time_or(report.meta_p99_s, none));
        s.line(
            "reached all of them",
            time_or(report.meta_max_s, unfinished),
        );
    }

    s.heading("Detection (one member crashes)");
    if n < 2 {
        s.line("first SUSPECT anywhere", not_run(2));
    } else {
        s.line(
            "first SUSPECT anywhere",
            time_or(report.first_detect_s, unfinished),
        );
        s.line(
            "OFFLINE at every member",
            time_or(report.all_offline_s, unfinished),
        );
    }

    s.heading("Leave (one member leaves gracefully)");
    if n < 3 {
        s.line("OFFLINE (left) everywhere", not_run(3));
    } else {
        s.line(
            "OFFLINE (left) everywhere",
            time_or(report.leave_s, unfinished),
        );
        s.line(
            "suspected on the way",
            format!("{} times", count(report.leave_suspected)),
        );
    }

    if context.partition {
        s.heading("Partition (two halves, then healed)");
        if n < 2 {
            s.line("all ONLINE again after the heal", not_run(2));
        } else {
            s.line(
                "all ONLINE again after the heal",
                time_or(report.heal_s, "not healed within the phase"),
            );
        }
    }

    s.heading("Accuracy (live, reachable members marked down)");
    s.line(
        "false SUSPECT / OFFLINE",
        format!(
            "{} / {}",
            count(report.false_suspect),
            count(report.false_offline)
        ),
    );
    if report.slow > 0 {
        s.line(
            "  of members neither slow nor crashed",
            format!(
                "{} / {}",
                count(report.false_suspect_healthy),
                count(report.false_offline_healthy)
            ),
        );
        s.line(
            "slow members",
            format!(
                "{} (handling input {} ms late)",
                report.slow, report.slow_delay_ms
            ),
        );
    }

    s.heading("Traffic (quiet period, per member)");
    if n < 2 {
        s.line("packets and bytes sent", not_run(2));
    } else {
        traffic(&mut s, report);
    }
    cost(&mut s, report, context);
    s.text
}

/// The traffic lines.
fn traffic(s: &mut Section, report: &Report) {
    s.line(
        "packets sent",
        format!("{:.2} /s", report.msgs_per_member_s),
    );
    s.line(
        "bytes sent",
        format!(
            "{} B/s{}",
            count(report.bytes_per_member_s as u64),
            if report.signed {
                " (signed frames)"
            } else {
                ""
            }
        ),
    );
    s.line(
        "gossip queues empty",
        match report.settle_s {
            Some(t) => format!("{} after the metadata change spread", secs(t)),
            None => "not within 60 s (the quiet figures include the backlog)".to_owned(),
        },
    );
    if report.rejected_payloads > 0 {
        s.line(
            "payloads rejected (expected 0)",
            count(report.rejected_payloads),
        );
    }
}

/// The cost lines.
fn cost(s: &mut Section, report: &Report, context: &Context<'_>) {
    s.heading("Cost");
    s.line("virtual time", secs(report.virtual_s));
    let [join, spread, settle, quiet, detect] = report.wall_phases_s;
    s.line(
        "wall-clock time",
        format!(
            "{} (join {join:.2}, spread {spread:.2}, settle {settle:.2}, quiet {quiet:.2}, \
             detection and after {detect:.2})",
            secs(report.wall_s)
        ),
    );
    s.line(
        "peak memory (whole process)",
        context
            .peak_rss_kib
            .map_or_else(|| "not reported by this system".to_owned(), memory),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_easily() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(11_174_048), "11,174,048");
        assert_eq!(secs(25.34), "25.3 s");
        assert_eq!(secs(8.3), "8.30 s");
        assert_eq!(secs(0.03), "0.030 s");
        assert_eq!(memory(2048), "2.0 MiB (2,048 KiB)");
        assert_eq!(memory(11_174_048), "10.7 GiB (11,174,048 KiB)");
    }
}
