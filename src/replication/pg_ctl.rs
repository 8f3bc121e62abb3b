//! pg_ctl and pg_basebackup as the owner of a data directory: PostgreSQL refuses root, and
//! files a server reads must belong to its account. Blocking std code (run it from
//! `spawn_blocking`).

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};

use crate::passwd::Account;
use crate::process;

/// The account a data directory's server runs as, when we are root and it is someone else;
/// None means "as ourselves".
pub fn owner_of(dir: &Path) -> anyhow::Result<Option<Account>> {
    if crate::passwd::euid() != 0 {
        return Ok(None);
    }
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if meta.uid() == 0 {
        return Ok(None);
    }
    Ok(Some(crate::passwd::by_uid(meta.uid()).unwrap_or(Account {
        name: meta.uid().to_string(),
        uid: meta.uid(),
        gid: meta.gid(),
        home: PathBuf::from("/"),
    })))
}

/// Who should own a new standby's data directory: `postgres` when we are root, else us.
pub fn standby_owner() -> anyhow::Result<Option<Account>> {
    if crate::passwd::euid() != 0 {
        return Ok(None);
    }
    match crate::passwd::by_name("postgres") {
        Some(a) if a.uid != 0 => Ok(Some(a)),
        _ => bail!("we run as root and there is no `postgres` system user to own the standby's data directory (PostgreSQL refuses root)\nhint: install PostgreSQL (it creates the user), or run as the account that should own the data"),
    }
}

/// `program` run as `owner` (uid, gid, HOME, USER), every inherited PG* variable removed, in `/`
/// (the invoking user's cwd may not be readable by the owner).
pub fn command_as(program: &Path, owner: Option<&Account>) -> Command {
    let mut cmd = Command::new(program);
    crate::clients::tools::bind_to_parent(&mut cmd);
    process::scrub_pg_env(&mut cmd);
    cmd.stdin(Stdio::null()).current_dir("/");
    if let Some(a) = owner {
        cmd.uid(a.uid).gid(a.gid);
        cmd.env("HOME", &a.home)
            .env("USER", &a.name)
            .env("LOGNAME", &a.name);
    }
    cmd
}

/// The postmaster running on `data`, if any (its pid file, checked against /proc).
pub fn running_pid(data: &Path) -> Option<u32> {
    let pid = process::read_pid_file(&data.join("postmaster.pid"))?;
    process::pid_runs(pid, "").then_some(pid)
}

/// The systemd unit that runs `pid` when it is a PostgreSQL service (`postgresql@15-main`):
/// a server under systemd must be restarted by systemd, not behind its back by pg_ctl.
pub fn systemd_unit(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let path = l.rsplit(':').next()?;
        path.split('/')
            .rev()
            .find(|seg| seg.ends_with(".service"))
            .filter(|unit| unit.contains("postgres"))
            .map(str::to_string)
    })
}

/// Run to completion; Ok on success, else an error naming `what` with stderr's tail.
pub fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| {
            format!(
                "{what}: could not run {}",
                cmd.get_program().to_string_lossy()
            )
        })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.trim().lines().collect();
    let tail = tail[tail.len().saturating_sub(10)..].join("\n  ");
    bail!("{what} failed ({}):\n  {tail}", out.status)
}

/// The server's output goes to a file in the data directory: a pipe held by the daemon
/// would keep us waiting for ever.
pub fn log_file(data: &Path) -> PathBuf {
    data.join("log").join("opsbook-pg_ctl.log")
}

fn ensure_log_dir(data: &Path, owner: Option<&Account>) -> anyhow::Result<PathBuf> {
    let log = log_file(data);
    if let Some(dir) = log.parent() {
        if !dir.exists() {
            std::fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
            if let Some(a) = owner {
                std::os::unix::fs::chown(dir, Some(a.uid), Some(a.gid))
                    .with_context(|| format!("handing {} to {}", dir.display(), a.name))?;
            }
        }
    }
    Ok(log)
}

/// `pg_ctl start -w` on `data` as its owner.
pub fn start(pg_ctl: &Path, data: &Path, wait_secs: u64) -> anyhow::Result<()> {
    let owner = owner_of(data)?;
    let log = ensure_log_dir(data, owner.as_ref())?;
    let mut cmd = command_as(pg_ctl, owner.as_ref());
    cmd.arg("-D")
        .arg(data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", &wait_secs.to_string(), "start"]);
    run(
        &mut cmd,
        &format!("starting PostgreSQL in {} (pg_ctl start)", data.display()),
    )
    .map(|_| ())
    .with_context(|| format!("see {}", log.display()))
}

/// `pg_ctl restart -m fast -w` on `data` as its owner (the server's own options are reused
/// from postmaster.opts).
pub fn restart(pg_ctl: &Path, data: &Path, wait_secs: u64) -> anyhow::Result<()> {
    let owner = owner_of(data)?;
    let log = ensure_log_dir(data, owner.as_ref())?;
    let mut cmd = command_as(pg_ctl, owner.as_ref());
    cmd.arg("-D").arg(data).arg("-l").arg(&log).args([
        "-m",
        "fast",
        "-w",
        "-t",
        &wait_secs.to_string(),
        "restart",
    ]);
    run(
        &mut cmd,
        &format!(
            "restarting PostgreSQL in {} (pg_ctl restart -m fast)",
            data.display()
        ),
    )
    .map(|_| ())
    .with_context(|| format!("see {}", log.display()))
}

/// `systemctl restart UNIT`.
pub fn systemctl_restart(unit: &str) -> anyhow::Result<()> {
    let mut cmd = Command::new("systemctl");
    cmd.args(["restart", "--", unit]).stdin(Stdio::null());
    run(&mut cmd, &format!("systemctl restart {unit}")).map(|_| ())
}
