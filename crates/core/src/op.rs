//! Sync operations: one [`Op`] per change of a record, written to the device's outbox in the same
//! transaction as the record and pushed to the server later.
//!
//! An op carries a unique id (UUIDv7, made by the caller: the server applies an op at most once),
//! who made the change, on which device, and its [hybrid logical clock](crate::hlc) timestamp.
//! A [`Change`] names the record and what happened to it. Updates carry only the top-level
//! fields that changed, each one stamped by the op's HLC, so a later merge can resolve
//! concurrent edits field by field (last writer by HLC wins per field; two different values for
//! the same field are a real conflict).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::ids::{DeviceId, UserId};

/// The kinds of records that sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Person,
    Referral,
    FollowUp,
    CaseNote,
    Provider,
    User,
    Audit,
}

impl EntityKind {
    pub const ALL: [EntityKind; 7] = [
        EntityKind::Person,
        EntityKind::Referral,
        EntityKind::FollowUp,
        EntityKind::CaseNote,
        EntityKind::Provider,
        EntityKind::User,
        EntityKind::Audit,
    ];

    /// A stable one-byte code (used in storage keys; never reuse a number).
    pub const fn code(self) -> u8 {
        match self {
            EntityKind::Person => 1,
            EntityKind::Referral => 2,
            EntityKind::FollowUp => 3,
            EntityKind::CaseNote => 4,
            EntityKind::Provider => 5,
            EntityKind::User => 6,
            EntityKind::Audit => 7,
        }
    }

    pub fn from_code(code: u8) -> Option<EntityKind> {
        EntityKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// What happened to a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The record was created: the whole record (its serde JSON form).
    Create {
        #[ts(type = "unknown")]
        record: Value,
    },
    /// Some top-level fields changed: their new values (`null` when a field was removed).
    Update {
        #[ts(type = "Record<string, unknown>")]
        fields: Map<String, Value>,
    },
    /// The record was deleted.
    Delete,
}

/// A change to one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Change {
    pub entity: EntityKind,
    #[ts(type = "string")]
    pub id: Uuid,
    #[serde(flatten)]
    pub action: Action,
}

impl Change {
    /// The change that turns `old` (None: the record did not exist) into `new`. Returns `None`
    /// when nothing changed (no op needs to be written).
    pub fn between(
        entity: EntityKind,
        id: Uuid,
        old: Option<&Value>,
        new: &Value,
    ) -> Option<Change> {
        let action = match (old, new) {
            (None, _) => Action::Create {
                record: new.clone(),
            },
            (Some(Value::Object(old)), Value::Object(new)) => {
                let mut fields = Map::new();
                for (key, value) in new {
                    if old.get(key) != Some(value) {
                        fields.insert(key.clone(), value.clone());
                    }
                }
                for key in old.keys() {
                    if !new.contains_key(key) {
                        fields.insert(key.clone(), Value::Null);
                    }
                }
                if fields.is_empty() {
                    return None;
                }
                Action::Update { fields }
            }
            (Some(old), new) if old == new => return None,
            // Not an object (should not happen for records): replace it whole.
            (Some(_), new) => Action::Create {
                record: new.clone(),
            },
        };
        Some(Change { entity, id, action })
    }

    /// Applies this change to a record's JSON (None: absent). Returns the record after it.
    pub fn apply(&self, record: Option<Value>) -> Option<Value> {
        match (&self.action, record) {
            (Action::Create { record }, _) => Some(record.clone()),
            (Action::Update { fields }, Some(Value::Object(mut map))) => {
                for (key, value) in fields {
                    if value.is_null() {
                        map.remove(key);
                    } else {
                        map.insert(key.clone(), value.clone());
                    }
                }
                Some(Value::Object(map))
            }
            (Action::Update { fields }, _) => Some(Value::Object(fields.clone())),
            (Action::Delete, _) => None,
        }
    }
}

/// One operation of the outbox / the sync log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct Op {
    /// Unique id (UUIDv7, made by the caller); the server applies each op at most once.
    #[ts(type = "string")]
    pub op_id: Uuid,
    pub author: UserId,
    pub device: DeviceId,
    pub hlc: Hlc,
    /// The server sequence number up to which this device had pulled when it made the change
    /// (0: nothing pulled yet). The server compares it with the sequence of each field's last
    /// write to tell a concurrent edit (a conflict) from a later one.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[ts(skip)]
    pub base_seq: u64,
    pub change: Change,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn update_carries_only_changed_fields() {
        let id = Uuid::from_u128(1);
        let old = json!({"a": 1, "b": "x", "c": [1]});
        let new = json!({"a": 1, "b": "y", "d": true});
        let change = Change::between(EntityKind::Person, id, Some(&old), &new).unwrap();
        assert_eq!(
            change.action,
            Action::Update {
                fields: json!({"b": "y", "d": true, "c": null})
                    .as_object()
                    .unwrap()
                    .clone()
            }
        );
        assert_eq!(change.apply(Some(old)), Some(new.clone()));
        assert_eq!(
            Change::between(EntityKind::Person, id, Some(&new), &new),
            None
        );
    }

    #[test]
    fn op_json_shape() {
        let op = Op {
            op_id: Uuid::from_u128(9),
            author: UserId::new(Uuid::from_u128(1)),
            device: DeviceId::new(Uuid::from_u128(2)),
            hlc: Hlc {
                wall_ms: 5,
                counter: 0,
                node: 3,
            },
            base_seq: 0,
            change: Change {
                entity: EntityKind::FollowUp,
                id: Uuid::from_u128(4),
                action: Action::Delete,
            },
        };
        let v = serde_json::to_value(&op).unwrap();
        assert_eq!(v["change"]["entity"], "follow_up");
        assert_eq!(v["change"]["action"], "delete");
        assert_eq!(serde_json::from_value::<Op>(v).unwrap(), op);
    }

    #[test]
    fn kind_codes_are_unique_and_round_trip() {
        for kind in EntityKind::ALL {
            assert_eq!(EntityKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(EntityKind::from_code(0), None);
    }

    fn record() -> impl Strategy<Value = Value> {
        proptest::collection::btree_map(
            "[a-e]",
            prop_oneof![
                Just(json!(null)).prop_map(|_| json!(0)),
                any::<i8>().prop_map(|n| json!(n)),
                "[xy]{0,2}".prop_map(|s| json!(s))
            ],
            0..5,
        )
        .prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    proptest! {
        #[test]
        fn applying_the_change_between_two_records_gives_the_new_one(old in record(), new in record()) {
            let id = Uuid::from_u128(7);
            match Change::between(EntityKind::Referral, id, Some(&old), &new) {
                Some(change) => prop_assert_eq!(change.apply(Some(old)), Some(new)),
                None => prop_assert_eq!(old, new),
            }
        }
    }
}
