//! Redis probes over the run's one connection.

use crate::clients::redis::RedisInfo;
use crate::config::Limits;
use crate::context::Ctx;
use crate::render::{human_bytes, human_duration};
use crate::report::{one_line, Finding, Status};

use super::pct;

/// `redis.up` and `redis.memory` from one PING + INFO.
pub async fn up_and_memory(ctx: &Ctx, limits: Limits) -> Vec<Finding> {
    overview(ctx, limits, None).await
}

/// `redis.up`, `redis.memory` and, when `clients` is given, `redis.clients`, from one INFO.
pub async fn overview(ctx: &Ctx, limits: Limits, clients: Option<Limits>) -> Vec<Finding> {
    let down = |mut f: Vec<Finding>| {
        if clients.is_some() {
            f.push(Finding::new(
                "redis.clients",
                Status::Unknown,
                "Redis is not reachable (see redis.up)",
            ));
        }
        f
    };
    let client = match ctx.redis().await {
        Ok(c) => c,
        Err(e) => {
            return down(vec![
                Finding::new("redis.up", Status::Critical, one_line(&e)).hint(
                    "start it (systemctl start redis-server) or fix --redis / REDIS_URL; queued jobs wait while Redis is down",
                ),
                Finding::new("redis.memory", Status::Unknown, "Redis is not reachable (see redis.up)"),
            ])
        }
    };
    let info = match client.info().await {
        Ok(i) => i,
        Err(e) => {
            return down(vec![
                Finding::new("redis.up", Status::Critical, one_line(&e)),
                Finding::new(
                    "redis.memory",
                    Status::Unknown,
                    "INFO failed (see redis.up)",
                ),
            ])
        }
    };
    let up = Finding::ok(
        "redis.up",
        format!(
            "Redis {} ({}) at {}, up {}, {} clients",
            info.version,
            info.role,
            client.url(),
            human_duration(info.uptime_seconds as f64),
            info.connected_clients
        ),
    )
    .value(info.version.clone(), "version");
    let memory = if info.maxmemory == 0 {
        Finding::ok(
            "redis.memory",
            format!("{} used, no maxmemory limit", human_bytes(info.used_memory as f64)),
        )
        .value(info.used_memory, "bytes")
        .hint("set maxmemory (and maxmemory-policy noeviction for RQ queues) so Redis cannot take the host's RAM")
    } else {
        let p = pct(info.used_memory as f64, info.maxmemory as f64);
        Finding::new(
            "redis.memory",
            limits.status_above(p),
            format!(
                "{} of maxmemory {} ({p:.1}%), policy {}",
                human_bytes(info.used_memory as f64),
                human_bytes(info.maxmemory as f64),
                info.maxmemory_policy
            ),
        )
        .value(info.used_memory, "bytes")
        // The limits are a share of maxmemory; perfdata wants them in bytes.
        .above(
            limits.warning.map(|w| w * info.maxmemory as f64 / 100.0),
            limits.critical.map(|c| c * info.maxmemory as f64 / 100.0),
        )
        .hint_unless_ok("near maxmemory Redis evicts keys or refuses writes (noeviction): find big keys with `redis-cli --bigkeys`, drain queues, or raise maxmemory")
    };
    let mut out = vec![up, memory];
    if let Some(limits) = clients {
        out.push(clients_finding(&info, limits));
    }
    out
}

/// `redis.clients`: connected_clients (blocked ones in the text: RQ workers wait in BLPOP).
fn clients_finding(info: &RedisInfo, limits: Limits) -> Finding {
    let n = info.connected_clients;
    let max = info
        .raw
        .get("maxclients")
        .map(|m| format!(" of maxclients {m}"))
        .unwrap_or_default();
    Finding::new(
        "redis.clients",
        limits.status_above(n as f64),
        format!(
            "{n} clients connected{max}, {} blocked (workers waiting for jobs), {} rejected since start",
            info.blocked_clients, info.rejected_connections
        ),
    )
    .value(n, "clients")
    .above(limits.warning, limits.critical)
    .hint_unless_ok("list them by name and age: `redis-cli CLIENT LIST`; a growing count is a client that never closes its connections")
}

/// `rq.backlog`: jobs waiting in the RQ queues (`names`, or every queue RQ knows), all
/// together, with one detail line per queue.
pub async fn rq_backlog(ctx: &Ctx, names: &[String], limits: Limits) -> Vec<Finding> {
    let client = match ctx.redis().await {
        Ok(c) => c,
        Err(_) => {
            return vec![Finding::new(
                "rq.backlog",
                Status::Unknown,
                "Redis is not reachable (see redis.up)",
            )]
        }
    };
    let queues = match client.rq_queues(names).await {
        Ok(q) => q,
        Err(e) => return vec![Finding::unknown("rq.backlog", &e)],
    };
    let total: u64 = queues.iter().map(|q| q.jobs).sum();
    let summary = if queues.is_empty() {
        "no RQ queue found (the rq:queues set is empty)".to_string()
    } else {
        let biggest = queues
            .iter()
            .max_by_key(|q| q.jobs)
            .map(|q| format!(", most in `{}` ({})", q.name, q.jobs))
            .unwrap_or_default();
        format!("{total} jobs waiting in {} queues{biggest}", queues.len())
    };
    let detail = queues
        .iter()
        .map(|q| {
            format!(
                "{}: {} jobs, {} workers, {} failed",
                q.name, q.jobs, q.workers, q.failed
            )
        })
        .collect();
    let f = Finding::new("rq.backlog", limits.status_above(total as f64), summary)
        .value(total, "jobs")
        .above(limits.warning, limits.critical)
        .detail(detail)
    .hint_unless_ok("jobs arrive faster than workers take them: check the workers run (`rq info`), then add workers for the busiest queue");
    vec![f]
}
