//! Custom metrics (`metrics:` in the config): named numbers read from a SQL query or a Redis
//! key, judged against the operator's thresholds, in the checks the metric names.
//!
//! This is how an application's own numbers (active users, invites per minute, fraud attempts
//! today) become findings without code: the seeds ran a `python3 -c` per number.

use anyhow::{anyhow, bail, Context as _};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;
use tokio::sync::Semaphore;

use crate::config::{located_error, ConfigError, Origin};
use crate::context::Ctx;
use crate::probes::bounded;
use crate::report::{one_line, Finding, Status};

/// Which way a value gets worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// higher is worse: warning/critical when the value is above them
    #[default]
    Above,
    /// lower is worse: warning/critical when the value is below them
    Below,
}

/// The checks a metric can be part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckName {
    Morning,
    Afternoon,
    Night,
    Health,
    Monitor,
}

impl CheckName {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Morning => "morning",
            CheckName::Afternoon => "afternoon",
            CheckName::Night => "night",
            CheckName::Health => "health",
            CheckName::Monitor => "monitor",
        }
    }
}

/// A number read from Redis: `{llen: KEY}`, `{get: KEY}` or `{keys: PATTERN}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisSource {
    /// length of a list (an RQ queue is `rq:queue:<name>`)
    Llen(String),
    /// a key holding a number (a counter set by the application)
    Get(String),
    /// how many keys match a glob pattern, counted with SCAN (never KEYS)
    Keys(String),
}

impl std::fmt::Display for RedisSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisSource::Llen(k) => write!(f, "LLEN {k}"),
            RedisSource::Get(k) => write!(f, "GET {k}"),
            RedisSource::Keys(p) => write!(f, "SCAN MATCH {p} (count)"),
        }
    }
}

fn default_checks() -> Vec<CheckName> {
    vec![CheckName::Monitor]
}

/// One entry of `metrics:`. Positions are kept so validation can name `file:line:column`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// the finding id is `metric.<name>`; [a-z0-9_]+, unique
    pub name: Spanned<String>,
    /// one SQL statement returning one row with one number (run READ ONLY)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<Spanned<String>>,
    /// or a Redis number: {llen: KEY}, {get: KEY} or {keys: PATTERN}
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<Spanned<RedisSource>>,
    #[serde(default)]
    pub warning: Option<f64>,
    #[serde(default)]
    pub critical: Option<f64>,
    #[serde(default)]
    pub direction: Direction,
    /// the value's unit, shown and carried in the finding (`users`, `invites/min`)
    #[serde(default)]
    pub unit: Option<String>,
    /// what the number means; shown in the summary
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// the checks that include it (default [monitor])
    #[serde(default = "default_checks")]
    pub checks: Vec<CheckName>,
}

impl Metric {
    pub fn id(&self) -> String {
        format!("metric.{}", self.name.value)
    }

