//! Which log files `check night --cleanup` may delete: regular files below a configured log
//! directory, matching a pattern, older than the age; found without following a symlink or
//! leaving the directory's filesystem, never in a directory that holds (or, for the backup and
//! state directories, lies inside) something cleanup must not reach.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// A regular file found below a log directory.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    pub path: PathBuf,
    pub bytes: u64,
    /// modification time, unix seconds
    pub mtime: i64,
}

impl FileInfo {
    fn name(&self) -> &str {
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    }
}

/// `*` (any run of characters) and `?` (one character) against a whole file name.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The files that go: older than `max_age_secs` and matching one of `patterns`. Pure, so the
/// rule is tested without a filesystem.
pub fn select<'a>(
    files: &'a [FileInfo],
    max_age_secs: i64,
    now: i64,
    patterns: &[String],
) -> Vec<&'a FileInfo> {
    files
        .iter()
        .filter(|f| now - f.mtime > max_age_secs)
        .filter(|f| patterns.iter().any(|p| matches(p, f.name())))
        .collect()
}

/// Every regular file below `dir`, not following symlinks and not leaving `dir`'s filesystem.
/// Returns the files and notes about what was skipped.
pub fn walk(dir: &Path) -> anyhow::Result<(Vec<FileInfo>, Vec<String>)> {
    let top = std::fs::symlink_metadata(dir)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?;
    if top.file_type().is_symlink() {
        anyhow::bail!(
            "{} is a symlink; name the directory it points to in cleanup.log_dirs",
            dir.display()
        );
    }
    if !top.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let dev = top.dev();
    let (mut files, mut notes) = (Vec::new(), Vec::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                notes.push(format!("skipped {}: {e}", d.display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // symlink_metadata: the entry itself, never what a link points at.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let ft = meta.file_type();
            if ft.is_symlink() {
                notes.push(format!("skipped symlink {}", path.display()));
            } else if ft.is_dir() {
                if meta.dev() == dev {
                    stack.push(path);
                } else {
                    notes.push(format!("skipped {}: another filesystem", path.display()));
                }
            } else if ft.is_file() {
                files.push(FileInfo {
                    path,
                    bytes: meta.len(),
                    mtime: meta.mtime(),
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, notes))
}

/// A directory cleanup must never reach into through a log directory.
pub struct Protected {
    pub what: &'static str,
    pub path: PathBuf,
    /// PostgreSQL's `log_directory` may sit inside its data directory; a log directory inside
    /// the backup or state directory would delete backups by age, around the retention rule.
    pub may_hold_logs: bool,
}

/// Why `dir` must not be cleaned: it holds a protected directory, or sits inside one that
/// may not hold logs.
pub fn refused(dir: &Path, protected: &[Protected]) -> Option<String> {
    let canon = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    protected.iter().find_map(|p| {
        let path = std::fs::canonicalize(&p.path).unwrap_or_else(|_| p.path.clone());
        if path.starts_with(&canon) {
            Some(format!(
                "{} holds the {} {}",
                dir.display(),
                p.what,
                path.display()
            ))
        } else if !p.may_hold_logs && canon.starts_with(&path) {
            Some(format!(
                "{} is inside the {} {}",
                dir.display(),
                p.what,
                path.display()
            ))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*.log", "postgresql-15-main.log"));
        assert!(matches("*.log.*", "postgresql-15-main.log.3.gz"));
        assert!(matches("app-?.log", "app-1.log"));
        assert!(!matches("app-?.log", "app-12.log"));
        assert!(!matches("*.log", "postgresql.log.1"));
        assert!(matches("*", "anything"));
        assert!(!matches("*.gz", "gz"));
    }

    #[test]
    fn selection_takes_old_matching_files_only() {
        let day = 86400;
        let now = 100 * day;
        let f = |name: &str, age_days: i64| FileInfo {
            path: PathBuf::from(format!("/var/log/pg/{name}")),
            bytes: 10,
            mtime: now - age_days * day,
        };
        let files = vec![
            f("old.log", 30),
            f("old.log.1.gz", 20),
            f("fresh.log", 1),
            f("lastlog", 365),
            f("edge.log", 14),
        ];
        let patterns: Vec<String> = ["*.log", "*.log.*"].iter().map(|s| s.to_string()).collect();
        let picked: Vec<&str> = select(&files, 14 * day, now, &patterns)
            .iter()
            .map(|f| f.name())
            .collect();
        assert_eq!(picked, vec!["old.log", "old.log.1.gz"]);
    }

    #[test]
    fn walk_lists_regular_files_and_never_follows_symlinks() {
        let base =
            std::env::temp_dir().join(format!("opsbook-cleanup-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let logs = base.join("logs");
        let outside = base.join("outside");
        std::fs::create_dir_all(logs.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(logs.join("a.log"), b"a").unwrap();
        std::fs::write(logs.join("sub/b.log"), b"bb").unwrap();
        std::fs::write(outside.join("c.log"), b"ccc").unwrap();
        std::os::unix::fs::symlink(outside.join("c.log"), logs.join("link.log")).unwrap();
        std::os::unix::fs::symlink(&outside, logs.join("linkdir")).unwrap();
        let (files, notes) = walk(&logs).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.path.strip_prefix(&logs).unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["a.log", "sub/b.log"]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            walk(&logs.join("linkdir")).is_err(),
            "a symlinked log dir is refused"
        );
        let protected = [
            Protected {
                what: "data directory",
                path: logs.join("sub"),
                may_hold_logs: true,
            },
            Protected {
                what: "backup directory",
                path: outside.clone(),
                may_hold_logs: false,
            },
        ];
        assert!(refused(&logs, &protected)
            .unwrap()
            .contains("holds the data directory"));
        assert!(
            refused(&logs.join("sub/pg_log"), &protected).is_none(),
            "logs inside the data dir are fine"
        );
        assert!(refused(&outside.join("app"), &protected)
            .unwrap()
            .contains("inside the backup directory"));
        assert!(refused(&base.join("other"), &protected).is_none());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
