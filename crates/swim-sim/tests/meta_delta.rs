//! Metadata deltas: a change of one key in a large map is gossiped as the change, not the
//! map; members that miss it (loss, a partition) repair their maps, and every member ends
//! with the exact map of the member that changed it.

mod common;

use common::run_until;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use swim_core::wire::{update_len, DecodeError, NativeWire, WireFormat};
use swim_core::{Message, Metadata, Packet, ProtocolConfig, Update};
use swim_sim::{member_name, NetworkConfig, Simulation, Tracker};

/// A map of `keys` keys of `size` bytes each, all with `value` in it.
fn map(keys: usize, size: usize, value: &str) -> Metadata {
    (0..keys)
        .map(|k| (format!("key-{k:03}"), format!("{value:-<size$}")))
        .collect()
}

/// Bytes of the changed member's records sent, as whole maps and as deltas.
#[derive(Debug, Default, Clone, Copy)]
struct Sent {
    maps: u64,
    map_bytes: u64,
    deltas: u64,
    delta_bytes: u64,
}

/// The native wire, counting the records about one member that every packet carries.
struct Watched {
    name: swim_core::MemberName,
    sent: Arc<Mutex<Sent>>,
}

impl WireFormat for Watched {
    fn encode(&self, packet: &Packet) -> Vec<Vec<u8>> {
        let mut sent = self.sent.lock().unwrap();
        // Full syncs (joins, catch-ups on the member count) hand over whole lists, whatever
        // changed: not counted.
        let records = match &packet.message {
            Message::Sync { full: true, .. } => &[],
            message => message.records(),
        };
        let about = |u: &&Update| u.name == self.name;
        for u in packet.gossip.iter().chain(records).filter(about) {
            if u.metadata.is_some() {
                sent.maps += 1;
                sent.map_bytes += update_len(u) as u64;
            } else if u.delta.is_some() {
                sent.deltas += 1;
                sent.delta_bytes += update_len(u) as u64;
            }
        }
        NativeWire.encode(packet)
    }

    fn decode(&self, payload: &[u8]) -> Result<Packet, DecodeError> {
        NativeWire.decode(payload)
    }
}

const CHANGED: usize = 3;

/// `n` members joined on a network with `loss`, member [`CHANGED`] holding a 100-key map of
/// about 6 KiB, the others a small one; the wire counts the changed member's records.
fn cluster(n: usize, seed: u64, loss: f64) -> (Simulation, Tracker, Arc<Mutex<Sent>>) {
    let sent = Arc::new(Mutex::new(Sent::default()));
    let wire = Watched {
        name: member_name(CHANGED),
        sent: sent.clone(),
    };
    let network = NetworkConfig {
        loss,
        ..NetworkConfig::default()
    };
    let protocol = ProtocolConfig {
        push_pull_interval: Duration::from_secs(10),
        ..ProtocolConfig::default()
    };
    let mut sim = Simulation::new(n, seed, network, protocol).with_wire(Box::new(wire));
    let mut tracker = Tracker::new(n);
    for i in 0..n {
        let peers: &[usize] = if i == 0 { &[] } else { &[0] };
        let metadata = if i == CHANGED {
            map(100, 60, "v1")
        } else {
            [("role", "x")].into_iter().collect()
        };
        sim.start(i, metadata, peers, &mut tracker);
    }
    run_until(&mut sim, &mut tracker, 60.0, "join", |_, t| {
        t.fully_joined()
    });
    run_until(
        &mut sim,
        &mut tracker,
        60.0,
        "the map everywhere",
        |s, _| seen_by(s, &map(100, 60, "v1")) == n,
    );
    run_until(&mut sim, &mut tracker, 60.0, "quiet", |s, _| {
        s.pending_gossip() == 0
    });
    (sim, tracker, sent)
}

/// How many members hold exactly `map` for the changed member.
fn seen_by(sim: &Simulation, map: &Metadata) -> usize {
    let name = member_name(CHANGED);
    (0..sim.len())
        .filter(|&o| {
            let seen = sim.member(o).and_then(|m| m.member(&name));
            seen.is_some_and(|m| m.metadata.as_ref() == Some(map))
        })
        .count()
}

