//! Which records a device sees and may write, by office. The rule itself is core's
//! [`sync_state::office_sees`]; [`VISIBLE`] is the same rule in SQL (for queries that filter by
//! office), plus the server-only records no device pulls. A test runs [`VISIBLE`] on SQLite
//! against `office_sees` for every pair of offices.

use reintegra_core::sync_state;

/// The office of records no device pulls (audit entries).
pub(super) const SERVER_ONLY: &str = "!";

/// Rows visible to a device of office `?1`: its office, records every device sees, and for
/// `*` everything but server-only records.
pub(super) const VISIBLE: &str = "(office IS NULL OR office = ?1 OR (?1 = '*' AND office <> '!'))";

/// Whether a device of `office` may push ops on a record of `record_office`: the records it
/// sees, and records only the server keeps (every device sends its own audit trail up).
pub(super) fn may_write(office: &str, record_office: Option<&str>) -> bool {
    record_office == Some(SERVER_ONLY) || sync_state::office_sees(office, record_office)
}
