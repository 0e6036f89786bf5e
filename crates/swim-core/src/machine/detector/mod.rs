//! Failure detection's own state: whom to probe next (a shuffled round-robin), the probes
//! in flight with their indirect rounds, the ping-reqs relayed for others, Lifeguard's local
//! health and the recent responders asked first as helpers. The suspicions that failed
//! probes raise live in the suspicion store (`machine/suspicion.rs`); the orchestrator
//! (`machine.rs`) sends the packets these decisions call for.

mod health;
mod probe;
mod responders;

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;

use crate::ProtocolConfig;
use health::Health;
use probe::{Probe, ProbeRing, Relay};
use responders::Responders;

/// When a relay sends its nack, as a fraction of its `ping_req_timeout` (Lifeguard's 80%).
const NACK_AT: f64 = 0.8;

/// An OFFLINE member is pinged once every this many probe periods (besides the member of
/// the round). At 1,000 members cut in two halves, each member of one half is pinged by
/// the other about every 4 s, so the halves find each other again within seconds.
const OFFLINE_PROBE_EVERY: u32 = 4;

/// A sweep of the OFFLINE members starts this many probe periods after the comeback that
/// called for it: long enough for gossip to bring most of the other comebacks first (each
/// one is a member the sweep need not ping), short enough that the rest are found in
/// seconds. Sweeps are at least as far apart.
const SWEEP_AFTER: u32 = 2;

/// Sweeps that follow the last comeback, [`SWEEP_AFTER`] periods apart. A sweep pings each
/// member once, and a lost ping (or ack) would leave that member to its OFFLINE turn, which
/// may come minutes later: each later sweep pings again those still OFFLINE, so a member
/// stays unhealed only if all three pings (or their acks) are lost.
const SWEEPS_PER_COMEBACK: u32 = 3;

/// What a probe in flight needs now (see [`Detector::probe_step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProbeStep {
    /// Nothing is due yet.
    Wait,
    /// An indirect round is due.
    Round,
    /// Its time is up without an answer.
    Expired,
}

/// A relayed ping-req whose target answered: its ack goes back to `requester`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Answered {
    /// The member that asked us to probe.
    pub(super) requester: usize,
    /// Its sequence number, echoed.
    pub(super) seq: u32,
    /// The requester is not in good standing: the ack goes bare.
    pub(super) bare: bool,
}

/// A nack due: the target of a relayed ping-req has not answered yet.
#[derive(Debug, Clone, Copy)]
pub(super) struct NackDue {
    /// The member that asked us to probe.
    pub(super) requester: usize,
    /// Its sequence number.
    pub(super) seq: u32,
    /// The silent target.
    pub(super) target: usize,
}

/// Failure detection's state (table indices name the members).
#[derive(Debug)]
pub(super) struct Detector {
    ring: ProbeRing,
    probes: Vec<Probe>,
    relays: VecDeque<Relay>,
    health: Health,
    responders: Responders,
    seq: u32,
    /// Counts probe periods, to ping an OFFLINE member every few of them.
    offline_turn: u32,
    /// When the sweep of the OFFLINE members called for by a comeback is due, if one is.
    sweep_due: Option<Duration>,
    /// When the last sweep ran.
    last_sweep: Option<Duration>,
    /// Sweeps still to run since the last comeback (see [`SWEEPS_PER_COMEBACK`]).
    sweeps_left: u32,
    ping_interval: Duration,
    lifeguard: bool,
    ping_timeout: Duration,
    ping_req_timeout: Duration,
}

impl Detector {
    /// Nothing to probe yet; a healthy local member.
    pub(super) fn new(config: &ProtocolConfig) -> Detector {
        let max = if config.lifeguard {
            config.awareness_max
        } else {
            0
        };
        Detector {
            ring: ProbeRing::default(),
            probes: Vec::new(),
            relays: VecDeque::new(),
            health: Health::new(max),
            responders: Responders::default(),
            seq: 0,
            offline_turn: 0,
            sweep_due: None,
            last_sweep: None,
            sweeps_left: 0,
            ping_interval: config.ping_interval,
            lifeguard: config.lifeguard,
            ping_timeout: config.ping_timeout,
            ping_req_timeout: config.ping_req_timeout,
        }
    }

