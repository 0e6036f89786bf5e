//! The nemesis: reversible faults on the hosts and members, and seeded schedules of them.
//!
//! Network faults act on the overlay network's data plane only: the VXLAN packets (UDP port
//! 4789) between the hosts' addresses, dropped by `iptables` rules inside the hosts'
//! namespaces. Swarm's own traffic (2377/tcp, 7946) still passes, so Swarm keeps every node
//! and does not reschedule tasks: what the members see of a fault is the members' business.
//! Members on the same host talk without VXLAN and are never cut from each other.
//!
//! This kernel has no `netem`: no delay, jitter, duplication or reordering here (those stay
//! proven in the simulator). Loss is `-m statistic --mode random`, bandwidth a `tbf` qdisc.

use std::fmt;
use std::time::Duration;

use crate::docker::CommandError;
use crate::multihost::hosts::{iptables_in, tc_in, Hosts};

/// The overlay's encapsulation: VXLAN over UDP.
pub const VXLAN_PORT: &str = "4789";

/// One fault, as a schedule names it (member faults name a host and a slot on it: the
/// slot-th of that host's members, in the order of their names, when the fault starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `side` and the other hosts cannot reach each other (both directions).
    Partition {
        /// One side of the cut.
        side: Vec<usize>,
    },
    /// Packets from `from` to `to` are dropped; the other direction passes.
    OneWay {
        /// Whose packets are lost.
        from: usize,
        /// Where they would have gone.
        to: usize,
    },
    /// `host`'s link is cut: nothing in or out.
    Isolate {
        /// The host.
        host: usize,
    },
    /// Each packet into or out of `host` is lost with `percent`% probability.
    Loss {
        /// The host.
        host: usize,
        /// Probability, in percent.
        percent: u32,
    },
    /// Each packet into any host is lost with `percent`% probability (every packet between
    /// two hosts crosses exactly one such rule).
    LossEverywhere {
        /// Probability, in percent.
        percent: u32,
    },
    /// `host`'s outgoing traffic is limited to `kbit` kbit/s (`tbf`).
    Bandwidth {
        /// The host.
        host: usize,
        /// Rate.
        kbit: u32,
    },
    /// A member is frozen (`docker pause`) for the fault's duration.
    Pause {
        /// The host.
        host: usize,
        /// Which of its members.
        slot: usize,
    },
    /// A member is killed (`docker kill`); Swarm starts a replacement (a new member).
    Kill {
        /// The host.
        host: usize,
        /// Which of its members.
        slot: usize,
    },
    /// Every member of `host` is killed at once.
    KillHost {
        /// The host.
        host: usize,
    },
}

impl Fault {
    /// The kind's name, for logs and the report.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::OneWay { .. } => "one-way partition",
            Fault::Isolate { .. } => "host link cut",
            Fault::Loss { .. } => "loss on a host",
            Fault::LossEverywhere { .. } => "loss everywhere",
            Fault::Bandwidth { .. } => "bandwidth limit",
            Fault::Pause { .. } => "pause",
            Fault::Kill { .. } => "kill member",
            Fault::KillHost { .. } => "kill every member of a host",
        }
    }

    /// The hosts whose links a network fault cuts (not loss or bandwidth): members there may
    /// lose others for good reason while it lasts.
    pub fn cut_hosts(&self, host_count: usize) -> Vec<usize> {
        match self {
            Fault::Partition { .. } => (0..host_count).collect(),
            Fault::OneWay { from, to } => vec![*from, *to],
            Fault::Isolate { host } => vec![*host],
            _ => Vec::new(),
        }
    }

    /// Whether the fault lasts (and is reverted) rather than being done at once.
    pub fn lasts(&self) -> bool {
        !matches!(self, Fault::Kill { .. } | Fault::KillHost { .. })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { side } => write!(f, "partition hosts {side:?} | the others"),
            Fault::OneWay { from, to } => write!(f, "drop host {from} -> host {to}"),
            Fault::Isolate { host } => write!(f, "cut host {host}'s link"),
            Fault::Loss { host, percent } => write!(f, "{percent}% loss in and out of host {host}"),
            Fault::LossEverywhere { percent } => write!(f, "{percent}% loss into every host"),
            Fault::Bandwidth { host, kbit } => {
                write!(f, "host {host} out limited to {kbit} kbit/s")
            }
            Fault::Pause { host, slot } => write!(f, "pause member {slot} of host {host}"),
            Fault::Kill { host, slot } => write!(f, "kill member {slot} of host {host}"),
            Fault::KillHost { host } => write!(f, "kill every member of host {host}"),
        }
    }
}

