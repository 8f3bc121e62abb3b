//! Redis: one multiplexed connection per run, bounded by connect and response timeouts.
//!
//! The seeds opened a connection per call; one connection serves every probe of a run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use redis::aio::MultiplexedConnection;
use redis::AsyncConnectionConfig;

use crate::redact::mask_url;

/// Resolve the Redis URL: `--redis` > `REDIS_URL` > config > the local default.
pub fn resolve_url(
    flag: Option<&str>,
    config: Option<&str>,
    password_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<String> {
    let url = flag
        .map(str::to_string)
        .or_else(|| env("REDIS_URL").filter(|s| !s.is_empty()))
        .or_else(|| config.map(str::to_string))
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_string());
    let Some(file) = password_file else {
        return Ok(url);
    };
    let password = crate::clients::read_secret_file(file)?;
    // The password goes into the URL only in memory; display always goes through mask_url.
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok(url);
    };
    let rest = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    Ok(format!(
        "{scheme}://:{}@{rest}",
        super::url_component(&password)
    ))
}

/// The fields of `INFO` that opsbook reads, typed; the rest stays in `raw`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RedisInfo {
    pub version: String,
    pub role: String,
    pub uptime_seconds: u64,
    pub connected_clients: u64,
    pub blocked_clients: u64,
    pub used_memory: u64,
    pub used_memory_rss: u64,
    pub used_memory_peak: u64,
    /// 0 means "no limit"
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub evicted_keys: u64,
    pub rejected_connections: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub rdb_last_bgsave_status: String,
    pub aof_enabled: bool,
    pub raw: BTreeMap<String, String>,
}

impl RedisInfo {
    /// Parse the `INFO` text (`# Section` headers, `key:value` lines, CRLF).
    pub fn parse(text: &str) -> RedisInfo {
        let raw: BTreeMap<String, String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let num = |k: &str| raw.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let text = |k: &str| raw.get(k).cloned().unwrap_or_default();
        RedisInfo {
            version: text("redis_version"),
            role: text("role"),
            uptime_seconds: num("uptime_in_seconds"),
            connected_clients: num("connected_clients"),
            blocked_clients: num("blocked_clients"),
            used_memory: num("used_memory"),
            used_memory_rss: num("used_memory_rss"),
            used_memory_peak: num("used_memory_peak"),
            maxmemory: num("maxmemory"),
            maxmemory_policy: text("maxmemory_policy"),
            evicted_keys: num("evicted_keys"),
            rejected_connections: num("rejected_connections"),
            keyspace_hits: num("keyspace_hits"),
            keyspace_misses: num("keyspace_misses"),
            rdb_last_bgsave_status: text("rdb_last_bgsave_status"),
            aof_enabled: num("aof_enabled") == 1,
            raw,
        }
    }
}

/// A connected Redis.
#[derive(Clone)]
pub struct RedisClient {
    conn: MultiplexedConnection,
    url_masked: String,
}

impl RedisClient {
    pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<RedisClient> {
        let masked = mask_url(url);
        let client = redis::Client::open(url).map_err(|e| {
            anyhow!("invalid Redis URL {masked}: {e} (expected redis://[:password@]host:port/db)")
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        // The outer timeout also bounds the handshake (AUTH, SELECT) on a server that
        // accepts TCP but never answers.
        let conn = tokio::time::timeout(
            timeout + Duration::from_millis(100),
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| anyhow!("timed out after {:.1}s", timeout.as_secs_f64()))
        .and_then(|r| r.map_err(anyhow::Error::from))
        .with_context(|| format!("connecting to Redis at {masked}"))?;
        Ok(RedisClient {
            conn,
            url_masked: masked,
        })
    }

    pub fn url(&self) -> &str {
        &self.url_masked
    }

    /// The multiplexed connection, for the clients built on this one (`sentinel.rs`).
    pub(crate) fn connection(&self) -> MultiplexedConnection {
        self.conn.clone()
    }

    pub async fn info(&self) -> anyhow::Result<RedisInfo> {
        let mut conn = self.conn.clone();
        let text: String = redis::cmd("INFO")
            .query_async(&mut conn)
            .await
            .with_context(|| format!("running INFO on Redis at {}", self.url_masked))?;
        Ok(RedisInfo::parse(&text))
    }

    /// `CONFIG GET pattern` as name → value (fails where CONFIG is renamed away).
    pub async fn config_get(
        &self,
        pattern: &str,
    ) -> anyhow::Result<std::collections::HashMap<String, String>> {
        let mut conn = self.conn.clone();
        redis::cmd("CONFIG")
            .arg("GET")
            .arg(pattern)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("CONFIG GET {pattern} on Redis at {}", self.url_masked))
    }

    /// `CONFIG SET name value` (a restore turns the save points off before the restart).
    pub async fn config_set(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(name)
            .arg(value)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("CONFIG SET {name} on Redis at {}", self.url_masked))?;
        Ok(())
    }

