//! The state directory: where it is, and what opsbook keeps there: the run history (SQLite,
//! [`history`]) (files written atomically are `crate::atomic_file`'s).

mod history;
mod migrate;
mod store;

use std::path::{Path, PathBuf};

pub use history::{History, Sample, RECENT_SECS};

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

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
