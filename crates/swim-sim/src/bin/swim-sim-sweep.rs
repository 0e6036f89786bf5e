//! `swim-sim-sweep`: many seeded runs of the standard scenario, each checked against the
//! invariants of `swim_sim::sweep`, on every core. A failing run prints a one-line command
//! that reproduces it; the exit status is 1 if any run failed.

use std::io::Write;

use clap::Parser;
use swim_sim::sweep::{plan, run_all, Case};

/// Run seed sweeps of the simulator and check every run's invariants.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// A named plan: `ci` (a few minutes on two cores) or `long` (over 10,000 runs).
    #[arg(long, conflicts_with = "case", required_unless_present = "case")]
    plan: Option<String>,
    /// One case, as a failing run prints it ('members=200 seed=4 loss=0.05 ...'): runs it,
    /// prints its figures as JSON and its verdict.
    #[arg(long)]
    case: Option<String>,
    /// Threads (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only every Nth case of the plan (1: all).
    #[arg(long, default_value_t = 1)]
    every: usize,
    /// Print a line for every run, not only the failing ones.
    #[arg(long)]
    verbose: bool,
    /// Also write the summary as Markdown to this file.
    #[arg(long)]
    summary: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.every >= 1, "--every must be at least 1");
    if let Some(case) = &args.case {
        let case: Case = case.parse()?;
        let outcome = case.run();
        println!("{}", serde_json::to_string(&outcome.report)?);
        println!("{}", outcome.line());
        std::process::exit(i32::from(!outcome.violations.is_empty()));
    }
    let name = args.plan.as_deref().unwrap_or_default();
    let cases =
        plan(name).ok_or_else(|| anyhow::anyhow!("--plan {name:?}: expected ci or long"))?;
    let cases: Vec<Case> = cases.into_iter().step_by(args.every).collect();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(jobs >= 1, "--jobs must be at least 1");
    let total = cases.len();
    eprintln!("swim-sim-sweep: {total} runs on {jobs} threads");
    let start = std::time::Instant::now();
    let mut done = 0;
    let summary = run_all(&cases, jobs, |outcome| {
        done += 1;
        if !outcome.violations.is_empty() || args.verbose {
            println!("{}", outcome.line());
        }
        if done % 500 == 0 {
            eprintln!(
                "swim-sim-sweep: {done}/{total} runs, {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
    });
    let markdown = summary.markdown();
    println!("{markdown}");
    println!(
        "swim-sim-sweep: {} runs, {} failed, {:.0} s",
        summary.runs,
        summary.failed,
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.summary {
        let mut file = std::fs::File::create(path)
            .map_err(|e| anyhow::anyhow!("--summary {}: {e}", path.display()))?;
        file.write_all(markdown.as_bytes())?;
    }
    if summary.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
