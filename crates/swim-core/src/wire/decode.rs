//! The native decoder: strict, bounded, allocation sized only by bytes actually present.

use std::collections::BTreeMap;

use super::{
    state, sync_flags, tag, DecodeError, MAGIC, MAX_KEY_LEN, MAX_METADATA_KEYS, MAX_NAME_LEN,
    MAX_PAYLOAD, MAX_RECORDS, MAX_VALUE_LEN, VERSION,
};
use crate::{
    AppSection, MemberName, Message, MetaDelta, Metadata, Packet, Source, Status, Update, Validity,
};

type Result<T> = std::result::Result<T, DecodeError>;

/// The fewest bytes a record can take: empty name (1), clock (1), state byte (1).
const MIN_UPDATE_LEN: usize = 3;
/// The fewest bytes a metadata entry can take: empty key (1), empty value (1).
const MIN_ENTRY_LEN: usize = 2;
/// The longest varint of a `u64`.
const MAX_VARINT_LEN: u32 = 10;

pub(super) fn packet(payload: &[u8]) -> Result<Packet> {
    if payload.len() > MAX_PAYLOAD {
        return Err(DecodeError::TooLarge {
            what: "payload",
            value: payload.len() as u64,
        });
    }
    let mut reader = Reader {
        rest: payload,
        records_left: MAX_RECORDS,
    };
    let magic = reader.take(MAGIC.len())?;
    if magic != MAGIC {
        return Err(DecodeError::Invalid {
            what: "magic",
            value: u64::from(u16::from_be_bytes([magic[0], magic[1]])),
        });
    }
    let version = reader.byte()?;
    if version != VERSION {
        return Err(DecodeError::Invalid {
            what: "version",
            value: u64::from(version),
        });
    }
    let source = reader.source()?;
    let message = reader.message()?;
    let gossip = reader.records()?;
    // The application's section follows the records only when it is not empty.
    let app = if reader.rest.is_empty() {
        AppSection::default()
    } else {
        reader.app_section()?
    };
    if !reader.rest.is_empty() {
        return Err(DecodeError::Trailing(reader.rest.len()));
    }
    Ok(Packet {
        source,
        message,
        gossip,
        app,
    })
}

