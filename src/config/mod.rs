//! Typed configuration: a YAML file (optional), then the environment, then flags.
//!
//! No file at all is valid: the defaults are the seeds' thresholds. Unknown keys and type
//! errors are operator errors that point at `file:line:column`.
//!
//! This module holds the sections' types; its rooms: `load` (discovery and parsing),
//! `errors` (how an error reads), `validate`, `durations` (`Span`), `thresholds`, `notify`,
//! `metrics` (custom metric definitions), `http_url` (the http(s) URL grammar), `secrets`.
//! Masking secrets for display is `crate::redact`'s. The config imports neither `clients` nor
//! `metrics`: both build on it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

mod durations;
mod errors;
pub mod http_url;
mod load;
pub mod metrics;
mod notify;
mod numbers;
pub mod remotes;
pub mod secrets;
pub mod services;
pub mod targets;
mod thresholds;
mod validate;

use crate::redact::{mask_url, mask_webhook};
pub use durations::Span;
pub use errors::{located_error, yaml_error_parts, ConfigError, Origin};
pub use load::{default_paths, load, load_file, parse, parse_file, Source};
pub use notify::{ChatId, NotifyConfig, TelegramConfig, WebhookConfig};
pub use thresholds::{Limits, SpanLimits, Thresholds};

use thresholds::warn_only;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostgresConfig {
    /// postgres://user@host:port/db?sslmode=...; keep the password out of it (password_file, PGPASSFILE)
    pub url: Option<String>,
    /// a file whose first line is the password (must not be group/world readable)
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    pub url: Option<String>,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// where backups are written and looked for (one sub-directory per database)
    pub dir: PathBuf,
    /// retention: keep the newest N backups of each database (`backup --keep` overrides)
    pub keep: Option<usize>,
    /// retention: keep backups younger than D days (`backup --keep-days` overrides)
    #[serde(serialize_with = "numbers::whole_opt")]
    pub keep_days: Option<f64>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: PathBuf::from("/var/backups/opsbook"),
            keep: None,
            keep_days: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// PostgreSQL's data directory on this host; default: `SHOW data_directory` when it exists here
    pub data_dir: Option<PathBuf>,
    /// log directories whose filesystems `check night` watches (missing ones are skipped)
    pub log_dirs: Vec<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            data_dir: None,
            log_dirs: vec![
                PathBuf::from("/var/log/postgresql"),
                PathBuf::from("/var/log/redis"),
            ],
        }
    }
}

/// `maintenance:` which tables and indexes `check night` flags and `--maintain` works on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceConfig {
    /// dead tuples (n_dead_tup) at or above which a table needs a VACUUM
    pub dead_tuples: u64,
    /// ... and the dead tuples are at least this percent of the live ones
    #[serde(serialize_with = "numbers::whole")]
    pub dead_pct: f64,
    /// statistics older than this (last (auto)vacuum / (auto)analyze), or none, are stale
    pub stats_age: Span,
    /// bytes an index must waste before `--maintain` rebuilds it (besides thresholds.bloat_pct)
    pub reindex_min_wasted_bytes: u64,
    /// lock_timeout of each VACUUM / REINDEX: a busy object is skipped, never waited on
    pub lock_timeout: Span,
    /// statement_timeout of each VACUUM / REINDEX (0: none; they may run long at night)
    pub statement_timeout: Span,
    /// measure index bloat with pgstattuple (reads every index) instead of the catalog estimate
    pub exact_bloat: bool,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            dead_tuples: 10_000,
            dead_pct: 10.0,
            stats_age: Span::secs(7 * 86400),
            reindex_min_wasted_bytes: 10 * 1024 * 1024,
            lock_timeout: Span::secs(5),
            statement_timeout: Span::secs(0),
            exact_bloat: false,
        }
    }
}

