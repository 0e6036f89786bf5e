//! Watches every member's view of every other, incrementally, to measure the cluster.

use std::time::Duration;

use swim_core::{MemberChange, MemberSnapshot, Status};

use crate::engine::Observer;
use crate::simulation_name_index;

/// Every member's view of every other, plus counters of false alarms.
#[derive(Debug, Clone)]
pub struct Tracker {
    n: usize,
    /// view[observer * n + member]: the status `observer` last reported for `member`.
    view: Vec<Option<Status>>,
    alive: Vec<bool>,
    /// Members made slow (they are not counted as healthy).
    slow: Vec<bool>,
    /// Pairs (live observer, other live member) where the observer sees the member ONLINE.
    online_pairs: usize,
    /// Whether false alarms are being counted (off while a partition is in force).
    pub count_false_alarms: bool,
    /// Times a live member was marked SUSPECT by anyone while it was reachable.
    pub false_suspect: u64,
    /// Times a live member was marked OFFLINE by anyone while it was reachable.
    pub false_offline: u64,
    /// Of `false_suspect`, the times the member was healthy: neither crashed nor slow.
    pub false_suspect_healthy: u64,
    /// Of `false_offline`, the times the member was healthy: neither crashed nor slow.
    pub false_offline_healthy: u64,
    /// A metadata value being watched for: (member, key, value, change time).
    watch_metadata: Option<(usize, String, Vec<u8>, Duration)>,
    /// Per observer: delay until it saw the watched metadata.
    pub metadata_delays: Vec<Option<Duration>>,
    /// A crashed member being watched: (member, crash time).
    watch_crash: Option<(usize, Duration)>,
    /// Crash to the first SUSPECT or OFFLINE report anywhere.
    pub first_detect: Option<Duration>,
    offline_reports: usize,
    /// Crash to OFFLINE at every live member.
    pub all_offline: Option<Duration>,
    /// A member that left being watched: (member, leave time).
    watch_leave: Option<(usize, Duration)>,
    /// Live members that see the watched leaver OFFLINE with the left flag.
    left_reports: usize,
    /// Leave to OFFLINE (with the left flag) at every live member.
    pub all_left: Option<Duration>,
    /// Times a member that left was reported SUSPECT by anyone (a leave needs no suspicion).
    pub leaver_suspected: u64,
    /// Members forgotten, summed over observers.
    pub forgotten: u64,
    /// Per observer: crash until it first reported the watched member OFFLINE.
    pub offline_delays: Vec<Option<Duration>>,
    /// What the members' applications were handed (user events, queries).
    pub app: crate::workload::AppTally,
}

impl Tracker {
    /// A tracker for `n` members, all alive and knowing nothing yet.
    pub fn new(n: usize) -> Self {
        Tracker {
            n,
            view: vec![None; n * n],
            alive: vec![true; n],
            slow: vec![false; n],
            online_pairs: 0,
            count_false_alarms: true,
            false_suspect: 0,
            false_offline: 0,
            false_suspect_healthy: 0,
            false_offline_healthy: 0,
            watch_metadata: None,
            metadata_delays: vec![None; n],
            watch_crash: None,
            first_detect: None,
            offline_reports: 0,
            all_offline: None,
            watch_leave: None,
            left_reports: 0,
            all_left: None,
            leaver_suspected: 0,
            forgotten: 0,
            offline_delays: vec![None; n],
            app: Default::default(),
        }
    }

    /// Starts timing the leave of `member` at `now` (call after `set_alive(member, false)`).
    pub fn watch_leave(&mut self, member: usize, now: Duration) {
        self.watch_leave = Some((member, now));
        self.left_reports = 0;
        self.all_left = None;
    }

    /// Whether `observer` has forgotten `member` (or never knew it).
    pub fn forgot(&self, observer: usize, member: usize) -> bool {
        self.view[observer * self.n + member].is_none()
    }

    fn live_count(&self) -> usize {
        self.alive.iter().filter(|a| **a).count()
    }

    /// How many (live observer, other live member) views are ONLINE: every live member
    /// sees every other ONLINE when this is live × (live − 1).
    pub fn online_views(&self) -> usize {
        self.online_pairs
    }

    /// Whether every live member sees every other live member ONLINE.
    pub fn fully_joined(&self) -> bool {
        let live = self.live_count();
        self.online_pairs == live * live.saturating_sub(1)
    }

    /// The status `observer` reports for `member`.
    pub fn status(&self, observer: usize, member: usize) -> Option<Status> {
        self.view[observer * self.n + member]
    }

    /// Marks `member` as alive or dead (crashed) for the counts.
    pub fn set_alive(&mut self, member: usize, alive: bool) {
        self.alive[member] = alive;
        if !alive {
            // A crashed process's view is gone; a restart reports afresh.
            for m in 0..self.n {
                self.view[member * self.n + m] = None;
            }
        }
        self.recount();
    }

