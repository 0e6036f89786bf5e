//! Synchronisation: joining by full syncs (with follow-ups while they teach us members),
//! catching up when a ping or ack shows the sender knows more members than we do, the
//! bounded push-pull windows of anti-entropy (riding on probes), the metadata repairs
//! asked by an immediate push-pull (`repair.rs`), and the full-sync budget (`budget.rs`)
//! (see "Joining and anti-entropy", "Full-sync budget" and "Metadata deltas" in
//! `docs/PROTOCOL.md`).

mod budget;
mod repair;

use std::collections::VecDeque;
use std::time::Duration;

use super::membership::Membership;
use crate::{MemberName, ProtocolConfig, Update};
use budget::FullSyncBudget;
use repair::Repairs;

/// How many full syncs with random members follow the first one, while they teach us new
/// members: when many members join at once, the first answers are partial.
const JOIN_FOLLOWUPS: u8 = 4;

/// Follow-ups made even when one teaches nothing (a random member may know less than us).
const JOIN_FOLLOWUPS_ALWAYS: u8 = 2;

/// Status changes remembered for push-pull windows (the oldest is dropped beyond).
const RECENT_MAX: usize = 128;

/// A push-pull whose answer did not come (the ping or the ack carrying it was lost) is
/// tried again on the next probe, at most this many times.
const WINDOW_RETRIES: u8 = 2;

/// Where the local member stands in joining the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinState {
    /// No full list yet; `ask_all`: the next request goes to every configured peer (at
    /// start, and after a peer is added).
    Joining { ask_all: bool },
    /// A full list arrived; `followups` more full syncs may follow.
    Joined { followups: u8 },
}

/// Whom the next join request goes to (see [`Sync::next_join`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JoinRequest {
    /// Every configured peer.
    AllPeers,
    /// A retry: any member heard of, else a random peer.
    Retry,
    /// A follow-up; `first`: the first one, which asks a configured peer first.
    FollowUp { first: bool },
}

/// The catch-up on the member-count digest.
#[derive(Debug, Clone, Copy)]
struct CatchUp {
    /// No catch-up before this.
    next: Duration,
    backoff: Duration,
    /// When the last catch-up was answered (the backoff's reference).
    last_answered: Duration,
    /// A catch-up was asked for and its full list has not arrived yet.
    in_flight: bool,
}

/// Joining, catching up and push-pull.
#[derive(Debug)]
pub(super) struct Sync {
    peers: Vec<MemberName>,
    join: JoinState,
    catch_up: CatchUp,
    /// A push-pull is due: its window rides on the next probe.
    push_pull_pending: bool,
    /// The last window sent is still unanswered.
    window_unanswered: bool,
    /// Times the current push-pull was tried again.
    window_retries: u8,
    /// Where the next window starts in the table.
    cursor: usize,
    /// Members whose status or metadata changed lately, each once with when, oldest first:
    /// a window carries them first while they are younger than two push-pull periods (see
    /// [`Sync::window`]).
    recent: VecDeque<(Duration, MemberName)>,
    /// Where the next window starts among `recent`.
    recent_cursor: usize,
    /// Full-sync requests taken and full lists sent.
    full_sync: FullSyncBudget,
    /// Metadata repairs asked lately (each an immediate push-pull).
    repairs: Repairs,
    ping_interval: Duration,
    push_pull_interval: Duration,
    piggyback_budget: usize,
}

impl Sync {
    /// Not joined, no peer yet.
    pub(super) fn new(config: &ProtocolConfig, now: Duration) -> Sync {
        Sync {
            peers: Vec::new(),
            join: JoinState::Joining { ask_all: true },
            catch_up: CatchUp {
                next: now,
                backoff: Duration::ZERO,
                last_answered: now,
                in_flight: false,
            },
            push_pull_pending: false,
            window_unanswered: false,
            window_retries: 0,
            cursor: 0,
            recent: VecDeque::new(),
            recent_cursor: 0,
            full_sync: FullSyncBudget::new(&config.full_sync, config.ping_interval, now),
            repairs: Repairs::default(),
            ping_interval: config.ping_interval,
            push_pull_interval: config.push_pull_interval,
            piggyback_budget: config.piggyback_budget,
        }
    }

