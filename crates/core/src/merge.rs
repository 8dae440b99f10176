//! Merge rules of sync (`docs/sync.md`): how the single-form endpoint applies an incoming op to
//! the record it holds. Pure: the server keeps the state and the sequence numbers.
//!
//! Per top-level field, the write with the higher HLC wins, on every node the same way. A write
//! is *concurrent* with the current value when the device had not pulled that value
//! (`field.seq > op.base_seq`) and did not write it itself; a concurrent write of a different
//! value is a real conflict: the winner is applied and the loser kept in a [`FieldConflict`]
//! for a supervisor. Never a silent overwrite.
//!
//! Fields that are not last-writer-wins: lists of items with an `id` (return events, consents)
//! merge by id; sets (vulnerabilities, skills, "not the same person") are unioned; a
//! referral's `history` is the union of both histories replayed through the referral state
//! machine (a step it refuses is dropped and kept as a conflict). The reintegration `plan` is
//! one last-writer-wins field, goals included: two offline caseworkers who both add goals end
//! with one plan, and the other's goals are kept in the conflict queue for a supervisor.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hlc::Hlc;
use crate::ids::DeviceId;
use crate::op::{Action, Change, EntityKind, Op};
use crate::referral::{ReferralStatus, ReferralStep};

/// Who set a field's current value, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWrite {
    /// The server sequence of the op that set it.
    pub seq: u64,
    pub hlc: Hlc,
    pub device: DeviceId,
}

/// A record as the server holds it, with the write metadata of each field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordState {
    /// The record's JSON fields; `None` while it does not exist (or after a delete).
    pub value: Option<Map<String, Value>>,
    pub fields: BTreeMap<String, FieldWrite>,
    /// Set once the record was deleted (a tombstone: later ops are refused).
    pub deleted: Option<FieldWrite>,
}

/// Two concurrent writes of one field with different values: the winner was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub field: String,
    pub winner: Value,
    pub winner_write: FieldWrite,
    pub loser: Value,
    pub loser_write: FieldWrite,
}

/// What applying an op did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// The change actually applied (only fields whose value changed, with merged values);
    /// `None` when nothing changed. This is what a pull hands to other devices.
    pub effect: Option<Change>,
    pub conflicts: Vec<FieldConflict>,
    /// Fields of the op that lost, with the value kept (the pushing device applies them).
    pub superseded: Map<String, Value>,
    /// Set when the op was refused as a whole (a code: `deleted`).
    pub refused: Option<&'static str>,
}

/// Applies `op`, numbered `seq` by the server, to `state`.
pub fn apply(state: &mut RecordState, op: &Op, seq: u64) -> Merged {
    let write = FieldWrite {
        seq,
        hlc: op.hlc,
        device: op.device,
    };
    if state.deleted.is_some() {
        return Merged {
            refused: Some("deleted"),
            ..Merged::default()
        };
    }
    let incoming = match &op.change.action {
        Action::Delete => {
            state.value = None;
            state.deleted = Some(write);
            return Merged {
                effect: Some(op.change.clone()),
                ..Merged::default()
            };
        }
        Action::Create { record } => record.as_object().cloned().unwrap_or_default(),
        Action::Update { fields } => fields.clone(),
    };
    let existed = state.value.is_some();
    let mut current = state.value.take().unwrap_or_default();
    let mut merged = Merged::default();
    let mut effect = Map::new();
    for (field, new) in incoming {
        let old = current.get(&field).cloned().unwrap_or(Value::Null);
        let Some(cur) = state.fields.get(&field).copied() else {
            // Never written through sync: take it.
            if old != new {
                effect.insert(field.clone(), new.clone());
            }
            set(&mut current, &field, new);
            state.fields.insert(field, write);
            continue;
        };
        let concurrent = cur.seq > op.base_seq && cur.device != op.device;
        let incoming_wins = op.hlc > cur.hlc;
        let (value, lost) = match combine(op.change.entity, &field, &old, &new, incoming_wins) {
            Combined::Union(value, dropped) => {
                for loser in dropped {
                    merged.conflicts.push(FieldConflict {
                        field: field.clone(),
                        winner: value.clone(),
                        winner_write: cur,
                        loser,
                        loser_write: write,
                    });
                }
                (value, false)
            }
            Combined::LastWriterWins => {
                if concurrent && old != new {
                    let (winner, winner_write, loser, loser_write) = if incoming_wins {
                        (new.clone(), write, old.clone(), cur)
                    } else {
                        (old.clone(), cur, new.clone(), write)
                    };
                    merged.conflicts.push(FieldConflict {
                        field: field.clone(),
                        winner,
                        winner_write,
                        loser,
                        loser_write,
                    });
                }
                if incoming_wins {
                    (new.clone(), false)
                } else {
                    (old.clone(), old != new)
                }
            }
        };
        if lost {
            merged.superseded.insert(field.clone(), old.clone());
            continue;
        }
        if value != old {
            effect.insert(field.clone(), value.clone());
            set(&mut current, &field, value);
        }
        if incoming_wins {
            state.fields.insert(field, write);
        }
    }
    state.value = Some(current.clone());
    merged.effect = match (existed, effect.is_empty()) {
        (true, true) => None,
        (true, false) => Some(Change {
            entity: op.change.entity,
            id: op.change.id,
            action: Action::Update { fields: effect },
        }),
        (false, _) => Some(Change {
            entity: op.change.entity,
            id: op.change.id,
            action: Action::Create {
                record: Value::Object(current),
            },
        }),
    };
    merged
}

