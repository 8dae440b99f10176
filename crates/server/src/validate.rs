//! The server checks what it stores (H5): every pushed op and every conflict resolution is
//! checked against the domain types of `crates/core` before anything is written, so no device
//! can store a record the others cannot read (one unreadable record used to stop every
//! device's pulls for good).
//!
//! Two checks, both pure:
//! - [`op`] on what a device sent, before the merge: a created record is an object whose `id`
//!   is the op's record id, an update does not change `id`, and every value is bounded
//!   ([`MAX_DEPTH`] levels, [`MAX_STRING_BYTES`] per string, [`MAX_LIST_ITEMS`] per list,
//!   [`MAX_MEMBERS`] per object);
//! - [`record`] on the record as the merge leaves it: its `id` is the op's, its JSON is at
//!   most [`MAX_RECORD_BYTES`], and it decodes as its kind (`Person`, `Referral`, …), every
//!   required field there with its type, every enum value one the kind knows.
//!
//! An enum value this build does not know (a newer client's new vulnerability, say) is **kept,
//! not refused**: the record is stored as sent, and the check goes on with a known value in a
//! scratch copy in its place so that everything else is still checked. Keeping the raw JSON
//! (rather than an `Unknown` variant in core's enums) is what keeps the data: the server never
//! re-encodes a record through the domain types, so the newer value reaches every device as it
//! was written, and an older device that cannot read it keeps it aside verbatim
//! (`reintegra_store::Held`) until it is upgraded, instead of reading it as "unknown" and
//! overwriting it with that at its next edit. A value is "unknown" only as a string naming a
//! variant (a unit enum value or the tag of a tagged one); anything else that does not decode
//! is refused.

use reintegra_core::audit::AuditEntry;
use reintegra_core::case_note::CaseNote;
use reintegra_core::follow_up::FollowUp;
use reintegra_core::merge::MAX_LIST_ITEMS;
use reintegra_core::op::{Action, EntityKind, Op};
use reintegra_core::person::Person;
use reintegra_core::provider::ServiceProvider;
use reintegra_core::referral::Referral;
use reintegra_core::user::User;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;
use uuid::Uuid;

/// Deepest nesting of a record's JSON (a person is 4 levels deep: plan → goals → goal → text).
pub const MAX_DEPTH: usize = 16;
/// Longest string (bytes): a long case note fits many times over.
pub const MAX_STRING_BYTES: usize = 64 * 1024;
/// Most members of one object (known fields and a newer client's new ones).
pub const MAX_MEMBERS: usize = 200;
/// Largest record, as JSON.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Most unknown enum values kept in one record.
pub const MAX_UNKNOWN: usize = 64;

/// Why an op or a resolution was refused, in words for the person at the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

/// Checks what a device sent in `op`, before it is merged.
pub fn op(op: &Op) -> Result<(), Invalid> {
    let change = &op.change;
    match &change.action {
        Action::Delete => Ok(()),
        Action::Create { record } => {
            let Value::Object(fields) = record else {
                return Err(Invalid(format!(
                    "el registro creado ({}) no es un objeto JSON",
                    kind_name(change.entity)
                )));
            };
            same_id(change.entity, change.id, fields.get("id"))?;
            bounded(record, 0, "")
        }
        Action::Update { fields } => {
            if let Some(id) = fields.get("id") {
                same_id(change.entity, change.id, Some(id))?;
            }
            for (name, value) in fields {
                bounded(value, 1, name)?;
            }
            if fields.len() > MAX_MEMBERS {
                return Err(too_many_members(""));
            }
            Ok(())
        }
    }
}

/// Checks a record (`None`: deleted) as it would be stored. `Ok` carries the unknown enum
/// values kept (`path: value`), for the log.
pub fn record(
    kind: EntityKind,
    id: Uuid,
    value: Option<&Map<String, Value>>,
) -> Result<Vec<String>, Invalid> {
    let Some(fields) = value else {
        return Ok(Vec::new());
    };
    same_id(kind, id, fields.get("id"))?;
    let value = Value::Object(fields.clone());
    bounded(&value, 0, "")?;
    let size = serde_json::to_vec(&value).map_or(usize::MAX, |b| b.len());
    if size > MAX_RECORD_BYTES {
        return Err(Invalid(format!(
            "el registro ocupa {size} bytes y el máximo es {MAX_RECORD_BYTES}"
        )));
    }
    decodes_as(kind, value)
}

