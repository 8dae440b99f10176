//! The app's clock: the system clock. Debug builds (E2E tests) also honour
//! `REINTEGRA_CLOCK_OFFSET_DAYS=N`, which moves it N days ("overdue" without waiting days); a
//! release build ignores it, so nobody can back-date audit entries or due dates in the field.

use chrono::{DateTime, Utc};

#[cfg(debug_assertions)]
pub fn now() -> DateTime<Utc> {
    let offset = std::env::var("REINTEGRA_CLOCK_OFFSET_DAYS")
        .ok()
        .and_then(|days| days.trim().parse::<i64>().ok())
        .and_then(chrono::Duration::try_days)
        .unwrap_or_default();
    Utc::now() + offset
}

#[cfg(not(debug_assertions))]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}
