//! Member statuses and the aggregate sets of statuses used in queries.

use std::fmt;
use std::str::FromStr;

/// The status of one member, as one member sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// The member answers probes.
    Online,
    /// The member failed a probe; it is declared offline unless it refutes in time.
    Suspect,
    /// The member was suspect for longer than the suspicion timeout.
    Offline,
}

impl Status {
    /// The three real statuses, in precedence order (lowest first).
    pub const ALL: [Status; 3] = [Status::Online, Status::Suspect, Status::Offline];

    /// The status to store when `self` is told to become `to`, following the seed's rules:
    /// OFFLINE never goes back to SUSPECT, and ONLINE reaches OFFLINE only through SUSPECT.
    #[must_use]
    pub fn transition(self, to: Status) -> Status {
        match (self, to) {
            (Status::Offline, Status::Suspect) => Status::Offline,
            (Status::Online, Status::Offline) => Status::Suspect,
            (_, to) => to,
        }
    }

    /// Precedence when two records carry the same clock: the more pessimistic status wins,
    /// so that a suspicion is only overturned by a newer clock (a refutation).
    pub(crate) fn precedence(self) -> u8 {
        match self {
            Status::Online => 0,
            Status::Suspect => 1,
            Status::Offline => 2,
        }
    }

    /// The upper-case name used on the wire, in files and on screen, e.g. `ONLINE`.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Online => "ONLINE",
            Status::Suspect => "SUSPECT",
            Status::Offline => "OFFLINE",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of statuses: a single status or one of the seed's aggregates
/// (AVAILABLE, UNAVAILABLE, ALL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    /// Only ONLINE.
    pub const ONLINE: StatusSet = StatusSet(1);
    /// Only SUSPECT.
    pub const SUSPECT: StatusSet = StatusSet(2);
    /// Only OFFLINE.
    pub const OFFLINE: StatusSet = StatusSet(4);
    /// ONLINE or SUSPECT: members considered to be responding.
    pub const AVAILABLE: StatusSet = StatusSet(1 | 2);
    /// OFFLINE or SUSPECT: members not considered to be responding.
    pub const UNAVAILABLE: StatusSet = StatusSet(4 | 2);
    /// Every status.
    pub const ALL: StatusSet = StatusSet(1 | 2 | 4);

    /// The named sets, in the order the seed lists them (used for directories and flags).
    pub const NAMED: [StatusSet; 6] = [
        StatusSet::ONLINE,
        StatusSet::OFFLINE,
        StatusSet::SUSPECT,
        StatusSet::AVAILABLE,
        StatusSet::UNAVAILABLE,
        StatusSet::ALL,
    ];

    /// Whether `status` belongs to this set.
    pub const fn contains(self, status: Status) -> bool {
        self.0 & StatusSet::from_status(status).0 != 0
    }

    /// The set holding exactly `status`.
    pub const fn from_status(status: Status) -> StatusSet {
        match status {
            Status::Online => StatusSet::ONLINE,
            Status::Suspect => StatusSet::SUSPECT,
            Status::Offline => StatusSet::OFFLINE,
        }
    }

    /// The upper-case name of the set, e.g. `AVAILABLE`.
    pub const fn name(self) -> &'static str {
        match self.0 {
            1 => "ONLINE",
            2 => "SUSPECT",
            4 => "OFFLINE",
            3 => "AVAILABLE",
            6 => "UNAVAILABLE",
            7 => "ALL",
            5 => "ONLINE|OFFLINE",
            _ => "NONE",
        }
    }
}

impl From<Status> for StatusSet {
    fn from(status: Status) -> Self {
        StatusSet::from_status(status)
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A status name that is not one of ONLINE, SUSPECT, OFFLINE, AVAILABLE, UNAVAILABLE, ALL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?} (expected ONLINE, SUSPECT, OFFLINE, AVAILABLE, UNAVAILABLE or ALL)")]
pub struct UnknownStatus(pub String);

impl FromStr for StatusSet {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatusSet::NAMED
            .into_iter()
            .find(|set| set.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_seed() {
        use Status::*;
        assert_eq!(Offline.transition(Suspect), Offline);
        assert_eq!(Online.transition(Offline), Suspect);
        assert_eq!(Suspect.transition(Offline), Offline);
        assert_eq!(Offline.transition(Online), Online);
        assert_eq!(Suspect.transition(Online), Online);
        assert_eq!(Online.transition(Suspect), Suspect);
        for s in Status::ALL {
            assert_eq!(s.transition(s), s);
        }
    }

    #[test]
    fn aggregates_contain_their_statuses() {
        assert!(StatusSet::AVAILABLE.contains(Status::Online));
        assert!(StatusSet::AVAILABLE.contains(Status::Suspect));
        assert!(!StatusSet::AVAILABLE.contains(Status::Offline));
        assert!(StatusSet::UNAVAILABLE.contains(Status::Offline));
        assert!(StatusSet::UNAVAILABLE.contains(Status::Suspect));
        assert!(!StatusSet::UNAVAILABLE.contains(Status::Online));
        for s in Status::ALL {
            assert!(StatusSet::ALL.contains(s));
            assert!(StatusSet::from(s).contains(s));
        }
    }

    #[test]
    fn names_parse_back() {
        for set in StatusSet::NAMED {
            assert_eq!(set.name().parse::<StatusSet>(), Ok(set));
        }
        assert_eq!("online".parse::<Status>(), Ok(Status::Online));
        assert!("busy".parse::<Status>().is_err());
    }
}
