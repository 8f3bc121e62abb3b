//! `check night --cleanup`: old files in the configured log directories, and backups outside
//! backup.keep / backup.keep_days (through `backup::retention`, so the newest verified backup
//! of each database is never removed). Regular files only; symlinks are never followed (a
//! link is not a file to delete, a linked directory is not descended into); nothing outside
//! the named directories, nothing on another filesystem below them.

use std::path::{Path, PathBuf};

use super::log_files::{self, FileInfo, Protected};
use crate::backup::catalog::{self, Entry};
use crate::backup::retention::{self, Policy};
use crate::config::CleanupConfig;
use crate::interrupt::Interrupt;
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Status};

/// What cleanup would delete in one log directory.
pub struct LogPlan {
    pub dir: PathBuf,
    pub files: Vec<FileInfo>,
    pub notes: Vec<String>,
    /// set when the directory may not be cleaned (or cannot be read): nothing goes there
    pub refused: Option<String>,
}

/// What cleanup would delete in the backup directory.
pub struct BackupPlan {
    pub dir: PathBuf,
    pub policy: Policy,
    pub entries: Vec<Entry>,
    pub notes: Vec<String>,
}

pub struct Plan {
    pub logs: Vec<LogPlan>,
    pub backups: BackupPlan,
}

impl Plan {
    pub fn steps(&self) -> Vec<String> {
        let mut out = Vec::new();
        for l in &self.logs {
            for f in &l.files {
                out.push(format!(
                    "delete {} ({})",
                    f.path.display(),
                    human_bytes(f.bytes as f64)
                ));
            }
        }
        for e in &self.backups.entries {
            out.push(format!(
                "delete backup {} ({}, {})",
                e.id(),
                e.archive_path.display(),
                human_bytes(e.manifest.bytes as f64)
            ));
        }
        out
    }
}

/// Build the plan; reads directories only. `protected` are the directories cleanup must never
/// reach into through a log directory (data, backup, state).
pub fn plan(
    cfg: &CleanupConfig,
    backup_dir: &Path,
    policy: Policy,
    protected: &[Protected],
    now: i64,
) -> anyhow::Result<Plan> {
    let max_age = cfg.log_max_age.0.as_secs() as i64;
    let mut logs = Vec::new();
    for dir in &cfg.log_dirs {
        let mut lp = LogPlan {
            dir: dir.clone(),
            files: Vec::new(),
            notes: Vec::new(),
            refused: log_files::refused(dir, protected),
        };
        let missing =
            std::fs::symlink_metadata(dir).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        if missing {
            lp.refused = None;
            lp.notes.push(format!(
                "{} does not exist: nothing to delete",
                dir.display()
            ));
        } else if lp.refused.is_none() {
            match log_files::walk(dir) {
                Ok((files, notes)) => {
                    lp.files = log_files::select(&files, max_age, now, &cfg.log_patterns)
                        .into_iter()
                        .cloned()
                        .collect();
                    lp.notes = notes;
                }
                Err(e) => lp.refused = Some(crate::report::one_line(&e)),
            }
        }
        logs.push(lp);
    }
    let mut backups = BackupPlan {
        dir: backup_dir.to_path_buf(),
        policy,
        entries: Vec::new(),
        notes: Vec::new(),
    };
    if policy.is_set() {
        let entries = catalog::list(backup_dir, None)?;
        // The newest verified backup is re-checked now: a manifest's flag can be years old.
        let planned = retention::plan_checked(&entries, policy, now, &mut retention::checksum_now);
        for (e, why) in &planned.failed {
            backups.notes.push(format!(
                "{} is marked verified but fails its checksum now ({why}): not counted as the newest verified",
                e.id()
            ));
        }
        for db in &planned.unprotected {
            backups.notes.push(format!(
                "no backup of {db} passes its checksum now: none of them is removed"
            ));
        }
        for e in planned.removed {
            match unsafe_backup_path(backup_dir, &e) {
                Some(why) => backups.notes.push(format!("kept {}: {why}", e.id())),
                None => backups.entries.push(e),
            }
        }
    }
    Ok(Plan { logs, backups })
}

