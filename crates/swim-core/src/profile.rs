//! Named sets of timings for the networks a cluster runs on. The values, and why, are in
//! "Defaults and profiles" in `docs/PROTOCOL.md`; the simulator figures behind them are in
//! `docs/benchmarks.md`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::ProtocolConfig;

/// A named set of protocol timings. A profile sets the timing fields (probe, suspicion,
/// gossip, push-pull, retransmissions and fanout) and leaves the rest of a
/// [`ProtocolConfig`] alone; any single field can be changed afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// One data centre or LAN: sub-millisecond to a few milliseconds between members. The
    /// default for the native wire.
    #[default]
    Lan,
    /// Members across regions: round trips of tens to hundreds of milliseconds.
    Wan,
    /// Every member on one host (tests, development): fast timings.
    Local,
    /// Exactly the timings of swim-protocol 0.6.3 (no fanout). Implied by the Python wire.
    Seed,
}

/// The timing fields a profile sets.
struct Timings {
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    ping_req_count: usize,
    ping_req_timeout_ms: u64,
    suspect_timeout_ms: u64,
    sync_interval_ms: u64,
    push_pull_interval_s: u64,
    retransmit_mult: u32,
    fanout: usize,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [Profile::Lan, Profile::Wan, Profile::Local, Profile::Seed];

    /// The profile's name as `--profile` and `SWIM_PROFILE` take it.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Lan => "lan",
            Profile::Wan => "wan",
            Profile::Local => "local",
            Profile::Seed => "seed",
        }
    }

    fn timings(self) -> Timings {
        match self {
            Profile::Lan => Timings {
                ping_interval_ms: 1000,
                ping_timeout_ms: 200,
                ping_req_count: 3,
                ping_req_timeout_ms: 600,
                suspect_timeout_ms: 4000,
                sync_interval_ms: 200,
                push_pull_interval_s: 30,
                retransmit_mult: 4,
                fanout: 3,
            },
            Profile::Wan => Timings {
                ping_interval_ms: 3000,
                ping_timeout_ms: 1000,
                ping_req_count: 3,
                ping_req_timeout_ms: 3000,
                suspect_timeout_ms: 15000,
                sync_interval_ms: 500,
                push_pull_interval_s: 60,
                retransmit_mult: 6,
                fanout: 3,
            },
            Profile::Local => Timings {
                ping_interval_ms: 500,
                ping_timeout_ms: 100,
                ping_req_count: 2,
                ping_req_timeout_ms: 300,
                suspect_timeout_ms: 2000,
                sync_interval_ms: 100,
                push_pull_interval_s: 15,
                retransmit_mult: 3,
                fanout: 2,
            },
            Profile::Seed => Timings {
                ping_interval_ms: 1000,
                ping_timeout_ms: 300,
                ping_req_count: 1,
                ping_req_timeout_ms: 900,
                suspect_timeout_ms: 5000,
                sync_interval_ms: 500,
                push_pull_interval_s: 10,
                retransmit_mult: 4,
                fanout: 0,
            },
        }
    }
}

impl ProtocolConfig {
    /// This config with `profile`'s timing fields; the other fields are kept.
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        let t = profile.timings();
        let ms = Duration::from_millis;
        self.ping_interval = ms(t.ping_interval_ms);
        self.ping_timeout = ms(t.ping_timeout_ms);
        self.ping_req_count = t.ping_req_count;
        self.ping_req_timeout = ms(t.ping_req_timeout_ms);
        self.suspect_timeout = ms(t.suspect_timeout_ms);
        self.sync_interval = ms(t.sync_interval_ms);
        self.push_pull_interval = Duration::from_secs(t.push_pull_interval_s);
        self.retransmit_mult = t.retransmit_mult;
        self.fanout = t.fanout;
        self
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A profile name that is not one of `lan`, `wan`, `local`, `seed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?}: expected lan, wan, local or seed")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    /// A profile's name, in any case.
    fn from_str(s: &str) -> Result<Self, UnknownProfile> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProfile(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_explained() {
        for profile in Profile::ALL {
            assert_eq!(profile.name().parse(), Ok(profile));
            assert_eq!(profile.name().to_uppercase().parse(), Ok(profile));
        }
        let err = "fast".parse::<Profile>().unwrap_err().to_string();
        assert!(err.contains("fast") && err.contains("lan"), "{err}");
    }

    #[test]
    fn a_profile_keeps_the_fields_it_does_not_set() {
        let custom = ProtocolConfig {
            piggyback_budget: 500,
            max_sync_records: 7,
            ..ProtocolConfig::default()
        };
        let wan = custom.clone().with_profile(Profile::Wan);
        assert_eq!(wan.piggyback_budget, 500);
        assert_eq!(wan.max_sync_records, 7);
        assert_eq!(wan.ping_interval, Duration::from_secs(3));
        assert_eq!(wan.with_profile(Profile::Lan), custom);
    }
}