/// A cursor over the payload, with the record budget still available to this packet.
pub(super) struct Reader<'a> {
    pub(super) rest: &'a [u8],
    records_left: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> Result<u8> {
        let (&byte, rest) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(byte)
    }

    pub(super) fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    /// Unsigned LEB128 in its shortest form; overlong and overflowing forms are rejected.
    pub(super) fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for index in 0..MAX_VARINT_LEN {
            let byte = self.byte()?;
            if index == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(DecodeError::Invalid {
                    what: "varint (overflows 64 bits)",
                    value: u64::from(byte),
                });
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return Err(DecodeError::Invalid {
                        what: "varint (not in shortest form)",
                        value,
                    });
                }
                return Ok(value);
            }
        }
        // The tenth byte is 0 or 1, so the loop always returns; kept total for safety.
        Err(DecodeError::Invalid {
            what: "varint (overflows 64 bits)",
            value,
        })
    }

    pub(super) fn seq(&mut self) -> Result<u32> {
        let value = self.varint()?;
        u32::try_from(value).map_err(|_| DecodeError::TooLarge { what: "seq", value })
    }

    /// A count of items each at least `min_item_len` bytes long, at most `max`.
    pub(super) fn count(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_len: usize,
    ) -> Result<usize> {
        let value = self.varint()?;
        let count = usize::try_from(value)
            .ok()
            .filter(|&count| count <= max)
            .ok_or(DecodeError::TooLarge { what, value })?;
        if count.saturating_mul(min_item_len) > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        Ok(count)
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub(super) fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8]> {
        let len = self.count(what, max, 1)?;
        self.take(len)
    }

    pub(super) fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str> {
        let bytes = self.bytes(what, max)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::Utf8(what))
    }

    pub(super) fn name(&mut self) -> Result<MemberName> {
        self.str("member name", MAX_NAME_LEN).map(MemberName::from)
    }

    pub(super) fn source(&mut self) -> Result<Source> {
        let name = self.name()?;
        let mut validity = Validity::default();
        let len = validity.0.len();
        validity.0.copy_from_slice(self.take(len)?);
        Ok(Source { name, validity })
    }

    fn message(&mut self) -> Result<Message> {
        let message = match self.byte()? {
            tag::PING => Message::Ping {
                seq: self.seq()?,
                known: self.seq()?,
                window: None,
            },
            tag::PING_REQ => Message::PingReq {
                seq: self.seq()?,
                target: self.name()?,
            },
            tag::ACK => Message::Ack {
                seq: self.seq()?,
                alive: self.source()?,
                known: self.seq()?,
                window: None,
            },
            tag::PING_SYNC => Message::Ping {
                seq: self.seq()?,
                known: self.seq()?,
                window: Some(self.records()?),
            },
            tag::ACK_SYNC => Message::Ack {
                seq: self.seq()?,
                alive: self.source()?,
                known: self.seq()?,
                window: Some(self.records()?),
            },
            tag::GOSSIP => Message::Gossip(self.update()?),
            tag::GOSSIP_ACK => Message::GossipAck {
                name: self.name()?,
                clock: self.varint()?,
            },
            tag::GOSSIP_ONLY => Message::GossipOnly,
            tag::NACK => Message::Nack { seq: self.seq()? },
            tag::QUERY_REPLY => self.query_reply()?,
            tag::DIRECT => Message::Direct {
                id: self.seq()?,
                payload: self.bytes("payload", crate::MAX_APP_PAYLOAD)?.into(),
            },
            tag::DIRECT_ACK => Message::DirectAck { id: self.seq()? },
            tag::SYNC => {
                let flags = self.byte()?;
                if flags & !(sync_flags::REPLY | sync_flags::FULL) != 0 {
                    return Err(DecodeError::Invalid {
                        what: "sync flags",
                        value: u64::from(flags),
                    });
                }
                Message::Sync {
                    reply: flags & sync_flags::REPLY != 0,
                    full: flags & sync_flags::FULL != 0,
                    records: self.records()?,
                }
            }
            unknown => {
                return Err(DecodeError::Invalid {
                    what: "message tag",
                    value: u64::from(unknown),
                })
            }
        };
        Ok(message)
    }

    /// A count-prefixed list of records, charged against the packet's record budget.
    fn records(&mut self) -> Result<Vec<Update>> {
        let count = self.count("record count", self.records_left, MIN_UPDATE_LEN)?;
        self.records_left -= count;
        let mut records = Vec::with_capacity(count);
        for _ in 0..count {
            records.push(self.update()?);
        }
        Ok(records)
    }

    fn update(&mut self) -> Result<Update> {
        let name = self.name()?;
        let clock = self.varint()?;
        let state_byte = self.byte()?;
        let has_metadata = state_byte & state::HAS_METADATA != 0;
        let has_delta = state_byte & state::HAS_DELTA != 0;
        let code = state_byte & !(state::HAS_METADATA | state::HAS_DELTA);
        let (status, left, accused) = match code {
            // A map or a delta, never both.
            _ if has_metadata && has_delta => (Status::Online, false, None),
            state::ONLINE => (Status::Online, false, Some(false)),
            state::SUSPECT => (Status::Suspect, false, Some(false)),
            code if code == state::SUSPECT | state::HAS_ACCUSER => {
                (Status::Suspect, false, Some(true))
            }
            state::OFFLINE => (Status::Offline, false, Some(false)),
            code if code == state::OFFLINE | state::LEFT => (Status::Offline, true, Some(false)),
            _ => (Status::Online, false, None),
        };
        let Some(accused) = accused else {
            return Err(DecodeError::Invalid {
                what: "status byte",
                value: u64::from(state_byte),
            });
        };
        // Only a suspicion names an accuser.
        let accuser = if accused { Some(self.name()?) } else { None };
        let metadata = if has_metadata {
            Some(self.metadata()?)
        } else {
            None
        };
        let delta = if has_delta {
            Some(Box::new(self.delta(clock)?))
        } else {
            None
        };
        Ok(Update {
            name,
            clock,
            status,
            metadata,
            accuser,
            left,
            delta,
        })
    }

    /// A metadata delta of a record with `clock`: its base must be older than the record,
    /// the keys set and removed together at most [`MAX_METADATA_KEYS`], the removed keys in
    /// strictly increasing order and none of them also set.
    fn delta(&mut self, clock: u64) -> Result<MetaDelta> {
        let base = self.varint()?;
        if base >= clock {
            return Err(DecodeError::Invalid {
                what: "delta base (not below the record's clock)",
                value: base,
            });
        }
        let digest = u64::from_le_bytes(
            self.take(8)?
                .try_into()
                .map_err(|_| DecodeError::Truncated)?,
        );
        let set = self.metadata()?;
        let max = MAX_METADATA_KEYS - set.len();
        let count = self.count("delta key count", max, 1)?;
        let mut removed: Vec<String> = Vec::with_capacity(count);
        for index in 0..count {
            let key = self.str("metadata key", MAX_KEY_LEN)?;
            if removed
                .last()
                .is_some_and(|previous| previous.as_str() >= key)
            {
                return Err(DecodeError::Invalid {
                    what: "removed key order (index of the key)",
                    value: index as u64,
                });
            }
            if set.contains_key(key) {
                return Err(DecodeError::Invalid {
                    what: "removed key also set (index of the key)",
                    value: index as u64,
                });
            }
            removed.push(key.to_owned());
        }
        Ok(MetaDelta {
            base,
            digest,
            set,
            removed: removed.into(),
        })
    }

    /// Entries in strictly increasing key order: no duplicates, one encoding per map.
    fn metadata(&mut self) -> Result<Metadata> {
        let count = self.count("metadata key count", MAX_METADATA_KEYS, MIN_ENTRY_LEN)?;
        let mut map = BTreeMap::new();
        let mut previous: Option<&str> = None;
        for index in 0..count {
            let key = self.str("metadata key", MAX_KEY_LEN)?;
            if previous.is_some_and(|previous| previous >= key) {
                return Err(DecodeError::Invalid {
                    what: "metadata key order (index of the key)",
                    value: index as u64,
                });
            }
            previous = Some(key);
            let value = self.bytes("metadata value", MAX_VALUE_LEN)?;
            map.insert(key.to_owned(), value.to_vec());
        }
        Ok(Metadata::new(map))
    }
}
