//! `swim-plots`: draws the benchmark plots under `docs/plots` (PNG and SVG): the simulator's
//! dissemination CDF, quiet load per member against cluster size and crash-detection
//! histogram, and the real-process figures as bars. It can run the simulator first.
//!
//! Data: `DIR/data/sim-N.csv` (one simulator run of N members, as `swim-sim --samples`
//! writes it) and `DIR/real-processes.csv` (the figures of `bench/cluster.sh`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod charts;
mod font;
mod real;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Parser;
use plotters::prelude::*;
use swim_core::ProtocolConfig;
use swim_sim::{run_standard, NetworkConfig, RunConfig, Samples};

use crate::charts::{Cdf, Chart, Detection, QuietLoad, RealProcesses};

/// Draw the benchmark plots (PNG and SVG) from simulator samples and real-process figures.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Directory of the plots; simulator samples are in its `data` subdirectory.
    #[arg(long, default_value = "docs/plots")]
    dir: PathBuf,
    /// First run the simulator at these sizes (5% loss, seed 1, as `swim-sim --members N
    /// --loss 0.05`) and replace their samples, e.g. `--simulate 30,100,300,1000`.
    #[arg(long, value_delimiter = ',')]
    simulate: Vec<usize>,
    /// Cluster sizes the dissemination CDF shows (those with samples).
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    cdf: Vec<usize>,
    /// Cluster size of the detection histogram (default: the largest up to 1,000).
    #[arg(long)]
    detection: Option<usize>,
    /// TrueType font of the text (default: the first of DejaVu Sans, Liberation Sans or
    /// Arial found in the usual places; Debian's `fonts-dejavu-core` has the first).
    #[arg(long, env = "SWIM_PLOTS_FONT")]
    font: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    font::register(&font::locate(args.font.as_deref())?)?;
    let data = args.dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| data.display().to_string())?;
    for &members in &args.simulate {
        anyhow::ensure!(members >= 2, "--simulate: sizes must be at least 2");
        let report = run_standard(&RunConfig {
            members,
            network: NetworkConfig {
                loss: 0.05,
                ..NetworkConfig::default()
            },
            protocol: ProtocolConfig::default(),
            duration: Duration::from_secs(120),
            ..RunConfig::default()
        });
        let path = data.join(format!("sim-{members}.csv"));
        std::fs::write(&path, report.samples.to_csv())
            .with_context(|| path.display().to_string())?;
        eprintln!("simulated {members} members in {:.1} s", report.wall_s);
    }
    let runs = read_samples(&data)?;
    anyhow::ensure!(!runs.is_empty(), "no samples in {}", data.display());

    let cdf: Vec<Samples> = runs
        .iter()
        .filter(|s| args.cdf.contains(&s.members))
        .cloned()
        .collect();
    render(&Cdf(&cdf), &args.dir, "dissemination-cdf", (900, 600))?;
    render(&QuietLoad(&runs), &args.dir, "quiet-load", (900, 600))?;
    let detection = match args.detection {
        Some(n) => runs.iter().find(|s| s.members == n),
        None => runs.iter().rev().find(|s| s.members <= 1000),
    }
    .ok_or_else(|| anyhow!("no samples for the detection histogram"))?;
    render(
        &Detection(detection),
        &args.dir,
        "detection-histogram",
        (900, 600),
    )?;

    let path = args.dir.join("real-processes.csv");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let rows = real::parse(&text).with_context(|| path.display().to_string())?;
    render(
        &RealProcesses(&rows),
        &args.dir,
        "real-processes",
        (1500, 900),
    )?;
    Ok(())
}

/// Every `sim-N.csv` under `data`, by cluster size.
fn read_samples(data: &Path) -> anyhow::Result<Vec<Samples>> {
    let mut runs = Vec::new();
    for entry in std::fs::read_dir(data).with_context(|| data.display().to_string())? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("sim-") && name.ends_with(".csv") {
            let text = std::fs::read_to_string(&path)?;
            runs.push(Samples::from_csv(&text).with_context(|| path.display().to_string())?);
        }
    }
    runs.sort_by_key(|s| s.members);
    Ok(runs)
}

/// Draws `chart` to `dir/name.png` and `dir/name.svg`.
fn render(chart: &impl Chart, dir: &Path, name: &str, size: (u32, u32)) -> anyhow::Result<()> {
    let png = dir.join(format!("{name}.png"));
    chart
        .draw(&BitMapBackend::new(&png, size).into_drawing_area())
        .map_err(|e| anyhow!("{}: {e}", png.display()))?;
    let svg = dir.join(format!("{name}.svg"));
    chart
        .draw(&SVGBackend::new(&svg, size).into_drawing_area())
        .map_err(|e| anyhow!("{}: {e}", svg.display()))?;
    Ok(())
}
