//! What the demo knows about the cluster, and the view model the screen draws from it.
//!
//! Plain data and plain functions: no terminal, no clock, no network. The caller feeds
//! snapshots and changes (with the time they were seen) and reads back [`View`] and the
//! event log.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::SystemTime;

use swim_protocol::{MemberChange, MemberName, MemberSnapshot, Metadata, Status, StatusSet};

use super::text::{display_value, sanitize, DisplayValue};

/// How many event log entries are kept; older ones are dropped.
pub const LOG_CAPACITY: usize = 200;

/// One metadata entry as shown on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataPair {
    /// The key, with control characters replaced.
    pub key: String,
    /// The value as text or hex.
    pub value: DisplayValue,
}

/// One member's line on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The member's name, with control characters replaced.
    pub name: String,
    /// Its last known status.
    pub status: Status,
    /// Its logical clock.
    pub clock: u64,
    /// Its metadata sorted by key; `None` while still unknown.
    pub metadata: Option<Vec<MetadataPair>>,
    /// Index of the member's colour: given when the member is first seen (in name order for
    /// those known at start, as in the seed) and kept, so a member keeps its colour while
    /// others join or go.
    pub colour: usize,
    /// Whether this is the local member.
    pub local: bool,
}

/// Everything the member pane and the footer show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    /// Every member, sorted by name.
    pub rows: Vec<MemberRow>,
    /// Members that are ONLINE or SUSPECT, the local member always counted.
    pub available: usize,
}

impl View {
    /// The colour index of the member named `name` (as shown), if it is listed.
    pub fn colour_of(&self, name: &str) -> Option<usize> {
        self.rows
            .iter()
            .find(|row| row.name == name)
            .map(|row| row.colour)
    }
}

/// One metadata key that changed: its new value, or `None` when it was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    /// The key, with control characters replaced.
    pub key: String,
    /// The new value; `None` when the key was removed.
    pub value: Option<DisplayValue>,
}

/// One membership event, as the event pane and the plain output show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When the change was seen.
    pub at: SystemTime,
    /// The member's name, with control characters replaced.
    pub member: String,
    /// Whether the member was not known before this change.
    pub joined: bool,
    /// The status before and after, when it changed (or when the member joined).
    pub status: Option<(Status, Status)>,
    /// Metadata keys that changed, sorted by key.
    pub keys: Vec<KeyChange>,
    /// The user event received from the member, if this entry is one.
    pub event: Option<UserEvent>,
}

/// A user event as the event pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    /// The event's name, with control characters replaced.
    pub name: String,
    /// Its payload as text or hex.
    pub payload: DisplayValue,
}

impl LogEntry {
    /// The entry without its time, e.g. `127.0.0.1:2002 ONLINE → SUSPECT typed=hi`.
    pub fn description(&self) -> String {
        format!("{}{}", self.member, self.detail())
    }

    /// What happened, without time and member, e.g. ` ONLINE → SUSPECT typed=hi`.
    pub fn detail(&self) -> String {
        let mut out = String::new();
        match self.status {
            Some((_, new)) if self.joined => out.push_str(&format!(" joined as {new}")),
            Some((old, new)) => out.push_str(&format!(" {old} → {new}")),
            None => {}
        }
        for change in &self.keys {
            match &change.value {
                Some(value) => out.push_str(&format!(" {}={value}", change.key)),
                None => out.push_str(&format!(" -{}", change.key)),
            }
        }
        if let Some(event) = &self.event {
            out.push_str(&format!(" event {} {}", event.name, event.payload));
        }
        out
    }
}

/// The demo's picture of the cluster: the latest snapshot of each member and recent events.
#[derive(Debug, Clone, Default)]
pub struct DemoState {
    members: BTreeMap<MemberName, MemberSnapshot>,
    /// Each member's colour index, kept for the run.
    colours: BTreeMap<MemberName, usize>,
    log: VecDeque<LogEntry>,
}

impl DemoState {
    /// A state holding `snapshots` (e.g. `Cluster::members()`), with an empty event log.
    pub fn new(snapshots: impl IntoIterator<Item = MemberSnapshot>) -> Self {
        let members: BTreeMap<MemberName, MemberSnapshot> = snapshots
            .into_iter()
            .map(|snapshot| (snapshot.name.clone(), snapshot))
            .collect();
        let colours = members.keys().cloned().zip(0..).collect();
        DemoState {
            members,
            colours,
            log: VecDeque::new(),
        }
    }

