//! The member's own timers, one table of deadlines. The deadlines of things in flight are
//! kept by the part that owns them (probes and relays in the detector, suspicions in the
//! suspicion store), so that a finished or forgotten one leaves no stale timer behind.

use std::time::Duration;

/// A periodic or one-shot deadline of the member, named by what it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// The next probe period (stretched by local health when read, see `Swim::probe_due`).
    Probe,
    /// The next gossip-only packet, while records wait to be gossiped.
    Gossip,
    /// The earliest next eager fanout.
    Fanout,
    /// The next push-pull anti-entropy exchange.
    PushPull,
    /// The next full sync of a join, its retry or follow-up (`Duration::MAX`: none).
    Join,
    /// The next scan for OFFLINE members to forget.
    Reap,
}

impl Timer {
    /// Every timer, in the order `handle_timeout` acts on them.
    pub(super) const ALL: [Timer; 6] = [
        Timer::Reap,
        Timer::Probe,
        Timer::Gossip,
        Timer::PushPull,
        Timer::Join,
        Timer::Fanout,
    ];

    fn slot(self) -> usize {
        match self {
            Timer::Reap => 0,
            Timer::Probe => 1,
            Timer::Gossip => 2,
            Timer::PushPull => 3,
            Timer::Join => 4,
            Timer::Fanout => 5,
        }
    }
}

/// When each [`Timer`] is due.
#[derive(Debug, Clone)]
pub(super) struct Timers {
    at: [Duration; Timer::ALL.len()],
}

impl Timers {
    /// Every timer due at `now`.
    pub(super) fn new(now: Duration) -> Timers {
        Timers {
            at: [now; Timer::ALL.len()],
        }
    }

    /// When `timer` is due.
    pub(super) fn at(&self, timer: Timer) -> Duration {
        self.at[timer.slot()]
    }

    /// Sets when `timer` is due.
    pub(super) fn set(&mut self, timer: Timer, at: Duration) {
        self.at[timer.slot()] = at;
    }
}
