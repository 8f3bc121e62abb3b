//! Table and index bloat: how many bytes a relation holds beyond what its live rows need.
//!
//! `estimate` reads only the catalog (pg_class.relpages/reltuples and pg_stats
//! avg_width/null_frac, as of the last VACUUM/ANALYZE) and follows check_postgres's
//! `--action=bloat` arithmetic for tables: tuple size = aligned(header 23 + null bitmap) +
//! aligned(sum of (1 - null_frac) * avg_width) + 4 bytes of line pointer, packed into
//! block_size - 20 bytes per page; "expected pages" (otta) = ceil(reltuples * tuple / page).
//! Wasted = (relpages - otta) * block_size. A freshly loaded and VACUUM ANALYZEd table reads
//! as about 0 wasted (check_postgres: 1.0x).
//!
//! Two deliberate departures from check_postgres, both documented in commands/check.md:
//! dropped columns are not counted (check_postgres counts them as 2048-byte columns, which
//! hides the bloat of any table that ever dropped a column), and indexes are estimated from
//! their *own* columns' widths (btree only, leaf fillfactor 90) instead of check_postgres's
//! "very rough approximation" from the whole table row, which never flags an index narrower
//! than its table.
//!
//! `exact` reads every page with pgstattuple (pgstattuple() for tables, pgstatindex() for
//! btree indexes): precise, but a full read of each relation.

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::postgres::PgClient;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Table,
    Index,
}

/// The bloat of one relation.
#[derive(Debug, Clone, Serialize)]
pub struct RelationBloat {
    pub kind: Kind,
    pub schema: String,
    pub name: String,
    /// For an index: its table. For a table: the table itself (same as `name`).
    pub table: String,
    /// Size on disk of the relation (main fork), bytes.
    pub bytes: i64,
    /// Bytes beyond what the live rows need.
    pub wasted_bytes: i64,
    /// wasted_bytes as a percent of the relation's size.
    pub ratio_pct: f64,
    /// true when measured with pgstattuple, false for the catalog estimate.
    pub exact: bool,
    /// The estimate had nothing to go on: no pg_stats row for any of its columns, or a
    /// relation never vacuumed nor analyzed (reltuples -1, relpages 0). Its wasted bytes
    /// then mean nothing (a never-analyzed, 90 %-deleted table read as 0 B).
    pub no_statistics: bool,
}

/// The steps to make `--exact` work, for findings and errors.
pub const PGSTATTUPLE_STEPS: &str = "install pgstattuple: run CREATE EXTENSION pgstattuple in this database (it ships with postgresql-contrib; reading it needs superuser or the pg_stat_scan_tables role)";

/// Tuple header of a heap row (PostgreSQL 8.3+), bytes.
const HEAP_TUPLE_HEADER: f64 = 23.0;
/// What check_postgres leaves of a page for tuples: block_size - 20.
const PAGE_OVERHEAD: f64 = 20.0;
/// Line pointer per tuple, bytes.
const ITEM_ID: f64 = 4.0;
/// IndexTupleData header, bytes.
const INDEX_TUPLE_HEADER: f64 = 8.0;
/// Page header (24) + btree special space (16), bytes.
const BTREE_PAGE_OVERHEAD: f64 = 40.0;
/// Default btree leaf fillfactor, percent: a fresh index leaves 10 % of each leaf free.
const BTREE_FILLFACTOR: f64 = 90.0;

/// `x` rounded up to a multiple of `ma` (MAXALIGN); works on fractional widths like
/// check_postgres's numeric arithmetic.
pub fn align_up(x: f64, ma: f64) -> f64 {
    let rem = x % ma;
    if rem == 0.0 {
        x
    } else {
        x + ma - rem
    }
}

/// The catalog numbers of one table that the estimate needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TableStats {
    pub reltuples: f64,
    /// sum over live columns of (1 - null_frac) * avg_width (2048 when a column has no stats)
    pub datawidth: f64,
    /// the largest null_frac of any column
    pub max_null_frac: f64,
    /// how many columns have NULLs (null bitmap size)
    pub nullable_cols: i64,
    pub block_size: f64,
    /// MAXALIGN: 8 on 64-bit servers
    pub ma: f64,
}

