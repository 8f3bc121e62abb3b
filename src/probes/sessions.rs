//! Sessions that hold the database back: long transactions, sessions idle in transaction,
//! sessions waiting on a lock (pg_stat_activity, cluster wide, our own backend excluded), and
//! how close the oldest database is to a forced anti-wraparound VACUUM.

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::postgres::PgClient;
use crate::config::{Limits, SpanLimits};
use crate::render::human_duration;
use crate::report::{Finding, Status};

/// One session of pg_stat_activity as the findings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub pid: i32,
    pub user: String,
    pub application: String,
    /// seconds: transaction age, idle time or lock wait, depending on the finding
    pub age_secs: f64,
    pub query: String,
    /// pids holding the lock this session waits for (lock waits only)
    pub blocked_by: Vec<i32>,
}

/// Client backends with an open transaction, oldest first. PG 10+ (backend_type).
const LONG_SQL: &str = "SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), \
     greatest(0, extract(epoch FROM now() - xact_start))::float8, coalesce(query, '') \
     FROM pg_stat_activity \
     WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend' \
     ORDER BY xact_start";

/// Sessions idle in a transaction, by how long they have been idle.
const IDLE_SQL: &str = "SELECT pid, coalesce(usename::text, ''), coalesce(application_name, ''), \
     greatest(0, extract(epoch FROM now() - state_change))::float8, coalesce(query, '') \
     FROM pg_stat_activity \
     WHERE state IN ('idle in transaction', 'idle in transaction (aborted)') \
       AND pid <> pg_backend_pid() ORDER BY state_change";

/// Sessions waiting on a heavyweight lock with the pids that block them. The wait starts at
/// pg_locks.waitstart (PG 14+; `{WAITSTART}` is NULL before), else at the query's start.
const LOCKS_SQL: &str =
    "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
     greatest(0, extract(epoch FROM now() - coalesce({WAITSTART}, a.query_start, now())))::float8, \
     coalesce(a.query, ''), pg_blocking_pids(a.pid) \
     FROM pg_stat_activity a \
     WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid() ORDER BY 4 DESC";

fn read(rows: &[tokio_postgres::Row], with_blockers: bool) -> anyhow::Result<Vec<Session>> {
    rows.iter()
        .map(|r| {
            Ok(Session {
                pid: r.try_get(0)?,
                user: r.try_get(1)?,
                application: r.try_get(2)?,
                age_secs: r.try_get(3)?,
                query: r.try_get(4)?,
                blocked_by: if with_blockers {
                    r.try_get(5)?
                } else {
                    Vec::new()
                },
            })
        })
        .collect()
}

/// Status of a duration against "longer is worse" span thresholds.
pub fn span_status(secs: f64, limits: SpanLimits) -> Status {
    Status::above(
        secs,
        limits.warning.map(|s| s.as_secs_f64()),
        limits.critical.map(|s| s.as_secs_f64()),
    )
}

/// The smallest duration that is flagged ("longer than 5m"), for summaries.
fn floor_text(limits: SpanLimits) -> String {
    match limits.warning.or(limits.critical) {
        Some(s) => format!("longer than {s}"),
        None => "(no threshold set)".to_string(),
    }
}

/// What one kind of session finding says.
pub struct Kind {
    pub id: &'static str,
    /// "transaction(s) open", "session(s) idle in transaction", "session(s) waiting on a lock"
    pub what: &'static str,
    pub hint: &'static str,
}

pub const LONG: Kind = Kind {
    id: "postgres.long_transactions",
    what: "transaction(s) open",
    hint: "a long transaction holds back VACUUM on every table: ask its owner to commit, or end it with SELECT pg_cancel_backend(PID) (its query) / pg_terminate_backend(PID) (the session)",
};
pub const IDLE: Kind = Kind {
    id: "postgres.idle_in_transaction",
    what: "session(s) idle in transaction",
    hint: "the application opened a transaction and stopped talking: fix its commit path; SELECT pg_terminate_backend(PID) ends one; idle_in_transaction_session_timeout ends them automatically",
};
pub const LOCKS: Kind = Kind {
    id: "postgres.lock_waits",
    what: "session(s) waiting on a lock",
    hint: "see the blocking pids (blocked by ...); `opsbook diagnose locks` shows the whole tree and can terminate the root blocker",
};