    /// Makes room for `members` members in the probe round.
    pub(super) fn reserve(&mut self, members: usize) {
        self.ring.reserve(members);
    }

    /// A new member to probe, placed at random in the round.
    pub(super) fn insert(&mut self, index: usize, rng: &mut impl Rng) {
        self.ring.insert(index, rng);
    }

    /// The next sequence number of ours.
    pub(super) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Lifeguard's local health score: 0 when healthy.
    pub(super) fn health(&self) -> u32 {
        self.health.score()
    }

    /// `timeout` scaled by local health (`score + 1` times).
    pub(super) fn scaled(&self, timeout: Duration) -> Duration {
        self.health.scale(timeout)
    }

    /// Evidence of poor local health.
    pub(super) fn worse(&mut self, by: u32) {
        self.health.worse(by);
    }

    /// The members of the round, in order, one pass at most: each is offered to `take`
    /// until it accepts one. Then, every [`OFFLINE_PROBE_EVERY`] periods, says whether an
    /// OFFLINE member is to be pinged besides.
    pub(super) fn next_in_round(
        &mut self,
        rng: &mut impl Rng,
        mut take: impl FnMut(usize) -> bool,
    ) -> (Option<usize>, bool) {
        let mut chosen = None;
        for _ in 0..self.ring.len() {
            let Some(index) = self.ring.next(rng) else {
                break;
            };
            if take(index) {
                chosen = Some(index);
                break;
            }
        }
        self.offline_turn = (self.offline_turn + 1) % OFFLINE_PROBE_EVERY;
        (chosen, self.offline_turn == 0)
    }

    /// A member we held OFFLINE came back (it refuted with a newer clock), or we heard that
    /// we were held OFFLINE: a partition has likely healed, so other OFFLINE verdicts may be
    /// stale too. Every member still OFFLINE is pinged once, [`SWEEP_AFTER`] periods from
    /// `now` and at least as long after the last sweep (see [`Detector::take_sweep`]), instead of waiting for its turn among the
    /// OFFLINE members pinged one every [`OFFLINE_PROBE_EVERY`] periods: that turn comes
    /// `OFFLINE_PROBE_EVERY × k` periods apart for each of `k` OFFLINE members, and gossip
    /// alone misses a few members of a large heal (see "Partitions" in `docs/PROTOCOL.md`).
    pub(super) fn comeback(&mut self, now: Duration) {
        self.sweeps_left = SWEEPS_PER_COMEBACK;
        if self.sweep_due.is_some() {
            return;
        }
        let mut due = now + self.ping_interval * SWEEP_AFTER;
        if let Some(last) = self.last_sweep {
            due = due.max(last + self.ping_interval * SWEEP_AFTER);
        }
        self.sweep_due = Some(due);
    }

    /// Whether the sweep is due at `now` (it is then taken: the caller pings every member
    /// still OFFLINE); the next one follows [`SWEEP_AFTER`] periods later while any of the
    /// [`SWEEPS_PER_COMEBACK`] are left.
    pub(super) fn take_sweep(&mut self, now: Duration) -> bool {
        if self.sweep_due.is_some_and(|due| now >= due) {
            self.sweeps_left = self.sweeps_left.saturating_sub(1);
            self.sweep_due = (self.sweeps_left > 0).then(|| now + self.ping_interval * SWEEP_AFTER);
            self.last_sweep = Some(now);
            return true;
        }
        false
    }

    /// Whether a probe of `target` is in flight.
    pub(super) fn probing(&self, target: usize) -> bool {
        self.probes.iter().any(|p| p.target == target)
    }

    /// Whether `seq` is the sequence number of our probe of `target`.
    pub(super) fn is_probe_of(&self, target: usize, seq: u32) -> bool {
        self.probes
            .iter()
            .any(|p| p.target == target && p.seq == seq)
    }

    /// A probe of `target` with ping `seq` left at `now`.
    pub(super) fn start(&mut self, target: usize, seq: u32, now: Duration) {
        let first_round = now + self.health.scale(self.ping_timeout);
        self.probes.push(Probe {
            target,
            seq,
            next_round_at: first_round,
            suspect_at: first_round + self.health.scale(self.ping_req_timeout),
            rounds: 0,
            extended: false,
            nacks: Vec::new(),
        });
    }

