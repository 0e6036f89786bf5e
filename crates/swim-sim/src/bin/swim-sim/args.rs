//! The command line: every value checked by clap, so that a bad one is a usage error (exit
//! status 2) said before anything runs.

use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use swim_core::Profile;

/// The exit statuses, as a `--help` footer.
pub const EXIT_STATUS_HELP: &str =
    "Exit status: 0 when the run finished, 1 when its output could not be written, 2 on a \
     usage error.";

/// Most members a run may have.
pub const MAX_MEMBERS: usize = 100_000;

/// Simulate a SWIM cluster in virtual time and report join, spread, detection and traffic.
#[derive(Parser, Debug)]
#[command(version, about, allow_negative_numbers = true, after_help = EXIT_STATUS_HELP)]
pub struct Args {
    /// Number of members.
    #[arg(long, default_value_t = 100, value_parser = parse_members)]
    pub members: usize,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Probability that a packet is lost (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub loss: f64,
    /// Mean one-way latency in milliseconds.
    #[arg(long, default_value_t = 5.0, value_parser = parse_non_negative)]
    pub latency_ms: f64,
    /// Latency jitter in milliseconds (uniform, either way).
    #[arg(long, default_value_t = 2.0, value_parser = parse_non_negative)]
    pub jitter_ms: f64,
    /// Most virtual seconds the run may take.
    #[arg(long, default_value_t = 120.0, value_parser = parse_positive)]
    pub duration: f64,
    /// Virtual seconds of quiet over which traffic is measured.
    #[arg(long, default_value_t = 20.0, value_parser = parse_non_negative)]
    pub quiet: f64,
    /// Sign every payload with this secret, in the runtime's HMAC frame (bytes include it).
    #[arg(long)]
    pub secret: Option<String>,
    /// Hand packets over as sent instead of encoding and decoding them, counting their
    /// bytes exactly: the same run as `--bytes`, faster. The default for the native wire
    /// (kept so that older command lines still work). Not with --secret or --bytes.
    #[arg(long, conflicts_with_all = ["secret", "bytes"])]
    pub direct: bool,
    /// Encode every packet to the native format's bytes and decode it on delivery (the
    /// byte path), instead of handing it over directly (the same run, slower).
    #[arg(long, conflicts_with = "secret")]
    pub bytes: bool,
    /// Members start one after the other over this many seconds.
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative)]
    pub start_spread: f64,
    /// Protocol timings: lan, wan, local or seed.
    #[arg(long, default_value = "lan")]
    pub profile: Profile,
    /// Members told of a new record at once (overrides the profile's).
    #[arg(long)]
    pub fanout: Option<usize>,
    /// Full member lists a member sends per ping interval (overrides the default).
    #[arg(long)]
    pub full_sync_budget: Option<usize>,
    /// Fan out join news heard second-hand too (the rule before the join fix).
    #[arg(long)]
    pub fanout_joins: bool,
    /// Most times join news in a burst is gossiped (overrides the default, 0).
    #[arg(long)]
    pub join_news_retransmits: Option<u32>,
    /// Run every member on one shared 2-core host (swim_sim::HostCpu's defaults: the
    /// benchmark host), the launcher starting them one after the other.
    #[arg(long)]
    pub host_cpu: bool,
    /// Members (not member 0, nor the one that crashes) that turn slow once the metadata
    /// change has spread: they handle every packet and timer late.
    #[arg(long, default_value_t = 0)]
    pub slow: usize,
    /// How late a slow member handles its input, in milliseconds (jittered ±50%).
    #[arg(long, default_value_t = 1000)]
    pub slow_delay_ms: u64,
    /// Lifeguard (local health, nacks, dynamic suspicion): on or off.
    #[arg(long, default_value = "on", value_parser = ["on", "off"])]
    pub lifeguard: String,
    /// Lifeguard: an unconfirmed suspicion lasts this many suspect timeouts (overrides the
    /// default).
    #[arg(long)]
    pub suspicion_max_mult: Option<u32>,
    /// Lifeguard: confirmations that bring a suspicion down to the suspect timeout
    /// (overrides the default).
    #[arg(long)]
    pub suspicion_confirmations: Option<u32>,
    /// After the leave phase, cut the cluster in two halves for this many seconds, then heal
    /// it and report `heal_s` (0: no partition phase).
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative)]
    pub partition_s: f64,
    /// User events published per second, cluster-wide, by random live members from the end
    /// of the join on (0: none); the report then has an `app` object (docs/simulator.md).
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative)]
    pub events_per_s: f64,
    /// Payload bytes of each user event (at most 65536).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(0..=65536))]
    pub event_size: u32,
    /// For how many seconds events (and queries) are published.
    #[arg(long, default_value_t = 60.0, value_parser = parse_non_negative)]
    pub events_for_s: f64,
    /// A query to every member, from a random live member, every this many seconds (0:
    /// none); each member's application answers with its name.
    #[arg(long, default_value_t = 0.0, value_parser = parse_non_negative)]
    pub query_every_s: f64,
    /// Seconds an OFFLINE member stays listed before it is forgotten (overrides the default).
    #[arg(long, value_parser = parse_non_negative)]
    pub offline_retention: Option<f64>,
    /// Print one JSON object (every field: docs/simulator.md) instead of the report for
    /// people, and no progress.
    #[arg(long)]
    pub json: bool,
    /// Also write the per-member times (metadata spread, crash to OFFLINE) to this CSV file,
    /// as the plots read them.
    #[arg(long)]
    pub samples: Option<std::path::PathBuf>,
}

