//! The server's side of WAL archiving: `archive_mode`, and `pg_stat_archiver` (PostgreSQL
//! 9.4+). A failing archive_command keeps every WAL segment in pg_wal until the disk fills;
//! this finding says so on the first failure, long before.

use crate::clients::postgres::PgClient;
use crate::render::human_duration;
use crate::report::{Finding, Status};

/// archived_count, failed_count, last WAL names, and the ages (seconds) of the last success and
/// failure; NULL ages when never.
const ARCHIVER_SQL: &str =
    "SELECT current_setting('archive_mode'), current_setting('archive_command'), \
     archived_count, failed_count, coalesce(last_archived_wal, ''), coalesce(last_failed_wal, ''), \
     extract(epoch FROM now() - last_archived_time)::float8, \
     extract(epoch FROM now() - last_failed_time)::float8 \
     FROM pg_stat_archiver";

#[derive(Debug, Clone, PartialEq)]
pub struct Archiver {
    pub mode: String,
    pub command: String,
    pub archived: i64,
    pub failed: i64,
    pub last_archived_wal: String,
    pub last_failed_wal: String,
    pub archived_age: Option<f64>,
    pub failed_age: Option<f64>,
}

pub async fn observe(pg: &PgClient) -> anyhow::Result<Archiver> {
    let row = pg
        .client
        .query_one(ARCHIVER_SQL, &[])
        .await
        .map_err(|e| anyhow::anyhow!("reading pg_stat_archiver: {e}"))?;
    Ok(Archiver {
        mode: row.try_get(0)?,
        command: row.try_get(1)?,
        archived: row.try_get(2)?,
        failed: row.try_get(3)?,
        last_archived_wal: row.try_get(4)?,
        last_failed_wal: row.try_get(5)?,
        archived_age: row.try_get(6)?,
        failed_age: row.try_get(7)?,
    })
}

/// `pitr.archiver`: CRITICAL when archiving is off or its last attempt failed (the newest
/// failure is more recent than the newest success), OK otherwise; the value is the age of the
/// last archived segment.
pub fn finding(a: &Archiver, stanza: &str) -> Finding {
    let f = if a.failed > 0 && a.failed_age.unwrap_or(f64::MAX) < a.archived_age.unwrap_or(f64::MAX)
    {
        Finding::new(
            "pitr.archiver",
            Status::Critical,
            format!(
                "archive_command is failing: {} failures, last on {} {} ago; WAL piles up in pg_wal until it is fixed",
                a.failed,
                a.last_failed_wal,
                human_duration(a.failed_age.unwrap_or(0.0))
            ),
        )
        .hint(format!("the server log has the archiver's error; test it with `pgbackrest --stanza={stanza} check` as postgres"))
        .detail(vec![format!("archive_command = '{}'", a.command)])
    } else if a.mode == "off" || !a.command.contains("pgbackrest") {
        Finding::new(
            "pitr.archiver",
            Status::Critical,
            format!(
                "WAL is not archived to stanza {stanza}: archive_mode={}, archive_command='{}'",
                a.mode, a.command
            ),
        )
        .hint("run `opsbook pitr setup` (and restart PostgreSQL when it says so)")
    } else {
        let age = a
            .archived_age
            .map(|s| {
                format!(
                    "last segment {} {} ago",
                    a.last_archived_wal,
                    human_duration(s)
                )
            })
            .unwrap_or_else(|| "no segment archived yet".to_string());
        Finding::ok(
            "pitr.archiver",
            format!(
                "archiving to stanza {stanza}: {} segments, {age}",
                a.archived
            ),
        )
    };
    let f = f.subject(stanza);
    match a.archived_age {
        Some(s) => f.value_f64(s, "seconds"),
        None => f,
    }
}

/// `pitr.archiver` for the configured stanza (check morning, monitor, pitr status): UNKNOWN
/// pointing at postgres.up when the server is down.
pub async fn probe(ctx: &crate::context::Ctx, stanza: &str) -> Vec<Finding> {
    crate::probes::pg_probe(ctx, "pitr.archiver", async {
        let pg = ctx.pg().await?;
        Ok(vec![finding(&observe(pg).await?, stanza)])
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a() -> Archiver {
        Archiver {
            mode: "on".into(),
            command: "pgbackrest --stanza=main archive-push %p".into(),
            archived: 5,
            failed: 0,
            last_archived_wal: "000000010000000000000005".into(),
            last_failed_wal: String::new(),
            archived_age: Some(30.0),
            failed_age: None,
        }
    }

    #[test]
    fn failure_newer_than_success_is_critical() {
        assert_eq!(finding(&a(), "main").status, Status::Ok);
        let mut f = a();
        f.failed = 3;
        f.failed_age = Some(2.0);
        assert_eq!(finding(&f, "main").status, Status::Critical);
        f.failed_age = Some(100.0);
        assert_eq!(finding(&f, "main").status, Status::Ok);
        let mut off = a();
        off.mode = "off".into();
        assert_eq!(finding(&off, "main").status, Status::Critical);
    }
}
