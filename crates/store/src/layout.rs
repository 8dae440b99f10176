//! The on-disk layout: every key of the store's one sled tree is built and parsed here, and a
//! record's value has one codec ([`seal_record`] / [`open_record`]). No other module assembles
//! a key or a record value by hand; they use these builders and the prefix constants.
//!
//! Key layout (one tree; the first byte is the prefix):
//!
//! | key | value |
//! |---|---|
//! | `m:…` | metadata, no personal data (schema version, store id, slot salt, device, HLC, sequence, pull cursor, index generation, last sync); `m:sync`: the sync settings, sealed |
//! | `k` + keyed hash of the login (32) | a user's wrapped data key (`KeySlot`, JSON; see `keyring.rs`) |
//! | `r` + kind (1) + id (16) | sealed `seq (8) ‖ record JSON` |
//! | `s` + kind (1) + id (16) | the record's index summary: keyed hashes / non-personal range values (see `index.rs`) |
//! | `o` + seq (8) + op id (16) | sealed `Op` JSON (the outbox, in commit order) |
//! | `p` + op id (16) | seq (8), to acknowledge by op id |
//! | `c` + seq (8) | kind (1) + id (16): the change log behind "recent changes" |
//! | `q` + op id (16) | sealed `Quarantined` JSON: an op the server refused (see `sync.rs`) |
//!
//! A record's `seq` is its position in the change log (`c` + seq), so rewriting a record
//! removes its old change-log entry.

use reintegra_core::op::EntityKind;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::Keys;
use crate::error::{Error, Result};

/// The schema version this code writes. Older stores are migrated at unlock; newer are refused.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) const META_SCHEMA: &[u8] = b"m:schema";
pub(crate) const META_STORE_ID: &[u8] = b"m:store_id";
pub(crate) const META_SLOT_SALT: &[u8] = b"m:slot_salt";
pub(crate) const META_DEVICE: &[u8] = b"m:device";
pub(crate) const META_HLC: &[u8] = b"m:hlc";
pub(crate) const META_SEQ: &[u8] = b"m:seq";
pub(crate) const META_PULL: &[u8] = b"m:pull";
pub(crate) const META_SYNC: &[u8] = b"m:sync";
pub(crate) const META_LAST_SYNC: &[u8] = b"m:lastsync";
pub(crate) const META_INDEX_GENERATION: &[u8] = b"m:ixgen";
/// The server's id (16 bytes) and epoch (u64 BE) as of the last pull (`identity.rs`).
pub(crate) const META_SERVER: &[u8] = b"m:server";

pub(crate) const P_SLOT: u8 = b'k';
pub(crate) const P_RECORD: u8 = b'r';
pub(crate) const P_SUMMARY: u8 = b's';
pub(crate) const P_OUTBOX: u8 = b'o';
pub(crate) const P_OPID: u8 = b'p';
pub(crate) const P_CHANGE: u8 = b'c';
pub(crate) const P_QUARANTINE: u8 = b'q';

/// The first key after the outbox (an exclusive range end).
pub(crate) const OUTBOX_END: [u8; 1] = [P_OUTBOX + 1];

/// Milliseconds since the epoch (the physical part of new HLCs).
pub(crate) fn now_ms() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(now.as_millis()).unwrap_or(u64::MAX)
}

pub(crate) use reintegra_core::hlc::node_of;

fn kind_id_key(prefix: u8, kind: EntityKind, id: Uuid) -> Vec<u8> {
    let mut k = Vec::with_capacity(18);
    k.push(prefix);
    k.push(kind.code());
    k.extend_from_slice(id.as_bytes());
    k
}

/// `r` + kind + id: a sealed record.
pub(crate) fn record_key(kind: EntityKind, id: Uuid) -> Vec<u8> {
    kind_id_key(P_RECORD, kind, id)
}

/// The prefix of every record of a kind.
pub(crate) fn record_prefix(kind: EntityKind) -> [u8; 2] {
    [P_RECORD, kind.code()]
}

/// The kind and id of a record key.
pub(crate) fn parse_record_key(key: &[u8]) -> Result<(EntityKind, Uuid)> {
    let bad = || Error::Corrupt("bad record key".into());
    let kind = key
        .get(1)
        .and_then(|c| EntityKind::from_code(*c))
        .ok_or_else(bad)?;
    let id = Uuid::from_slice(key.get(2..).unwrap_or_default()).map_err(|_| bad())?;
    Ok((kind, id))
}

/// `s` + kind + id: a record's index summary.
pub(crate) fn summary_key(kind: EntityKind, id: Uuid) -> Vec<u8> {
    kind_id_key(P_SUMMARY, kind, id)
}

/// The record id of a summary key.
pub(crate) fn summary_id(key: &[u8]) -> Result<Uuid> {
    key.get(2..)
        .and_then(|b| Uuid::from_slice(b).ok())
        .ok_or_else(|| Error::Corrupt("a damaged index key".into()))
}

/// `k` + the keyed hash of a login: its key slot.
pub(crate) fn slot_key(login_hash: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(P_SLOT);
    k.extend_from_slice(login_hash);
    k
}

/// `c` + seq: a change-log entry.
pub(crate) fn change_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = P_CHANGE;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The seq of a change-log key.
pub(crate) fn change_seq(key: &[u8]) -> Result<u64> {
    be_u64(key.get(1..).unwrap_or_default())
}

/// A change-log entry's value: which record changed.
pub(crate) fn change_entry(kind: EntityKind, id: Uuid) -> [u8; 17] {
    let mut v = [0u8; 17];
    v[0] = kind.code();
    v[1..].copy_from_slice(id.as_bytes());
    v
}