/// Expected pages of a table without bloat (check_postgres's `otta`).
pub fn table_expected_pages(s: &TableStats) -> f64 {
    let hdr = HEAP_TUPLE_HEADER;
    let datahdr = s.datawidth + align_up(hdr, s.ma);
    let nullhdr = hdr + 1.0 + (s.nullable_cols / 8) as f64;
    let nullhdr2 = s.max_null_frac * align_up(nullhdr, s.ma);
    let tuple = align_up(datahdr, s.ma) + nullhdr2 + ITEM_ID;
    if s.reltuples <= 0.0 {
        return 0.0;
    }
    (s.reltuples * tuple / (s.block_size - PAGE_OVERHEAD)).ceil()
}

/// The catalog numbers of one btree index that the estimate needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexStats {
    pub reltuples: f64,
    /// sum over the index's columns of (1 - null_frac) * avg_width
    pub datawidth: f64,
    pub has_nulls: bool,
    pub block_size: f64,
    pub ma: f64,
}

/// Expected pages of a btree index without bloat: leaves at fillfactor 90 plus the metapage.
pub fn index_expected_pages(s: &IndexStats) -> f64 {
    if s.reltuples <= 0.0 {
        return 1.0;
    }
    let header = if s.has_nulls {
        align_up(INDEX_TUPLE_HEADER + 1.0, s.ma)
    } else {
        INDEX_TUPLE_HEADER
    };
    let tuple = align_up(header + s.datawidth, s.ma) + ITEM_ID;
    let per_page = (s.block_size - BTREE_PAGE_OVERHEAD) * BTREE_FILLFACTOR / 100.0;
    (s.reltuples * tuple / per_page).ceil() + 1.0
}

/// (wasted bytes, percent of the relation) from its pages and the expected pages.
pub fn waste(relpages: i64, expected_pages: f64, block_size: i64) -> (i64, f64) {
    let expected = expected_pages.max(0.0) as i64;
    if relpages <= 0 || relpages <= expected {
        return (0, 0.0);
    }
    let wasted = (relpages - expected) * block_size;
    (
        wasted,
        super::pct(wasted as f64, (relpages * block_size) as f64),
    )
}

/// Block size and MAXALIGN the way check_postgres reads them.
const CONSTANTS: &str = "current_setting('block_size')::int8 AS bs, \
     CASE WHEN version() ~ 'mingw32' OR version() ~ '64-bit' THEN 8 ELSE 4 END::int8 AS ma";

/// User tables (not temp, not catalogs) of at least $1 bytes with their pg_stats widths.
/// PostgreSQL 10+ (pg_stats.inherited exists since 9.0).
fn table_sql() -> String {
    format!(
        "WITH constants AS (SELECT {CONSTANTS}) \
         SELECT n.nspname::text, c.relname::text, c.relpages::int8, pg_relation_size(c.oid), \
           c.reltuples::float8, \
           coalesce(sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 2048)), 0)::float8, \
           coalesce(max(coalesce(s.null_frac, 0)), 0)::float8, \
           (SELECT count(*) FROM pg_stats s2 WHERE s2.null_frac <> 0 \
              AND s2.schemaname = n.nspname AND s2.tablename = c.relname)::int8, \
           k.bs, k.ma, count(s.attname)::int8 \
         FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN constants k \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname \
           AND s.inherited = false AND s.attname = a.attname \
         WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname !~ '^pg_toast' \
           AND pg_relation_size(c.oid) >= $1 \
         GROUP BY n.nspname, c.relname, c.oid, c.relpages, c.reltuples, k.bs, k.ma \
         ORDER BY 1, 2"
    )
}

