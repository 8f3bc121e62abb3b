//! Redis probes over the run's one connection.

use crate::config::Limits;
use crate::context::Ctx;
use crate::render::{human_bytes, human_duration};
use crate::report::{one_line, Finding, Status};

use super::pct;

/// `redis.up` and `redis.memory` from one PING + INFO.
pub async fn up_and_memory(ctx: &Ctx, limits: Limits) -> Vec<Finding> {
    let client = match ctx.redis().await {
        Ok(c) => c,
        Err(e) => {
            return vec![
                Finding::new("redis.up", Status::Critical, one_line(&e)).hint(
                    "start it (systemctl start redis-server) or fix --redis / REDIS_URL; queued jobs wait while Redis is down",
                ),
                Finding::new("redis.memory", Status::Unknown, "Redis is not reachable (see redis.up)"),
            ]
        }
    };
    let info = match client.info().await {
        Ok(i) => i,
        Err(e) => {
            return vec![
                Finding::new("redis.up", Status::Critical, one_line(&e)),
                Finding::new(
                    "redis.memory",
                    Status::Unknown,
                    "INFO failed (see redis.up)",
                ),
            ]
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
        let status = Status::above(p, limits.warning, limits.critical);
        let mut f = Finding::new(
            "redis.memory",
            status,
            format!(
                "{} of maxmemory {} ({p:.1}%), policy {}",
                human_bytes(info.used_memory as f64),
                human_bytes(info.maxmemory as f64),
                info.maxmemory_policy
            ),
        )
        .value(info.used_memory, "bytes");
        if status != Status::Ok {
            f = f.hint("near maxmemory Redis evicts keys or refuses writes (noeviction): find big keys with `redis-cli --bigkeys`, drain queues, or raise maxmemory");
        }
        f
    };
    vec![up, memory]
}
