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
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
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

/// One run's numbers, keyed by "finding id/subject".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// seconds since the epoch
    pub at: i64,
    pub command: String,
    pub values: BTreeMap<String, f64>,
}

/// The run history, newest last, capped so it never grows without bound.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub samples: Vec<Sample>,
}

const HISTORY_FILE: &str = "history.json";
/// About a year of daily runs plus a margin of ad-hoc ones.
const HISTORY_CAP: usize = 2000;

impl History {
    pub fn load(dir: &Path) -> anyhow::Result<History> {
        let path = dir.join(HISTORY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "reading run history {} (move the corrupt file aside to start a new history)",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
            Err(e) => Err(e).with_context(|| format!("reading run history {}", path.display())),
        }
    }

    /// The newest earlier value of `key`, with when it was taken.
    pub fn previous(&self, key: &str) -> Option<(i64, f64)> {
        self.samples
            .iter()
            .rev()
            .find_map(|s| s.values.get(key).map(|v| (s.at, *v)))
    }

    pub fn append_and_save(&mut self, dir: &Path, sample: Sample) -> anyhow::Result<()> {
        self.samples.push(sample);
        if self.samples.len() > HISTORY_CAP {
            let excess = self.samples.len() - HISTORY_CAP;
            self.samples.drain(..excess);
        }
        let bytes = serde_json::to_vec(self).context("encoding run history")?;
        write_atomic(&dir.join(HISTORY_FILE), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