/// One rule: `(host, chain, match arguments)`; applied with `-I`, reverted with `-D`.
type Rule = (usize, &'static str, Vec<String>);

fn vxlan_from(ip: &str) -> Vec<String> {
    ["-s", ip, "-p", "udp", "--dport", VXLAN_PORT, "-j", "DROP"]
        .map(str::to_owned)
        .to_vec()
}

fn random_drop(iface: (&str, &str), percent: u32) -> Vec<String> {
    let probability = format!("{:.2}", f64::from(percent) / 100.0);
    vec![
        iface.0.to_owned(),
        iface.1.to_owned(),
        "-p".to_owned(),
        "udp".to_owned(),
        "--dport".to_owned(),
        VXLAN_PORT.to_owned(),
        "-m".to_owned(),
        "statistic".to_owned(),
        "--mode".to_owned(),
        "random".to_owned(),
        "--probability".to_owned(),
        probability,
        "-j".to_owned(),
        "DROP".to_owned(),
    ]
}

/// The `iptables` rules of a network fault (none for the others).
fn rules(hosts: &Hosts, fault: &Fault) -> Vec<Rule> {
    let ip = |h: usize| hosts.hosts[h].ip.to_string();
    let n = hosts.hosts.len();
    let mut rules = Vec::new();
    match fault {
        Fault::Partition { side } => {
            for a in 0..n {
                for b in 0..n {
                    if side.contains(&a) != side.contains(&b) {
                        rules.push((a, "INPUT", vxlan_from(&ip(b))));
                    }
                }
            }
        }
        Fault::OneWay { from, to } => rules.push((*to, "INPUT", vxlan_from(&ip(*from)))),
        Fault::Isolate { host } => {
            for other in (0..n).filter(|o| o != host) {
                rules.push((*host, "INPUT", vxlan_from(&ip(other))));
                rules.push((other, "INPUT", vxlan_from(&ip(*host))));
            }
        }
        Fault::Loss { host, percent } => {
            rules.push((*host, "INPUT", random_drop(("-i", "eth0"), *percent)));
            rules.push((*host, "OUTPUT", random_drop(("-o", "eth0"), *percent)));
        }
        Fault::LossEverywhere { percent } => {
            for h in 0..n {
                rules.push((h, "INPUT", random_drop(("-i", "eth0"), *percent)));
            }
        }
        _ => {}
    }
    rules
}

fn apply_rules(hosts: &Hosts, rules: &[Rule], op: &str) -> Result<(), CommandError> {
    for (host, chain, spec) in rules {
        let mut args = vec![op, chain];
        args.extend(spec.iter().map(String::as_str));
        iptables_in(&hosts.hosts[*host].netns_path(), &args)?;
    }
    Ok(())
}

/// Starts a network fault (partition, one-way, cut, loss, bandwidth).
pub fn start_network(hosts: &Hosts, fault: &Fault) -> Result<(), CommandError> {
    if let Fault::Bandwidth { host, kbit } = fault {
        let rate = format!("{kbit}kbit");
        tc_in(
            &hosts.hosts[*host].netns_path(),
            &[
                "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", &rate, "burst", "16kbit",
                "latency", "200ms",
            ],
        )?;
        return Ok(());
    }
    apply_rules(hosts, &rules(hosts, fault), "-I")
}

/// Ends a network fault started by [`start_network`].
pub fn end_network(hosts: &Hosts, fault: &Fault) -> Result<(), CommandError> {
    if let Fault::Bandwidth { host, .. } = fault {
        tc_in(
            &hosts.hosts[*host].netns_path(),
            &["qdisc", "del", "dev", "eth0", "root"],
        )?;
        return Ok(());
    }
    apply_rules(hosts, &rules(hosts, fault), "-D")
}

/// A fault at an offset from the schedule's start, for a duration (zero for kills).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// When it starts, from the schedule's start.
    pub at: Duration,
    /// How long it lasts.
    pub duration: Duration,
    /// What it is.
    pub fault: Fault,
}

