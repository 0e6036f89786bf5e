//! Push-pull anti-entropy rides on probes: a quiet cluster sends pings and acks only (no
//! `Sync` datagrams), and the windows on them still repair what gossip missed.

mod common;

use common::run_until;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swim_core::wire::{DecodeError, NativeWire, WireFormat};
use swim_core::{Message, Metadata, Packet, ProtocolConfig, Update};
use swim_sim::{member_name, NetworkConfig, Simulation, Tracker};

fn meta(v: &str) -> Metadata {
    [("version", v)].into_iter().collect()
}

/// Packets sent, by what they carry.
#[derive(Debug, Default, Clone)]
struct Sent {
    pings: u64,
    acks: u64,
    /// Pings carrying a push-pull window (counted in `pings` too).
    windows: u64,
    /// Acks carrying a push-pull answer (counted in `acks` too).
    answers: u64,
    /// Standalone push-pull requests and replies.
    syncs: u64,
    other: u64,
}

/// Which piggybacked records never arrive (none while unset).
type Lost = Arc<Mutex<Option<Box<dyn Fn(&Update) -> bool + Send>>>>;

/// The native wire, counting what is sent, and dropping from the piggybacked gossip (not
/// from sync records or windows) every record that `lost` matches: gossip that never
/// arrives anywhere.
struct Watched {
    sent: Arc<Mutex<Sent>>,
    lost: Lost,
}

impl WireFormat for Watched {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let mut sent = self.sent.lock().unwrap();
        match &packet.message {
            Message::Ping { window, .. } => {
                sent.pings += 1;
                sent.windows += u64::from(window.is_some());
            }
            Message::Ack { window, .. } => {
                sent.acks += 1;
                sent.answers += u64::from(window.is_some());
            }
            Message::Sync { full: false, .. } => sent.syncs += 1,
            _ => sent.other += 1,
        }
        NativeWire.encode(packet)
    }

    fn decode(&self, payload: &[u8]) -> Result<Packet, DecodeError> {
        let mut packet = NativeWire.decode(payload)?;
        if let Some(lost) = self.lost.lock().unwrap().as_ref() {
            packet.gossip.retain(|u| !lost(u));
        }
        Ok(packet)
    }
}

/// `n` members started at once, each knowing member 0, joined and quiet, on the watched wire.
fn quiet_cluster(
    n: usize,
    seed: u64,
    protocol: ProtocolConfig,
) -> (Simulation, Tracker, Arc<Mutex<Sent>>, Watched) {
    let sent = Arc::new(Mutex::new(Sent::default()));
    let lost: Lost = Arc::new(Mutex::new(None));
    let wire = Watched {
        sent: sent.clone(),
        lost: lost.clone(),
    };
    let handle = Watched {
        sent: sent.clone(),
        lost,
    };
    let mut sim =
        Simulation::new(n, seed, NetworkConfig::default(), protocol).with_wire(Box::new(wire));
    let mut tracker = Tracker::new(n);
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        sim.start(i, meta("1"), peers, &mut tracker);
    }
    run_until(&mut sim, &mut tracker, 60.0, "join", |_, t| {
        t.fully_joined()
    });
    run_until(&mut sim, &mut tracker, 60.0, "quiet", |s, _| {
        s.pending_gossip() == 0
    });
    // A few more probe periods, so that catch-ups and follow-ups are over.
    let settle = sim.now() + Duration::from_secs(5);
    sim.run_until(settle, &mut tracker);
    (sim, tracker, sent, handle)
}

fn packets_sent(sim: &Simulation) -> u64 {
    (0..sim.len()).map(|i| sim.traffic(i).packets).sum()
}

/// The key regression test of "quiet datagrams per member ≤ memberlist's": while nothing
/// happens, every datagram is a ping or its ack, push-pull included.
#[test]
fn a_quiet_cluster_sends_pings_and_acks_only() {
    let protocol = ProtocolConfig {
        push_pull_interval: Duration::from_secs(5),
        ..ProtocolConfig::default()
    };
    let n = 40;
    let (mut sim, mut tracker, sent, _) = quiet_cluster(n, 3, protocol.clone());
    *sent.lock().unwrap() = Sent::default();
    let packets = packets_sent(&sim);
    let secs = 60.0;
    let end = sim.now() + Duration::from_secs_f64(secs);
    sim.run_until(end, &mut tracker);
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.syncs, 0, "no push-pull datagram of its own: {sent:?}");
    assert_eq!(sent.other, 0, "{sent:?}");
    assert_eq!(packets_sent(&sim) - packets, sent.pings + sent.acks);
    // One ping per member per ping interval, and its ack (lossless: every one).
    let per_member_s = (sent.pings + sent.acks) as f64 / (n as f64 * secs);
    assert!(
        (per_member_s - 2.0).abs() < 0.05,
        "{per_member_s} datagrams per member per second"
    );
    // Anti-entropy did not stop: a window every push_pull_interval (jittered ×0.5–1.5),
    // each on a ping answered on its ack.
    let expected = n as f64 * secs / protocol.push_pull_interval.as_secs_f64();
    assert!(
        (sent.windows as f64) > 0.8 * expected && (sent.windows as f64) < 1.2 * expected,
        "{} windows, about {expected} expected",
        sent.windows
    );
    assert_eq!(
        sent.answers, sent.windows,
        "every window answered on its ack"
    );
}

/// A metadata change whose gossip reaches nobody (every piggybacked record of it is lost)
/// still reaches every member, through the push-pull windows riding on probes.
#[test]
fn a_change_gossip_missed_is_repaired_by_the_windows_on_probes() {
    let protocol = ProtocolConfig {
        push_pull_interval: Duration::from_secs(5),
        ..ProtocolConfig::default()
    };
    let n = 30;
    let (mut sim, mut tracker, sent, handle) = quiet_cluster(n, 4, protocol.clone());
    let changed = member_name(7);
    let version = meta("2");
    let matches = {
        let (changed, version) = (changed.clone(), version.clone());
        move |u: &Update| u.name == changed && u.metadata.as_ref() == Some(&version)
    };
    *handle.lost.lock().unwrap() = Some(Box::new(matches));
    *sent.lock().unwrap() = Sent::default();
    sim.set_metadata(7, version.clone(), &mut tracker);
    let seen_by = |s: &Simulation| {
        (0..s.len())
            .filter(|&o| {
                let seen = s.member(o).and_then(|m| m.member(&changed));
                seen.is_some_and(|m| m.metadata.as_ref() == Some(&version))
            })
            .count()
    };
    // The gossip is lost: a second later (when gossip would have told everyone, see
    // `fanout.rs`) only the few members that exchanged a window since have it.
    let later = sim.now() + Duration::from_secs(1);
    sim.run_until(later, &mut tracker);
    assert!(
        seen_by(&sim) < n / 4,
        "gossip was not lost: {}",
        seen_by(&sim)
    );
    // Every member's window covers the whole table of 30 (within the piggyback budget):
    // the change spreads as an epidemic, one exchange per member per push-pull period.
    let bound = 8.0 * protocol.push_pull_interval.as_secs_f64();
    let took = run_until(&mut sim, &mut tracker, bound, "repair", |s, _| {
        seen_by(s) == n
    });
    let sent = sent.lock().unwrap().clone();
    assert!(sent.windows > 0 && sent.answers > 0, "{sent:?}");
    eprintln!("repaired in {took:.1} s: {sent:?}");
}
