//! The rules serde cannot state: cross-field checks of a parsed config, and the checks that
//! name the position a value was read from (health URLs, custom metrics).

use std::time::Duration;

use anyhow::bail;

use super::http_url::Target;
use super::{located_error, metrics, Config, ConfigError, Origin, Span};

/// What serde cannot check but a position should be named for: health URLs and metrics.
pub(super) fn validate_located(cfg: &Config, origin: Origin<'_>) -> Result<(), ConfigError> {
    for url in &cfg.health.urls {
        if let Err(e) = Target::parse(&url.value) {
            return Err(located_error(
                origin,
                &url.referenced,
                &format!("health.urls: {}", crate::report::one_line(&e)),
                "write an http:// or https:// URL such as http://127.0.0.1:8000/health",
            ));
        }
    }
    metrics::validate(&cfg.metrics, origin)
}

impl Config {
    /// Validate what serde cannot: cross-field rules.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Err(message) = super::remotes::validate(&self.remotes) {
            bail!(ConfigError { message });
        }
        if let Err(message) = super::targets::validate(&self.targets) {
            bail!(ConfigError { message });
        }
        if let Some(name) = self.pitr.as_ref().and_then(|p| p.remote.as_ref()) {
            if !self.remotes.contains_key(name) {
                bail!(ConfigError {
                    message: format!("pitr.remote: no remote `{name}` in remotes:\nhint: name one of remotes: ({}) or add remotes.{name}", self.remotes.keys().cloned().collect::<Vec<_>>().join(", "))
                });
            }
        }
        let t = &self.thresholds;
        for (name, l, lower_is_worse) in [
            ("connections_pct", t.connections_pct, false),
            ("memory_pct", t.memory_pct, false),
            ("cpu_pct", t.cpu_pct, false),
            ("disk_pct", t.disk_pct, false),
            ("redis_memory_pct", t.redis_memory_pct, false),
            ("cache_hit_pct", t.cache_hit_pct, true),
            ("time_wait", t.time_wait, false),
            ("close_wait", t.close_wait, false),
            ("latency_ms", t.latency_ms, false),
            ("cert_days", t.cert_days, true),
            ("replication_lag_bytes", t.replication_lag_bytes, false),
            ("slot_retained_bytes", t.slot_retained_bytes, false),
            ("disk_full_days", t.disk_full_days, true),
            ("database_growth_pct", t.database_growth_pct, false),
            ("database_growth_bytes", t.database_growth_bytes, false),
            ("slow_query_mean_ms", t.slow_query_mean_ms, false),
            ("bloat_wasted_bytes", t.bloat_wasted_bytes, false),
            ("wraparound_pct", t.wraparound_pct, false),
            ("rq_backlog", t.rq_backlog, false),
            ("slow_queries", t.slow_queries, false),
            ("waiting_locks", t.waiting_locks, false),
            ("load_per_core", t.load_per_core, false),
            ("redis_clients", t.redis_clients, false),
        ] {
            if let (Some(w), Some(c)) = (l.warning, l.critical) {
                if !lower_is_worse && w > c {
                    bail!(ConfigError {
                        message: format!(
                            "thresholds.{name}: warning ({w}) is above critical ({c})\nhint: warning must be reached before critical"
                        )
                    });
                }
                if lower_is_worse && w < c {
                    bail!(ConfigError {
                        message: format!(
                            "thresholds.{name}: warning ({w}) is below critical ({c})\nhint: for a lower-is-worse value warning must be the larger number"
                        )
                    });
                }
            }
        }
        for (name, q) in &self.bench.queries {
            if q.sql.trim().is_empty() {
                bail!(ConfigError {
                    message: format!("bench.queries.{name}.sql is empty\nhint: write the one SQL statement to benchmark")
                });
            }
            if let Some(t) = q.target_ms {
                if !(t.is_finite() && t > 0.0) {
                    bail!(ConfigError {
                        message: format!("bench.queries.{name}.target_ms: {t} is not a positive number of milliseconds")
                    });
                }
            }
        }
        let h = &self.health;
        if let (Some(w), Some(c)) = (h.backlog.warning, h.backlog.critical) {
            if w > c {
                bail!(ConfigError {
                    message: format!("health.backlog: warning ({w}) is above critical ({c})\nhint: warning must be reached before critical")
                });
            }
        }
        if let (Some(w), Some(c)) = (h.latency.warning, h.latency.critical) {
            if w.0 > c.0 {
                bail!(ConfigError {
                    message: format!("health.latency: warning ({w}) is above critical ({c})\nhint: warning must be reached before critical")
                });
            }
        }
        if h.timeout.0.is_zero() {
            bail!(ConfigError {
                message: "health.timeout: 0s would give every health URL no time to answer\nhint: write a duration such as 5s".to_string()
            });
        }
        if let Some(ms) = self.monitor.slow_query_ms {
            bail!(ConfigError {
                message: format!(
                    "monitor.slow_query_ms ({ms}) is no longer read: \"slow\" has one definition for monitor, check afternoon and diagnose queries\nhint: write it as thresholds.slow_query_mean_ms: {{warning: {ms}}} (and thresholds.slow_query_min_calls), and remove monitor.slow_query_ms"
                )
            });
        }
        if let Some(w) = &self.notify.webhook {
            // The URL is a credential: the message does not repeat it.
            Target::parse(&w.url).map_err(|_| ConfigError {
                message: "notify.webhook.url is not an http(s)://host[:port]/path URL (credentials in it are not supported either)\nhint: write the full URL of the incoming webhook".to_string(),
            })?;
        }
        if let Some(t) = &self.notify.telegram {
            Target::parse(&t.api_base).map_err(|e| ConfigError {
                message: format!(
                    "notify.telegram.api_base: {}\nhint: leave it out for https://api.telegram.org",
                    crate::report::one_line(&e)
                ),
            })?;
        }
        if self.backup.keep == Some(0) {
            bail!(ConfigError {
                message: "backup.keep: 0 would keep no backup\nhint: keep at least 1 (the newest verified backup is always kept anyway)".to_string()
            });
        }
        if let Some(d) = self.backup.keep_days {
            if !(d.is_finite() && d > 0.0) {
                bail!(ConfigError {
                    message: format!("backup.keep_days: {d} is not a positive number of days")
                });
            }
        }
        if !(self.maintenance.dead_pct.is_finite() && self.maintenance.dead_pct >= 0.0) {
            bail!(ConfigError {
                message: format!(
                    "maintenance.dead_pct: {} is not a percent of zero or more",
                    self.maintenance.dead_pct
                )
            });
        }
        if self.maintenance.lock_timeout.0.is_zero() {
            bail!(ConfigError {
                message: "maintenance.lock_timeout: 0 would let a VACUUM or REINDEX queue behind production's locks (and production behind it)\nhint: give a short wait such as 5s; a busy object is skipped and reported".to_string()
            });
        }
        // PostgreSQL keeps these in an int of milliseconds: a longer one fails every session.
        let pg_max = Span(Duration::from_millis(i32::MAX as u64));
        for (name, span) in [
            ("timeouts.statement", self.timeouts.statement),
            ("timeouts.lock", self.timeouts.lock),
            ("maintenance.lock_timeout", self.maintenance.lock_timeout),
            (
                "maintenance.statement_timeout",
                self.maintenance.statement_timeout,
            ),
        ] {
            if span.0 > pg_max.0 {
                bail!(ConfigError {
                    message: format!(
                        "{name}: {span} is out of range: PostgreSQL accepts up to 24 days (2147483647 ms)\nhint: write a shorter timeout such as 10s"
                    )
                });
            }
        }
        if self.cleanup.log_max_age.0.is_zero() {
            bail!(ConfigError {
                message: "cleanup.log_max_age: 0 would delete every log file, the one being written too\nhint: give an age such as 14d".to_string()
            });
        }
        for dir in &self.cleanup.log_dirs {
            if !dir.is_absolute() || dir.parent().is_none() {
                bail!(ConfigError {
                    message: format!(
                        "cleanup.log_dirs: `{}` is not an absolute directory below /\nhint: name the log directories themselves, e.g. /var/log/postgresql",
                        dir.display()
                    )
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, Config};

    #[test]
    fn night_settings_that_would_be_unsafe_are_refused() {
        for text in [
            "maintenance:\n  lock_timeout: 0s\n",
            "cleanup:\n  log_max_age: 0\n",
            "cleanup:\n  log_dirs: [var/log]\n",
            "cleanup:\n  log_dirs: [/]\n",
            "thresholds:\n  disk_full_days: {warning: 3, critical: 14}\n",
        ] {
            let c = parse(text, "f").unwrap();
            assert!(c.validate().is_err(), "{text}");
        }
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn warning_above_critical_is_refused() {
        let c = parse(
            "thresholds:\n  disk_pct: {warning: 95, critical: 90}\n",
            "f",
        )
        .unwrap();
        assert!(c.validate().is_err());
    }
}
