//! The afternoon performance numbers of the current database: slow statements
//! (pg_stat_statements), table and index bloat (probes::bloat), unused indexes and tables
//! read mostly by sequential scans.

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::postgres::PgClient;
use crate::config::Limits;
use crate::render::human_bytes;
use crate::report::{Finding, Status};
use crate::sql::one_line_text;
use crate::sql::quote_ident;

use super::bloat::{self, Kind, RelationBloat};
use super::index_advisor::{self, AdvisedTable};
use super::statements::{self, Filter, Order, Statement};

/// Which statements are slow ([`statements::Slow`]: at least `calls` calls and a mean of at
/// least the warning, else critical, of `mean_ms`); the `top` slowest by mean.
#[derive(Debug, Clone, Copy)]
pub struct SlowFilter {
    pub calls: u64,
    pub mean_ms: Limits,
    pub top: i64,
}

impl SlowFilter {
    /// The one definition of slow these thresholds make.
    pub fn definition(&self) -> statements::Slow {
        statements::Slow {
            mean_ms: self.min_mean_ms(),
            min_calls: i64::try_from(self.calls).unwrap_or(i64::MAX),
        }
    }

    pub fn min_mean_ms(&self) -> f64 {
        self.mean_ms
            .warning
            .or(self.mean_ms.critical)
            .unwrap_or(0.0)
    }
}

/// One slow statement as `check afternoon` reports it (report data `slow_queries`).
#[derive(Debug, Clone, Serialize)]
pub struct SlowStatement {
    #[serde(flatten)]
    pub statement: Statement,
    /// share of the database's total execution time, percent
    pub share_pct: f64,
}

pub fn slow_finding(s: &SlowStatement, mean_ms: Limits) -> Finding {
    let st = &s.statement;
    let status =
        Status::above(st.mean_ms, mean_ms.warning, mean_ms.critical).worst(Status::Warning);
    let text = one_line_text(&st.query, 200);
    Finding::new(
        "postgres.slow_queries",
        status,
        format!(
            "{} calls, mean {:.1} ms, max {:.1} ms, {:.1}% of the database's execution time: {}",
            st.calls,
            st.mean_ms,
            st.max_ms,
            s.share_pct,
            one_line_text(&st.query, 60)
        ),
    )
    .subject(st.queryid.to_string())
    // Microseconds kept: value_f64 would round a 55 ms mean to 0.06 s.
    .value((st.mean_ms * 1000.0).round() / 1_000_000.0, "seconds")
    .hint(format!(
        "look at its plan: `opsbook diagnose queries --explain {}` (a missing index shows as a Seq Scan with a Filter)",
        st.queryid
    ))
    .detail(vec![
        format!("calls {}", st.calls),
        format!("mean_ms {:.3}", st.mean_ms),
        format!("max_ms {:.3}", st.max_ms),
        format!("total_ms {:.3}", st.total_ms),
        format!("share_pct {:.1}", s.share_pct),
        format!("query {text}"),
    ])
}

/// `postgres.slow_queries`: one finding per slow statement of this database, one OK when
/// there is none, one UNKNOWN with the steps when pg_stat_statements is not installed here.
pub async fn slow_queries(
    pg: &PgClient,
    filter: SlowFilter,
) -> anyhow::Result<(Vec<Finding>, Vec<SlowStatement>)> {
    let Some(pgss) = statements::locate(pg).await? else {
        return Ok((
            vec![Finding::new(
                "postgres.slow_queries",
                Status::Unknown,
                format!(
                    "pg_stat_statements is not installed in database {}: slow statements cannot be read",
                    pg.options.dbname()
                ),
            )
            .hint(statements::ENABLE_STEPS)],
            Vec::new(),
        ));
    };
    let slow_def = filter.definition();
    let (top, total, count) = tokio::try_join!(
        statements::top(pg, &pgss, slow_def.filter(filter.top)),
        statements::total_ms(pg, &pgss),
        statements::count_slow(pg, &pgss, slow_def)
    )?;
    let slow: Vec<SlowStatement> = top
        .into_iter()
        .map(|statement| SlowStatement {
            share_pct: super::pct(statement.total_ms, total),
            statement,
        })
        .collect();
    if slow.is_empty() {
        return Ok((
            vec![Finding::ok(
                "postgres.slow_queries",
                slow_def.count_text(0, pg.options.dbname()),
            )
            .value(0, "statements")],
            slow,
        ));
    }
    // Each statement's finding says which of how many it is and what "slow" means here.
    let of = slow_def.count_text(count, pg.options.dbname());
    let findings = slow
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut f = slow_finding(s, filter.mean_ms);
            f.summary = format!("{} of {of}: {}", i + 1, f.summary);
            f
        })
        .collect();
    Ok((findings, slow))
}

