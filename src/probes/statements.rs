//! pg_stat_statements, read the one way every command needs it: where the extension lives,
//! which column names its *extension* version uses (1.8 renamed `total_time` / `mean_time` /
//! `max_time` to `*_exec_time`; the server version does not tell, since an old extension can
//! stay installed after a server upgrade until `ALTER EXTENSION ... UPDATE`), and the top rows.

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::postgres::PgClient;

/// The exact steps to enable the extension, for findings and errors.
pub const ENABLE_STEPS: &str = "enable pg_stat_statements: (1) add it to shared_preload_libraries in postgresql.conf and restart PostgreSQL, (2) run CREATE EXTENSION pg_stat_statements in this database";

/// The installed extension: its schema (quoted, ready to prefix) and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pgss {
    pub schema: String,
    pub version: (u32, u32),
}

impl Pgss {
    /// 1.8+ names the planning and execution times apart.
    pub fn exec_columns(&self) -> bool {
        self.version >= (1, 8)
    }

    /// (total, mean, max) column names of this extension version.
    pub fn time_columns(&self) -> (&'static str, &'static str, &'static str) {
        if self.exec_columns() {
            ("total_exec_time", "mean_exec_time", "max_exec_time")
        } else {
            ("total_time", "mean_time", "max_time")
        }
    }
}

/// "1.10" -> (1, 10); anything unparsable reads as (0, 0), the old names.
pub fn parse_version(text: &str) -> (u32, u32) {
    let mut parts = text.trim().split('.');
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// Where pg_stat_statements is installed in the connected database, if it is.
pub async fn locate(pg: &PgClient) -> anyhow::Result<Option<Pgss>> {
    let row = pg
        .client
        .query_opt(
            "SELECT quote_ident(n.nspname), e.extversion FROM pg_extension e \
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'",
            &[],
        )
        .await
        .context("looking for the pg_stat_statements extension")?;
    Ok(row.map(|r| Pgss {
        schema: r.get(0),
        version: parse_version(r.get::<_, &str>(1)),
    }))
}

/// Queryids in JSON are strings: they are 64-bit, and a JSON reader that holds numbers as
/// doubles (jq 1.6, JavaScript) rounds any above 2^53, so the id it hands back to
/// `diagnose queries --explain` names no statement.
pub mod queryid_json {
    use serde::Serializer;

    pub fn one<S: Serializer>(id: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    #[allow(clippy::ptr_arg)] // serde hands serialize_with the field itself
    pub fn many<S: Serializer>(ids: &Vec<i64>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ids.iter().map(i64::to_string))
    }
}

/// A queryid as the operator gives it: `4211897046528372861`, `-42`, or the JSON string form
/// with its quotes (`"4211897046528372861"`).
pub fn parse_queryid(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t);
    t.parse::<i64>().map_err(|_| {
        format!("`{text}` is not a queryid (a 64-bit integer such as 4211897046528372861 or -42, as `opsbook diagnose queries --format json` prints it)")
    })
}

/// One row of pg_stat_statements for this database.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    #[serde(serialize_with = "queryid_json::one")]
    pub queryid: i64,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub max_ms: f64,
    pub rows: i64,
    pub query: String,
}

/// Which column the top list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Total,
    Mean,
}

/// What to read: statements of the current database with at least `min_calls` calls and a
/// mean of at least `min_mean_ms`, the top `limit` by `order`.
#[derive(Debug, Clone, Copy)]
pub struct Filter {
    pub order: Order,
    pub min_calls: i64,
    pub min_mean_ms: f64,
    pub limit: i64,
}

pub fn top_sql(pgss: &Pgss, order: Order) -> String {
    let (total, mean, max) = pgss.time_columns();
    let schema = &pgss.schema;
    let order_col = match order {
        Order::Total => total,
        Order::Mean => mean,
    };
    format!(
        "SELECT queryid, calls, {total}::float8, {mean}::float8, {max}::float8, rows, query \
         FROM {schema}.pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND queryid IS NOT NULL AND calls >= $1 AND {mean} >= $2 \
         ORDER BY {order_col} DESC LIMIT $3"
    )
}

