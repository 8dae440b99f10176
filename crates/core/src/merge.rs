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
//!
//! Every merge is linear in the size of the lists (hash sets and maps, never a search of the
//! list for each item), and no merged list grows past [`MAX_LIST_ITEMS`]: an op that would make
//! one longer is refused whole (`list_too_long`), so no record can make the server's writer slow.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hlc::Hlc;
use crate::ids::DeviceId;
use crate::op::{Action, Change, EntityKind, Op};
use crate::referral::{ReferralStatus, ReferralStep};

/// Most items a merged list (a set, a list keyed by id, a referral's history) may hold. Far
/// above any real record (a person's vulnerabilities, skills, returns, consents; a referral's
/// steps): only a broken or hostile device gets near it.
pub const MAX_LIST_ITEMS: usize = 1000;

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
    /// Set when the op was refused as a whole (a code: `deleted`; `list_too_long`: a list would
    /// pass [`MAX_LIST_ITEMS`]).
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
    if too_large(op.change.entity, state.value.as_ref(), &incoming) {
        return Merged {
            refused: Some("list_too_long"),
            ..Merged::default()
        };
    }
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

/// Whether writing `incoming` over `current` would leave a merged list longer than
/// [`MAX_LIST_ITEMS`] (a list sent whole that is too long, or a union that would be).
fn too_large(
    entity: EntityKind,
    current: Option<&Map<String, Value>>,
    incoming: &Map<String, Value>,
) -> bool {
    incoming.iter().any(|(field, new)| {
        let Some(new_items) = new.as_array() else {
            return false;
        };
        if !is_merged_list(entity, field) {
            return false;
        }
        let old = current.and_then(|c| c.get(field)).unwrap_or(&Value::Null);
        let old_len = old.as_array().map_or(0, Vec::len);
        if new_items.len() > MAX_LIST_ITEMS {
            return true;
        }
        if old_len + new_items.len() <= MAX_LIST_ITEMS {
            return false;
        }
        // Near the bound: the merged list itself decides (either side may win).
        [true, false].into_iter().any(
            |new_wins| match combine(entity, field, old, new, new_wins) {
                Combined::Union(Value::Array(all), _) => all.len() > MAX_LIST_ITEMS,
                _ => false,
            },
        )
    })
}

/// The fields [`combine`] merges as lists.
fn is_merged_list(entity: EntityKind, field: &str) -> bool {
    matches!(
        (entity, field),
        (EntityKind::Referral, "history")
            | (_, "vulnerabilities" | "skills" | "not_same_as")
            | (EntityKind::Person, "return_events" | "consents")
    )
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// A JSON value as a hash-set key: equal exactly when the values are `==` (an object's keys
/// in any order; numbers as serde_json compares them).
struct Key<'a>(&'a Value);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_value(self.0, h);
    }
}

fn hash_value<H: Hasher>(value: &Value, h: &mut H) {
    match value {
        Value::Null => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            b.hash(h);
        }
        Value::Number(n) => {
            h.write_u8(2);
            n.hash(h);
        }
        Value::String(s) => {
            h.write_u8(3);
            s.hash(h);
        }
        Value::Array(items) => {
            h.write_u8(4);
            h.write_usize(items.len());
            for item in items {
                hash_value(item, h);
            }
        }
        Value::Object(map) => {
            h.write_u8(5);
            h.write_usize(map.len());
            // In key order, whatever order the map keeps them in.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                key.hash(h);
                hash_value(value, h);
            }
        }
    }
}

/// The old items, then each new item not already there (in their order).
fn set_union(old: &Value, new: &Value) -> Combined {
    let old = items(old);
    let mut seen: HashSet<Key> = old.iter().map(Key).collect();
    let mut all = old.to_vec();
    for item in items(new) {
        if seen.insert(Key(item)) {
            all.push(item.clone());
        }
    }
    Combined::Union(Value::Array(all), Vec::new())
}

