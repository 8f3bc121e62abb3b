//! The end-to-end write probe of `cluster status --probe-writes`: a heartbeat row written on
//! the PostgreSQL primary and a heartbeat key set on the Redis master, then read back on every
//! replica until it shows there, so each replica's delay is what a reader of that replica
//! really sees (not an estimate from LSNs or offsets).
//!
//! - PostgreSQL: one row per writing host in `<schema>.opsbook_heartbeat (writer text primary
//!   key, token text, written_at timestamptz)`, upserted; the table is created when missing
//!   (the plan says so first). The schema is the operator's (`--heartbeat-schema`, default
//!   `public`) and must exist.
//! - Redis: `SET opsbook:heartbeat:<host> <token> EX 3600`.
//!
//! Only a single writable node / a single master is written to: with two, writing would add
//! to a split brain, so the probe reports that it did not run. The replicas' sessions are
//! opened before the write, so a connection's time is not counted as delay; each replica is
//! polled every [`POLL`] until the token shows, at most `wait`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use futures_util::future::join_all;
use serde::Serialize;
use tokio_postgres::error::SqlState;

use super::observe::{target_env, Budget, Observation};
use super::verdict::Verdict;
use crate::clients::pg::PgOptions;
use crate::clients::postgres::PgClient;
use crate::clients::redis::{resolve_url, RedisClient};
use crate::config::targets::{Target, Targets};
use crate::config::Thresholds;
use crate::report::{one_line, Finding, Status};
use crate::sql::quote_ident;

/// The heartbeat write on the primary / master.
pub const WRITE: &str = "cluster.write_probe";
/// How long after the write a replica showed it.
pub const DELAY: &str = "cluster.replica_delay";
/// The ids [`run`] emits.
pub const IDS: &[&str] = &[WRITE, DELAY];

/// The heartbeat table's name (in the operator's schema).
pub const TABLE: &str = "opsbook_heartbeat";
/// The Redis key's prefix (the writing host's name follows).
pub const KEY_PREFIX: &str = "opsbook:heartbeat:";
/// How often a replica is asked whether the heartbeat arrived.
pub const POLL: Duration = Duration::from_millis(2);
/// How long the Redis heartbeat key lives.
const KEY_TTL_SECS: u64 = 3600;

/// What the probe writes where, and how long it waits.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// the schema of the heartbeat table (must exist)
    pub schema: String,
    /// the longest a replica is waited for
    pub wait: Duration,
    /// the writing host's name (one row / key per host that probes)
    pub writer: String,
}

impl ProbeOptions {
    /// The table as written in SQL: `"public"."opsbook_heartbeat"`.
    pub fn table(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(TABLE))
    }

    /// The table as an operator reads it: `public.opsbook_heartbeat`.
    pub fn shown_table(&self) -> String {
        format!(
            "{}.{TABLE}",
            crate::sql::quote_ident_if_needed(&self.schema)
        )
    }

    pub fn key(&self) -> String {
        format!("{KEY_PREFIX}{}", self.writer)
    }
}

/// What `--format json` carries under `data.probe`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProbeData {
    pub postgres: Option<Side>,
    pub redis: Option<Side>,
}

/// One engine's probe: where it wrote, how long the write took, and each replica's delay in
/// seconds (null: not seen within the wait, or not asked).
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub written_on: String,
    /// the table or key written
    pub object: String,
    /// the heartbeat table did not exist and was created by this probe
    pub created: bool,
    pub write_ms: f64,
    pub replica_delay: BTreeMap<String, Option<f64>>,
}

/// Describe the writes [`run`] will make, for the plan printed before them.
pub fn plan(o: &Observation, v: &Verdict, opts: &ProbeOptions) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = v.primary.as_ref().filter(|_| !o.postgres.is_empty()) {
        out.push(format!(
            "upsert row writer='{}' in {} on the primary {p} (CREATE TABLE IF NOT EXISTS first), then read it on every replica",
            opts.writer,
            opts.shown_table()
        ));
    }
    if let Some(m) = v.redis_master.as_ref().filter(|_| !o.redis.is_empty()) {
        out.push(format!(
            "SET {} EX {KEY_TTL_SECS} on the master {m}, then GET it on every replica",
            opts.key()
        ));
    }
    out
}