    /// `BGSAVE`: the server forks and writes its RDB to `dir`/`dbfilename` (answers at once).
    pub async fn bgsave(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: redis::Value = redis::cmd("BGSAVE")
            .query_async(&mut conn)
            .await
            .with_context(|| format!("BGSAVE on Redis at {}", self.url_masked))?;
        Ok(())
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .with_context(|| format!("PING to Redis at {}", self.url_masked))?;
        Ok(())
    }
}

/// One RQ queue as Redis holds it: `rq:queue:<name>` (a list of job ids), the workers
/// registered for it in `rq:workers:<name>`, and its failed-job registry
/// `rq:registry:failed:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RqQueue {
    pub name: String,
    pub jobs: u64,
    /// registered workers whose `rq:worker:<name>` key still exists (their heartbeat keeps it
    /// alive); a worker killed hard stays in the set until RQ cleans it, but is not counted
    pub workers: u64,
    pub failed: u64,
}

impl RedisClient {
    /// The named RQ queues, or every queue in RQ's `rq:queues` set when `names` is empty, in
    /// at most three round trips: SMEMBERS rq:queues, one pipeline of LLEN/SMEMBERS/ZCARD,
    /// one pipeline of EXISTS for the registered workers (RQ's own `queue.workers` drops the
    /// registrations whose worker key expired the same way).
    pub async fn rq_queues(&self, names: &[String]) -> anyhow::Result<Vec<RqQueue>> {
        let mut conn = self.conn.clone();
        let mut names: Vec<String> = if names.is_empty() {
            let keys: Vec<String> = redis::cmd("SMEMBERS")
                .arg("rq:queues")
                .query_async(&mut conn)
                .await
                .with_context(|| {
                    format!(
                        "listing RQ queues (SMEMBERS rq:queues) on {}",
                        self.url_masked
                    )
                })?;
            keys.into_iter()
                .map(|k| k.strip_prefix("rq:queue:").unwrap_or(&k).to_string())
                .collect()
        } else {
            names.to_vec()
        };
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for n in &names {
            pipe.cmd("LLEN").arg(format!("rq:queue:{n}"));
            pipe.cmd("SMEMBERS").arg(format!("rq:workers:{n}"));
            pipe.cmd("ZCARD").arg(format!("rq:registry:failed:{n}"));
        }
        let per_queue: Vec<(u64, Vec<String>, u64)> = pipe
            .query_async::<Vec<redis::Value>>(&mut conn)
            .await
            .with_context(|| format!("reading RQ queue lengths on {}", self.url_masked))?
            .chunks(3)
            .map(|c| {
                let num = |v: Option<&redis::Value>| {
                    v.and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
                        .unwrap_or(0)
                };
                let members = c
                    .get(1)
                    .and_then(|v| redis::from_redis_value_ref::<Vec<String>>(v).ok())
                    .unwrap_or_default();
                (num(c.first()), members, num(c.get(2)))
            })
            .collect();
        let registered: Vec<&String> = per_queue.iter().flat_map(|(_, m, _)| m).collect();
        let alive: Vec<bool> = if registered.is_empty() {
            Vec::new()
        } else {
            let mut pipe = redis::pipe();
            for key in &registered {
                pipe.cmd("EXISTS").arg(key.as_str());
            }
            pipe.query_async(&mut conn)
                .await
                .with_context(|| format!("checking RQ worker keys on {}", self.url_masked))?
        };
        let mut alive = alive.into_iter();
        Ok(names
            .into_iter()
            .zip(per_queue)
            .map(|(name, (jobs, members, failed))| RqQueue {
                name,
                jobs,
                workers: members
                    .iter()
                    .map(|_| alive.next().unwrap_or(false))
                    .filter(|a| *a)
                    .count() as u64,
                failed,
            })
            .collect())
    }
}

