//! `swim-sim`: runs the standard scenario on a simulated cluster and prints its figures:
//! a report for people (grouped, aligned, with units) or, with `--json`, one JSON object
//! (every field: docs/simulator.md).

mod args;
mod heap;
mod progress;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use swim_core::{Ablation, FullSyncLimits, ProtocolConfig};
use swim_sim::{
    run_standard_with_progress, HostCpu, NetworkConfig, Report, RunConfig, SimWire, Workload,
};

use crate::args::Args;

/// What is printed: the run's figures and what the process cost.
#[derive(serde::Serialize)]
struct Output {
    #[serde(flatten)]
    report: Report,
    /// Peak resident memory of the whole process, in KiB.
    peak_rss_kib: Option<u64>,
}

/// This process's peak resident set size (`VmHWM` in `/proc/self/status`), where the
/// system reports one (Linux); read here, not in the library, which knows no processes.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A value the command line checked (finite, not negative, not too large) as a duration.
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::MAX)
}

fn main() -> ExitCode {
    let args = Args::parse_checked();
    heap::configure();
    // The samples file is created before the run, so that a bad path fails at once.
    let samples = match &args.samples {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some((path.clone(), file)),
            Err(e) => {
                eprintln!("swim-sim: --samples {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    let config = run_config(&args);
    let mut display = progress::Display::new(!args.json);
    let report = run_standard_with_progress(&config, &mut |phase, p| display.observe(phase, p));
    display.finish();
    match write_output(&args, report, samples) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("swim-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The run the command line asks for.
fn run_config(args: &Args) -> RunConfig {
    let profile = ProtocolConfig::default().with_profile(args.profile);
    RunConfig {
        members: args.members,
        seed: args.seed,
        network: NetworkConfig {
            loss: args.loss,
            latency: seconds(args.latency_ms / 1000.0),
            jitter: seconds(args.jitter_ms / 1000.0),
            ..NetworkConfig::default()
        },
        start_spread: seconds(args.start_spread),
        partition: seconds(args.partition_s),
        protocol: ProtocolConfig {
            fanout: args.fanout.unwrap_or(profile.fanout),
            full_sync: FullSyncLimits {
                lists_per_period: (args.full_sync_budget)
                    .unwrap_or(profile.full_sync.lists_per_period),
                ..profile.full_sync.clone()
            },
            ablation: Ablation {
                fanout_joins: args.fanout_joins,
                join_news_retransmits: (args.join_news_retransmits)
                    .unwrap_or(profile.ablation.join_news_retransmits),
            },
            lifeguard: args.lifeguard == "on",
            suspicion_max_mult: args
                .suspicion_max_mult
                .unwrap_or(profile.suspicion_max_mult),
            suspicion_confirmations: args
                .suspicion_confirmations
                .unwrap_or(profile.suspicion_confirmations),
            offline_retention: match args.offline_retention {
                Some(s) => seconds(s),
                None => profile.offline_retention,
            },
            ..profile
        },
        slow: args.slow,
        slow_delay: Duration::from_millis(args.slow_delay_ms),
        duration: seconds(args.duration),
        quiet: seconds(args.quiet),
        wire: match &args.secret {
            Some(secret) => SimWire::Signed(secret.clone().into_bytes()),
            None if args.bytes => SimWire::Native,
            None => SimWire::Direct,
        },
        host: args.host_cpu.then(HostCpu::default),
        workload: (args.events_per_s > 0.0 || args.query_every_s > 0.0).then(|| Workload {
            events_per_s: args.events_per_s,
            event_size: args.event_size as usize,
            length: seconds(args.events_for_s),
            query_every: (args.query_every_s > 0.0).then(|| seconds(args.query_every_s)),
        }),
    }
}

/// Writes the samples file (if asked) and the report; the error says what failed.
fn write_output(
    args: &Args,
    report: Report,
    samples: Option<(std::path::PathBuf, std::fs::File)>,
) -> Result<(), String> {
    use std::io::Write;
    if let Some((path, mut file)) = samples {
        file.write_all(report.samples.to_csv().as_bytes())
            .map_err(|e| format!("--samples {}: {e}", path.display()))?;
    }
    let peak_rss_kib = peak_rss_kib();
    let text = if args.json {
        let output = Output {
            report,
            peak_rss_kib,
        };
        serde_json::to_string(&output).map_err(|e| format!("the JSON report: {e}"))? + "\n"
    } else {
        let profile = format!("{:?}", args.profile).to_lowercase();
        let context = report::Context {
            profile: &profile,
            wire: match (&args.secret, args.bytes) {
                (Some(_), _) => "signed frames (encoded, decoded)",
                (None, true) => "native bytes (encoded, decoded)",
                (None, false) => "packets handed over as sent",
            },
            partition: args.partition_s > 0.0,
            peak_rss_kib,
        };
        report::render(&report, &context)
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("standard output: {e}"))
}
