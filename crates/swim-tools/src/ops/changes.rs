//! One info log line per status change: the member, old → new, and why. Joins (members
//! first learned) are gathered: the first of a second gets its own line, the others that
//! second are counted into one line at its end (each is still logged at debug), so that a
//! member joining a cluster of hundreds does not write hundreds of lines.

use std::time::Duration;

use swim_protocol::{Cluster, MemberChange, MemberName, Status};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tracing::{debug, info};

/// How long after a join logged on its own line further joins are only counted.
pub const JOIN_WINDOW: Duration = Duration::from_secs(1);

/// One line about `change`, at `level`, with its fields for log shippers.
macro_rules! change_line {
    ($level:ident, $change:expr, $why:expr) => {
        $level!(
            member = %$change.member.name,
            from = %$change.previous.status,
            to = %$change.member.status,
            clock = $change.member.clock,
            "{} {} → {}: {}",
            $change.member.name,
            $change.previous.status,
            $change.member.status,
            $why,
        )
    };
}

/// Logs every status change of `cluster` from now on, gathering joins (see the module).
pub fn log_status_changes(cluster: &Cluster) -> AbortHandle {
    let mut events = cluster.subscribe();
    let task = tokio::spawn(async move {
        let mut joins = JoinLog::default();
        // One timer, moved when a window opens (not one per change).
        let end = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(end);
        loop {
            let change = tokio::select! {
                change = events.recv() => change,
                () = &mut end, if joins.deadline().is_some() => {
                    log_summary(joins.close(Instant::now()));
                    continue;
                }
            };
            let Some(change) = change else {
                log_summary(joins.close(Instant::now()));
                return;
            };
            let Some(why) = why(&change) else { continue };
            let now = Instant::now();
            // The timer may not have had its turn yet.
            log_summary(joins.expire(now));
            let was_open = joins.deadline();
            if why != "joined" || joins.joined(&change.member.name, now) {
                change_line!(info, change, why);
            } else {
                change_line!(debug, change, why);
            }
            match joins.deadline() {
                Some(deadline) if was_open != Some(deadline) => end.as_mut().reset(deadline),
                _ => {}
            }
        }
    });
    task.abort_handle()
}

fn log_summary(summary: Option<JoinSummary>) {
    if let Some(summary) = summary {
        info!(
            joined = summary.count,
            "{} more members joined in {:.1} s: {}",
            summary.count,
            summary.span.as_secs_f64(),
            summary.names(),
        );
    }
}

/// Joins gathered into windows of [`JOIN_WINDOW`]: the first join of a window is logged on
/// its own line, the others are counted into a [`JoinSummary`] at its end.
#[derive(Debug, Default)]
pub struct JoinLog {
    window: Option<Window>,
}

#[derive(Debug)]
struct Window {
    opened: Instant,
    summary: JoinSummary,
}

/// The joins counted in one window, after the one logged on its own line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSummary {
    /// How many joined.
    pub count: usize,
    /// The first few of them.
    pub first: Vec<MemberName>,
    /// From the join that opened the window to the close.
    pub span: Duration,
}

/// Names a [`JoinSummary`] lists.
const NAMED: usize = 3;

impl JoinSummary {
    /// The names listed, with `…` when more joined.
    pub fn names(&self) -> String {
        let mut names: Vec<&str> = self.first.iter().map(MemberName::as_str).collect();
        if self.count > names.len() {
            names.push("…");
        }
        names.join(", ")
    }
}

impl JoinLog {
    /// `name` joined at `now`: whether it is logged on its own line (no window was open,
    /// one opens) rather than counted. Call [`JoinLog::expire`] first.
    pub fn joined(&mut self, name: &MemberName, now: Instant) -> bool {
        match &mut self.window {
            Some(window) => {
                let summary = &mut window.summary;
                summary.count += 1;
                if summary.first.len() < NAMED {
                    summary.first.push(name.clone());
                }
                false
            }
            None => {
                self.window = Some(Window {
                    opened: now,
                    summary: JoinSummary {
                        count: 0,
                        first: Vec::new(),
                        span: Duration::ZERO,
                    },
                });
                true
            }
        }
    }

    /// When the open window ends, if one is open.
    pub fn deadline(&self) -> Option<Instant> {
        (self.window.as_ref()).map(|window| window.opened + JOIN_WINDOW)
    }

    /// Closes the open window if it ended by `now`: its summary, as [`JoinLog::close`].
    pub fn expire(&mut self, now: Instant) -> Option<JoinSummary> {
        if self.deadline().is_some_and(|deadline| now >= deadline) {
            self.close(now)
        } else {
            None
        }
    }

