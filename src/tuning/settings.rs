//! The server's side of the plan: `pg_settings` rows for the settings the plan may touch (and
//! those the memory budget reads), their values in base units, and ALTER SYSTEM + reload.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::Serialize;

use crate::clients::postgres::PgClient;

/// Every setting the plan may change: the names a rollback file may hold (anything else in
/// one is refused).
pub const TUNABLE: &[&str] = &[
    "shared_buffers",
    "effective_cache_size",
    "maintenance_work_mem",
    "work_mem",
    "wal_buffers",
    "min_wal_size",
    "max_wal_size",
    "checkpoint_completion_target",
    "default_statistics_target",
    "random_page_cost",
    "effective_io_concurrency",
    "max_worker_processes",
    "max_parallel_workers_per_gather",
    "max_parallel_workers",
    "max_parallel_maintenance_workers",
];

/// Read besides the tunable ones: the budget's other terms.
const ALSO_READ: &[&str] = &[
    "max_connections",
    "autovacuum_max_workers",
    "autovacuum_work_mem",
    "huge_pages",
    "data_directory",
];

/// One pg_settings row (PostgreSQL 9.5+: pending_restart).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Setting {
    pub name: String,
    /// in the setting's unit, as pg_settings shows it
    pub setting: String,
    pub unit: String,
    pub source: String,
    /// `postmaster` needs a restart; `sighup`, `user`, `superuser` a reload
    pub context: String,
    pub pending_restart: bool,
    /// empty unless we may read it (superuser or pg_read_all_settings)
    pub sourcefile: String,
}

impl Setting {
    /// The value in bytes (memory settings) or as a number; None for text.
    pub fn number(&self) -> Option<f64> {
        let v: f64 = self.setting.parse().ok()?;
        Some(match unit_bytes(&self.unit) {
            Some(b) if v >= 0.0 => v * b as f64,
            _ => v,
        })
    }

    pub fn is_memory(&self) -> bool {
        unit_bytes(&self.unit).is_some()
    }

    pub fn needs_restart(&self) -> bool {
        self.context == "postmaster"
    }

    /// Set by ALTER SYSTEM (postgresql.auto.conf), so a rollback puts its value back rather
    /// than resetting it.
    pub fn in_auto_conf(&self) -> bool {
        self.sourcefile.ends_with("postgresql.auto.conf")
    }

    /// pg_settings' value with its unit ("16384 x 8kB" → "128MB"), for people.
    pub fn display(&self) -> String {
        match (self.number(), self.is_memory()) {
            (Some(b), true) => crate::render::human_bytes(b),
            _ => self.setting.clone(),
        }
    }
}

/// "8kB" → 8192, "MB" → 1048576; None for non-memory units (ms, s) and none.
pub fn unit_bytes(unit: &str) -> Option<u64> {
    let digits: String = unit.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = if digits.is_empty() {
        1
    } else {
        digits.parse().ok()?
    };
    let mult = match &unit[digits.len()..] {
        "B" => 1,
        "kB" => 1024,
        "MB" => 1024 * 1024,
        "GB" => 1024 * 1024 * 1024,
        "TB" => 1024_u64.pow(4),
        _ => return None,
    };
    Some(n * mult)
}

const SETTINGS_SQL: &str = "SELECT name, setting, coalesce(unit, ''), source, context, \
     coalesce(pending_restart, false), coalesce(sourcefile, '') \
     FROM pg_settings WHERE name = ANY($1)";

/// The settings the plan and the budget need, by name.
pub async fn read(pg: &PgClient) -> anyhow::Result<BTreeMap<String, Setting>> {
    let names: Vec<&str> = TUNABLE.iter().chain(ALSO_READ).copied().collect();
    let rows = pg
        .client
        .query(SETTINGS_SQL, &[&names])
        .await
        .with_context(|| format!("reading pg_settings on {}", pg.options))?;
    Ok(rows
        .iter()
        .map(|r| {
            let s = Setting {
                name: r.get(0),
                setting: r.get(1),
                unit: r.get(2),
                source: r.get(3),
                context: r.get(4),
                pending_restart: r.get(5),
                sourcefile: r.get(6),
            };
            (s.name.clone(), s)
        })
        .collect())
}

/// Run ALTER SYSTEM statements (each its own statement: ALTER SYSTEM cannot run in a
/// transaction block), then `pg_reload_conf()`. Stops at the first failure, saying which; a
/// SIGINT/SIGTERM (`interrupt`) stops it between two statements, before the reload (each
/// statement takes milliseconds, so one in flight is let finish).
pub async fn apply(
    pg: &PgClient,
    statements: &[String],
    interrupt: &crate::interrupt::Interrupt,
) -> anyhow::Result<()> {
    for (i, sql) in statements.iter().enumerate() {
        if let Err(e) = interrupt.check() {
            return Err(anyhow::Error::new(e).context(format!(
                "stopped before `{sql}` ({} of {} statements were applied, not reloaded)",
                i,
                statements.len()
            )));
        }
        pg.client.batch_execute(sql).await.with_context(|| {
            format!(
                "running `{sql}` on {} (statement {} of {}; the ones before it were applied)",
                pg.options,
                i + 1,
                statements.len()
            )
        })?;
    }
    pg.client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .with_context(|| format!("reloading the configuration of {}", pg.options))?;
    Ok(())
}

/// The names whose new value waits for a restart, after a reload.
pub async fn pending_restart(pg: &PgClient) -> anyhow::Result<Vec<String>> {
    // pg_reload_conf() signals the postmaster; the backends (ours) re-read the file at their
    // next command, so ask pg_settings after a short pause for the signal to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rows = pg
        .client
        .query(
            "SELECT name FROM pg_settings WHERE pending_restart ORDER BY name",
            &[],
        )
        .await
        .with_context(|| format!("reading pending_restart on {}", pg.options))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(setting: &str, unit: &str) -> Setting {
        Setting {
            name: "x".into(),
            setting: setting.into(),
            unit: unit.into(),
            source: "default".into(),
            context: "user".into(),
            pending_restart: false,
            sourcefile: String::new(),
        }
    }

    #[test]
    fn units_become_bytes() {
        assert_eq!(s("16384", "8kB").number(), Some(134217728.0));
        assert_eq!(s("4096", "kB").number(), Some(4194304.0));
        assert_eq!(s("1024", "MB").number(), Some(1073741824.0));
        assert_eq!(s("1.1", "").number(), Some(1.1));
        assert_eq!(s("-1", "kB").number(), Some(-1.0));
        assert!(!s("300", "").is_memory());
    }
}
