//! Asking every node and engine of the inventory at once. Each PostgreSQL node: its role
//! (`pg_is_in_recovery`), timeline, LSN, lag and slots (`replication::status`); each Redis
//! node: `INFO replication`; each Patroni API: `/cluster` and `/patroni`; each Sentinel:
//! the master's address, `SENTINEL MASTER` and `CKQUORUM`; each HAProxy: its backends. All
//! concurrently on the run's runtime, each within `Budget::per_node`; a node that fails or
//! times out is one `Err` with the reason, the others still report. A caller that already
//! has a session with a node (the fan-out's context of that target, [`Sessions`]) lends it,
//! so a fanned-out check and its HA facts open one connection per node, not two.

use std::collections::BTreeMap;

use std::future::Future;
use std::time::Duration;

use anyhow::anyhow;
use futures_util::future::join_all;
use serde::Serialize;

use super::addr;
use crate::clients::haproxy::{read_stats, Backend, StatsSource};
use crate::clients::patroni::{ClusterView, NodeStatus, Patroni};
use crate::clients::pg::PgOptions;
use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::clients::redis::{resolve_url, RedisClient};
use crate::clients::sentinel::{Quorum, Sentinel};
use crate::config::targets::{Target, Targets};
use crate::context::Ctx;
use crate::replication::status::observe as observe_replication;
use crate::report::one_line;

/// How long each node may take, and the session settings of a PostgreSQL node's probe.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub timeouts: SessionTimeouts,
    pub per_node: Duration,
}

/// What every source said, in the inventory's name order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observation {
    pub postgres: Vec<Node<PgFacts>>,
    pub redis: Vec<Node<RedisFacts>>,
    pub patroni: Vec<Node<PatroniFacts>>,
    pub sentinels: Vec<Node<SentinelFacts>>,
    pub haproxy: Vec<Node<HaproxyFacts>>,
}

/// One node or engine endpoint: its target name, the `host:port` it is reached at, and
/// what it said (or why it could not).
#[derive(Debug, Clone, Serialize)]
#[serde(bound = "T: Serialize")]
pub struct Node<T> {
    pub name: String,
    pub address: String,
    #[serde(flatten, serialize_with = "ser_result")]
    pub facts: Result<T, String>,
}

