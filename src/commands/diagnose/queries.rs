//! `diagnose queries`: top statements from pg_stat_statements, the seed's auto-optimizer rules
//! as advice (an index for frequent sequential scans of large tables, memory for a low cache
//! hit ratio, pooling for high connection usage), unused and most used indexes, and
//! `--explain QUERYID`.
//!
//! The seed guessed the table and columns of a slow query from its text. Here the planner
//! says it (`probes::index_advisor`, shared with `check afternoon` and `bench --explain`):
//! each frequent statement that touches a large, sequentially scanned table is planned
//! generically (nothing executed), and the `Filter` of its `Seq Scan` names the columns.

use std::collections::BTreeMap;

use anyhow::{bail, Context as _};
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::clients::postgres::PgClient;
use crate::context::Ctx;
use crate::probes::index_advisor::{
    self as advisor, first_keyword, generic_plan, single_statement, words, AdvisedTable,
};
use crate::report::{Finding, Fit, Report, Section, Status};

use crate::sql::one_line_text;

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!(
        "{}{}",
        FINDING_IDS.help(),
        "\n\n\
Examples:\n  opsbook diagnose queries\n  opsbook diagnose queries --min-calls 100 --format json\n  \
opsbook diagnose queries --explain 4211897046528372861\n\n\
Needs pg_stat_statements in shared_preload_libraries and CREATE EXTENSION pg_stat_statements \
in the database it reads (the config's or --pg's).\n\n\
Exit status: 0 nothing to advise, 1 advice (an index to create, slow statements, low cache hit \
ratio, connection usage > 80%), 3 unknown.\nSee commands/diagnose.md."
    )
}

/// Top statements, index advice and unused indexes from pg_stat_statements
#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// How many statements each top list shows
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub limit: i64,
    /// Only tables with at least this many live rows get index advice
    #[arg(long, value_name = "ROWS", default_value_t = 10_000, value_parser = clap::value_parser!(i64).range(0..))]
    pub min_rows: i64,
    /// Only statements called at least this often get index advice (the seed's 1000)
    #[arg(long, value_name = "CALLS", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..))]
    pub min_calls: i64,
    /// EXPLAIN (ANALYZE, BUFFERS) the statement with this pg_stat_statements queryid (SELECT only, read-only transaction)
    #[arg(long, value_name = "QUERYID", allow_negative_numbers = true, value_parser = crate::probes::statements::parse_queryid)]
    pub explain: Option<i64>,
}

use crate::probes::statements::{self as pgss_probe, Filter, Order, Pgss, Statement};

async fn statements(
    pg: &PgClient,
    pgss: &Pgss,
    order: Order,
    min_calls: i64,
    limit: i64,
) -> anyhow::Result<Vec<Statement>> {
    pgss_probe::top(
        pg,
        pgss,
        Filter {
            order,
            min_calls,
            min_mean_ms: 0.0,
            limit,
        },
    )
    .await
}