    pub fn status(&self, value: f64) -> Status {
        match self.direction {
            Direction::Above => Status::above(value, self.warning, self.critical),
            Direction::Below => Status::below(value, self.warning, self.critical),
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The rules serde cannot state: names, exactly one source, thresholds in order. Every error
/// names the position it was read from.
pub fn validate(metrics: &[Metric], origin: Origin<'_>) -> Result<(), ConfigError> {
    let mut seen: Vec<&Spanned<String>> = Vec::new();
    for m in metrics {
        let name = &m.name.value;
        let at = &m.name.referenced;
        if !valid_name(name) {
            return Err(located_error(
                origin,
                at,
                &format!("metrics: name `{name}` may only hold a-z, 0-9 and _"),
                "the name becomes the finding id metric.<name>; write it like active_users",
            ));
        }
        if let Some(first) = seen.iter().find(|n| n.value == *name) {
            return Err(located_error(
                origin,
                at,
                &format!(
                    "metrics: name `{name}` is used twice (first at line {})",
                    first.referenced.line()
                ),
                "give every metric its own name",
            ));
        }
        seen.push(&m.name);
        match (&m.sql, &m.redis) {
            (Some(sql), Some(redis)) => {
                let later = if redis.referenced.line() >= sql.referenced.line() {
                    &redis.referenced
                } else {
                    &sql.referenced
                };
                return Err(located_error(
                    origin,
                    later,
                    &format!("metrics: `{name}` has both `sql` and `redis`"),
                    "a metric reads exactly one source: keep `sql:` or `redis:`, and make the other its own metric",
                ));
            }
            (None, None) => {
                return Err(located_error(
                    origin,
                    at,
                    &format!("metrics: `{name}` has no source"),
                    "add `sql: SELECT ...` (one number) or `redis: {llen: KEY}` / `{get: KEY}` / `{keys: PATTERN}`",
                ));
            }
            (Some(sql), None) if sql.value.trim().is_empty() => {
                return Err(located_error(
                    origin,
                    &sql.referenced,
                    &format!("metrics: `{name}` has an empty `sql`"),
                    "write one SELECT that returns one number",
                ));
            }
            (None, Some(redis)) => {
                let (RedisSource::Llen(k) | RedisSource::Get(k) | RedisSource::Keys(k)) =
                    &redis.value;
                if k.is_empty() {
                    return Err(located_error(
                        origin,
                        &redis.referenced,
                        &format!("metrics: `{name}` names an empty Redis key"),
                        "write the key (or for `keys:` the glob pattern) to read",
                    ));
                }
            }
            _ => {}
        }
        for (what, v) in [("warning", m.warning), ("critical", m.critical)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(located_error(
                    origin,
                    at,
                    &format!("metrics: `{name}`: {what} is not a finite number"),
                    "write a plain number such as 100 or 0.5",
                ));
            }
        }
        if let (Some(w), Some(c)) = (m.warning, m.critical) {
            let bad = match m.direction {
                Direction::Above => w > c,
                Direction::Below => w < c,
            };
            if bad {
                let (rel, rule) = match m.direction {
                    Direction::Above => (
                        "above",
                        "with direction above (the default) warning must be the smaller number",
                    ),
                    Direction::Below => (
                        "below",
                        "with direction below warning must be the larger number",
                    ),
                };
                return Err(located_error(
                    origin,
                    at,
                    &format!("metrics: `{name}`: warning ({w}) is {rel} critical ({c})"),
                    rule,
                ));
            }
        }
        if m.checks.is_empty() {
            return Err(located_error(
                origin,
                at,
                &format!("metrics: `{name}` has `checks: []` and would never run"),
                "list the checks that include it: morning, afternoon, night, health, monitor (default [monitor])",
            ));
        }
    }
    Ok(())
}

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

    fn err(yaml: &str) -> String {
        parse(yaml, "m.yaml").unwrap_err().message
    }

    #[test]
    fn parses_every_key_with_defaults() {
        let c = parse(
            "metrics:\n  - name: active_users\n    sql: SELECT count(*) FROM users_global\n    warning: 10\n    unit: users\n  - name: tasks_backlog\n    redis: {llen: rq:queue:tasks}\n    direction: below\n    checks: [health, morning]\n",
            "m.yaml",
        )
        .unwrap();
        let [a, b] = c.metrics.as_slice() else {
            panic!("two metrics")
        };
        assert_eq!(a.id(), "metric.active_users");
        assert_eq!(a.checks, vec![CheckName::Monitor]);
        assert_eq!(a.direction, Direction::Above);
        assert_eq!(a.name.referenced.line(), 2);
        assert_eq!(
            b.redis.as_ref().unwrap().value,
            RedisSource::Llen("rq:queue:tasks".into())
        );
        assert_eq!(b.checks, vec![CheckName::Health, CheckName::Morning]);
        assert_eq!(b.status(5.0), Status::Ok);
    }

    #[test]
    fn two_sources_point_at_the_second() {
        let e = err("metrics:\n  - name: x\n    sql: SELECT 1\n    redis: {get: k}\n");
        assert!(e.starts_with("invalid config m.yaml:4:"), "{e}");
        assert!(e.contains("both `sql` and `redis`"), "{e}");
        assert!(e.contains("\nhint: "), "{e}");
    }

    #[test]
    fn names_must_be_unique_and_plain() {
        let e = err("metrics:\n  - name: a\n    sql: SELECT 1\n  - name: a\n    sql: SELECT 2\n");
        assert!(e.starts_with("invalid config m.yaml:4:"), "{e}");
        assert!(e.contains("used twice (first at line 2)"), "{e}");
        let e = err("metrics:\n  - name: Active-Users\n    sql: SELECT 1\n");
        assert!(e.starts_with("invalid config m.yaml:2:"), "{e}");
    }

    #[test]
    fn unknown_keys_sources_and_checks_are_refused_with_a_position() {
        let e = err("metrics:\n  - name: a\n    sql: SELECT 1\n    treshold: 3\n");
        assert!(e.contains("m.yaml:4:"), "{e}");
        assert!(e.contains("unknown field `treshold`"), "{e}");
        let e = err("metrics:\n  - name: a\n    redis: {lrange: k}\n");
        assert!(e.contains("m.yaml:3:"), "{e}");
        let e = err("metrics:\n  - name: a\n    sql: SELECT 1\n    checks: [evening]\n");
        assert!(e.contains("m.yaml:4:"), "{e}");
        let e = err("metrics:\n  - name: a\n");
        assert!(e.contains("has no source"), "{e}");
        let e = err("metrics:\n  - name: a\n    sql: SELECT 1\n    direction: below\n    warning: 1\n    critical: 5\n");
        assert!(e.contains("warning (1) is below critical (5)"), "{e}");
    }

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

    #[test]
    fn show_round_trips() {
        let c = parse(
            "metrics:\n  - name: a\n    redis: {keys: 'lock:*'}\n    checks: [night]\n",
            "m.yaml",
        )
        .unwrap();
        let y = c.to_yaml().unwrap();
        let back = parse(&y, "shown").unwrap();
        assert_eq!(
            back.metrics[0].redis.as_ref().unwrap().value,
            RedisSource::Keys("lock:*".into())
        );
        assert_eq!(back.metrics[0].checks, vec![CheckName::Night]);
    }
}
