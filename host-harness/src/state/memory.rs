//! The state of one host, in this process: the default. Bounded: expired entries are swept
//! when a map grows past `SWEEP_AT`, and past `MAX_ENTRIES` live entries nothing new is kept
//! (limits then allow, the registry forgets) rather than growing without end.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::gcra::{self, Decision, Rule};
use super::{Backend, Counts, Snapshot, Verdict, reputation_slots};

const SWEEP_AT: usize = 100_000;
const MAX_ENTRIES: usize = 1_000_000;

#[derive(Default)]
struct Maps {
    /// Key → (TAT, expiry), microseconds.
    buckets: HashMap<String, (u64, u64)>,
    /// Key → expiry, seconds.
    registry: HashMap<String, u64>,
    /// Key → (slot, backscatter, legitimate) per slot.
    reputation: HashMap<String, Vec<(u64, u64, u64)>>,
}

#[derive(Default)]
pub struct Memory {
    maps: Mutex<Maps>,
}

impl Memory {
    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Room for one more entry in `map`, sweeping expired ones first when it is large.
fn room<V>(map: &mut HashMap<String, V>, live: impl Fn(&V) -> bool) -> bool {
    if map.len() >= SWEEP_AT {
        map.retain(|_, v| live(v));
    }
    map.len() < MAX_ENTRIES
}

#[async_trait]
impl Backend for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn rate(&self, key: &str, rule: Rule, cost: u64, now_us: u64, peek: bool) -> Result<Decision, String> {
        let mut m = self.maps();
        let stored = m.buckets.get(key).filter(|(_, exp)| *exp > now_us).map(|(tat, _)| *tat);
        let (decision, new_tat) = gcra::gcra(stored, now_us, rule, cost);
        if let Some(tat) = new_tat.filter(|_| !peek)
            && (m.buckets.contains_key(key) || room(&mut m.buckets, |(_, exp)| *exp > now_us))
        {
            m.buckets.insert(key.to_string(), (tat, tat));
        }
        Ok(decision)
    }

    async fn registry_put(&self, key: &str, now: u64, ttl_secs: u64) -> Result<(), String> {
        let mut m = self.maps();
        if m.registry.contains_key(key) || room(&mut m.registry, |exp| *exp > now) {
            m.registry.insert(key.to_string(), now + ttl_secs);
        }
        Ok(())
    }

    async fn registry_contains(&self, key: &str, now: u64) -> Result<bool, String> {
        Ok(self.maps().registry.get(key).is_some_and(|exp| *exp > now))
    }

    async fn reputation_add(&self, key: &str, verdict: Verdict, now: u64, window_secs: u64) -> Result<(), String> {
        let (slot, oldest) = reputation_slots(now, window_secs);
        let mut m = self.maps();
        let fresh = |v: &Vec<(u64, u64, u64)>| v.iter().any(|(s, _, _)| *s >= oldest);
        if !m.reputation.contains_key(key) && !room(&mut m.reputation, fresh) {
            return Ok(());
        }
        let slots = m.reputation.entry(key.to_string()).or_default();
        slots.retain(|(s, _, _)| *s >= oldest);
        if slots.last().is_none_or(|(s, _, _)| *s != slot) {
            slots.push((slot, 0, 0));
        }
        if let Some(last) = slots.last_mut() {
            match verdict {
                Verdict::Backscatter => last.1 += 1,
                Verdict::Legitimate => last.2 += 1,
            }
        }
        Ok(())
    }

    async fn reputation_get(&self, key: &str, now: u64, window_secs: u64) -> Result<Counts, String> {
        let (_, oldest) = reputation_slots(now, window_secs);
        let m = self.maps();
        let mut c = Counts::default();
        for (_, b, l) in m.reputation.get(key).into_iter().flatten().filter(|(s, _, _)| *s >= oldest) {
            c.backscatter += b;
            c.legitimate += l;
        }
        Ok(c)
    }

    async fn snapshot(&self, prefix: &str, now: u64, window_secs: u64) -> Result<Snapshot, String> {
        let (_, oldest) = reputation_slots(now, window_secs);
        let m = self.maps();
        let now_us = now.saturating_mul(1_000_000);
        let mut s = Snapshot {
            registry: m.registry.iter().filter(|(k, exp)| **exp > now && k.starts_with(prefix)).count() as u64,
            ..Snapshot::default()
        };
        for (k, (tat, _)) in m.buckets.iter().filter(|(k, (tat, _))| *tat > now_us && k.starts_with(prefix)) {
            s.buckets.push((k.clone(), tat - now_us));
        }
        for (k, slots) in m.reputation.iter().filter(|(k, _)| k.starts_with(prefix)) {
            let mut c = Counts::default();
            for (_, b, l) in slots.iter().filter(|(slot, _, _)| *slot >= oldest) {
                c.backscatter += b;
                c.legitimate += l;
            }
            if c.backscatter + c.legitimate > 0 {
                s.sources.push((k.clone(), c));
            }
        }
        Ok(s)
    }
}