/// A backup's files must be regular files directly in `<dir>/<db>/`, a real directory.
fn unsafe_backup_path(dir: &Path, e: &Entry) -> Option<String> {
    let db_dir = dir.join(e.manifest.dir_name());
    match std::fs::symlink_metadata(&db_dir) {
        Ok(m) if m.is_dir() => {}
        _ => {
            return Some(format!(
                "{} is a symlink or not a directory",
                db_dir.display()
            ))
        }
    }
    for p in [&e.archive_path, &e.manifest_path] {
        if p.parent() != Some(db_dir.as_path()) {
            return Some(format!(
                "{} is not directly in {}",
                p.display(),
                db_dir.display()
            ));
        }
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_file() => {}
            _ => return Some(format!("{} is not a regular file", p.display())),
        }
    }
    None
}

fn file_line(f: &FileInfo, now: i64) -> String {
    format!(
        "{} ({}, modified {} ago)",
        f.path.display(),
        human_bytes(f.bytes as f64),
        human_duration((now - f.mtime).max(0) as f64)
    )
}

/// Findings of a dry run: what would go, with sizes.
pub fn dry_run_findings(plan: &Plan, max_age: &str, now: i64) -> Vec<Finding> {
    let mut out: Vec<Finding> = plan
        .logs
        .iter()
        .map(|l| {
            if let Some(why) = &l.refused {
                return refused_finding(l, why);
            }
            let bytes: u64 = l.files.iter().map(|f| f.bytes).sum();
            let mut detail: Vec<String> = l.files.iter().map(|f| file_line(f, now)).collect();
            detail.extend(l.notes.iter().cloned());
            Finding::ok(
                "cleanup.logs",
                format!(
                    "dry run: would delete {} file(s) older than {max_age}, {}",
                    l.files.len(),
                    human_bytes(bytes as f64)
                ),
            )
            .subject(l.dir.display().to_string())
            .value(bytes, "bytes")
            .detail(detail)
        })
        .collect();
    out.push(backups_dry_run(&plan.backups));
    out
}

fn refused_finding(l: &LogPlan, why: &str) -> Finding {
    Finding::new(
        "cleanup.logs",
        Status::Unknown,
        format!("not cleaned: {why}"),
    )
    .subject(l.dir.display().to_string())
    .hint("name only log directories in cleanup.log_dirs: not one that holds the data, backup or state directory, nor one inside the backup or state directory")
}

fn backups_dry_run(b: &BackupPlan) -> Finding {
    let subject = b.dir.display().to_string();
    if !b.policy.is_set() {
        return no_policy(subject);
    }
    let bytes: u64 = b.entries.iter().map(|e| e.manifest.bytes).sum();
    let mut detail: Vec<String> = b
        .entries
        .iter()
        .map(|e| format!("{} ({})", e.id(), human_bytes(e.manifest.bytes as f64)))
        .collect();
    detail.extend(b.notes.iter().cloned());
    Finding::ok(
        "cleanup.backups",
        format!(
            "dry run: would delete {} backup(s), {} ({})",
            b.entries.len(),
            human_bytes(bytes as f64),
            b.policy.describe()
        ),
    )
    .subject(subject)
    .value(bytes, "bytes")
    .detail(detail)
}

fn no_policy(subject: String) -> Finding {
    Finding::ok(
        "cleanup.backups",
        "no retention policy (backup.keep / backup.keep_days): no backup is deleted",
    )
    .subject(subject)
    .value(0u64, "bytes")
}