/// Write the heartbeats and wait for every replica; the findings and the data.
pub async fn run(
    targets: &Targets,
    o: &Observation,
    v: &Verdict,
    budget: Budget,
    opts: &ProbeOptions,
    th: &Thresholds,
) -> (Vec<Finding>, ProbeData) {
    let limits = (
        th.replication_delay.warning.map(|s| s.0.as_secs_f64()),
        th.replication_delay.critical.map(|s| s.0.as_secs_f64()),
    );
    let token = token();
    let (pg, redis) = tokio::join!(
        postgres(targets, o, v, budget, opts, &token),
        redis(targets, o, v, budget, opts, &token)
    );
    let mut findings = Vec::new();
    let mut data = ProbeData::default();
    for (side, slot) in [(pg, &mut data.postgres), (redis, &mut data.redis)] {
        let Some(side) = side else { continue };
        *slot = side.data.clone();
        findings.extend(side.findings(limits, opts.wait));
    }
    (findings, data)
}

/// A token no earlier probe wrote: this process and the time.
fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// One engine's outcome before it becomes findings.
struct Outcome {
    engine: &'static str,
    /// Err: why nothing was written (no single primary, the write failed)
    write: Result<(String, f64), (Option<String>, String)>,
    /// replica name -> Ok(Some(delay)), Ok(None) not seen in time, Err(why not asked)
    replicas: Vec<(String, Result<Option<Duration>, String>)>,
    data: Option<Side>,
}

impl Outcome {
    /// A write made on `on` in `ms`, and each replica's delay in reading it back.
    fn written(
        engine: &'static str,
        on: String,
        object: String,
        created: bool,
        ms: f64,
        delays: Vec<(String, Result<Option<Duration>, String>)>,
    ) -> Outcome {
        let replica_delay = delays
            .iter()
            .map(|(n, r)| {
                (
                    n.clone(),
                    r.as_ref().ok().copied().flatten().map(|d| d.as_secs_f64()),
                )
            })
            .collect();
        Outcome {
            engine,
            write: Ok((on.clone(), ms)),
            data: Some(Side {
                written_on: on,
                object,
                created,
                write_ms: ms,
                replica_delay,
            }),
            replicas: delays,
        }
    }

    fn findings(
        self,
        (warning, critical): (Option<f64>, Option<f64>),
        wait: Duration,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        match &self.write {
            Ok((node, ms)) => {
                let object = self.data.as_ref().map_or(String::new(), |d| {
                    if d.created {
                        format!("{}, created now", d.object)
                    } else {
                        d.object.clone()
                    }
                });
                out.push(
                    Finding::ok(
                        WRITE,
                        format!("{} heartbeat written in {ms:.1} ms ({object})", self.engine),
                    )
                    .subject(node)
                    .value_f64(*ms, "ms"),
                );
            }
            Err((node, why)) => {
                let f = Finding::new(
                    WRITE,
                    if node.is_some() {
                        Status::Critical
                    } else {
                        Status::Unknown
                    },
                    format!("{} heartbeat not written: {why}", self.engine),
                );
                out.push(match node {
                    Some(n) => f.subject(n).hint("a primary that refuses a small write refuses the application's too: read-only mode, a full disk, a lock? (the error says which)"),
                    None => f.hint("`opsbook cluster status` without --probe-writes names what disagrees"),
                });
                return out;
            }
        }
        for (name, r) in self.replicas {
            out.push(match r {
                Ok(Some(d)) => {
                    let ms = d.as_secs_f64() * 1000.0;
                    let (warning, critical) = (warning.map(|s| s * 1000.0), critical.map(|s| s * 1000.0));
                    Finding::new(
                        DELAY,
                        Status::above(ms, warning, critical),
                        format!("saw the {} heartbeat {ms:.1} ms after the write", self.engine),
                    )
                    .subject(&name)
                    .value_f64(ms, "ms")
                    .above(warning, critical)
                    .hint_unless_ok("the replica is behind: see its lag in `opsbook cluster status` and what it replays")
                }
                Ok(None) => Finding::new(
                    DELAY,
                    Status::Critical,
                    format!(
                        "did not see the {} heartbeat within {:.1}s",
                        self.engine,
                        wait.as_secs_f64()
                    ),
                )
                .subject(&name)
                .hint("the replica does not replay what the primary writes: look at its WAL receiver / master link (`opsbook cluster status`) and its log"),
                Err(why) => Finding::new(
                    DELAY,
                    Status::Unknown,
                    format!("not probed: {why}"),
                )
                .subject(&name),
            });
        }
        out
    }
}

fn pg_options(targets: &Targets, name: &str) -> anyhow::Result<PgOptions> {
    match targets.get(name) {
        Some(Target::Postgres(p)) => {
            PgOptions::resolve(Some(&p.url), None, p.password_file.as_deref(), &target_env)
        }
        _ => bail!("{name} is not a PostgreSQL target"),
    }
}

fn redis_url(targets: &Targets, name: &str) -> anyhow::Result<String> {
    match targets.get(name) {
        Some(Target::Redis(r)) => {
            resolve_url(Some(&r.url), None, r.password_file.as_deref(), &target_env)
        }
        _ => bail!("{name} is not a Redis target"),
    }
}

