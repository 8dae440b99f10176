//! Whole records for the server's test harnesses: the server refuses a record that does not
//! decode as its kind (`reintegra_server::validate`), so a harness that writes only the fields
//! its test is about fills in the rest from a template of the kind here.

#![allow(dead_code)]

use serde_json::{json, Map, Value};
use uuid::Uuid;

/// The record of `kind` (as the wire names it: `person`, `referral`, …) with id `id`: a
/// template of the kind with `partial`'s fields over it (objects merged member by member).
pub fn full(kind: &str, id: Uuid, partial: &Value) -> Value {
    let mut record = template(kind, id, partial);
    overlay(&mut record, partial);
    if let Value::Object(map) = &mut record {
        map.insert("id".into(), json!(id));
    }
    record
}

fn template(kind: &str, id: Uuid, partial: &Value) -> Value {
    let at = "2026-12-01T10:00:00Z";
    let person = partial.get("person").cloned().unwrap_or(json!(Uuid::nil()));
    let somebody = json!(Uuid::nil());
    match kind {
        "person" => json!({
            "id": id, "beneficiary_type": "returned_migrant", "first_contact": "reception_center",
            "given_names": "", "first_surname": "", "second_surname": "", "sex": null,
            "birth_date": null, "dui": null, "other_document": null, "phone": "",
            "origin_district": "", "destination_district": "", "education": null,
            "occupation": "", "skills": [], "household_notes": "", "family_group": null,
            "caseworker": null, "return_events": [], "vulnerabilities": [], "consents": [],
            "plan": null, "status": {"state": "open"}, "created_at": at, "updated_at": at
        }),
        "referral" => json!({
            "id": id, "person": person, "service_type": "psychosocial", "provider": null,
            "priority": "normal", "reason": "", "entrepreneurship": null, "history": []
        }),
        "follow_up" => json!({
            "id": id, "person": person, "referral": null, "due_on": "2026-12-10",
            "channel": "phone", "assigned_to": null, "done_on": null, "outcome": ""
        }),
        "case_note" => json!({
            "id": id, "person": person, "text": "", "author": somebody, "at": at,
            "sensitive": false
        }),
        "provider" => json!({
            "id": id, "name": "Proveedor", "institution": "", "service_types": [],
            "municipalities_served": [], "contact": {"person": "", "phone": "", "email": ""},
            "required_fields": [], "example": false
        }),
        "user" => json!({
            "id": id, "name": "Usuario", "role": "caseworker", "office_municipality": null,
            "active": true
        }),
        "audit" => json!({
            "id": id, "at": at, "user": somebody, "device": null, "action": "update",
            "entity": {"kind": "person", "id": Uuid::nil()}, "changed_fields": [], "summary": ""
        }),
        _ => Value::Object(Map::new()),
    }
}

fn overlay(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(slot @ Value::Object(_)) if value.is_object() => overlay(slot, value),
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

/// A person's return event with id `id`.
pub fn return_event(id: Uuid) -> Value {
    json!({
        "id": id, "date": "2026-11-30", "modality": "air", "country_from": "US",
        "reception_center": "gami", "custody_days": null, "travelled": "alone",
        "assistance": [], "assistance_notes": ""
    })
}
