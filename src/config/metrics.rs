//! Custom metric definitions (`metrics:` in the config) and their validation: a named number
//! from a SQL query or a Redis key, its thresholds and the checks that include it. Reading
//! and judging them is the top-level `metrics` module's, which builds on these definitions.

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{located_error, ConfigError, Origin};
use crate::report::Status;

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
    #[serde(default, serialize_with = "super::numbers::whole_opt")]
    pub warning: Option<f64>,
    #[serde(default, serialize_with = "super::numbers::whole_opt")]
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