/// The replicas to read back on: reachable nodes that are not the writer.
fn replicas_of<T>(
    nodes: &[super::observe::Node<T>],
    is_replica: impl Fn(&T) -> bool,
) -> Vec<(String, Result<(), String>)> {
    nodes
        .iter()
        .filter_map(|n| match &n.facts {
            Ok(f) if is_replica(f) => Some((n.name.clone(), Ok(()))),
            Ok(_) => None,
            Err(e) => Some((n.name.clone(), Err(format!("unreachable ({e})")))),
        })
        .collect()
}

/// The writer's session and every replica's, opened side by side: the replicas' set-up is not
/// delay. A replica that was unreachable keeps its error.
async fn sessions<C, F, Fut>(
    writer: &str,
    replicas: &[(String, Result<(), String>)],
    connect: F,
) -> (anyhow::Result<C>, Vec<Result<C, String>>)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<C>>,
{
    tokio::join!(
        connect(writer.to_string()),
        join_all(replicas.iter().map(|(name, ok)| {
            let attempt = ok.clone().map(|()| connect(name.clone()));
            async move {
                match attempt {
                    Ok(session) => session.await.map_err(|e| one_line(&e)),
                    Err(e) => Err(e),
                }
            }
        }))
    )
}

async fn postgres(
    targets: &Targets,
    o: &Observation,
    v: &Verdict,
    budget: Budget,
    opts: &ProbeOptions,
    token: &str,
) -> Option<Outcome> {
    if o.postgres.is_empty() {
        return None;
    }
    let replicas = replicas_of(&o.postgres, |f| f.in_recovery);
    let Some(primary) = v.primary.clone() else {
        return Some(Outcome {
            engine: "PostgreSQL",
            write: Err((
                None,
                "not one writable node (see cluster.primary): writing would add to a split".into(),
            )),
            replicas: Vec::new(),
            data: None,
        });
    };
    let connect = |name: String| async move {
        let o = pg_options(targets, &name)?;
        PgClient::connect(&o, budget.timeouts).await
    };
    let (writer, sessions) = sessions(&primary, &replicas, connect).await;
    let table = opts.table();
    let fail = |e: anyhow::Error| Outcome {
        engine: "PostgreSQL",
        write: Err((Some(primary.clone()), one_line(&e))),
        replicas: Vec::new(),
        data: None,
    };
    let writer = match writer {
        Ok(w) => w,
        Err(e) => return Some(fail(e)),
    };
    let (ms, created) = match pg_write(&writer, &table, opts, token).await {
        Ok(w) => w,
        Err(e) => return Some(fail(e)),
    };
    let written = Instant::now();
    let read = format!("SELECT token FROM {table} WHERE writer = $1");
    let delays = join_all(replicas.iter().zip(&sessions).map(|((name, _), s)| {
        let read = read.as_str();
        async move {
            let r = match s {
                Ok(pg) => pg_seen(pg, read, &opts.writer, token, written, opts.wait).await,
                Err(e) => Err(e.clone()),
            };
            (name.clone(), r)
        }
    }))
    .await;
    Some(Outcome::written(
        "PostgreSQL",
        primary,
        opts.shown_table(),
        created,
        ms,
        delays,
    ))
}

/// Create the table when missing, upsert this host's row; the upsert's time in ms and whether
/// the table was created.
async fn pg_write(
    pg: &PgClient,
    table: &str,
    opts: &ProbeOptions,
    token: &str,
) -> anyhow::Result<(f64, bool)> {
    let exists: bool = pg
        .client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?
        .get(0);
    if !exists {
        let schema: bool = pg
            .client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&opts.schema],
            )
            .await?
            .get(0);
        if !schema {
            bail!(
                "schema {} does not exist on the primary: create it, or name another with --heartbeat-schema",
                quote_ident(&opts.schema)
            );
        }
        pg.client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (writer text PRIMARY KEY, token text NOT NULL, written_at timestamptz NOT NULL)"
            ))
            .await?;
    }
    let started = Instant::now();
    pg.client
        .execute(
            &format!(
                "INSERT INTO {table} (writer, token, written_at) VALUES ($1, $2, now()) \
                 ON CONFLICT (writer) DO UPDATE SET token = EXCLUDED.token, written_at = EXCLUDED.written_at"
            ),
            &[&opts.writer, &token],
        )
        .await?;
    Ok((started.elapsed().as_secs_f64() * 1000.0, !exists))
}

