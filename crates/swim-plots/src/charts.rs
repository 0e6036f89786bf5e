//! The four charts, each drawn on any plotters backend (PNG and SVG from the same code).

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use swim_sim::Samples;

use crate::real::{Row, Value, FIGURES};

/// What drawing returns: plotters' errors, boxed.
pub type DrawResult = Result<(), Box<dyn Error>>;

/// A chart that can be drawn on a backend's whole area.
pub trait Chart {
    /// Draws the chart on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Series colours, one per cluster size or implementation, in order.
const COLOURS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// A tick label without float noise: `0.3`, `2.5`, `100`.
fn tick(v: &f64) -> String {
    let text = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn caption_font() -> (&'static str, u32) {
    ("sans-serif", 22)
}

/// Dissemination CDF: for each run, the fraction of the other members that had seen member
/// 0's metadata change, against the time since the change.
pub struct Cdf<'a>(pub &'a [Samples]);

impl Chart for Cdf<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let all = || self.0.iter().flat_map(|s| s.meta_s.iter().copied());
        let lo = all()
            .filter(|t| *t > 0.0)
            .fold(f64::MAX, f64::min)
            .min(0.01);
        let hi = all().fold(0.0, f64::max).max(lo * 10.0) * 1.2;
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Metadata change: share of members reached (5% loss)",
                caption_font(),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), 0f64..1.02f64)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(12)
            .x_label_formatter(&tick)
            .x_desc("seconds after the change (log scale)")
            .y_desc("share of the other members")
            .draw()?;
        for (i, run) in self.0.iter().enumerate() {
            let others = run.members.saturating_sub(1).max(1) as f64;
            let mut points = vec![(lo, 0.0)];
            for (k, &t) in run.meta_s.iter().enumerate() {
                let t = t.max(lo);
                points.push((t, k as f64 / others));
                points.push((t, (k + 1) as f64 / others));
            }
            let style = colour(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(points, style))?
                .label(format!("{} members", run.members))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()?;
        root.present()?;
        Ok(())
    }
}

/// Quiet load: packets each member sends per second once gossip has settled, against the
/// cluster size.
pub struct QuietLoad<'a>(pub &'a [Samples]);

impl Chart for QuietLoad<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let points: Vec<(f64, f64)> = self
            .0
            .iter()
            .map(|s| (s.members as f64, s.msgs_per_member_s))
            .collect();
        let lo = points
            .iter()
            .map(|p| p.0)
            .fold(f64::MAX, f64::min)
            .min(10.0);
        let hi = points
            .iter()
            .map(|p| p.0)
            .fold(0.0, f64::max)
            .max(lo * 10.0)
            * 1.5;
        let top = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.3;
        let mut chart = ChartBuilder::on(root)
            .caption("Quiet load per member (simulator, 5% loss)", caption_font())
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((lo * 0.7..hi).log_scale(), 0f64..top)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_label_formatter(&tick)
            .x_desc("members (log scale)")
            .y_desc("packets sent per member per second")
            .draw()?;
        let style = colour(0).stroke_width(2);
        chart.draw_series(LineSeries::new(points.clone(), style))?;
        chart.draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, 4, colour(0).filled())),
        )?;
        chart.draw_series(points.iter().map(|&(n, m)| {
            Text::new(format!("{m:.2}"), (n, m + top * 0.03), ("sans-serif", 14))
        }))?;
        root.present()?;
        Ok(())
    }
}

/// Detection times: for one crash, how many members first reported it OFFLINE after how
/// long.
pub struct Detection<'a>(pub &'a Samples);

