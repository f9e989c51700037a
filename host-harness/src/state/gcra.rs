//! The generic cell rate algorithm (GCRA, as in ATM's leaky bucket and rspamd's and
//! redis-cell's limits): one stored number per key, the theoretical arrival time (TAT) of the
//! next event at the sustained rate. An event is allowed while the TAT stays within `burst`
//! intervals of now; a refused event changes nothing, so a flood cannot push the TAT further.
//!
//! This is the one Rust copy of the arithmetic (the memory backend calls it); the Redis
//! backend runs the same steps in Lua on the server (`redis.rs`), and `tests/tests/state.rs`
//! checks that both answer alike.

/// A limit in the units the algorithm works in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Microseconds between two events at the sustained rate (`period / rate`).
    pub interval_us: u64,
    /// Events allowed at once, from an idle key.
    pub burst: u64,
}

/// What one event got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// When refused: microseconds until one event would be allowed.
    pub retry_after_us: u64,
}

/// One event of `cost` at `now_us` against the stored TAT (`None`: an idle key). Returns the
/// decision and the TAT to store (`None`: store nothing), which expires `new_tat - now_us`
/// microseconds from now.
pub fn gcra(stored_tat: Option<u64>, now_us: u64, rule: Rule, cost: u64) -> (Decision, Option<u64>) {
    let tat = stored_tat.unwrap_or(0).max(now_us);
    let new_tat = tat.saturating_add(cost.saturating_mul(rule.interval_us));
    let allow_at = new_tat.saturating_sub(rule.burst.saturating_mul(rule.interval_us));
    if allow_at > now_us {
        return (Decision { allowed: false, retry_after_us: allow_at - now_us }, None);
    }
    (Decision { allowed: true, retry_after_us: 0 }, Some(new_tat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_the_sustained_rate() {
        let rule = Rule { interval_us: 1_000_000, burst: 3 };
        let mut tat = None;
        let mut at = |now: u64| {
            let (d, new) = gcra(tat, now, rule, 1);
            if new.is_some() {
                tat = new;
            }
            d
        };
        assert!((0..3).all(|_| at(10_000_000).allowed), "the burst");
        let refused = at(10_000_000);
        assert_eq!(refused, Decision { allowed: false, retry_after_us: 1_000_000 });
        assert!(!at(10_999_999).allowed, "one microsecond early");
        assert!(at(11_000_000).allowed, "one interval later, one more");
        assert!(!at(11_000_000).allowed);
        assert!((0..3).all(|_| at(20_000_000).allowed), "idle long enough: the whole burst again");
    }
}