/// The top statements of the current database.
pub async fn top(pg: &PgClient, pgss: &Pgss, filter: Filter) -> anyhow::Result<Vec<Statement>> {
    let rows = pg
        .client
        .query(
            &top_sql(pgss, filter.order),
            &[&filter.min_calls, &filter.min_mean_ms, &filter.limit],
        )
        .await
        .context("reading pg_stat_statements")?;
    rows.iter()
        .map(|r| {
            Ok(Statement {
                queryid: r.try_get(0)?,
                calls: r.try_get(1)?,
                total_ms: r.try_get(2)?,
                mean_ms: r.try_get(3)?,
                max_ms: r.try_get(4)?,
                rows: r.try_get(5)?,
                query: r.try_get(6)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .context("reading a pg_stat_statements row")
}

/// Total execution time of every statement of the current database, for "share of total".
pub async fn total_ms(pg: &PgClient, pgss: &Pgss) -> anyhow::Result<f64> {
    let (total, _, _) = pgss.time_columns();
    let sql = format!(
        "SELECT coalesce(sum({total}), 0)::float8 FROM {}.pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        pgss.schema
    );
    let row = pg
        .client
        .query_one(&sql, &[])
        .await
        .context("summing pg_stat_statements")?;
    Ok(row.get(0))
}

/// What "slow" means, once for every command (`monitor`, `check afternoon`, `diagnose
/// queries`): a statement of the connected database with a mean execution time of at least
/// `mean_ms` over at least `min_calls` calls (config `thresholds.slow_query_mean_ms`'s
/// warning, else its critical, and `thresholds.slow_query_min_calls`). Before there was one,
/// `monitor` counted 17 statements over 100 ms in every database while the other two reported 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slow {
    pub mean_ms: f64,
    pub min_calls: i64,
}

impl Slow {
    pub fn of(th: &crate::config::Thresholds) -> Slow {
        let m = th.slow_query_mean_ms;
        Slow {
            mean_ms: m.warning.or(m.critical).unwrap_or(0.0),
            min_calls: i64::try_from(th.slow_query_min_calls).unwrap_or(i64::MAX),
        }
    }

    /// The definition as every summary states it: "mean ≥ 50 ms over ≥ 100 calls".
    pub fn describe(&self) -> String {
        format!("mean ≥ {} ms over ≥ {} calls", self.mean_ms, self.min_calls)
    }

    /// `n slow statements (mean ≥ 50 ms over ≥ 100 calls) in database app`.
    pub fn count_text(&self, n: i64, database: &str) -> String {
        format!(
            "{n} slow statement{} ({}) in database {database}",
            if n == 1 { "" } else { "s" },
            self.describe()
        )
    }

    /// The slowest statements by mean, at most `limit`.
    pub fn filter(&self, limit: i64) -> Filter {
        Filter {
            order: Order::Mean,
            min_calls: self.min_calls,
            min_mean_ms: self.mean_ms,
            limit,
        }
    }
}

/// How many statements of the connected database are slow (the same WHERE as [`top_sql`]).
pub async fn count_slow(pg: &PgClient, pgss: &Pgss, slow: Slow) -> anyhow::Result<i64> {
    let (_, mean, _) = pgss.time_columns();
    let sql = format!(
        "SELECT count(*)::bigint FROM {}.pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND queryid IS NOT NULL AND calls >= $1 AND {mean} >= $2",
        pgss.schema
    );
    let row = pg
        .client
        .query_one(&sql, &[&slow.min_calls, &slow.mean_ms])
        .await
        .context("counting slow statements in pg_stat_statements")?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_version_picks_the_columns() {
        assert_eq!(parse_version("1.10"), (1, 10));
        assert_eq!(parse_version("1.7"), (1, 7));
        assert_eq!(parse_version("garbage"), (0, 0));
        let old = Pgss {
            schema: "public".into(),
            version: (1, 7),
        };
        let new = Pgss {
            schema: "public".into(),
            version: (1, 10),
        };
        assert_eq!(old.time_columns().1, "mean_time");
        assert_eq!(new.time_columns().1, "mean_exec_time");
        assert!(top_sql(&old, Order::Mean).contains("ORDER BY mean_time DESC"));
        assert!(top_sql(&new, Order::Total).contains("ORDER BY total_exec_time DESC"));
        assert!(top_sql(&new, Order::Total).contains("max_exec_time"));
    }
}