fn ser_result<T: Serialize, S: serde::Serializer>(
    r: &Result<T, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Ok<'a, T> {
        reachable: bool,
        facts: &'a T,
    }
    #[derive(Serialize)]
    struct Err<'a> {
        reachable: bool,
        error: &'a str,
    }
    match r {
        Result::Ok(f) => Ok {
            reachable: true,
            facts: f,
        }
        .serialize(s),
        Result::Err(e) => Err {
            reachable: false,
            error: e,
        }
        .serialize(s),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PgFacts {
    /// false: writable (a primary)
    pub in_recovery: bool,
    pub timeline: Option<i64>,
    /// pg_current_wal_lsn() on a primary, pg_last_wal_replay_lsn() on a standby
    pub lsn: Option<String>,
    /// a standby's replay lag behind what it received / the primary's end of WAL
    pub lag_bytes: Option<i64>,
    pub lag_seconds: Option<f64>,
    /// a standby's WAL receiver: the `host:port` it streams from
    pub upstream: Option<String>,
    pub receiver_status: Option<String>,
    /// a primary's standbys in state `streaming`
    pub streaming_standbys: Vec<String>,
    /// a primary's view of each standby (pg_stat_replication): application_name, replay
    /// lag in seconds (None: idle and caught up) and bytes
    pub standby_lags: Vec<StandbyLag>,
    pub slots: Vec<SlotFact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StandbyLag {
    pub name: String,
    pub replay_seconds: Option<f64>,
    pub replay_bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotFact {
    pub name: String,
    pub active: bool,
    pub retained_bytes: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisFacts {
    /// `master` or `slave`
    pub role: String,
    /// a replica's master, `host:port`
    pub master: Option<String>,
    pub link_up: Option<bool>,
    /// master_repl_offset on a master, slave_repl_offset on a replica
    pub offset: Option<u64>,
    pub connected_replicas: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatroniFacts {
    pub cluster: ClusterView,
    /// this node's `/patroni` (None when it failed while `/cluster` answered)
    pub node: Option<NodeStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SentinelFacts {
    pub master_name: String,
    /// the master's `host:port` as this Sentinel names it
    pub master: Option<String>,
    pub flags: String,
    pub quorum: Option<u64>,
    pub other_sentinels: Option<u64>,
    pub replicas: Option<u64>,
    pub ckquorum: Quorum,
}

#[derive(Debug, Clone, Serialize)]
pub struct HaproxyFacts {
    pub writer_backend: Option<String>,
    pub redis_backend: Option<String>,
    pub backends: Vec<Backend>,
}

async fn bounded<T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = anyhow::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(one_line(&e)),
        Err(_) => Err(format!(
            "{what}: no answer within {:.1}s",
            limit.as_secs_f64()
        )),
    }
}

/// The environment a target's connection may read (PGPASSFILE, PGSSLMODE, ...), not the
/// variables that would replace the target's own URL.
pub(crate) fn target_env(key: &str) -> Option<String> {
    match key {
        "DATABASE_URL" | "REDIS_URL" => None,
        k => crate::context::process_env(k),
    }
}

/// The sessions a caller lends the observation, by target name: a PostgreSQL or Redis node
/// with one is asked over its context's (lazily opened, shared) connection.
#[derive(Default)]
pub struct Sessions<'a> {
    by_target: BTreeMap<&'a str, &'a Ctx>,
}

impl<'a> Sessions<'a> {
    /// Lend `ctx`'s connection for target `name`.
    pub fn lend(&mut self, name: &'a str, ctx: &'a Ctx) {
        self.by_target.insert(name, ctx);
    }

    fn get(&self, name: &str) -> Option<&'a Ctx> {
        self.by_target.get(name).copied()
    }
}

/// Ask every node of `targets` at once, each over a connection of its own.
pub async fn observe(targets: &Targets, budget: Budget) -> Observation {
    observe_with(targets, budget, &Sessions::default()).await
}

/// Ask every node of `targets` at once; a node `sessions` has a session for is asked over it.
pub async fn observe_with(
    targets: &Targets,
    budget: Budget,
    sessions: &Sessions<'_>,
) -> Observation {
    let connect = budget.timeouts.connect;
    let total = budget.per_node;
    let mut pg = Vec::new();
    let mut redis = Vec::new();
    let mut patroni = Vec::new();
    let mut sentinels = Vec::new();
    let mut haproxy = Vec::new();
    for (name, t) in targets {
        match t {
            Target::Postgres(p) => {
                let opts =
                    PgOptions::resolve(Some(&p.url), None, p.password_file.as_deref(), &target_env);
                let address = opts
                    .as_ref()
                    .map(|o| addr::normal(o.host(), o.port()))
                    .unwrap_or_else(|_| crate::redact::mask_url(&p.url));
                let lent = sessions.get(name);
                pg.push(async move {
                    let facts = match (lent, opts) {
                        (Some(ctx), _) => {
                            bounded(total, &address, async { pg_facts(ctx.pg().await?).await })
                                .await
                        }
                        (None, Ok(o)) => {
                            bounded(total, &address, async {
                                pg_facts(&PgClient::connect(&o, budget.timeouts).await?).await
                            })
                            .await
                        }
                        (None, Err(e)) => Err(one_line(&e)),
                    };
                    Node {
                        name: name.clone(),
                        address,
                        facts,
                    }
                });
                if let Some(api) = &p.patroni {
                    let address = addr::of_url(&api.url, 8008).unwrap_or_default();
                    patroni.push(async move {
                        let facts = bounded(total, &address, async {
                            let client = Patroni::new(
                                &api.url,
                                api.username.as_deref(),
                                api.password_file.as_deref(),
                                connect,
                                total,
                            )?;
                            let (cluster, node) = tokio::join!(client.cluster(), client.node());
                            Ok(PatroniFacts {
                                cluster: cluster?,
                                node: node.ok(),
                            })
                        })
                        .await;
                        Node {
                            name: name.clone(),
                            address,
                            facts,
                        }
                    });
                }
            }
            Target::Redis(r) => {
                let address = addr::of_url(&r.url, 6379).unwrap_or_default();
                let lent = sessions.get(name);
                redis.push(async move {
                    let facts = bounded(total, &address, async {
                        if let Some(ctx) = lent {
                            return redis_facts(ctx.redis().await?).await;
                        }
                        let url = resolve_url(
                            Some(&r.url),
                            None,
                            r.password_file.as_deref(),
                            &target_env,
                        )?;
                        redis_facts(&RedisClient::connect(&url, connect).await?).await
                    })
                    .await;
                    Node {
                        name: name.clone(),
                        address,
                        facts,
                    }
                });
            }
            Target::Sentinel(s) => {
                let address = addr::of_url(&s.url, 26379).unwrap_or_default();
                sentinels.push(async move {
                    let facts = bounded(total, &address, async {
                        let url = resolve_url(
                            Some(&s.url),
                            None,
                            s.password_file.as_deref(),
                            &target_env,
                        )?;
                        sentinel_facts(&url, &s.master, connect).await
                    })
                    .await;
                    Node {
                        name: name.clone(),
                        address,
                        facts,
                    }
                });
            }
            Target::Haproxy(h) => {
                let address = match (&h.url, &h.socket) {
                    (Some(u), _) => addr::of_url(u, 80).unwrap_or_default(),
                    (None, Some(p)) => p.display().to_string(),
                    (None, None) => String::new(),
                };
                haproxy.push(async move {
                    let facts = bounded(total, &address, async {
                        let source = match (&h.url, &h.socket) {
                            (Some(u), _) => StatsSource::Url(u),
                            (None, Some(p)) => StatsSource::Socket(p),
                            (None, None) => return Err(anyhow!("neither url nor socket")),
                        };
                        Ok(HaproxyFacts {
                            writer_backend: h.writer_backend.clone(),
                            redis_backend: h.redis_backend.clone(),
                            backends: read_stats(&source, connect, total).await?,
                        })
                    })
                    .await;
                    Node {
                        name: name.clone(),
                        address,
                        facts,
                    }
                });
            }
            Target::Group(_) => {}
        }
    }
    let (postgres, redis, patroni, sentinels, haproxy) = tokio::join!(
        join_all(pg),
        join_all(redis),
        join_all(patroni),
        join_all(sentinels),
        join_all(haproxy)
    );
    let mut postgres = postgres;
    prefer_primary_lag(&mut postgres);
    Observation {
        postgres,
        redis,
        patroni,
        sentinels,
        haproxy,
    }
}

/// A standby's delay in seconds as its primary measures it (pg_stat_replication's
/// replay_lag, which is NULL, 0, when the standby is idle and caught up), when the primary
/// lists it under the standby's target name (Patroni sets application_name to the member
/// name). The standby's own estimate (now() minus the last replayed transaction's time)
/// reads an idle cluster's first WAL record after minutes as minutes of delay.
fn prefer_primary_lag(nodes: &mut [Node<PgFacts>]) {
    let primaries: Vec<(String, Vec<StandbyLag>)> = nodes
        .iter()
        .filter_map(|n| {
            let f = n.facts.as_ref().ok().filter(|f| !f.in_recovery)?;
            Some((n.address.clone(), f.standby_lags.clone()))
        })
        .collect();
    for n in nodes.iter_mut() {
        let name = n.name.clone();
        let Ok(f) = n.facts.as_mut() else { continue };
        let Some(up) = f.upstream.clone().filter(|_| f.in_recovery) else {
            continue;
        };
        let seen = primaries
            .iter()
            .filter(|(a, _)| *a == up)
            .flat_map(|(_, l)| l)
            .find(|l| l.name == name);
        if let Some(l) = seen {
            f.lag_seconds = Some(l.replay_seconds.unwrap_or(0.0));
        }
    }
}

/// The primary's timeline from its current WAL file name (its first 8 hex digits), which
/// changes at promotion, before any checkpoint records it.
const PG_POSITION_SQL: &str = "SELECT CASE WHEN pg_is_in_recovery() \
     THEN pg_last_wal_replay_lsn()::text ELSE pg_current_wal_lsn()::text END, \
     CASE WHEN pg_is_in_recovery() THEN NULL \
     ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::bigint END";

async fn pg_facts(pg: &PgClient) -> anyhow::Result<PgFacts> {
    let o = observe_replication(pg).await?;
    let row = pg.client.query_one(PG_POSITION_SQL, &[]).await?;
    let lsn: Option<String> = row.try_get(0)?;
    let primary_tl: Option<i64> = row.try_get(1)?;
    let receiver = o.receiver.as_ref();
    Ok(PgFacts {
        in_recovery: o.in_recovery,
        timeline: primary_tl.or_else(|| receiver.and_then(|r| r.timeline).map(i64::from)),
        lsn,
        lag_bytes: receiver.map(|r| r.behind_bytes),
        lag_seconds: receiver.and_then(|r| r.behind_secs),
        upstream: receiver
            .and_then(|r| r.sender.as_deref())
            .and_then(addr::parse),
        receiver_status: receiver.and_then(|r| r.status.clone()),
        streaming_standbys: o
            .standbys
            .iter()
            .filter(|s| s.state == "streaming")
            .map(|s| s.name.clone())
            .collect(),
        standby_lags: o
            .standbys
            .iter()
            .map(|s| StandbyLag {
                name: s.name.clone(),
                replay_seconds: s.lag[2],
                replay_bytes: s.behind[3],
            })
            .collect(),
        slots: o
            .slots
            .iter()
            .map(|s| SlotFact {
                name: s.name.clone(),
                active: s.active,
                retained_bytes: s.retained,
            })
            .collect(),
    })
}

async fn redis_facts(r: &RedisClient) -> anyhow::Result<RedisFacts> {
    let info = r.info().await?;
    let raw = &info.raw;
    let num = |k: &str| raw.get(k).and_then(|v| v.parse::<u64>().ok());
    let master = match (raw.get("master_host"), num("master_port")) {
        (Some(h), Some(p)) => u16::try_from(p).ok().map(|p| addr::normal(h, p)),
        _ => None,
    };
    let replica = info.role != "master";
    Ok(RedisFacts {
        role: info.role.clone(),
        master,
        link_up: raw.get("master_link_status").map(|s| s == "up"),
        offset: if replica {
            num("slave_repl_offset")
        } else {
            num("master_repl_offset")
        },
        connected_replicas: num("connected_slaves").unwrap_or(0),
    })
}

async fn sentinel_facts(
    url: &str,
    master: &str,
    timeout: Duration,
) -> anyhow::Result<SentinelFacts> {
    let s = Sentinel::connect(url, master, timeout).await?;
    let (addr_, fields, quorum) = tokio::join!(s.master_addr(), s.master(), s.ckquorum());
    let fields = fields?;
    let num = |k: &str| fields.get(k).and_then(|v| v.parse::<u64>().ok());
    Ok(SentinelFacts {
        master_name: master.to_string(),
        master: addr_?.map(|(h, p)| addr::normal(&h, p)),
        flags: fields.get("flags").cloned().unwrap_or_default(),
        quorum: num("quorum"),
        other_sentinels: num("num-other-sentinels"),
        replicas: num("num-slaves"),
        ckquorum: quorum?,
    })
}