/// `cleanup:` what `check night --cleanup` may delete besides backups outside backup.keep /
/// backup.keep_days: old files in these log directories, nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CleanupConfig {
    /// directories whose old log files are deleted (none by default: name them explicitly)
    pub log_dirs: Vec<PathBuf>,
    /// files not modified for this long are deleted
    pub log_max_age: Span,
    /// file-name patterns (`*` and `?`) a log file must match; rotated logs by default
    pub log_patterns: Vec<String>,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        CleanupConfig {
            log_dirs: Vec::new(),
            log_max_age: Span::secs(14 * 86400),
            log_patterns: ["*.log", "*.log.*", "*.gz", "*.zst", "*.xz", "*.bz2"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// What `diagnose network` probes besides PostgreSQL and Redis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// HTTP(S) URLs timed by `diagnose network` (status, DNS, connect, TLS, first byte)
    pub endpoints: Vec<String>,
    /// HOST:PORT pairs whose TCP connect latency is measured
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutConfig {
    /// connecting to a server
    pub connect: Span,
    /// statement_timeout of every session of ours
    pub statement: Span,
    /// lock_timeout of every session of ours: a check never queues behind production locks
    pub lock: Span,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            connect: Span::secs(5),
            statement: Span::secs(10),
            lock: Span(Duration::from_secs(2)),
        }
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub postgres: PostgresConfig,
    pub redis: RedisConfig,
    pub backup: BackupConfig,
    /// systemd units (`service.active`, `journal.errors`), Docker containers (`container.*`)
    /// and Swarm services (`swarm.*`) the morning check looks at
    pub services: Vec<services::Service>,
    pub host: HostConfig,
    pub network: NetworkConfig,
    pub timeouts: TimeoutConfig,
    pub thresholds: Thresholds,
    /// where run history and locks live; default $OPSBOOK_STATE_DIR, /var/lib/opsbook, $XDG_STATE_HOME/opsbook
    pub state_dir: Option<PathBuf>,
    /// directories of installed runbooks, searched before ~/.config/opsbook/runbooks and /etc/opsbook/runbooks
    pub runbook_dirs: Vec<PathBuf>,
    /// named benchmark queries for `opsbook bench <name>` (`ranking` is built in)
    pub bench: BenchConfig,
    /// what `check health` probes besides PostgreSQL and Redis: RQ queues and app health URLs
    pub health: HealthConfig,
    /// custom metrics: named numbers from a SQL query or a Redis key, with thresholds
    pub metrics: Vec<metrics::Metric>,
    /// what `check night` flags as needing VACUUM / REINDEX and how `--maintain` runs them
    pub maintenance: MaintenanceConfig,
    /// what `check night --cleanup` may delete
    pub cleanup: CleanupConfig,
    /// what `opsbook monitor` samples besides the thresholds
    pub monitor: MonitorConfig,
    /// where alerts go: Telegram, a JSON webhook (Slack / Mattermost compatible)
    pub notify: NotifyConfig,
    /// S3-compatible places for off-site copies of the backups (`backup --remote NAME`)
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub remotes: remotes::Remotes,
    /// point-in-time recovery through pgBackRest (`opsbook pitr setup` prints this section);
    /// when set, `check morning` and `monitor` report the WAL archiver
    pub pitr: Option<PitrConfig>,
    /// the stack's other nodes: PostgreSQL, Redis, Sentinels, HAProxy and groups of them
    /// (`--target NAME|GROUP`, `--all`)
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub targets: targets::Targets,
}

/// `pitr:` the pgBackRest stanza opsbook set up and the config file it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PitrConfig {
    /// the stanza name (`main`)
    pub stanza: String,
    /// the pgBackRest config file `pitr setup` wrote (/etc/pgbackrest/opsbook-main.conf)
    pub config: PathBuf,
    /// the remote (`remotes.NAME`) `pitr setup` writes as the stanza's S3 repository (repo2)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
}

/// `monitor:` sampling settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// how long host.cpu_usage samples /proc/stat when no earlier run left its counters
    /// (at least 200ms for a steady figure)
    pub cpu_sample: Span,
    /// host.cpu_usage reports the CPU busy since the previous run when that run's counters
    /// are at most this old; older (or none): it samples for cpu_sample
    pub cpu_sample_max_age: Span,
    /// gone: "slow" is `thresholds.slow_query_mean_ms` / `slow_query_min_calls` for every
    /// command; still read so that an old config is refused with that hint, not "unknown key"
    #[serde(default, skip_serializing)]
    pub slow_query_ms: Option<f64>,
    /// RQ queues counted by rq.backlog; empty: every queue in RQ's `rq:queues` set
    pub queues: Vec<String>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            cpu_sample: Span(Duration::from_millis(500)),
            cpu_sample_max_age: Span(Duration::from_secs(600)),
            slow_query_ms: None,
            queues: Vec::new(),
        }
    }
}

/// `bench:` the queries `opsbook bench <name>` knows besides the built-in `ranking`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BenchConfig {
    /// name -> query; a `ranking` entry replaces the built-in one
    pub queries: std::collections::BTreeMap<String, BenchQuery>,
}

/// One named benchmark query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchQuery {
    /// one SQL statement; `$1`, `$2` ... take `params` in order
    pub sql: String,
    /// values for `$1`, `$2` ...; written as text and bound to each parameter's type
    #[serde(default)]
    pub params: Vec<BenchParam>,
    /// the p95 latency the query must meet, in milliseconds
    #[serde(serialize_with = "numbers::whole_opt")]
    pub target_ms: Option<f64>,
}

