//! Child tools (pg_dump, pg_restore, psql, ...) chosen to match the server's major version,
//! with credentials passed through the environment only.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::pg::PgOptions;

/// Directories that may hold PostgreSQL client tools, best first for `major`.
fn candidate_dirs(major: u32) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"))];
    // Newer client tools read older servers; older ones refuse newer servers.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut newer: Vec<u32> = entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|v| *v > major)
            .collect();
        newer.sort_unstable();
        dirs.extend(
            newer
                .into_iter()
                .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))),
        );
    }
    if let Ok(out) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        if out.status.success() {
            dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

/// The major version a tool reports (`pg_dump (PostgreSQL) 15.19` -> 15).
pub fn tool_major(path: &Path) -> Option<u32> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().last()?;
    version.split(['.', ' ']).next()?.parse().ok()
}

/// Find `tool` for a server of `major`: the same major, else a newer one, never an older one.
pub fn resolve(tool: &str, major: u32) -> anyhow::Result<PathBuf> {
    let mut older: Option<(PathBuf, u32)> = None;
    for dir in candidate_dirs(major) {
        let path = dir.join(tool);
        if !path.is_file() {
            continue;
        }
        match tool_major(&path) {
            Some(v) if v >= major => return Ok(path),
            Some(v) => older = older.or(Some((path, v))),
            None => {}
        }
    }
    match older {
        Some((path, v)) => bail!(
            "{tool} for PostgreSQL {major} not found: only {} (version {v}), which cannot read a newer server\nhint: install the client of the server's version, e.g. `apt-get install postgresql-client-{major}`",
            path.display()
        ),
        None => bail!(
            "{tool} not found for PostgreSQL {major}\nhint: install it, e.g. `apt-get install postgresql-client-{major}`"
        ),
    }
}

/// The full version a tool reports (`pg_dump (PostgreSQL) 15.19` -> `15.19`).
pub fn tool_version(path: &Path) -> Option<String> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

/// The version in a `--version` line: the word after `(PostgreSQL)`, not the last one
/// (distributions append their package version: `15.20 (Debian 15.20-0+deb12u1)`).
fn parse_version(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let mut words = line.split_whitespace();
    let after_marker = line
        .split_whitespace()
        .skip_while(|w| *w != "(PostgreSQL)")
        .nth(1);
    after_marker
        .or_else(|| words.find(|w| w.starts_with(|c: char| c.is_ascii_digit())))
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// What every child tool runs just before `exec`: ask the kernel for SIGKILL when its parent
/// goes away, so a `kill -9` of opsbook cannot leave a pg_restore loading into a database (or a
/// pg_dump writing) with nobody watching. PR_SET_PDEATHSIG fires when the *thread* that forked
/// the child exits: opsbook forks from its runtime thread (which lives as long as the process)
/// or from a blocking thread that waits for the child before it returns.
fn die_with_parent() -> std::io::Result<()> {
    let parent = PARENT.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: async-signal-safe calls only (prctl, getppid, _exit), between fork and exec.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent died between fork and prctl: the signal will never come.
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    Ok(())
}

static PARENT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Make `cmd`'s child die with opsbook (see [`die_with_parent`]). Every child tool goes through
/// here: pg_dump, pg_restore, psql, pg_basebackup, pg_ctl.
pub fn bind_to_parent(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    PARENT.store(
        std::process::id() as i32,
        std::sync::atomic::Ordering::Relaxed,
    );
    // SAFETY: the closure only makes async-signal-safe calls.
    unsafe {
        cmd.pre_exec(die_with_parent);
    }
}

/// The blocking form of [`command`], for pipelines driven from a blocking thread.
pub fn std_command(path: &Path, options: &PgOptions) -> std::process::Command {
    let mut cmd = std::process::Command::new(path);
    for var in ["PGPASSWORD", "PGPASSFILE", "PGSERVICE", "DATABASE_URL"] {
        cmd.env_remove(var);
    }
    cmd.envs(options.tool_env());
    bind_to_parent(&mut cmd);
    cmd
}

/// A command for `tool` whose connection settings and password come from `options` through
/// the environment (never argv, where `ps` would show them).
pub fn command(path: &Path, options: &PgOptions) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(path);
    for var in ["PGPASSWORD", "PGPASSFILE", "PGSERVICE", "DATABASE_URL"] {
        cmd.env_remove(var);
    }
    cmd.envs(options.tool_env());
    cmd.kill_on_drop(true);
    PARENT.store(
        std::process::id() as i32,
        std::sync::atomic::Ordering::Relaxed,
    );
    // SAFETY: the closure only makes async-signal-safe calls.
    unsafe {
        cmd.pre_exec(die_with_parent);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_word_after_the_product() {
        for (line, want) in [
            (
                "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n",
                "15.20",
            ),
            (
                "pg_dump (PostgreSQL) 16.4 (Ubuntu 16.4-1.pgdg22.04+1)\n",
                "16.4",
            ),
            (
                "pg_dumpall (PostgreSQL) 14.13 (Ubuntu 14.13-0ubuntu0.22.04.1)\n",
                "14.13",
            ),
            ("pg_restore (PostgreSQL) 17.2\n", "17.2"),
            ("pg_dump (PostgreSQL) 18beta1\n", "18beta1"),
            ("pg_dump (PostgreSQL) 9.6.24\n", "9.6.24"),
            ("pg_dump 12.3\n", "12.3"),
        ] {
            assert_eq!(parse_version(line).as_deref(), Some(want), "{line}");
        }
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("pg_dump: command not found"), None);
    }

    #[test]
    fn resolves_psql_of_the_installed_major() {
        // The machine's own PostgreSQL client is what the sandbox uses too.
        let Some(major) = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .max()
        }) else {
            panic!("no /usr/lib/postgresql/<major>: install postgresql");
        };
        let p = resolve("psql", major).unwrap();
        assert_eq!(tool_major(&p), Some(major));
        let err = resolve("psql", major + 50).unwrap_err().to_string();
        assert!(err.contains("cannot read a newer server"), "{err}");
    }
}
