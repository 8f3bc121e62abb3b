//! `check night --maintain`: VACUUM (ANALYZE) of the tables over the dead-tuple floors and
//! REINDEX INDEX CONCURRENTLY of bloated indexes, one object at a time, each under its own
//! lock_timeout so a busy object is skipped (WARNING) instead of queueing production behind
//! us. Never `REINDEX DATABASE` / `REINDEX TABLE` (the seed's nightly REINDEX DATABASE locked
//! every table for writes in turn). VACUUM cannot run in a transaction block, so every
//! statement goes over the simple query protocol on the plain session.

use std::time::Instant;

use anyhow::Context as _;
use tokio_postgres::error::SqlState;

use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::config::MaintenanceConfig;
use crate::interrupt::Interrupt;
use crate::probes::bloat::RelationBloat;
use crate::probes::stale_stats::DeadTable;
use crate::render::{human_bytes, took};
use crate::report::{Finding, Status};
use crate::sql::{quote_ident, quote_literal};

/// One statement of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `maintain.vacuum` or `maintain.reindex`
    pub id: &'static str,
    /// `schema.name` as the operator reads it
    pub object: String,
    pub sql: String,
    /// why it is in the plan
    pub why: String,
    /// for a REINDEX: (schema, index name), to find a leftover `_ccnew` index after a failure
    pub index: Option<(String, String)>,
}

pub fn plan(tables: &[DeadTable], indexes: &[RelationBloat]) -> Vec<Step> {
    let mut out: Vec<Step> = tables
        .iter()
        .map(|t| Step {
            id: "maintain.vacuum",
            object: t.label(),
            sql: format!("VACUUM (ANALYZE) {}", t.qualified()),
            why: format!("{} dead / {} live tuples", t.dead, t.live),
            index: None,
        })
        .collect();
    out.extend(indexes.iter().map(|i| Step {
        id: "maintain.reindex",
        object: format!("{}.{}", i.schema, i.name),
        sql: format!(
            "REINDEX INDEX CONCURRENTLY {}.{}",
            quote_ident(&i.schema),
            quote_ident(&i.name)
        ),
        why: format!(
            "{:.0}% bloat, {} wasted of {} (table {})",
            i.ratio_pct,
            human_bytes(i.wasted_bytes as f64),
            human_bytes(i.bytes as f64),
            i.table
        ),
        index: Some((i.schema.clone(), i.name.clone())),
    }));
    out
}

/// How `execute` runs: the plan's settings, a progress bar, and the interrupt it stops on.
pub struct Run<'a> {
    pub cfg: &'a MaintenanceConfig,
    pub progress: bool,
    /// SIGINT / SIGTERM: the running statement is cancelled, the rest are not started.
    pub interrupt: &'a Interrupt,
    /// Session timeouts for the second connection that cancels a running statement.
    pub timeouts: SessionTimeouts,
}

