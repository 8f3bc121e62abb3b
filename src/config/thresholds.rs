//! `thresholds:`: the warning / critical pairs every check judges by, with the seed
//! runbooks' numbers as defaults.

use serde::{Deserialize, Serialize};

use super::Span;

/// A warning / critical pair; either may be absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(serialize_with = "super::numbers::whole_opt")]
    pub warning: Option<f64>,
    #[serde(serialize_with = "super::numbers::whole_opt")]
    pub critical: Option<f64>,
}

impl Limits {
    /// The status of `value` against these limits when higher is worse.
    pub fn status_above(&self, value: f64) -> crate::report::Status {
        crate::report::Status::above(value, self.warning, self.critical)
    }
}

const MIB: f64 = 1024.0 * 1024.0;

const fn limits(warning: f64, critical: f64) -> Limits {
    Limits {
        warning: Some(warning),
        critical: Some(critical),
    }
}

pub(super) const fn warn_only(warning: f64) -> Limits {
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
    /// what "slow" means for `monitor`, `check afternoon` and `diagnose queries`: a statement
    /// of the connected database with a mean execution time of at least the warning value
    /// (milliseconds; else the critical one) ...
    pub slow_query_mean_ms: Limits,
    /// ... over at least this many calls (`slow_query_calls`, its old name, is accepted)
    #[serde(alias = "slow_query_calls")]
    pub slow_query_min_calls: u64,
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
    /// how many slow statements (`slow_query_mean_ms` / `slow_query_min_calls`) `monitor`
    /// alerts on (none: report only)
    pub slow_queries: Limits,
    /// sessions waiting on a lock at the moment of the snapshot (`monitor`)
    pub waiting_locks: Limits,
    /// 1-minute load average per logical CPU (`monitor`)
    pub load_per_core: Limits,
    /// Redis connected_clients (`monitor`; none: report only)
    pub redis_clients: Limits,
    /// age of the last successful recovery drill (`restore --rehearse`; `check morning` with pitr:)
    pub rehearsal_age: SpanLimits,
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
            slow_query_min_calls: 100,
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
            rehearsal_age: SpanLimits {
                warning: Some(Span::secs(8 * 86400)),
                critical: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn afternoon_thresholds_have_defaults_and_parse() {
        let d = Thresholds::default();
        assert_eq!(d.slow_query_mean_ms.warning, Some(50.0));
        assert_eq!(d.slow_query_min_calls, 100);
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
        assert_eq!(c.thresholds.slow_query_min_calls, 10);
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