/// Changes one key of the changed member's map to `value`; returns the new map.
fn change(sim: &mut Simulation, tracker: &mut Tracker, value: &str) -> Metadata {
    let old = sim.member(CHANGED).unwrap().local().metadata.unwrap();
    let new = old.with("key-042", value);
    sim.set_metadata(CHANGED, new.clone(), tracker);
    new
}

#[test]
fn a_one_key_change_goes_as_a_delta_and_every_map_converges_under_loss() {
    let n = 40;
    let (mut sim, mut tracker, sent) = cluster(n, 1, 0.05);
    *sent.lock().unwrap() = Sent::default();
    let new = change(&mut sim, &mut tracker, "ten bytes!");
    run_until(
        &mut sim,
        &mut tracker,
        30.0,
        "the change everywhere",
        |s, _| seen_by(s, &new) == n,
    );
    // Until the change stops being gossiped: what it cost.
    run_until(&mut sim, &mut tracker, 60.0, "quiet", |s, _| {
        s.pending_gossip() == 0
    });
    let sent = *sent.lock().unwrap();
    eprintln!("{sent:?}");
    assert!(sent.deltas >= n as u64 - 1, "gossiped as deltas: {sent:?}");
    // Whole maps only for repairs (the few members whose every copy was lost) and
    // push-pull windows: far fewer bytes than one map to each member.
    let one_map_each = (n as u64 - 1) * 6_000;
    assert!(
        sent.map_bytes + sent.delta_bytes < one_map_each / 4,
        "{sent:?}"
    );
}

#[test]
fn maps_converge_after_a_partition_of_a_minute_with_changes_on_one_side() {
    let n = 30;
    let (mut sim, mut tracker, _) = cluster(n, 2, 0.0);
    // The changed member's side (the lower half) changes its map twice while cut off.
    sim.partition
        .split((0..n).map(|i| u32::from(i >= n / 2)).collect());
    change(&mut sim, &mut tracker, "during-1");
    let later = sim.now() + Duration::from_secs(20);
    sim.run_until(later, &mut tracker);
    let during = change(&mut sim, &mut tracker, "during-2");
    let later = sim.now() + Duration::from_secs(40);
    sim.run_until(later, &mut tracker);
    assert_eq!(seen_by(&sim, &during), n / 2, "only its side has it");
    sim.partition.heal();
    run_until(
        &mut sim,
        &mut tracker,
        60.0,
        "the map everywhere after the heal",
        |s, _| seen_by(s, &during) == n,
    );
    // A change after the heal reaches everyone as a delta on top of the repaired maps.
    let after = change(&mut sim, &mut tracker, "after");
    run_until(&mut sim, &mut tracker, 10.0, "the next change", |s, _| {
        seen_by(s, &after) == n
    });
}

#[test]
fn a_member_that_missed_a_change_repairs_its_map_when_the_next_arrives() {
    let n = 20;
    let (mut sim, mut tracker, _) = cluster(n, 3, 0.0);
    // Member 9 is cut off while the first change spreads and is gossiped out.
    let missed = 9;
    sim.partition
        .split((0..n).map(|i| u32::from(i == missed)).collect());
    let first = change(&mut sim, &mut tracker, "first");
    run_until(&mut sim, &mut tracker, 10.0, "the first change", |s, _| {
        seen_by(s, &first) == n - 1
    });
    run_until(&mut sim, &mut tracker, 60.0, "quiet", |s, _| {
        s.pending_gossip() == 0
    });
    sim.partition.heal();
    // The second change is made to the first's map, which member 9 does not hold: it asks
    // for the whole map at once instead of waiting for push-pull.
    let second = change(&mut sim, &mut tracker, "second");
    let took = run_until(&mut sim, &mut tracker, 5.0, "the second change", |s, _| {
        seen_by(s, &second) == n
    });
    assert!(took < 2.0, "repaired in {took} s");
}