    /// `index` showed it is alive: its probes are complete. Returns whether one was in
    /// flight (a probe answered: one point of health back, and `index` is a responder).
    pub(super) fn heard_from(&mut self, index: usize) -> bool {
        let probed = self.probing(index);
        if probed {
            self.health.better();
            self.responders.answered(index);
        }
        self.probes.retain(|p| p.target != index);
        probed
    }

    /// The relays whose target is `index`, which just answered, removed in order.
    pub(super) fn take_relays_to(&mut self, index: usize) -> Vec<Answered> {
        let mut answered = Vec::new();
        self.relays.retain(|relay| {
            if relay.target != index {
                return true;
            }
            answered.push(Answered {
                requester: relay.requester,
                seq: relay.seq,
                bare: relay.bare,
            });
            false
        });
        answered
    }

    /// We pinged `target` for `requester`'s probe `seq` at `now`; `nacks` says whether it
    /// gets Lifeguard's nack, `bare` whether its ack goes bare.
    pub(super) fn relay(
        &mut self,
        requester: usize,
        seq: u32,
        target: usize,
        now: Duration,
        nacks: bool,
        bare: bool,
    ) {
        // At 80% of the indirect timeout the requester still has time to hear "no answer
        // yet" before it gives up on the target.
        let nack_at = nacks.then(|| now + self.ping_req_timeout.mul_f64(NACK_AT));
        self.relays.push_back(Relay {
            requester,
            seq,
            target,
            expires: now + self.ping_req_timeout,
            nack_at,
            bare,
        });
    }

    /// The nacks due at `now` (each sent once).
    pub(super) fn take_due_nacks(&mut self, now: Duration) -> Vec<NackDue> {
        let mut due = Vec::new();
        for relay in &mut self.relays {
            if relay.nack_at.is_some_and(|at| at <= now) {
                relay.nack_at = None;
                due.push(NackDue {
                    requester: relay.requester,
                    seq: relay.seq,
                    target: relay.target,
                });
            }
        }
        due
    }

    /// Drops the relays that expired at `now`.
    pub(super) fn expire_relays(&mut self, now: Duration) {
        while self.relays.front().is_some_and(|r| r.expires <= now) {
            self.relays.pop_front();
        }
    }

    /// A nack from `sender` for our probe `seq`: only a helper we asked counts, once.
    /// Returns whether it counted.
    pub(super) fn nacked(&mut self, sender: usize, seq: u32) -> bool {
        let Some(probe) = self.probes.iter_mut().find(|p| p.seq == seq) else {
            return false;
        };
        let Some(slot) = probe.nacks.iter_mut().find(|(h, got)| *h == sender && !got) else {
            return false;
        };
        slot.1 = true;
        self.responders.answered(sender);
        true
    }

    /// The number of probes in flight (they are stepped by position).
    pub(super) fn probe_count(&self) -> usize {
        self.probes.len()
    }

    /// The target and sequence number of probe `i`.
    pub(super) fn probe_target(&self, i: usize) -> (usize, u32) {
        (self.probes[i].target, self.probes[i].seq)
    }

    /// What probe `i` needs at `now`. Lifeguard: a member woken late (it is slow) sends the
    /// indirect round it owes before judging: the answers may already be waiting in its
    /// input.
    pub(super) fn probe_step(&self, i: usize, now: Duration) -> ProbeStep {
        let probe = &self.probes[i];
        let round_owed = self.lifeguard && probe.rounds == 0 && now >= probe.next_round_at;
        if now >= probe.suspect_at && !round_owed {
            ProbeStep::Expired
        } else if now >= probe.next_round_at {
            ProbeStep::Round
        } else {
            ProbeStep::Wait
        }
    }

