//! Custom metrics (`metrics:` in the config): named numbers read from a SQL query or a Redis
//! key, judged against the operator's thresholds, in the checks the metric names.
//!
//! This is how an application's own numbers (active users, invites per minute, fraud attempts
//! today) become findings without code: the seeds ran a `python3 -c` per number.
//!
//! This module runs and judges metrics; their definitions and validation are the config's
//! (`config::metrics`), re-exported here.

use anyhow::{anyhow, bail, Context as _};
use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::config::metrics::{Direction, Metric, RedisSource};
use crate::context::Ctx;
use crate::probes::bounded;
use crate::report::{one_line, Finding, Status};

/// SQL metrics each open a short session of their own (a failing query then cannot abort a
/// transaction another probe shares); at most this many at once, so a long list of metrics
/// does not take a busy server's last connection slots.
const SQL_SESSIONS: usize = 4;

/// One finding per metric that lists `check`, all evaluated concurrently, each bounded by
/// the probe timeout. A metric that cannot be read is UNKNOWN with the reason; the others
/// and the rest of the run are unaffected.
pub async fn findings(ctx: &Ctx, check: &str) -> Vec<Finding> {
    let selected: Vec<&Metric> = ctx
        .config
        .metrics
        .iter()
        .filter(|m| m.checks.iter().any(|c| c.as_str() == check))
        .collect();
    if selected.is_empty() {
        return Vec::new();
    }
    let sessions = Semaphore::new(SQL_SESSIONS);
    join_all(selected.into_iter().map(|m| evaluate(ctx, m, &sessions))).await
}

async fn evaluate(ctx: &Ctx, m: &Metric, sessions: &Semaphore) -> Finding {
    let timeout = ctx.probe_timeout();
    let read = if let Some(sql) = &m.sql {
        // The shared session says whether PostgreSQL is there at all: a down server costs
        // one connect timeout for the run, not one per metric.
        if ctx.pg().await.is_err() {
            return not_checked(m, "PostgreSQL is not reachable (see postgres.up)");
        }
        let _slot = sessions.acquire().await;
        bounded(timeout, sql_value(ctx, &sql.value)).await
    } else if let Some(redis) = &m.redis {
        let client = match ctx.redis().await {
            Ok(c) => c,
            Err(_) => return not_checked(m, "Redis is not reachable (see redis.up)"),
        };
        bounded(timeout, redis_value(client, &redis.value)).await
    } else {
        // validate() refuses a metric without a source at load.
        Err(anyhow!("no source configured"))
    };
    match read {
        Ok(v) => judge(m, v),
        Err(e) => unreadable(m, &e),
    }
}

fn not_checked(m: &Metric, why: &str) -> Finding {
    Finding::new(m.id(), Status::Unknown, format!("not checked: {why}"))
}

fn unreadable(m: &Metric, e: &anyhow::Error) -> Finding {
    let hint = if m.sql.is_some() {
        "run the query in psql to see the error in context; a metric's SQL must return one row with one numeric column"
    } else {
        "check the key with redis-cli; `get:` needs a key holding a number"
    };
    Finding::new(m.id(), Status::Unknown, one_line(e)).hint(hint)
}

/// The finding of a value that was read.
pub fn judge(m: &Metric, value: f64) -> Finding {
    let status = m.status(value);
    let unit = m.unit.as_deref().unwrap_or("");
    let shown = if unit.is_empty() {
        number_text(value)
    } else {
        format!("{} {unit}", number_text(value))
    };
    let what = m.description.as_deref().unwrap_or(&m.name.value);
    let rel = match m.direction {
        Direction::Above => "above",
        Direction::Below => "below",
    };
    let limits: Vec<String> = [("warning", m.warning), ("critical", m.critical)]
        .into_iter()
        .filter_map(|(w, v)| v.map(|v| format!("{w} {rel} {}", number_text(v))))
        .collect();
    let mut summary = format!("{what}: {shown}");
    if !limits.is_empty() {
        summary.push_str(&format!(" ({})", limits.join(", ")));
    }
    let mut f = Finding::new(m.id(), status, summary);
    f.value = number_value(value);
    f.unit = m.unit.clone();
    match m.direction {
        Direction::Above => f.above(m.warning, m.critical),
        Direction::Below => f.below(m.warning, m.critical),
    }
}