/// A parameter value: YAML may write `7`, `true` or `"abc"`; all are sent as their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BenchParam {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for BenchParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BenchParam::Int(v) => write!(f, "{v}"),
            BenchParam::Float(v) => write!(f, "{v}"),
            BenchParam::Bool(v) => write!(f, "{v}"),
            BenchParam::Text(v) => f.write_str(v),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            postgres: PostgresConfig::default(),
            redis: RedisConfig::default(),
            backup: BackupConfig::default(),
            services: vec![services::Service::Systemd("postgresql".to_string())],
            host: HostConfig::default(),
            network: NetworkConfig::default(),
            timeouts: TimeoutConfig::default(),
            thresholds: Thresholds::default(),
            state_dir: None,
            runbook_dirs: Vec::new(),
            bench: BenchConfig::default(),
            health: HealthConfig::default(),
            metrics: Vec::new(),
            maintenance: MaintenanceConfig::default(),
            cleanup: CleanupConfig::default(),
            monitor: MonitorConfig::default(),
            notify: NotifyConfig::default(),
            remotes: remotes::Remotes::new(),
            targets: targets::Targets::new(),
            pitr: None,
        }
    }
}

/// `health:` what `check health` probes besides PostgreSQL and Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthConfig {
    /// RQ queue names; empty: every queue in Redis's `rq:queues` set
    pub queues: Vec<String>,
    /// jobs waiting in one RQ queue
    pub backlog: Limits,
    /// the application's health URLs (http or https); each GET must answer 2xx
    pub urls: Vec<serde_saphyr::Spanned<String>>,
    /// bound on each URL: connecting and the whole answer
    pub timeout: Span,
    /// how long a health URL may take to answer
    pub latency: SpanLimits,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            queues: Vec::new(),
            backlog: warn_only(1000.0),
            urls: Vec::new(),
            timeout: Span::secs(5),
            latency: SpanLimits {
                warning: Some(Span::secs(1)),
                critical: None,
            },
        }
    }
}

impl Config {
    /// The config with every inline secret masked (`secrets::inline_secrets` lists where).
    pub fn masked(&self) -> Config {
        let mut c = self.clone();
        c.postgres.url = c.postgres.url.as_deref().map(mask_url);
        c.redis.url = c.redis.url.as_deref().map(mask_url);
        for u in c.health.urls.iter_mut() {
            u.value = mask_url(&u.value);
        }
        for u in c.network.endpoints.iter_mut() {
            *u = mask_url(u);
        }
        for r in c.remotes.values_mut() {
            r.endpoint = r.endpoint.as_deref().map(mask_url);
        }
        for t in c.targets.values_mut() {
            match t {
                targets::Target::Postgres(p) => {
                    p.url = mask_url(&p.url);
                    if let Some(api) = p.patroni.as_mut() {
                        api.url = mask_url(&api.url);
                    }
                }
                targets::Target::Redis(r) => r.url = mask_url(&r.url),
                targets::Target::Sentinel(s) => s.url = mask_url(&s.url),
                targets::Target::Haproxy(h) => h.url = h.url.as_deref().map(mask_url),
                targets::Target::Group(_) => {}
            }
        }
        if let Some(t) = c.notify.telegram.as_mut() {
            t.api_base = mask_url(&t.api_base);
        }
        if let Some(w) = c.notify.webhook.as_mut() {
            w.url = mask_webhook(&w.url);
        }
        c
    }

    /// The config as YAML (`config show`; mask it first).
    pub fn to_yaml(&self) -> anyhow::Result<String> {
        serde_saphyr::to_string(self).context("rendering the configuration as YAML")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_round_trips_and_masks() {
        let mut c = Config::default();
        c.postgres.url = Some("postgres://a:topsecret@h/db".into());
        let y = c.masked().to_yaml().unwrap();
        assert!(!y.contains("topsecret"));
        let back = parse(&y, "shown").unwrap();
        assert_eq!(back.thresholds, c.thresholds);
    }

    #[test]
    fn health_section_defaults_and_checks() {
        let c = parse(
            "health:\n  queues: [tasks]\n  urls: [http://127.0.0.1:8000/health]\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.health.backlog.warning, Some(1000.0));
        assert_eq!(c.health.timeout, Span::secs(5));
        assert_eq!(c.health.urls[0].value, "http://127.0.0.1:8000/health");
        let e = parse("health:\n  urls:\n    - ftp://x/\n", "f.yaml").unwrap_err();
        assert!(
            e.message
                .starts_with("invalid config f.yaml:3:7: health.urls:"),
            "{}",
            e.message
        );
        let c = parse("health:\n  backlog: {warning: 10, critical: 5}\n", "f").unwrap();
        assert!(c.validate().is_err());
        let c = parse("health:\n  timeout: 0s\n", "f").unwrap();
        assert!(c.validate().is_err());
    }
}
