//! Failure detection: probes in the shuffled round-robin, indirect rounds, suspicion, and
//! the ping-reqs relayed for others.

use super::*;

impl<R: Rng> Swim<R> {
    /// Evidence that `index` is alive: completes probes of it and forwards acks to the
    /// members that asked us to probe it.
    pub(super) fn heard_from(&mut self, now: Duration, index: usize, alive: &Source) {
        let probed = self.probes.iter().any(|p| p.target == index);
        if probed {
            self.tally.counters.probes_answered += 1;
        }
        self.probes.retain(|p| p.target != index);
        if probed && self.seed_rules(index) {
            self.seed_probe_answered(index, now);
        }
        let mut i = 0;
        while i < self.relays.len() {
            if self.relays[i].target == index {
                if let Some(relay) = self.relays.remove(i) {
                    let message = Message::Ack {
                        seq: relay.seq,
                        alive: alive.clone(),
                        known: self.known(),
                    };
                    if relay.bare {
                        self.send_bare_ack(relay.requester, message);
                    } else {
                        self.send(relay.requester, message, false);
                    }
                }
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn relay(
        &mut self,
        now: Duration,
        requester: usize,
        seq: u32,
        target: MemberName,
        correct: bool,
    ) {
        if self.is_forgotten(&target) {
            return; // the requester is out of date: we forgot that member
        }
        if self.is_local(&target) {
            let alive = self.source();
            let known = self.known();
            self.send(requester, Message::Ack { seq, alive, known }, correct);
            return;
        }
        let target = self.member_index(&target, now);
        let ping_seq = self.next_seq();
        let ping = Message::Ping {
            seq: ping_seq,
            known: self.known(),
        };
        self.send(target, ping, false);
        self.relays.push_back(Relay {
            requester,
            seq,
            target,
            expires: now + self.config.ping_req_timeout,
            bare: self.answer_limit.is_some_and(|l| l.to == requester),
        });
        if correct {
            self.send(requester, Message::GossipOnly, true);
        }
    }

    pub(super) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// The probes of one `ping_interval`: the next member of the round (OFFLINE members
    /// are skipped) and, at a reduced rate, an OFFLINE member (see `next_probe_targets`).
    pub(super) fn start_probe(&mut self, now: Duration) {
        for target in self.next_probe_targets() {
            self.probe(now, target);
        }
    }

    fn probe(&mut self, now: Duration, target: usize) {
        if self.probes.iter().any(|p| p.target == target) {
            return;
        }
        let seq = self.next_seq();
        let known = self.known();
        self.send(target, Message::Ping { seq, known }, false);
        self.tally.probe_started(seq, now);
        let first_round = now + self.config.ping_timeout;
        self.probes.push(Probe {
            target,
            seq,
            next_round_at: first_round,
            suspect_at: first_round + self.config.ping_req_timeout,
        });
    }

    pub(super) fn advance_probes(&mut self, now: Duration) {
        let mut i = 0;
        while i < self.probes.len() {
            let probe = self.probes[i].clone();
            if now >= probe.suspect_at {
                self.probes.remove(i);
                self.tally.counters.probes_failed += 1;
                if self.verdict(probe.target, Status::Suspect, now) {
                    self.tally.counters.suspicions_raised += 1;
                    self.update_suspicion(probe.target, now);
                    self.changed(probe.target);
                    // Tell the suspect at once (the packet carries its record), so that a live
                    // member refutes before the suspicion spreads far.
                    self.send(probe.target, Message::GossipOnly, false);
                }
                continue;
            }
            if now >= probe.next_round_at {
                self.indirect_round(&probe);
                let next = probe.next_round_at + self.config.ping_timeout;
                // No round so late that its answers could not arrive in time.
                self.probes[i].next_round_at = if next < probe.suspect_at {
                    next
                } else {
                    Duration::MAX
                };
            }
            i += 1;
        }
    }

    /// One indirect round of a probe without an ack yet: a direct ping again and ping-reqs
    /// through `ping_req_count` random available members. Rounds repeat every ping_timeout
    /// until ping_req_timeout has passed, so that a few lost packets alone cannot make a live
    /// member suspect. An OFFLINE member cannot be made more offline: it only gets the ping.
    pub(super) fn indirect_round(&mut self, probe: &Probe) {
        let status = self.table.entries[probe.target].current.status;
        let ping = Message::Ping {
            seq: probe.seq,
            known: self.known(),
        };
        self.send(probe.target, ping.clone(), false);
        self.ping_on_other_wire(probe.target, ping);
        if status == Status::Offline {
            return;
        }
        let count = self.config.ping_req_count;
        let helpers = self.find_indices(count, StatusSet::AVAILABLE, &[probe.target]);
        let target = self.table.entries[probe.target].current.name.clone();
        for helper in helpers {
            let message = Message::PingReq {
                seq: probe.seq,
                target: target.clone(),
            };
            self.send(helper, message, false);
        }
    }
}