    /// Records the indirect round of probe `i` sent at `now` through `owing` (the helpers
    /// that owe a nack). Rounds repeat every `ping_timeout` while time remains.
    pub(super) fn round_sent(&mut self, i: usize, now: Duration, owing: Vec<(usize, bool)>) {
        let ping_timeout = self.health.scale(self.ping_timeout);
        let ping_req_timeout = self.health.scale(self.ping_req_timeout);
        let lifeguard = self.lifeguard;
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

    /// Lifeguard: when probe `i` runs out and not one helper sent a nack, the silence says
    /// more about us (slow, or cut off) than about the target, whose ack may be waiting in
    /// our input. The probe then gets one more indirect round, once; the missing nacks of
    /// recent responders count against our health. Returns whether it does (the caller
    /// sends the round and then calls [`Detector::second_round_sent`]).
    pub(super) fn second_chance(&mut self, i: usize) -> bool {
        let probe = &self.probes[i];
        let silent = !probe.nacks.is_empty() && probe.nacks.iter().all(|(_, got)| !got);
        if probe.extended || !silent {
            return false;
        }
        let nacks = probe.nacks.clone();
        let silent_responders = self.silent_helpers(&nacks);
        self.health.worse(silent_responders);
        true
    }

    /// The second chance's round of probe `i` went at `now`: a full indirect timeout more.
    pub(super) fn second_round_sent(&mut self, i: usize, now: Duration, owing: Vec<(usize, bool)>) {
        let ping_req_timeout = self.health.scale(self.ping_req_timeout);
        let p = &mut self.probes[i];
        p.extended = true;
        p.rounds += 1;
        p.suspect_at = now + ping_req_timeout;
        p.next_round_at = Duration::MAX;
        p.nacks = owing;
    }

    /// Removes probe `i`, which ran out, and weighs what its helpers said: recent responders
    /// that did not nack point at us (or the path to them); with no helper asked, the
    /// failure itself is the only evidence; nacks from every helper show that our own timing
    /// works. `offline`: the target was OFFLINE, no answer was expected and nothing is
    /// learned.
    pub(super) fn probe_failed(&mut self, i: usize, offline: bool) {
        let probe = self.probes.remove(i);
        if !offline {
            let all_nacked = probe.nacks.iter().all(|&(_, got)| got);
            let silent_responders = self.silent_helpers(&probe.nacks);
            if probe.nacks.is_empty() {
                self.health.worse(1);
            } else if all_nacked {
                self.health.better();
            } else {
                self.health.worse(silent_responders);
            }
        }
    }

    /// How many of the silent `helpers` (the ones that owed a nack and sent none) were
    /// recent responders, whose silence is evidence against us; none of them is asked
    /// first any more.
    fn silent_helpers(&mut self, helpers: &[(usize, bool)]) -> u32 {
        let mut count = 0;
        for &(helper, got) in helpers {
            if !got && self.responders.contains(helper) {
                count += 1;
                self.responders.remove(helper);
            }
        }
        count
    }

    /// The members that answered our probes lately, asked first as helpers (Lifeguard).
    pub(super) fn recent_responders(&self) -> impl Iterator<Item = usize> + '_ {
        self.responders.iter()
    }

    /// The earliest deadline of a probe or relay.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        let probes = self
            .probes
            .iter()
            .map(|p| p.next_round_at.min(p.suspect_at));
        let expiry = self.relays.front().map(|r| r.expires);
        let nacks = self.relays.iter().filter_map(|r| r.nack_at);
        probes
            .chain(expiry)
            .chain(nacks)
            .chain(self.sweep_due)
            .min()
    }

    /// The local member leaves: it probes and relays no more.
    pub(super) fn stop(&mut self) {
        self.probes.clear();
        self.relays.clear();
        self.sweep_due = None;
        self.sweeps_left = 0;
    }

    /// The member at `index` was forgotten: nothing names it any more.
    pub(super) fn forget(&mut self, index: usize) {
        self.probes.retain(|p| p.target != index);
        self.relays
            .retain(|r| r.target != index && r.requester != index);
        self.ring.remove(index);
        self.responders.remove(index);
        for probe in self.probes.iter_mut() {
            probe.nacks.retain(|&(helper, _)| helper != index);
        }
    }

    /// The member at table index `from` now lives at `to`.
    pub(super) fn renumber(&mut self, from: usize, to: usize) {
        for probe in self.probes.iter_mut() {
            if probe.target == from {
                probe.target = to;
            }
            for (helper, _) in probe.nacks.iter_mut().filter(|(h, _)| *h == from) {
                *helper = to;
            }
        }
        for relay in self.relays.iter_mut() {
            if relay.target == from {
                relay.target = to;
            }
            if relay.requester == from {
                relay.requester = to;
            }
        }
        self.ring.rename(from, to);
        self.responders.rename(from, to);
    }
}
