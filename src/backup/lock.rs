//! One backup or restore at a time: an exclusive flock on `<state dir>/backup.lock`, holding the
//! holder's pid. The kernel drops the lock when the holder dies, even by `kill -9`.
//! Two opsbooks with different state dirs may still share a backup directory, so whatever
//! writes or deletes in a database's backup directory also locks `<db dir>/.opsbook.lock`.

use std::io::{Read as _, Seek as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

pub struct Lock {
    _file: std::fs::File,
    pub path: PathBuf,
}

/// The lock file inside a database's backup directory (ignored by the catalog: no manifest
/// suffix, a leading dot).
pub const DIR_LOCK: &str = ".opsbook.lock";

/// Take the lock or fail at once, naming the pid that holds it.
pub fn acquire(state_dir: &Path, what: &str) -> anyhow::Result<Lock> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("creating the state directory {}", state_dir.display()))?;
    take(
        &state_dir.join("backup.lock"),
        what,
        "another backup or restore is running",
        "wait for it to finish; two at once would compete for the disk and the server",
    )
}

/// Lock one database's backup directory (which must exist) or fail at once.
pub fn acquire_dir(db_dir: &Path, what: &str) -> anyhow::Result<Lock> {
    take(
        &db_dir.join(DIR_LOCK),
        what,
        &format!("another opsbook is writing into {}", db_dir.display()),
        "wait for it to finish (it may use another state directory, so its lock there is not this one); two at once would remove each other's files",
    )
}

fn take(path: &Path, what: &str, busy: &str, hint: &str) -> anyhow::Result<Lock> {
    let path = path.to_path_buf();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        // A symlink planted in a backup directory must not make us truncate its target.
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .with_context(|| {
            format!(
                "opening the lock file {} (it must be a plain file, not a symlink)",
                path.display()
            )
        })?;
    // SAFETY: a valid open file descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let mut holder = String::new();
            // Bounded: the file is in a directory others may write.
            let _ = (&mut file).take(32).read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("pid {holder}")
            };
            bail!(
                "cannot start {what}: {busy} ({holder} holds {}); nothing was changed\nhint: {hint}",
                path.display()
            );
        }
        return Err(err).with_context(|| format!("locking {}", path.display()));
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(Lock { _file: file, path })
}

/// Who holds the lock of `state_dir` right now, if anyone (another process, or this one through
/// another open file): `Some("pid N")`. Never creates the lock file.
pub fn holder(state_dir: &Path) -> Option<String> {
    holder_of(&state_dir.join("backup.lock"))
}

/// Who holds a database directory's lock (`<db dir>/.opsbook.lock`) right now, if anyone.
pub fn dir_holder(db_dir: &Path) -> Option<String> {
    holder_of(&db_dir.join(DIR_LOCK))
}

fn holder_of(path: &Path) -> Option<String> {
    // Never through a symlink a backup directory may hold.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    // SAFETY: a valid open file descriptor; a shared probe released when `file` closes.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        return None;
    }
    let mut pid = String::new();
    // Bounded: the file may sit in a directory others write.
    let _ = (&mut file).take(32).read_to_string(&mut pid);
    Some(match pid.trim() {
        "" => "another process".to_string(),
        p => format!("pid {p}"),
    })
}