/// Delete what the plan lists; one finding per log directory and one for the backups.
pub fn execute(plan: &Plan, now: i64, interrupt: &Interrupt) -> Vec<Finding> {
    let mut out = Vec::new();
    for l in &plan.logs {
        if let Some(why) = &l.refused {
            out.push(refused_finding(l, why));
            continue;
        }
        let (mut freed, mut gone, mut failed) = (0u64, Vec::new(), Vec::new());
        for f in &l.files {
            if interrupt.is_set() {
                failed.push(format!("{}: not deleted, interrupted", f.path.display()));
                continue;
            }
            match delete_file(&l.dir, f) {
                Ok(()) => {
                    freed += f.bytes;
                    gone.push(file_line(f, now));
                }
                Err(e) => failed.push(format!("{}: {e}", f.path.display())),
            }
        }
        out.push(result_finding(
            "cleanup.logs",
            &l.dir,
            gone,
            failed,
            freed,
            &l.notes,
        ));
    }
    let b = &plan.backups;
    if !b.policy.is_set() {
        out.push(no_policy(b.dir.display().to_string()));
        return out;
    }
    let (mut freed, mut gone, mut failed) = (0u64, Vec::new(), Vec::new());
    // The lock of every database directory it removes from, as `backup prune` takes: another
    // opsbook (with its own state directory) may be writing into the same one.
    let mut locks: Vec<(&Path, Result<crate::backup::lock::Lock, String>)> = Vec::new();
    for e in &b.entries {
        let Some(d) = e.manifest_path.parent() else {
            continue;
        };
        if !locks.iter().any(|(l, _)| *l == d) {
            let lock = crate::backup::lock::acquire_dir(d, "removing old backups").map_err(|err| {
                format!("{err:#}")
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            locks.push((d, lock));
        }
    }
    for e in &b.entries {
        if interrupt.is_set() {
            failed.push(format!("{}: not deleted, interrupted", e.id()));
            continue;
        }
        let busy = locks
            .iter()
            .find(|(d, _)| Some(*d) == e.manifest_path.parent())
            .and_then(|(_, l)| l.as_ref().err());
        if let Some(why) = busy {
            failed.push(format!("{}: not deleted: {why}", e.id()));
            continue;
        }
        match retention::remove(e) {
            Ok(()) => {
                freed += e.manifest.bytes;
                gone.push(format!(
                    "{} ({})",
                    e.id(),
                    human_bytes(e.manifest.bytes as f64)
                ));
            }
            Err(err) => failed.push(format!("{}: {err}", e.archive_path.display())),
        }
    }
    out.push(result_finding(
        "cleanup.backups",
        &b.dir,
        gone,
        failed,
        freed,
        &b.notes,
    ));
    out
}

/// Re-check just before unlinking: still a regular file, and its directory still resolves to
/// below the log directory (a directory swapped for a symlink since the walk is not followed).
fn delete_file(dir: &Path, f: &FileInfo) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(&f.path)?;
    if !meta.file_type().is_file() {
        anyhow::bail!("no longer a regular file; left alone");
    }
    let parent = f.path.parent().unwrap_or(dir);
    let canon_dir = std::fs::canonicalize(dir)?;
    if !std::fs::canonicalize(parent)?.starts_with(&canon_dir) {
        anyhow::bail!(
            "its directory now resolves outside {}; left alone",
            dir.display()
        );
    }
    std::fs::remove_file(&f.path)?;
    Ok(())
}

fn result_finding(
    id: &str,
    dir: &Path,
    gone: Vec<String>,
    failed: Vec<String>,
    freed: u64,
    notes: &[String],
) -> Finding {
    let status = if failed.is_empty() {
        Status::Ok
    } else {
        Status::Warning
    };
    let what = if id == "cleanup.backups" {
        "backup(s)"
    } else {
        "file(s)"
    };
    let mut summary = format!(
        "deleted {} {what}, {} freed",
        gone.len(),
        human_bytes(freed as f64)
    );
    if !failed.is_empty() {
        summary.push_str(&format!("; {} could not be deleted", failed.len()));
    }
    let mut detail = gone;
    detail.extend(failed);
    detail.extend(notes.iter().cloned());
    let mut f = Finding::new(id, status, summary)
        .subject(dir.display().to_string())
        .value(freed, "bytes")
        .detail(detail);
    if status != Status::Ok {
        f = f.hint(
            "check the permissions of the files listed (opsbook runs as the user that owns them?)",
        );
    }
    f
}