/// Integers stay integers in JSON; fractions keep two decimals.
fn number_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from((v * 100.0).round() / 100.0)
    }
}

fn number_text(v: f64) -> String {
    match number_value(v) {
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// A metric's text as a number: what psql would print, so integer, numeric and float
/// columns all work.
pub fn parse_number(text: &str) -> anyhow::Result<f64> {
    let t = text.trim();
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => bail!(
            "returned `{}`, not a number",
            t.chars().take(60).collect::<String>()
        ),
    }
}

/// The one number of a metric's SQL, on a session of its own inside a READ ONLY
/// transaction with our statement_timeout and lock_timeout.
async fn sql_value(ctx: &Ctx, sql: &str) -> anyhow::Result<f64> {
    let t = ctx.timeouts();
    let mut client = ctx
        .pg_options()?
        .connect(t.connect, t.statement, t.lock)
        .await?;
    let tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(server_error)
        .context("starting a READ ONLY transaction")?;
    // Parsing it as a prepared statement refuses a second statement hidden after a `;`
    // (which could COMMIT and write); the simple protocol then returns the value as text.
    let stmt = tx.prepare(sql).await.map_err(server_error)?;
    if stmt.columns().len() != 1 {
        bail!(
            "the query returns {} columns; a metric needs exactly one",
            stmt.columns().len()
        );
    }
    let messages = tx.simple_query(sql).await.map_err(server_error)?;
    let rows: Vec<&tokio_postgres::SimpleQueryRow> = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect();
    let value = match rows.as_slice() {
        [] => bail!("the query returned no row; a metric needs exactly one"),
        [row] => row.get(0),
        more => bail!(
            "the query returned {} rows; a metric needs exactly one (aggregate with count(*), sum(...) or add LIMIT 1)",
            more.len()
        ),
    };
    let value = value.ok_or_else(|| anyhow!("the query returned NULL"))?;
    let v = parse_number(value)?;
    // Nothing was written (READ ONLY); rolling back ends the transaction without a commit.
    let _ = tx.rollback().await;
    Ok(v)
}

/// The server's own words for a failed statement (`column "x" does not exist`), with its
/// SQLSTATE; other errors (a dropped connection) as they are.
fn server_error(e: tokio_postgres::Error) -> anyhow::Error {
    match e.as_db_error() {
        Some(db) => anyhow!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message().lines().next().unwrap_or(""),
            db.code().code()
        ),
        None => anyhow::Error::from(e),
    }
}

async fn redis_value(
    client: &crate::clients::redis::RedisClient,
    source: &RedisSource,
) -> anyhow::Result<f64> {
    match source {
        RedisSource::Llen(k) => Ok(client.llen(k).await? as f64),
        RedisSource::Keys(p) => Ok(client.count_keys(p).await? as f64),
        RedisSource::Get(k) => {
            let text = client
                .get(k)
                .await?
                .ok_or_else(|| anyhow!("GET {k}: the key does not exist"))?;
            parse_number(&text).with_context(|| format!("GET {k}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn judging_follows_the_direction() {
        let c = parse(
            "metrics:\n  - name: fraud\n    sql: SELECT 1\n    warning: 10\n    critical: 50\n    unit: attempts\n  - name: invites\n    sql: SELECT 1\n    direction: below\n    warning: 5\n    critical: 1\n",
            "m.yaml",
        )
        .unwrap();
        let f = judge(&c.metrics[0], 51.0);
        assert_eq!(f.status, Status::Critical);
        assert_eq!(f.value, Value::from(51));
        assert_eq!(f.unit.as_deref(), Some("attempts"));
        assert_eq!(
            f.summary,
            "fraud: 51 attempts (warning above 10, critical above 50)"
        );
        assert_eq!(judge(&c.metrics[1], 3.0).status, Status::Warning);
        assert_eq!(judge(&c.metrics[1], 0.5).status, Status::Critical);
        assert_eq!(judge(&c.metrics[1], 7.25).value, Value::from(7.25));
    }

    #[test]
    fn numbers_as_psql_prints_them() {
        assert_eq!(parse_number("42").unwrap(), 42.0);
        assert_eq!(parse_number("3.50").unwrap(), 3.5);
        assert_eq!(parse_number("-1e3").unwrap(), -1000.0);
        assert!(parse_number("t").is_err());
        assert!(parse_number("NaN").is_err());
    }
}