/// Btree indexes of at least $1 bytes with the widths of their own columns (plain columns
/// from the table's pg_stats, expressions from the index's own pg_stats rows).
fn index_sql() -> String {
    format!(
        "WITH constants AS (SELECT {CONSTANTS}) \
         SELECT n.nspname::text, i.relname::text, t.relname::text, i.relpages::int8, \
           pg_relation_size(i.oid), i.reltuples::float8, \
           coalesce(sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 1024)), 0)::float8, \
           coalesce(bool_or(coalesce(s.null_frac, 0) <> 0), false), \
           k.bs, k.ma, count(s.attname)::int8 \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = i.relnamespace \
         JOIN pg_am am ON am.oid = i.relam AND am.amname = 'btree' \
         CROSS JOIN constants k \
         JOIN pg_attribute a ON a.attrelid = i.oid AND a.attnum > 0 \
         LEFT JOIN pg_attribute ta ON ta.attrelid = t.oid AND ta.attnum = x.indkey[a.attnum - 1] \
           AND ta.attnum > 0 \
         LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.inherited = false \
           AND ((ta.attname IS NOT NULL AND s.tablename = t.relname AND s.attname = ta.attname) \
             OR (ta.attname IS NULL AND s.tablename = i.relname AND s.attname = a.attname)) \
         WHERE i.relpersistence <> 't' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname !~ '^pg_toast' \
           AND pg_relation_size(i.oid) >= $1 \
         GROUP BY n.nspname, i.relname, t.relname, i.oid, i.relpages, i.reltuples, k.bs, k.ma \
         ORDER BY 1, 2"
    )
}

