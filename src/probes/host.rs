//! Host probes: memory, filesystems, systemd units and their journal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::clients::host;
use crate::config::Limits;
use crate::render::human_bytes;
use crate::report::{Finding, Status};

pub fn memory_usage(limits: Limits) -> anyhow::Result<Vec<Finding>> {
    let m = host::memory()?;
    let p = (m.used_pct() * 10.0).round() / 10.0;
    let f = Finding::new(
        "host.memory_usage",
        limits.status_above(p),
        format!(
            "{} of {} in use ({p:.1}%), swap {} used",
            human_bytes(m.used as f64),
            human_bytes(m.total as f64),
            human_bytes(m.swap_used as f64)
        ),
    )
    .value_f64(p, "percent")
    .above(limits.warning, limits.critical)
    .hint_unless_ok("find the largest processes (`ps aux --sort=-rss | head`); PostgreSQL's worst case is shared_buffers + work_mem x max_connections");
    Ok(vec![f])
}

/// History keys of the /proc/stat counters a run leaves for the next one.
pub const CPU_BUSY_KEY: &str = "host.cpu_usage/busy_ticks";
pub const CPU_TOTAL_KEY: &str = "host.cpu_usage/total_ticks";

/// The CPU counters an earlier run recorded, with when.
pub fn previous_cpu_times(
    history: &crate::state::History,
    cpus: usize,
) -> Option<(i64, host::CpuTimes)> {
    let (at, total) = history.previous(CPU_TOTAL_KEY)?;
    let (at_busy, busy) = history.previous(CPU_BUSY_KEY)?;
    (at == at_busy).then_some((at, host::CpuTimes { busy, total, cpus }))
}

/// `host.cpu_usage`: share of CPU time busy since the previous run's counters (a minutely
/// monitor: the last minute, with no wait), or over a `sample` of its own when there is no
/// previous run younger than `max_age`. Returns the findings and the counters to record.
pub async fn cpu_usage(
    limits: Limits,
    sample: Duration,
    history: &crate::state::History,
    max_age: Duration,
    now: i64,
) -> anyhow::Result<(Vec<Finding>, host::CpuTimes)> {
    let current = host::cpu_times()?;
    let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    let since_previous = previous_cpu_times(history, current.cpus)
        .filter(|(at, _)| *at <= now && now - at <= max_age)
        .and_then(|(_, earlier)| current.busy_since(&earlier));
    let (p, over, counters) = match since_previous {
        Some((p, secs)) => (
            p,
            format!(
                "over the last {} (since the previous run)",
                crate::render::human_duration(secs)
            ),
            current,
        ),
        None => {
            let (p, end) = host::cpu_usage(sample).await?;
            (
                p,
                format!(
                    "over a {} sample",
                    crate::render::human_duration(sample.as_secs_f64())
                ),
                end,
            )
        }
    };
    let p = (p * 10.0).round() / 10.0;
    let f = Finding::new(
        "host.cpu_usage",
        limits.status_above(p),
        format!("{p:.1}% busy {over}"),
    )
    .value_f64(p, "percent")
    .above(limits.warning, limits.critical)
    .hint_unless_ok(
        "find what burns it: `top -o %CPU` (and `opsbook diagnose queries` when it is postgres)",
    );
    Ok((vec![f], counters))
}

/// `host.load`: the 1-minute load average per logical CPU against `limits`; 5 and 15 in the text.
pub fn load(limits: Limits) -> anyhow::Result<Vec<Finding>> {
    let l = host::load()?;
    let per_core = (l.one / l.cpus as f64 * 100.0).round() / 100.0;
    let f = Finding::new(
        "host.load",
        limits.status_above(per_core),
        format!(
            "load {:.2} {:.2} {:.2} (1/5/15 min) on {} CPUs, {per_core:.2} per CPU",
            l.one, l.five, l.fifteen, l.cpus
        ),
    )
    .value_f64(l.one, "load")
    .hint_unless_ok(
        "more runnable (or disk-waiting) tasks than CPUs: `top` (look at %wa too) and `vmstat 1 5`",
    );
    Ok(vec![f])
}

/// The nearest existing ancestor, so a backup directory not created yet still names its disk.
fn existing_ancestor(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    while !p.exists() {
        match p.parent() {
            Some(parent) => p = parent.to_path_buf(),
            None => return PathBuf::from("/"),
        }
    }
    p
}

