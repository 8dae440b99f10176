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

#[cfg(test)]
mod tests {
    use reintegra_core::sync_state::{office_sees, ALL_OFFICES};
    use reintegra_core::territory::Territory;
    use sqlx::sqlite::SqlitePoolOptions;
    use sqlx::Row;

    use super::{may_write, SERVER_ONLY, VISIBLE};
    use crate::db::{valid_office, SCHEMA};

    /// What a device of `office` pulls, said in Rust: core's rule, except that no device pulls
    /// server-only records.
    fn sees(office: &str, record_office: Option<&str>) -> bool {
        record_office != Some(SERVER_ONLY) && office_sees(office, record_office)
    }

    /// The tables queried with [`VISIBLE`], and how to put a row of a given office in each.
    const TABLES: [(&str, &str); 3] = [
        (
            "records",
            "INSERT INTO records (kind, id, office, bucket, state) VALUES (0, ?1, ?2, 0, '{}')",
        ),
        (
            "ops",
            "INSERT INTO ops (seq, op_id, device, office, echo) VALUES (?1, ?1, 'd', ?2, 0)",
        ),
        (
            "conflicts",
            "INSERT INTO conflicts (id, kind, record_id, office, body) VALUES (?1, 0, ?1, ?2, '{}')",
        ),
    ];

    /// Every (device office × row office) pair, run through the server's real SQL predicate
    /// on SQLite with the server's schema, agrees with core's `office_sees` plus the
    /// server-only rule.
    #[tokio::test]
    async fn the_sql_predicate_is_cores_office_rule() {
        let municipalities: Vec<String> = Territory::el_salvador()
            .departments()
            .iter()
            .flat_map(|d| &d.municipalities)
            .map(|m| m.code.clone())
            .take(3)
            .collect();
        let [a, b, c] = &municipalities[..] else {
            panic!("the territory has fewer than 3 municipalities");
        };
        // The offices a device can enroll with: every office, and two municipalities.
        let devices = [ALL_OFFICES, a.as_str(), b.as_str()];
        // The offices the server gives rows (`office_of`): everyone (NULL), a case with no
        // known municipality (""), server-only audit entries, and municipalities, one of
        // which no device has.
        let rows = [
            None,
            Some(""),
            Some(SERVER_ONLY),
            Some(a.as_str()),
            Some(b.as_str()),
            Some(c.as_str()),
        ];
        for office in devices {
            assert!(
                valid_office(office),
                "{office} is an office a device may have"
            );
        }

        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        let mut disagreements = Vec::new();
        let mut pairs = 0;
        for (table, insert) in TABLES {
            for (n, office) in rows.iter().enumerate() {
                sqlx::query(insert)
                    .bind(n as i64 + 1)
                    .bind(*office)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            for device in devices {
                let sql = format!("SELECT office FROM {table} WHERE {VISIBLE}");
                let seen: Vec<Option<String>> = sqlx::query(&sql)
                    .bind(device)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.get(0))
                    .collect();
                for office in rows {
                    pairs += 1;
                    let by_sql = seen.iter().any(|s| s.as_deref() == office);
                    let by_core = sees(device, office);
                    if by_sql != by_core {
                        disagreements.push(format!(
                            "{table}: device {device:?}, row {office:?}: SQL {by_sql}, core {by_core}"
                        ));
                    }
                }
            }
        }
        assert_eq!(pairs, TABLES.len() * devices.len() * rows.len());
        assert!(
            disagreements.is_empty(),
            "VISIBLE disagrees with office_sees:\n{}",
            disagreements.join("\n")
        );
    }

    /// A device may write every row it sees, and besides those only server-only rows (its own
    /// audit trail goes up, never down).
    #[test]
    fn a_device_writes_what_it_sees_and_its_audit_trail() {
        let a = "SV-AH-norte";
        for device in [ALL_OFFICES, a, "SV-AH-centro"] {
            for row in [
                None,
                Some(""),
                Some(SERVER_ONLY),
                Some(a),
                Some("SV-AH-centro"),
            ] {
                let (write, see) = (may_write(device, row), sees(device, row));
                assert!(!see || write, "{device} sees {row:?} but may not write it");
                assert!(
                    see || !write || row == Some(SERVER_ONLY),
                    "{device} may write {row:?} without seeing it"
                );
            }
        }
        assert!(!sees(ALL_OFFICES, Some(SERVER_ONLY)));
        assert!(may_write(ALL_OFFICES, Some(SERVER_ONLY)));
        assert!(may_write(a, Some(SERVER_ONLY)));
    }
}
