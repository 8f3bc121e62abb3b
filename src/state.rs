//! The state directory: run history (for growth since the previous run) written atomically.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// `$OPSBOOK_STATE_DIR` > config `state_dir` > /var/lib/opsbook (when writable) >
/// `$XDG_STATE_HOME/opsbook` > `~/.local/state/opsbook`.
pub fn state_dir(config: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(dir) = env("OPSBOOK_STATE_DIR").filter(|s| !s.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = config {
        return dir.to_path_buf();
    }
    let system = Path::new("/var/lib/opsbook");
    if writable_dir(system) {
        return system.to_path_buf();
    }
    let xdg = env("XDG_STATE_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    xdg.join("opsbook")
}

fn writable_dir(dir: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let target = if dir.exists() {
        dir
    } else {
        dir.parent().unwrap_or(dir)
    };
    let Ok(c) = CString::new(target.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Write `bytes` to `path` so a reader sees the old or the new file, never half of one:
/// temp file in the same directory, fsync, rename, fsync the directory. Mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with another mode, for files others must read (a node_exporter textfile,
/// 0644). The mode is set on the temp file before the rename, whatever the umask.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let result = (|| {
        // O_NOFOLLOW: the directory may be one others can write (a backup directory); a
        // symlink planted at the temp name must not make us truncate the file it points to.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// An exclusive flock on `<dir>/<name>` (created 0600, with the directory), held until the
/// returned file drops: for a read-modify-write of a state file by runs that may overlap.
pub fn lock_exclusive(dir: &Path, name: &str) -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the state directory {}", dir.display()))?;
    let lock_path = dir.join(name);
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    // SAFETY: a valid open file descriptor; the lock is released when `lock` drops.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("locking {}", lock_path.display()));
    }
    Ok(lock)
}

/// One run's numbers, keyed by "finding id/subject".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// seconds since the epoch
    pub at: i64,
    pub command: String,
    pub values: BTreeMap<String, f64>,
}

/// The run history, newest last, bounded so a `monitor` every minute cannot grow it without
/// limit: samples of the last [`RECENT_SECS`] are all kept (today's peak), older ones are
/// thinned to the last one per command and UTC day (day-over-day growth, projections), and
/// at most [`HISTORY_CAP`] samples survive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub samples: Vec<Sample>,
}

