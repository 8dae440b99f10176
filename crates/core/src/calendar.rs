//! The calendar of the program: dates on the form are days in El Salvador.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// El Salvador keeps UTC−6 all year (no daylight saving time).
const SV_OFFSET_SECONDS: i32 = -6 * 3600;

/// The calendar day in El Salvador at `now`: what "today" means for dates on the form.
pub fn today_in_el_salvador(now: DateTime<Utc>) -> NaiveDate {
    match FixedOffset::east_opt(SV_OFFSET_SECONDS) {
        Some(offset) => now.with_timezone(&offset).date_naive(),
        None => now.date_naive(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_day_turns_at_six_in_the_morning_utc() {
        let at = |h| {
            Utc.with_ymd_and_hms(2026, 12, 1, h, 30, 0)
                .single()
                .unwrap_or_default()
        };
        assert_eq!(
            today_in_el_salvador(at(5)),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
        );
        assert_eq!(
            today_in_el_salvador(at(6)),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
        );
    }
}
