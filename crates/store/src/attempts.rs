//! Failed unlocks: counted on disk (so a restart does not reset them) and answered with a
//! growing wait. The count and the time of the last failure are plain metadata — no login, no
//! personal data — stored under `m:failed`.

use crate::error::{Error, Result};
use crate::layout::now_ms;

const META_FAILED_UNLOCKS: &[u8] = b"m:failed";
/// Wrong passphrases allowed before any wait (typos happen).
const FREE_ATTEMPTS: u32 = 3;
/// The longest wait between two attempts.
const MAX_WAIT_MS: u64 = 5 * 60 * 1000;

/// How long the next attempt must wait after `failures` failures in a row.
pub fn wait_after(failures: u32) -> u64 {
    if failures < FREE_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16);
    (1000u64 << doublings).min(MAX_WAIT_MS)
}

/// Failures in a row and the time of the last one.
pub(crate) fn read(db: &sled::Db) -> Result<(u32, u64)> {
    Ok(match db.get(META_FAILED_UNLOCKS)? {
        Some(v) if v.len() == 12 => {
            let mut count = [0u8; 4];
            let mut at = [0u8; 8];
            count.copy_from_slice(&v[..4]);
            at.copy_from_slice(&v[4..]);
            (u32::from_be_bytes(count), u64::from_be_bytes(at))
        }
        _ => (0, 0),
    })
}

/// `TooManyAttempts` while the wait after the last failure is not over.
pub(crate) fn check(db: &sled::Db) -> Result<u32> {
    let (failures, last) = read(db)?;
    let ready_at = last.saturating_add(wait_after(failures));
    let now = now_ms();
    if now < ready_at {
        return Err(Error::TooManyAttempts {
            wait_secs: (ready_at - now).div_ceil(1000),
        });
    }
    Ok(failures)
}

pub(crate) fn record_failure(db: &sled::Db, failures_before: u32) -> Result<()> {
    let mut value = (failures_before.saturating_add(1)).to_be_bytes().to_vec();
    value.extend_from_slice(&now_ms().to_be_bytes());
    db.insert(META_FAILED_UNLOCKS, value)?;
    db.flush()?;
    Ok(())
}

pub(crate) fn reset(db: &sled::Db) -> Result<()> {
    db.remove(META_FAILED_UNLOCKS)?;
    db.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_and_is_bounded() {
        assert_eq!([0, 1, 2].map(wait_after), [0, 0, 0]);
        assert_eq!([3, 4, 5].map(wait_after), [1000, 2000, 4000]);
        assert_eq!(wait_after(40), MAX_WAIT_MS);
    }
}
