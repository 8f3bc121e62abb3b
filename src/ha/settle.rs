//! After an engine was asked to move the primary (Patroni's switchover or failover, a
//! Sentinel's FAILOVER): ask every source of that side again and again, the way `cluster
//! status` does (`observe` + `verdict`), until they all agree on the new primary or the time
//! is up. PostgreSQL's side is its nodes, their Patroni APIs and HAProxy's writer backend;
//! Redis' side its nodes, the Sentinels and HAProxy's Redis backend.

use std::time::{Duration, Instant};

use super::observe::{observe, Budget, Observation};
use super::verdict::{verdict, Verdict};
use crate::config::targets::{Target, Targets};
use crate::progress::Phase;

/// Which primary moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// the PostgreSQL primary (Patroni's leader)
    Postgres,
    /// the Redis master (the Sentinels')
    Redis,
}

impl Side {
    /// The primary the verdict names on this side.
    pub fn primary(self, v: &Verdict) -> Option<&str> {
        match self {
            Side::Postgres => v.primary.as_deref(),
            Side::Redis => v.redis_master.as_deref(),
        }
    }
}

/// The targets that speak about `side`'s primary.
pub fn sources(targets: &Targets, side: Side) -> Targets {
    targets
        .iter()
        .filter(|(_, t)| {
            matches!(
                (side, t),
                (_, Target::Haproxy(_))
                    | (Side::Postgres, Target::Postgres(_))
                    | (Side::Redis, Target::Redis(_) | Target::Sentinel(_))
            )
        })
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect()
}

/// Only what speaks about `side`: HAProxy's backend of the other side is dropped, so a Redis
/// problem does not hold up a PostgreSQL switchover (and the other way round).
pub fn side_only(mut o: Observation, side: Side) -> Observation {
    for h in &mut o.haproxy {
        if let Ok(f) = &mut h.facts {
            match side {
                Side::Postgres => f.redis_backend = None,
                Side::Redis => f.writer_backend = None,
            }
        }
    }
    match side {
        Side::Postgres => {
            o.redis.clear();
            o.sentinels.clear();
        }
        Side::Redis => {
            o.postgres.clear();
            o.patroni.clear();
        }
    }
    // An HAProxy that is down says nothing about either side's backend we dropped; it still
    // counts (it is a source), which is what the verdict does with it.
    o
}

/// One look at `side`: what every source says, and the verdict.
pub async fn look(targets: &Targets, side: Side, budget: Budget) -> (Observation, Verdict) {
    let o = side_only(observe(&sources(targets, side), budget).await, side);
    let v = verdict(&o);
    (o, v)
}

/// How the wait ended.
#[derive(Debug, Clone)]
pub struct Settled {
    /// every source agrees and `done` held
    pub agreed: bool,
    /// from `since` to the look that agreed (or to the end of the wait)
    pub took: Duration,
    pub verdict: Verdict,
    pub observation: Observation,
    /// how many times every source was asked
    pub looks: u32,
}

/// Look again every `every` until every source agrees and `done(verdict)` holds, or until
/// `since + limit`. `progress`: draw the phase on stderr (the caller decides, see
/// `render::show_progress`).
pub async fn until(
    targets: &Targets,
    side: Side,
    budget: Budget,
    done: impl Fn(&Verdict) -> bool,
    since: Instant,
    limit: Duration,
    progress: bool,
) -> Settled {
    let what = match side {
        Side::Postgres => "waiting until every PostgreSQL source names the new primary",
        Side::Redis => "waiting until every Redis source names the new master",
    };
    let phase = Phase::start_if(progress, what);
    let end = since + limit;
    let every = Duration::from_millis(250);
    let mut looks = 0;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let round = Budget {
            timeouts: budget.timeouts,
            per_node: budget.per_node.min(left.max(Duration::from_millis(200))),
        };
        let (o, v) = look(targets, side, round).await;
        looks += 1;
        let agreed = v.agree && done(&v);
        if agreed || Instant::now() >= end {
            phase.finish();
            return Settled {
                agreed,
                took: since.elapsed(),
                verdict: v,
                observation: o,
                looks,
            };
        }
        phase.next(format!("{what}: {}", v.summary()));
        tokio::time::sleep(every.min(end.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_has_its_own_sources() {
        let t: Targets = serde_saphyr::from_str(
            "pg-a: {kind: postgres, url: 'postgres://u@127.0.0.1:5433/app'}\n\
             cache-a: {kind: redis, url: 'redis://127.0.0.1:6380'}\n\
             s1: {kind: sentinel, url: 'redis://127.0.0.1:26379', master: m}\n\
             lb: {kind: haproxy, socket: /run/haproxy.sock, writer_backend: pg_write}\n\
             g: {kind: group, members: [pg-a]}\n",
        )
        .unwrap();
        let names = |s| sources(&t, s).into_keys().collect::<Vec<_>>();
        assert_eq!(names(Side::Postgres), ["lb", "pg-a"]);
        assert_eq!(names(Side::Redis), ["cache-a", "lb", "s1"]);
    }
}
