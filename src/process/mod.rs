//! Processes we start or look at: pid files checked against /proc, signals, waiting for a
//! process to go, and the environment a PostgreSQL tool is started with. Below every domain
//! module (sandbox, replication): plain std + libc, no knowledge of what the processes are.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The pid on the first line of a pid file (PostgreSQL's postmaster.pid, redis.pid), if above 1.
pub fn read_pid_file(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().next()?.trim().parse().ok().filter(|&p| p > 1)
}

/// Alive and not a zombie: daemonised servers are reparented to PID 1, which in containers
/// may never reap them, and kill(pid, 0) succeeds on a zombie.
pub fn pid_alive(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence.
    let exists = unsafe { libc::kill(pid as i32, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !exists {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself hold ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => true,
    }
}

/// Alive and, where /proc tells, running a command line containing `needle`: a pid from a
/// file may have been recycled by an unrelated process.
pub fn pid_runs(pid: u32, needle: &str) -> bool {
    if !pid_alive(pid) {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(raw) => String::from_utf8_lossy(&raw)
            .replace('\0', " ")
            .contains(needle),
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// kill(2) with `sig`, only for a single process (never pid 0, 1 or a negative group id).
pub fn signal(pid: u32, sig: libc::c_int) {
    // pid 0 and negative pids address process groups: never send those by accident.
    if pid > 1 && pid <= i32::MAX as u32 {
        // SAFETY: kill(2) has no memory effects.
        unsafe {
            libc::kill(pid as i32, sig);
        }
    }
}

/// Whether `pid` went away within `timeout` (polled every 20 ms).
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while pid_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Remove every inherited `PG*` variable from `cmd`'s environment.
pub fn scrub_pg_env(cmd: &mut Command) {
    // Any inherited PG* (PGSERVICE, PGPASSWORD, PGDATA, PGOPTIONS...) could point a tool at the
    // machine's own cluster or change how it behaves.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_checks() {
        assert!(pid_alive(std::process::id()));
        assert!(!pid_alive(0));
        assert!(!pid_alive(u32::MAX));
        assert!(pid_runs(std::process::id(), ""));
        assert!(!pid_runs(
            std::process::id(),
            "no-such-needle-in-our-cmdline"
        ));
    }
}