/// One line per session: "pid 123 app=psql user=postgres 12m: UPDATE t SET ...".
pub fn session_line(s: &Session) -> String {
    let blocked = if s.blocked_by.is_empty() {
        String::new()
    } else {
        format!(
            " blocked by {}",
            s.blocked_by
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    format!(
        "pid {} user={} app={} {}{blocked}: {}",
        s.pid,
        s.user,
        if s.application.is_empty() {
            "-"
        } else {
            &s.application
        },
        human_duration(s.age_secs),
        crate::sql::one_line_text(&s.query, 200)
    )
}

/// One finding for one kind: the flagged sessions in detail, status by the oldest, value the
/// oldest age in seconds (0 when there is none).
pub fn finding(kind: &Kind, sessions: &[Session], limits: SpanLimits) -> Finding {
    let flagged: Vec<&Session> = sessions
        .iter()
        .filter(|s| span_status(s.age_secs, limits) != Status::Ok)
        .collect();
    let oldest = sessions.iter().map(|s| s.age_secs).fold(0.0, f64::max);
    let Some(worst) = flagged
        .iter()
        .max_by(|a, b| a.age_secs.total_cmp(&b.age_secs))
    else {
        let summary = if sessions.is_empty() {
            format!("no {} ", kind.what.replace("(s)", "s"))
        } else {
            format!(
                "{} {}, none {}, ",
                sessions.len(),
                kind.what,
                floor_text(limits)
            )
        };
        return Finding::ok(
            kind.id,
            format!("{summary}{}", threshold_note(limits)).trim_end(),
        )
        .value_f64(oldest, "seconds");
    };
    let status = span_status(worst.age_secs, limits);
    Finding::new(
        kind.id,
        status,
        format!(
            "{} {} {}, the oldest {} (pid {})",
            flagged.len(),
            kind.what,
            floor_text(limits),
            human_duration(worst.age_secs),
            worst.pid
        ),
    )
    .value_f64(worst.age_secs, "seconds")
    .hint(kind.hint)
    .detail(flagged.iter().take(20).map(|s| session_line(s)).collect())
}

fn threshold_note(limits: SpanLimits) -> String {
    match (limits.warning, limits.critical) {
        (Some(w), Some(c)) => format!("(warning {w}, critical {c})"),
        (Some(w), None) => format!("(warning {w})"),
        (None, Some(c)) => format!("(critical {c})"),
        (None, None) => String::new(),
    }
}

pub async fn long_transactions(pg: &PgClient, limits: SpanLimits) -> anyhow::Result<Vec<Finding>> {
    let rows = pg
        .client
        .query(LONG_SQL, &[])
        .await
        .context("reading open transactions from pg_stat_activity")?;
    Ok(vec![finding(&LONG, &read(&rows, false)?, limits)])
}

pub async fn idle_in_transaction(
    pg: &PgClient,
    limits: SpanLimits,
) -> anyhow::Result<Vec<Finding>> {
    let rows = pg
        .client
        .query(IDLE_SQL, &[])
        .await
        .context("reading idle-in-transaction sessions from pg_stat_activity")?;
    Ok(vec![finding(&IDLE, &read(&rows, false)?, limits)])
}

pub fn locks_sql(major: u32) -> String {
    let waitstart = if major >= 14 {
        "(SELECT min(l.waitstart) FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted)"
    } else {
        "NULL::timestamptz"
    };
    LOCKS_SQL.replace("{WAITSTART}", waitstart)
}

pub async fn lock_waits(pg: &PgClient, limits: SpanLimits) -> anyhow::Result<Vec<Finding>> {
    let rows = pg
        .client
        .query(&locks_sql(pg.major()), &[])
        .await
        .context("reading lock waits from pg_stat_activity and pg_blocking_pids")?;
    Ok(vec![finding(&LOCKS, &read(&rows, true)?, limits)])
}

/// The database with the oldest unfrozen transaction ID, and the autovacuum limit.
const WRAPAROUND_SQL: &str = "SELECT datname::text, age(datfrozenxid)::int8, \
     current_setting('autovacuum_freeze_max_age')::int8 \
     FROM pg_database ORDER BY age(datfrozenxid) DESC, datname LIMIT 1";

/// `postgres.txn_wraparound`: max age(datfrozenxid) as a percent of autovacuum_freeze_max_age
/// (at 100 % autovacuum forces an anti-wraparound VACUUM; at 2^31 the server stops writes).
pub fn wraparound_finding(db: &str, age: i64, freeze_max_age: i64, limits: Limits) -> Finding {
    let p = super::pct(age as f64, freeze_max_age as f64);
    Finding::new(
        "postgres.txn_wraparound",
        limits.status_above(p),
        format!(
            "oldest unfrozen transaction ID is {age} transactions old in {db}: {p:.1}% of autovacuum_freeze_max_age ({freeze_max_age})"
        ),
    )
    .subject(db)
    .value_f64(p, "percent")
    .above(limits.warning, limits.critical)
    .hint_unless_ok(format!(
            "VACUUM (FREEZE, VERBOSE) the oldest tables of {db} (SELECT relname, age(relfrozenxid) FROM pg_class WHERE relkind = 'r' ORDER BY 2 DESC LIMIT 10) and look for what holds the xmin back: long transactions, prepared transactions (pg_prepared_xacts), stale replication slots"
        ))
}

pub async fn txn_wraparound(pg: &PgClient, limits: Limits) -> anyhow::Result<Vec<Finding>> {
    let row = pg
        .client
        .query_one(WRAPAROUND_SQL, &[])
        .await
        .context("reading age(datfrozenxid) from pg_database")?;
    Ok(vec![wraparound_finding(
        &row.try_get::<_, String>(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        limits,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    fn s(pid: i32, age: f64) -> Session {
        Session {
            pid,
            user: "app".into(),
            application: "worker".into(),
            age_secs: age,
            query: "UPDATE t\n   SET v = 1".into(),
            blocked_by: vec![],
        }
    }

    const IDLE_LIMITS: SpanLimits = SpanLimits {
        warning: Some(Span::secs(60)),
        critical: Some(Span::secs(600)),
    };

    #[test]
    fn oldest_session_decides_and_only_flagged_ones_are_listed() {
        let f = finding(&IDLE, &[s(1, 5.0), s(2, 120.0), s(3, 700.0)], IDLE_LIMITS);
        assert_eq!(f.status, Status::Critical);
        assert_eq!(f.value, serde_json::json!(700.0));
        assert_eq!(f.detail.len(), 2);
        assert!(f.detail[0].starts_with("pid 2 user=app app=worker 2m"));
        assert!(f.detail[0].ends_with(": UPDATE t SET v = 1"));
        assert!(f.summary.contains("(pid 3)"), "{}", f.summary);
        let ok = finding(&IDLE, &[s(1, 5.0)], IDLE_LIMITS);
        assert_eq!(ok.status, Status::Ok);
        assert!(ok.detail.is_empty());
        assert_eq!(finding(&LONG, &[], IDLE_LIMITS).status, Status::Ok);
    }

    #[test]
    fn lock_wait_lists_the_blockers() {
        let mut w = s(7, 3.0);
        w.blocked_by = vec![5, 6];
        let f = finding(
            &LOCKS,
            &[w],
            SpanLimits {
                warning: Some(Span::secs(0)),
                critical: Some(Span::secs(300)),
            },
        );
        assert_eq!(f.status, Status::Warning);
        assert!(f.detail[0].contains("blocked by 5,6"), "{:?}", f.detail);
        assert!(locks_sql(15).contains("waitstart"));
        assert!(!locks_sql(13).contains("waitstart"));
    }

    #[test]
    fn wraparound_is_a_share_of_freeze_max_age() {
        let l = Limits {
            warning: Some(50.0),
            critical: Some(80.0),
        };
        assert_eq!(
            wraparound_finding("app", 1_000, 200_000_000, l).status,
            Status::Ok
        );
        let w = wraparound_finding("app", 120_000_000, 200_000_000, l);
        assert_eq!(w.status, Status::Warning);
        assert_eq!(w.value, serde_json::json!(60.0));
        assert!(w.hint.is_some());
        assert_eq!(
            wraparound_finding("app", 170_000_000, 200_000_000, l).status,
            Status::Critical
        );
    }
}