/// Whether `value` decodes as `kind`, unknown enum values kept (see the module's note).
fn decodes_as(kind: EntityKind, value: Value) -> Result<Vec<String>, Invalid> {
    let mut scratch = value;
    let mut unknown = Vec::new();
    loop {
        let Err(error) = decode(kind, &scratch) else {
            return Ok(unknown);
        };
        let path = segments(&error);
        let Some((name, expected)) = unknown_variant(&error.inner().to_string()) else {
            return Err(not_a(kind, &error));
        };
        if unknown.len() >= MAX_UNKNOWN || expected.is_empty() {
            return Err(not_a(kind, &error));
        }
        // Try each known value in the unknown one's place; take the first with which the
        // decoding gets past this place (what is inside a tagged value must still fit).
        let mut replaced = false;
        for candidate in &expected {
            let mut attempt = scratch.clone();
            if !replace(&mut attempt, &path, &name, candidate) {
                break;
            }
            let past = match decode(kind, &attempt) {
                Ok(()) => true,
                Err(e) => {
                    let at = segments(&e);
                    !at.starts_with(&path)
                        || unknown_variant(&e.inner().to_string()).is_some_and(|(n, _)| n != name)
                }
            };
            if past {
                scratch = attempt;
                replaced = true;
                break;
            }
        }
        if !replaced {
            return Err(not_a(kind, &error));
        }
        unknown.push(format!("{}: {name}", error.path()));
    }
}

type DecodeError = serde_path_to_error::Error<serde_json::Error>;

fn decode(kind: EntityKind, value: &Value) -> Result<(), DecodeError> {
    fn as_<T: DeserializeOwned>(value: &Value) -> Result<(), DecodeError> {
        serde_path_to_error::deserialize::<_, T>(value).map(|_| ())
    }
    match kind {
        EntityKind::Person => as_::<Person>(value),
        EntityKind::Referral => as_::<Referral>(value),
        EntityKind::FollowUp => as_::<FollowUp>(value),
        EntityKind::CaseNote => as_::<CaseNote>(value),
        EntityKind::Provider => as_::<ServiceProvider>(value),
        EntityKind::User => as_::<User>(value),
        EntityKind::Audit => as_::<AuditEntry>(value),
    }
}