/// The record a change-log entry names.
pub(crate) fn parse_change_entry(value: &[u8]) -> Result<(EntityKind, Uuid)> {
    let kind = value
        .first()
        .and_then(|c| EntityKind::from_code(*c))
        .ok_or_else(|| Error::Corrupt("bad change-log entry".into()))?;
    Ok((kind, uuid_at(value.get(1..).unwrap_or_default())?))
}

/// `o` + seq + op id: an op in the outbox.
pub(crate) fn outbox_key(seq: u64, op_id: Uuid) -> [u8; 25] {
    let mut k = [0u8; 25];
    k[0] = P_OUTBOX;
    k[1..9].copy_from_slice(&seq.to_be_bytes());
    k[9..].copy_from_slice(op_id.as_bytes());
    k
}

/// The seq and op id of an outbox key.
pub(crate) fn parse_outbox_key(key: &[u8]) -> Result<(u64, Uuid)> {
    Ok((
        be_u64(key.get(1..9).unwrap_or_default())?,
        uuid_at(key.get(9..).unwrap_or_default())?,
    ))
}

/// `p` + op id: where an op is in the outbox.
pub(crate) fn opid_key(op_id: Uuid) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = P_OPID;
    k[1..].copy_from_slice(op_id.as_bytes());
    k
}

/// `q` + op id: a quarantined op.
pub(crate) fn quarantine_key(op_id: Uuid) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = P_QUARANTINE;
    k[1..].copy_from_slice(op_id.as_bytes());
    k
}

pub(crate) fn be_u64(bytes: &[u8]) -> Result<u64> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| Error::Corrupt("bad counter".into()))?;
    Ok(u64::from_be_bytes(arr))
}

pub(crate) fn uuid_at(bytes: &[u8]) -> Result<Uuid> {
    Uuid::from_slice(bytes).map_err(|_| Error::Corrupt("bad id in a key".into()))
}

/// The schema version on disk (0: the first prototype wrote none).
pub(crate) fn read_schema(db: &sled::Db) -> Result<u32> {
    match db.get(META_SCHEMA)? {
        None => Ok(0),
        Some(v) => {
            let arr: [u8; 4] = v
                .as_ref()
                .try_into()
                .map_err(|_| Error::Corrupt("bad schema version".into()))?;
            Ok(u32::from_be_bytes(arr))
        }
    }
}

/// A meta value of exactly `N` bytes; missing or another length is damage.
pub(crate) fn read_fixed<const N: usize>(db: &sled::Db, key: &[u8], what: &str) -> Result<[u8; N]> {
    let v = db
        .get(key)?
        .ok_or_else(|| Error::Corrupt(format!("missing {what}")))?;
    v.as_ref()
        .try_into()
        .map_err(|_| Error::Corrupt(format!("bad {what}")))
}

/// A record's stored value: `seq (8) ‖ json`, sealed under its key `key`.
pub(crate) fn seal_record(keys: &Keys, key: &[u8], seq: u64, json: &[u8]) -> Result<Vec<u8>> {
    let mut plain = Zeroizing::new(Vec::with_capacity(8 + json.len()));
    plain.extend_from_slice(&seq.to_be_bytes());
    plain.extend_from_slice(json);
    keys.seal(key, &plain)
}

/// Opens a record's stored value: its change-log seq and its JSON bytes.
pub(crate) fn open_record(
    keys: &Keys,
    key: &[u8],
    sealed: &[u8],
) -> Result<(u64, Zeroizing<Vec<u8>>)> {
    let mut plain = keys.open(key, sealed)?;
    if plain.len() < 8 {
        return Err(Error::Corrupt("a record is truncated".into()));
    }
    let seq = be_u64(&plain[..8])?;
    // In place: the buffer (spare capacity included) is zeroized when dropped.
    plain.drain(..8);
    Ok((seq, plain))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crypto::random_secret;

    #[test]
    fn keys_parse_back() {
        let id = Uuid::now_v7();
        let op = Uuid::now_v7();
        let rkey = record_key(EntityKind::Referral, id);
        assert_eq!(rkey[..2], record_prefix(EntityKind::Referral));
        assert_eq!(parse_record_key(&rkey).unwrap(), (EntityKind::Referral, id));
        assert!(parse_record_key(&rkey[..17]).is_err());
        assert_eq!(
            summary_id(&summary_key(EntityKind::Person, id)).unwrap(),
            id
        );
        assert_eq!(change_seq(&change_key(42)).unwrap(), 42);
        assert_eq!(
            parse_change_entry(&change_entry(EntityKind::Audit, id)).unwrap(),
            (EntityKind::Audit, id)
        );
        assert_eq!(parse_outbox_key(&outbox_key(7, op)).unwrap(), (7, op));
        assert!(outbox_key(u64::MAX, Uuid::max()).as_slice() < OUTBOX_END.as_slice());
        assert_eq!(slot_key(&[3; 32]).len(), 33);
    }

    #[test]
    fn a_record_value_round_trips_and_stays_bound_to_its_key() {
        let keys = Keys::new(random_secret());
        let key = record_key(EntityKind::Person, Uuid::now_v7());
        let sealed = seal_record(&keys, &key, 9, br#"{"a":1}"#).unwrap();
        let (seq, json) = open_record(&keys, &key, &sealed).unwrap();
        assert_eq!((seq, json.as_slice()), (9, br#"{"a":1}"#.as_slice()));
        let other = record_key(EntityKind::Person, Uuid::now_v7());
        assert!(open_record(&keys, &other, &sealed).is_err());
        let short = keys.seal(&key, b"1234").unwrap();
        assert!(open_record(&keys, &key, &short).is_err());
    }
}
