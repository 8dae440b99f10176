//! Unlock returns as soon as the keys are open: reading every person's case (seconds, for a
//! large office) goes on behind the screen on a thread of its own. While it runs, the caseload
//! waits a moment for it ([`PARTIAL_AFTER`]: a small office's read ends well within that) and
//! then answers from the cases read so far, saying how far the read got ([`CasesRead`]);
//! everything else that needs the cases waits for the read to end. Locking waits for it too,
//! so no personal data outlives the session on that thread.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use reintegra_store::Store;
use serde::Serialize;
use ts_rs::TS;

use crate::cases::{CaseSummary, Cases, ReadSoFar};
use crate::services::Services;
use crate::Result;

/// How long the caseload waits for the read before it answers with part of the cases.
pub(crate) const PARTIAL_AFTER: Duration = Duration::from_millis(300);

/// How far the read of every case has got (for "Cargando casos: 40 000 de 100 000").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub struct CasesRead {
    pub read: u32,
    pub total: u32,
}

/// The in-memory cases of an unlocked session: still being read, or all there.
pub(crate) enum CaseMemory {
    Reading(Reading),
    Ready(Box<Cases>),
}

pub(crate) struct Reading {
    shared: Arc<Shared>,
    /// `None` only while [`CaseMemory::settle`] takes the result.
    handle: Option<JoinHandle<Result<Cases>>>,
}

/// What the reading thread shares with the session.
struct Shared {
    so_far: ReadSoFar,
    total: usize,
    /// Set (and waiters woken) when the read has ended, however it ended.
    ended: Mutex<bool>,
    wake: Condvar,
}

/// A way to wait for the read to end without holding the session.
pub(crate) struct ReadEnd(Arc<Shared>);

