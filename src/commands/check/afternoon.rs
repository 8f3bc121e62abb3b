//! `check afternoon`: the seed's daily_afternoon_check.sh and its performance section: slow
//! statements, bloat, unused indexes, sequential scans, long and idle transactions, lock
//! waits, wraparound, the cache hit ratio and today's connection peak.

use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Map, Value};

use super::AfternoonArgs;
use crate::context::Ctx;
use crate::probes::bloat::{self, Kind};
use crate::probes::performance::{self, SlowFilter};
use crate::probes::pg_probe;
use crate::probes::{self, guarded, sessions};
use crate::report::{Finding, Report, Status};
use crate::state::History;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "check afternoon",
    page: "commands/check.md",
    ids: &[
        "postgres.up",
        "postgres.peak_connections",
        "postgres.cache_hit_ratio",
        "postgres.slow_queries",
        "postgres.table_bloat",
        "postgres.index_bloat",
        "postgres.unused_indexes",
        "postgres.seq_scan_heavy",
        "postgres.long_transactions",
        "postgres.idle_in_transaction",
        "postgres.lock_waits",
        "postgres.txn_wraparound",
        "postgres.tuning_effect (only after a diagnose config --apply in the last 30 days)",
        "metric.<name> (custom metrics listing afternoon)",
    ],
};

pub(super) async fn run(args: &AfternoonArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = Instant::now();
    let now = crate::state::now_secs();
    let th = &ctx.config.thresholds;
    let state_dir = ctx.state_dir();
    let mut history = History::load_or_warn(&state_dir, "today's peak is this run's count only");
    let min_bytes = i64::try_from(th.relation_min_bytes).unwrap_or(i64::MAX);
    let data = Mutex::new(Map::new());
    let current = Mutex::new(None::<(i64, i64)>);
    let slow_filter = SlowFilter {
        calls: th.slow_query_min_calls,
        mean_ms: th.slow_query_mean_ms,
        top: args.top,
    };

    let (pg_up, peak, cache, slow, tables, indexes, unused, seq, long, idle, locks, wrap, metrics) = tokio::join!(
        guarded("postgres.up", ctx.probe_timeout(), async {
            Ok(probes::postgres::up(ctx).await)
        }),
        pg_probe(ctx, "postgres.peak_connections", async {
            let pg = ctx.pg().await?;
            let c = probes::postgres::connection_counts(pg).await?;
            set(&current, (c.used, c.max));
            let key = probes::postgres::connections_key(&pg.options);
            let today = history.series(&key, crate::timefmt::start_of_local_day(now));
            let mut f = peak_finding(c.used, c.max, &today, th.connections_pct);
            f.summary
                .push_str(&crate::clients::own_sessions::excluded_note(c.own));
            Ok(vec![f])
        }),
        pg_probe(
            ctx,
            "postgres.cache_hit_ratio",
            probes::postgres::cache_hit_ratio(ctx, th.cache_hit_pct)
        ),
        pg_probe(ctx, "postgres.slow_queries", async {
            let (findings, rows) = performance::slow_queries(ctx.pg().await?, slow_filter).await?;
            put(&data, "slow_queries", &rows);
            Ok(findings)
        }),
        pg_probe(
            ctx,
            "postgres.table_bloat",
            bloat_probe(ctx, Kind::Table, min_bytes, args.exact, &data)
        ),
        pg_probe(
            ctx,
            "postgres.index_bloat",
            bloat_probe(ctx, Kind::Index, min_bytes, args.exact, &data)
        ),
        pg_probe(ctx, "postgres.unused_indexes", async {
            performance::unused_indexes(ctx.pg().await?, min_bytes).await
        }),
        pg_probe(ctx, "postgres.seq_scan_heavy", async {
            performance::seq_scans(
                ctx.pg().await?,
                ctx.timeouts(),
                min_bytes,
                th.slow_query_min_calls,
            )
            .await
        }),
        pg_probe(ctx, "postgres.long_transactions", async {
            sessions::long_transactions(ctx.pg().await?, th.long_transaction).await
        }),
        pg_probe(ctx, "postgres.idle_in_transaction", async {
            sessions::idle_in_transaction(ctx.pg().await?, th.idle_in_transaction).await
        }),
        pg_probe(ctx, "postgres.lock_waits", async {
            sessions::lock_waits(ctx.pg().await?, th.lock_wait).await
        }),
        pg_probe(ctx, "postgres.txn_wraparound", async {
            sessions::txn_wraparound(ctx.pg().await?, th.wraparound_pct).await
        }),
        crate::metrics::findings(ctx, "afternoon"),
    );

    if !args.no_record {
        if let (Ok(pg), Some((used, max))) = (ctx.pg().await, take(&current)) {
            record_connections(&mut history, &state_dir, &pg.options, (used, max), now);
        }
    }
    let mut report = Report::new("check afternoon");
    if let Some(f) = tuning_effect(ctx, &history, now).await {
        report.push(f);
    }
    for findings in [
        pg_up, peak, cache, slow, tables, indexes, unused, seq, long, idle, locks, wrap, metrics,
    ] {
        report.extend(findings);
    }
    let data = data.into_inner().unwrap_or_else(|e| e.into_inner());
    if !data.is_empty() {
        report.data = Some(Value::Object(data));
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// `postgres.tuning_effect` when `diagnose config --apply` changed this server's settings
/// within the window; nothing otherwise (or when PostgreSQL is not reachable: postgres.up
/// says so).
async fn tuning_effect(ctx: &Ctx, history: &History, now: i64) -> Option<Finding> {
    let pg = ctx.pg().await.ok()?;
    let server = format!("{}:{}", pg.options.host(), pg.options.port());
    let (at, before) = crate::tuning::effect::last_change(history, &server, now)?;
    Some(match crate::tuning::effect::counters(pg).await {
        Ok(c) => crate::tuning::effect::finding(at, before, now, c),
        Err(e) => Finding::unknown("postgres.tuning_effect", &e),
    })
}

fn set<T>(slot: &Mutex<Option<T>>, v: T) {
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
}

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// Rows for the JSON report's `data` object, under `key`.
fn put<T: serde::Serialize>(data: &Mutex<Map<String, Value>>, key: &str, rows: &T) {
    if let Ok(v) = serde_json::to_value(rows) {
        data.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), v);
    }
}