    /// Closes the open window: its summary, unless no join was counted in it.
    pub fn close(&mut self, now: Instant) -> Option<JoinSummary> {
        let window = self.window.take()?;
        let mut summary = window.summary;
        summary.span = now.saturating_duration_since(window.opened);
        (summary.count > 0).then_some(summary)
    }
}

/// Why a member's status changed, read from the transition; `None` if it did not change.
/// A record first learned has clock 0 before.
pub fn why(change: &MemberChange) -> Option<&'static str> {
    let (from, to) = (change.previous.status, change.member.status);
    if from == to {
        return None;
    }
    let why = match (from, to) {
        (_, Status::Online) if change.member.local => "the local member started",
        (Status::Offline, Status::Online) if change.previous.clock == 0 => "joined",
        (Status::Offline, Status::Online) => "back online",
        (Status::Suspect, Status::Online) => "refuted the suspicion",
        (_, Status::Suspect) => "failed a probe",
        (Status::Suspect, Status::Offline) => "suspicion timed out",
        (_, Status::Offline) => "reported offline",
        (Status::Online, Status::Online) => return None,
    };
    Some(why)
}

#[cfg(test)]
mod tests {

    use swim_protocol::MemberSnapshot;

    use super::*;

    fn snapshot(status: Status, clock: u64) -> MemberSnapshot {
        MemberSnapshot {
            name: "b:1".into(),
            local: false,
            clock,
            status,
            status_time: Duration::ZERO,
            metadata: None,
            left: false,
        }
    }

    fn change(from: (Status, u64), to: (Status, u64)) -> MemberChange {
        MemberChange {
            previous: snapshot(from.0, from.1),
            member: snapshot(to.0, to.1),
        }
    }

    #[test]
    fn joins_in_a_window_after_the_first_are_counted_into_one_summary() {
        let t0 = Instant::now();
        let name = |i: u32| MemberName::from(format!("127.0.0.1:{}", 2000 + i));
        let mut joins = JoinLog::default();
        assert_eq!(joins.deadline(), None);
        assert!(joins.joined(&name(0), t0), "the first is logged alone");
        assert_eq!(joins.deadline(), Some(t0 + JOIN_WINDOW));
        for i in 1..=5 {
            let at = t0 + Duration::from_millis(100 * u64::from(i));
            assert!(!joins.joined(&name(i), at), "{i} is counted");
        }
        let summary = joins.close(t0 + JOIN_WINDOW).unwrap();
        assert_eq!(summary.count, 5);
        assert_eq!(summary.span, JOIN_WINDOW);
        assert_eq!(
            summary.names(),
            "127.0.0.1:2001, 127.0.0.1:2002, 127.0.0.1:2003, …"
        );
        assert_eq!(joins.deadline(), None);
        // A lone join makes no summary.
        let t1 = t0 + 5 * JOIN_WINDOW;
        assert!(joins.joined(&name(9), t1));
        assert_eq!(joins.close(t1 + JOIN_WINDOW), None);
        // A window past its end, not closed yet, is closed by the next join's expire.
        let t2 = t1 + 2 * JOIN_WINDOW;
        assert!(joins.joined(&name(10), t2));
        assert!(!joins.joined(&name(11), t2));
        assert_eq!(joins.expire(t2 + JOIN_WINDOW / 2), None, "not over yet");
        let summary = joins.expire(t2 + 2 * JOIN_WINDOW).unwrap();
        assert_eq!(summary.count, 1);
        assert_eq!(summary.names(), "127.0.0.1:2011");
        assert!(
            joins.joined(&name(12), t2 + 2 * JOIN_WINDOW),
            "a new window"
        );
    }

    #[test]
    fn each_transition_says_why() {
        use Status::*;
        assert_eq!(why(&change((Offline, 0), (Online, 3))), Some("joined"));
        assert_eq!(why(&change((Offline, 5), (Online, 9))), Some("back online"));
        assert_eq!(
            why(&change((Online, 3), (Suspect, 3))),
            Some("failed a probe")
        );
        assert_eq!(
            why(&change((Suspect, 3), (Online, 4))),
            Some("refuted the suspicion")
        );
        assert_eq!(
            why(&change((Suspect, 3), (Offline, 3))),
            Some("suspicion timed out")
        );
        assert_eq!(
            why(&change((Online, 3), (Offline, 4))),
            Some("reported offline")
        );
        assert_eq!(
            why(&change((Online, 3), (Online, 4))),
            None,
            "metadata only"
        );
    }
}