/// Both bloat thresholds must be exceeded (a small table at 60 % wastes little; a huge
/// table at 5 % is not bloated): the milder of the two states.
pub fn bloat_status(b: &RelationBloat, pct: Limits, wasted: Limits) -> Status {
    let by_pct = Status::above(b.ratio_pct, pct.warning, pct.critical);
    let by_bytes = Status::above(b.wasted_bytes as f64, wasted.warning, wasted.critical);
    by_pct.min(by_bytes)
}

/// Finding id of a bloat kind.
pub fn bloat_id(kind: Kind) -> &'static str {
    match kind {
        Kind::Table => "postgres.table_bloat",
        Kind::Index => "postgres.index_bloat",
    }
}

/// One finding per relation (subject schema.name), one OK when none is above the floor.
pub fn bloat_findings(
    kind: Kind,
    rows: &[RelationBloat],
    pct: Limits,
    wasted: Limits,
    min_bytes: i64,
) -> Vec<Finding> {
    let id = bloat_id(kind);
    let noun = match kind {
        Kind::Table => "table",
        Kind::Index => "btree index",
    };
    if rows.is_empty() {
        return vec![Finding::ok(
            id,
            format!(
                "no {noun} of {} or more to check (thresholds.relation_min_bytes)",
                human_bytes(min_bytes as f64)
            ),
        )
        .value(0, "bytes")];
    }
    rows.iter()
        .map(|b| {
            if b.no_statistics && !b.exact {
                // Nothing to estimate from: saying 0 B wasted would be a guess dressed as OK.
                return Finding::new(
                    id,
                    Status::Unknown,
                    format!(
                        "no statistics for this {noun} of {}: its bloat cannot be estimated",
                        human_bytes(b.bytes as f64)
                    ),
                )
                .subject(format!("{}.{}", b.schema, b.name))
                .hint(format!(
                    "no statistics: ANALYZE it (ANALYZE {}), or use --exact (pgstattuple)",
                    quote_ident(&b.schema) + "." + &quote_ident(&b.table)
                ));
            }
            let status = bloat_status(b, pct, wasted);
            let how = if b.exact {
                "measured with pgstattuple"
            } else {
                "an estimate from pg_class and pg_stats as of the last VACUUM/ANALYZE"
            };
            let of = match kind {
                Kind::Table => String::new(),
                Kind::Index => format!(" (table {})", b.table),
            };
            let mut f = Finding::new(
                id,
                status,
                format!(
                    "{} wasted of {} ({:.1}%){of}: {how}",
                    human_bytes(b.wasted_bytes as f64),
                    human_bytes(b.bytes as f64),
                    b.ratio_pct
                ),
            )
            .subject(format!("{}.{}", b.schema, b.name))
            .value(b.wasted_bytes, "bytes");
            if status != Status::Ok {
                let target = format!("{}.{}", quote_ident(&b.schema), quote_ident(&b.name));
                f = f.hint(match kind {
                    Kind::Table => format!(
                        "confirm with --exact (pgstattuple), then give the space back: pg_repack -t {target} (online) or VACUUM FULL {target} (locks the table for the whole rewrite); and check why autovacuum falls behind on it"
                    ),
                    Kind::Index => format!(
                        "rebuild it online: REINDEX INDEX CONCURRENTLY {target} (PostgreSQL 12+)"
                    ),
                });
            }
            f
        })
        .collect()
}