/// Poll a replica until it shows `token`: the time since `written`, or None after `wait`.
async fn pg_seen(
    pg: &PgClient,
    read: &str,
    writer: &str,
    token: &str,
    written: Instant,
    wait: Duration,
) -> Result<Option<Duration>, String> {
    loop {
        match pg.client.query_opt(read, &[&writer]).await {
            Ok(Some(row)) if row.get::<_, String>(0) == token => {
                return Ok(Some(written.elapsed()));
            }
            Ok(_) => {}
            // The table itself has not been replayed yet.
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {}
            Err(e) => return Err(one_line(&anyhow::Error::from(e))),
        }
        if written.elapsed() >= wait {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn redis(
    targets: &Targets,
    o: &Observation,
    v: &Verdict,
    budget: Budget,
    opts: &ProbeOptions,
    token: &str,
) -> Option<Outcome> {
    if o.redis.is_empty() {
        return None;
    }
    let replicas = replicas_of(&o.redis, |f| f.role != "master");
    let Some(master) = v.redis_master.clone() else {
        return Some(Outcome {
            engine: "Redis",
            write: Err((
                None,
                "not one role:master node (see cluster.primary): writing would add to a split"
                    .into(),
            )),
            replicas: Vec::new(),
            data: None,
        });
    };
    let connect = |name: String| async move {
        let url = redis_url(targets, &name)?;
        RedisClient::connect(&url, budget.timeouts.connect).await
    };
    let (writer, sessions) = sessions(&master, &replicas, connect).await;
    let key = opts.key();
    let write = async {
        let w = writer?;
        let started = Instant::now();
        w.set_ex(&key, token, KEY_TTL_SECS).await?;
        anyhow::Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    let ms = match write.await {
        Ok(ms) => ms,
        Err(e) => {
            return Some(Outcome {
                engine: "Redis",
                write: Err((Some(master), one_line(&e))),
                replicas: Vec::new(),
                data: None,
            })
        }
    };
    let written = Instant::now();
    let delays = join_all(replicas.iter().zip(&sessions).map(|((name, _), s)| {
        let key = key.as_str();
        async move {
            let r = match s {
                Ok(r) => redis_seen(r, key, token, written, opts.wait).await,
                Err(e) => Err(e.clone()),
            };
            (name.clone(), r)
        }
    }))
    .await;
    Some(Outcome::written("Redis", master, key, false, ms, delays))
}

async fn redis_seen(
    r: &RedisClient,
    key: &str,
    token: &str,
    written: Instant,
    wait: Duration,
) -> Result<Option<Duration>, String> {
    loop {
        match r.get(key).await {
            Ok(Some(v)) if v == token => return Ok(Some(written.elapsed())),
            Ok(_) => {}
            Err(e) => return Err(one_line(&e)),
        }
        if written.elapsed() >= wait {
            return Ok(None);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_and_per_host() {
        let o = ProbeOptions {
            schema: "ops\"book".into(),
            wait: Duration::from_secs(1),
            writer: "db1".into(),
        };
        assert_eq!(o.table(), "\"ops\"\"book\".\"opsbook_heartbeat\"");
        assert_eq!(o.key(), "opsbook:heartbeat:db1");
    }

    #[test]
    fn a_replica_that_never_shows_the_heartbeat_is_critical() {
        let out = Outcome {
            engine: "Redis",
            write: Ok(("cache-a".into(), 0.4)),
            replicas: vec![
                ("cache-b".into(), Ok(Some(Duration::from_millis(3)))),
                ("cache-c".into(), Ok(None)),
                ("cache-d".into(), Err("unreachable (refused)".into())),
            ],
            data: None,
        };
        let f = out.findings((Some(5.0), Some(30.0)), Duration::from_secs(10));
        let st: Vec<(&str, Option<&str>, Status)> = f
            .iter()
            .map(|f| (f.id.as_str(), f.subject.as_deref(), f.status))
            .collect();
        assert_eq!(
            st,
            [
                (WRITE, Some("cache-a"), Status::Ok),
                (DELAY, Some("cache-b"), Status::Ok),
                (DELAY, Some("cache-c"), Status::Critical),
                (DELAY, Some("cache-d"), Status::Unknown),
            ]
        );
        assert_eq!(
            f[1].summary,
            "saw the Redis heartbeat 3.0 ms after the write"
        );
        assert_eq!(f[1].value.as_f64(), Some(3.0));
        assert_eq!(f[1].thresholds.map(|t| t.warning), Some(Some(5000.0)));
    }

    #[test]
    fn no_single_primary_writes_nothing() {
        let out = Outcome {
            engine: "PostgreSQL",
            write: Err((None, "not one writable node".into())),
            replicas: vec![("pg-b".into(), Ok(Some(Duration::from_millis(1))))],
            data: None,
        };
        let f = out.findings((None, None), Duration::from_secs(1));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].status, Status::Unknown);
        assert_eq!(f[0].subject, None);
    }
}