fn set(record: &mut Map<String, Value>, field: &str, value: Value) {
    if value.is_null() {
        record.remove(field);
    } else {
        record.insert(field.to_string(), value);
    }
}

enum Combined {
    /// A merged value (both sides kept), and values that could not be kept.
    Union(Value, Vec<Value>),
    LastWriterWins,
}

/// Fields whose value is a collection merge without losing either side.
fn combine(entity: EntityKind, field: &str, old: &Value, new: &Value, new_wins: bool) -> Combined {
    match (entity, field) {
        (EntityKind::Referral, "history") => referral_history(old, new),
        (_, "vulnerabilities" | "skills" | "not_same_as") => set_union(old, new),
        (EntityKind::Person, "return_events" | "consents") => by_id(old, new, new_wins),
        _ => Combined::LastWriterWins,
    }
}

fn items(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn set_union(old: &Value, new: &Value) -> Combined {
    let mut all = items(old);
    for item in items(new) {
        if !all.contains(&item) {
            all.push(item);
        }
    }
    Combined::Union(Value::Array(all), Vec::new())
}

/// Items keyed by `id`: both sides' items are kept; an item both changed takes the winner's.
fn by_id(old: &Value, new: &Value, new_wins: bool) -> Combined {
    let mut all = items(old);
    for item in items(new) {
        match all.iter_mut().find(|o| o.get("id") == item.get("id")) {
            Some(existing) if new_wins => *existing = item,
            Some(_) => {}
            None => all.push(item),
        }
    }
    Combined::Union(Value::Array(all), Vec::new())
}

/// Both histories' steps, in time order, replayed through the state machine.
fn referral_history(old: &Value, new: &Value) -> Combined {
    let parse = |v: &Value| serde_json::from_value::<Vec<ReferralStep>>(v.clone()).ok();
    let (Some(mut steps), Some(theirs)) = (parse(old), parse(new)) else {
        return Combined::LastWriterWins;
    };
    for step in theirs {
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    steps.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.status.cmp(&b.status)));
    let mut kept: Vec<ReferralStep> = Vec::new();
    let mut dropped = Vec::new();
    for step in steps {
        let legal = match kept.last() {
            None => step.status == ReferralStatus::Proposed,
            Some(last) => last.status.can_move_to(step.status),
        };
        if legal {
            kept.push(step);
        } else {
            dropped.push(serde_json::to_value(&step).unwrap_or(Value::Null));
        }
    }
    Combined::Union(serde_json::to_value(&kept).unwrap_or(Value::Null), dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UserId;
    use serde_json::json;
    use uuid::Uuid;

    fn op(device: u128, wall_ms: u64, base_seq: u64, action: Action) -> Op {
        Op {
            op_id: Uuid::from_u128(u128::from(wall_ms) << 16 | device),
            author: UserId::new(Uuid::from_u128(9)),
            device: DeviceId::new(Uuid::from_u128(device)),
            hlc: Hlc {
                wall_ms,
                counter: 0,
                node: device as u64,
            },
            base_seq,
            change: Change {
                entity: EntityKind::Person,
                id: Uuid::from_u128(77),
                action,
            },
        }
    }

    fn update(fields: Value) -> Action {
        Action::Update {
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
    }

    fn created() -> RecordState {
        let mut s = RecordState::default();
        let create = op(
            1,
            100,
            0,
            Action::Create {
                record: json!({"phone": "1", "occupation": "x"}),
            },
        );
        apply(&mut s, &create, 1);
        s
    }

    #[test]
    fn a_later_edit_is_no_conflict_and_wins() {
        let mut s = created();
        let m = apply(&mut s, &op(2, 200, 1, update(json!({"phone": "2"}))), 2);
        assert!(m.conflicts.is_empty());
        assert_eq!(s.value.as_ref().unwrap()["phone"], "2");
        assert!(matches!(
            m.effect,
            Some(Change {
                action: Action::Update { .. },
                ..
            })
        ));
    }

    #[test]
    fn concurrent_edits_of_a_field_converge_in_any_order_and_are_listed() {
        let a = op(2, 300, 1, update(json!({"phone": "A"})));
        let b = op(3, 250, 1, update(json!({"phone": "B", "occupation": "y"})));
        let mut first = created();
        let m1 = apply(&mut first, &a, 2);
        let m2 = apply(&mut first, &b, 3);
        let mut second = created();
        let n1 = apply(&mut second, &b, 2);
        let n2 = apply(&mut second, &a, 3);
        assert_eq!(first.value, second.value);
        assert_eq!(
            first.value.as_ref().unwrap()["phone"],
            "A",
            "higher HLC wins"
        );
        assert_eq!(
            first.value.as_ref().unwrap()["occupation"],
            "y",
            "other fields merge"
        );
        let conflicts: Vec<_> = m1.conflicts.iter().chain(&m2.conflicts).collect();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(
            (conflicts[0].winner.clone(), conflicts[0].loser.clone()),
            (json!("A"), json!("B"))
        );
        let conflicts: Vec<_> = n1.conflicts.iter().chain(&n2.conflicts).collect();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].loser, json!("B"));
        assert_eq!(
            m2.superseded.get("phone"),
            Some(&json!("A")),
            "the loser learns the winner"
        );
    }

    #[test]
    fn a_device_editing_its_own_write_again_is_no_conflict() {
        let mut s = created();
        apply(&mut s, &op(2, 200, 1, update(json!({"phone": "2"}))), 2);
        let m = apply(&mut s, &op(2, 210, 1, update(json!({"phone": "3"}))), 3);
        assert!(m.conflicts.is_empty());
        assert_eq!(s.value.as_ref().unwrap()["phone"], "3");
    }

    #[test]
    fn return_events_from_two_devices_are_both_kept() {
        let mut s = RecordState::default();
        apply(
            &mut s,
            &op(
                1,
                100,
                0,
                Action::Create {
                    record: json!({"return_events": [{"id": "r1"}]}),
                },
            ),
            1,
        );
        apply(
            &mut s,
            &op(
                2,
                200,
                1,
                update(json!({"return_events": [{"id": "r1"}, {"id": "r2"}]})),
            ),
            2,
        );
        let m = apply(
            &mut s,
            &op(
                3,
                150,
                1,
                update(json!({"return_events": [{"id": "r1"}, {"id": "r3"}]})),
            ),
            3,
        );
        assert!(m.conflicts.is_empty());
        let ids: Vec<&str> = s.value.as_ref().unwrap()["return_events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["id"].as_str())
            .collect();
        assert_eq!(ids, ["r1", "r2", "r3"]);
    }

    #[test]
    fn referral_steps_from_two_devices_make_one_legal_history() {
        let step = |status: &str, minute: u32, by: u128| json!({"status": status, "at": format!("2026-11-23T10:{minute:02}:00Z"), "by": Uuid::from_u128(by), "note": null});
        let mut s = RecordState::default();
        let mut create = op(
            1,
            100,
            0,
            Action::Create {
                record: json!({"history": [step("proposed", 0, 1), step("sent", 1, 1)]}),
            },
        );
        create.change.entity = EntityKind::Referral;
        apply(&mut s, &create, 1);
        let mut accepted = op(
            2,
            200,
            1,
            update(
                json!({"history": [step("proposed", 0, 1), step("sent", 1, 1), step("accepted", 5, 2)]}),
            ),
        );
        accepted.change.entity = EntityKind::Referral;
        let mut declined = op(
            3,
            190,
            1,
            update(
                json!({"history": [step("proposed", 0, 1), step("sent", 1, 1), step("declined", 6, 3)]}),
            ),
        );
        declined.change.entity = EntityKind::Referral;
        apply(&mut s, &accepted, 2);
        let m = apply(&mut s, &declined, 3);
        let statuses: Vec<&str> = s.value.as_ref().unwrap()["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["status"].as_str())
            .collect();
        assert_eq!(statuses, ["proposed", "sent", "accepted"]);
        assert_eq!(
            m.conflicts.len(),
            1,
            "the refused step is kept for a supervisor"
        );
        assert_eq!(m.conflicts[0].loser["status"], "declined");
    }

    #[test]
    fn nothing_applies_to_a_deleted_record() {
        let mut s = created();
        let m = apply(&mut s, &op(2, 200, 1, Action::Delete), 2);
        assert!(m.effect.is_some());
        let m = apply(&mut s, &op(3, 300, 2, update(json!({"phone": "9"}))), 3);
        assert_eq!(m.refused, Some("deleted"));
        assert_eq!(s.value, None);
    }
}
