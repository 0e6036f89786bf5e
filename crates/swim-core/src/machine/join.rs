//! Membership sync: joining by full syncs, catch-up on the member-count digest, and the
//! bounded push-pull windows of anti-entropy.

use super::*;

impl<R: Rng> Swim<R> {
    /// The member count carried in pings and acks, as a digest of our member list.
    pub(super) fn known(&self) -> u32 {
        u32::try_from(self.table.known()).unwrap_or(u32::MAX)
    }

    /// `sender` knows more members than we do: some record never reached us (gossip is
    /// probabilistic), so ask it for its whole list. Answered catch-ups back off (see
    /// [`Swim::caught_up`]).
    pub(super) fn catch_up(&mut self, now: Duration, sender: usize, their_known: u32) {
        if their_known <= self.known() || now < self.next_catch_up || !self.joined {
            return;
        }
        let records = vec![self.table.update(LOCAL)];
        let message = Message::Sync {
            reply: false,
            full: true,
            records,
        };
        let queued = self.transmits.len();
        self.send(sender, message, false);
        if self.transmits.len() == queued {
            // Not sent: `sender` is not in good standing and the request is larger than
            // its packet (it is challenged instead). The backoff is not spent on it, so
            // the next member that knows more (the ack of our next probe) is asked.
            return;
        }
        // Until the answer comes: a lost request, or a window instead of the list (the
        // member asked was over its budget), is retried soon, with the next member that
        // knows more; only an answered catch-up spends the backoff (`caught_up`).
        self.next_catch_up = now + self.config.ping_interval;
        self.catching_up = true;
    }

    /// A catch-up's full list arrived: the next one waits the backoff, which doubles while
    /// catch-ups follow each other closely (members joining) and starts again from one
    /// `ping_interval` after a quiet spell.
    pub(super) fn caught_up(&mut self, now: Duration) {
        let longest = self.config.push_pull_interval / 2;
        self.catch_up_backoff = if now > self.last_caught_up + longest {
            self.config.ping_interval
        } else {
            (self.catch_up_backoff * 2).clamp(self.config.ping_interval, longest)
        };
        self.last_caught_up = now;
        self.next_catch_up = now + self.catch_up_backoff;
    }

    /// Whether a full sync is due: not joined yet (and someone to ask), or a follow-up.
    pub(super) fn wants_join(&self) -> bool {
        if self.joined {
            self.join_followups > 0 && self.next_join != Duration::MAX
        } else {
            !self.peers.is_empty()
        }
    }

    /// A full sync answered: plan a follow-up with a random member if it taught us anything.
    pub(super) fn joined_with(&mut self, now: Duration, learned: bool) {
        let first = !self.joined;
        self.joined = true;
        if first {
            // Announce ourselves now that we know members to tell: our record fanned out
            // first-hand (join news heard second-hand is not, see `not_fanned_out`).
            self.broadcasts.push(LOCAL);
        }
        let done = JOIN_FOLLOWUPS - self.join_followups;
        if (first || learned || done < JOIN_FOLLOWUPS_ALWAYS) && self.join_followups > 0 {
            self.next_join = now + self.config.ping_interval;
        } else {
            self.next_join = Duration::MAX;
        }
    }

    /// Asks for the whole member list: at first from every configured peer, later from one
    /// (a random peer until joined, a random available member for follow-ups).
    pub(super) fn send_join(&mut self, now: Duration) {
        let own = self.table.update(LOCAL);
        let targets: Vec<usize> = if self.joined {
            self.join_followups -= 1;
            // The configured peers saw every joiner's request: ask one first.
            let peer = (self.join_followups + 1 == JOIN_FOLLOWUPS)
                .then(|| self.random_peer(now))
                .flatten();
            peer.or_else(|| self.find_index(StatusSet::AVAILABLE, None))
                .into_iter()
                .collect()
        } else if self.next_join_all {
            self.next_join_all = false;
            // A peer may have been forgotten (reaped): it comes back as a placeholder.
            let peers = self.peers.clone();
            peers.iter().map(|p| self.member_index(p, now)).collect()
        } else {
            // A retry: any member we heard of, so that joiners spread over the cluster.
            self.find_index(StatusSet::AVAILABLE, None)
                .or_else(|| self.random_peer(now))
                .into_iter()
                .collect()
        };
        for target in targets {
            let message = Message::Sync {
                reply: false,
                full: true,
                records: vec![own.clone()],
            };
            self.send(target, message, false);
        }
        // Retry if the answer is lost; an answer reschedules. Jittered: members started
        // together must not retry together.
        let jitter = 0.5 + self.rng.random::<f64>();
        self.next_join = now + (self.config.ping_interval * 2).mul_f64(jitter);
    }