impl Args {
    /// Parses the command line, exiting with status 2 on a usage error (including the
    /// checks between options that clap cannot express).
    pub fn parse_checked() -> Args {
        let args = Args::parse();
        if let Err(message) = args.check() {
            Args::command()
                .error(ErrorKind::ArgumentConflict, message)
                .exit();
        }
        args
    }

    /// The checks between options.
    pub fn check(&self) -> Result<(), String> {
        if self.slow > 0 && self.slow + 2 > self.members {
            return Err(format!(
                "--slow {} needs at least {} members (--members {}): member 0 and the member \
                 that crashes are never slow",
                self.slow,
                self.slow + 2,
                self.members
            ));
        }
        Ok(())
    }
}

/// `--members`: 1 to [`MAX_MEMBERS`].
fn parse_members(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of members"))?;
    if n == 0 || n > MAX_MEMBERS {
        return Err(format!("expected 1 to {MAX_MEMBERS} members"));
    }
    Ok(n)
}

/// A number, finite.
fn parse_number(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !value.is_finite() {
        return Err(format!("{text:?} is not a finite number"));
    }
    Ok(value)
}

/// A probability: 0 to 1.
fn parse_probability(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!(
            "{value} is not a probability: expected 0 to 1 (0.05 for 5%)"
        ));
    }
    Ok(value)
}

/// A time or amount that cannot be negative, and fits a [`Duration`] in seconds.
fn parse_non_negative(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if value < 0.0 {
        return Err(format!("{value} is negative: expected 0 or more"));
    }
    Duration::try_from_secs_f64(value).map_err(|_| format!("{value} is too large"))?;
    Ok(value)
}

/// A time that must be above 0.
fn parse_positive(text: &str) -> Result<f64, String> {
    let value = parse_non_negative(text)?;
    if value == 0.0 {
        return Err("expected more than 0".to_owned());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_negative_numbers_are_values() {
        let parse = |args: &[&str]| {
            Args::try_parse_from(std::iter::once("swim-sim").chain(args.iter().copied()))
        };
        let err = parse(&["--loss", "-0.1"]).unwrap_err().to_string();
        assert!(err.contains("-0.1 is not a probability"), "{err}");
        assert_eq!(parse(&["--loss", "0.05"]).unwrap().loss, 0.05);
        for bad in [
            ["--members", "0"],
            ["--members", "-3"],
            ["--quiet", "-1"],
            ["--latency-ms", "-1"],
            ["--duration", "nan"],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        let args = parse(&["--members", "3", "--slow", "2"]).unwrap();
        assert!(args
            .check()
            .unwrap_err()
            .contains("needs at least 4 members"));
        assert!(parse(&["--members", "4", "--slow", "2"])
            .unwrap()
            .check()
            .is_ok());
    }
}