    /// Marks `member` as slow (or not): its false alarms no longer count as healthy ones.
    pub fn set_slow(&mut self, member: usize, slow: bool) {
        self.slow[member] = slow;
    }

    fn recount(&mut self) {
        let n = self.n;
        self.online_pairs = (0..n)
            .filter(|&o| self.alive[o])
            .map(|o| {
                (0..n)
                    .filter(|&m| {
                        m != o && self.alive[m] && self.view[o * n + m] == Some(Status::Online)
                    })
                    .count()
            })
            .sum();
    }

    /// Starts timing the spread of `key = value` on `member`'s metadata, changed at `now`.
    pub fn watch_metadata(&mut self, member: usize, key: &str, value: &[u8], now: Duration) {
        self.watch_metadata = Some((member, key.to_owned(), value.to_vec(), now));
        self.metadata_delays = vec![None; self.n];
        self.metadata_delays[member] = Some(Duration::ZERO);
    }

    /// Whether every live member has seen the watched metadata.
    pub fn metadata_everywhere(&self) -> bool {
        (0..self.n).all(|o| !self.alive[o] || self.metadata_delays[o].is_some())
    }

    /// Starts timing the detection of `member`'s crash at `now` (call after `set_alive`).
    pub fn watch_crash(&mut self, member: usize, now: Duration) {
        self.watch_crash = Some((member, now));
        self.first_detect = None;
        self.all_offline = None;
        self.offline_delays = vec![None; self.n];
        self.offline_reports = (0..self.n)
            .filter(|&o| self.alive[o] && self.view[o * self.n + member] == Some(Status::Offline))
            .count();
    }
}

impl Observer for Tracker {
    fn on_app(&mut self, now: Duration, observer: usize, event: &swim_core::Event) {
        self.app.handed(now, observer, event);
    }

    fn on_forgotten(&mut self, _now: Duration, observer: usize, member: &MemberSnapshot) {
        let Some(member) = simulation_name_index(&member.name) else {
            return;
        };
        if member >= self.n {
            return;
        }
        self.forgotten += 1;
        let slot = observer * self.n + member;
        if self.view[slot] == Some(Status::Online) && self.alive[observer] && self.alive[member] {
            self.online_pairs -= 1;
        }
        self.view[slot] = None;
    }

    fn on_change(&mut self, now: Duration, observer: usize, change: &MemberChange) {
        let Some(member) = simulation_name_index(&change.member.name) else {
            return;
        };
        if member == observer || member >= self.n {
            return;
        }
        let n = self.n;
        let slot = observer * n + member;
        let old = self.view[slot];
        let new = change.member.status;
        self.view[slot] = Some(new);
        if self.alive[observer] && self.alive[member] {
            if old == Some(Status::Online) && new != Status::Online {
                self.online_pairs -= 1;
            } else if old != Some(Status::Online) && new == Status::Online {
                self.online_pairs += 1;
            }
        }
        if self.alive[member] && self.count_false_alarms && old != Some(new) {
            let healthy = u64::from(!self.slow[member]);
            match new {
                Status::Suspect => {
                    self.false_suspect += 1;
                    self.false_suspect_healthy += healthy;
                }
                Status::Offline => {
                    self.false_offline += 1;
                    self.false_offline_healthy += healthy;
                }
                Status::Online => {}
            }
        }
        if let Some((m, key, value, since)) = &self.watch_metadata {
            let seen = change.member.metadata.as_ref().and_then(|md| md.get(key));
            if *m == member && seen == Some(value) && self.metadata_delays[observer].is_none() {
                self.metadata_delays[observer] = Some(now - *since);
            }
        }
        if let Some((m, since)) = self.watch_leave {
            if m == member && self.alive[observer] {
                let left = new == Status::Offline && change.member.left;
                let was_left = old == Some(Status::Offline) && change.previous.left;
                if new == Status::Suspect {
                    self.leaver_suspected += 1;
                }
                if left && !was_left {
                    self.left_reports += 1;
                } else if !left && was_left {
                    self.left_reports -= 1;
                }
                if self.left_reports == self.live_count() && self.all_left.is_none() {
                    self.all_left = Some(now - since);
                }
            }
        }
        if let Some((m, since)) = self.watch_crash {
            if m == member && self.alive[observer] {
                if new != Status::Online && self.first_detect.is_none() {
                    self.first_detect = Some(now - since);
                }
                if new == Status::Offline && self.offline_delays[observer].is_none() {
                    self.offline_delays[observer] = Some(now - since);
                }
                if new == Status::Offline && old != Some(Status::Offline) {
                    self.offline_reports += 1;
                } else if new != Status::Offline && old == Some(Status::Offline) {
                    self.offline_reports -= 1;
                }
                if self.offline_reports == self.live_count() && self.all_offline.is_none() {
                    self.all_offline = Some(now - since);
                }
            }
        }
    }
}