    /// Forgets having joined (the member lost every other one): the next full syncs are a
    /// join again, with its follow-ups.
    pub(super) fn rejoin(&mut self) {
        self.joined = false;
        self.join_followups = JOIN_FOLLOWUPS;
    }

    pub(super) fn random_peer(&mut self, now: Duration) -> Option<usize> {
        if self.peers.is_empty() {
            return None;
        }
        let pick = self.rng.random_range(0..self.peers.len());
        let name = self.peers[pick].clone();
        Some(self.member_index(&name, now))
    }

    /// A partial answer while we wait to join (the member asked was over its budget): ask a
    /// member it named, at once.
    pub(super) fn redirected(&mut self, now: Duration) {
        if !self.joined {
            self.next_join = now;
        }
    }

    /// Counts one full member list against `full_sync_budget` per `ping_interval`; false
    /// when the budget is spent. A list above the MTU goes over TCP: hundreds of members
    /// joining at once would otherwise all ask the same seed member, whose answers (each
    /// the size of the cluster) pile up until its sends are dropped, and whose joiners then
    /// retry together. Over budget, the asker gets a window naming other members, whom its
    /// follow-ups and catch-ups ask instead.
    fn take_full_answer(&mut self, now: Duration) -> bool {
        let (start, count) = &mut self.full_answers;
        if now >= *start + self.config.ping_interval {
            *start = now;
            *count = 0;
        }
        if *count >= self.config.full_sync_budget {
            return false;
        }
        *count += 1;
        true
    }

    /// A window of records, rotating through the table, for push-pull anti-entropy.
    pub(super) fn sync_window(&mut self) -> Vec<Update> {
        let n = self.table.len();
        let mut budget = self.config.piggyback_budget;
        let mut records = Vec::new();
        for _ in 0..n {
            self.sync_cursor = (self.sync_cursor + 1) % n;
            if self.table.entries[self.sync_cursor].is_placeholder() {
                continue;
            }
            let record = self.table.update(self.sync_cursor);
            let len = crate::wire::update_len(&record);
            if len > budget && !records.is_empty() {
                break;
            }
            budget = budget.saturating_sub(len);
            records.push(record);
        }
        records
    }

    /// The answer to a sync request: everything (full, within `full_sync_budget`), or ours
    /// where newer than what was pushed plus a window of our own. A full request over budget
    /// gets a window in a partial reply (one datagram), which sends the asker elsewhere.
    pub(super) fn sync_reply(
        &mut self,
        now: Duration,
        full: bool,
        pushed: &[(MemberName, u64, Status)],
    ) -> Message {
        let full = full && self.take_full_answer(now);
        let records = self.sync_reply_records(full, pushed);
        Message::Sync {
            reply: true,
            full,
            records,
        }
    }

    pub(super) fn sync_reply_records(
        &mut self,
        full: bool,
        pushed: &[(MemberName, u64, Status)],
    ) -> Vec<Update> {
        if full {
            return self
                .table
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.is_placeholder())
                .take(self.config.max_sync_records)
                .map(|(i, _)| self.table.update(i))
                .collect();
        }
        let mut records: Vec<Update> = pushed
            .iter()
            .filter_map(|(name, clock, status)| {
                let index = self.table.get(name)?;
                let ours = &self.table.entries[index];
                let newer = compare(ours.clock, ours.status, None, *clock, *status, None)
                    == std::cmp::Ordering::Greater;
                newer.then(|| self.table.update(index))
            })
            .collect();
        records.extend(self.sync_window());
        records
    }
}
