//! The state shared by several hosts on Redis or Valkey (same protocol), through the `redis`
//! crate's connection manager (one multiplexed connection, reconnected when it breaks).
//!
//! Every key names one hash slot (`{…}` in the name, `mod.rs`), and every limit is one Lua
//! script run atomically on the server (EVALSHA, then EVAL when the server lost it: the crate's
//! `Script`), so concurrent hosts never race and the names work on a cluster too. Timeouts
//! and the failure policy are the caller's (`State`).

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use super::gcra::{Decision, Rule};
use super::{Backend, Counts, Snapshot, Verdict, reputation_slots};

/// GCRA (`gcra.rs`, the same steps): KEYS[1] the bucket; ARGV now µs, interval µs, burst, cost,
/// peek ("1": answer without charging). Returns {allowed, retry after µs}. The stored TAT
/// expires when it no longer matters.
const RATE: &str = r"
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local new = tat + cost * interval
local allow_at = new - burst * interval
if allow_at > now then return {0, allow_at - now} end
if ARGV[5] ~= '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.max(1, math.ceil((new - now) / 1000)))
end
return {1, 0}
";

/// One report's verdict added to a source's slot, slots older than the window dropped:
/// KEYS[1] the source; ARGV "b" or "l", the slot, the oldest slot kept, the key's life in ms.
const REPUTATION_ADD: &str = r"
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 1)
local oldest = tonumber(ARGV[3])
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local slot = tonumber(string.sub(f, 3))
  if slot == nil or slot < oldest then redis.call('HDEL', KEYS[1], f) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
";

/// Keys `ndr state` reads at most (SCAN), so that it never walks a huge server for long.
const SCAN_LIMIT: usize = 200_000;

pub struct Redis {
    conn: ConnectionManager,
    rate: Script,
    reputation_add: Script,
}

impl Redis {
    /// A client for `url`; it connects on first use (a server down at start stops nothing).
    pub fn new(url: &str, connect_ms: u64, command_ms: u64) -> Result<Redis, String> {
        // The crate's errors may quote the URL, which may carry a password: not passed on.
        let client = redis::Client::open(url).map_err(|_| "state.url is not a Redis URL".to_string())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_millis(connect_ms)))
            .set_response_timeout(Some(std::time::Duration::from_millis(command_ms)))
            .set_number_of_retries(1);
        let conn = client.get_connection_manager_lazy(config).map_err(|e| format!("redis: {:?}", e.kind()))?;
        Ok(Redis { conn, rate: Script::new(RATE), reputation_add: Script::new(REPUTATION_ADD) })
    }
}

/// The error without its detail text, which may quote a server address.
fn err(e: redis::RedisError) -> String {
    if e.is_timeout() {
        "redis: timeout".into()
    } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
        "redis: connection failed".into()
    } else {
        format!("redis: {:?}", e.kind())
    }
}

#[async_trait]
impl Backend for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn rate(&self, key: &str, rule: Rule, cost: u64, now_us: u64, peek: bool) -> Result<Decision, String> {
        let mut c = self.conn.clone();
        let (allowed, retry): (u64, u64) = self
            .rate
            .key(key)
            .arg(now_us)
            .arg(rule.interval_us)
            .arg(rule.burst)
            .arg(cost)
            .arg(if peek { "1" } else { "0" })
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        Ok(Decision { allowed: allowed == 1, retry_after_us: retry })
    }

    async fn registry_put(&self, key: &str, _now: u64, ttl_secs: u64) -> Result<(), String> {
        let mut c = self.conn.clone();
        c.set_ex::<_, _, ()>(key, 1, ttl_secs).await.map_err(err)
    }

    async fn registry_contains(&self, key: &str, _now: u64) -> Result<bool, String> {
        let mut c = self.conn.clone();
        c.exists(key).await.map_err(err)
    }

    async fn reputation_add(&self, key: &str, verdict: Verdict, now: u64, window_secs: u64) -> Result<(), String> {
        let (slot, oldest) = reputation_slots(now, window_secs);
        let mut c = self.conn.clone();
        let field = match verdict {
            Verdict::Backscatter => "b",
            Verdict::Legitimate => "l",
        };
        self.reputation_add
            .key(key)
            .arg(field)
            .arg(slot)
            .arg(oldest)
            .arg(window_secs.saturating_mul(1000))
            .invoke_async::<()>(&mut c)
            .await
            .map_err(err)
    }

    async fn reputation_get(&self, key: &str, now: u64, window_secs: u64) -> Result<Counts, String> {
        let mut c = self.conn.clone();
        let fields: Vec<(String, u64)> = c.hgetall(key).await.map_err(err)?;
        Ok(sum_slots(&fields, reputation_slots(now, window_secs).1))
    }

    async fn snapshot(&self, prefix: &str, now: u64, window_secs: u64) -> Result<Snapshot, String> {
        let mut c = self.conn.clone();
        let mut keys: Vec<String> = Vec::new();
        {
            let mut iter = c.scan_match::<_, String>(format!("{prefix}{{*")).await.map_err(err)?;
            while let Some(k) = futures_next(&mut iter).await {
                keys.push(k);
                if keys.len() >= SCAN_LIMIT {
                    break;
                }
            }
        }
        let oldest = reputation_slots(now, window_secs).1;
        let now_us = now.saturating_mul(1_000_000);
        let mut s = Snapshot { truncated: keys.len() >= SCAN_LIMIT, ..Snapshot::default() };
        for k in keys {
            let kind = k[prefix.len()..].trim_start_matches('{').split(':').next().unwrap_or("").to_string();
            match kind.as_str() {
                "reg" => s.registry += 1,
                "rep" => {
                    let fields: Vec<(String, u64)> = c.hgetall(&k).await.map_err(err)?;
                    let counts = sum_slots(&fields, oldest);
                    if counts.backscatter + counts.legitimate > 0 {
                        s.sources.push((k, counts));
                    }
                }
                _ => {
                    let tat: Option<String> = c.get(&k).await.map_err(err)?;
                    if let Some(tat) = tat.and_then(|t| t.parse::<u64>().ok()).filter(|t| *t > now_us) {
                        s.buckets.push((k, tat - now_us));
                    }
                }
            }
        }
        Ok(s)
    }
}

/// `b:SLOT`/`l:SLOT` fields added up from `oldest` on.
fn sum_slots(fields: &[(String, u64)], oldest: u64) -> Counts {
    let mut c = Counts::default();
    for (f, n) in fields {
        let Some((kind, slot)) = f.split_once(':') else { continue };
        if slot.parse::<u64>().is_ok_and(|s| s >= oldest) {
            match kind {
                "b" => c.backscatter += n,
                "l" => c.legitimate += n,
                _ => {}
            }
        }
    }
    c
}

/// The next item of the crate's async scan iterator.
async fn futures_next(iter: &mut redis::AsyncIter<'_, String>) -> Option<String> {
    iter.next_item().await.and_then(Result::ok)
}
