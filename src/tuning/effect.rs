//! Did the change help? `diagnose config --apply` records, in the run history, when it changed
//! a server's settings and the server's cumulative counters at that moment (block hits and
//! reads, temp-file bytes, since when they count); `check afternoon` then compares the cache
//! hit ratio and the temp-file rate before the change with those since.

use std::collections::BTreeMap;

use anyhow::Context as _;

use crate::clients::postgres::PgClient;
use crate::render::human_bytes;
use crate::report::{Finding, Status};
use crate::state::History;

/// A change older than this is not compared any more (the history keeps one sample per
/// command and day, so the apply sample survives that long).
pub const WINDOW_SECS: i64 = 30 * 86400;
/// Too few block reads since the change to say anything about the ratio.
const MIN_READS: f64 = 1000.0;

/// The cumulative counters of pg_stat_database, all databases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counters {
    pub blks_hit: f64,
    pub blks_read: f64,
    pub temp_bytes: f64,
    /// epoch seconds the counters start from (the oldest stats_reset, or the server's start)
    pub since: f64,
}

const COUNTERS_SQL: &str = "SELECT coalesce(sum(blks_hit), 0)::float8, \
     coalesce(sum(blks_read), 0)::float8, coalesce(sum(temp_bytes), 0)::float8, \
     extract(epoch FROM coalesce(min(stats_reset), pg_postmaster_start_time()))::float8 \
     FROM pg_stat_database";

pub async fn counters(pg: &PgClient) -> anyhow::Result<Counters> {
    let r = pg
        .client
        .query_one(COUNTERS_SQL, &[])
        .await
        .context("reading pg_stat_database")?;
    Ok(Counters {
        blks_hit: r.get(0),
        blks_read: r.get(1),
        temp_bytes: r.get(2),
        since: r.get(3),
    })
}

fn key(what: &str, server: &str) -> String {
    format!("tuning.{what}/{server}")
}

/// The history values an apply records for `server` ("host:port") at `now`.
pub fn applied_values(server: &str, now: i64, c: Counters) -> BTreeMap<String, f64> {
    [
        (key("applied", server), now as f64),
        (key("blks_hit", server), c.blks_hit),
        (key("blks_read", server), c.blks_read),
        (key("temp_bytes", server), c.temp_bytes),
        (key("stats_since", server), c.since),
    ]
    .into_iter()
    .collect()
}

/// The counters at the newest change to `server` within [`WINDOW_SECS`], with its time.
pub fn last_change(history: &History, server: &str, now: i64) -> Option<(i64, Counters)> {
    let (_, at) = history.previous(&key("applied", server))?;
    let at = at as i64;
    if now - at > WINDOW_SECS {
        return None;
    }
    let get = |w: &str| history.previous(&key(w, server)).map(|(_, v)| v);
    Some((
        at,
        Counters {
            blks_hit: get("blks_hit")?,
            blks_read: get("blks_read")?,
            temp_bytes: get("temp_bytes")?,
            since: get("stats_since")?,
        },
    ))
}

fn ratio(hit: f64, read: f64) -> Option<f64> {
    (hit + read >= MIN_READS).then(|| hit * 100.0 / (hit + read))
}

/// `postgres.tuning_effect`: the cache hit ratio and temp-file bytes per hour before the
/// change (from the counters' start to the change) and since (the counters' growth).
pub fn finding(at: i64, before: Counters, now_secs: i64, now: Counters) -> Finding {
    let when = crate::timefmt::rfc3339(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(at.max(0) as u64),
    );
    let id = "postgres.tuning_effect";
    if now.since > before.since + 1.0
        || now.blks_hit + now.blks_read < before.blks_hit + before.blks_read
    {
        return Finding::ok(
            id,
            format!("since the change on {when}: the statistics were reset since, so before and after cannot be compared"),
        );
    }
    let hours_before = ((at as f64 - before.since) / 3600.0).max(1.0 / 60.0);
    let hours_after = ((now_secs - at) as f64 / 3600.0).max(1.0 / 60.0);
    let temp_before = before.temp_bytes / hours_before;
    let temp_after = (now.temp_bytes - before.temp_bytes).max(0.0) / hours_after;
    let hit_before = ratio(before.blks_hit, before.blks_read);
    let hit_after = ratio(
        now.blks_hit - before.blks_hit,
        now.blks_read - before.blks_read,
    );
    let pct = |r: Option<f64>| r.map_or("too few reads".to_string(), |r| format!("{r:.1}%"));
    let worse_hit = matches!((hit_before, hit_after), (Some(b), Some(a)) if a < b - 1.0);
    let worse_temp = temp_after > 2.0 * temp_before && temp_after > 1024.0 * 1024.0;
    let status = if worse_hit || worse_temp {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut f = Finding::new(
        id,
        status,
        format!(
            "since the change on {when}: cache hit {} ({} before), temp files {}/h ({}/h before)",
            pct(hit_after),
            pct(hit_before),
            human_bytes(temp_after),
            human_bytes(temp_before)
        ),
    )
    .value_f64(hit_after.unwrap_or(0.0), "percent");
    if status == Status::Warning {
        f = f.hint("the change made things worse: undo it with `opsbook diagnose config --rollback FILE` (the file --apply wrote)");
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_and_after_from_the_counters() {
        let before = Counters {
            blks_hit: 9000.0,
            blks_read: 1000.0,
            temp_bytes: 100.0 * 1024.0 * 1024.0,
            since: 0.0,
        };
        let now = Counters {
            blks_hit: 9000.0 + 9900.0,
            blks_read: 1000.0 + 100.0,
            temp_bytes: before.temp_bytes,
            since: 0.0,
        };
        let f = finding(36000, before, 36000 + 3600, now);
        assert_eq!(f.status, Status::Ok);
        assert!(
            f.summary.contains("cache hit 99.0% (90.0% before)"),
            "{}",
            f.summary
        );
        let reset = Counters {
            since: 50000.0,
            ..now
        };
        assert!(finding(36000, before, 40000, reset)
            .summary
            .contains("reset"));
    }
}
