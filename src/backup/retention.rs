//! Which backups a retention policy removes. Per database: keep the newest `keep`, keep those
//! younger than `keep_days`, and always keep the newest verified backup, whatever its age. A
//! backup goes only when no rule keeps it. Only catalog entries (ours, with a manifest) are ever
//! considered.

use std::path::Path;

use super::catalog::{self, Entry};
use crate::report::{Finding, Status};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Policy {
    pub keep: Option<usize>,
    pub keep_days: Option<f64>,
}

impl Policy {
    pub fn is_set(&self) -> bool {
        self.keep.is_some() || self.keep_days.is_some()
    }

    pub fn describe(&self) -> String {
        let mut parts = vec!["the newest verified backup of each database".to_string()];
        if let Some(n) = self.keep {
            parts.push(format!("the newest {n}"));
        }
        if let Some(d) = self.keep_days {
            parts.push(format!("those younger than {d} days"));
        }
        format!("keeps {}", parts.join(", "))
    }
}

/// Why a backup stays (for the plan), or None when it goes.
fn keeps(policy: Policy, rank: usize, age_secs: i64, newest_verified: bool) -> Option<String> {
    if newest_verified {
        return Some("newest verified".into());
    }
    if policy.keep.is_some_and(|n| rank < n) {
        return Some(format!("among the newest {}", policy.keep.unwrap_or(0)));
    }
    if policy
        .keep_days
        .is_some_and(|d| (age_secs as f64) < d * 86_400.0)
    {
        return Some("inside the age window".into());
    }
    None
}

/// What a policy does to a directory's backups.
#[derive(Debug, Default)]
pub struct Plan {
    /// Kept, with the reason.
    pub kept: Vec<(Entry, String)>,
    pub removed: Vec<Entry>,
    /// Backups whose manifest says verified but that failed the check now, with why.
    pub failed: Vec<(Entry, String)>,
    /// Databases none of whose backups passed the check now: nothing of them is removed.
    pub unprotected: Vec<String>,
}

impl Plan {
    /// A warning per backup that failed its check now and per database left without a good
    /// one (its backups were all kept).
    pub fn findings(&self) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .failed
            .iter()
            .map(|(e, why)| {
                Finding::new(
                    "backup.recheck",
                    Status::Warning,
                    format!("{} is marked verified but fails its checksum now: {why}", e.id()),
                )
                .subject(e.id().to_string())
                .hint("it does not count as the newest verified backup; do not restore from it, check the disk, and take a new backup")
            })
            .collect();
        out.extend(self.unprotected.iter().map(|db| {
            Finding::new(
                "backup.recheck",
                Status::Warning,
                format!(
                    "no backup of {db} passes its checksum now: none of its backups was removed"
                ),
            )
            .subject(db.clone())
            .hint(format!(
                "take and verify a new one now (`opsbook backup --db {db}`)"
            ))
        }));
        out
    }
}

/// The check [`plan_checked`] runs before anything is removed: the archive's size and sha256
/// against its manifest, read now.
pub fn checksum_now(e: &Entry) -> Result<(), String> {
    super::verify::checksum(e).map_err(|err| {
        let line = crate::report::one_line(&err);
        line.split("\nhint:").next().unwrap_or_default().to_string()
    })
}

/// `entries` newest first (as `catalog::list` returns them), trusting each manifest's
/// `verified` flag: for reports that remove nothing. Returns (kept with reason, removed).
pub fn plan(
    entries: &[Entry],
    policy: Policy,
    now_unix: i64,
) -> (Vec<(Entry, String)>, Vec<Entry>) {
    let p = plan_checked(entries, policy, now_unix, &mut |_| Ok(()));
    (p.kept, p.removed)
}

/// The plan for removing: the newest backup of each database that the manifest calls verified
/// is kept only when `check` passes on it now (a manifest's flag is a claim from the day it was
/// written; the bytes may have rotted since). Checking goes from the newest down until one
/// passes, so usually one archive is read. A database without any backup that passes keeps
/// all of them.
pub fn plan_checked(
    entries: &[Entry],
    policy: Policy,
    now_unix: i64,
    check: &mut dyn FnMut(&Entry) -> Result<(), String>,
) -> Plan {
    let mut out = Plan::default();
    if !policy.is_set() {
        out.kept = entries
            .iter()
            .map(|e| (e.clone(), "no retention policy".to_string()))
            .collect();
        return out;
    }
    for db in catalog::databases(entries) {
        let of_db = catalog::of_database(entries, db);
        let mut newest_verified = None;
        for (rank, e) in of_db.iter().enumerate() {
            if !e.manifest.verified {
                continue;
            }
            match check(e) {
                Ok(()) => {
                    newest_verified = Some(rank);
                    break;
                }
                Err(why) => out.failed.push(((*e).clone(), why)),
            }
        }
        if newest_verified.is_none() {
            out.unprotected.push(db.to_string());
            out.kept.extend(of_db.iter().map(|e| {
                (
                    (*e).clone(),
                    "no backup of this database passes its check now".to_string(),
                )
            }));
            continue;
        }
        for (rank, e) in of_db.iter().enumerate() {
            let age = now_unix - e.manifest.started_unix;
            match keeps(policy, rank, age, Some(rank) == newest_verified) {
                Some(why) => out.kept.push(((*e).clone(), why)),
                None => out.removed.push((*e).clone()),
            }
        }
    }
    out
}

