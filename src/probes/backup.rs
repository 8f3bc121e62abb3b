//! `backup.latest_age`: how old the newest backup in the backup directory is.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;

use crate::backup::catalog::{self, Entry};
use crate::backup::retention::{self, Policy};
use crate::config::SpanLimits;
use crate::render::human_duration;
use crate::report::{Finding, Status};

/// File names a backup may have: opsbook's own (`<db>/<ts>.dump[.zst]`) and the seed scripts'
/// (`*.sql.gz`, `*.backup.gz`). Unfinished writes (`.partial`) never count.
fn is_backup_file(name: &str) -> bool {
    if name.ends_with(".partial") || name.starts_with('.') || name.ends_with(".json") {
        return false;
    }
    [
        ".dump",
        ".dump.zst",
        ".dump.gz",
        ".sql",
        ".sql.gz",
        ".sql.zst",
        ".gz",
        ".zst",
        ".backup",
        ".tar",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

/// The newest backup file up to two levels below `dir`, with its modification time.
pub fn newest_backup(dir: &Path) -> anyhow::Result<Option<(PathBuf, SystemTime)>> {
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    let mut stack = vec![(dir.to_path_buf(), 0u8)];
    while let Some((d, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .with_context(|| format!("listing backup directory {}", d.display()))?;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("listing backup directory {}", d.display()))?;
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(_) => continue,
            };
            let path = entry.path();
            if meta.is_dir() {
                // Redis snapshots are not database backups: a fresh one must not hide a
                // stale dump.
                let redis = entry.file_name() == crate::backup::names::REDIS_DIR;
                if depth < 1 && !redis {
                    stack.push((path, depth + 1));
                }
                continue;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !meta.is_file() || meta.len() == 0 || !is_backup_file(name) {
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if newest.as_ref().is_none_or(|(_, t)| mtime > *t) {
                newest = Some((path, mtime));
            }
        }
    }
    Ok(newest)
}

pub fn latest_age(dir: &Path, limits: SpanLimits) -> anyhow::Result<Vec<Finding>> {
    let id = "backup.latest_age";
    if !dir.is_dir() {
        return Ok(vec![Finding::new(
            id,
            Status::Critical,
            format!("backup directory {} does not exist: no backup to restore from", dir.display()),
        )
        .hint("set backup.dir in the config to where the nightly dumps go, or create the backups (opsbook backup)")]);
    }
    let Some((path, mtime)) = newest_backup(dir)? else {
        return Ok(vec![Finding::new(
            id,
            Status::Critical,
            format!("no backup found in {}", dir.display()),
        )
        .hint("take one now (`pg_dump -Fc`, or opsbook backup) and check the cron entry of the nightly backup")]);
    };
    let age = SystemTime::now()
        .duration_since(mtime)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let status = Status::above(
        age,
        limits.warning.map(|s| s.as_secs_f64()),
        limits.critical.map(|s| s.as_secs_f64()),
    );
    let mut f = Finding::new(
        id,
        status,
        format!(
            "newest backup {} is {} old",
            path.display(),
            human_duration(age)
        ),
    )
    .value(age.round() as u64, "seconds")
    .above(
        limits.warning.map(|s| s.as_secs_f64()),
        limits.critical.map(|s| s.as_secs_f64()),
    );
    if status != Status::Ok {
        f = f.hint("the nightly backup did not run or failed: check its cron entry and log, then take one now");
    }
    // Manifests that name files outside their directory are reported here too, not only when
    // someone runs `backup list`.
    let mut out = vec![f];
    out.extend(catalog::scan(dir, None)?.findings());
    Ok(out)
}

/// `backup.retention`: per database, the verified backups present against the policy
/// (backup.keep / backup.keep_days): how many, the newest one's age, how many it would prune.
/// Only catalog entries count (a manifest whose archive exists): the seeds' bare files and
/// `.partial` leftovers are never judged.
pub fn retention(dir: &Path, policy: Policy, now_unix: i64) -> anyhow::Result<Vec<Finding>> {
    let id = "backup.retention";
    let cat = catalog::scan(dir, None)?;
    let refused = cat.findings();
    let entries = cat.entries;
    if entries.is_empty() {
        return Ok(refused.into_iter().chain([Finding::new(
            id,
            Status::Warning,
            format!("no opsbook backup (a manifest and its archive) in {}", dir.display()),
        )
        .value(0u64, "backups")
        .hint("take one with `opsbook backup --all`; files opsbook did not write are not judged by retention")]).collect());
    }
    let (_, removed) = retention::plan(&entries, policy, now_unix);
    let mut out = refused;
    for db in catalog::databases(&entries) {
        let of_db = catalog::of_database(&entries, db);
        let verified: Vec<&&Entry> = of_db.iter().filter(|e| e.manifest.verified).collect();
        let prunable = removed.iter().filter(|e| e.manifest.database == db).count();
        let newest_age = verified
            .first()
            .map(|e| (now_unix - e.manifest.started_unix).max(0));
        let (want, why) = match (policy.keep, policy.keep_days) {
            (Some(n), _) => (n, format!("backup.keep wants {n}")),
            (None, Some(d)) => (
                1,
                format!("backup.keep_days wants one younger than {d} days"),
            ),
            (None, None) => (1, "no retention policy set".to_string()),
        };
        let in_window = match policy.keep_days {
            Some(d) if policy.keep.is_none() => verified
                .iter()
                .filter(|e| ((now_unix - e.manifest.started_unix) as f64) < d * 86_400.0)
                .count(),
            _ => verified.len(),
        };
        let status = if in_window < want || verified.is_empty() {
            Status::Warning
        } else {
            Status::Ok
        };
        let newest = match newest_age {
            Some(a) => format!("newest verified {} old", human_duration(a as f64)),
            None => "none verified".to_string(),
        };
        let mut f = Finding::new(
            id,
            status,
            format!(
                "{} verified of {} backup(s), {newest}; {why}; {prunable} outside the policy",
                verified.len(),
                of_db.len()
            ),
        )
        .subject(db)
        .value(verified.len() as u64, "backups")
        .detail(
            of_db
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {}",
                        e.id(),
                        if e.manifest.verified {
                            "verified"
                        } else {
                            "NOT verified"
                        },
                        human_duration((now_unix - e.manifest.started_unix).max(0) as f64)
                    )
                })
                .collect(),
        );
        if status != Status::Ok {
            f = f.hint(format!(
                "take and verify one now (`opsbook backup --db {db}`), then look at the nightly backup's cron entry and log"
            ));
        }
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backup_names() {
        assert!(is_backup_file("20261122T010000Z.dump"));
        assert!(is_backup_file("20261122T010000Z.dump.zst"));
        assert!(is_backup_file("telegram_invite_bot_20261122.sql.gz"));
        assert!(!is_backup_file("20261122T010000Z.dump.zst.partial"));
        assert!(!is_backup_file("20261122T010000Z.manifest.json"));
        assert!(!is_backup_file("notes.txt"));
    }

    #[test]
    fn missing_and_empty_directories_are_critical() {
        let base =
            std::env::temp_dir().join(format!("opsbook-backup-probe-{}", std::process::id()));
        let limits = SpanLimits {
            warning: None,
            critical: Some(crate::config::Span::secs(86400)),
        };
        let f = latest_age(&base.join("missing"), limits).unwrap();
        assert_eq!(f[0].status, Status::Critical);
        std::fs::create_dir_all(base.join("db")).unwrap();
        let f = latest_age(&base, limits).unwrap();
        assert_eq!(f[0].status, Status::Critical);
        assert!(f[0].summary.starts_with("no backup found"));
        // A Redis snapshot is not a database backup.
        std::fs::create_dir_all(base.join("_redis")).unwrap();
        std::fs::write(base.join("_redis/x.rdb.zst"), b"REDIS0011").unwrap();
        assert_eq!(
            latest_age(&base, limits).unwrap()[0].status,
            Status::Critical
        );
        std::fs::write(base.join("db/x.dump.partial"), b"half").unwrap();
        assert_eq!(
            latest_age(&base, limits).unwrap()[0].status,
            Status::Critical
        );
        std::fs::write(base.join("db/x.dump"), b"PGDMP").unwrap();
        let f = latest_age(&base, limits).unwrap();
        assert_eq!(f[0].status, Status::Ok, "{:?}", f[0]);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
