//! Typed configuration: a YAML file (optional), then the environment, then flags.
//!
//! No file at all is valid: the defaults are the seeds' thresholds. Unknown keys and type
//! errors are operator errors that point at `file:line:column`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub mod secrets;

/// A duration written as `30s`, `10m`, `24h`, `7d`, `250ms` or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(s: u64) -> Span {
        Span(Duration::from_secs(s))
    }

    pub fn parse(text: &str) -> Result<Span, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("expected a duration like 30s, 10m, 24h or 7d, got `{text}`"))?;
        let secs = match unit.trim() {
            "" | "s" | "sec" | "secs" => n,
            "ms" => n / 1000.0,
            "m" | "min" | "mins" => n * 60.0,
            "h" | "hour" | "hours" => n * 3600.0,
            "d" | "day" | "days" => n * 86400.0,
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{text}` (use ms, s, m, h or d)"
                ))
            }
        };
        Span::from_secs_checked(secs, text)
    }

    /// The longest duration opsbook accepts anywhere, in the config or a flag: ten years
    /// (longer ones overflowed the clock arithmetic and panicked).
    pub const MAX: Span = Span::secs(3650 * 86400);

    /// `secs` as a Span, or the sentence saying why not (`text` is what the operator wrote).
    fn from_secs_checked(secs: f64, text: &str) -> Result<Span, String> {
        if secs.is_nan() || secs < 0.0 {
            return Err(format!("duration `{text}` must be zero or more"));
        }
        if secs > Span::MAX.as_secs_f64() {
            return Err(format!(
                "duration `{text}` is out of range: the accepted range is 0s to {} (ten years)",
                Span::MAX
            ));
        }
        Ok(Span(Duration::from_secs_f64(secs)))
    }

    pub fn as_secs_f64(&self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0.as_secs();
        let ms = self.0.subsec_millis();
        if ms != 0 {
            write!(f, "{}ms", self.0.as_millis())
        } else if s != 0 && s.is_multiple_of(86400) {
            write!(f, "{}d", s / 86400)
        } else if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => {
                Span::from_secs_checked(n, &n.to_string()).map_err(serde::de::Error::custom)
            }
            Raw::Text(t) => Span::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A warning / critical pair; either may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
}

const MIB: f64 = 1024.0 * 1024.0;

const fn limits(warning: f64, critical: f64) -> Limits {
    Limits {
        warning: Some(warning),
        critical: Some(critical),
    }
}

const fn warn_only(warning: f64) -> Limits {
    Limits {
        warning: Some(warning),
        critical: None,
    }
}

/// The thresholds; defaults are the seed runbooks' numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// percent of max_connections in use
    pub connections_pct: Limits,
    /// percent of buffer reads served from shared_buffers (lower is worse)
    pub cache_hit_pct: Limits,
    /// host memory in use, percent
    pub memory_pct: Limits,
    /// host CPU busy, percent
    pub cpu_pct: Limits,
    /// filesystem use, percent
    pub disk_pct: Limits,
    /// Redis used_memory as a percent of maxmemory
    pub redis_memory_pct: Limits,
    /// age of the newest backup
    pub backup_age: SpanLimits,
    /// journal lines matching "error" in the last 24 h, per unit
    pub journal_errors: Limits,
    /// estimated table bloat, percent
    pub bloat_pct: Limits,
    /// sockets in TIME_WAIT
    pub time_wait: Limits,
    /// network latency, milliseconds
    pub latency_ms: Limits,
    /// sockets in CLOSE_WAIT: the local program never closed its side (a leaking client)
    pub close_wait: Limits,
    /// days until an HTTPS endpoint's certificate expires (lower is worse)
    pub cert_days: Limits,
    /// how long a session has waited for a lock (`diagnose locks`)
    pub lock_wait: SpanLimits,
    /// bytes a standby's replay is behind (pg_stat_replication on a primary, LSNs on a standby)
    pub replication_lag_bytes: Limits,
    /// how long a standby's replay is behind (0 when it has replayed all it received)
    pub replication_delay: SpanLimits,
    /// WAL a replication slot holds back, bytes (an inactive slot holding any is a warning)
    pub slot_retained_bytes: Limits,
    /// days until a filesystem is full at its growth of the last 14 days (lower is worse)
    pub disk_full_days: Limits,
    /// a database's growth per day, percent of its size a day earlier (`check night`)
    pub database_growth_pct: Limits,
    /// a database's growth per day, bytes (`check night`)
    pub database_growth_bytes: Limits,
    /// mean execution time of a statement `check afternoon` lists as slow, milliseconds
    /// (the warning value is also the listing filter)
    pub slow_query_mean_ms: Limits,
    /// a statement is listed as slow only with more calls than this
    pub slow_query_calls: u64,
    /// bytes a table or index wastes; bloat is flagged when this AND bloat_pct are exceeded
    pub bloat_wasted_bytes: Limits,
    /// relations smaller than this (bytes) are not checked for bloat, unused indexes or
    /// sequential scans
    pub relation_min_bytes: u64,
    /// age of an open transaction (pg_stat_activity.xact_start)
    pub long_transaction: SpanLimits,
    /// how long a session has been idle in transaction (pg_stat_activity.state_change)
    pub idle_in_transaction: SpanLimits,
    /// oldest age(datfrozenxid) as a percent of autovacuum_freeze_max_age
    pub wraparound_pct: Limits,
    /// jobs waiting in the RQ queues, all queues together (`monitor`)
    pub rq_backlog: Limits,
    /// statements whose mean time is above `monitor.slow_query_ms` (`monitor`; none: report only)
    pub slow_queries: Limits,
    /// sessions waiting on a lock at the moment of the snapshot (`monitor`)
    pub waiting_locks: Limits,
    /// 1-minute load average per logical CPU (`monitor`)
    pub load_per_core: Limits,
    /// Redis connected_clients (`monitor`; none: report only)
    pub redis_clients: Limits,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanLimits {
    pub warning: Option<Span>,
    pub critical: Option<Span>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            connections_pct: limits(80.0, 90.0),
            cache_hit_pct: warn_only(95.0),
            memory_pct: limits(90.0, 95.0),
            cpu_pct: limits(80.0, 90.0),
            disk_pct: limits(80.0, 90.0),
            redis_memory_pct: limits(80.0, 90.0),
            backup_age: SpanLimits {
                warning: None,
                critical: Some(Span::secs(24 * 3600)),
            },
            journal_errors: warn_only(10.0),
            bloat_pct: warn_only(20.0),
            time_wait: warn_only(1000.0),
            latency_ms: warn_only(200.0),
            close_wait: warn_only(100.0),
            cert_days: warn_only(14.0),
            lock_wait: SpanLimits {
                warning: Some(Span::secs(0)),
                critical: Some(Span::secs(300)),
            },
            replication_lag_bytes: limits(16.0 * MIB, 1024.0 * MIB),
            replication_delay: SpanLimits {
                warning: Some(Span::secs(60)),
                critical: Some(Span::secs(300)),
            },
            slot_retained_bytes: limits(1024.0 * MIB, 10.0 * 1024.0 * MIB),
            disk_full_days: limits(14.0, 3.0),
            database_growth_pct: warn_only(20.0),
            database_growth_bytes: Limits {
                warning: None,
                critical: None,
            },
            slow_query_mean_ms: warn_only(50.0),
            slow_query_calls: 100,
            bloat_wasted_bytes: warn_only(10.0 * MIB),
            relation_min_bytes: 10 * 1024 * 1024,
            long_transaction: SpanLimits {
                warning: Some(Span::secs(300)),
                critical: Some(Span::secs(3600)),
            },
            idle_in_transaction: SpanLimits {
                warning: Some(Span::secs(60)),
                critical: Some(Span::secs(600)),
            },
            wraparound_pct: limits(50.0, 80.0),
            rq_backlog: warn_only(1000.0),
            slow_queries: Limits {
                warning: None,
                critical: None,
            },
            waiting_locks: warn_only(5.0),
            load_per_core: warn_only(2.0),
            redis_clients: Limits {
                warning: None,
                critical: None,
            },
        }
    }
}

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
    /// systemd units checked by `service.active` and `journal.errors`
    pub services: Vec<String>,
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
    pub metrics: Vec<crate::metrics::Metric>,
    /// what `check night` flags as needing VACUUM / REINDEX and how `--maintain` runs them
    pub maintenance: MaintenanceConfig,
    /// what `check night --cleanup` may delete
    pub cleanup: CleanupConfig,
    /// what `opsbook monitor` samples besides the thresholds
    pub monitor: MonitorConfig,
    /// where alerts go: Telegram, a JSON webhook (Slack / Mattermost compatible)
    pub notify: NotifyConfig,
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
    /// a statement whose mean time is above this many milliseconds counts as slow
    pub slow_query_ms: f64,
    /// RQ queues counted by rq.backlog; empty: every queue in RQ's `rq:queues` set
    pub queues: Vec<String>,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            cpu_sample: Span(Duration::from_millis(500)),
            cpu_sample_max_age: Span(Duration::from_secs(600)),
            slow_query_ms: 100.0,
            queues: Vec::new(),
        }
    }
}

/// `notify:` the channels alerts and runbook outcomes are sent to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    pub telegram: Option<TelegramConfig>,
    pub webhook: Option<WebhookConfig>,
    /// a still-firing alert is sent again after this long
    pub repeat_after: Span,
    /// the finding states that are alerts
    pub on: Vec<crate::report::Status>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            telegram: None,
            webhook: None,
            repeat_after: Span::secs(3600),
            on: vec![
                crate::report::Status::Critical,
                crate::report::Status::Warning,
            ],
        }
    }
}

/// A Telegram chat id: a number (`-1001234`) or a channel name (`@ops`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Int(i64),
    Text(String),
}

/// `notify.telegram:` the Bot API's sendMessage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// environment variable holding the bot token (read first)
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// file whose first line is the bot token (mode 0600 or 0400)
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    pub chat_id: ChatId,
    #[serde(default = "default_telegram_api")]
    pub api_base: String,
    /// connecting to the API
    #[serde(default = "default_notify_connect")]
    pub connect_timeout: Span,
    /// the whole request, connect included
    #[serde(default = "default_notify_timeout")]
    pub timeout: Span,
}

/// `notify.webhook:` POST {"text": ...} (Slack and Mattermost incoming webhooks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default = "default_notify_connect")]
    pub connect_timeout: Span,
    #[serde(default = "default_notify_timeout")]
    pub timeout: Span,
}

fn default_token_env() -> String {
    "OPSBOOK_TELEGRAM_TOKEN".to_string()
}

fn default_telegram_api() -> String {
    "https://api.telegram.org".to_string()
}

fn default_notify_connect() -> Span {
    Span::secs(3)
}

fn default_notify_timeout() -> Span {
    Span::secs(5)
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
            services: vec!["postgresql".to_string()],
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

/// The text being parsed and the name errors give it (a path, or "shown").
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// A config error at a position a value was read from: `name:line:column: what`, the source
/// line with a caret under the value (as serde-saphyr shows its own errors), then the hint.
pub fn located_error(
    origin: Origin<'_>,
    at: &serde_saphyr::Location,
    what: &str,
    hint: &str,
) -> ConfigError {
    let (line, column) = (at.line() as usize, at.column() as usize);
    let Some(source) = line
        .checked_sub(1)
        .and_then(|i| origin.text.lines().nth(i))
        .map(mask_urls_in)
    else {
        return ConfigError {
            message: format!("invalid config {}: {what}\nhint: {hint}", origin.name),
        };
    };
    let place = format!("{}:{line}:{column}", origin.name);
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    let caret = " ".repeat(column.saturating_sub(1));
    ConfigError {
        message: format!(
            "invalid config {place}: {what}\n{pad}--> {place}\n{pad} |\n{line} | {source}\n{pad} | {caret}^\nhint: {hint}"
        ),
    }
}

/// What serde cannot check but a position should be named for: health URLs and metrics.
fn validate_located(cfg: &Config, origin: Origin<'_>) -> Result<(), ConfigError> {
    for url in &cfg.health.urls {
        if let Err(e) = crate::clients::http::Target::parse(&url.value) {
            return Err(located_error(
                origin,
                &url.referenced,
                &format!("health.urls: {}", crate::report::one_line(&e)),
                "write an http:// or https:// URL such as http://127.0.0.1:8000/health",
            ));
        }
    }
    crate::metrics::validate(&cfg.metrics, origin)
}

/// Where the effective configuration came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Defaults,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Defaults => write!(f, "built-in defaults (no config file)"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A config error an operator caused: exit 3 with the location and a hint.
#[derive(Debug)]
pub struct ConfigError {
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The default search path, in precedence order after `--config` and `OPSBOOK_CONFIG`.
pub fn default_paths(env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("/etc/opsbook/opsbook.yaml")];
    let xdg = env("XDG_CONFIG_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = xdg {
        paths.push(dir.join("opsbook/opsbook.yaml"));
    }
    paths
}

/// Pick and parse the config: `--config` > `OPSBOOK_CONFIG` > /etc > ~/.config; none is fine.
pub fn load(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Config, Source)> {
    let explicit = flag.map(Path::to_path_buf).or_else(|| {
        env("OPSBOOK_CONFIG")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    });
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(ConfigError {
                message: format!(
                    "config file {} does not exist\nhint: check the path given by --config or OPSBOOK_CONFIG, or run without it to use the built-in defaults",
                    path.display()
                ),
            }
            .into());
        }
        let cfg = load_file(&path)?;
        return Ok((cfg, Source::File(path)));
    }
    for path in default_paths(env) {
        if path.exists() {
            let cfg = load_file(&path)?;
            return Ok((cfg, Source::File(path)));
        }
    }
    Ok((Config::default(), Source::Defaults))
}

/// Parse one file, with `file:line:column` in every error.
pub fn load_file(path: &Path) -> anyhow::Result<Config> {
    let text =
        crate::bounded_read::read_text(path, "config file", crate::bounded_read::YAML_FILE_LIMIT)
            .map_err(|e| ConfigError {
            message: e.to_string(),
        })?;
    let cfg = parse(&text, &path.display().to_string())?;
    secrets::check(path, &cfg)?;
    Ok(cfg)
}

pub fn yaml_error_parts(e: &serde_saphyr::Error, origin: &str) -> (String, String, Vec<String>) {
    let at = match e.location() {
        Some(l) => format!("{origin}:{}:{}", l.line(), l.column()),
        None => origin.to_string(),
    };
    let rendered = e.to_string().replace("<input>", origin);
    let mut lines = rendered.lines();
    let first = lines.next().unwrap_or_default();
    let library = first
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(pre, _)| pre.starts_with("line "))
        .map(|(_, msg)| msg.to_string())
        .unwrap_or_else(|| first.trim_start_matches("error: ").to_string());
    match operator_words(e) {
        // The snippet repeats the message under its caret: the operator's words there too.
        Some(ours) => (
            at,
            ours.clone(),
            lines.map(|l| l.replace(&library, &ours)).collect(),
        ),
        None => (at, library, lines.map(str::to_string).collect()),
    }
}

/// The parser's errors that speak of its own API ("set DuplicateKeyPolicy in Options",
/// "budget breached: Nodes { nodes: 250001 }"), said to the operator instead.
fn operator_words(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error;
    let limits = serde_saphyr::Budget::default();
    let too_big = |what: String| {
        format!("the file is too large or complex for opsbook: {what}; is this the right file?")
    };
    Some(match e.without_snippet() {
        Error::DuplicateMappingKey { key: Some(k), .. } => {
            format!("duplicate key `{k}`: write each key once")
        }
        Error::DuplicateMappingKey { key: None, .. } => {
            "duplicate key: write each key once".to_string()
        }
        Error::MultipleDocuments { .. } => {
            "more than one YAML document (a `---` line in the middle): the file holds one"
                .to_string()
        }
        Error::Budget { breach, .. } => too_big(match breach {
            BudgetBreach::Nodes { nodes } => {
                format!("{nodes} nodes over the limit of {}", limits.max_nodes)
            }
            BudgetBreach::Events { events } => {
                format!(
                    "{events} YAML events over the limit of {}",
                    limits.max_events
                )
            }
            BudgetBreach::Depth { depth } => {
                format!(
                    "nested {depth} levels deep, over the limit of {}",
                    limits.max_depth
                )
            }
            BudgetBreach::Aliases { aliases } => {
                format!("{aliases} aliases over the limit of {}", limits.max_aliases)
            }
            BudgetBreach::Anchors { anchors } => {
                format!("{anchors} anchors over the limit of {}", limits.max_anchors)
            }
            BudgetBreach::Documents { documents } => {
                format!(
                    "{documents} documents over the limit of {}",
                    limits.max_documents
                )
            }
            BudgetBreach::ScalarBytes { total_scalar_bytes } => format!(
                "{total_scalar_bytes} bytes of values over the limit of {}",
                limits.max_total_scalar_bytes
            ),
            _ => "over one of the YAML parser's size limits".to_string(),
        }),
        Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => {
            too_big("aliases (`*name`) expand to too much".to_string())
        }
        _ => return None,
    })
}

/// Parse YAML text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let cfg = serde_saphyr::from_str::<Config>(text).map_err(|e| {
            let (at, what, snippet) = yaml_error_parts(&e, origin);
            let mut message = format!("invalid config {at}: {what}");
            if !snippet.is_empty() {
                // The snippet quotes the file: a password in a URL there must not be shown.
                let shown: Vec<String> = snippet.iter().map(|l| mask_urls_in(l)).collect();
                message.push('\n');
                message.push_str(&shown.join("\n"));
            }
            message.push_str(
                "\nhint: fix the key or value at that position (see `opsbook config show` for every key and its default)",
            );
            ConfigError { message }
        })?;
    validate_located(&cfg, Origin { name: origin, text })?;
    Ok(cfg)
}

pub fn mask_urls_in(line: &str) -> String {
    let is_delim = |c: char| c.is_whitespace() || "'\",[]{}".contains(c);
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let start = rest[..i].rfind(is_delim).map(|p| p + 1).unwrap_or(0);
        let end = rest[i..]
            .find(is_delim)
            .map(|p| i + p)
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        out.push_str(&mask_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    secrets::mask_pairs_in(&out)
}

/// Replace the password of a URL (`scheme://user:secret@host`) by `***`.
/// `url` (or a libpq `key=value` string) with its inline secrets masked (see `secrets`).
pub fn mask_url(url: &str) -> String {
    secrets::mask(url)
}

pub fn mask_webhook(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_string();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    format!("{scheme}://{host}/***")
}

impl Config {
    /// Validate what serde cannot: cross-field rules.
    pub fn validate(&self) -> anyhow::Result<()> {
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
        if !(self.monitor.slow_query_ms.is_finite() && self.monitor.slow_query_ms >= 0.0) {
            bail!(ConfigError {
                message: format!(
                    "monitor.slow_query_ms: {} is not a number of milliseconds",
                    self.monitor.slow_query_ms
                )
            });
        }
        if let Some(w) = &self.notify.webhook {
            // The URL is a credential: the message does not repeat it.
            crate::clients::http::Target::parse(&w.url).map_err(|_| ConfigError {
                message: "notify.webhook.url is not an http(s)://host[:port]/path URL (credentials in it are not supported either)\nhint: write the full URL of the incoming webhook".to_string(),
            })?;
        }
        if let Some(t) = &self.notify.telegram {
            crate::clients::http::Target::parse(&t.api_base).map_err(|e| ConfigError {
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

    /// The effective config as YAML with every secret masked.
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
        if let Some(t) = c.notify.telegram.as_mut() {
            t.api_base = mask_url(&t.api_base);
        }
        if let Some(w) = c.notify.webhook.as_mut() {
            w.url = mask_webhook(&w.url);
        }
        c
    }

    pub fn to_yaml(&self) -> anyhow::Result<String> {
        serde_saphyr::to_string(self).context("rendering the configuration as YAML")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_comment_only_files_are_the_defaults() {
        assert_eq!(parse("", "f").unwrap(), Config::default());
        assert_eq!(parse("# nothing\n", "f").unwrap(), Config::default());
    }

    #[test]
    fn unknown_key_names_file_line_and_column() {
        let e = parse("thresholds:\n  disk_pct:\n    warnin: 70\n", "/etc/x.yaml").unwrap_err();
        assert!(
            e.message
                .starts_with("invalid config /etc/x.yaml:3:5: unknown field `warnin`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("expected one of"), "{}", e.message);
    }

    #[test]
    fn type_error_names_the_position() {
        let e = parse("timeouts:\n  connect: soon\n", "c.yaml").unwrap_err();
        assert!(e.message.contains("c.yaml:2:"), "{}", e.message);
        assert!(e.message.contains("duration"), "{}", e.message);
    }

    #[test]
    fn durations() {
        assert_eq!(Span::parse("24h").unwrap().0.as_secs(), 86400);
        assert_eq!(Span::parse("250ms").unwrap().0.as_millis(), 250);
        assert_eq!(Span::parse("90").unwrap().0.as_secs(), 90);
        assert!(Span::parse("5 fortnights").is_err());
        assert_eq!(Span::secs(86400).to_string(), "1d");
        assert_eq!(Span::secs(90).to_string(), "90s");
        let c = parse("thresholds:\n  backup_age:\n    critical: 36h\n", "f").unwrap();
        assert_eq!(
            c.thresholds.backup_age.critical,
            Some(Span::secs(36 * 3600))
        );
    }

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            mask_url("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(mask_url("postgres://app@db/x"), "postgres://app@db/x");
        assert!(secrets::inline_secret("redis://:pw@h:1").is_some());
        assert!(secrets::inline_secret("postgres://app@db/x?x=a:b").is_none());
    }

    #[test]
    fn error_snippets_never_show_a_url_password() {
        assert_eq!(
            mask_urls_in("  urls: ['http://app:pw@h:1/x', redis://:pw2@r/0]"),
            "  urls: ['http://app:***@h:1/x', redis://:***@r/0]"
        );
        assert_eq!(mask_urls_in("no url here"), "no url here");
        let e = parse(
            "postgres: {url: 'postgres://a:hunter2@h/db', bogus: 1}\n",
            "f.yaml",
        )
        .unwrap_err();
        assert!(e.message.contains("bogus"), "{}", e.message);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("postgres://a:***@h/db"), "{}", e.message);
    }

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
    fn notify_sections_parse_and_the_webhook_is_masked() {
        let c = parse(
            "notify:\n  on: [critical]\n  telegram:\n    chat_id: -100123\n  webhook:\n    url: https://hooks.example.com/services/T0/B0/s3cret\n",
            "f",
        )
        .unwrap();
        c.validate().unwrap();
        let t = c.notify.telegram.as_ref().unwrap();
        assert_eq!(t.chat_id, ChatId::Int(-100123));
        assert_eq!(t.token_env, "OPSBOOK_TELEGRAM_TOKEN");
        assert_eq!(t.timeout, Span::secs(5));
        assert_eq!(c.notify.on, vec![crate::report::Status::Critical]);
        let y = c.masked().to_yaml().unwrap();
        assert!(!y.contains("s3cret"), "{y}");
        assert!(y.contains("https://hooks.example.com/***"), "{y}");
        let bad = parse("notify:\n  webhook:\n    url: ftp://x/s3cret\n", "f").unwrap();
        let e = format!("{:#}", bad.validate().unwrap_err());
        assert!(
            !e.contains("s3cret") && e.contains("notify.webhook.url"),
            "{e}"
        );
        assert_eq!(Config::default().monitor.cpu_sample.0.as_millis(), 500);
        assert_eq!(
            Config::default().thresholds.rq_backlog.warning,
            Some(1000.0)
        );
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

    #[test]
    fn afternoon_thresholds_have_defaults_and_parse() {
        let d = Thresholds::default();
        assert_eq!(d.slow_query_mean_ms.warning, Some(50.0));
        assert_eq!(d.slow_query_calls, 100);
        assert_eq!(d.bloat_wasted_bytes.warning, Some(10.0 * MIB));
        assert_eq!(d.long_transaction.critical, Some(Span::secs(3600)));
        assert_eq!(d.idle_in_transaction.warning, Some(Span::secs(60)));
        assert_eq!(d.wraparound_pct.critical, Some(80.0));
        let c = parse(
            "thresholds:\n  relation_min_bytes: 1048576\n  idle_in_transaction: {warning: 1s}\n  slow_query_calls: 10\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.thresholds.relation_min_bytes, 1 << 20);
        assert_eq!(c.thresholds.slow_query_calls, 10);
        assert_eq!(
            c.thresholds.idle_in_transaction,
            SpanLimits {
                warning: Some(Span::secs(1)),
                critical: None
            }
        );
        let bad = parse(
            "thresholds:\n  wraparound_pct: {warning: 90, critical: 80}\n",
            "f",
        )
        .unwrap();
        assert!(bad.validate().is_err());
    }
}
