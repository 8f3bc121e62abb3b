//! What an interrupted or killed restore (or backup) leaves behind, found by the next run:
//! `<db>__restore_<14 digits>` databases (a restore loads into one before the swap), the
//! decompressed copy a parallel restore writes next to the archive (`.opsbook-restore-*.dump`)
//! and unfinished archives (`*.partial`). `restore`, `check morning` and `check night` report
//! each as a WARNING with the exact command that removes it; nothing here deletes anything.
//! While the backup lock is held another backup or restore is alive and may own them, so
//! nothing is reported then.

use std::path::{Path, PathBuf};

use crate::clients::postgres::PgClient;
use crate::report::{Finding, Status};
use crate::sql::quote_ident;

/// The prefix of the decompressed copy of a parallel restore (`pgrestore`).
pub const SCRATCH_PREFIX: &str = ".opsbook-restore-";

/// A side database of a restore: `<target>__restore_<YYYYMMDDhhmmss>` (never `__pre_restore_`,
/// which is the kept old database, reported by the restore itself).
const RESTORE_DB: &str =
    "SELECT datname::text FROM pg_database WHERE datname ~ '__restore_[0-9]{14}$' ORDER BY 1";

pub async fn databases(pg: &PgClient) -> anyhow::Result<Vec<String>> {
    let rows = pg.client.query(RESTORE_DB, &[]).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<_, String>(0)?))
        .collect()
}

fn is_leftover_name(name: &str) -> bool {
    (name.starts_with(SCRATCH_PREFIX) && name.ends_with(".dump")) || name.ends_with(".partial")
}

/// Leftover files in `dir` and its immediate subdirectories (one per database): regular files
/// only, never through a symlink.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let visit = |d: &Path, depth: u8, out: &mut Vec<PathBuf>, subdirs: &mut Vec<PathBuf>| {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let name = e.file_name().to_string_lossy().into_owned();
            if meta.is_file() && is_leftover_name(&name) {
                out.push(e.path());
            } else if meta.is_dir() && depth == 0 {
                // A database directory another opsbook is writing into right now (it may use
                // another state directory, so its state lock says nothing): its `.partial` is
                // live, not left over.
                if super::lock::dir_holder(&e.path()).is_none() {
                    subdirs.push(e.path());
                }
            }
        }
    };
    let mut subdirs = Vec::new();
    visit(dir, 0, &mut out, &mut subdirs);
    for sub in subdirs {
        visit(&sub, 1, &mut out, &mut Vec::new());
    }
    out.sort();
    out
}

/// `'…'` for a shell, so the hint can be pasted whatever the path holds.
fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
}

pub fn findings(dbs: &[String], files: &[PathBuf]) -> Vec<Finding> {
    let mut out = Vec::new();
    for db in dbs {
        out.push(
            Finding::new(
                "restore.leftover",
                Status::Warning,
                format!("database {db} was left by an interrupted or killed restore"),
            )
            .subject(db.clone())
            .hint(format!(
                "it is not the live database; drop it: DROP DATABASE {}",
                quote_ident(db)
            )),
        );
    }
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (id, what) = if name.ends_with(".partial") {
            (
                "backup.leftover",
                "an unfinished archive of an interrupted or killed backup",
            )
        } else {
            (
                "restore.leftover",
                "the decompressed copy of an interrupted or killed restore",
            )
        };
        let bytes = std::fs::symlink_metadata(f).map(|m| m.len()).unwrap_or(0);
        out.push(
            Finding::new(
                id,
                Status::Warning,
                format!(
                    "{} is {what} ({})",
                    f.display(),
                    crate::render::human_bytes(bytes as f64)
                ),
            )
            .subject(f.display().to_string())
            .value(bytes, "bytes")
            .hint(format!(
                "it is no backup; remove it: rm -- {}",
                shell_quote(f)
            )),
        );
    }
    out
}

/// Whether `side` (`<target>__restore_<ts>`, the target cut to fit 63 bytes) was made for one
/// of `targets`.
fn made_for(side: &str, targets: &[String]) -> bool {
    let Some(at) = side.rfind("__restore_") else {
        return false;
    };
    let prefix = &side[..at];
    targets
        .iter()
        .any(|t| t == prefix || (side.len() == 63 && t.starts_with(prefix)))
}

/// The databases this backup directory is about: one subdirectory each, plus `also` (the
/// configured database). Leftovers of restores of other databases belong to other configs.
fn targets(backup_dir: &Path, also: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(backup_dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                // Directory names are escaped database names (`names::db_dir_name`).
                .filter_map(|e| super::names::db_name_of_dir(&e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    out.extend(also.map(str::to_string));
    out
}

/// Everything left over for the databases of `backup_dir` (and `also`), unless a live backup
/// or restore holds the lock of `lock_of` (pass `None` when the caller holds it itself). `pg`
/// is None when PostgreSQL is not reachable.
pub async fn scan(
    pg: Option<&PgClient>,
    backup_dir: &Path,
    also: Option<&str>,
    lock_of: Option<&Path>,
) -> anyhow::Result<Vec<Finding>> {
    if let Some(state_dir) = lock_of {
        if super::lock::holder(state_dir).is_some() {
            return Ok(vec![]);
        }
    }
    let targets = targets(backup_dir, also);
    let dbs = match pg {
        Some(pg) => databases(pg)
            .await?
            .into_iter()
            .filter(|d| made_for(d, &targets))
            .collect(),
        None => vec![],
    };
    let dir = backup_dir.to_path_buf();
    let files = tokio::task::spawn_blocking(move || files(&dir))
        .await
        .unwrap_or_default();
    Ok(findings(&dbs, &files))
}

/// `.partial` files in a database's directory while we hold the lock can only be left by a
/// backup that died (kill -9, power loss): ours to remove.
pub fn remove_stale_partials(db_dir: &Path) -> Vec<Finding> {
    let Ok(files) = std::fs::read_dir(db_dir) else {
        return vec![];
    };
    let mut out = vec![];
    for f in files.flatten() {
        let name = f.file_name().to_string_lossy().to_string();
        if !name.ends_with(".partial") {
            continue;
        }
        let path = f.path();
        let finding = match std::fs::remove_file(&path) {
            Ok(()) => Finding::ok(
                "backup.stale_partial",
                format!("removed {} left by an interrupted backup", path.display()),
            ),
            Err(e) => Finding::new(
                "backup.stale_partial",
                Status::Warning,
                format!(
                    "could not remove {} left by an interrupted backup: {e}",
                    path.display()
                ),
            )
            .hint("remove it by hand; it is not a usable backup"),
        };
        out.push(finding);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_databases_belong_to_their_target_only() {
        let t = vec!["app".to_string(), "x".repeat(70)];
        assert!(made_for("app__restore_20261123010203", &t));
        assert!(!made_for("app2__restore_20261123010203", &t));
        assert!(!made_for("other__restore_20261123010203", &t));
        let cut = format!("{}__restore_20261123010203", "x".repeat(39));
        assert_eq!(cut.len(), 63);
        assert!(made_for(&cut, &t));
    }
}
