//! Which backups a retention policy removes. Per database: keep the newest `keep`, keep those
//! younger than `keep_days`, and always keep the newest verified backup, whatever its age. A
//! backup goes only when no rule keeps it. Only catalog entries (ours, with a manifest) are ever
//! considered.

use super::catalog::Entry;

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

/// `entries` newest first (as `catalog::list` returns them). Returns (kept with reason, removed).
pub fn plan(
    entries: &[Entry],
    policy: Policy,
    now_unix: i64,
) -> (Vec<(Entry, String)>, Vec<Entry>) {
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    if !policy.is_set() {
        return (
            entries
                .iter()
                .map(|e| (e.clone(), "no retention policy".to_string()))
                .collect(),
            removed,
        );
    }
    let mut dbs: Vec<&str> = entries
        .iter()
        .map(|e| e.manifest.database.as_str())
        .collect();
    dbs.sort_unstable();
    dbs.dedup();
    for db in dbs {
        let of_db: Vec<&Entry> = entries
            .iter()
            .filter(|e| e.manifest.database == db)
            .collect();
        let newest_verified = of_db.iter().position(|e| e.manifest.verified);
        for (rank, e) in of_db.iter().enumerate() {
            let age = now_unix - e.manifest.started_unix;
            match keeps(policy, rank, age, Some(rank) == newest_verified) {
                Some(why) => kept.push(((*e).clone(), why)),
                None => removed.push((*e).clone()),
            }
        }
    }
    (kept, removed)
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
            },
            manifest_path: Default::default(),
            archive_path: Default::default(),
        }
    }

    const DAY: i64 = 86_400;

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
