//! What device and server must compute the same way to sync (`docs/sync.md`): which office
//! sees a record (its scope), and the state hash that tells two copies apart.
//!
//! A record hashes as `BLAKE3(kind code ‖ id ‖ canonical JSON)`; records group into 256 buckets
//! by the first byte of the id's BLAKE3; a bucket's hash is the BLAKE3 of its sorted record
//! hashes, and the state hash the BLAKE3 of the 256 bucket hashes. Canonical JSON has sorted
//! keys and no whitespace, whatever order the maps kept.

use serde_json::Value;
use uuid::Uuid;

use crate::op::EntityKind;
use crate::territory::Territory;

/// The office code of a device that sees every office (reception centers, supervisors).
pub const ALL_OFFICES: &str = "*";

/// Who may see a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A person: the municipality (`SV-…`) of the destination district ("" when unknown: only
    /// devices of every office see it).
    Office(String),
    /// A referral, follow-up or note: the scope of the person it belongs to.
    OfPerson(Uuid),
    /// Service providers and users: every device.
    Everyone,
    /// Audit entries go up to the server and never down to other devices.
    ServerOnly,
}

/// The scope of a record from its JSON.
pub fn scope_of(kind: EntityKind, record: &Value) -> Scope {
    match kind {
        EntityKind::Person => {
            let district = record
                .get("destination_district")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Scope::Office(
                Territory::el_salvador()
                    .office_of(district)
                    .unwrap_or_default()
                    .to_string(),
            )
        }
        EntityKind::Referral | EntityKind::FollowUp | EntityKind::CaseNote => record
            .get("person")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .map_or(Scope::Office(String::new()), Scope::OfPerson),
        EntityKind::Provider | EntityKind::User => Scope::Everyone,
        EntityKind::Audit => Scope::ServerOnly,
    }
}

/// Whether a device of `office` sees a record whose (resolved) office is `record_office`
/// (`None`: a record every device sees).
pub fn office_sees(office: &str, record_office: Option<&str>) -> bool {
    match record_office {
        None => true,
        Some(_) if office == ALL_OFFICES => true,
        Some(o) => o == office,
    }
}

/// JSON with sorted keys and no whitespace; a member whose value is `null` is left out (an
/// absent field and a `null` one are the same record: merges drop nulls, serde writes them).
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k)
                .collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Writing a scalar to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// The hash of one record.
pub fn record_hash(kind: EntityKind, id: Uuid, record: &Value) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[kind.code()]);
    hasher.update(id.as_bytes());
    hasher.update(&canonical_json(record));
    *hasher.finalize().as_bytes()
}

/// The bucket of a record id.
pub fn bucket_of(id: Uuid) -> u8 {
    blake3::hash(id.as_bytes()).as_bytes()[0]
}

/// Collects record hashes and gives the bucket and state hashes.
#[derive(Debug, Clone)]
pub struct StateHasher {
    buckets: Vec<Vec<[u8; 32]>>,
}

impl Default for StateHasher {
    fn default() -> Self {
        StateHasher {
            buckets: vec![Vec::new(); 256],
        }
    }
}

impl StateHasher {
    pub fn add(&mut self, id: Uuid, record_hash: [u8; 32]) {
        self.buckets[usize::from(bucket_of(id))].push(record_hash);
    }

    /// The 256 bucket hashes, hex.
    pub fn bucket_hashes(&self) -> Vec<String> {
        self.buckets
            .iter()
            .map(|hashes| {
                let mut sorted = hashes.clone();
                sorted.sort_unstable();
                let mut hasher = blake3::Hasher::new();
                for h in &sorted {
                    hasher.update(h);
                }
                hasher.finalize().to_hex().to_string()
            })
            .collect()
    }

    /// The state hash, hex.
    pub fn state_hash(&self) -> String {
        state_hash_of(&self.bucket_hashes())
    }
}

/// The state hash from the bucket hashes (hex).
pub fn state_hash_of(bucket_hashes: &[String]) -> String {
    let mut hasher = blake3::Hasher::new();
    for b in bucket_hashes {
        hasher.update(b.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": "é", "y": null}], "c": true}});
        assert_eq!(
            String::from_utf8(canonical_json(&a)).unwrap(),
            r#"{"a":{"c":true,"d":[1,{"z":"é"}]},"b":1}"#
        );
    }

    #[test]
    fn the_state_hash_ignores_insertion_order_and_sees_any_change() {
        let ids: Vec<Uuid> = (1..50).map(Uuid::from_u128).collect();
        let hash = |order: &[Uuid], tweak: Option<Uuid>| {
            let mut h = StateHasher::default();
            for id in order {
                let v = json!({"n": id.as_u128() + u128::from(Some(*id) == tweak)});
                h.add(*id, record_hash(EntityKind::Person, *id, &v));
            }
            h.state_hash()
        };
        let mut reversed = ids.clone();
        reversed.reverse();
        assert_eq!(hash(&ids, None), hash(&reversed, None));
        assert_ne!(hash(&ids, None), hash(&ids, Some(ids[7])));
        let mut h = StateHasher::default();
        h.add(ids[0], [1; 32]);
        assert_eq!(h.bucket_hashes().len(), 256);
    }

    #[test]
    fn scope_follows_the_destination_municipality() {
        let place = Territory::el_salvador().prioritized().next().unwrap();
        let person = json!({"destination_district": place.district_code});
        assert_eq!(
            scope_of(EntityKind::Person, &person),
            Scope::Office(place.municipality_code.clone())
        );
        let pid = Uuid::from_u128(5);
        assert_eq!(
            scope_of(EntityKind::Referral, &json!({"person": pid})),
            Scope::OfPerson(pid)
        );
        assert_eq!(scope_of(EntityKind::Provider, &json!({})), Scope::Everyone);
        assert!(office_sees("*", Some("SV-X")));
        assert!(office_sees("SV-X", None));
        assert!(!office_sees("SV-Y", Some("SV-X")));
    }
}
