//! Typed API (being written).

use reintegra_core::op::EntityKind;

use crate::engine::IndexKey;
use crate::error::Result;

/// The index entries of a record given as JSON (used by migrations).
pub(crate) fn index_keys_of(_kind: EntityKind, _json: &serde_json::Value) -> Result<Vec<IndexKey>> {
    Ok(Vec::new())
}