const HISTORY_FILE: &str = "history.json";
/// Samples younger than this are all kept.
pub const RECENT_SECS: i64 = 36 * 3600;
/// 36 h of minutely samples plus about a year of daily ones.
const HISTORY_CAP: usize = 2160 + 1500;

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl History {
    pub fn load(dir: &Path) -> anyhow::Result<History> {
        let path = dir.join(HISTORY_FILE);
        if matches!(std::fs::symlink_metadata(&path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(History::default());
        }
        let bytes = crate::bounded_read::read_bytes(
            &path,
            "run history",
            crate::bounded_read::STATE_FILE_LIMIT,
        )?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "reading run history {} (move the corrupt file aside to start a new history)",
                path.display()
            )
        })
    }

    /// The newest earlier value of `key`, with when it was taken.
    pub fn previous(&self, key: &str) -> Option<(i64, f64)> {
        self.samples
            .iter()
            .rev()
            .find_map(|s| s.values.get(key).map(|v| (s.at, *v)))
    }

    /// The history for this run; an unreadable one is a warning on stderr naming what this run
    /// goes without (`lost`), never the run's error.
    pub fn load_or_warn(dir: &Path, lost: &str) -> History {
        History::load(dir).unwrap_or_else(|e| {
            eprintln!("warning: {} ({lost})", crate::report::one_line(&e));
            History::default()
        })
    }

    /// Record one run's `values` as `command` (nothing when there are none); a failure is a
    /// warning on stderr, never the run's error.
    pub fn record_or_warn(
        &mut self,
        dir: &Path,
        command: &str,
        values: BTreeMap<String, f64>,
        now: i64,
    ) {
        if values.is_empty() {
            return;
        }
        let sample = Sample {
            at: now,
            command: command.to_string(),
            values,
        };
        if let Err(e) = self.record(dir, sample) {
            eprintln!(
                "warning: could not record the run history: {}\nhint: set OPSBOOK_STATE_DIR to a writable directory, or pass --no-record",
                crate::report::one_line(&e)
            );
        }
    }

    /// Every recorded value of `key` taken at or after `since`, oldest first.
    pub fn series(&self, key: &str, since: i64) -> Vec<(i64, f64)> {
        self.samples
            .iter()
            .filter(|s| s.at >= since)
            .filter_map(|s| s.values.get(key).map(|v| (s.at, *v)))
            .collect()
    }

    /// Thin the history as the type's comment says; `now` is the newest sample's time.
    pub fn compact(&mut self, now: i64) {
        let mut seen = std::collections::HashSet::new();
        let mut keep = vec![true; self.samples.len()];
        for (i, s) in self.samples.iter().enumerate().rev() {
            if now - s.at < RECENT_SECS {
                continue;
            }
            keep[i] = seen.insert((s.command.clone(), s.at.div_euclid(86400)));
        }
        let mut flags = keep.into_iter();
        self.samples.retain(|_| flags.next().unwrap_or(true));
        if self.samples.len() > HISTORY_CAP {
            let excess = self.samples.len() - HISTORY_CAP;
            self.samples.drain(..excess);
        }
    }

    /// Append one sample under an exclusive flock on `history.lock`, re-reading the file
    /// first, so a `monitor` and a `check` finishing at the same moment both keep theirs.
    /// `self` becomes the history as saved.
    pub fn record(&mut self, dir: &Path, sample: Sample) -> anyhow::Result<()> {
        let _lock = lock_exclusive(dir, "history.lock")?;
        *self = History::load(dir)?;
        self.append_and_save(dir, sample)
    }

    fn append_and_save(&mut self, dir: &Path, sample: Sample) -> anyhow::Result<()> {
        let at = sample.at;
        self.samples.push(sample);
        self.compact(at);
        let bytes = serde_json::to_vec(self).context("encoding run history")?;
        write_atomic(&dir.join(HISTORY_FILE), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlink_at_the_temp_name_is_refused_and_its_target_kept() {
        let dir = std::env::temp_dir().join(format!("opsbook-nofollow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("precious");
        std::fs::write(&target, b"keep me").unwrap();
        let path = dir.join("x.manifest.json");
        let tmp = dir.join(format!(".x.manifest.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&target, &tmp).unwrap();
        assert!(write_atomic(&path, b"{}").is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn history_round_trip_and_previous() {
        let dir = std::env::temp_dir().join(format!("opsbook-state-test-{}", std::process::id()));
        let mut h = History::load(&dir).unwrap();
        assert!(h.samples.is_empty());
        let mut values = BTreeMap::new();
        values.insert("postgres.database_size/app".to_string(), 100.0);
        h.append_and_save(
            &dir,
            Sample {
                at: 1,
                command: "check morning".into(),
                values,
            },
        )
        .unwrap();
        let h2 = History::load(&dir).unwrap();
        assert_eq!(h2.previous("postgres.database_size/app"), Some((1, 100.0)));
        assert_eq!(h2.previous("nope"), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(HISTORY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn compaction_keeps_recent_and_one_per_command_and_day() {
        let mut h = History::default();
        let day = 86400;
        let now = 100 * day;
        // minutely monitor samples for three days, two check runs on an old day
        for m in 0..(3 * 24 * 60) {
            let at = now - m * 60;
            let mut values = BTreeMap::new();
            values.insert("k".to_string(), m as f64);
            h.samples.insert(
                0,
                Sample {
                    at,
                    command: "monitor".into(),
                    values,
                },
            );
        }
        for at in [now - 10 * day + 20, now - 10 * day + 10] {
            h.samples.insert(
                0,
                Sample {
                    at,
                    command: "check night".into(),
                    values: BTreeMap::new(),
                },
            );
        }
        h.compact(now);
        let recent = h
            .samples
            .iter()
            .filter(|s| now - s.at < RECENT_SECS)
            .count();
        assert_eq!(recent as i64, RECENT_SECS / 60);
        let old_checks: Vec<i64> = h
            .samples
            .iter()
            .filter(|s| s.command == "check night")
            .map(|s| s.at)
            .collect();
        assert_eq!(
            old_checks,
            vec![now - 10 * day + 20],
            "the day's last run is kept"
        );
        assert!(h.samples.len() <= HISTORY_CAP);
        assert!(h.samples.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(h.series("k", now - 120).len(), 3);
    }

    #[test]
    fn write_atomic_mode_sets_the_mode_and_leaves_no_temp_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("opsbook-wam-{}", std::process::id()));
        let path = dir.join("opsbook.prom");
        write_atomic_mode(&path, b"a 1\n", 0o644).unwrap();
        write_atomic_mode(&path, b"a 2\n", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lock_exclusive_serialises_holders() {
        use std::os::fd::AsRawFd as _;
        let dir = std::env::temp_dir().join(format!("opsbook-lock-{}", std::process::id()));
        let held = lock_exclusive(&dir, "x.lock").unwrap();
        // A second open file description cannot take it while the first holds it.
        let other = std::fs::File::open(dir.join("x.lock")).unwrap();
        let rc = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_ne!(rc, 0, "the lock is exclusive");
        drop(held);
        let rc = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0, "released on drop");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn state_dir_precedence() {
        let env = |k: &str| (k == "OPSBOOK_STATE_DIR").then(|| "/x/state".to_string());
        assert_eq!(
            state_dir(Some(Path::new("/cfg")), &env),
            PathBuf::from("/x/state")
        );
        let none = |k: &str| (k == "XDG_STATE_HOME").then(|| "/xdg".to_string());
        assert_eq!(
            state_dir(Some(Path::new("/cfg")), &none),
            PathBuf::from("/cfg")
        );
    }
}
