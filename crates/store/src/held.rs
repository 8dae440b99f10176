//! Pulled records this build cannot read, held aside verbatim (H5).
//!
//! A record the server sends that does not decode as its kind — an enum value a newer version
//! added, a record a broken device stored before the server checked what it stores — must not
//! stop the pull (the cursor would never move again) and must not be lost or rewritten. So
//! the store's `apply_remote` keeps it here, sealed like every record, with
//! why, and goes on: the local copy (if any) stays as it was and readable; later pulled changes
//! of that record apply to the held JSON; the state hash counts the held JSON (it is what the
//! server has, so a held record does not make the device repair every sync). When the record
//! reads again — a later change fixed it, or this build was upgraded — it leaves the hold and
//! becomes a record like any other ([`Store::retry_held`], at every sync).

use std::collections::HashMap;

use reintegra_core::op::{Action, Change, EntityKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::engine::Store;
use crate::error::{guarded, Error, Result};

/// Key prefix of held records (the next free one of `layout`'s prefixes).
pub(crate) const P_HELD: u8 = b'h';

/// A pulled record this build cannot read, as the server sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Held {
    pub entity: EntityKind,
    pub id: Uuid,
    pub record: Value,
    /// Why it does not read (the decoder's words).
    pub reason: String,
}

pub(crate) fn held_key(entity: EntityKind, id: Uuid) -> [u8; 18] {
    let mut k = [0u8; 18];
    k[0] = P_HELD;
    k[1] = entity.code();
    k[2..].copy_from_slice(id.as_bytes());
    k
}

impl Store {
    /// The held records, by kind and id.
    pub fn held(&self) -> Result<Vec<Held>> {
        guarded(|| {
            let mut out = Vec::new();
            for item in self.db.scan_prefix([P_HELD]) {
                let (key, sealed) = item?;
                let held: Held = serde_json::from_slice(&self.keys.open(&key, &sealed)?)
                    .map_err(|_| Error::Corrupt("a held record does not read back".into()))?;
                out.push(held);
            }
            Ok(out)
        })
    }

    /// How many records are held.
    pub fn held_len(&self) -> usize {
        self.db.scan_prefix([P_HELD]).count()
    }

    /// The held records as a map (empty, and no reading, when there are none: the usual case).
    pub(crate) fn held_map(&self) -> Result<HashMap<(EntityKind, Uuid), Value>> {
        Ok(self
            .held()?
            .into_iter()
            .map(|h| ((h.entity, h.id), h.record))
            .collect())
    }

    /// The sealed entry of a held record.
    pub(crate) fn seal_held(&self, held: &Held) -> Result<([u8; 18], Vec<u8>)> {
        let key = held_key(held.entity, held.id);
        let plain =
            Zeroizing::new(serde_json::to_vec(held).map_err(|e| Error::Invalid(e.to_string()))?);
        Ok((key, self.keys.seal(&key, &plain)?))
    }

    /// Tries every held record again (this build may read it now): one that reads becomes a
    /// record like any other, the rest stay held. Returns how many left the hold.
    pub fn retry_held(&self) -> Result<usize> {
        let held = self.held()?;
        if held.is_empty() {
            return Ok(0);
        }
        let before = held.len();
        let changes = held
            .into_iter()
            .map(|h| Change {
                entity: h.entity,
                id: h.id,
                action: Action::Create { record: h.record },
            })
            .collect();
        self.apply_remote(changes, None, None)?;
        Ok(before.saturating_sub(self.held_len()))
    }
}