pub async fn run(args: &QueriesArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let pg = ctx.pg().await.context("connecting to PostgreSQL to read its statistics\nhint: check --pg / DATABASE_URL / the config's postgres.url")?;
    let pgss = pgss_probe::locate(pg).await?;
    if let Some(id) = args.explain {
        let Some(pgss) = pgss else {
            bail!(
                "pg_stat_statements is not installed in database {}\nhint: {}",
                pg.options.dbname(),
                pgss_probe::ENABLE_STEPS
            );
        };
        return explain(pg, &pgss.schema, id).await;
    }
    let mut report = Report::new("diagnose queries");
    let mut data = serde_json::Map::new();
    match &pgss {
        None => report.push(
            Finding::new(
                "queries.statements",
                Status::Unknown,
                format!(
                    "pg_stat_statements is not installed in database {}: no statement statistics",
                    pg.options.dbname()
                ),
            )
            .hint(pgss_probe::ENABLE_STEPS),
        ),
        Some(pgss) => {
            let by_total = statements(pg, pgss, Order::Total, 1, args.limit).await?;
            let by_mean = statements(pg, pgss, Order::Mean, 1, args.limit).await?;
            // "Slow" as monitor and check afternoon count it; the true count, the detail
            // lists at most --limit of them.
            let def = pgss_probe::Slow::of(&ctx.config.thresholds);
            let count = pgss_probe::count_slow(pg, pgss, def).await?;
            let slow = pgss_probe::top(pg, pgss, def.filter(args.limit)).await?;
            report.extend(statement_findings(
                &by_total,
                &slow,
                count,
                &def.count_text(count, pg.options.dbname()),
            ));
            report
                .sections
                .push(statement_section("Top statements by total time", &by_total));
            report
                .sections
                .push(statement_section("Top statements by mean time", &by_mean));
            let frequent = statements(pg, pgss, Order::Total, args.min_calls, 200).await?;
            let advice = index_advice(pg, &frequent, args.min_rows).await?;
            report.extend(advice_findings(&advice, args));
            data.insert("top_by_total".into(), serde_json::to_value(&by_total)?);
            data.insert("top_by_mean".into(), serde_json::to_value(&by_mean)?);
            data.insert("index_suggestions".into(), serde_json::to_value(&advice)?);
        }
    }
    report.extend(cache_and_connections(pg, &ctx.config.thresholds).await?);
    let unused = crate::probes::indexes::unused(pg, 0).await?;
    let used = crate::probes::indexes::most_used(pg).await?;
    report.push(unused_finding(&unused));
    if !unused.is_empty() {
        report.sections.push(Section {
            title: "Unused indexes (idx_scan = 0, not unique)".into(),
            columns: vec!["INDEX".into(), "TABLE".into(), "SIZE".into()],
            rows: unused
                .iter()
                .map(|u| {
                    vec![
                        u.index.clone(),
                        u.table.clone(),
                        crate::render::human_bytes(u.bytes as f64),
                    ]
                })
                .collect(),
            fit: Vec::new(),
        });
    }
    if !used.is_empty() {
        report.sections.push(Section {
            title: "Most used indexes".into(),
            columns: vec![
                "INDEX".into(),
                "TABLE".into(),
                "SCANS".into(),
                "SIZE".into(),
            ],
            rows: used
                .iter()
                .map(|u| {
                    vec![
                        u.index.clone(),
                        u.table.clone(),
                        u.scans.to_string(),
                        crate::render::human_bytes(u.bytes as f64),
                    ]
                })
                .collect(),
            fit: Vec::new(),
        });
    }
    data.insert("unused_indexes".into(), serde_json::to_value(&unused)?);
    data.insert("most_used_indexes".into(), serde_json::to_value(&used)?);
    report.data = Some(Value::Object(data));
    Ok(report)
}

