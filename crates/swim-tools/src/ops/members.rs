//! The `/members` document: every member as JSON, metadata values as UTF-8 text or base64.
//! The members query reads it back with the same types.

use std::collections::BTreeMap;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use swim_protocol::{Cluster, MemberSnapshot, Status};

/// What `/members` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersDoc {
    /// The name of the member that answered.
    pub local: String,
    /// Every member it knows, itself included, sorted by name.
    pub members: Vec<MemberDoc>,
}

/// One member as the answering member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDoc {
    /// The member's name (its address, `host:port`).
    pub name: String,
    /// Whether this is the answering member.
    pub local: bool,
    /// `ONLINE`, `SUSPECT` or `OFFLINE`.
    pub status: String,
    /// OFFLINE because it left the cluster gracefully (absent in older documents: false).
    #[serde(default)]
    pub left: bool,
    /// The logical clock of the latest record.
    pub clock: u64,
    /// When the status last changed (RFC 3339, UTC, milliseconds).
    pub changed_at: String,
    /// The metadata, `null` while still unknown.
    pub metadata: Option<BTreeMap<String, Value>>,
}

/// A metadata value: text when it is valid UTF-8, else base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    /// The value as UTF-8 text.
    Text(String),
    /// The value's bytes in standard base64.
    Base64(String),
}

impl Value {
    /// The value of `bytes`.
    pub fn of(bytes: &[u8]) -> Value {
        match std::str::from_utf8(bytes) {
            Ok(text) => Value::Text(text.to_owned()),
            Err(_) => Value::Base64(BASE64.encode(bytes)),
        }
    }
}

impl MembersDoc {
    /// The document of `cluster` now.
    pub fn of(cluster: &Cluster) -> MembersDoc {
        let members = cluster
            .members()
            .iter()
            .map(|member| MemberDoc::of(member, cluster.wall_time(member.status_time)))
            .collect();
        MembersDoc {
            local: cluster.name().to_string(),
            members,
        }
    }
}

impl MemberDoc {
    /// `member`, whose status changed at `changed_at`.
    pub fn of(member: &MemberSnapshot, changed_at: SystemTime) -> MemberDoc {
        let metadata = member.metadata.as_ref().map(|metadata| {
            metadata
                .iter()
                .map(|(key, value)| (key.clone(), Value::of(value)))
                .collect()
        });
        MemberDoc {
            name: member.name.to_string(),
            local: member.local,
            status: member.status.name().to_owned(),
            left: member.left,
            clock: member.clock,
            changed_at: humantime::format_rfc3339_millis(changed_at).to_string(),
            metadata,
        }
    }

    /// The status, if it is one of the three.
    pub fn status(&self) -> Option<Status> {
        self.status.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use swim_protocol::Metadata;

    use super::*;

    #[test]
    fn metadata_is_text_when_it_can_be_and_base64_otherwise() {
        let member = MemberSnapshot {
            name: "127.0.0.1:2001".into(),
            local: false,
            clock: 7,
            status: Status::Suspect,
            status_time: Duration::ZERO,
            metadata: Some(
                Metadata::empty()
                    .with("name", "one")
                    .with("raw", vec![0xff, 0]),
            ),
            left: false,
        };
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let doc = MemberDoc::of(&member, at);
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "name": "127.0.0.1:2001",
                "local": false,
                "status": "SUSPECT",
                "left": false,
                "clock": 7,
                "changed_at": "2023-11-14T22:13:20.123Z",
                "metadata": {"name": {"text": "one"}, "raw": {"base64": "/wA="}},
            })
        );
        let back: MemberDoc = serde_json::from_value(json).unwrap();
        assert_eq!(back, doc);
        assert_eq!(back.status(), Some(Status::Suspect));
    }

    #[test]
    fn a_member_that_left_says_so() {
        let member = MemberSnapshot {
            name: "127.0.0.1:2002".into(),
            local: false,
            clock: 9,
            status: Status::Offline,
            status_time: Duration::ZERO,
            metadata: None,
            left: true,
        };
        let json = serde_json::to_value(MemberDoc::of(&member, UNIX_EPOCH)).unwrap();
        assert_eq!(json["status"], "OFFLINE");
        assert_eq!(json["left"], true);
        // A document from before the field reads as "did not leave".
        let mut old = json.clone();
        old.as_object_mut().unwrap().remove("left");
        let back: MemberDoc = serde_json::from_value(old).unwrap();
        assert!(!back.left);
    }
}
