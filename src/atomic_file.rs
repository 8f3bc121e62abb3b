//! Atomic files (state, manifests, textfiles): a write that a reader sees whole or not at all (temp file, fsync,
//! rename, fsync the directory), and the flock that orders read-modify-writes of a state file
//! (the alert state; the run history has SQLite's own locking).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;

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
}
