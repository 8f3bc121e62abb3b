//! Who is primary, by every source at once: the one verdict `cluster status` ends with.
//! Agree when PostgreSQL has exactly one writable node and every source names it (Patroni's
//! leader, the node each replica streams from, HAProxy's writer backend), and likewise Redis
//! has one `role:master` that every Sentinel and HAProxy's Redis backend name, with the
//! Sentinels at quorum. Anything else is a disagreement, named.

use serde::Serialize;

use super::observe::{Node, Observation};
use crate::clients::haproxy::Backend;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// every source names the same primary (and master)
    pub agree: bool,
    /// the writable PostgreSQL node, when there is exactly one
    pub primary: Option<String>,
    /// the Redis node with role:master, when there is exactly one
    pub redis_master: Option<String>,
    /// what each source says, one line each ("Patroni: leader pg-a")
    pub sources: Vec<String>,
    /// what disagrees, one sentence each
    pub problems: Vec<String>,
}

impl Verdict {
    /// "agree: pg-a is primary, cache-a is master", or what disagrees.
    pub fn summary(&self) -> String {
        if self.agree {
            let mut parts = Vec::new();
            if let Some(p) = &self.primary {
                parts.push(format!("{p} is primary"));
            }
            if let Some(m) = &self.redis_master {
                parts.push(format!("{m} is master"));
            }
            if parts.is_empty() {
                "agree: no PostgreSQL or Redis node selected, nothing to compare".to_string()
            } else {
                format!("agree: {}", parts.join(", "))
            }
        } else {
            format!("disagree: {}", self.problems.join("; "))
        }
    }
}

/// The target whose address is `address`, or the address itself.
fn name_of<T>(nodes: &[Node<T>], address: &str) -> String {
    nodes
        .iter()
        .find(|n| n.address == address)
        .map_or_else(|| address.to_string(), |n| n.name.clone())
}

/// The targets a backend's UP servers stand for (by server name, else by address).
fn routed_to<T>(b: &Backend, nodes: &[Node<T>]) -> Vec<String> {
    b.up_servers()
        .iter()
        .map(|s| {
            if nodes.iter().any(|n| n.name == s.name) {
                s.name.clone()
            } else {
                s.addr
                    .as_deref()
                    .and_then(super::addr::parse)
                    .map_or_else(|| s.name.clone(), |a| name_of(nodes, &a))
            }
        })
        .collect()
}

pub fn verdict(o: &Observation) -> Verdict {
    let mut v = Verdict {
        agree: true,
        primary: None,
        redis_master: None,
        sources: Vec::new(),
        problems: Vec::new(),
    };
    postgres(o, &mut v);
    redis(o, &mut v);
    v.agree = v.problems.is_empty();
    v
}

