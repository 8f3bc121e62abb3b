//! PostgreSQL probes. Every query reads catalog views only and runs on our one shared session
//! (statement_timeout and lock_timeout set), pipelined when probes run concurrently.

use anyhow::Context as _;

use crate::config::Limits;
use crate::context::Ctx;
use crate::render::human_bytes;
use crate::report::{Finding, Status};

use super::pct;

/// `postgres.up`: can we connect, and which server is it.
pub async fn up(ctx: &Ctx) -> Vec<Finding> {
    match ctx.pg().await {
        Ok(pg) => {
            let short = pg.version.split_whitespace().next().unwrap_or("").to_string();
            vec![Finding::ok(
                "postgres.up",
                format!("PostgreSQL {} at {}", pg.version, pg.options.display_url()),
            )
            .value(short, "version")]
        }
        Err(e) => vec![Finding::new("postgres.up", Status::Critical, crate::report::one_line(&e))
            .hint("start the server (systemctl start postgresql) or fix --pg / DATABASE_URL / PGHOST; `opsbook sandbox up` gives a local one to try")],
    }
}

/// Client backends other than opsbook's own sessions ($1) vs max_connections (PG 10+:
/// backend_type), and how many of ours were seen.
const CONNECTIONS_SQL: &str =
    "SELECT count(*) FILTER (WHERE backend_type = 'client backend' AND NOT pid = ANY($1))::bigint, \
     current_setting('max_connections')::bigint, \
     current_setting('superuser_reserved_connections')::bigint, \
     count(*) FILTER (WHERE backend_type = 'client backend' AND pid = ANY($1))::bigint \
     FROM pg_stat_activity";

/// Client connections, opsbook's own left out.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionCounts {
    /// client backends that are not sessions of this run
    pub used: i64,
    pub max: i64,
    pub reserved: i64,
    /// sessions of this run that were left out
    pub own: i64,
}

pub async fn connection_counts(
    pg: &crate::clients::postgres::PgClient,
) -> anyhow::Result<ConnectionCounts> {
    let (_counting, own) = crate::clients::own_sessions::counting().await;
    let row = pg
        .client
        .query_one(CONNECTIONS_SQL, &[&own])
        .await
        .context("counting connections in pg_stat_activity")?;
    Ok(ConnectionCounts {
        used: row.try_get(0)?,
        max: row.try_get(1)?,
        reserved: row.try_get(2)?,
        own: row.try_get(3)?,
    })
}

pub async fn connections(ctx: &Ctx, limits: Limits) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let ConnectionCounts {
        used,
        max,
        reserved,
        own,
    } = connection_counts(pg).await?;
    let p = pct(used as f64, max as f64);
    let f = Finding::new(
        "postgres.connections",
        limits.status_above(p),
        format!(
            "{used} of {max} connections ({p:.0}%){}",
            crate::clients::own_sessions::excluded_note(own)
        ),
    )
    .value(used, "connections")
    // The limits are a share of max_connections; perfdata wants them in connections.
    .above(
        limits.warning.map(|w| w * max as f64 / 100.0),
        limits.critical.map(|c| c * max as f64 / 100.0),
    )
    .hint_unless_ok(format!(
            "look for idle or leaking clients: `SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2 ORDER BY 3 DESC`; {reserved} slots stay reserved for superusers"
        ));
    Ok(vec![f])
}

/// Sessions waiting for a heavyweight lock right now, cluster wide, with the longest wait.
const WAITING_LOCKS_SQL: &str = "SELECT count(*)::bigint, \
     coalesce(max(extract(epoch FROM now() - state_change)), 0)::float8 \
     FROM pg_stat_activity WHERE wait_event_type = 'Lock'";

/// `postgres.waiting_locks`: how many sessions wait on a lock at this moment.
pub async fn waiting_locks(ctx: &Ctx, limits: Limits) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let row = pg
        .client
        .query_one(WAITING_LOCKS_SQL, &[])
        .await
        .context("counting sessions waiting on a lock in pg_stat_activity")?;
    let (waiting, longest): (i64, f64) = (row.get(0), row.get(1));
    let summary = if waiting == 0 {
        "no session waits on a lock".to_string()
    } else {
        format!(
            "{waiting} sessions wait on a lock, the longest for {}",
            crate::render::human_duration(longest)
        )
    };
    let f = Finding::new(
        "postgres.waiting_locks",
        limits.status_above(waiting as f64),
        summary,
    )
    .value(waiting, "sessions")
    .above(limits.warning, limits.critical)
    .hint_unless_ok("see who blocks whom: `opsbook diagnose locks`");
    Ok(vec![f])
}

/// Share of block reads served from shared_buffers, cluster wide.
const CACHE_SQL: &str =
    "SELECT coalesce(sum(blks_hit), 0)::float8, coalesce(sum(blks_read), 0)::float8, \
     min(stats_reset)::text FROM pg_stat_database";

/// Below this many block reads since the stats reset the ratio says nothing yet.
const CACHE_MIN_READS: f64 = 1000.0;

