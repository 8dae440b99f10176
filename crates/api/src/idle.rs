//! The idle lock, enforced in Rust (the UI's timer is only the first line): the UI says when
//! the person at the screen does something ([`Session::touch`], at most every few seconds),
//! and the app's clock thread asks [`Session::lock_if_idle`] twice a minute. A session nobody
//! has touched for the device's idle minutes is locked, like the lock button: a running sync
//! is cancelled and the keys leave memory.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::Session;

/// When the session was last used; `None` until the first touch or check after an unlock.
#[derive(Debug, Default)]
pub(crate) struct IdleClock {
    last: Mutex<Option<DateTime<Utc>>>,
}

impl IdleClock {
    fn with<T>(&self, f: impl FnOnce(&mut Option<DateTime<Utc>>) -> T) -> T {
        f(&mut self.last.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A lock: the next session starts its own count.
    pub(crate) fn reset(&self) {
        self.with(|last| *last = None);
    }
}

impl Session {
    /// The person at the screen did something (a key, the pointer). Nothing when locked.
    pub fn touch(&self, now: DateTime<Utc>) {
        if self.current().user.is_some() {
            self.idle_clock().with(|last| *last = Some(now));
        }
    }

    /// Locks the session if nobody touched it for `minutes`; returns whether it locked. The
    /// first check after an unlock starts the count.
    pub fn lock_if_idle(&self, now: DateTime<Utc>, minutes: u32) -> bool {
        if self.current().user.is_none() {
            self.idle_clock().reset();
            return false;
        }
        let idle = self.idle_clock().with(|last| match *last {
            None => {
                *last = Some(now);
                false
            }
            Some(at) => now - at >= Duration::minutes(i64::from(minutes.max(1))),
        });
        if idle {
            self.lock(now);
        }
        idle
    }
}