/// Where in the JSON an error is: object keys and list positions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn segments(error: &DecodeError) -> Vec<Step> {
    error
        .path()
        .iter()
        .filter_map(|s| match s {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// serde's words for an unknown variant — "unknown variant `x`, expected `a` or `b`" (or
/// "one of `a`, `b`, …") — as the unknown name and the known ones.
fn unknown_variant(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown variant `")?;
    let mut quoted = rest.split('`').step_by(2);
    let name = quoted.next()?.to_string();
    Some((name, quoted.map(str::to_string).collect()))
}

/// Puts `candidate` in place of the string `name` at `path`: the value there, or (a tagged
/// value) the member of the object there that holds it. False if there is no such string.
fn replace(value: &mut Value, path: &[Step], name: &str, candidate: &str) -> bool {
    let mut at = value;
    for step in path {
        let next = match (step, at) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k),
            (Step::Index(i), Value::Array(list)) => list.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        at = next;
    }
    match at {
        Value::String(s) if s == name => {
            *s = candidate.to_string();
            true
        }
        Value::Object(map) => match map.values_mut().find(|v| v.as_str() == Some(name)) {
            Some(tag) => {
                *tag = Value::String(candidate.to_string());
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// Every list, string and object in `value` within its bound, `depth` levels down at `path`.
fn bounded(value: &Value, depth: usize, path: &str) -> Result<(), Invalid> {
    if depth > MAX_DEPTH {
        return Err(Invalid(format!(
            "el registro tiene más de {MAX_DEPTH} niveles anidados (en «{path}»)"
        )));
    }
    match value {
        Value::String(s) if s.len() > MAX_STRING_BYTES => Err(Invalid(format!(
            "el texto de «{path}» ocupa {} bytes y el máximo es {MAX_STRING_BYTES}",
            s.len()
        ))),
        Value::Array(items) => {
            if items.len() > MAX_LIST_ITEMS {
                return Err(Invalid(format!(
                    "la lista «{path}» tiene {} elementos y el máximo es {MAX_LIST_ITEMS}",
                    items.len()
                )));
            }
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| bounded(item, depth + 1, &format!("{path}[{i}]")))
        }
        Value::Object(members) => {
            if members.len() > MAX_MEMBERS {
                return Err(too_many_members(path));
            }
            members.iter().try_for_each(|(key, member)| {
                if key.len() > 128 {
                    return Err(Invalid(format!(
                        "un nombre de campo en «{path}» pasa de 128 bytes"
                    )));
                }
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                bounded(member, depth + 1, &inner)
            })
        }
        _ => Ok(()),
    }
}

fn too_many_members(path: &str) -> Invalid {
    Invalid(format!(
        "un objeto {}tiene más de {MAX_MEMBERS} campos",
        if path.is_empty() {
            String::new()
        } else {
            format!("(«{path}») ")
        }
    ))
}

fn same_id(kind: EntityKind, id: Uuid, field: Option<&Value>) -> Result<(), Invalid> {
    let found = field.and_then(Value::as_str).map(Uuid::parse_str);
    match found {
        Some(Ok(found)) if found == id => Ok(()),
        Some(_) => Err(Invalid(format!(
            "el id del registro ({}) no es el de la operación ({id})",
            field.map(Value::to_string).unwrap_or_default()
        ))),
        None => Err(Invalid(format!(
            "el registro ({}) no dice su id",
            kind_name(kind)
        ))),
    }
}

fn not_a(kind: EntityKind, error: &DecodeError) -> Invalid {
    let path = error.path().to_string();
    let at = if path == "." || path.is_empty() {
        String::new()
    } else {
        format!(" en «{path}»")
    };
    Invalid(format!(
        "el registro no se puede leer como {}{at}: {}",
        kind_words(kind),
        error.inner()
    ))
}

fn kind_name(kind: EntityKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn kind_words(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Person => "ficha de persona",
        EntityKind::Referral => "referencia",
        EntityKind::FollowUp => "seguimiento",
        EntityKind::CaseNote => "nota",
        EntityKind::Provider => "proveedor",
        EntityKind::User => "usuario",
        EntityKind::Audit => "entrada de auditoría",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use reintegra_core::ids::PersonId;
    use serde_json::json;

    fn person() -> (Uuid, Map<String, Value>) {
        let id = Uuid::now_v7();
        let at = Utc
            .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
            .single()
            .unwrap();
        let p = Person::new(PersonId::new(id), "Rosa", "Pérez", at);
        let Value::Object(map) = serde_json::to_value(p).unwrap() else {
            unreachable!()
        };
        (id, map)
    }

    #[test]
    fn a_real_person_passes() {
        let (id, p) = person();
        assert_eq!(
            record(EntityKind::Person, id, Some(&p)),
            Ok(Vec::<String>::new())
        );
    }

    #[test]
    fn a_wrong_type_a_missing_field_and_another_id_are_refused() {
        let (id, mut p) = person();
        p.insert("sex".into(), json!(7));
        let e = record(EntityKind::Person, id, Some(&p)).unwrap_err();
        assert!(e.0.contains("«sex»"), "{e:?}");
        let (id, mut p) = person();
        p.remove("given_names");
        assert!(record(EntityKind::Person, id, Some(&p))
            .unwrap_err()
            .0
            .contains("given_names"));
        let (_, p) = person();
        assert!(record(EntityKind::Person, Uuid::now_v7(), Some(&p))
            .unwrap_err()
            .0
            .contains("no es el de la operación"));
        let (id, p) = person();
        assert!(
            record(EntityKind::Referral, id, Some(&p)).is_err(),
            "a person is no referral"
        );
    }

    #[test]
    fn unknown_enum_values_are_kept_and_the_rest_still_checked() {
        let (id, mut p) = person();
        p.insert("sex".into(), json!("intersex"));
        p.insert(
            "vulnerabilities".into(),
            json!(["pregnant", "climate_displaced"]),
        );
        let kept = record(EntityKind::Person, id, Some(&p)).unwrap();
        assert_eq!(
            kept,
            ["sex: intersex", "vulnerabilities[1]: climate_displaced"]
        );
        // An unknown value does not hide a broken one elsewhere.
        p.insert("phone".into(), json!(["not", "text"]));
        assert!(record(EntityKind::Person, id, Some(&p)).is_err());
        // A tagged value with an unknown tag whose content fits no known kind is refused.
        let (id, mut p) = person();
        p.insert("birth_date".into(), json!({"precision": "decade"}));
        assert!(record(EntityKind::Person, id, Some(&p)).is_err());
    }

    #[test]
    fn an_op_out_of_bounds_is_refused() {
        let (id, mut p) = person();
        p.insert(
            "skills".into(),
            Value::Array(vec![json!("x"); MAX_LIST_ITEMS + 1]),
        );
        let op_with = |record: Value| Op {
            op_id: Uuid::now_v7(),
            author: reintegra_core::ids::UserId::new(Uuid::now_v7()),
            device: reintegra_core::ids::DeviceId::new(Uuid::now_v7()),
            hlc: reintegra_core::hlc::Hlc {
                wall_ms: 1,
                counter: 0,
                node: 1,
            },
            base_seq: 0,
            change: reintegra_core::op::Change {
                entity: EntityKind::Person,
                id,
                action: Action::Create { record },
            },
        };
        let e = op(&op_with(Value::Object(p.clone()))).unwrap_err();
        assert!(e.0.contains("«skills»"), "{e:?}");
        p.insert("skills".into(), json!(["x".repeat(MAX_STRING_BYTES + 1)]));
        assert!(op(&op_with(Value::Object(p.clone()))).is_err());
        let mut deep = json!(1);
        for _ in 0..=MAX_DEPTH {
            deep = json!([deep]);
        }
        p.insert("skills".into(), deep);
        assert!(op(&op_with(Value::Object(p))).is_err());
        assert!(op(&op_with(json!(["not an object"]))).is_err());
    }
}