/// Table or index bloat; with `--exact` and no pgstattuple here: one UNKNOWN saying how to
/// install it (from the table probe only), then the estimate.
async fn bloat_probe(
    ctx: &Ctx,
    kind: Kind,
    min_bytes: i64,
    exact: bool,
    data: &Mutex<Map<String, Value>>,
) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let th = &ctx.config.thresholds;
    let mut out = Vec::new();
    let mut exact = exact;
    if exact && bloat::pgstattuple_schema(pg).await?.is_none() {
        exact = false;
        if kind == Kind::Table {
            out.push(
                Finding::new(
                    performance::bloat_id(kind),
                    Status::Unknown,
                    format!(
                        "--exact needs the pgstattuple extension, not installed in database {}: table and index bloat below are estimates",
                        pg.options.dbname()
                    ),
                )
                .subject("pgstattuple")
                .hint(bloat::PGSTATTUPLE_STEPS),
            );
        }
    }
    let rows = performance::bloat_rows(pg, kind, min_bytes, exact).await?;
    put(
        data,
        match kind {
            Kind::Table => "table_bloat",
            Kind::Index => "index_bloat",
        },
        &rows,
    );
    out.extend(performance::bloat_findings(
        kind,
        &rows,
        th.bloat_pct,
        th.bloat_wasted_bytes,
        min_bytes,
    ));
    Ok(out)
}

/// `postgres.peak_connections`: the largest client connection count recorded today (local
/// day; `check morning`, `check afternoon` and `monitor` record it) or now, against
/// max_connections.
pub fn peak_finding(
    now_used: i64,
    max: i64,
    today: &[(i64, f64)],
    limits: crate::config::Limits,
) -> Finding {
    let peak = today
        .iter()
        .map(|(_, v)| *v as i64)
        .chain([now_used])
        .max()
        .unwrap_or(now_used);
    let p = probes::pct(peak as f64, max as f64);
    Finding::new(
        "postgres.peak_connections",
        limits.status_above(p),
        format!(
            "today's peak {peak} of {max} connections ({p:.0}%) over {} earlier sample(s) and this run; {now_used} now",
            today.len()
        ),
    )
    .value(peak, "connections")
    .hint_unless_ok("the peak came close to max_connections: put PgBouncer (transaction pooling) in front or shrink the applications' pools before raising max_connections")
}

/// This run's client connection count goes into the run history (today's peak), with
/// max_connections (`opsbook report` draws the peaks against it).
fn record_connections(
    history: &mut History,
    dir: &std::path::Path,
    server: &crate::clients::pg::PgOptions,
    (used, max): (i64, i64),
    now: i64,
) {
    let values = [
        (probes::postgres::connections_key(server), used as f64),
        (probes::postgres::max_connections_key(server), max as f64),
    ]
    .into_iter()
    .collect();
    history.record_or_warn(dir, "check afternoon", values, now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    #[test]
    fn peak_is_the_largest_of_today_and_now() {
        let l = Limits {
            warning: Some(80.0),
            critical: Some(90.0),
        };
        let f = peak_finding(5, 100, &[(1, 12.0), (2, 85.0)], l);
        assert_eq!(f.value, serde_json::json!(85));
        assert_eq!(f.status, Status::Warning);
        let f = peak_finding(7, 100, &[], l);
        assert_eq!(f.value, serde_json::json!(7));
        assert_eq!(f.status, Status::Ok);
        assert_eq!(
            peak_finding(95, 100, &[(1, 3.0)], l).status,
            Status::Critical
        );
    }
}
