//! The report of `cluster status`: one finding per node and engine endpoint (subject = the
//! target's name), the verdict (`cluster.primary`), and the node table (80 columns: name,
//! kind, role, timeline, position, lag, upstream).

use super::observe::{Node, Observation, PgFacts, RedisFacts};
use super::verdict::Verdict;
use crate::config::Thresholds;
use crate::render::human_bytes;
use crate::report::{Finding, Section, Status};

pub const PRIMARY: &str = "cluster.primary";
pub const POSTGRES: &str = "cluster.postgres";
pub const REDIS: &str = "cluster.redis";
pub const PATRONI: &str = "cluster.patroni";
pub const SENTINEL: &str = "cluster.sentinel";
pub const HAPROXY: &str = "cluster.haproxy";

/// Every id [`findings`] emits.
pub const IDS: &[&str] = &[PRIMARY, POSTGRES, REDIS, PATRONI, SENTINEL, HAPROXY];

fn unreachable<T>(id: &str, what: &str, n: &Node<T>, e: &str) -> Finding {
    Finding::new(
        id,
        Status::Critical,
        format!("{what} at {} is unreachable: {e}", n.address),
    )
    .subject(&n.name)
    .hint(format!(
        "check that it runs and that the target `{}` in the config points at it",
        n.name
    ))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "0.0s".into(), |s| format!("{s:.1}s"))
}

fn pg_finding(n: &Node<PgFacts>, all: &[Node<PgFacts>], v: &Verdict, th: &Thresholds) -> Finding {
    let f = match &n.facts {
        Err(e) => return unreachable(POSTGRES, "PostgreSQL", n, e),
        Ok(f) => f,
    };
    let tl = f.timeline.map_or_else(|| "?".into(), |t| t.to_string());
    let lsn = f.lsn.as_deref().unwrap_or("?");
    if !f.in_recovery {
        let standbys = if f.streaming_standbys.is_empty() {
            "no standby streaming".to_string()
        } else {
            format!("streaming to {}", f.streaming_standbys.join(", "))
        };
        let inactive: Vec<String> = f
            .slots
            .iter()
            .filter(|s| !s.active)
            .map(|s| {
                format!(
                    "{} (retains {})",
                    s.name,
                    human_bytes(s.retained_bytes.unwrap_or(0) as f64)
                )
            })
            .collect();
        let status = if v.primary.as_deref() == Some(n.name.as_str()) {
            Status::Ok
        } else {
            Status::Critical
        };
        let mut out = Finding::new(
            POSTGRES,
            status,
            format!("primary (writable), timeline {tl}, LSN {lsn}, {standbys}"),
        )
        .subject(&n.name)
        .value("primary", "role");
        if !inactive.is_empty() {
            out = out.detail(vec![format!("inactive slots: {}", inactive.join(", "))]);
        }
        return out;
    }
    let up = f
        .upstream
        .as_deref()
        .map_or_else(|| "no WAL receiver".to_string(), |u| named(all, u));
    let bytes = f.lag_bytes.unwrap_or(0) as f64;
    let status = Status::above(
        bytes,
        th.replication_lag_bytes.warning,
        th.replication_lag_bytes.critical,
    )
    .worst(Status::above(
        f.lag_seconds.unwrap_or(0.0),
        th.replication_delay.warning.map(|s| s.0.as_secs_f64()),
        th.replication_delay.critical.map(|s| s.0.as_secs_f64()),
    ))
    .worst(if f.upstream.is_none() {
        Status::Critical
    } else {
        Status::Ok
    });
    Finding::new(
        POSTGRES,
        status,
        format!(
            "replica of {up}, timeline {tl}, replayed {lsn}, lag {} / {}",
            human_bytes(bytes),
            secs(f.lag_seconds)
        ),
    )
    .subject(&n.name)
    .value(f.lag_bytes.unwrap_or(0), "bytes")
    .hint_unless_ok("see `opsbook replica status` on the node for its WAL receiver and slots")
}

fn redis_master_offset(o: &Observation, v: &Verdict) -> Option<u64> {
    o.redis
        .iter()
        .find(|n| Some(&n.name) == v.redis_master.as_ref())
        .and_then(|n| n.facts.as_ref().ok())
        .and_then(|f| f.offset)
}