/// Delete one backup: the archive, then the manifest (a manifest without its archive is never
/// listed, so a half-removed backup is invisible rather than broken).
pub fn remove(e: &Entry) -> std::io::Result<()> {
    match std::fs::remove_file(&e.archive_path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    std::fs::remove_file(&e.manifest_path)
}

/// Delete archives then manifests (a manifest without its archive is never listed), holding
/// the lock of every database directory it removes from.
pub fn remove_entries(removed: &[Entry]) -> anyhow::Result<Vec<Finding>> {
    let mut dirs: Vec<&Path> = removed
        .iter()
        .filter_map(|e| e.manifest_path.parent())
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    let _locks = dirs
        .iter()
        .map(|d| super::lock::acquire_dir(d, "removing old backups"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    let mut freed = 0u64;
    let mut gone = Vec::new();
    for e in removed {
        match remove(e) {
            Ok(()) => {
                freed += e.manifest.bytes;
                gone.push(e.id().to_string());
            }
            Err(err) => out.push(
                Finding::new(
                    "backup.prune",
                    Status::Warning,
                    format!("could not remove {}: {err}", e.archive_path.display()),
                )
                .subject(e.id().to_string())
                .hint("check the directory's permissions"),
            ),
        }
    }
    if !gone.is_empty() {
        out.insert(
            0,
            Finding::ok(
                "backup.prune",
                format!(
                    "removed {} backup(s), {} freed",
                    gone.len(),
                    crate::render::human_bytes(freed as f64)
                ),
            )
            .value(gone.len() as u64, "backups")
            .detail(gone),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::{Manifest, MANIFEST_SCHEMA};

    fn entry(db: &str, started: i64, verified: bool) -> Entry {
        Entry {
            manifest: Manifest {
                schema: MANIFEST_SCHEMA.into(),
                id: format!("{db}/{started}"),
                kind: "database".into(),
                database: db.into(),
                archive: format!("{started}.dump.zst"),
                compression: "zstd:3".into(),
                server_version: "15.20".into(),
                pg_dump_version: "15.20".into(),
                started_at: String::new(),
                finished_at: String::new(),
                started_unix: started,
                duration_ms: 0,
                bytes: 1,
                dump_bytes: 1,
                sha256: String::new(),
                snapshot: None,
                tables: vec![],
                verified,
                verified_at: None,
                redis: None,
            },
            manifest_path: Default::default(),
            archive_path: Default::default(),
        }
    }

    const DAY: i64 = 86_400;

    #[test]
    fn the_catalog_groups_entries_by_database() {
        let e = [
            entry("b", 3, true),
            entry("a", 2, false),
            entry("b", 1, true),
        ];
        assert_eq!(catalog::databases(&e), ["a", "b"]);
        let of_b: Vec<i64> = catalog::of_database(&e, "b")
            .iter()
            .map(|e| e.manifest.started_unix)
            .collect();
        assert_eq!(of_b, [3, 1]);
    }

    #[test]
    fn all_older_than_the_window_keeps_the_newest_verified() {
        let now = 100 * DAY;
        let e = vec![
            entry("app", now - 10 * DAY, true),
            entry("app", now - 11 * DAY, true),
            entry("app", now - 12 * DAY, true),
        ];
        let policy = Policy {
            keep: None,
            keep_days: Some(7.0),
        };
        let (kept, removed) = plan(&e, policy, now);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0.manifest.started_unix, now - 10 * DAY);
        assert_eq!(removed.len(), 2);
    }

    #[test]
    fn an_unverified_newest_does_not_count_as_the_safe_copy() {
        let now = 100 * DAY;
        let e = vec![
            entry("app", now - DAY, false),
            entry("app", now - 2 * DAY, true),
            entry("app", now - 3 * DAY, true),
        ];
        let (kept, removed) = plan(
            &e,
            Policy {
                keep: Some(1),
                keep_days: None,
            },
            now,
        );
        let kept: Vec<i64> = kept.iter().map(|(e, _)| e.manifest.started_unix).collect();
        assert_eq!(kept, vec![now - DAY, now - 2 * DAY]);
        assert_eq!(removed[0].manifest.started_unix, now - 3 * DAY);
    }

    #[test]
    fn a_newest_verified_that_fails_now_is_not_the_safe_copy() {
        let now = 100 * DAY;
        let e = vec![
            entry("app", now - DAY, true),
            entry("app", now - 2 * DAY, true),
            entry("app", now - 3 * DAY, true),
        ];
        let keep1 = Policy {
            keep: Some(1),
            keep_days: None,
        };
        let damaged = now - DAY;
        let p = plan_checked(&e, keep1, now, &mut |e| {
            if e.manifest.started_unix == damaged {
                Err("sha256 differs".into())
            } else {
                Ok(())
            }
        });
        let kept: Vec<i64> = p
            .kept
            .iter()
            .map(|(e, _)| e.manifest.started_unix)
            .collect();
        assert_eq!(kept, vec![now - DAY, now - 2 * DAY]);
        assert_eq!(p.kept[1].1, "newest verified");
        assert_eq!(p.failed.len(), 1);
        // Nothing passes: nothing of that database goes.
        let p = plan_checked(&e, keep1, now, &mut |_| Err("gone".into()));
        assert!(p.removed.is_empty());
        assert_eq!(p.unprotected, vec!["app".to_string()]);
    }

    #[test]
    fn databases_are_independent_and_no_policy_removes_nothing() {
        let now = 100 * DAY;
        let e = vec![
            entry("a", now - 50 * DAY, true),
            entry("b", now - 60 * DAY, true),
            entry("b", now - 61 * DAY, true),
        ];
        let (_, removed) = plan(&e, Policy::default(), now);
        assert!(removed.is_empty());
        let (kept, removed) = plan(
            &e,
            Policy {
                keep: Some(1),
                keep_days: Some(1.0),
            },
            now,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].manifest.database, "b");
    }
}