/// The bloat of `kind` by estimate, or by pgstattuple when `exact` (the caller checks the
/// extension first and falls back to the estimate).
pub async fn bloat_rows(
    pg: &PgClient,
    kind: Kind,
    min_bytes: i64,
    exact: bool,
) -> anyhow::Result<Vec<RelationBloat>> {
    if exact {
        bloat::exact(pg, kind, min_bytes).await
    } else {
        bloat::estimate(pg, kind, min_bytes).await
    }
}

/// `postgres.unused_indexes`: one finding per never-scanned, non-unique index of at least
/// `min_bytes` (subject schema.index), one OK when there is none; the statistics reset time
/// says how long "never" is.
pub async fn unused_indexes(pg: &PgClient, min_bytes: i64) -> anyhow::Result<Vec<Finding>> {
    let (unused, reset) = tokio::try_join!(
        super::indexes::unused(pg, min_bytes),
        super::indexes::stats_reset(pg)
    )?;
    let since = match reset {
        Some(t) => format!("since the statistics reset at {t}"),
        None => "since the statistics were created (never reset)".to_string(),
    };
    if unused.is_empty() {
        return Ok(vec![Finding::ok(
            "postgres.unused_indexes",
            format!(
                "every non-unique index of {} or more was scanned {since}",
                human_bytes(min_bytes as f64)
            ),
        )
        .value(0, "bytes")]);
    }
    Ok(unused
        .iter()
        .map(|u| {
            Finding::new(
                "postgres.unused_indexes",
                Status::Warning,
                format!(
                    "{} on {} never scanned {since}",
                    human_bytes(u.bytes as f64),
                    u.table
                ),
            )
            .subject(u.index.clone())
            .value(u.bytes, "bytes")
            .hint(format!(
                "it slows every write to {}: check the standbys' pg_stat_user_indexes too, then DROP INDEX CONCURRENTLY {}",
                u.table, u.index
            ))
        })
        .collect())
}

/// A table and how its rows are read (pg_stat_user_tables).
#[derive(Debug, Clone, PartialEq)]
pub struct TableScans {
    pub schema: String,
    pub name: String,
    pub seq_scan: i64,
    pub idx_scan: i64,
    pub seq_tup_read: i64,
    pub idx_tup_fetch: i64,
    pub bytes: i64,
    pub columns: Vec<String>,
    /// the leading column of each index on the table
    pub indexed_first: Vec<String>,
}

/// Fewer sequential scans than this say nothing (a nightly pg_dump scans every table once).
pub const SEQ_SCAN_MIN: i64 = 20;

/// Read mostly by sequential scans: more seq scans than index scans, more rows read by
/// them than fetched by index, and at least SEQ_SCAN_MIN of them.
pub fn seq_scan_heavy(t: &TableScans) -> bool {
    t.seq_scan >= SEQ_SCAN_MIN && t.seq_scan > t.idx_scan && t.seq_tup_read > t.idx_tup_fetch
}

/// Tables of at least $1 bytes that were sequentially scanned. PG 9.4+.
const SCANS_SQL: &str = "SELECT t.schemaname::text, t.relname::text, t.seq_scan, \
       coalesce(t.idx_scan, 0), t.seq_tup_read, coalesce(t.idx_tup_fetch, 0), pg_relation_size(t.relid), \
       ARRAY(SELECT a.attname::text FROM pg_attribute a \
             WHERE a.attrelid = t.relid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum), \
       ARRAY(SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE i.indrelid = t.relid) \
     FROM pg_stat_user_tables t \
     WHERE pg_relation_size(t.relid) >= $1 AND t.seq_scan > 0 \
     ORDER BY t.seq_tup_read DESC LIMIT 50";

