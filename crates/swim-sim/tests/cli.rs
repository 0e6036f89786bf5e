//! The `swim-sim` command line, on the binary: bad values are usage errors (exit status 2,
//! clap's message naming the option), negative numbers are values, a run that cannot write
//! its output exits 1 before running, a one-member run says what it cannot report, the report
//! for people is grouped and aligned with units, progress shows on a terminal only (and not
//! with `--json`), and every field of the JSON report is explained in docs/simulator.md.

use std::process::{Command, Output};

const SIM: &str = env!("CARGO_BIN_EXE_swim-sim");

fn sim(args: &[&str]) -> Output {
    Command::new(SIM).args(args).output().expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bad_values_are_usage_errors_that_name_the_option() {
    let cases: [(&[&str], &str); 6] = [
        (
            &["--loss", "-0.1"],
            "invalid value '-0.1' for '--loss <LOSS>': -0.1 is not a probability",
        ),
        (
            &["--loss", "2"],
            "invalid value '2' for '--loss <LOSS>': 2 is not a probability: expected 0 to 1",
        ),
        (
            &["--members", "0"],
            "invalid value '0' for '--members <MEMBERS>': expected 1 to 100000 members",
        ),
        (
            &["--latency-ms", "-5"],
            "invalid value '-5' for '--latency-ms <LATENCY_MS>': -5 is negative",
        ),
        (&["--duration", "inf"], "is not a finite number"),
        (
            &["--members", "3", "--slow", "2"],
            "--slow 2 needs at least 4 members (--members 3)",
        ),
    ];
    for (args, expected) in cases {
        let out = sim(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn an_unwritable_samples_file_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("s.csv");
    let out = sim(&["--members", "2", "--samples", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let cause = std::io::Error::from_raw_os_error(2).to_string(); // ENOENT
    assert_eq!(
        text(&out.stderr),
        format!("swim-sim: --samples {}: {cause}\n", path.display())
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn one_member_says_what_it_cannot_report() {
    let out = sim(&["--members", "1"]);
    assert_eq!(out.status.code(), Some(0));
    let report = text(&out.stdout);
    assert!(
        report.starts_with("swim-sim: 1 member, 0% loss"),
        "{report}"
    );
    assert!(
        report.contains("One member: nobody to join, to spread metadata to, to crash or to leave."),
        "{report}"
    );
    assert!(
        report.contains("all see all ONLINE                not run (needs 2 members or more)"),
        "{report}"
    );
    assert!(!report.contains("null"), "{report}");
}

#[test]
fn the_report_is_grouped_and_aligned_with_units() {
    let out = sim(&["--members", "12", "--loss", "0.05", "--quiet", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let headings: Vec<&str> = report
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .map(|l| l.split(" (").next().unwrap())
        .collect();
    assert_eq!(
        headings[1..],
        [
            "Join",
            "Spread",
            "Detection",
            "Leave",
            "Accuracy",
            "Traffic",
            "Cost"
        ],
        "{report}"
    );
    // Every figure line: two spaces, the label, and its value from one column on.
    let figures: Vec<&str> = report.lines().filter(|l| l.starts_with("  ")).collect();
    assert!(figures.len() > 12, "{report}");
    for line in &figures {
        let bytes = line.as_bytes();
        assert!(
            bytes.len() > 36 && bytes[35] == b' ' && bytes[36] != b' ',
            "not aligned: {line:?}\n{report}"
        );
    }
    for unit in [" s\n", " /s\n", " B/s", " MiB (", " packets, "] {
        assert!(report.contains(unit), "no {unit:?}:\n{report}");
    }
    assert!(report.contains("12 members, 5% loss"), "{report}");
    assert!(
        out.stderr.is_empty(),
        "progress off a terminal: {}",
        text(&out.stderr)
    );
}

/// Runs `swim-sim ARGS` on a pseudo-terminal (util-linux's `script`); what it showed.
fn on_a_terminal(args: &str) -> Option<String> {
    let found = Command::new("script").arg("--version").output();
    if found.is_err() {
        eprintln!("notice: progress on a terminal not checked: no `script` (util-linux)");
        return None;
    }
    let out = Command::new("script")
        .args(["-qec", &format!("{SIM} {args}"), "/dev/null"])
        .output()
        .expect("script runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    Some(text(&out.stdout))
}

#[test]
fn progress_shows_on_a_terminal_and_not_with_json() {
    if let Some(screen) = on_a_terminal("--members 300 --quiet 1") {
        assert!(
            screen.contains("start: 0.0 s virtual, 1 of 300 members started"),
            "{screen}"
        );
        assert!(screen.contains("Join (every member starts"), "{screen}");
    }
    if let Some(screen) = on_a_terminal("--members 300 --quiet 1 --json") {
        assert!(!screen.contains("members started"), "{screen}");
        assert!(screen.trim_start().starts_with('{'), "{screen}");
    }
}

#[test]
fn every_json_field_is_explained_in_docs_simulator_md() {
    let out = sim(&["--members", "3", "--quiet", "2", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "--json is silent on stderr");
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/simulator.md"
    ))
    .expect("docs/simulator.md");
    let fields = value.as_object().expect("an object");
    assert!(fields.len() > 30);
    let missing: Vec<&String> = fields
        .keys()
        .filter(|key| !docs.contains(&format!("| `{key}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "not in docs/simulator.md's table: {missing:?}"
    );
}
