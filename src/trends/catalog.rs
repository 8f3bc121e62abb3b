//! Which charts the report draws and which history keys feed each: the one list the page, the
//! sparklines and the JSON follow, and the one place that says who records what.

use serde::Serialize;

/// How the samples of one UTC day become points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PerDay {
    /// every sample is a point (backups: one per run)
    All,
    /// the day's last sample, at its own time (sizes: the history keeps one a day anyway)
    Last,
    /// the day's largest value, at the day's start (UTC midnight): peaks
    Max,
    /// the day's values added up, at the day's start: counts per run
    Sum,
}

/// One chart: its stable id, title, the finding ids whose history keys it draws.
#[derive(Debug, Clone, Copy)]
pub struct ChartSpec {
    pub id: &'static str,
    pub title: &'static str,
    /// finding ids (the history key up to its first '/'); a series per key
    pub findings: &'static [&'static str],
    pub unit: &'static str,
    pub per_day: PerDay,
    /// draw and report the least-squares growth
    pub fit: bool,
    /// who records these keys (the page says it under an empty chart)
    pub recorded_by: &'static str,
}

/// Free bytes per filesystem (`check night`), for the disk projection; not a chart of its own.
pub const DISK_AVAILABLE: &str = "host.disk_available";

/// The report's charts, in page order.
pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        id: "database_size",
        title: "Database sizes",
        findings: &["postgres.database_size"],
        unit: "bytes",
        per_day: PerDay::Last,
        fit: true,
        recorded_by: "check morning, check night, monitor",
    },
    ChartSpec {
        id: "disk_used",
        title: "Disk used, with the day it fills",
        findings: &["host.disk_used"],
        unit: "bytes",
        per_day: PerDay::Last,
        fit: true,
        recorded_by: "check night",
    },
    ChartSpec {
        id: "connections",
        title: "Daily connection peak against max_connections",
        findings: &["postgres.connections", "postgres.max_connections"],
        unit: "connections",
        per_day: PerDay::Max,
        fit: false,
        recorded_by: "check morning, check afternoon, monitor (max_connections: check afternoon)",
    },
    ChartSpec {
        id: "backup_size",
        title: "Backup sizes",
        findings: &["backup.size"],
        unit: "bytes",
        per_day: PerDay::All,
        fit: false,
        recorded_by: "backup",
    },
    ChartSpec {
        id: "backup_duration",
        title: "Backup durations",
        findings: &["backup.duration"],
        unit: "seconds",
        per_day: PerDay::All,
        fit: false,
        recorded_by: "backup",
    },
    ChartSpec {
        id: "restore_test",
        title: "Restore tests (1 passed, 0 failed)",
        findings: &["backup.restore_test"],
        unit: "passed",
        per_day: PerDay::All,
        fit: false,
        recorded_by: "backup verify --restore-test",
    },
    ChartSpec {
        id: "slow_statements",
        title: "Slow statements per day (the day's highest count)",
        findings: &["postgres.slow_query_count"],
        unit: "statements",
        per_day: PerDay::Max,
        fit: false,
        recorded_by: "monitor",
    },
    ChartSpec {
        id: "replication_lag",
        title: "Replication lag (the day's largest replay backlog on a standby)",
        findings: &["replica.replay_delay"],
        unit: "bytes",
        per_day: PerDay::Max,
        fit: false,
        recorded_by: "check morning (when the server replicates)",
    },
    ChartSpec {
        id: "alerts",
        title: "Alerts sent per day",
        // a running total of the UTC day, so the day's last run (the one the history keeps
        // after 36 h) holds the day's count
        findings: &["notify.sent"],
        unit: "alerts",
        per_day: PerDay::Max,
        fit: false,
        recorded_by: "monitor (when notify: is configured)",
    },
];
