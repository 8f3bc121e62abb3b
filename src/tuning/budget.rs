//! One memory budget for the host: what PostgreSQL and Redis may take at worst, against the
//! RAM or the cgroup limit, whichever is lower. postgresqltuner checks PostgreSQL's worst case;
//! none of the tuners counts Redis beside it.

use serde::Serialize;

use crate::render::human_bytes;
use crate::report::{Finding, Status};

/// The budget's terms, bytes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Budget {
    /// min(RAM, cgroup limit)
    pub limit: u64,
    pub shared_buffers: u64,
    pub max_connections: u64,
    pub work_mem: u64,
    pub autovacuum_max_workers: u64,
    /// autovacuum_work_mem, or maintenance_work_mem when that is -1
    pub autovacuum_mem: u64,
    /// Redis maxmemory, or its used memory when maxmemory is 0 (no limit)
    pub redis: u64,
    pub redis_unbounded: bool,
    /// effective_cache_size
    pub effective_cache_size: u64,
}

impl Budget {
    /// shared_buffers + max_connections x work_mem + autovacuum workers x their memory + Redis:
    /// what can be allocated at once (one sort or hash per connection, the usual worst case;
    /// a complex query can take several).
    pub fn worst_case(&self) -> u64 {
        self.shared_buffers
            + self.max_connections * self.work_mem
            + self.autovacuum_max_workers * self.autovacuum_mem
            + self.redis
    }

    /// The OS page cache effective_cache_size counts on, beyond shared_buffers.
    pub fn os_cache_assumed(&self) -> u64 {
        self.effective_cache_size
            .saturating_sub(self.shared_buffers)
    }

    /// `config.memory_budget`: CRITICAL when the worst case exceeds the limit; WARNING when
    /// shared_buffers + Redis + the OS cache effective_cache_size assumes do not fit (the
    /// planner then counts on cache that is not there).
    pub fn finding(&self, limit_name: &str) -> Finding {
        let worst = self.worst_case();
        let cached = self.shared_buffers + self.redis + self.os_cache_assumed();
        let pct = |v: u64| v as f64 * 100.0 / self.limit.max(1) as f64;
        let b = |v: u64| human_bytes(v as f64);
        let (status, verdict) = if worst > self.limit {
            (Status::Critical, "exceeds")
        } else if cached > self.limit {
            (
                Status::Warning,
                "fits, but the OS cache effective_cache_size assumes does not",
            )
        } else {
            (Status::Ok, "fits in")
        };
        let mut f = Finding::new(
            "config.memory_budget",
            status,
            format!(
                "worst case {} ({:.0}%) {verdict} {} {limit_name}",
                b(worst),
                pct(worst),
                b(self.limit)
            ),
        )
        .value(worst, "bytes")
        .detail(vec![
            format!("shared_buffers                         {}", b(self.shared_buffers)),
            format!(
                "max_connections x work_mem             {} x {} = {}",
                self.max_connections,
                b(self.work_mem),
                b(self.max_connections * self.work_mem)
            ),
            format!(
                "autovacuum_max_workers x its memory    {} x {} = {}",
                self.autovacuum_max_workers,
                b(self.autovacuum_mem),
                b(self.autovacuum_max_workers * self.autovacuum_mem)
            ),
            format!(
                "Redis {}  {}",
                if self.redis_unbounded {
                    "used_memory (maxmemory 0: no limit)"
                } else {
                    "maxmemory                        "
                },
                b(self.redis)
            ),
            format!(
                "OS cache effective_cache_size assumes  {} (not in the worst case: the kernel gives it back)",
                b(self.os_cache_assumed())
            ),
            format!("{limit_name:<38} {}", b(self.limit)),
        ]);
        f = match status {
            Status::Critical => f.hint(
                "lower work_mem (or max_connections, with a pooler such as PgBouncer in front) until the worst case fits; the plan below sizes work_mem for this budget",
            ),
            Status::Warning => f.hint(
                "lower effective_cache_size to what is left for the OS cache, or give Redis a smaller maxmemory",
            ),
            _ => f,
        };
        if self.redis_unbounded && status == Status::Ok {
            f.summary
                .push_str("; Redis has no maxmemory, so its part can grow without bound");
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1 << 30;
    const MB: u64 = 1 << 20;

    #[test]
    fn oversized_work_mem_is_critical_and_pgtunes_plan_fits() {
        let mut b = Budget {
            limit: 32 * GB,
            shared_buffers: 8 * GB,
            max_connections: 500,
            work_mem: 64 * MB,
            autovacuum_max_workers: 3,
            autovacuum_mem: 2 * GB,
            redis: 2 * GB,
            redis_unbounded: false,
            effective_cache_size: 24 * GB,
        };
        // the seed's "32 GB" postgresql.conf: 8 + 500 x 64MB (31.25) + 6 + 2 GB
        assert_eq!(b.finding("of RAM").status, Status::Critical);
        b.work_mem = 4 * MB;
        assert_eq!(b.finding("of RAM").status, Status::Ok);
        // 8 + 2 + 6 + 10 fits; 8 + 10 + the 16 GB of OS cache assumed does not
        b.redis = 10 * GB;
        assert_eq!(b.finding("of RAM").status, Status::Warning);
    }
}
