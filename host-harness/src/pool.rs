//! A pool of module instances for the mail services: each connection leases one instance for
//! its lifetime and gives it back when it ends, unless a call failed (a trapped or timed-out
//! instance is never reused).

use std::sync::{Arc, Mutex};

use crate::{Filter, FilterInstance};

/// Idle instances kept by default: enough for Postfix's default 100 smtpd processes and more.
pub const MAX_IDLE: usize = 256;
/// An instance whose memory grew past this (a large message) is dropped after its call, not
/// kept: wasm memory never shrinks, and a few hundred kept instances would hold it all.
pub const KEEP_MEMORY_BYTES: usize = 16 << 20;

/// Whether an instance is worth keeping for another call.
fn worth_keeping(instance: &mut FilterInstance) -> bool {
    !instance.is_poisoned() && instance.memory_bytes() <= KEEP_MEMORY_BYTES
}

/// Idle instances of one compiled module.
pub struct Pool {
    filter: Filter,
    idle: Mutex<Vec<FilterInstance>>,
    /// Idle instances kept at most; more are dropped when given back.
    max_idle: usize,
}

impl Pool {
    pub fn new(filter: Filter, max_idle: usize) -> Arc<Pool> {
        Arc::new(Pool { filter, idle: Mutex::new(Vec::new()), max_idle })
    }

    /// An idle instance, or a new one (instantiation takes microseconds).
    pub fn take(&self) -> anyhow::Result<FilterInstance> {
        if let Some(i) = self.idle.lock().ok().and_then(|mut v| v.pop()) {
            return Ok(i);
        }
        self.filter.instance()
    }

    /// Give an instance back; a poisoned or grown one is dropped.
    pub fn give_back(&self, mut instance: FilterInstance) {
        if !worth_keeping(&mut instance) {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.max_idle
        {
            idle.push(instance);
        }
    }

    /// Idle instances now (for tests and logs).
    pub fn idle(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }
}

/// One connection's instance: taken from the pool on first use, given back on drop.
pub struct Lease {
    pool: Arc<Pool>,
    instance: Option<FilterInstance>,
}

impl Lease {
    pub fn new(pool: Arc<Pool>) -> Lease {
        Lease { pool, instance: None }
    }

    /// Take the instance out for a call (e.g. into a blocking task); `put` it back afterwards.
    pub fn checkout(&mut self) -> anyhow::Result<FilterInstance> {
        match self.instance.take() {
            Some(i) => Ok(i),
            None => self.pool.take(),
        }
    }

    /// Return the instance after a call; a poisoned or grown one is dropped.
    pub fn put(&mut self, mut instance: FilterInstance) {
        if worth_keeping(&mut instance) {
            self.instance = Some(instance);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(i) = self.instance.take() {
            self.pool.give_back(i);
        }
    }
}