fn statement_section(title: &str, rows: &[Statement]) -> Section {
    Section {
        title: title.to_string(),
        columns: ["QUERYID", "CALLS", "TOTAL", "MEAN", "ROWS", "QUERY"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows: rows
            .iter()
            .map(|s| {
                vec![
                    s.queryid.to_string(),
                    s.calls.to_string(),
                    format!("{:.1} ms", s.total_ms),
                    format!("{:.2} ms", s.mean_ms),
                    s.rows.to_string(),
                    one_line_text(&s.query, 70),
                ]
            })
            .collect(),
        // The queryid is what `diagnose queries --explain` takes: never cut; the text is.
        fit: vec![
            Fit::Whole,
            Fit::Optional(2),
            Fit::Optional(1),
            Fit::Optional(3),
            Fit::Optional(4),
            Fit::Text,
        ],
    }
}

fn statement_findings(
    by_total: &[Statement],
    slow: &[Statement],
    slow_count: i64,
    counted: &str,
) -> Vec<Finding> {
    let top = match by_total.first() {
        Some(s) => Finding::ok(
            "queries.statements",
            format!(
                "the statement with the most total time: {:.0} ms in {} calls ({:.2} ms each), queryid {}",
                s.total_ms, s.calls, s.mean_ms, s.queryid
            ),
        )
        .value(s.total_ms / 1000.0, "seconds")
        .detail(vec![one_line_text(&s.query, 500)]),
        None => Finding::ok("queries.statements", "no statement recorded yet in this database"),
    };
    let mut sf = Finding::new(
        "queries.slow",
        if slow_count == 0 {
            Status::Ok
        } else {
            Status::Warning
        },
        if slow_count > slow.len() as i64 {
            format!("{counted} (the {} slowest listed)", slow.len())
        } else {
            counted.to_string()
        },
    )
    .value(slow_count, "statements");
    if slow_count > 0 {
        sf = sf
            .hint("look at their plans: `opsbook diagnose queries --explain QUERYID` (SELECT statements)")
            .detail(
                slow.iter()
                    .map(|s| format!("{} ({:.0} ms mean, {} calls): {}", s.queryid, s.mean_ms, s.calls, one_line_text(&s.query, 200)))
                    .collect(),
            );
    }
    vec![top, sf]
}

/// A table that is scanned sequentially, large enough for it to matter.
#[derive(Debug, Clone)]
struct ScannedTable {
    qualified: String,
    name: String,
    schema: String,
    seq_scan: i64,
    live_rows: i64,
    columns: Vec<String>,
    /// leading column of every existing index
    indexed_first: Vec<String>,
}

/// PG 9.4+. Columns and the leading column of each index come along so the advice can name
/// real columns and skip a column that already leads an index.
const SCANNED_SQL: &str =
    "SELECT t.relid, quote_ident(t.schemaname) || '.' || quote_ident(t.relname),
       t.relname::text, t.schemaname::text, t.seq_scan, t.n_live_tup,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
       ARRAY(SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = t.relid)
FROM pg_stat_user_tables t
WHERE t.n_live_tup >= $1 AND t.seq_scan > 0
ORDER BY t.seq_tup_read DESC LIMIT 50";

/// One suggested index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSuggestion {
    pub table: String,
    pub columns: Vec<String>,
    pub sql: String,
    pub calls: i64,
    pub mean_ms: f64,
    pub seq_scans: i64,
    pub live_rows: i64,
    #[serde(serialize_with = "pgss_probe::queryid_json::many")]
    pub queryids: Vec<i64>,
    pub example: String,
}

async fn index_advice(
    pg: &PgClient,
    frequent: &[Statement],
    min_rows: i64,
) -> anyhow::Result<Vec<IndexSuggestion>> {
    let rows = pg
        .client
        .query(SCANNED_SQL, &[&min_rows])
        .await
        .context("reading pg_stat_user_tables for sequentially scanned tables")?;
    let tables: Vec<ScannedTable> = rows
        .iter()
        .map(|r| {
            Ok(ScannedTable {
                qualified: r.try_get(1)?,
                name: r.try_get(2)?,
                schema: r.try_get(3)?,
                seq_scan: r.try_get(4)?,
                live_rows: r.try_get(5)?,
                columns: r.try_get(6)?,
                indexed_first: r.try_get(7)?,
            })
        })
        .collect::<anyhow::Result<_>>()
        .context("reading a pg_stat_user_tables row")?;
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: BTreeMap<(String, Vec<String>), IndexSuggestion> = BTreeMap::new();
    let advised: Vec<_> = tables
        .iter()
        .map(|t| AdvisedTable::new(&t.schema, &t.name, &t.columns, &t.indexed_first))
        .collect();
    let planner = advisor::Planner::on(pg);
    for hit in advisor::index_hits(&planner, &advised, frequent).await {
        let (t, s, cols) = (&tables[hit.table], hit.statement, hit.columns);
        let e = found
            .entry((t.qualified.clone(), cols.clone()))
            .or_insert_with(|| IndexSuggestion {
                table: t.qualified.clone(),
                columns: cols.clone(),
                sql: create_index_sql(t, &cols),
                calls: 0,
                mean_ms: s.mean_ms,
                seq_scans: t.seq_scan,
                live_rows: t.live_rows,
                queryids: Vec::new(),
                example: one_line_text(&s.query, 300),
            });
        e.calls += s.calls;
        e.mean_ms = e.mean_ms.max(s.mean_ms);
        e.queryids.push(s.queryid);
    }
    let mut out: Vec<IndexSuggestion> = found.into_values().collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.calls));
    Ok(out)
}

