//! One memory budget for the message bytes every milter connection keeps together: a
//! connection reserves before its buffer grows and gives back when the message is done or the
//! connection ends. A reservation that does not fit is refused; the message then goes on
//! unscanned (as `on_failure` says), so the budget never holds or loses mail.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes reserved by all connections.
#[derive(Debug, Default)]
pub struct KeptBytes {
    used: AtomicUsize,
}

impl KeptBytes {
    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    fn try_take(&self, n: usize, limit: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| u.checked_add(n).filter(|&t| t <= limit))
            .is_ok()
    }

    fn give(&self, n: usize) {
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| Some(u.saturating_sub(n)));
    }
}

/// What one connection holds of the budget; given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<KeptBytes>,
    held: usize,
}

impl Reservation {
    pub fn new(budget: Arc<KeptBytes>) -> Reservation {
        Reservation { budget, held: 0 }
    }

    /// Hold `n` more bytes, if the budget (`limit` for all connections) has room.
    pub fn grow(&mut self, n: usize, limit: usize) -> bool {
        let ok = self.budget.try_take(n, limit);
        if ok {
            self.held += n;
        }
        ok
    }

    /// Give everything back (the caller has dropped the bytes just before).
    pub fn release(&mut self) {
        let held = std::mem::take(&mut self.held);
        self.budget.give(held);
        if held >= TRIM_AFTER_BYTES {
            trim_heap();
        }
    }
}

/// Freeing this much at once is worth handing the pages back to the system.
const TRIM_AFTER_BYTES: usize = 8 << 20;

/// glibc's allocator keeps freed memory for the process; large message buffers would stay
/// resident after their connections ended.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_one_limit_and_give_back() {
        let b = Arc::new(KeptBytes::default());
        let mut one = Reservation::new(b.clone());
        let mut two = Reservation::new(b.clone());
        assert!(one.grow(60, 100));
        assert!(!two.grow(50, 100));
        assert!(two.grow(40, 100));
        assert_eq!(b.used(), 100);
        drop(one);
        assert_eq!(b.used(), 40);
        two.release();
        assert_eq!(b.used(), 0);
    }
}