/// The longest string value [`RedisClient::get`] reads.
pub const GET_LIMIT: usize = 1024;

/// Keys SCAN asks for per step: large enough to be few round trips, small enough that one
/// step never blocks the server noticeably.
const SCAN_COUNT: u64 = 1000;

impl RedisClient {
    /// SET KEY VALUE EX SECONDS (the heartbeat of `cluster status --probe-writes`).
    pub async fn set_ex(&self, key: &str, value: &str, secs: u64) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(secs)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("SET {key} on {}", self.url_masked))?;
        Ok(())
    }

    /// LLEN KEY (0 when the key does not exist).
    pub async fn llen(&self, key: &str) -> anyhow::Result<u64> {
        let mut conn = self.conn.clone();
        redis::cmd("LLEN")
            .arg(key)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("LLEN {key} on {}", self.url_masked))
    }

    /// GET KEY as text; None when the key does not exist. Only the first [`GET_LIMIT`] bytes
    /// are fetched (GETRANGE): a metric is a number, and a 512 MB string is not one.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut conn = self.conn.clone();
        let (exists, len, head): (u8, u64, String) = redis::pipe()
            .cmd("EXISTS")
            .arg(key)
            .cmd("STRLEN")
            .arg(key)
            .cmd("GETRANGE")
            .arg(key)
            .arg(0)
            .arg(GET_LIMIT - 1)
            .query_async(&mut conn)
            .await
            .with_context(|| format!("GET {key} on {}", self.url_masked))?;
        if exists == 0 {
            return Ok(None);
        }
        if len > GET_LIMIT as u64 {
            anyhow::bail!(
                "GET {key} on {}: the value is {len} bytes, over the {GET_LIMIT} bytes a number can take",
                self.url_masked
            );
        }
        Ok(Some(head))
    }

    /// How many keys match PATTERN, counted with SCAN (never KEYS, which blocks the server
    /// for the whole keyspace). SCAN may return a key twice while the table rehashes; keys
    /// are deduplicated, so the count is exact for keys that exist during the whole scan.
    pub async fn count_keys(&self, pattern: &str) -> anyhow::Result<u64> {
        let mut conn = self.conn.clone();
        let mut seen = std::collections::HashSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut conn)
                .await
                .with_context(|| format!("SCAN MATCH {pattern} on {}", self.url_masked))?;
            seen.extend(keys);
            if next == 0 {
                return Ok(seen.len() as u64);
            }
            cursor = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info() {
        let text = "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\n\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:268435456\r\nmaxmemory_policy:noeviction\r\n# Replication\r\nrole:master\r\n";
        let i = RedisInfo::parse(text);
        assert_eq!(i.version, "7.0.15");
        assert_eq!(i.used_memory, 1_048_576);
        assert_eq!(i.maxmemory, 268_435_456);
        assert_eq!(i.role, "master");
        assert_eq!(i.uptime_seconds, 42);
        assert_eq!(
            i.raw.get("maxmemory_policy").map(String::as_str),
            Some("noeviction")
        );
    }

    #[test]
    fn url_precedence() {
        let env = |k: &str| (k == "REDIS_URL").then(|| "redis://env:1".to_string());
        let none = |_: &str| None;
        assert_eq!(
            resolve_url(Some("redis://flag:1"), Some("redis://cfg:1"), None, &env).unwrap(),
            "redis://flag:1"
        );
        assert_eq!(
            resolve_url(None, Some("redis://cfg:1"), None, &env).unwrap(),
            "redis://env:1"
        );
        assert_eq!(
            resolve_url(None, Some("redis://cfg:1"), None, &none).unwrap(),
            "redis://cfg:1"
        );
        assert_eq!(
            resolve_url(None, None, None, &none).unwrap(),
            "redis://127.0.0.1:6379"
        );
    }
}