/// splitmix64: a small generator whose sequence is fixed by its seed forever (a library's
/// generator may change between versions, and the schedule of a seed must not).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// The generator of `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.range(0, len as u64 - 1)).unwrap_or(0)
    }
}

/// What a schedule is made of.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// Hosts (at least 2 for network faults to mean something).
    pub hosts: usize,
    /// Members per host.
    pub per_host: usize,
    /// The schedule's length: no fault starts after `length - settle`.
    pub length: Duration,
    /// Quiet time after each fault ends (or after a kill), for the cluster to converge
    /// before the next; at least the convergence bound.
    pub settle: Duration,
    /// Longest fault.
    pub longest: Duration,
}

/// The schedule of `seed`: faults one after another, each followed by `settle` of quiet.
/// The same seed and spec give the same schedule.
pub fn schedule(seed: u64, spec: &ScheduleSpec) -> Vec<Scheduled> {
    let mut rng = SplitMix::new(seed);
    let mut out = Vec::new();
    let mut at = Duration::ZERO;
    let longest = spec.longest.as_secs().max(4);
    loop {
        let host = rng.index(spec.hosts);
        let other = (host + 1 + rng.index(spec.hosts.max(2) - 1)) % spec.hosts;
        let slot = rng.index(spec.per_host);
        let kind = rng.range(0, 8);
        let fault = match kind {
            0 if spec.hosts > 1 => Fault::Partition { side: vec![host] },
            1 if spec.hosts > 1 => Fault::OneWay {
                from: host,
                to: other,
            },
            2 if spec.hosts > 1 => Fault::Isolate { host },
            3 => Fault::Loss {
                host,
                percent: u32::try_from(rng.range(10, 30)).unwrap_or(10),
            },
            4 => Fault::Bandwidth {
                host,
                kbit: u32::try_from(rng.range(64, 512)).unwrap_or(64),
            },
            5 | 6 => Fault::Pause { host, slot },
            7 => Fault::Kill { host, slot },
            _ => Fault::KillHost { host },
        };
        let duration = if fault.lasts() {
            Duration::from_secs(rng.range(3, longest))
        } else {
            Duration::ZERO
        };
        if at + duration + spec.settle > spec.length {
            break;
        }
        out.push(Scheduled {
            at,
            duration,
            fault,
        });
        at += duration + spec.settle;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ScheduleSpec {
        ScheduleSpec {
            hosts: 3,
            per_host: 2,
            length: Duration::from_secs(1800),
            settle: Duration::from_secs(40),
            longest: Duration::from_secs(30),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        let a = schedule(7, &spec());
        assert_eq!(a, schedule(7, &spec()));
        assert_ne!(a, schedule(8, &spec()));
        assert!(a.len() > 10, "{}", a.len());
    }

    #[test]
    fn a_schedule_fits_its_length_and_keeps_the_settle_time() {
        let spec = spec();
        let s = schedule(42, &spec);
        for pair in s.windows(2) {
            assert!(pair[1].at >= pair[0].at + pair[0].duration + spec.settle);
        }
        let last = s.last().unwrap();
        assert!(last.at + last.duration + spec.settle <= spec.length);
        for f in &s {
            assert!(f.duration <= spec.longest);
            match &f.fault {
                Fault::OneWay { from, to } => assert_ne!(from, to),
                Fault::Partition { side } => assert!(side.iter().all(|h| *h < 3)),
                _ => {}
            }
        }
    }

    #[test]
    fn a_long_schedule_has_every_kind() {
        let s = schedule(1, &spec());
        let kinds: std::collections::BTreeSet<&str> = s.iter().map(|f| f.fault.kind()).collect();
        assert!(kinds.len() >= 8, "{kinds:?}");
    }

    #[test]
    fn splitmix_is_fixed_by_its_seed() {
        // The reference values of splitmix64 for seed 0.
        let mut r = SplitMix::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }
}