/// The catalog estimate for every table or btree index of at least `min_bytes`, largest
/// waste first.
pub async fn estimate(
    pg: &PgClient,
    kind: Kind,
    min_bytes: i64,
) -> anyhow::Result<Vec<RelationBloat>> {
    let (sql, what, row_what) = match kind {
        Kind::Table => (
            table_sql(),
            "estimating table bloat from pg_class and pg_stats",
            "reading a table bloat row",
        ),
        Kind::Index => (
            index_sql(),
            "estimating index bloat from pg_class and pg_stats",
            "reading an index bloat row",
        ),
    };
    let rows = pg.client.query(&sql, &[&min_bytes]).await.context(what)?;
    let mut out = rows
        .iter()
        .map(|r| match kind {
            Kind::Table => table_estimate(r),
            Kind::Index => index_estimate(r),
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context(row_what)?;
    sort(&mut out);
    Ok(out)
}

/// A row of `table_sql` as the table's estimated bloat.
fn table_estimate(r: &tokio_postgres::Row) -> anyhow::Result<RelationBloat> {
    let bs: i64 = r.try_get(8)?;
    let stats = TableStats {
        reltuples: r.try_get(4)?,
        datawidth: r.try_get(5)?,
        max_null_frac: r.try_get(6)?,
        nullable_cols: r.try_get(7)?,
        block_size: bs as f64,
        ma: r.try_get::<_, i64>(9)? as f64,
    };
    let name: String = r.try_get(1)?;
    let relation = (r.try_get(0)?, name.clone(), name);
    let size = (r.try_get(3)?, r.try_get(2)?, bs);
    let expected = || table_expected_pages(&stats);
    Ok(estimated(
        Kind::Table,
        relation,
        size,
        (r.try_get(10)?, stats.reltuples),
        expected,
    ))
}

/// A row of `index_sql` as the index's estimated bloat.
fn index_estimate(r: &tokio_postgres::Row) -> anyhow::Result<RelationBloat> {
    let bs: i64 = r.try_get(8)?;
    let stats = IndexStats {
        reltuples: r.try_get(5)?,
        datawidth: r.try_get(6)?,
        has_nulls: r.try_get(7)?,
        block_size: bs as f64,
        ma: r.try_get::<_, i64>(9)? as f64,
    };
    let relation = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
    let size = (r.try_get(4)?, r.try_get(3)?, bs);
    let expected = || index_expected_pages(&stats);
    Ok(estimated(
        Kind::Index,
        relation,
        size,
        (r.try_get(10)?, stats.reltuples),
        expected,
    ))
}

/// A catalog estimate: `relation` is (schema, name, table), `size` (bytes, relpages,
/// block size), `statistics` (pg_stats rows, reltuples). With no pg_stats row or reltuples -1
/// the estimate has nothing to go on: no waste, `no_statistics`, and `expected_pages` is not
/// asked.
fn estimated(
    kind: Kind,
    (schema, name, table): (String, String, String),
    (bytes, relpages, block_size): (i64, i64, i64),
    (stats_rows, reltuples): (i64, f64),
    expected_pages: impl FnOnce() -> f64,
) -> RelationBloat {
    let no_statistics = stats_rows == 0 || reltuples < 0.0;
    let (wasted_bytes, ratio_pct) = if no_statistics {
        (0, 0.0)
    } else {
        waste(relpages, expected_pages(), block_size)
    };
    RelationBloat {
        kind,
        schema,
        name,
        table,
        bytes,
        wasted_bytes,
        ratio_pct,
        exact: false,
        no_statistics,
    }
}

/// Where pgstattuple is installed in the connected database (quoted schema), if it is.
pub async fn pgstattuple_schema(pg: &PgClient) -> anyhow::Result<Option<String>> {
    let row = pg
        .client
        .query_opt(
            "SELECT quote_ident(n.nspname) FROM pg_extension e \
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'",
            &[],
        )
        .await
        .context("looking for the pgstattuple extension")?;
    Ok(row.map(|r| r.get(0)))
}

/// Tables measured page by page: dead tuples plus free space.
fn exact_table_sql(schema: &str) -> String {
    format!(
        "SELECT n.nspname::text, c.relname::text, c.relname::text, s.table_len::int8, \
           (s.dead_tuple_len + s.free_space)::int8, 0::int8 \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, \
         LATERAL {schema}.pgstattuple(c.oid::regclass) s \
         WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname !~ '^pg_toast' AND pg_relation_size(c.oid) >= $1 \
         ORDER BY 1, 2"
    )
}

/// Btree indexes measured page by page: the free part of the leaves beyond fillfactor 90,
/// plus empty and deleted pages.
fn exact_index_sql(schema: &str) -> String {
    format!(
        "SELECT n.nspname::text, i.relname::text, t.relname::text, s.index_size::int8, \
           greatest(0, s.leaf_pages * current_setting('block_size')::float8 \
             * (1 - CASE WHEN s.avg_leaf_density = 'NaN' THEN 0 ELSE s.avg_leaf_density END / {BTREE_FILLFACTOR}))::int8 \
             + ((s.empty_pages + s.deleted_pages) * current_setting('block_size')::int8)::int8, \
           0::int8 \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = i.relnamespace \
         JOIN pg_am am ON am.oid = i.relam AND am.amname = 'btree', \
         LATERAL {schema}.pgstatindex(i.oid::regclass) s \
         WHERE i.relpersistence <> 't' \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname !~ '^pg_toast' AND pg_relation_size(i.oid) >= $1 \
         ORDER BY 1, 2"
    )
}

/// pgstattuple's measurement for every table or btree index of at least `min_bytes`.
/// Errors with the install steps when the extension is not installed in this database.
pub async fn exact(
    pg: &PgClient,
    kind: Kind,
    min_bytes: i64,
) -> anyhow::Result<Vec<RelationBloat>> {
    let Some(schema) = pgstattuple_schema(pg).await? else {
        anyhow::bail!(
            "pgstattuple is not installed in database {}\nhint: {PGSTATTUPLE_STEPS}",
            pg.options.dbname()
        );
    };
    let (sql, what) = match kind {
        Kind::Table => (exact_table_sql(&schema), "tables"),
        Kind::Index => (exact_index_sql(&schema), "indexes"),
    };
    let rows = pg
        .client
        .query(&sql, &[&min_bytes])
        .await
        .with_context(|| format!("measuring the bloat of {what} with pgstattuple"))?;
    let mut out = rows
        .iter()
        .map(|r| {
            let bytes: i64 = r.try_get(3)?;
            let wasted_bytes: i64 = r.try_get::<_, i64>(4)?.clamp(0, bytes.max(0));
            Ok(RelationBloat {
                kind,
                schema: r.try_get(0)?,
                name: r.try_get(1)?,
                table: r.try_get(2)?,
                bytes,
                wasted_bytes,
                ratio_pct: super::pct(wasted_bytes as f64, bytes as f64),
                exact: true,
                no_statistics: false,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context("reading a pgstattuple row")?;
    sort(&mut out);
    Ok(out)
}

/// Largest waste first, then by name for a stable order.
fn sort(v: &mut [RelationBloat]) {
    v.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_to_maxalign() {
        assert_eq!(align_up(23.0, 8.0), 24.0);
        assert_eq!(align_up(24.0, 8.0), 24.0);
        assert_eq!(align_up(124.5, 8.0), 128.0);
        assert_eq!(align_up(23.0, 4.0), 24.0);
    }

    fn table(reltuples: f64, datawidth: f64) -> TableStats {
        TableStats {
            reltuples,
            datawidth,
            max_null_frac: 0.0,
            nullable_cols: 0,
            block_size: 8192.0,
            ma: 8.0,
        }
    }

    #[test]
    fn table_estimate_matches_check_postgres_arithmetic() {
        // int4 id + 100-byte text (avg_width 101): datahdr = 101 + 4 + 24 = 129 -> 136,
        // + 4 line pointer = 140 bytes a row; 8172 / 140 = 58.37 rows a page.
        let s = table(200_000.0, 105.0);
        assert_eq!(
            table_expected_pages(&s),
            (200_000.0_f64 * 140.0 / 8172.0).ceil()
        );
        // Real layout: 58 rows of 140 bytes a page -> 3449 pages; otta = 3427: 0.6 %.
        let (wasted, ratio) = waste(3449, table_expected_pages(&s), 8192);
        assert!(ratio < 5.0, "fresh table reads as {ratio}% wasted");
        assert_eq!(wasted, (3449 - 3427) * 8192);
        // Half the rows deleted and vacuumed: same pages, half the tuples -> about 50 %.
        let half = table(100_000.0, 105.0);
        let (wasted, ratio) = waste(3449, table_expected_pages(&half), 8192);
        assert!((48.0..=52.0).contains(&ratio), "{ratio}");
        assert!(wasted > 10 * 1024 * 1024);
    }

    #[test]
    fn nulls_add_the_null_bitmap() {
        let mut s = table(1000.0, 8.0);
        let without = table_expected_pages(&s);
        s.max_null_frac = 1.0;
        s.nullable_cols = 1;
        assert!(table_expected_pages(&s) > without);
    }

    #[test]
    fn never_analyzed_or_empty_is_not_bloat() {
        assert_eq!(table_expected_pages(&table(-1.0, 105.0)), 0.0);
        assert_eq!(waste(0, 0.0, 8192), (0, 0.0));
        // More expected than present (stale stats): no negative waste.
        assert_eq!(waste(10, 20.0, 8192), (0, 0.0));
    }

    #[test]
    fn index_estimate_uses_its_own_columns() {
        // int4 key: 8 + 4 -> 16 bytes + 4 line pointer = 20; (8192 - 40) * 0.9 = 7336.8 a page.
        let s = IndexStats {
            reltuples: 200_000.0,
            datawidth: 4.0,
            has_nulls: false,
            block_size: 8192.0,
            ma: 8.0,
        };
        let expected = index_expected_pages(&s);
        assert_eq!(expected, (200_000.0_f64 * 20.0 / 7336.8).ceil() + 1.0);
        // A fresh btree of 200k int4 keys has 549 pages: not bloated.
        let (_, ratio) = waste(549, expected, 8192);
        assert!(ratio < 5.0, "{ratio}");
        // Half the keys gone, same pages: about half wasted.
        let half = IndexStats {
            reltuples: 100_000.0,
            ..s
        };
        let (_, ratio) = waste(549, index_expected_pages(&half), 8192);
        assert!((45.0..=52.0).contains(&ratio), "{ratio}");
    }
}