    /// Applies `change`, seen at `at`. Returns the event log entry it produced, if the change
    /// is visible (a new member, a new status or new metadata; a clock alone is not logged).
    pub fn apply(&mut self, change: &MemberChange, at: SystemTime) -> Option<&LogEntry> {
        let new = &change.member;
        let known = self.members.get(&new.name);
        // Compare with what we showed, which may be newer than `change.previous` if the
        // subscription overlapped the initial snapshot.
        let before = known.unwrap_or(&change.previous);
        let joined = known.is_none();
        let status = (joined || before.status != new.status).then_some((before.status, new.status));
        let keys = changed_keys(before.metadata.as_ref(), new.metadata.as_ref());
        self.members.insert(new.name.clone(), new.clone());
        let next = self.colours.len();
        self.colours.entry(new.name.clone()).or_insert(next);
        if status.is_none() && keys.is_empty() {
            return None;
        }
        self.push(LogEntry {
            at,
            member: sanitize(&new.name),
            joined,
            status,
            keys,
            event: None,
        })
    }

    /// Logs a user event `name` from `origin`, received at `at`, and returns its entry.
    pub fn user_event(
        &mut self,
        origin: &str,
        name: &str,
        payload: &[u8],
        at: SystemTime,
    ) -> Option<&LogEntry> {
        self.push(LogEntry {
            at,
            member: sanitize(origin),
            joined: false,
            status: None,
            keys: Vec::new(),
            event: Some(UserEvent {
                name: sanitize(name),
                payload: display_value(payload),
            }),
        })
    }

    fn push(&mut self, entry: LogEntry) -> Option<&LogEntry> {
        if self.log.len() == LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back(entry);
        self.log.back()
    }

    /// Drops a forgotten member's row (its colour stays reserved for the run).
    pub fn forget(&mut self, name: &MemberName) {
        self.members.remove(name);
    }

    /// The event log, oldest first.
    pub fn log(&self) -> impl DoubleEndedIterator<Item = &LogEntry> + ExactSizeIterator {
        self.log.iter()
    }

    /// The view model of the member pane and the footer.
    pub fn view(&self) -> View {
        let rows: Vec<MemberRow> = self
            .members
            .values()
            .map(|member| MemberRow {
                name: sanitize(&member.name),
                status: member.status,
                clock: member.clock,
                metadata: member.metadata.as_ref().map(metadata_pairs),
                colour: self.colours.get(&member.name).copied().unwrap_or_default(),
                local: member.local,
            })
            .collect();
        let available_peers = self
            .members
            .values()
            .filter(|m| !m.local && StatusSet::AVAILABLE.contains(m.status))
            .count();
        View {
            rows,
            available: available_peers + 1,
        }
    }
}

fn metadata_pairs(metadata: &Metadata) -> Vec<MetadataPair> {
    metadata
        .iter()
        .map(|(key, value)| MetadataPair {
            key: sanitize(key),
            value: display_value(value),
        })
        .collect()
}