/// Run the steps in order on `pg`; one finding per step, a failure never stops the next
/// (an interrupt does).
pub async fn execute(pg: &PgClient, steps: &[Step], run: &Run<'_>) -> Vec<Finding> {
    let cfg = run.cfg;
    let progress = run.progress;
    let bar = progress.then(|| {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(steps.len() as u64),
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template("maintenance {bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let settings = format!(
        "SET lock_timeout = {}; SET statement_timeout = {}",
        quote_literal(&format!("{}ms", cfg.lock_timeout.0.as_millis())),
        quote_literal(&format!("{}ms", cfg.statement_timeout.0.as_millis()))
    );
    let mut out = Vec::new();
    if let Err(e) = pg.client.batch_execute(&settings).await {
        let e = anyhow::Error::new(e).context("setting lock_timeout for maintenance");
        return steps
            .iter()
            .map(|s| {
                Finding::new(
                    s.id,
                    Status::Critical,
                    format!("not run: {}", crate::report::one_line(&e)),
                )
                .subject(s.object.clone())
            })
            .collect();
    }
    let pid: Option<i32> = match pg.client.query_one("SELECT pg_backend_pid()", &[]).await {
        Ok(row) => row.try_get(0).ok(),
        Err(_) => None,
    };
    for step in steps {
        if run.interrupt.is_set() {
            out.push(
                Finding::new(
                    step.id,
                    Status::Warning,
                    format!("not run: interrupted before {}", step.sql),
                )
                .subject(step.object.clone()),
            );
            continue;
        }
        if let Some(pb) = &bar {
            pb.set_message(step.sql.clone());
        }
        out.push(run_step(pg, step, run, pid).await);
        if let Some(pb) = &bar {
            pb.inc(1);
        }
    }
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    // Back to the session's own timeouts (set at connect, so RESET restores them).
    let _ = pg
        .client
        .batch_execute("RESET lock_timeout; RESET statement_timeout")
        .await;
    out
}

/// Cancel our own running statement from a second session (what psql's Ctrl-C does), so an
/// interrupted REINDEX CONCURRENTLY stops now and its leftover can be dropped.
async fn cancel(pg: &PgClient, t: SessionTimeouts, pid: i32) -> anyhow::Result<()> {
    let other = PgClient::connect(&pg.options, t).await?;
    other
        .client
        .query_one("SELECT pg_cancel_backend($1)", &[&pid])
        .await
        .context("cancelling the running maintenance statement")?;
    Ok(())
}

async fn run_step(pg: &PgClient, step: &Step, run: &Run<'_>, pid: Option<i32>) -> Finding {
    let cfg = run.cfg;
    let started = Instant::now();
    let statement = pg.client.simple_query(&step.sql);
    tokio::pin!(statement);
    let result = tokio::select! {
        r = &mut statement => r,
        _ = run.interrupt.wait() => {
            eprintln!("interrupted: cancelling `{}`; the rest of the plan is not started", step.sql);
            if let Some(pid) = pid {
                if let Err(e) = cancel(pg, run.timeouts, pid).await {
                    eprintln!("warning: {} (waiting for the statement to end)", crate::report::one_line(&e));
                }
            }
            statement.await
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let f = match result {
        Ok(_) => Finding::ok(step.id, format!("{} in {}", step.sql, took(secs))).value_f64(secs, "seconds"),
        Err(e) if e.code() == Some(&SqlState::QUERY_CANCELED) && run.interrupt.is_set() => {
            Finding::new(
                step.id,
                Status::Warning,
                format!("cancelled on interrupt after {}: {}", took(secs), step.sql),
            )
            .value_f64(secs, "seconds")
            .hint(format!("run it again when convenient: `{}`", step.sql))
        }
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Finding::new(
            step.id,
            Status::Warning,
            format!(
                "skipped: {} is locked by another session (lock_timeout {} reached); nothing changed",
                step.object, cfg.lock_timeout
            ),
        )
        .value_f64(secs, "seconds")
        .hint(format!(
            "see who holds it: `opsbook diagnose locks`; run it again later: `{}`",
            step.sql
        )),
        Err(e) => {
            let err = anyhow::Error::new(e).context(format!("running {}", step.sql));
            Finding::new(step.id, Status::Critical, crate::report::one_line(&err))
                .value_f64(secs, "seconds")
        }
    };
    let mut f = f
        .subject(step.object.clone())
        .detail(vec![format!("planned because: {}", step.why)]);
    // A REINDEX CONCURRENTLY that fails half way leaves an invalid `<name>_ccnew` index that
    // slows every write; drop it now (concurrently, under the same lock_timeout).
    if f.status != Status::Ok {
        if let Some((schema, name)) = &step.index {
            match drop_leftovers(pg, schema, name).await {
                Ok(dropped) if !dropped.is_empty() => f
                    .detail
                    .push(format!("dropped the invalid leftover index(es): {}", dropped.join(", "))),
                Ok(_) => {}
                Err(e) => f.detail.push(format!(
                    "could not drop a leftover invalid index: {}; drop it by hand with DROP INDEX CONCURRENTLY",
                    crate::report::one_line(&e)
                )),
            }
        }
    }
    f
}

/// Invalid indexes a failed REINDEX CONCURRENTLY of `schema.name` left behind.
const LEFTOVER_SQL: &str = "SELECT c.relname::text FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE NOT i.indisvalid AND n.nspname = $1 AND c.relname LIKE $2";

async fn drop_leftovers(pg: &PgClient, schema: &str, name: &str) -> anyhow::Result<Vec<String>> {
    let like = format!(
        "{}\\_ccnew%",
        name.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows = pg
        .client
        .query(LEFTOVER_SQL, &[&schema, &like])
        .await
        .context("looking for invalid _ccnew indexes")?;
    let mut dropped = Vec::new();
    for r in rows {
        let idx: String = r.get(0);
        let sql = format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}.{}",
            quote_ident(schema),
            quote_ident(&idx)
        );
        pg.client
            .simple_query(&sql)
            .await
            .with_context(|| format!("running {sql}"))?;
        dropped.push(format!("{schema}.{idx}"));
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_quotes_identifiers_and_never_reindexes_a_table_or_database() {
        let t = DeadTable {
            schema: "Odd Schema".into(),
            name: "we\"ird".into(),
            live: 1,
            dead: 100,
            vacuumed_ago: None,
            analyzed_ago: None,
        };
        let i = RelationBloat {
            kind: crate::probes::bloat::Kind::Index,
            schema: "public".into(),
            name: "users_pkey".into(),
            table: "users".into(),
            bytes: 100 << 20,
            wasted_bytes: 60 << 20,
            ratio_pct: 60.0,
            exact: false,
            no_statistics: false,
        };
        let steps = plan(&[t], &[i]);
        assert_eq!(
            steps[0].sql,
            "VACUUM (ANALYZE) \"Odd Schema\".\"we\"\"ird\""
        );
        assert_eq!(
            steps[1].sql,
            "REINDEX INDEX CONCURRENTLY \"public\".\"users_pkey\""
        );
        assert!(steps
            .iter()
            .all(|s| !s.sql.contains("REINDEX DATABASE") && !s.sql.contains("REINDEX TABLE")));
    }
}