/// Items keyed by `id`: both sides' items are kept; an item both changed takes the winner's.
/// (An item is matched with the first of the list with the same `id`; items without one
/// match each other.)
fn by_id(old: &Value, new: &Value, new_wins: bool) -> Combined {
    let old = items(old);
    let mut all = old.to_vec();
    let mut first: HashMap<Option<Key>, usize> = HashMap::with_capacity(old.len());
    for (i, item) in old.iter().enumerate() {
        first.entry(item.get("id").map(Key)).or_insert(i);
    }
    for item in items(new) {
        match first.get(&item.get("id").map(Key)) {
            Some(&i) if new_wins => all[i] = item.clone(),
            Some(_) => {}
            None => {
                first.insert(item.get("id").map(Key), all.len());
                all.push(item.clone());
            }
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
    let mut seen: HashSet<ReferralStep> = steps.iter().cloned().collect();
    for step in theirs {
        if seen.insert(step.clone()) {
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

    /// The merges as they were written first (a search of the list per item): the linear
    /// ones must give exactly the same lists.
    mod quadratic {
        use serde_json::Value;

        fn items(v: &Value) -> Vec<Value> {
            v.as_array().cloned().unwrap_or_default()
        }

        pub fn set_union(old: &Value, new: &Value) -> Value {
            let mut all = items(old);
            for item in items(new) {
                if !all.contains(&item) {
                    all.push(item);
                }
            }
            Value::Array(all)
        }

        pub fn by_id(old: &Value, new: &Value, new_wins: bool) -> Value {
            let mut all = items(old);
            for item in items(new) {
                match all.iter_mut().find(|o| o.get("id") == item.get("id")) {
                    Some(existing) if new_wins => *existing = item,
                    Some(_) => {}
                    None => all.push(item),
                }
            }
            Value::Array(all)
        }
    }

    fn union_of(c: Combined) -> Value {
        match c {
            Combined::Union(v, dropped) => {
                assert!(dropped.is_empty());
                v
            }
            Combined::LastWriterWins => panic!("not a union"),
        }
    }

    /// Small JSON values that collide often: numbers, strings, objects with and without ids
    /// (keys in either order), nested lists.
    fn small_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (0u8..4).prop_map(Value::from),
            (0u8..4).prop_map(|n| Value::from(f64::from(n))),
            "[ab]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                (
                    proptest::option::of(inner.clone()),
                    inner.clone(),
                    any::<bool>()
                )
                    .prop_map(|(id, x, id_first)| {
                        let mut text = String::from("{");
                        let id_part = id.map(|id| format!("\"id\":{id}"));
                        let x_part = format!("\"x\":{x}");
                        let parts: Vec<String> = match (id_part, id_first) {
                            (Some(i), true) => vec![i, x_part],
                            (Some(i), false) => vec![x_part, i],
                            (None, _) => vec![x_part],
                        };
                        text.push_str(&parts.join(","));
                        text.push('}');
                        serde_json::from_str(&text).unwrap_or(Value::Null)
                    }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn linear_merges_give_exactly_the_lists_of_the_quadratic_ones(
            old in proptest::collection::vec(small_value(), 0..12),
            new in proptest::collection::vec(small_value(), 0..12),
            new_wins: bool,
            old_not_a_list: bool,
        ) {
            let old = if old_not_a_list { json!("x") } else { Value::Array(old) };
            let new = Value::Array(new);
            proptest::prop_assert_eq!(union_of(set_union(&old, &new)), quadratic::set_union(&old, &new));
            proptest::prop_assert_eq!(
                union_of(by_id(&old, &new, new_wins)),
                quadratic::by_id(&old, &new, new_wins)
            );
        }
    }

    #[test]
    fn equal_values_are_one_key_whatever_the_order_of_their_fields() {
        let a: Value = serde_json::from_str(r#"{"id": 1, "x": [1, {"b": 2, "a": 1}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"x": [1, {"a": 1, "b": 2}], "id": 1}"#).unwrap();
        let (one, one_float) = (json!(1), json!(1.0));
        let set: HashSet<Key> = [Key(&a), Key(&b), Key(&one), Key(&one_float)]
            .into_iter()
            .collect();
        assert_eq!(
            set.len(),
            3,
            "1 and 1.0 differ, as serde_json compares them"
        );
    }

    #[test]
    fn a_list_past_the_bound_is_refused_and_the_record_kept() {
        let mut s = created();
        let ids = |from: usize, n: usize| -> Value {
            (from..from + n).map(|i| json!(format!("p{i}"))).collect()
        };
        let m = apply(
            &mut s,
            &op(
                2,
                200,
                1,
                update(json!({"not_same_as": ids(0, MAX_LIST_ITEMS)})),
            ),
            2,
        );
        assert_eq!(m.refused, None, "the bound itself is allowed");
        let kept = s.clone();
        // Too long alone, and too long once merged with what the record has.
        for list in [ids(0, MAX_LIST_ITEMS + 1), ids(MAX_LIST_ITEMS, 1)] {
            let m = apply(
                &mut s,
                &op(
                    3,
                    300,
                    2,
                    update(json!({"not_same_as": list, "phone": "9"})),
                ),
                3,
            );
            assert_eq!(m.refused, Some("list_too_long"));
            assert_eq!(m.effect, None);
            assert_eq!(s, kept, "nothing of a refused op is applied");
        }
        // Items it already has do not count twice.
        let m = apply(
            &mut s,
            &op(3, 300, 2, update(json!({"not_same_as": ids(10, 20)}))),
            3,
        );
        assert_eq!(m.refused, None);
        // A list of the same size in a last-writer-wins field is not a merged list.
        let m = apply(
            &mut s,
            &op(
                3,
                310,
                2,
                update(json!({"aliases": ids(0, MAX_LIST_ITEMS + 1)})),
            ),
            4,
        );
        assert_eq!(m.refused, None);
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