fn create_index_sql(t: &ScannedTable, cols: &[String]) -> String {
    let mut name = format!("{}_{}_idx", t.name, cols.join("_"));
    if name.len() > 63 {
        let mut cut = 59;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name.push_str("_idx");
    }
    format!(
        "CREATE INDEX CONCURRENTLY {} ON {} ({});",
        crate::sql::quote_ident_if_needed(&name),
        t.qualified,
        cols.iter()
            .map(|c| crate::sql::quote_ident_if_needed(c))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn advice_findings(advice: &[IndexSuggestion], args: &QueriesArgs) -> Vec<Finding> {
    if advice.is_empty() {
        return vec![Finding::ok(
            "queries.index_suggestion",
            format!(
                "no statement called {}+ times scans a table of {}+ rows sequentially",
                args.min_calls, args.min_rows
            ),
        )];
    }
    advice
        .iter()
        .map(|a| {
            Finding::new(
                "queries.index_suggestion",
                Status::Warning,
                format!(
                    "{} ({} rows, {} sequential scans) is scanned by statements called {} times ({:.2} ms mean): index ({})",
                    a.table,
                    a.live_rows,
                    a.seq_scans,
                    a.calls,
                    a.mean_ms,
                    a.columns.join(", ")
                ),
            )
            .subject(format!("{}({})", a.table, a.columns.join(",")))
            .value(a.calls, "calls")
            .hint(format!("{} (builds without blocking writes; run it in a quiet hour, outside a transaction)", a.sql))
            .detail(vec![
                format!("queryids: {}", a.queryids.iter().map(|q| q.to_string()).collect::<Vec<_>>().join(", ")),
                format!("e.g. {}", a.example),
            ])
        })
        .collect()
}

/// This database's cache hit ratio and the cluster's connection usage: the seed's
/// auto-optimizer rules 3 and 4.
const CACHE_CONN_SQL: &str =
    "SELECT (SELECT blks_hit::float8 FROM pg_stat_database WHERE datname = current_database()),
       (SELECT blks_read::float8 FROM pg_stat_database WHERE datname = current_database()),
       current_setting('max_connections')::float8";

async fn cache_and_connections(
    pg: &PgClient,
    th: &crate::config::Thresholds,
) -> anyhow::Result<Vec<Finding>> {
    let r = pg
        .client
        .query_one(CACHE_CONN_SQL, &[])
        .await
        .context("reading pg_stat_database and pg_stat_activity")?;
    let hit: f64 = r.get::<_, Option<f64>>(0).unwrap_or(0.0);
    let read: f64 = r.get::<_, Option<f64>>(1).unwrap_or(0.0);
    let max: f64 = r.get(2);
    // opsbook's own sessions are no clients of the server's.
    let conns = crate::probes::postgres::connection_counts(pg).await?;
    let used = conns.used as f64;
    let ratio = crate::probes::pct(hit, hit + read);
    let mut cache = if hit + read < 1000.0 {
        Finding::ok(
            "queries.cache_hit_ratio",
            format!(
                "{ratio:.1}% of {:.0} block reads from cache: too few reads to judge",
                hit + read
            ),
        )
    } else {
        Finding::new(
            "queries.cache_hit_ratio",
            Status::below(ratio, th.cache_hit_pct.warning, th.cache_hit_pct.critical),
            format!("{ratio:.1}% of this database's block reads are served from shared_buffers"),
        )
    }
    .value_f64(ratio, "percent");
    if cache.status != Status::Ok {
        cache = cache.hint("memory advice: raise shared_buffers toward 25% of RAM and effective_cache_size toward 75% (`opsbook diagnose memory` checks both against this host), or index the statements that read most (shared_blks_read)");
    }
    let usage = crate::probes::pct(used, max);
    let ustatus = if usage > 80.0 {
        Status::Warning
    } else {
        Status::Ok
    };
    let mut conn = Finding::new(
        "queries.connection_usage",
        ustatus,
        format!(
            "{used:.0} of {max:.0} connections in use ({usage:.0}%){}",
            crate::clients::own_sessions::excluded_note(conns.own)
        ),
    )
    .value_f64(usage, "percent");
    if ustatus != Status::Ok {
        conn = conn.hint("pooling advice: put PgBouncer (transaction pooling) in front, or shrink each application's pool; raising max_connections costs memory per connection");
    }
    Ok(vec![cache, conn])
}

use crate::probes::indexes::IndexUse;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "diagnose queries",
    page: "commands/diagnose.md",
    ids: &[
        "queries.statements",
        "queries.slow",
        "queries.index_suggestion",
        "queries.cache_hit_ratio",
        "queries.connection_usage",
        "queries.unused_indexes",
        "queries.explain",
    ],
};

fn unused_finding(unused: &[IndexUse]) -> Finding {
    let bytes: i64 = unused.iter().map(|u| u.bytes).sum();
    let mut f = Finding::ok(
        "queries.unused_indexes",
        format!(
            "{} index(es) never scanned since the statistics reset, {} in all",
            unused.len(),
            crate::render::human_bytes(bytes as f64)
        ),
    )
    .value(unused.len(), "indexes");
    if !unused.is_empty() {
        f = f
            .hint("each one slows every write: after checking replicas and how long ago the statistics were reset, DROP INDEX CONCURRENTLY the ones nobody needs")
            .detail(unused.iter().take(10).map(|u| format!("{} on {}", u.index, u.table)).collect());
    }
    f
}

/// Functions with effects a read-only transaction does not stop.
const EFFECTFUL: &[&str] = &[
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_switch_wal",
    "pg_promote",
    "pg_notify",
    "dblink",
    "dblink_exec",
    "pg_advisory_lock",
    "pg_advisory_xact_lock",
    "pg_sleep",
    "lo_export",
    "lo_import",
];

/// Whether `query` is a plain SELECT (no data-modifying CTE, no effectful function).
pub fn is_plain_select(query: &str) -> Result<(), String> {
    if single_statement(query).is_err() {
        return Err("its text contains `;` (it could hold a second statement)".to_string());
    }
    let first = first_keyword(query);
    if !matches!(first.as_str(), "select" | "with" | "values" | "table") {
        return Err(format!(
            "it is a {} statement, not a SELECT",
            first.to_uppercase()
        ));
    }
    for w in words(query) {
        let lw = w.to_ascii_lowercase();
        if matches!(
            lw.as_str(),
            "insert" | "update" | "delete" | "merge" | "into"
        ) {
            return Err(format!(
                "it contains {} (a data-modifying or SELECT INTO statement)",
                lw.to_uppercase()
            ));
        }
        if EFFECTFUL.contains(&lw.as_str()) {
            return Err(format!(
                "it calls {lw}(), whose effect a read-only transaction does not stop"
            ));
        }
    }
    Ok(())
}

async fn explain(pg: &PgClient, schema: &str, queryid: i64) -> anyhow::Result<Report> {
    let sql = format!(
        "SELECT query FROM {schema}.pg_stat_statements \
         WHERE queryid = $1 AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
    );
    let query: String = pg
        .client
        .query_opt(&sql, &[&queryid])
        .await
        .context("looking up the queryid in pg_stat_statements")?
        .map(|r| r.get(0))
        .ok_or_else(|| anyhow::anyhow!(
            "no statement with queryid {queryid} in pg_stat_statements for database {}\nhint: take a queryid from `opsbook diagnose queries` run against the same database",
            pg.options.dbname()
        ))?;
    if let Err(why) = is_plain_select(&query) {
        bail!(
            "refusing to EXPLAIN ANALYZE queryid {queryid}: {why}; ANALYZE runs the statement\nhint: EXPLAIN it yourself without ANALYZE, or with ANALYZE inside BEGIN; ... ROLLBACK on a copy of the database"
        );
    }
    let has_params = query
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && w[1].is_ascii_digit());
    let c = &pg.client;
    let mut report = Report::new("diagnose queries");
    let (plan_text, how) = if has_params {
        // Normalized constants ($1 ...) have no values to run with: show the generic plan.
        let v = generic_plan(pg, &query)
            .await
            .with_context(|| format!("planning queryid {queryid}"))?;
        (plan_lines_from_json(&v), "generic plan (EXPLAIN without ANALYZE: the statement has parameters $n whose values pg_stat_statements does not keep)")
    } else {
        c.batch_execute("BEGIN TRANSACTION READ ONLY")
            .await
            .context("starting a read-only transaction")?;
        let res = c
            .simple_query(&format!(
                "EXPLAIN (ANALYZE, BUFFERS) {}",
                single_statement(&query)?
            ))
            .await
            .with_context(|| format!("running EXPLAIN (ANALYZE, BUFFERS) of queryid {queryid}"));
        let _ = c.batch_execute("ROLLBACK").await;
        let lines: Vec<String> = res?
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .collect();
        (
            lines,
            "EXPLAIN (ANALYZE, BUFFERS) in a read-only transaction, rolled back",
        )
    };
    let exec = plan_text
        .iter()
        .find(|l| l.trim_start().starts_with("Execution Time"))
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    report.push(
        Finding::ok("queries.explain", format!("{how}{exec}"))
            .subject(queryid.to_string())
            .detail(vec![one_line_text(&query, 500)]),
    );
    report.sections.push(Section {
        title: format!("Plan of queryid {queryid}"),
        columns: vec!["QUERY PLAN".into()],
        rows: plan_text.iter().map(|l| vec![l.clone()]).collect(),
        fit: Vec::new(),
    });
    report.data = Some(
        serde_json::json!({ "queryid": queryid.to_string(), "query": query, "plan": plan_text }),
    );
    Ok(report)
}