pub async fn cache_hit_ratio(ctx: &Ctx, limits: Limits) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let row = pg
        .client
        .query_one(CACHE_SQL, &[])
        .await
        .context("reading pg_stat_database")?;
    let (hit, read): (f64, f64) = (row.get(0), row.get(1));
    let total = hit + read;
    let ratio = pct(hit, total);
    if total < CACHE_MIN_READS {
        return Ok(vec![Finding::ok(
            "postgres.cache_hit_ratio",
            format!("{ratio:.1}% of {total:.0} block reads from cache: too few reads since the statistics reset to judge"),
        )
        .value_f64(ratio, "percent")]);
    }
    let status = Status::below(ratio, limits.warning, limits.critical);
    let mut f = Finding::new(
        "postgres.cache_hit_ratio",
        status,
        format!("{ratio:.1}% of block reads served from shared_buffers"),
    )
    .value_f64(ratio, "percent")
    .below(limits.warning, limits.critical);
    if status != Status::Ok {
        f = f.hint("the working set does not fit in shared_buffers: raise shared_buffers (about 25% of RAM) or find the queries that read most (pg_stat_statements shared_blks_read)");
    }
    Ok(vec![f])
}

/// Every database that accepts connections, with its size.
const SIZES_SQL: &str = "SELECT datname, pg_database_size(oid) FROM pg_database \
     WHERE datallowconn AND NOT datistemplate ORDER BY datname";

/// The size of every database that accepts connections, by name.
pub async fn sizes(pg: &crate::clients::postgres::PgClient) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = pg
        .client
        .query(SIZES_SQL, &[])
        .await
        .context("reading pg_database_size of every database")?;
    let mut out = Vec::new();
    for row in rows {
        let name: String = row.try_get(0).context("reading pg_database.datname")?;
        // NULL when the database was dropped while we read the catalog: it is gone, skip it.
        if let Some(bytes) = row
            .try_get::<_, Option<i64>>(1)
            .context("reading pg_database_size")?
        {
            out.push((name, bytes));
        }
    }
    Ok(out)
}

/// One finding per database; growth is against the previous run recorded in the history.
pub async fn database_sizes(
    ctx: &Ctx,
    history: &crate::state::History,
    now: i64,
) -> anyhow::Result<Vec<Finding>> {
    let pg = ctx.pg().await?;
    let mut out = Vec::new();
    for (name, bytes) in sizes(pg).await? {
        let growth = match history.previous(&size_key(&pg.options, &name)) {
            Some((at, prev)) => {
                let delta = bytes as f64 - prev;
                let sign = if delta < 0.0 { "-" } else { "+" };
                format!(
                    ", {sign}{} since the previous run {} ago",
                    human_bytes(delta.abs()),
                    crate::render::human_duration((now - at) as f64)
                )
            }
            None => ", first run: growth is shown from the next run on".to_string(),
        };
        out.push(
            Finding::ok(
                "postgres.database_size",
                format!("{}{growth}", human_bytes(bytes as f64)),
            )
            .subject(name)
            .value(bytes, "bytes"),
        );
    }
    Ok(out)
}

/// `postgres.up`, `postgres.connections` and `postgres.database_size` at once, each under the
/// probe timeout (the PostgreSQL part `check morning` and `monitor` share).
pub async fn up_connections_sizes(
    ctx: &Ctx,
    connection_limits: Limits,
    history: &crate::state::History,
    now: i64,
) -> (Vec<Finding>, Vec<Finding>, Vec<Finding>) {
    tokio::join!(
        super::guarded("postgres.up", ctx.probe_timeout(), async {
            Ok(up(ctx).await)
        }),
        super::pg_probe(
            ctx,
            "postgres.connections",
            connections(ctx, connection_limits)
        ),
        super::pg_probe(
            ctx,
            "postgres.database_size",
            database_sizes(ctx, history, now)
        ),
    )
}

/// History key of a database's size: the server is part of it, so two servers' `app`
/// databases never compare with each other.
pub fn size_key(server: &crate::clients::pg::PgOptions, db: &str) -> String {
    format!(
        "postgres.database_size/{}:{}/{db}",
        server.host(),
        server.port()
    )
}

/// History key of a server's client connection count (`postgres.connections`), for the
/// day's peak.
pub fn connections_key(server: &crate::clients::pg::PgOptions) -> String {
    format!("postgres.connections/{}:{}", server.host(), server.port())
}

/// History key of a server's max_connections (`check afternoon`), for `opsbook report`.
pub fn max_connections_key(server: &crate::clients::pg::PgOptions) -> String {
    format!(
        "postgres.max_connections/{}:{}",
        server.host(),
        server.port()
    )
}

/// The config's `host.data_dir` wins; without it, `SHOW data_directory` when that path exists
/// on this host.
pub async fn data_directory(ctx: &Ctx) -> Option<std::path::PathBuf> {
    if let Some(d) = &ctx.config.host.data_dir {
        return Some(d.clone());
    }
    let pg = ctx.pg().await.ok()?;
    let row = pg
        .client
        .query_opt(
            "SELECT setting FROM pg_settings WHERE name = 'data_directory'",
            &[],
        )
        .await
        .ok()??;
    let path = std::path::PathBuf::from(row.get::<_, String>(0));
    path.exists().then_some(path)
}