    // --- peers and joining ---

    /// Adds a configured peer; false if it was one already.
    pub(super) fn add_peer(&mut self, name: MemberName) -> bool {
        if self.peers.contains(&name) {
            return false;
        }
        self.peers.push(name);
        true
    }

    /// Forgets a configured peer.
    pub(super) fn remove_peer(&mut self, name: &MemberName) {
        self.peers.retain(|peer| peer != name);
    }

    /// The configured peers.
    pub(super) fn peers(&self) -> &[MemberName] {
        &self.peers
    }

    /// Whether a full list has arrived.
    pub(super) fn joined(&self) -> bool {
        matches!(self.join, JoinState::Joined { .. })
    }

    /// Whether a full sync is due at the join timer (`timer_armed`: it is not `MAX`): not
    /// joined yet and someone to ask, or a follow-up.
    pub(super) fn wants_join(&self, timer_armed: bool) -> bool {
        match self.join {
            JoinState::Joined { followups } => followups > 0 && timer_armed,
            JoinState::Joining { .. } => !self.peers.is_empty(),
        }
    }

    /// Join from scratch, asking every peer (the member lost every other one: the next full
    /// syncs are a join again, with its follow-ups; or a peer was added before joining).
    pub(super) fn join_again(&mut self) {
        self.join = JoinState::Joining { ask_all: true };
    }

    /// A join request is due: whom it goes to.
    pub(super) fn next_join(&mut self) -> JoinRequest {
        match &mut self.join {
            JoinState::Joined { followups } => {
                *followups -= 1;
                JoinRequest::FollowUp {
                    first: *followups + 1 == JOIN_FOLLOWUPS,
                }
            }
            JoinState::Joining { ask_all } => {
                if std::mem::take(ask_all) {
                    JoinRequest::AllPeers
                } else {
                    JoinRequest::Retry
                }
            }
        }
    }

    /// A full sync was answered (`learned`: it taught us something). Returns whether this
    /// is the first (we have joined: announce ourselves) and whether a follow-up follows.
    pub(super) fn joined_with(&mut self, learned: bool) -> (bool, bool) {
        let first = !self.joined();
        let followups = match self.join {
            JoinState::Joined { followups } => followups,
            JoinState::Joining { .. } => JOIN_FOLLOWUPS,
        };
        self.join = JoinState::Joined { followups };
        let done = JOIN_FOLLOWUPS - followups;
        let again = (first || learned || done < JOIN_FOLLOWUPS_ALWAYS) && followups > 0;
        (first, again)
    }

    // --- catch-up on the member-count digest ---

    /// Whether to ask a member that knows `theirs` members (we know `ours`) for its list:
    /// some record never reached us (gossip is probabilistic). Answered catch-ups back off.
    pub(super) fn should_catch_up(&self, now: Duration, theirs: u32, ours: u32) -> bool {
        theirs > ours && now >= self.catch_up.next && self.joined()
    }

    /// A catch-up request went at `now`. Until the answer comes, a lost request, or a window
    /// instead of the list (the member asked was over its budget), is retried one
    /// `ping_interval` later with the next member that knows more; only an answered
    /// catch-up spends the backoff.
    pub(super) fn catch_up_sent(&mut self, now: Duration) {
        self.catch_up.next = now + self.ping_interval;
        self.catch_up.in_flight = true;
    }

    /// A full list arrived at `now`: if a catch-up asked for it, the next one waits the
    /// backoff. One that taught us members (`taught_members`: members joining) keeps it at
    /// one `ping_interval`: a member still missing the last joiners of a mass join must not
    /// wait seconds for them. Otherwise it doubles while catch-ups follow each other closely
    /// (a count that differs for another reason, such as members forgotten at different
    /// times, costs a whole list ever more rarely) and starts again from one
    /// `ping_interval` after a quiet spell.
    pub(super) fn full_list_arrived(&mut self, now: Duration, taught_members: bool) {
        let c = &mut self.catch_up;
        if !std::mem::take(&mut c.in_flight) {
            return;
        }
        let longest = self.push_pull_interval / 2;
        c.backoff = if taught_members || now > c.last_answered + longest {
            self.ping_interval
        } else {
            (c.backoff * 2).clamp(self.ping_interval, longest)
        };
        c.last_answered = now;
        c.next = now + c.backoff;
    }