/// Keys whose value differs between `old` and `new` (unknown metadata counts as empty).
fn changed_keys(old: Option<&Metadata>, new: Option<&Metadata>) -> Vec<KeyChange> {
    let empty = Metadata::empty();
    let old = old.unwrap_or(&empty);
    let new = new.unwrap_or(&empty);
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter(|key| old.get(*key) != new.get(*key))
        .map(|key| KeyChange {
            key: sanitize(key),
            value: new.get(key).map(|value| display_value(value)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn snapshot(name: &str, status: Status, clock: u64, meta: &[(&str, &[u8])]) -> MemberSnapshot {
        MemberSnapshot {
            name: MemberName::from(name),
            local: false,
            clock,
            status,
            status_time: Duration::ZERO,
            metadata: Some(meta.iter().map(|(k, v)| (*k, v.to_vec())).collect()),
            left: false,
        }
    }

    fn change(previous: MemberSnapshot, member: MemberSnapshot) -> MemberChange {
        MemberChange { member, previous }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn user_events_are_logged_with_their_origin_name_and_payload() {
        let mut state = DemoState::new([snapshot("a:1", Status::Online, 1, &[])]);
        let entry = state.user_event("b:2", "deploy\x1b", b"v2", at(5)).cloned();
        let entry = entry.unwrap();
        assert_eq!(entry.description(), "b:2 event deploy\u{fffd} v2");
        let binary = state
            .user_event("b:2", "blob", &[0xff, 0x01], at(6))
            .cloned();
        assert_eq!(binary.unwrap().detail(), " event blob ff01");
        assert_eq!(state.log().count(), 2);
        for i in 0..LOG_CAPACITY {
            state.user_event("b:2", "e", &[], at(7 + i as u64));
        }
        assert_eq!(state.log().count(), LOG_CAPACITY);
    }

    #[test]
    fn rows_are_sorted_with_colours_and_local_marker() {
        let mut local = snapshot("127.0.0.1:2002", Status::Online, 3, &[]);
        local.local = true;
        let state = DemoState::new([
            snapshot("127.0.0.1:2003", Status::Online, 1, &[]),
            local,
            snapshot("127.0.0.1:2001", Status::Suspect, 7, &[]),
        ]);
        let view = state.view();
        let names: Vec<&str> = view.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["127.0.0.1:2001", "127.0.0.1:2002", "127.0.0.1:2003"]
        );
        let colours: Vec<usize> = view.rows.iter().map(|r| r.colour).collect();
        assert_eq!(colours, [0, 1, 2]);
        let locals: Vec<bool> = view.rows.iter().map(|r| r.local).collect();
        assert_eq!(locals, [false, true, false]);
        assert_eq!(view.rows[0].status, Status::Suspect);
        assert_eq!(view.rows[0].clock, 7);
        assert_eq!(view.colour_of("127.0.0.1:2003"), Some(2));
    }

    #[test]
    fn a_forgotten_member_loses_its_row() {
        let mut state = DemoState::new([
            snapshot("127.0.0.1:2002", Status::Online, 1, &[]),
            snapshot("127.0.0.1:2003", Status::Offline, 4, &[]),
        ]);
        state.forget(&"127.0.0.1:2003".into());
        let view = state.view();
        let names: Vec<&str> = view.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["127.0.0.1:2002"]);
    }

    #[test]
    fn a_member_keeps_its_colour_when_others_join_before_it_in_name_order() {
        let mut state = DemoState::new([
            snapshot("127.0.0.1:2002", Status::Online, 1, &[]),
            snapshot("127.0.0.1:2003", Status::Online, 1, &[]),
        ]);
        assert_eq!(state.view().colour_of("127.0.0.1:2003"), Some(1));
        let newcomer = snapshot("127.0.0.1:2001", Status::Online, 1, &[]);
        let unknown = MemberSnapshot {
            metadata: None,
            ..newcomer.clone()
        };
        state.apply(&change(unknown, newcomer), at(1));
        let view = state.view();
        assert_eq!(view.rows[0].name, "127.0.0.1:2001", "rows stay sorted");
        assert_eq!(view.colour_of("127.0.0.1:2001"), Some(2), "the next colour");
        assert_eq!(view.colour_of("127.0.0.1:2002"), Some(0), "unchanged");
        assert_eq!(view.colour_of("127.0.0.1:2003"), Some(1), "unchanged");
    }

    #[test]
    fn metadata_shows_text_or_hex_sorted_by_key() {
        let state = DemoState::new([snapshot(
            "a",
            Status::Online,
            1,
            &[
                ("typed", b"hello"),
                ("token", &[0xff, 0x00, 0x10]),
                ("name", b"one"),
            ],
        )]);
        let pairs = state.view().rows[0].metadata.clone().unwrap();
        let shown: Vec<String> = pairs
            .iter()
            .map(|p| format!("{}={}", p.key, p.value))
            .collect();
        assert_eq!(shown, ["name=one", "token=ff0010", "typed=hello"]);
        assert!(pairs[1].value.is_hex());
        assert!(!pairs[2].value.is_hex());
    }

    #[test]
    fn unknown_metadata_is_none() {
        let mut member = snapshot("a", Status::Online, 1, &[]);
        member.metadata = None;
        assert_eq!(DemoState::new([member]).view().rows[0].metadata, None);
    }

    #[test]
    fn available_counts_online_and_suspect_peers_plus_local() {
        let mut local = snapshot("l", Status::Online, 1, &[]);
        local.local = true;
        let state = DemoState::new([
            local,
            snapshot("a", Status::Online, 1, &[]),
            snapshot("b", Status::Suspect, 1, &[]),
            snapshot("c", Status::Offline, 1, &[]),
        ]);
        assert_eq!(state.view().available, 3);
        assert_eq!(DemoState::default().view().available, 1);
    }

    #[test]
    fn status_change_is_applied_and_logged() {
        let online = snapshot("a", Status::Online, 1, &[]);
        let suspect = snapshot("a", Status::Suspect, 2, &[]);
        let mut state = DemoState::new([online.clone()]);
        let entry = state
            .apply(&change(online, suspect), at(5))
            .cloned()
            .unwrap();
        assert_eq!(entry.status, Some((Status::Online, Status::Suspect)));
        assert!(!entry.joined && entry.keys.is_empty());
        assert_eq!(entry.at, at(5));
        assert_eq!(entry.description(), "a ONLINE → SUSPECT");
        assert_eq!(state.view().rows[0].status, Status::Suspect);
        assert_eq!(
            state.view().available,
            2,
            "a suspect member is still available"
        );
    }

    #[test]
    fn new_member_is_logged_as_joined_with_its_keys() {
        let mut state = DemoState::default();
        let previous = MemberSnapshot {
            metadata: None,
            ..snapshot("b", Status::Online, 0, &[])
        };
        let member = snapshot("b", Status::Online, 1, &[("typed", b"x")]);
        let entry = state
            .apply(&change(previous, member), at(1))
            .cloned()
            .unwrap();
        assert!(entry.joined);
        assert_eq!(entry.description(), "b joined as ONLINE typed=x");
        assert_eq!(state.view().rows.len(), 1);
        assert_eq!(state.view().available, 2);
    }

    #[test]
    fn metadata_changes_list_changed_and_removed_keys_only() {
        let old = snapshot(
            "a",
            Status::Online,
            1,
            &[("keep", b"1"), ("gone", b"2"), ("typed", b"h")],
        );
        let new = snapshot(
            "a",
            Status::Online,
            2,
            &[("keep", b"1"), ("typed", b"hi"), ("token", &[0xfe])],
        );
        let mut state = DemoState::new([old.clone()]);
        let entry = state.apply(&change(old, new), at(1)).cloned().unwrap();
        assert_eq!(entry.status, None);
        assert_eq!(entry.description(), "a -gone token=fe typed=hi");
    }

    #[test]
    fn clock_only_change_updates_state_without_log_entry() {
        let old = snapshot("a", Status::Online, 1, &[]);
        let new = snapshot("a", Status::Online, 9, &[]);
        let mut state = DemoState::new([old.clone()]);
        assert!(state.apply(&change(old, new), at(1)).is_none());
        assert_eq!(state.view().rows[0].clock, 9);
        assert_eq!(state.log().len(), 0);
    }

    #[test]
    fn change_is_compared_with_what_is_shown_not_with_previous() {
        // The initial snapshot already holds the new state: replaying the change is silent.
        let old = snapshot("a", Status::Online, 1, &[]);
        let new = snapshot("a", Status::Online, 2, &[("typed", b"x")]);
        let mut state = DemoState::new([new.clone()]);
        assert!(state.apply(&change(old, new), at(1)).is_none());
    }

    #[test]
    fn log_keeps_the_most_recent_entries() {
        let mut state = DemoState::default();
        for i in 0..(LOG_CAPACITY as u64 + 10) {
            let old = snapshot("a", Status::Online, i, &[]);
            let new = snapshot(
                "a",
                Status::Online,
                i + 1,
                &[("n", i.to_string().as_bytes())],
            );
            state.apply(&change(old, new), at(i));
        }
        assert_eq!(state.log().len(), LOG_CAPACITY);
        assert_eq!(state.log().next().unwrap().at, at(10));
        assert_eq!(state.log().last().unwrap().at, at(LOG_CAPACITY as u64 + 9));
    }

    #[test]
    fn hostile_names_and_keys_are_sanitized() {
        let state = DemoState::new([snapshot(
            "evil\x1b[2J",
            Status::Online,
            1,
            &[("k\n", b"v\x07")],
        )]);
        let row = &state.view().rows[0];
        assert!(!row.name.chars().any(char::is_control));
        let pair = &row.metadata.as_ref().unwrap()[0];
        assert!(!pair.key.chars().any(char::is_control));
        assert!(pair.value.is_hex());
    }
}
