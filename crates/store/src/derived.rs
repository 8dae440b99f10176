//! What the api derives from every person at unlock (its caseload row and duplicate-check
//! record), kept sealed next to the form so the next unlock reads a few hundred bytes per
//! person instead of opening every whole form.
//!
//! A derived value is a local cache, never synced and never a source of truth: it is stamped
//! with a hash of the form's stored (sealed) bytes, which change at every write of the form
//! whatever wrote it (a save, a pull, a repair, a migration), and used only while the stamp
//! still matches; otherwise the form is opened, the value derived again and written back. So
//! no write path has to remember it, and a crash between the two writes costs only a
//! re-derivation. Deleting a person deletes its value too (batch.rs), so an erased person
//! leaves nothing behind here.

use reintegra_core::person::Person;
use uuid::Uuid;

use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::layout::{derived_key, parse_record_key};

/// Bytes of the stamp (a BLAKE3 of the form's sealed value).
const STAMP: usize = 16;

fn stamp_of(sealed_form: &[u8]) -> [u8; STAMP] {
    let mut stamp = [0u8; STAMP];
    stamp.copy_from_slice(&blake3::hash(sealed_form).as_bytes()[..STAMP]);
    stamp
}

/// One person's derived value, and its sealed copy to write back when it was derived anew.
struct Derived<T> {
    value: T,
    write_back: Option<([u8; 17], Vec<u8>)>,
}

impl Store {
    /// `read` of every person's derived value, in the order of [`Store::persons`], on every
    /// core. A person whose value is missing or stale (or that `read` no longer understands,
    /// after an upgrade) is opened and `derive`d, and the new value is kept for next time.
    pub fn map_derived_persons<T: Send>(
        &self,
        derive: impl Fn(&Person) -> Vec<u8> + Sync,
        read: impl Fn(&[u8]) -> Option<T> + Sync,
    ) -> Result<Vec<T>> {
        let derived = self.map_sealed_persons(|key, sealed| {
            let (_, id) = parse_record_key(key)?;
            let dkey = derived_key(id);
            let stamp = stamp_of(sealed);
            if let Some(kept) = self.db.get(dkey)? {
                let plain = self.keys.open(&dkey, &kept)?;
                if plain.get(..STAMP) == Some(&stamp[..]) {
                    if let Some(value) = plain.get(STAMP..).and_then(&read) {
                        return Ok(Derived {
                            value,
                            write_back: None,
                        });
                    }
                }
            }
            let bytes = derive(&self.open_person(key, sealed)?);
            let value = read(&bytes)
                .ok_or_else(|| Error::Invalid("a derived value does not read back".to_string()))?;
            let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(STAMP + bytes.len()));
            plain.extend_from_slice(&stamp);
            plain.extend_from_slice(&bytes);
            Ok(Derived {
                value,
                write_back: Some((dkey, self.keys.seal(&dkey, &plain)?)),
            })
        })?;
        let mut batch = sled::Batch::default();
        let mut fresh = 0usize;
        let values = derived
            .into_iter()
            .map(|d| {
                if let Some((key, sealed)) = d.write_back {
                    batch.insert(&key[..], sealed);
                    fresh += 1;
                }
                d.value
            })
            .collect();
        if fresh > 0 {
            // A cache: no flush awaited, a lost write is only derived again.
            guarded(|| Ok(self.db.apply_batch(batch)?))?;
        }
        Ok(values)
    }

    /// Whether `person` has a derived value kept (tests: erasing leaves none).
    pub fn has_derived(&self, person: Uuid) -> Result<bool> {
        guarded(|| Ok(self.db.contains_key(derived_key(person))?))
    }
}
