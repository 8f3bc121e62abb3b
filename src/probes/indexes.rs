//! Index usage from pg_stat_user_indexes (current database): the never-scanned indexes that
//! only cost writes, and the most used ones. Shared by `diagnose queries` and
//! `check afternoon`.

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::postgres::PgClient;

#[derive(Debug, Clone, Serialize)]
pub struct IndexUse {
    /// schema-qualified, quoted where needed
    pub index: String,
    pub table: String,
    pub scans: i64,
    pub bytes: i64,
}

/// The seed's two index queries, minus unique/primary indexes (they enforce constraints
/// even when never scanned). PG 9.4+.
const UNUSED_SQL: &str = "SELECT quote_ident(s.schemaname) || '.' || quote_ident(s.indexrelname),
       quote_ident(s.schemaname) || '.' || quote_ident(s.relname), s.idx_scan, pg_relation_size(s.indexrelid)
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
  AND pg_relation_size(s.indexrelid) >= $1
ORDER BY pg_relation_size(s.indexrelid) DESC, 1 LIMIT 50";
const USED_SQL: &str = "SELECT quote_ident(schemaname) || '.' || quote_ident(indexrelname),
       quote_ident(schemaname) || '.' || quote_ident(relname), idx_scan, pg_relation_size(indexrelid)
FROM pg_stat_user_indexes WHERE idx_scan > 0 ORDER BY idx_scan DESC LIMIT 20";

fn read(rows: Vec<tokio_postgres::Row>) -> anyhow::Result<Vec<IndexUse>> {
    rows.iter()
        .map(|r| {
            Ok(IndexUse {
                index: r.try_get(0)?,
                table: r.try_get(1)?,
                scans: r.try_get(2)?,
                bytes: r.try_get(3)?,
            })
        })
        .collect()
}

/// Indexes never scanned since the statistics reset, not unique, at least `min_bytes`,
/// largest first (at most 50).
pub async fn unused(pg: &PgClient, min_bytes: i64) -> anyhow::Result<Vec<IndexUse>> {
    read(
        pg.client
            .query(UNUSED_SQL, &[&min_bytes])
            .await
            .context("reading unused indexes from pg_stat_user_indexes")?,
    )
}

/// The 20 most scanned indexes.
pub async fn most_used(pg: &PgClient) -> anyhow::Result<Vec<IndexUse>> {
    read(
        pg.client
            .query(USED_SQL, &[])
            .await
            .context("reading the most used indexes from pg_stat_user_indexes")?,
    )
}

/// When the current database's statistics were last reset (None: never), as text.
pub async fn stats_reset(pg: &PgClient) -> anyhow::Result<Option<String>> {
    let row = pg
        .client
        .query_one(
            "SELECT to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .context("reading pg_stat_database.stats_reset")?;
    Ok(row.try_get(0)?)
}