/// The filesystems holding `dirs`, one entry per mount, with the labelled dirs it holds
/// (`"backup /var/backups/opsbook"`), in the order first seen.
pub fn mounts(dirs: &[(&str, PathBuf)]) -> anyhow::Result<Vec<(host::DiskUsage, Vec<String>)>> {
    let mut by_mount: Vec<(host::DiskUsage, Vec<String>)> = Vec::new();
    for (role, dir) in dirs {
        let usage = host::disk_usage(&existing_ancestor(dir))?;
        let label = format!("{role} {}", dir.display());
        match by_mount.iter_mut().find(|(u, _)| u.mount == usage.mount) {
            Some((_, roles)) => roles.push(label),
            None => by_mount.push((usage, vec![label])),
        }
    }
    Ok(by_mount)
}

/// `host.disk_usage` of one mount: df's Use% against `limits`.
pub fn disk_finding(u: &host::DiskUsage, roles: &[String], limits: Limits) -> Finding {
    let p = (u.used_pct() * 10.0).round() / 10.0;
    Finding::new(
        "host.disk_usage",
        limits.status_above(p),
        format!(
            "{p:.1}% used, {} free of {} (holds {})",
            human_bytes(u.available as f64),
            human_bytes(u.total as f64),
            roles.join(", ")
        ),
    )
    .subject(u.mount.display().to_string())
    .value_f64(p, "percent")
    .above(limits.warning, limits.critical)
    .hint_unless_ok(DISK_HINT)
}

pub const DISK_HINT: &str = "free space before PostgreSQL stops on a full disk: old backups and logs first (`du -xh --max-depth=2 MOUNT | sort -h | tail`, `opsbook check night --cleanup --dry-run`), never files under the data directory";

/// One finding per mount that holds one of `dirs` (labelled with what it holds).
pub fn disk_usage(dirs: &[(&str, PathBuf)], limits: Limits) -> anyhow::Result<Vec<Finding>> {
    Ok(mounts(dirs)?
        .iter()
        .map(|(u, roles)| disk_finding(u, roles, limits))
        .collect())
}

pub async fn service_active(unit: &str, timeout: Duration) -> Vec<Finding> {
    let f = match host::unit_state(unit, timeout).await {
        Ok(state) => {
            let status = match state.as_str() {
                "active" => Status::Ok,
                "activating" | "reloading" | "deactivating" => Status::Warning,
                _ => Status::Critical,
            };
            let mut f = Finding::new("service.active", status, format!("{unit} is {state}"))
                .value(state, "state");
            if status != Status::Ok {
                f = f.hint(format!(
                    "see why: `systemctl status {unit}` and `journalctl -u {unit} -n 50`; start it with `systemctl start {unit}`"
                ));
            }
            f
        }
        Err(e) => Finding::unknown("service.active", &e)
            .hint("list no units under `services:` in the config on hosts without systemd"),
    };
    vec![f.subject(unit)]
}

pub async fn journal_errors(unit: &str, limits: Limits, timeout: Duration) -> Vec<Finding> {
    let f = match host::journal_errors(unit, Duration::from_secs(24 * 3600), timeout).await {
        Ok((count, last)) => Finding::new(
            "journal.errors",
            limits.status_above(count as f64),
            format!("{count} journal lines of {unit} mention an error in the last 24 h"),
        )
        .value(count, "lines")
        .detail(last)
        .hint_unless_ok(format!(
            "read them: `journalctl -u {unit} --since -24h | grep -i error`"
        )),
        Err(e) => Finding::unknown("journal.errors", &e),
    };
    vec![f.subject(unit)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_on_one_mount_are_one_finding() {
        let limits = Limits {
            warning: Some(101.0),
            critical: None,
        };
        let f = disk_usage(
            &[
                ("data", PathBuf::from("/tmp")),
                ("backup", PathBuf::from("/tmp/does/not/exist")),
            ],
            limits,
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].summary.contains("data /tmp"));
        assert!(f[0].summary.contains("backup /tmp/does/not/exist"));
        assert_eq!(f[0].status, Status::Ok);
    }

    #[test]
    fn disk_thresholds_apply() {
        let limits = Limits {
            warning: Some(-1.0),
            critical: Some(-0.5),
        };
        let f = disk_usage(&[("data", PathBuf::from("/"))], limits).unwrap();
        assert_eq!(f[0].status, Status::Critical);
        assert!(f[0].hint.is_some());
    }
}
