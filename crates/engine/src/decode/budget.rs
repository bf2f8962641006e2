//! The memory the decodes in flight may hold at once. A 571 KB PNG can claim 14000×14000
//! pixels, 600 MB once decoded, and every core may be decoding one: so each decode reserves
//! what it will hold at its peak (worked out from the file's header before anything is
//! allocated) and waits while the others hold the budget. Reservations are served in the
//! order they were asked for, so a big image is never starved by a stream of small ones. An
//! image that needs more than the whole budget is still decoded, alone (images over
//! [`crate::decode::DecodeError::TooLarge`]'s limit are refused before they reserve anything).

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// What all decodes in flight may hold at once: a few 48 MP photos, or one decompression bomb
/// at a time. Everyday photos take a few MB each (JPEGs are decoded at a reduced size), so
/// they never wait.
pub(crate) const DECODE_BUDGET: u64 = 512 << 20;

/// The budget every decode of this process shares (indexing and the app's thumbnails alike).
pub(crate) static DECODES: Budget = Budget::new(DECODE_BUDGET);

/// A budget of bytes, shared by threads that reserve from it and wait for their turn.
pub(crate) struct Budget {
    limit: u64,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// Bytes reserved now.
    held: u64,
    /// The ticket the next reservation gets, and the ticket served next.
    next: u64,
    serving: u64,
    /// The most ever held at once (for the tests).
    #[cfg(test)]
    peak: u64,
}

/// Bytes held from a [`Budget`] until this is dropped.
pub(crate) struct Reservation<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Budget {
    /// A budget of `limit` bytes, nothing reserved.
    pub(crate) const fn new(limit: u64) -> Self {
        Self {
            limit,
            state: Mutex::new(State {
                held: 0,
                next: 0,
                serving: 0,
                #[cfg(test)]
                peak: 0,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few counters, consistent after every statement: a panic elsewhere
        // while it was locked leaves nothing half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves `bytes`, waiting for the reservations asked for earlier to be served and for
    /// `bytes` to fit beside what is held (or, when they are more than the whole budget, for
    /// nothing else to be held). Never call it while holding a reservation of the same
    /// budget: it could wait for itself.
    pub(crate) fn reserve(&self, bytes: u64) -> Reservation<'_> {
        if bytes == 0 {
            return Reservation {
                budget: self,
                bytes,
            };
        }
        let mut state = self.lock();
        let ticket = state.next;
        state.next += 1;
        loop {
            let fits = state.held == 0 || state.held.saturating_add(bytes) <= self.limit;
            if state.serving == ticket && fits {
                break;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.serving += 1;
        state.held = state.held.saturating_add(bytes);
        #[cfg(test)]
        {
            state.peak = state.peak.max(state.held);
        }
        drop(state);
        // The next in line may fit beside this one.
        self.changed.notify_all();
        Reservation {
            budget: self,
            bytes,
        }
    }

    /// Bytes reserved now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> u64 {
        self.lock().held
    }

    /// The most ever reserved at once.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> u64 {
        self.lock().peak
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut state = self.budget.lock();
        state.held -= self.bytes;
        drop(state);
        self.budget.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Runs `sizes` as reservations on threads of their own, all at once, each held a moment.
    fn reserve_at_once(budget: &Budget, sizes: &[u64]) {
        std::thread::scope(|s| {
            for &bytes in sizes {
                s.spawn(move || {
                    let held = budget.reserve(bytes);
                    assert!(budget.held() >= bytes);
                    std::thread::sleep(Duration::from_millis(20));
                    drop(held);
                });
            }
        });
    }

    #[test]
    fn reservations_at_once_never_hold_more_than_the_budget() {
        let budget = Budget::new(100);
        reserve_at_once(&budget, &[40, 40, 40, 30, 60, 10, 50, 40]);
        assert!(budget.peak() <= 100, "{} held at once", budget.peak());
        assert!(budget.peak() >= 60);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_reservation_over_the_whole_budget_is_served_alone() {
        let budget = Budget::new(100);
        reserve_at_once(&budget, &[250, 30, 250, 30]);
        assert_eq!(budget.peak(), 250, "the big ones alone, one at a time");
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn an_empty_reservation_never_waits() {
        let budget = Budget::new(10);
        let _big = budget.reserve(50);
        let _none = budget.reserve(0);
        assert_eq!(budget.held(), 50);
    }
}