/// An index suggestion for each table from the plans of the statements (the one advisor,
/// `index_advisor::index_hits`): the first statement whose plan reads the table sequentially
/// and filters (or nested-loop joins) on its columns, when no index already leads with the
/// first of them.
pub async fn suggest_indexes(
    planner: &index_advisor::Planner<'_>,
    tables: &[&TableScans],
    texts: &[Statement],
) -> Vec<Option<(String, i64)>> {
    let advised: Vec<_> = tables
        .iter()
        .map(|t| AdvisedTable::new(&t.schema, &t.name, &t.columns, &t.indexed_first))
        .collect();
    let mut out = vec![None; tables.len()];
    for hit in index_advisor::index_hits(planner, &advised, texts).await {
        let slot = &mut out[hit.table];
        if slot.is_none() {
            *slot = Some((
                create_index_sql(tables[hit.table], &hit.columns),
                hit.statement.queryid,
            ));
        }
    }
    out
}

fn create_index_sql(table: &TableScans, cols: &[String]) -> String {
    format!(
        "CREATE INDEX CONCURRENTLY ON {}.{} ({});",
        quote_ident(&table.schema),
        quote_ident(&table.name),
        cols.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn seq_scan_finding(t: &TableScans, suggestion: Option<(String, i64)>) -> Finding {
    let seq_share = super::pct(
        t.seq_tup_read as f64,
        (t.seq_tup_read + t.idx_tup_fetch) as f64,
    );
    let hint = match suggestion {
        Some((sql, queryid)) => format!(
            "the plan of statement {queryid} reads it sequentially and filters on a column an index could lead with: {sql} (check the plan first: opsbook diagnose queries --explain {queryid})"
        ),
        None => "find the statements that scan it (`opsbook diagnose queries` plans them and suggests an index); a table read whole on purpose (reports, exports) needs none".to_string(),
    };
    Finding::new(
        "postgres.seq_scan_heavy",
        Status::Warning,
        format!(
            "{seq_share:.0}% of rows read by sequential scans ({} seq scans, {} index scans) on a table of {}",
            t.seq_scan,
            t.idx_scan,
            human_bytes(t.bytes as f64)
        ),
    )
    .subject(format!("{}.{}", t.schema, t.name))
    .value_f64(seq_share, "percent")
    .hint(hint)
}

/// `postgres.seq_scan_heavy`: one finding per table of at least `min_bytes` read mostly by
/// sequential scans, with an index suggested from the plans of the 50 statements with the
/// most total time (more than `min_calls` calls); one OK when there is none.
pub async fn seq_scans(
    pg: &PgClient,
    timeouts: crate::clients::postgres::SessionTimeouts,
    min_bytes: i64,
    min_calls: u64,
) -> anyhow::Result<Vec<Finding>> {
    let rows = pg
        .client
        .query(SCANS_SQL, &[&min_bytes])
        .await
        .context("reading pg_stat_user_tables")?;
    let tables = rows
        .iter()
        .map(|r| {
            Ok(TableScans {
                schema: r.try_get(0)?,
                name: r.try_get(1)?,
                seq_scan: r.try_get(2)?,
                idx_scan: r.try_get(3)?,
                seq_tup_read: r.try_get(4)?,
                idx_tup_fetch: r.try_get(5)?,
                bytes: r.try_get(6)?,
                columns: r.try_get(7)?,
                indexed_first: r.try_get(8)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context("reading a pg_stat_user_tables row")?;
    let heavy: Vec<&TableScans> = tables.iter().filter(|t| seq_scan_heavy(t)).collect();
    if heavy.is_empty() {
        return Ok(vec![Finding::ok(
            "postgres.seq_scan_heavy",
            format!(
                "no table of {} or more is read mostly by sequential scans",
                human_bytes(min_bytes as f64)
            ),
        )
        .value(0, "tables")]);
    }
    // The texts are only for the suggestion: without pg_stat_statements there is none.
    let texts = match statements::locate(pg).await {
        Ok(Some(pgss)) => statements::top(
            pg,
            &pgss,
            Filter {
                order: Order::Total,
                min_calls: i64::try_from(min_calls).unwrap_or(i64::MAX - 1) + 1,
                min_mean_ms: 0.0,
                limit: 50,
            },
        )
        .await
        .unwrap_or_default(),
        _ => Vec::new(),
    };
    let planner = index_advisor::Planner::new(pg, timeouts);
    let suggestions = suggest_indexes(&planner, &heavy, &texts).await;
    Ok(heavy
        .into_iter()
        .zip(suggestions)
        .map(|(t, suggestion)| seq_scan_finding(t, suggestion))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TableScans {
        TableScans {
            schema: "public".into(),
            name: "orders".into(),
            seq_scan: 500,
            idx_scan: 3,
            seq_tup_read: 50_000_000,
            idx_tup_fetch: 10,
            bytes: 100 << 20,
            columns: vec!["id".into(), "customer_id".into(), "status".into()],
            indexed_first: vec!["id".into()],
        }
    }

    fn statement(query: &str) -> Statement {
        Statement {
            queryid: 42,
            calls: 1000,
            total_ms: 1.0,
            mean_ms: 1.0,
            max_ms: 1.0,
            rows: 1,
            query: query.into(),
        }
    }

    #[test]
    fn heavy_means_mostly_sequential() {
        let mut t = table();
        assert!(seq_scan_heavy(&t));
        t.idx_scan = 10_000;
        assert!(!seq_scan_heavy(&t));
        let mut few = table();
        few.seq_scan = 3;
        assert!(!seq_scan_heavy(&few));
        let f = seq_scan_finding(&table(), None);
        assert_eq!(f.value, serde_json::json!(100.0));
        assert_eq!(f.subject.as_deref(), Some("public.orders"));
    }

    fn rel(bytes: i64, wasted: i64) -> RelationBloat {
        RelationBloat {
            kind: Kind::Table,
            schema: "public".into(),
            name: "t".into(),
            table: "t".into(),
            bytes,
            wasted_bytes: wasted,
            ratio_pct: super::super::pct(wasted as f64, bytes as f64),
            exact: false,
            no_statistics: false,
        }
    }

    #[test]
    fn bloat_needs_both_ratio_and_bytes() {
        let pct = Limits {
            warning: Some(20.0),
            critical: None,
        };
        let bytes = Limits {
            warning: Some(10.0 * 1024.0 * 1024.0),
            critical: None,
        };
        // Half of 28 MB: flagged.
        assert_eq!(
            bloat_status(&rel(28 << 20, 14 << 20), pct, bytes),
            Status::Warning
        );
        // Half of 4 MB: too little to matter.
        assert_eq!(bloat_status(&rel(4 << 20, 2 << 20), pct, bytes), Status::Ok);
        // 5 % of 1 GB: a lot of bytes but a normal ratio.
        assert_eq!(
            bloat_status(&rel(1 << 30, 50 << 20), pct, bytes),
            Status::Ok
        );
        let f = bloat_findings(Kind::Table, &[rel(28 << 20, 14 << 20)], pct, bytes, 0);
        assert_eq!(f[0].id, "postgres.table_bloat");
        assert!(f[0].summary.contains("an estimate"), "{}", f[0].summary);
        assert!(f[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("VACUUM FULL \"public\".\"t\""));
        assert_eq!(
            bloat_findings(Kind::Index, &[], pct, bytes, 1 << 20)[0].status,
            Status::Ok
        );
    }

    #[test]
    fn slow_statement_is_at_least_a_warning() {
        let s = SlowStatement {
            statement: statement("SELECT pg_sleep($1)"),
            share_pct: 90.0,
        };
        let f = slow_finding(
            &s,
            Limits {
                warning: Some(50.0),
                critical: Some(500.0),
            },
        );
        assert_eq!(f.status, Status::Warning);
        assert_eq!(f.subject.as_deref(), Some("42"));
        assert!(f.detail.contains(&"calls 1000".to_string()));
    }
}
