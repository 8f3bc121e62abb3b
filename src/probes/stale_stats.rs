//! `postgres.stale_stats`: tables with many dead tuples that nobody (not even autovacuum)
//! vacuumed or analyzed for a long time. The same list is what `check night --maintain`
//! vacuums.

use anyhow::Context as _;

use crate::clients::postgres::PgClient;
use crate::config::Span;
use crate::render::human_duration;
use crate::report::{Finding, Status};
use crate::sql::quote_ident;

/// Tables of the connected database whose dead tuples pass both floors (count, share of the
/// live ones), worst first. Ages in seconds; NULL when never vacuumed / analyzed. PG 9.4+.
const DEAD_SQL: &str = "SELECT schemaname::text, relname::text, n_live_tup, n_dead_tup, \
     extract(epoch FROM now() - greatest(last_vacuum, last_autovacuum))::float8, \
     extract(epoch FROM now() - greatest(last_analyze, last_autoanalyze))::float8 \
     FROM pg_stat_user_tables \
     WHERE n_dead_tup >= $1::bigint AND n_dead_tup::float8 * 100 >= $2::float8 * n_live_tup \
     ORDER BY n_dead_tup DESC, schemaname, relname";

#[derive(Debug, Clone, PartialEq)]
pub struct DeadTable {
    pub schema: String,
    pub name: String,
    pub live: i64,
    pub dead: i64,
    /// seconds since the last (auto)vacuum; None: never
    pub vacuumed_ago: Option<f64>,
    /// seconds since the last (auto)analyze; None: never
    pub analyzed_ago: Option<f64>,
}

impl DeadTable {
    pub fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    pub fn label(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Never vacuumed or analyzed, or not for longer than `max_age`.
    pub fn is_stale(&self, max_age: Span) -> bool {
        let old = |ago: Option<f64>| ago.is_none_or(|a| a > max_age.as_secs_f64());
        old(self.vacuumed_ago) || old(self.analyzed_ago)
    }
}

/// Tables over the dead-tuple floors: at least `min_dead` dead tuples and `dead_pct` percent
/// of the live ones.
pub async fn dead_tables(
    pg: &PgClient,
    min_dead: u64,
    dead_pct: f64,
) -> anyhow::Result<Vec<DeadTable>> {
    let min = i64::try_from(min_dead).unwrap_or(i64::MAX);
    let rows = pg
        .client
        .query(DEAD_SQL, &[&min, &dead_pct])
        .await
        .context("reading dead tuples from pg_stat_user_tables")?;
    rows.iter()
        .map(|r| {
            Ok(DeadTable {
                schema: r.try_get(0)?,
                name: r.try_get(1)?,
                live: r.try_get(2)?,
                dead: r.try_get(3)?,
                vacuumed_ago: r.try_get(4)?,
                analyzed_ago: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .context("reading a row of pg_stat_user_tables")
}

fn ago(secs: Option<f64>) -> String {
    match secs {
        Some(s) => format!("{} ago", human_duration(s)),
        None => "never".to_string(),
    }
}

/// One finding for database `db`: WARNING listing the stale tables over the floors.
pub fn finding(db: &str, tables: &[DeadTable], max_age: Span, min_dead: u64) -> Finding {
    let id = "postgres.stale_stats";
    let stale: Vec<&DeadTable> = tables.iter().filter(|t| t.is_stale(max_age)).collect();
    if stale.is_empty() {
        return Finding::ok(
            id,
            format!(
                "no table with {min_dead}+ dead tuples went unvacuumed or unanalyzed for {max_age}"
            ),
        )
        .subject(db)
        .value(0u64, "tables");
    }
    let detail = stale
        .iter()
        .map(|t| {
            format!(
                "{}: {} dead / {} live tuples, vacuumed {}, analyzed {}",
                t.label(),
                t.dead,
                t.live,
                ago(t.vacuumed_ago),
                ago(t.analyzed_ago)
            )
        })
        .collect();
    Finding::new(
        id,
        Status::Warning,
        format!(
            "{} table(s) with {min_dead}+ dead tuples not vacuumed or analyzed for {max_age} (worst: {}, {} dead)",
            stale.len(),
            stale[0].label(),
            stale[0].dead
        ),
    )
    .subject(db)
    .value(stale.len() as u64, "tables")
    .detail(detail)
    .hint("vacuum them one at a time with `opsbook check night --maintain`; then find why autovacuum skips them: autovacuum_enabled = off on the table (\\d+ TABLE), or a long transaction holding back cleanup (pg_stat_activity.xact_start)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(vac: Option<f64>, an: Option<f64>) -> DeadTable {
        DeadTable {
            schema: "public".into(),
            name: "Odd\"name".into(),
            live: 10,
            dead: 50_000,
            vacuumed_ago: vac,
            analyzed_ago: an,
        }
    }

    #[test]
    fn stale_means_never_or_older_than_the_age() {
        let week = Span::secs(7 * 86400);
        assert!(t(None, Some(10.0)).is_stale(week));
        assert!(t(Some(10.0), None).is_stale(week));
        assert!(t(Some(8.0 * 86400.0), Some(10.0)).is_stale(week));
        assert!(!t(Some(10.0), Some(10.0)).is_stale(week));
        assert_eq!(t(None, None).qualified(), "\"public\".\"Odd\"\"name\"");
    }

    #[test]
    fn finding_lists_only_the_stale_tables() {
        let week = Span::secs(7 * 86400);
        let f = finding("app", &[t(Some(10.0), Some(10.0))], week, 1000);
        assert_eq!(f.status, Status::Ok);
        let f = finding("app", &[t(None, None), t(Some(1.0), Some(1.0))], week, 1000);
        assert_eq!(f.status, Status::Warning);
        assert_eq!(f.detail.len(), 1);
        assert!(f.detail[0].contains("vacuumed never"), "{:?}", f.detail);
    }
}