    // --- push-pull and full lists ---

    /// The push-pull timer fired: the window waits for the next probe.
    pub(super) fn push_pull_due(&mut self) {
        self.push_pull_pending = true;
    }

    /// Takes the waiting push-pull, if one waits (it rides on a probe, or goes alone).
    pub(super) fn take_push_pull(&mut self) -> bool {
        std::mem::take(&mut self.push_pull_pending)
    }

    /// A window left (on a probe, or alone): its answer is awaited.
    pub(super) fn window_sent(&mut self) {
        self.window_unanswered = true;
    }

    /// The answer to our window arrived (an ack or a sync reply carrying one).
    pub(super) fn window_answered(&mut self) {
        self.window_unanswered = false;
        self.window_retries = 0;
    }

    /// A new probe period starts: a window sent in the last one and still unanswered (its
    /// ping or ack was lost) is pushed again, on this period's probe, at most
    /// [`WINDOW_RETRIES`] times. A lost exchange would otherwise wait a whole push-pull
    /// period, and a change that gossip missed at this member with it.
    pub(super) fn retry_unanswered(&mut self) {
        if !std::mem::take(&mut self.window_unanswered) {
            return;
        }
        if self.window_retries < WINDOW_RETRIES {
            self.window_retries += 1;
            self.push_pull_pending = true;
        } else {
            self.window_retries = 0;
        }
    }

    /// Whether a push-pull waits for a probe to ride on.
    pub(super) fn push_pull_pending(&self) -> bool {
        self.push_pull_pending
    }

    /// Whether a full-sync request from `source` (`online`: ONLINE in our table) is taken
    /// at `now` (see [`FullSyncBudget::take_request`]); one refused is ignored whole.
    pub(super) fn take_full_request(
        &mut self,
        source: &MemberName,
        online: bool,
        now: Duration,
    ) -> bool {
        self.full_sync.take_request(source, online, now)
    }

    /// Whether a full member list may go at `now`, counted if so; else the asker gets a
    /// window (see [`FullSyncBudget::take_list`]).
    pub(super) fn take_full_answer(&mut self, now: Duration) -> bool {
        self.full_sync.take_list(now)
    }

    /// Whether to ask `name`'s sender for its map now, by an immediate push-pull: one ask
    /// per member per `ping_interval`, a bounded number at once (see [`Repairs::ask`]).
    pub(super) fn ask_repair(&mut self, now: Duration, name: &MemberName) -> bool {
        self.repairs.ask(now, name, self.ping_interval)
    }

    /// Member `name` changed at `at` (its status, or its metadata): its record is news that
    /// gossip may not have brought to every member (gossip is probabilistic), so windows
    /// carry it first for two push-pull periods. A member is listed once, at its latest
    /// change: one that keeps changing (a slow member suspected and refuting over and over)
    /// must not crowd the others out of the windows.
    pub(super) fn recent_change(&mut self, name: MemberName, at: Duration) {
        if let Some(pos) = self.recent.iter().position(|(_, n)| *n == name) {
            self.recent.remove(pos);
            if pos <= self.recent_cursor {
                self.recent_cursor = self.recent_cursor.saturating_sub(1);
            }
        }
        if self.recent.len() == RECENT_MAX {
            self.recent.pop_front();
            self.recent_cursor = self.recent_cursor.saturating_sub(1);
        }
        self.recent.push_back((at, name));
    }

