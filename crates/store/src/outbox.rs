//! The outbox (ops waiting for the server, in commit order) and the change log behind "recent
//! changes": reading them, and acknowledging ops by position. The writes that fill both are
//! in `batch.rs` (local saves) and `migrate.rs`; `sync.rs` acknowledges and quarantines by id.

use reintegra_core::op::{EntityKind, Op};
use uuid::Uuid;

use crate::engine::Store;
use crate::error::{guarded, Error, Result};
use crate::layout::{
    be_u64, change_seq, opid_key, outbox_key, parse_change_entry, parse_outbox_key, OUTBOX_END,
    P_CHANGE, P_OUTBOX,
};

/// An operation waiting in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEntry {
    /// Position in the outbox (commit order).
    pub seq: u64,
    pub op: Op,
}

/// One entry of the "recent changes" list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecentChange {
    pub seq: u64,
    pub entity: EntityKind,
    pub id: Uuid,
}

impl Store {
    /// The most recently changed records (newest first), at most `limit`.
    pub fn recent_changes(&self, limit: usize) -> Result<Vec<RecentChange>> {
        guarded(|| {
            let mut out = Vec::new();
            for item in self.db.scan_prefix([P_CHANGE]).rev().take(limit) {
                let (key, value) = item?;
                let seq = change_seq(&key)?;
                let (entity, id) = parse_change_entry(&value)?;
                out.push(RecentChange { seq, entity, id });
            }
            Ok(out)
        })
    }

    /// The first `limit` ops of the outbox, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.outbox_after(0, limit)
    }

    /// The next `limit` ops of the outbox after position `seq` (exclusive), oldest first: to
    /// push in batches before the previous one is acknowledged.
    pub fn outbox_after(&self, seq: u64, limit: usize) -> Result<Vec<OutboxEntry>> {
        guarded(|| {
            let mut out = Vec::new();
            let from = outbox_key(seq.saturating_add(1), Uuid::nil());
            for item in self
                .db
                .range(from.as_slice()..OUTBOX_END.as_slice())
                .take(limit)
            {
                let (key, sealed) = item?;
                let (seq, _) = parse_outbox_key(&key)?;
                let plain = self.keys.open(&key, &sealed)?;
                let op: Op = serde_json::from_slice(&plain)
                    .map_err(|_| Error::Corrupt("an outbox entry does not read back".into()))?;
                out.push(OutboxEntry { seq, op });
            }
            Ok(out)
        })
    }

    /// How many ops wait in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.db.scan_prefix([P_OUTBOX]).count()
    }

    /// Acknowledges every op up to and including `op_id` (the server has them): they are
    /// removed from the outbox. Returns how many were removed.
    pub fn ack_through(&self, op_id: Uuid) -> Result<usize> {
        guarded(|| {
            let _w = self.write_lock();
            let seq = match self.db.get(opid_key(op_id))? {
                Some(v) => be_u64(&v)?,
                None => return Err(Error::UnknownOp(op_id)),
            };
            let mut batch = sled::Batch::default();
            let mut n = 0;
            let hi = outbox_key(seq, Uuid::max());
            for item in self.db.range([P_OUTBOX].as_slice()..=hi.as_slice()) {
                let (key, _) = item?;
                let (_, id) = parse_outbox_key(&key)?;
                batch.remove(key);
                batch.remove(&opid_key(id));
                n += 1;
            }
            self.db.apply_batch(batch)?;
            self.db.flush()?;
            Ok(n)
        })
    }
}