fn postgres(o: &Observation, v: &mut Verdict) {
    let pg = &o.postgres;
    if pg.is_empty() {
        return;
    }
    for n in pg {
        if let Err(e) = &n.facts {
            v.problems
                .push(format!("PostgreSQL {} is unreachable ({e})", n.name));
        }
    }
    let writable: Vec<&str> = pg
        .iter()
        .filter(|n| n.facts.as_ref().is_ok_and(|f| !f.in_recovery))
        .map(|n| n.name.as_str())
        .collect();
    match writable.as_slice() {
        [] => v.problems.push("no writable PostgreSQL node".into()),
        [one] => v.primary = Some((*one).to_string()),
        many => v.problems.push(format!(
            "{} writable PostgreSQL nodes: {}",
            many.len(),
            many.join(", ")
        )),
    }
    v.sources.push(format!(
        "PostgreSQL: writable {}",
        if writable.is_empty() {
            "none".to_string()
        } else {
            writable.join(", ")
        }
    ));
    let primary = v.primary.clone();
    let primary_addr = pg
        .iter()
        .find(|n| Some(&n.name) == primary.as_ref())
        .map(|n| n.address.clone());
    for n in pg {
        let Ok(f) = &n.facts else { continue };
        if !f.in_recovery {
            continue;
        }
        match &f.upstream {
            None => v.problems.push(format!(
                "{} is a replica with no WAL receiver (not streaming)",
                n.name
            )),
            Some(up) if Some(up) != primary_addr.as_ref() => {
                let who = name_of(pg, up);
                v.problems.push(match &primary {
                    Some(p) => format!("{} follows {who}, not the primary {p}", n.name),
                    None => format!("{} follows {who}, which is not writable", n.name),
                });
            }
            Some(_) => {}
        }
    }
    // Patroni: every API that answered names a leader; they must agree with each other and
    // with the writable node.
    let mut leaders: Vec<(String, String)> = Vec::new();
    for p in &o.patroni {
        match &p.facts {
            Err(e) => v
                .problems
                .push(format!("Patroni API of {} is unreachable ({e})", p.name)),
            Ok(f) => {
                let leader = f.cluster.leader().map(|m| {
                    if pg.iter().any(|n| n.name == m.name) {
                        m.name.clone()
                    } else {
                        m.address()
                            .and_then(|a| super::addr::parse(&a))
                            .map_or_else(|| m.name.clone(), |a| name_of(pg, &a))
                    }
                });
                leaders.push((p.name.clone(), leader.unwrap_or_default()));
            }
        }
    }
    if !leaders.is_empty() {
        let mut named: Vec<&str> = leaders.iter().map(|(_, l)| l.as_str()).collect();
        named.sort_unstable();
        named.dedup();
        match named.as_slice() {
            [""] => v.problems.push("Patroni has no leader".into()),
            [leader] => {
                v.sources.push(format!("Patroni: leader {leader}"));
                if let Some(p) = &primary {
                    if leader != p {
                        v.problems.push(format!(
                            "Patroni's leader is {leader}, but the writable node is {p}"
                        ));
                    }
                }
            }
            _ => v.problems.push(format!(
                "Patroni's APIs disagree on the leader: {}",
                leaders
                    .iter()
                    .map(|(api, l)| format!("{api} says {}", if l.is_empty() { "none" } else { l }))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for h in &o.haproxy {
        let Ok(f) = &h.facts else {
            if let Err(e) = &h.facts {
                v.problems
                    .push(format!("HAProxy {} is unreachable ({e})", h.name));
            }
            continue;
        };
        let Some(be) = &f.writer_backend else {
            continue;
        };
        match f.backends.iter().find(|b| &b.name == be) {
            None => v
                .problems
                .push(format!("HAProxy {} has no backend {be}", h.name)),
            Some(b) => {
                let to = routed_to(b, pg);
                v.sources
                    .push(format!("HAProxy {}: {be} -> {}", h.name, list(&to)));
                if primary.as_ref().is_none_or(|p| to != [p.clone()]) {
                    v.problems.push(format!(
                        "HAProxy {} routes {be} to {}{}",
                        h.name,
                        list(&to),
                        primary
                            .as_ref()
                            .map(|p| format!(", not the primary {p} alone"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "no server".into()
    } else {
        v.join(" + ")
    }
}

fn redis(o: &Observation, v: &mut Verdict) {
    let rd = &o.redis;
    for n in rd {
        if let Err(e) = &n.facts {
            v.problems
                .push(format!("Redis {} is unreachable ({e})", n.name));
        }
    }
    let masters: Vec<&Node<_>> = rd
        .iter()
        .filter(|n| n.facts.as_ref().is_ok_and(|f| f.role == "master"))
        .collect();
    if !rd.is_empty() {
        match masters.as_slice() {
            [] => v.problems.push("no Redis node has role:master".into()),
            [one] => v.redis_master = Some(one.name.clone()),
            many => v.problems.push(format!(
                "{} Redis nodes have role:master: {}",
                many.len(),
                many.iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    let master_addr = masters
        .first()
        .filter(|_| masters.len() == 1)
        .map(|n| n.address.clone());
    for n in rd {
        let Ok(f) = &n.facts else { continue };
        if f.role == "master" {
            continue;
        }
        if let (Some(m), Some(want)) = (&f.master, &master_addr) {
            if m != want {
                v.problems.push(format!(
                    "Redis {} replicates from {}, not the master {}",
                    n.name,
                    name_of(rd, m),
                    v.redis_master.as_deref().unwrap_or("?")
                ));
            }
        }
    }
    // Sentinels: each names a master; they agree with each other and with role:master; and
    // CKQUORUM says a failover could be authorised.
    let mut named: Vec<(String, String)> = Vec::new();
    let mut quorum_lost: Vec<String> = Vec::new();
    for s in &o.sentinels {
        match &s.facts {
            Err(e) => v
                .problems
                .push(format!("Sentinel {} is unreachable ({e})", s.name)),
            Ok(f) => {
                let who = f
                    .master
                    .as_deref()
                    .map_or_else(|| "none".to_string(), |a| name_of(rd, a));
                named.push((s.name.clone(), who));
                if !f.ckquorum.ok {
                    quorum_lost.push(format!("{} ({})", s.name, f.ckquorum.message));
                }
            }
        }
    }
    if !named.is_empty() {
        let mut distinct: Vec<&str> = named.iter().map(|(_, m)| m.as_str()).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > 1 {
            v.problems.push(format!(
                "the Sentinels disagree on the master: {}",
                named
                    .iter()
                    .map(|(s, m)| format!("{s} says {m}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else {
            v.sources.push(format!(
                "Sentinels ({}): master {}",
                named.len(),
                distinct.first().copied().unwrap_or("none")
            ));
        }
        for (s, m) in &named {
            let role = rd
                .iter()
                .find(|n| &n.name == m)
                .and_then(|n| n.facts.as_ref().ok())
                .map(|f| f.role.as_str());
            if distinct.len() == 1 && role.is_some_and(|r| r == "master") {
                continue;
            }
            match role {
                Some("master") => {}
                Some(r) => v.problems.push(format!(
                    "Sentinel {s}'s master {m} is not role:master (role:{r})"
                )),
                None if m == "none" => v
                    .problems
                    .push(format!("Sentinel {s} does not monitor the master name")),
                None => {}
            }
        }
    }
    if !quorum_lost.is_empty() {
        v.problems.push(format!(
            "Sentinels below quorum: {}",
            quorum_lost.join(", ")
        ));
    }
    // Without Redis nodes selected there is no master to hold HAProxy's backend to.
    for h in o.haproxy.iter().filter(|_| !rd.is_empty()) {
        let Ok(f) = &h.facts else { continue };
        let Some(be) = &f.redis_backend else { continue };
        match f.backends.iter().find(|b| &b.name == be) {
            None => v
                .problems
                .push(format!("HAProxy {} has no backend {be}", h.name)),
            Some(b) => {
                let to = routed_to(b, rd);
                v.sources
                    .push(format!("HAProxy {}: {be} -> {}", h.name, list(&to)));
                if v.redis_master.as_ref().is_none_or(|m| to != [m.clone()]) {
                    v.problems.push(format!(
                        "HAProxy {} routes {be} to {}{}",
                        h.name,
                        list(&to),
                        v.redis_master
                            .as_ref()
                            .map(|m| format!(", not the master {m} alone"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::haproxy::Server;
    use crate::clients::patroni::{ClusterView, Member};
    use crate::clients::sentinel::Quorum;
    use crate::ha::observe::{HaproxyFacts, PatroniFacts, PgFacts, RedisFacts, SentinelFacts};

    fn pg(name: &str, port: u16, replica_of: Option<u16>) -> Node<PgFacts> {
        Node {
            name: name.into(),
            address: format!("127.0.0.1:{port}"),
            facts: Ok(PgFacts {
                in_recovery: replica_of.is_some(),
                timeline: Some(1),
                lsn: Some("0/3000000".into()),
                lag_bytes: replica_of.map(|_| 0),
                lag_seconds: None,
                upstream: replica_of.map(|p| format!("127.0.0.1:{p}")),
                receiver_status: replica_of.map(|_| "streaming".into()),
                streaming_standbys: Vec::new(),
                standby_lags: Vec::new(),
                slots: Vec::new(),
            }),
        }
    }

    fn rd(name: &str, port: u16, master: Option<u16>) -> Node<RedisFacts> {
        Node {
            name: name.into(),
            address: format!("127.0.0.1:{port}"),
            facts: Ok(RedisFacts {
                role: if master.is_some() { "slave" } else { "master" }.into(),
                master: master.map(|p| format!("127.0.0.1:{p}")),
                link_up: master.map(|_| true),
                offset: Some(100),
                connected_replicas: 0,
            }),
        }
    }

    fn sentinel(name: &str, master: u16, ok: bool) -> Node<SentinelFacts> {
        Node {
            name: name.into(),
            address: "127.0.0.1:26379".into(),
            facts: Ok(SentinelFacts {
                master_name: "opsbook".into(),
                master: Some(format!("127.0.0.1:{master}")),
                flags: "master".into(),
                quorum: Some(2),
                other_sentinels: Some(2),
                replicas: Some(1),
                ckquorum: Quorum {
                    ok,
                    message: if ok {
                        "OK 3 usable Sentinels"
                    } else {
                        "NOQUORUM 1 usable Sentinels"
                    }
                    .into(),
                },
            }),
        }
    }

    fn patroni(on: &str, leader: &str) -> Node<PatroniFacts> {
        let member = |name: &str, role: &str| Member {
            name: name.into(),
            role: role.into(),
            state: "running".into(),
            api_url: None,
            host: None,
            port: None,
            timeline: Some(1),
            lag: None,
            pending_restart: false,
        };
        let other = if leader == "pg-a" { "pg-b" } else { "pg-a" };
        Node {
            name: on.into(),
            address: "127.0.0.1:8008".into(),
            facts: Ok(PatroniFacts {
                cluster: ClusterView {
                    members: vec![member(leader, "leader"), member(other, "replica")],
                    pause: false,
                    scheduled_switchover: None,
                },
                node: None,
            }),
        }
    }

    fn lb(pg_up: &[&str], redis_up: &[&str]) -> Node<HaproxyFacts> {
        let backend = |name: &str, all: &[&str], up: &[&str]| Backend {
            name: name.into(),
            status: "UP".into(),
            servers: all
                .iter()
                .map(|s| Server {
                    name: (*s).into(),
                    status: if up.contains(s) { "UP" } else { "DOWN" }.into(),
                    addr: None,
                    check_status: None,
                })
                .collect(),
        };
        Node {
            name: "lb".into(),
            address: "127.0.0.1:8404".into(),
            facts: Ok(HaproxyFacts {
                writer_backend: Some("pg_write".into()),
                redis_backend: Some("redis_write".into()),
                backends: vec![
                    backend("pg_write", &["pg-a", "pg-b"], pg_up),
                    backend("redis_write", &["cache-a", "cache-b"], redis_up),
                ],
            }),
        }
    }

    fn healthy() -> Observation {
        Observation {
            postgres: vec![pg("pg-a", 5432, None), pg("pg-b", 5433, Some(5432))],
            redis: vec![rd("cache-a", 6379, None), rd("cache-b", 6380, Some(6379))],
            patroni: vec![patroni("pg-a", "pg-a"), patroni("pg-b", "pg-a")],
            sentinels: vec![
                sentinel("s1", 6379, true),
                sentinel("s2", 6379, true),
                sentinel("s3", 6379, true),
            ],
            haproxy: vec![lb(&["pg-a"], &["cache-a"])],
        }
    }

    #[test]
    fn every_source_naming_one_primary_agrees() {
        let v = verdict(&healthy());
        assert!(v.agree, "{v:?}");
        assert_eq!(v.summary(), "agree: pg-a is primary, cache-a is master");
        assert!(
            v.sources.iter().any(|s| s == "Patroni: leader pg-a"),
            "{v:?}"
        );
    }

    fn problems(o: &Observation) -> String {
        let v = verdict(o);
        assert!(!v.agree, "{v:?}");
        v.summary()
    }

    #[test]
    fn each_disagreement_is_named() {
        let mut o = healthy();
        o.postgres[1] = pg("pg-b", 5433, None);
        assert!(problems(&o).contains("2 writable PostgreSQL nodes: pg-a, pg-b"));

        let mut o = healthy();
        o.patroni = vec![patroni("pg-a", "pg-b")];
        assert!(problems(&o).contains("Patroni's leader is pg-b, but the writable node is pg-a"));

        let mut o = healthy();
        o.postgres.push(pg("pg-c", 5434, Some(5433)));
        assert!(problems(&o).contains("pg-c follows pg-b, not the primary pg-a"));

        let mut o = healthy();
        o.haproxy = vec![lb(&["pg-b"], &["cache-a"])];
        assert!(
            problems(&o).contains("HAProxy lb routes pg_write to pg-b, not the primary pg-a alone")
        );

        let mut o = healthy();
        o.sentinels[0] = sentinel("s1", 6380, true);
        let p = problems(&o);
        assert!(
            p.contains("the Sentinels disagree on the master: s1 says cache-b"),
            "{p}"
        );
        assert!(
            p.contains("Sentinel s1's master cache-b is not role:master (role:slave)"),
            "{p}"
        );

        let mut o = healthy();
        o.sentinels = vec![sentinel("s1", 6379, false)];
        assert!(problems(&o).contains("Sentinels below quorum: s1 (NOQUORUM"));

        let mut o = healthy();
        o.redis[0].facts = Err("connecting to Redis: refused".into());
        assert!(
            problems(&o).contains("Redis cache-a is unreachable (connecting to Redis: refused)")
        );
    }
}
