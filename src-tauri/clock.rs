//! The app's clock. Always the system clock, except that `REINTEGRA_CLOCK_OFFSET_DAYS=N` moves it
//! N days (for E2E tests and training sessions: "overdue" can be shown without waiting days).

use chrono::{DateTime, Duration, Utc};

pub fn now() -> DateTime<Utc> {
    let offset = std::env::var("REINTEGRA_CLOCK_OFFSET_DAYS")
        .ok()
        .and_then(|days| days.trim().parse::<i64>().ok())
        .and_then(Duration::try_days)
        .unwrap_or_default();
    Utc::now() + offset
}