impl Chart for Detection<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let times = &self.0.offline_s;
        let first = times.first().copied().unwrap_or(0.0);
        let last = times.last().copied().unwrap_or(1.0);
        // Every member's own suspicion timer declares OFFLINE, so the times bunch up: bins of
        // a fortieth of the spread (at least 10 ms), over the spread and a margin either side.
        let width = ((last - first) / 40.0).max(0.01);
        let margin = ((last - first) * 0.2).max(0.2);
        let lo = (first - margin).max(0.0);
        let hi = last + margin;
        let bins = (((hi - lo) / width).ceil() as usize).max(1);
        let mut counts = vec![0u32; bins];
        for &t in times {
            counts[(((t - lo) / width).floor() as usize).min(bins - 1)] += 1;
        }
        let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.15;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Crash to OFFLINE at each member ({} members, 5% loss)",
                    self.0.members
                ),
                caption_font(),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0f64..top)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc(format!(
                "seconds after the crash ({:.0} ms bins)",
                width * 1000.0
            ))
            .y_desc("members")
            .draw()?;
        chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = lo + i as f64 * width;
            Rectangle::new(
                [(x0, 0.0), (x0 + width, c as f64)],
                colour(0).mix(0.7).filled(),
            )
        }))?;
        root.present()?;
        Ok(())
    }
}

/// Real processes: one panel per figure, bars per implementation grouped by cluster size.
pub struct RealProcesses<'a>(pub &'a [Row]);

impl Chart for RealProcesses<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let root = root.titled(
            "Real processes on one 2-core host (bench/cluster.sh): lower is better",
            caption_font(),
        )?;
        let mut sizes: Vec<u32> = self.0.iter().map(|r| r.members).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let mut impls: Vec<&str> = Vec::new();
        for row in self.0 {
            if !impls.contains(&row.implementation.as_str()) {
                impls.push(&row.implementation);
            }
        }
        let panels = root.split_evenly((2, 3));
        for (figure, panel) in panels.iter().enumerate() {
            self.panel(panel, figure, &sizes, &impls)?;
        }
        root.present()?;
        Ok(())
    }
}

impl RealProcesses<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        figure: usize,
        sizes: &[u32],
        impls: &[&str],
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let numbers = || {
            self.0.iter().filter_map(move |r| match r.values[figure] {
                Value::Number(v) if v > 0.0 => Some(v),
                _ => None,
            })
        };
        // Log scale (the figures span three orders of magnitude); bars start below the least.
        let least = numbers().fold(f64::MAX, f64::min);
        let floor = if least == f64::MAX { 0.5 } else { least / 2.0 };
        let top = numbers().fold(floor * 10.0, f64::max) * 3.0;
        let groups = sizes.len().max(1);
        let mut chart = ChartBuilder::on(area)
            .caption(FIGURES[figure].1, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5f64..groups as f64 - 0.5, (floor..top).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .y_label_formatter(&tick)
            .x_labels(groups)
            .x_label_formatter(&|x| {
                let g = x.round();
                match sizes.get(g as usize) {
                    Some(n) if (x - g).abs() < 1e-6 && g >= 0.0 => format!("{n}"),
                    _ => String::new(),
                }
            })
            .x_desc("members")
            .draw()?;
        let bar = 0.8 / impls.len().max(1) as f64;
        for (k, name) in impls.iter().enumerate() {
            let rows = self
                .0
                .iter()
                .filter(|r| r.implementation == *name)
                .filter_map(|r| Some((sizes.iter().position(|&n| n == r.members)?, r)));
            let left = |g: usize| g as f64 - 0.4 + k as f64 * bar;
            let mut bars = Vec::new();
            let mut nevers = Vec::new();
            for (g, row) in rows {
                match row.values[figure] {
                    Value::Number(v) => bars.push((left(g), v.max(floor))),
                    Value::Never => nevers.push(left(g)),
                    Value::Missing => {}
                }
            }
            let fill = colour(k).filled();
            chart
                .draw_series(
                    bars.iter()
                        .map(|&(x, v)| Rectangle::new([(x, floor), (x + bar * 0.95, v)], fill)),
                )?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], fill));
            chart.draw_series(nevers.iter().map(|&x| {
                Text::new(
                    "never",
                    (x, top / 2.0),
                    ("sans-serif", 12).into_font().color(&colour(k)),
                )
            }))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        Ok(())
    }
}
