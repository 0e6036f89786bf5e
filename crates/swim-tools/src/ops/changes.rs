//! One info log line per status change: the member, old → new, and why.

use swim_protocol::{Cluster, MemberChange, Status};
use tokio::task::AbortHandle;
use tracing::info;

/// Logs every status change of `cluster` from now on (see [`Cluster::on_change`]).
pub fn log_status_changes(cluster: &Cluster) -> AbortHandle {
    cluster.on_change(|change| {
        if let Some(why) = why(&change) {
            info!(
                member = %change.member.name,
                from = %change.previous.status,
                to = %change.member.status,
                clock = change.member.clock,
                "{} {} → {}: {why}",
                change.member.name,
                change.previous.status,
                change.member.status,
            );
        }
    })
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
    use std::time::Duration;

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
