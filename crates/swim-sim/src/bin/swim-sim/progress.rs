//! The progress line of a long run: phase, virtual time and members settled, redrawn a few
//! times a second on standard error while it is a terminal; nothing otherwise, nor with
//! `--json`.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swim_sim::{Phase, Progress};

/// How often the line is recomputed at most (computing the counts costs a pass over the
/// members).
const EVERY: Duration = Duration::from_millis(100);

/// The progress line, or nothing.
pub struct Display {
    bar: ProgressBar,
    last: Option<(Phase, Instant)>,
}

impl Display {
    /// A line on standard error if `show` and standard error is a terminal; hidden otherwise.
    pub fn new(show: bool) -> Display {
        let target = if show {
            ProgressDrawTarget::stderr() // hidden by indicatif when not a terminal
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        Display { bar, last: None }
    }

    /// Takes the run's news: redraws on a new phase, and at most every [`EVERY`] within one.
    pub fn observe(&mut self, phase: Phase, progress: &dyn Fn() -> Progress) {
        if self.bar.is_hidden() {
            return;
        }
        let now = Instant::now();
        let due = match self.last {
            Some((last, at)) => last != phase || now.duration_since(at) >= EVERY,
            None => true,
        };
        if !due {
            return;
        }
        self.last = Some((phase, now));
        self.bar.set_message(line(&progress()));
        self.bar.tick();
    }

    /// Removes the line before the report is printed.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The text of the line, as in `join: 12.3 s virtual, 4,321 of 10,000 members joined`.
pub fn line(progress: &Progress) -> String {
    let what = match progress.phase {
        Phase::Start => "started",
        Phase::Join => "see all ONLINE",
        Phase::Spread => "informed",
        Phase::Detect => "see the crashed member OFFLINE",
        _ => "",
    };
    let mut text = format!(
        "{}: {:.1} s virtual",
        progress.phase.name(),
        progress.now.as_secs_f64()
    );
    if let Some(settled) = progress.settled {
        text.push_str(&format!(
            ", {settled} of {} members {what}",
            progress.members
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_phase_time_and_members() {
        let progress = Progress {
            phase: Phase::Join,
            now: Duration::from_millis(12_340),
            members: 10_000,
            settled: Some(4_321),
        };
        assert_eq!(
            line(&progress),
            "join: 12.3 s virtual, 4321 of 10000 members see all ONLINE"
        );
        let quiet = Progress {
            phase: Phase::Quiet,
            settled: None,
            ..progress
        };
        assert_eq!(line(&quiet), "quiet: 12.3 s virtual");
    }
}