fn redis_finding(n: &Node<RedisFacts>, o: &Observation, v: &Verdict) -> Finding {
    let f = match &n.facts {
        Err(e) => return unreachable(REDIS, "Redis", n, e),
        Ok(f) => f,
    };
    if f.role == "master" {
        let status = if v.redis_master.as_deref() == Some(n.name.as_str()) {
            Status::Ok
        } else {
            Status::Critical
        };
        return Finding::new(
            REDIS,
            status,
            format!(
                "master, {} replicas connected, offset {}",
                f.connected_replicas,
                f.offset.unwrap_or(0)
            ),
        )
        .subject(&n.name)
        .value("master", "role");
    }
    let lag = match (redis_master_offset(o, v), f.offset) {
        (Some(m), Some(r)) => Some(m.saturating_sub(r)),
        _ => None,
    };
    let link = f.link_up.unwrap_or(false);
    Finding::new(
        REDIS,
        if link { Status::Ok } else { Status::Critical },
        format!(
            "replica of {}, link {}, offset lag {}",
            f.master
                .as_deref()
                .map_or_else(|| "?".into(), |m| named(&o.redis, m)),
            if link { "up" } else { "down" },
            lag.map_or_else(|| "?".into(), |l| format!("{l} B"))
        ),
    )
    .subject(&n.name)
    .value(lag.unwrap_or(0), "bytes")
    .hint_unless_ok("the replica cannot reach its master: see its log and `INFO replication`")
}

