//! Which part of a fanned-out run a finding belongs to: a PostgreSQL target's, a Redis
//! target's, or the host's (run once). Each part's run keeps only its own findings, so the
//! probes a part cannot run (PostgreSQL in the host's run) leave no "not checked" behind.

use crate::config::Config;

/// The part of a fanned-out run a finding id belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// read from a PostgreSQL target (`postgres.*`, `replica.*`, `locks.*`, ...)
    Postgres,
    /// read from a Redis target (`redis.*`, `rq.*`, ...)
    Redis,
    /// read on this host, once (disk, memory, services, journal, backups directory)
    Host,
}

/// Ids (or prefixes ending in `.` / `_`) read from PostgreSQL.
const POSTGRES: &[&str] = &[
    "postgres.",
    "replica.",
    "locks.",
    "pitr.",
    "maintain.",
    "memory.postgres_connections",
    "memory.pg_",
    "config.setting",
    "config.apply",
    "config.pending_restart",
    "config.rollback",
    "queries.",
];

/// Ids (or prefixes) read from Redis.
const REDIS: &[&str] = &["redis.", "rq.", "memory.redis", "config.redis"];

/// Ids that only mean something for the whole run without targets: `check health`'s overall
/// word is judged over one PostgreSQL and one Redis (a fanned-out run's status is the worst
/// finding instead).
const WHOLE_RUN_ONLY: &[&str] = &["health.status"];

fn matches(id: &str, table: &[&str]) -> bool {
    table
        .iter()
        .any(|p| id == *p || (p.ends_with(['.', '_']) && id.starts_with(p)))
}

/// The part finding `id` belongs to; None for an id that a fanned-out run does not report.
/// A custom metric (`metric.<name>`) belongs to its source: SQL → PostgreSQL, a key → Redis.
pub fn part_of(id: &str, config: &Config) -> Option<Part> {
    if WHOLE_RUN_ONLY.contains(&id) {
        return None;
    }
    if let Some(name) = id.strip_prefix("metric.") {
        return Some(match config.metrics.iter().find(|m| m.name.value == name) {
            Some(m) if m.sql.is_some() => Part::Postgres,
            Some(m) if m.redis.is_some() => Part::Redis,
            _ => Part::Host,
        });
    }
    if matches(id, POSTGRES) {
        Some(Part::Postgres)
    } else if matches(id, REDIS) {
        Some(Part::Redis)
    } else {
        Some(Part::Host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fall_into_their_part() {
        let c = Config::default();
        for (id, part) in [
            ("postgres.up", Some(Part::Postgres)),
            ("replica.role", Some(Part::Postgres)),
            ("locks.waiting", Some(Part::Postgres)),
            ("memory.pg_work_mem", Some(Part::Postgres)),
            ("config.setting", Some(Part::Postgres)),
            ("redis.memory", Some(Part::Redis)),
            ("rq.backlog", Some(Part::Redis)),
            ("memory.redis", Some(Part::Redis)),
            ("host.disk_usage", Some(Part::Host)),
            ("backup.latest_age", Some(Part::Host)),
            ("service.active", Some(Part::Host)),
            ("memory.process", Some(Part::Host)),
            ("config.memory_budget", Some(Part::Host)),
            ("health.status", None),
            ("metric.unknown_one", Some(Part::Host)),
        ] {
            assert_eq!(part_of(id, &c), part, "{id}");
        }
        // a prefix without its dot is not a match
        assert_eq!(part_of("postgresql_thing", &c), Some(Part::Host));
    }
}