/// A readable outline of a JSON plan: node type, relation and filter, indented.
fn plan_lines_from_json(v: &Value) -> Vec<String> {
    fn walk(node: &Value, depth: usize, out: &mut Vec<String>) {
        let Some(o) = node.as_object() else { return };
        let mut line = format!(
            "{}{}",
            "  ".repeat(depth),
            o.get("Node Type").and_then(Value::as_str).unwrap_or("?")
        );
        if let Some(r) = o.get("Relation Name").and_then(Value::as_str) {
            line.push_str(&format!(" on {r}"));
        }
        if let Some(c) = o.get("Total Cost").and_then(Value::as_f64) {
            line.push_str(&format!(
                " (cost {c:.2}, rows {})",
                o.get("Plan Rows").and_then(Value::as_f64).unwrap_or(0.0)
            ));
        }
        out.push(line);
        for k in ["Index Cond", "Filter", "Hash Cond", "Join Filter"] {
            if let Some(f) = o.get(k).and_then(Value::as_str) {
                out.push(format!("{}  {k}: {f}", "  ".repeat(depth)));
            }
        }
        if let Some(Value::Array(children)) = o.get("Plans") {
            for c in children {
                walk(c, depth + 1, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(plan) = v.get(0).and_then(|x| x.get("Plan")) {
        walk(plan, 0, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::index_advisor::mentions;

    #[test]
    fn select_guard() {
        assert!(is_plain_select("SELECT * FROM t WHERE a = $1").is_ok());
        assert!(is_plain_select("/* app */ (SELECT 1)").is_ok());
        assert!(is_plain_select("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x").is_err());
        assert!(is_plain_select("UPDATE t SET a = 1").is_err());
        assert!(is_plain_select("SELECT pg_terminate_backend(pid) FROM pg_stat_activity").is_err());
        assert!(is_plain_select("SELECT * INTO t2 FROM t").is_err());
        assert!(is_plain_select("SELECT 'delete' AS word").is_ok());
        assert!(is_plain_select("SELECT 1; DROP TABLE t").is_err());
        assert!(is_plain_select("SELECT 1;").is_ok());
    }

    #[test]
    fn index_sql_names_table_and_columns() {
        let t = ScannedTable {
            qualified: "public.orders".into(),
            name: "orders".into(),
            schema: "public".into(),
            seq_scan: 10,
            live_rows: 100,
            columns: vec![],
            indexed_first: vec![],
        };
        assert_eq!(
            create_index_sql(&t, &["customer_id".into(), "Status".into()]),
            "CREATE INDEX CONCURRENTLY \"orders_customer_id_Status_idx\" ON public.orders (customer_id, \"Status\");"
        );
    }

    #[test]
    fn plan_outline_and_mentions() {
        let plan: Value = serde_json::from_str(r#"[{"Plan": {"Node Type": "Aggregate", "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "orders", "Schema": "public", "Filter": "(customer_id = $1)"}]}}]"#).unwrap();
        assert_eq!(plan_lines_from_json(&plan)[1], "  Seq Scan on orders");
        assert!(mentions(
            "select count(*) from Orders where x = $1",
            "orders"
        ));
        assert!(!mentions("select * from orders_archive", "orders"));
    }
}