/// The findings, then the verdict last.
pub fn findings(o: &Observation, v: &Verdict, th: &Thresholds) -> Vec<Finding> {
    let mut out: Vec<Finding> = o
        .postgres
        .iter()
        .map(|n| pg_finding(n, &o.postgres, v, th))
        .collect();
    out.extend(o.redis.iter().map(|n| redis_finding(n, o, v)));
    // Patroni: the first API that answered speaks for the DCS; the others only when down.
    let mut patroni_done = false;
    for p in &o.patroni {
        match &p.facts {
            Err(e) => out.push(unreachable(PATRONI, "Patroni's API", p, e)),
            Ok(f) if !patroni_done => {
                patroni_done = true;
                let c = &f.cluster;
                let members: Vec<String> = c
                    .members
                    .iter()
                    .map(|m| {
                        let lag = m
                            .lag_bytes()
                            .map(|l| format!(", lag {l} B"))
                            .unwrap_or_default();
                        format!("{} {} {}{lag}", m.name, m.role, m.state)
                    })
                    .collect();
                let pending: Vec<&str> = c
                    .members
                    .iter()
                    .filter(|m| m.pending_restart)
                    .map(|m| m.name.as_str())
                    .collect();
                let mut status = Status::Ok;
                let mut notes = Vec::new();
                if c.pause {
                    status = Status::Warning;
                    notes.push("PAUSED (maintenance mode: no automatic failover)".to_string());
                }
                if !pending.is_empty() {
                    status = Status::Warning;
                    notes.push(format!("pending restart: {}", pending.join(", ")));
                }
                let leader = c.leader().map_or("none", |m| m.name.as_str());
                let mut finding = Finding::new(
                    PATRONI,
                    status,
                    format!(
                        "leader {leader}; {}{}",
                        members.join("; "),
                        if notes.is_empty() {
                            String::new()
                        } else {
                            format!("; {}", notes.join("; "))
                        }
                    ),
                )
                .subject(&p.name)
                .value(c.members.len(), "members")
                .hint_unless_ok("`patronictl resume` ends maintenance mode; `patronictl restart` applies pending settings");
                if let Some(node) = &f.node {
                    let streaming: Vec<String> = node
                        .replication
                        .iter()
                        .map(|r| format!("{} {}", r.application_name, r.state))
                        .collect();
                    if !streaming.is_empty() {
                        finding =
                            finding.detail(vec![format!("replication: {}", streaming.join(", "))]);
                    }
                }
                out.push(finding);
            }
            Ok(_) => {}
        }
    }
    for s in &o.sentinels {
        match &s.facts {
            Err(e) => out.push(unreachable(SENTINEL, "the Sentinel", s, e)),
            Ok(f) => {
                let status = if f.ckquorum.ok {
                    Status::Ok
                } else {
                    Status::Critical
                };
                out.push(
                    Finding::new(
                        SENTINEL,
                        status,
                        format!(
                            "{}: master {}, {} other sentinels, {} replicas, quorum {} {}",
                            f.master_name,
                            f.master
                                .as_deref()
                                .map_or_else(|| "none".into(), |m| named(&o.redis, m)),
                            f.other_sentinels.unwrap_or(0),
                            f.replicas.unwrap_or(0),
                            f.quorum.map_or_else(|| "?".into(), |q| q.to_string()),
                            if f.ckquorum.ok { "reachable" } else { "NOT reachable" }
                        ),
                    )
                    .detail(vec![format!("CKQUORUM: {}", f.ckquorum.message)])
                    .subject(&s.name)
                    .value(f.other_sentinels.unwrap_or(0) + 1, "sentinels")
                    .hint_unless_ok("fewer Sentinels are reachable than the quorum: a failover cannot be authorised"),
                );
            }
        }
    }
    for h in &o.haproxy {
        match &h.facts {
            Err(e) => out.push(unreachable(HAPROXY, "HAProxy's statistics", h, e)),
            Ok(f) => {
                let show = |be: &Option<String>| -> Option<String> {
                    let be = be.as_ref()?;
                    let b = f.backends.iter().find(|b| &b.name == be);
                    Some(match b {
                        None => format!("{be}: no such backend"),
                        Some(b) => format!(
                            "{be} -> {}",
                            b.servers
                                .iter()
                                .map(|s| format!("{} {}", s.name, s.status))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
                };
                let parts: Vec<String> = [show(&f.writer_backend), show(&f.redis_backend)]
                    .into_iter()
                    .flatten()
                    .collect();
                out.push(
                    Finding::ok(
                        HAPROXY,
                        if parts.is_empty() {
                            format!("{} backends (no writer_backend set)", f.backends.len())
                        } else {
                            parts.join("; ")
                        },
                    )
                    .subject(&h.name)
                    .value(f.backends.len(), "backends"),
                );
            }
        }
    }
    out.push(verdict_finding(v));
    out
}

/// `cluster.primary`: the verdict as one finding (agree OK, disagree CRITICAL naming what
/// disagrees), with what each source said as its detail. `cluster status` ends with it, and
/// a fanned-out `check morning|night` / `monitor` reports it too (`super::facts`).
pub fn verdict_finding(v: &Verdict) -> Finding {
    let verdict = if v.agree {
        Finding::ok(PRIMARY, v.summary())
    } else {
        Finding::new(PRIMARY, Status::Critical, v.summary()).hint(
            "find which source is stale before acting: a promotion outside the HA engine splits the cluster",
        )
    };
    verdict
        .value(v.primary.clone().unwrap_or_default(), "primary")
        .detail(v.sources.iter().chain(&v.problems).cloned().collect())
}

/// The node table: one row per PostgreSQL and Redis node.
pub fn node_table(o: &Observation, v: &Verdict) -> Section {
    let mut rows = Vec::new();
    for n in &o.postgres {
        rows.push(match &n.facts {
            Err(_) => vec![
                n.name.clone(),
                "pg".into(),
                "DOWN".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
            Ok(f) => vec![
                n.name.clone(),
                "pg".into(),
                if f.in_recovery { "replica" } else { "primary" }.into(),
                f.timeline.map_or_else(|| "-".into(), |t| t.to_string()),
                f.lsn.clone().unwrap_or_else(|| "-".into()),
                if f.in_recovery {
                    format!(
                        "{} {}",
                        human_bytes(f.lag_bytes.unwrap_or(0) as f64),
                        secs(f.lag_seconds)
                    )
                } else {
                    "-".into()
                },
                f.upstream
                    .as_deref()
                    .map(|u| name_or(o.postgres.as_slice(), u))
                    .unwrap_or_else(|| "-".into()),
            ],
        });
    }
    let master_offset = redis_master_offset(o, v);
    for n in &o.redis {
        rows.push(match &n.facts {
            Err(_) => vec![
                n.name.clone(),
                "redis".into(),
                "DOWN".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
            Ok(f) => vec![
                n.name.clone(),
                "redis".into(),
                if f.role == "slave" {
                    "replica".into()
                } else {
                    f.role.clone()
                },
                "-".into(),
                f.offset.map_or_else(|| "-".into(), |x| x.to_string()),
                match (f.role.as_str(), master_offset, f.offset) {
                    ("master", _, _) => "-".into(),
                    (_, Some(m), Some(r)) => format!("{} B", m.saturating_sub(r)),
                    _ => "?".into(),
                },
                f.master
                    .as_deref()
                    .map(|u| name_or(o.redis.as_slice(), u))
                    .unwrap_or_else(|| "-".into()),
            ],
        });
    }
    Section {
        title: "Nodes".into(),
        columns: ["NAME", "KIND", "ROLE", "TL", "POSITION", "LAG", "FOLLOWS"]
            .map(String::from)
            .to_vec(),
        rows,
        fit: Vec::new(),
    }
}

/// `pg-a (127.0.0.1:5432)` for an address of the inventory, else the address.
fn named<T>(nodes: &[Node<T>], address: &str) -> String {
    let name = name_or(nodes, address);
    if name == address {
        name
    } else {
        format!("{name} ({address})")
    }
}

fn name_or<T>(nodes: &[Node<T>], address: &str) -> String {
    nodes
        .iter()
        .find(|n| n.address == address)
        .map_or_else(|| address.to_string(), |n| n.name.clone())
}
