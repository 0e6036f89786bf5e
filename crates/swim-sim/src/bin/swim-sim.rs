//! `swim-sim`: runs the standard scenario on a simulated cluster and prints its figures.

use std::time::Duration;

use clap::Parser;
use swim_core::{Ablation, Profile, ProtocolConfig};
use swim_sim::{run_standard, HostCpu, NetworkConfig, Report, RunConfig, SimWire};

/// Simulate a SWIM cluster in virtual time and report join, spread, detection and traffic.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of members.
    #[arg(long, default_value_t = 100)]
    members: usize,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that a packet is lost (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Mean one-way latency in milliseconds.
    #[arg(long, default_value_t = 5.0)]
    latency_ms: f64,
    /// Latency jitter in milliseconds (uniform, either way).
    #[arg(long, default_value_t = 2.0)]
    jitter_ms: f64,
    /// Most virtual seconds the run may take.
    #[arg(long, default_value_t = 120.0)]
    duration: f64,
    /// Virtual seconds of quiet over which traffic is measured.
    #[arg(long, default_value_t = 20.0)]
    quiet: f64,
    /// Sign every payload with this secret, in the runtime's HMAC frame (bytes include it).
    #[arg(long)]
    secret: Option<String>,
    /// Hand packets over as sent instead of encoding and decoding them, counting their
    /// bytes exactly: the same run as `--bytes`, faster. The default for the native wire
    /// (kept so that older command lines still work). Not with --secret or --bytes.
    #[arg(long, conflicts_with_all = ["secret", "bytes"])]
    direct: bool,
    /// Encode every packet to the native format's bytes and decode it on delivery (the
    /// byte path), instead of handing it over directly (the same run, slower).
    #[arg(long, conflicts_with = "secret")]
    bytes: bool,
    /// Members start one after the other over this many seconds.
    #[arg(long, default_value_t = 0.0)]
    start_spread: f64,
    /// Protocol timings: lan, wan, local or seed.
    #[arg(long, default_value = "lan")]
    profile: Profile,
    /// Members told of a new record at once (overrides the profile's).
    #[arg(long)]
    fanout: Option<usize>,
    /// Full member lists a member sends per ping interval (overrides the default).
    #[arg(long)]
    full_sync_budget: Option<usize>,
    /// Fan out join news heard second-hand too (the rule before the join fix).
    #[arg(long)]
    fanout_joins: bool,
    /// Most times join news in a burst is gossiped (overrides the default, 0).
    #[arg(long)]
    join_news_retransmits: Option<u32>,
    /// Run every member on one shared 2-core host (swim_sim::HostCpu's defaults: the
    /// benchmark host), the launcher starting them one after the other.
    #[arg(long)]
    host_cpu: bool,
    /// Members (not member 0, nor the one that crashes) that turn slow once the metadata
    /// change has spread: they handle every packet and timer late.
    #[arg(long, default_value_t = 0)]
    slow: usize,
    /// How late a slow member handles its input, in milliseconds (jittered ±50%).
    #[arg(long, default_value_t = 1000)]
    slow_delay_ms: u64,
    /// Lifeguard (local health, nacks, dynamic suspicion): on or off.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    lifeguard: String,
    /// Lifeguard: an unconfirmed suspicion lasts this many suspect timeouts (overrides the
    /// default).
    #[arg(long)]
    suspicion_max_mult: Option<u32>,
    /// Lifeguard: confirmations that bring a suspicion down to the suspect timeout
    /// (overrides the default).
    #[arg(long)]
    suspicion_confirmations: Option<u32>,
    /// After the leave phase, cut the cluster in two halves for this many seconds, then heal
    /// it and report `heal_s` (0: no partition phase).
    #[arg(long, default_value_t = 0.0)]
    partition_s: f64,
    /// Seconds an OFFLINE member stays listed before it is forgotten (overrides the default).
    #[arg(long)]
    offline_retention: Option<f64>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the per-member times (metadata spread, crash to OFFLINE) to this CSV file,
    /// as the plots read them.
    #[arg(long)]
    samples: Option<std::path::PathBuf>,
}

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

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|e| anyhow::anyhow!("--{name}: {e}"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.members >= 1, "--members must be at least 1");
    anyhow::ensure!(args.members <= 100_000, "--members must be at most 100000");
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.loss),
        "--loss must be between 0 and 1"
    );
    anyhow::ensure!(
        args.slow == 0 || args.slow + 2 <= args.members,
        "--slow must leave member 0 and one member to crash"
    );
    let profile = ProtocolConfig::default().with_profile(args.profile);
    let config = RunConfig {
        members: args.members,
        seed: args.seed,
        network: NetworkConfig {
            loss: args.loss,
            latency: seconds("latency-ms", args.latency_ms / 1000.0)?,
            jitter: seconds("jitter-ms", args.jitter_ms / 1000.0)?,
            ..NetworkConfig::default()
        },
        start_spread: seconds("start-spread", args.start_spread)?,
        partition: seconds("partition-s", args.partition_s)?,
        protocol: ProtocolConfig {
            fanout: args.fanout.unwrap_or(profile.fanout),
            full_sync_budget: args.full_sync_budget.unwrap_or(profile.full_sync_budget),
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
                Some(s) => seconds("offline-retention", s)?,
                None => profile.offline_retention,
            },
            ..profile
        },
        slow: args.slow,
        slow_delay: Duration::from_millis(args.slow_delay_ms),
        duration: seconds("duration", args.duration)?,
        quiet: seconds("quiet", args.quiet)?,
        wire: match args.secret {
            Some(secret) => SimWire::Signed(secret.into_bytes()),
            None if args.bytes => SimWire::Native,
            None => SimWire::Direct,
        },
        host: args.host_cpu.then(HostCpu::default),
    };
    let report = run_standard(&config);
    if let Some(path) = &args.samples {
        std::fs::write(path, report.samples.to_csv())
            .map_err(|e| anyhow::anyhow!("--samples {}: {e}", path.display()))?;
    }
    let report = Output {
        report,
        peak_rss_kib: peak_rss_kib(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let value = serde_json::to_value(&report)?;
        if let Some(map) = value.as_object() {
            for (key, value) in map {
                println!("{key:>20}  {value}");
            }
        }
    }
    Ok(())
}
