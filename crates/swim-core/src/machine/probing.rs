//! Failure detection: probes in the shuffled round-robin, indirect rounds, suspicion, and
//! the ping-reqs relayed for others (with Lifeguard's nacks and local health).

use super::*;

/// When a relay sends its nack, as a fraction of its `ping_req_timeout` (Lifeguard's 80%).
const NACK_AT: f64 = 0.8;

impl<R: Rng> Swim<R> {
    /// Evidence that `index` is alive: completes probes of it and forwards acks to the
    /// members that asked us to probe it.
    pub(super) fn heard_from(&mut self, now: Duration, index: usize, alive: &Source) {
        let probed = self.probes.iter().any(|p| p.target == index);
        if probed {
            self.tally.counters.probes_answered += 1;
            self.health.better();
            self.responders.answered(index);
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
        // At 80% of the indirect timeout the requester still has time to hear "no answer
        // yet" before it gives up on the target.
        let nack_at = self
            .nacks_with(requester)
            .then(|| now + self.config.ping_req_timeout.mul_f64(NACK_AT));
        self.relays.push_back(Relay {
            requester,
            seq,
            target,
            expires: now + self.config.ping_req_timeout,
            nack_at,
            bare: self.answer_limit.is_some_and(|l| l.to == requester),
        });
        if correct {
            self.send(requester, Message::GossipOnly, true);
        }
    }

    /// Sends the nacks that are due: relays whose target has not answered yet.
    pub(super) fn send_nacks(&mut self, now: Duration) {
        let mut due = Vec::new();
        for relay in &mut self.relays {
            if relay.nack_at.is_some_and(|at| at <= now) {
                relay.nack_at = None;
                due.push((relay.requester, relay.seq, relay.target));
            }
        }
        for (requester, seq, target) in due {
            self.tally.counters.nacks_sent += 1;
            self.send(requester, Message::Nack { seq }, false);
            self.unanswered_relay(target, now);
        }
    }

    /// A nack from `sender` for our probe `seq`: the relay works and the target has not
    /// answered it either. Only a helper we asked counts, once.
    pub(super) fn nacked(&mut self, sender: usize, seq: u32) {
        let Some(probe) = self.probes.iter_mut().find(|p| p.seq == seq) else {
            return;
        };
        if let Some(slot) = probe.nacks.iter_mut().find(|(h, got)| *h == sender && !got) {
            slot.1 = true;
            self.tally.counters.nacks_received += 1;
            self.responders.answered(sender);
        }
    }

    /// Whether nacks are exchanged with member `index`: with Lifeguard, on the native wire
    /// (members of the Python package neither send nor understand them).
    pub(super) fn nacks_with(&self, index: usize) -> bool {
        self.config.lifeguard && !self.seed_rules(index)
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
        let ping = self.probe_ping(target, seq, known);
        self.send(target, ping, false);
        self.tally.probe_started(seq, now);
        let first_round = now + self.health.scale(self.config.ping_timeout);
        self.probes.push(Probe {
            target,
            seq,
            next_round_at: first_round,
            suspect_at: first_round + self.health.scale(self.config.ping_req_timeout),
            rounds: 0,
            extended: false,
            nacks: Vec::new(),
        });
    }

    pub(super) fn advance_probes(&mut self, now: Duration) {
        let lifeguard = self.config.lifeguard;
        let mut i = 0;
        while i < self.probes.len() {
            let probe = self.probes[i].clone();
            // Lifeguard: a member woken late (it is slow) sends the indirect round it owes
            // before judging: the answers may already be waiting in its input.
            let round_owed = lifeguard && probe.rounds == 0 && now >= probe.next_round_at;
            if now >= probe.suspect_at && !round_owed {
                if self.second_chance(i, now) {
                    i += 1;
                    continue;
                }
                self.probes.remove(i);
                self.probe_failed(&probe, now);
                continue;
            }
            if now >= probe.next_round_at {
                let helpers = self.indirect_round(&probe);
                let ping_timeout = self.health.scale(self.config.ping_timeout);
                let ping_req_timeout = self.health.scale(self.config.ping_req_timeout);
                let owing: Vec<(usize, bool)> = (helpers.into_iter())
                    .filter(|&h| self.nacks_with(h))
                    .map(|h| (h, false))
                    .collect();
                let p = &mut self.probes[i];
                if p.rounds == 0 && lifeguard {
                    // Every wait runs from when its packets actually left.
                    p.suspect_at = p.suspect_at.max(now + ping_req_timeout);
                    p.nacks = owing;
                }
                p.rounds += 1;
                let from = if lifeguard { now } else { p.next_round_at };
                let next = from + ping_timeout;
                // No round so late that its answers could not arrive in time.
                p.next_round_at = if next < p.suspect_at {
                    next
                } else {
                    Duration::MAX
                };
            }
            i += 1;
        }
    }

    /// Lifeguard: when probe `i` runs out and not one helper sent a nack, the silence says
    /// more about us (slow, or cut off) than about the target, whose ack may be waiting in
    /// our input. The probe then gets one more indirect round and a full indirect timeout,
    /// once; the missing nacks count against our health. Returns whether it did.
    fn second_chance(&mut self, i: usize, now: Duration) -> bool {
        let probe = self.probes[i].clone();
        let silent = !probe.nacks.is_empty() && probe.nacks.iter().all(|(_, got)| !got);
        if probe.extended || !silent {
            return false;
        }
        let silent_responders = self.silent_helpers(&probe.nacks);
        self.health.worse(silent_responders);
        let helpers = self.indirect_round(&probe);
        let owing: Vec<(usize, bool)> = (helpers.into_iter())
            .filter(|&h| self.nacks_with(h))
            .map(|h| (h, false))
            .collect();
        let ping_req_timeout = self.health.scale(self.config.ping_req_timeout);
        let p = &mut self.probes[i];
        p.extended = true;
        p.rounds += 1;
        p.suspect_at = now + ping_req_timeout;
        p.next_round_at = Duration::MAX;
        p.nacks = owing;
        true
    }

    /// A probe ran out without an answer: local health, then the verdict.
    fn probe_failed(&mut self, probe: &Probe, now: Duration) {
        self.tally.counters.probes_failed += 1;
        let status = self.table.entries[probe.target].status;
        if status == Status::Offline {
            return; // no answer was expected: nothing to learn, nothing to suspect
        }
        // Lifeguard: recent responders that did not nack point at us (or the path to them);
        // with no helper to ask, the failure itself is the only evidence. Nacks from every
        // helper show that our own timing works: the target alone is silent.
        let all_nacked = probe.nacks.iter().all(|&(_, got)| got);
        let silent_responders = self.silent_helpers(&probe.nacks);
        if probe.nacks.is_empty() {
            self.health.worse(1);
        } else if all_nacked {
            self.health.better();
        } else {
            self.health.worse(silent_responders);
        }
        if self.verdict(probe.target, Status::Suspect, now) {
            self.tally.counters.suspicions_raised += 1;
            self.update_suspicion(probe.target, now, Some(LOCAL));
            self.changed(probe.target);
        } else if status == Status::Suspect {
            // Already suspect: our own failure confirms it (Lifeguard).
            self.confirm_suspicion(probe.target, LOCAL, now);
        } else {
            return;
        }
        // Tell the suspect at once (the packet carries its record), so that a live member
        // refutes before the suspicion spreads far.
        self.send(probe.target, Message::GossipOnly, false);
    }

    /// One indirect round of a probe without an ack yet: a direct ping again and ping-reqs
    /// through `ping_req_count` random available members. Rounds repeat every ping_timeout
    /// until ping_req_timeout has passed, so that a few lost packets alone cannot make a live
    /// member suspect. An OFFLINE member cannot be made more offline: it only gets the ping.
    /// Returns the helpers asked.
    pub(super) fn indirect_round(&mut self, probe: &Probe) -> Vec<usize> {
        let status = self.table.entries[probe.target].status;
        let ping = Message::Ping {
            seq: probe.seq,
            known: self.known(),
        };
        self.send(probe.target, ping.clone(), false);
        self.ping_on_other_wire(probe.target, ping);
        if status == Status::Offline {
            return Vec::new();
        }
        let count = self.config.ping_req_count;
        let helpers = self.probe_helpers(count, probe.target);
        let target = self.table.entries[probe.target].name.clone();
        for &helper in &helpers {
            let message = Message::PingReq {
                seq: probe.seq,
                target: target.clone(),
            };
            self.send(helper, message, false);
        }
        helpers
    }
}
