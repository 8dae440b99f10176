//! A resumed push (issue 20, item 9): the device notes how far into the outbox it has sent
//! (before each batch goes out), so after a cut sync it knows which ops the server may have
//! applied without the device hearing of it, and asks about those instead of sending them
//! again.

use crate::engine::Store;
use crate::error::{guarded, Result};
use crate::layout::be_u64;
use crate::outbox::OutboxEntry;

/// The outbox position up to which ops have been sent at least once.
const META_SENT: &[u8] = b"m:sent";

impl Store {
    /// Notes that the outbox up to position `seq` has been sent (it only grows).
    pub fn mark_sent(&self, seq: u64) -> Result<()> {
        guarded(|| {
            let _w = self.write_lock();
            if self.sent_up_to()? >= seq {
                return Ok(());
            }
            self.set_meta(META_SENT, &seq.to_be_bytes())
        })
    }

    /// The ops still in the outbox that were sent before (their answer was never read).
    pub fn sent_unacknowledged(&self) -> Result<Vec<OutboxEntry>> {
        let up_to = self.sent_up_to()?;
        if up_to == 0 {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.outbox_after(after, 4000)?;
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            let done = last >= up_to;
            out.extend(page.into_iter().filter(|e| e.seq <= up_to));
            if done {
                break;
            }
            after = last;
        }
        Ok(out)
    }

    fn sent_up_to(&self) -> Result<u64> {
        self.meta(META_SENT)?
            .map(|b| be_u64(&b))
            .transpose()
            .map(|s| s.unwrap_or(0))
    }
}