impl ReadEnd {
    pub fn wait(&self) {
        let mut ended = lock(&self.0.ended);
        while !*ended {
            ended = self
                .0
                .wake
                .wait(ended)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Waits at most `limit` for the read to end.
    pub fn wait_at_most(&self, limit: Duration) {
        let ended = lock(&self.0.ended);
        let _ = self
            .0
            .wake
            .wait_timeout_while(ended, limit, |ended| !*ended);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Marks the read ended when the reading thread leaves, even by a panic.
struct EndOnDrop(Arc<Shared>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        *lock(&self.0.ended) = true;
        self.0.wake.notify_all();
    }
}

impl CaseMemory {
    /// Starts reading every person of `store` on a thread of its own.
    pub fn read_in_background(store: Arc<Store>) -> CaseMemory {
        let total = store.person_count();
        let shared = Arc::new(Shared {
            so_far: ReadSoFar::with_capacity(total),
            total,
            ended: Mutex::new(false),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let handle = std::thread::spawn(move || {
            let _end = EndOnDrop(thread_shared.clone());
            let mut cases = Cases::load(&store, &thread_shared.so_far)?;
            // The referrals and follow-ups only once the caseload is whole.
            cases.services = Services::in_background(store);
            Ok(cases)
        });
        CaseMemory::Reading(Reading {
            shared,
            handle: Some(handle),
        })
    }

    /// A way to wait for the read to end, while it runs; `None` once it has ended (or the
    /// cases are all there).
    pub fn still_reading(&self) -> Option<ReadEnd> {
        match self {
            CaseMemory::Reading(r) if !*lock(&r.shared.ended) => Some(ReadEnd(r.shared.clone())),
            _ => None,
        }
    }

    /// All the cases, waiting for the read if it still runs; the error that stopped the read,
    /// if one did (the cases are then empty, and the caller should lock).
    pub fn settle(&mut self) -> Result<&mut Cases> {
        if let CaseMemory::Reading(reading) = self {
            let read = match reading.handle.take() {
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => Ok(Cases::default()),
            };
            // A failed read leaves no cases (the caller locks).
            *self = CaseMemory::Ready(Box::default());
            *self = CaseMemory::Ready(Box::new(read?));
        }
        match self {
            CaseMemory::Ready(cases) => Ok(cases),
            CaseMemory::Reading(_) => unreachable!("settled just above"),
        }
    }

    /// Runs `f` on the cases there are now: all of them, or those read so far with how far
    /// the read has got.
    pub fn so_far<T>(
        &mut self,
        f: impl FnOnce(&[CaseSummary], Option<CasesRead>) -> T,
    ) -> Result<T> {
        if let CaseMemory::Reading(r) = self {
            let shared = r.shared.clone();
            let summaries = shared.so_far.summaries();
            // Once the read has ended, or is putting its summaries together (a moment), the
            // answer waits for all of them.
            if !shared.so_far.taken() && !*lock(&shared.ended) {
                let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                let read = CasesRead {
                    read: count(summaries.len()),
                    total: count(shared.total),
                };
                return Ok(f(&summaries, Some(read)));
            }
        }
        Ok(f(self.settle()?.summaries(), None))
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        // The cases being read are personal data: they go when the session does.
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;

    use chrono::{TimeZone, Utc};
    use reintegra_core::ids::PersonId;
    use reintegra_core::person::Person;
    use reintegra_store::Batch;
    use uuid::Uuid;

    use super::*;

    fn person(n: u32) -> Person {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap();
        Person::new(
            PersonId::new(Uuid::now_v7()),
            format!("Persona {n}"),
            "Hernández",
            now,
        )
    }

    /// A read that has made `made` summaries and ends when told to.
    fn reading_held_open(made: u32, total: usize) -> (CaseMemory, mpsc::Sender<()>) {
        let shared = Arc::new(Shared {
            so_far: ReadSoFar::with_capacity(total),
            total,
            ended: Mutex::new(false),
            wake: Condvar::new(),
        });
        for n in 0..made {
            shared.so_far.summaries().push(CaseSummary::of(&person(n)));
        }
        let (tell, told) = mpsc::channel();
        let thread_shared = shared.clone();
        let handle = std::thread::spawn(move || {
            let _end = EndOnDrop(thread_shared);
            let _ = told.recv();
            let mut cases = Cases::default();
            for n in 0..total {
                cases.upsert(&person(u32::try_from(n).unwrap()));
            }
            Ok(cases)
        });
        let memory = CaseMemory::Reading(Reading {
            shared,
            handle: Some(handle),
        });
        (memory, tell)
    }

    #[test]
    fn the_caseload_answers_from_what_is_read_so_far_and_then_from_everything() {
        let (mut memory, tell) = reading_held_open(3, 10);
        let seen = memory.so_far(|cases, read| (cases.len(), read)).unwrap();
        assert_eq!(seen, (3, Some(CasesRead { read: 3, total: 10 })));
        assert!(memory.still_reading().is_some());

        tell.send(()).unwrap();
        // The read may already have ended by now.
        if let Some(end) = memory.still_reading() {
            end.wait();
        }
        let seen = memory.so_far(|cases, read| (cases.len(), read)).unwrap();
        assert_eq!(
            seen,
            (10, None),
            "after the read: all of them, and no progress"
        );
        assert!(memory.still_reading().is_none());
        assert_eq!(memory.settle().unwrap().summaries().len(), 10);
    }

    #[test]
    fn waiting_at_most_gives_up_and_dropping_waits_for_the_read() {
        let (memory, tell) = reading_held_open(1, 5);
        let end = memory.still_reading().unwrap();
        end.wait_at_most(Duration::from_millis(50));
        assert!(memory.still_reading().is_some(), "still held open");
        let dropping = std::thread::spawn(move || drop(memory));
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !dropping.is_finished(),
            "dropping (locking) waits for the read"
        );
        tell.send(()).unwrap();
        dropping.join().unwrap();
    }

    #[test]
    fn a_store_read_behind_the_screen_holds_every_case_and_lets_the_store_go() {
        let (_dir, store) = crate::test_store::new_store();
        let mut batch = Batch::new();
        for n in 0..2_000 {
            batch.put(&person(n)).unwrap();
        }
        store.commit(batch).unwrap();
        let store = Arc::new(store);

        let mut memory = CaseMemory::read_in_background(store.clone());
        let (seen, read) = memory.so_far(|cases, read| (cases.len(), read)).unwrap();
        match read {
            Some(read) => assert!(read.read as usize == seen && read.total == 2_000),
            None => assert_eq!(seen, 2_000),
        }
        assert_eq!(memory.settle().unwrap().summaries().len(), 2_000);
        drop(memory);

        drop(CaseMemory::read_in_background(store.clone()));
        assert_eq!(
            Arc::strong_count(&store),
            1,
            "the read has let the store go"
        );
    }
}
