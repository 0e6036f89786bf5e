//! Fault models beyond loss, latency and halves: the shape of the partition phase
//! (uneven, several islands, one-way, flapping, a restart during the cut) and per-member
//! clock-rate skew. Duplicated and reordered datagrams are the network's
//! ([`NetworkConfig::duplicate`](crate::NetworkConfig::duplicate),
//! [`NetworkConfig::reorder`](crate::NetworkConfig::reorder)).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The shape of the partition phase of a standard run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cut {
    /// Two halves (members below `n / 2` and the rest).
    #[default]
    Halves,
    /// One live member alone against all the others.
    Lone,
    /// `k` islands of consecutive members.
    Islands(u32),
    /// Halves, cut one way only: the lower half cannot reach the upper one, which still
    /// reaches it.
    OneWay,
    /// Halves, the cut coming and going every `period` until the heal.
    Flapping {
        /// How long the cut holds, then how long it is gone, in turn.
        period: Duration,
    },
    /// Halves, and midway a member of the upper half restarts under its name (a new
    /// process) while the cut holds.
    Restart,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::Halves => write!(f, "halves"),
            Cut::Lone => write!(f, "lone"),
            Cut::Islands(k) => write!(f, "islands{k}"),
            Cut::OneWay => write!(f, "oneway"),
            Cut::Flapping { period } => write!(f, "flapping{}", period.as_millis()),
            Cut::Restart => write!(f, "restart"),
        }
    }
}

/// A cut that is not one of `halves`, `lone`, `islandsK`, `oneway`, `flappingMS`,
/// `restart`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown cut {0:?}: expected halves, lone, islandsK (K >= 2), oneway, flappingMS or restart"
)]
pub struct BadCut(String);

impl FromStr for Cut {
    type Err = BadCut;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadCut(s.to_owned());
        Ok(match s {
            "halves" => Cut::Halves,
            "lone" => Cut::Lone,
            "oneway" => Cut::OneWay,
            "restart" => Cut::Restart,
            _ => {
                if let Some(k) = s.strip_prefix("islands") {
                    let k: u32 = k.parse().map_err(|_| bad())?;
                    if !(2..=64).contains(&k) {
                        return Err(bad());
                    }
                    Cut::Islands(k)
                } else if let Some(ms) = s.strip_prefix("flapping") {
                    let ms: u64 = ms.parse().map_err(|_| bad())?;
                    if ms == 0 {
                        return Err(bad());
                    }
                    Cut::Flapping {
                        period: Duration::from_millis(ms),
                    }
                } else {
                    return Err(bad());
                }
            }
        })
    }
}

/// The faults of a run beyond its [`RunConfig`](crate::RunConfig).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// The shape of the partition phase (with `RunConfig::partition` non-zero).
    pub cut: Cut,
    /// Each member's clock runs at a rate drawn uniformly from `1 ± skew` (0: exact; at
    /// most 0.5), from the run's seed.
    pub skew: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_read_back_what_they_print() {
        for cut in [
            Cut::Halves,
            Cut::Lone,
            Cut::Islands(3),
            Cut::OneWay,
            Cut::Flapping {
                period: Duration::from_millis(2500),
            },
            Cut::Restart,
        ] {
            assert_eq!(cut.to_string().parse::<Cut>(), Ok(cut));
        }
        assert!("islands1".parse::<Cut>().is_err());
        assert!("flapping0".parse::<Cut>().is_err());
        assert!("sideways".parse::<Cut>().is_err());
    }
}