    /// A window of records for push-pull anti-entropy, as many as fit in the piggyback
    /// budget (at least one): first, in up to half the budget, members whose status or
    /// metadata changed in the last two push-pull periods (rotating among them), so that a change gossip
    /// missed somewhere (a leave, a refutation after a partition) reaches every member by its
    /// next push-pull, either way; then records rotating through the table. `record` builds
    /// member `i`'s record.
    pub(super) fn window(
        &mut self,
        members: &Membership,
        now: Duration,
        record: impl Fn(usize) -> Update,
    ) -> Vec<Update> {
        let since = now.saturating_sub(self.push_pull_interval * 2);
        while self.recent.front().is_some_and(|(at, _)| *at < since) {
            self.recent.pop_front();
            self.recent_cursor = self.recent_cursor.saturating_sub(1);
        }
        let mut budget = self.piggyback_budget;
        let mut records = Vec::new();
        let mut taken: Vec<usize> = Vec::new();
        let recent_budget = self.piggyback_budget / 2;
        let mut spent = 0;
        let start = self.recent_cursor;
        for k in 1..=self.recent.len() {
            let at = (start + k) % self.recent.len();
            let name = &self.recent[at].1;
            let Some(index) = members.get(name) else {
                continue;
            };
            if taken.contains(&index) || members.entry(index).is_placeholder() {
                continue;
            }
            let record = record(index);
            let len = crate::wire::update_len(&record);
            if spent + len > recent_budget {
                if len > recent_budget {
                    continue; // never fits this part: the table's rotation carries it
                }
                break;
            }
            // The next window starts after the last record taken.
            self.recent_cursor = at;
            spent += len;
            budget = budget.saturating_sub(len);
            taken.push(index);
            records.push(record);
        }
        let n = members.len();
        for _ in 0..n {
            self.cursor = (self.cursor + 1) % n;
            if members.entry(self.cursor).is_placeholder() || taken.contains(&self.cursor) {
                continue;
            }
            let record = record(self.cursor);
            let len = crate::wire::update_len(&record);
            if len > budget && !records.is_empty() {
                break;
            }
            budget = budget.saturating_sub(len);
            records.push(record);
        }
        records
    }

    /// A member was forgotten and the table has `len` entries left.
    pub(super) fn table_shrank(&mut self, len: usize) {
        if self.cursor >= len {
            self.cursor = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync() -> Sync {
        Sync::new(&ProtocolConfig::default(), Duration::ZERO)
    }

    #[test]
    fn an_unanswered_window_is_pushed_again_at_most_twice() {
        let mut sync = sync();
        sync.push_pull_due();
        assert!(sync.take_push_pull());
        for _ in 0..WINDOW_RETRIES {
            sync.window_sent();
            sync.retry_unanswered();
            assert!(sync.take_push_pull(), "tried again");
        }
        sync.window_sent();
        sync.retry_unanswered();
        assert!(!sync.take_push_pull(), "given up until the timer");
        // The next push-pull has its own retries; an answered one has none.
        sync.push_pull_due();
        assert!(sync.take_push_pull());
        sync.window_sent();
        sync.retry_unanswered();
        assert!(sync.take_push_pull());
        sync.window_sent();
        sync.window_answered();
        sync.retry_unanswered();
        assert!(!sync.take_push_pull());
    }

    #[test]
    fn catch_ups_back_off_only_while_they_teach_no_member() {
        let mut sync = sync();
        sync.join = JoinState::Joined { followups: 0 };
        let ping = ProtocolConfig::default().ping_interval;
        let mut now = Duration::from_secs(60);
        for periods in [1, 2, 4, 8] {
            assert!(sync.should_catch_up(now, 2, 1));
            sync.catch_up_sent(now);
            sync.full_list_arrived(now, false);
            assert_eq!(sync.catch_up.next - now, ping * periods, "taught nothing");
            now = sync.catch_up.next;
        }
        sync.catch_up_sent(now);
        sync.full_list_arrived(now, true);
        assert_eq!(sync.catch_up.next - now, ping, "taught a member");
        now = sync.catch_up.next;
        sync.catch_up_sent(now);
        sync.full_list_arrived(now, false);
        assert_eq!(
            sync.catch_up.next - now,
            ping * 2,
            "doubles again from there"
        );
    }

    #[test]
    fn a_member_is_listed_once_among_recent_changes_at_its_latest() {
        let mut sync = sync();
        let at = Duration::from_secs;
        sync.recent_change(MemberName::from("a:1"), at(1));
        sync.recent_change(MemberName::from("b:1"), at(2));
        sync.recent_change(MemberName::from("a:1"), at(3));
        let listed: Vec<(u64, &str)> = (sync.recent.iter())
            .map(|(t, n)| (t.as_secs(), n.as_str()))
            .collect();
        assert_eq!(listed, [(2, "b:1"), (3, "a:1")]);
    }
}
