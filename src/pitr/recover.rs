//! `restore --to`: `pgbackrest restore` of the stanza into a NEW data directory with a
//! recovery target and `--target-action=pause`, that cluster started on a free port (socket
//! only, archive_mode off so it never pushes into the stanza), waited for until replay pauses
//! at the target, and measured. The live cluster is never touched. What happens next
//! (promote, hand back, throw away) is the operator's choice, made after the point reached is
//! shown. Blocking std code: run it from `spawn_blocking`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::{pgbackrest, Stanza};
use crate::passwd::Account;
use crate::replication::pg_ctl;

/// Where recovery stops.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Time(String),
    Lsn(String),
    Xid(String),
    Name(String),
    /// the end of the newest backup (a rehearsal without a target)
    Immediate,
}

impl Target {
    /// pgBackRest's `--type` and `--target` for it.
    pub fn args(&self) -> Vec<String> {
        let (kind, target) = match self {
            Target::Time(t) => ("time", Some(t)),
            Target::Lsn(t) => ("lsn", Some(t)),
            Target::Xid(t) => ("xid", Some(t)),
            Target::Name(t) => ("name", Some(t)),
            Target::Immediate => ("immediate", None),
        };
        let mut v = vec![format!("--type={kind}")];
        if let Some(t) = target {
            v.push(format!("--target={t}"));
        }
        v.push("--target-action=pause".to_string());
        v
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Time(t) => format!("time {t}"),
            Target::Lsn(t) => format!("LSN {t}"),
            Target::Xid(t) => format!("transaction {t}"),
            Target::Name(t) => format!("restore point {t}"),
            Target::Immediate => "the end of the newest backup".to_string(),
        }
    }
}

/// A recovered cluster paused at its target, running in `data_dir`.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub data_dir: PathBuf,
    pub port: u16,
    pub socket_dir: PathBuf,
    pub owner: Option<Account>,
    pub psql: PathBuf,
    pub pg_ctl: PathBuf,
    /// pg_last_xact_replay_timestamp(): the last transaction replayed (None: none after the backup)
    pub reached_time: Option<String>,
    pub reached_lsn: String,
    /// the same point as seconds since the epoch (the run history keeps numbers)
    pub reached_unix: Option<f64>,
    /// WAL replayed since the backup's start (bytes)
    pub wal_replayed: Option<f64>,
    /// seconds from the start of the restore until replay paused at the target
    pub seconds: f64,
    pub restore_seconds: f64,
}

/// The new data directory must not exist or be empty: a restore never writes over anything.
pub fn check_new_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_absolute() {
        bail!(
            "restore --to: the new data directory {} must be an absolute path",
            dir.display()
        );
    }
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            bail!("restore --to: {} is not empty; nothing was changed\nhint: give a new directory with --data-dir", dir.display());
        }
    }
    Ok(())
}

fn prepare_dir(dir: &Path, owner: Option<&Account>) -> anyhow::Result<()> {
    check_new_dir(dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("setting the mode of {}", dir.display()))?;
    if let Some(a) = owner {
        std::os::unix::fs::chown(dir, Some(a.uid), Some(a.gid))
            .with_context(|| format!("handing {} to {}", dir.display(), a.name))?;
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// sun_path holds 107 bytes: the data directory itself when short enough, else one of ours
/// in /tmp.
fn socket_dir(data: &Path, port: u16, owner: Option<&Account>) -> anyhow::Result<PathBuf> {
    if data.to_string_lossy().len() + "/.s.PGSQL.65535".len() < 100 {
        return Ok(data.to_path_buf());
    }
    let dir = std::env::temp_dir().join(format!("opsbook-pitr-{port}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(a) = owner {
        std::os::unix::fs::chown(&dir, Some(a.uid), Some(a.gid))
            .with_context(|| format!("handing {} to {}", dir.display(), a.name))?;
    }
    Ok(dir)
}

/// The settings that make the copy a cluster of its own beside the live one: its port, a
/// socket only, and no archiving into the stanza it came from. A data directory from a
/// Debian cluster has no postgresql.conf / pg_hba.conf (they live in /etc): minimal ones.
fn write_overrides(data: &Path, port: u16, socket: &Path) -> anyhow::Result<()> {
    let owner = pg_ctl::owner_of(data)?;
    for (name, text) in [
        (
            "postgresql.conf",
            "# written by opsbook restore --to: the source's lived in /etc\n",
        ),
        ("pg_hba.conf", "local all all peer\n"),
        ("pg_ident.conf", ""),
    ] {
        let p = data.join(name);
        if !p.exists() {
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
            if let Some(a) = &owner {
                std::os::unix::fs::chown(&p, Some(a.uid), Some(a.gid))
                    .with_context(|| format!("handing {} to {}", p.display(), a.name))?;
            }
        }
    }
    let auto = data.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
    text.push_str(&format!(
        "# opsbook restore --to: a cluster beside the live one\n\
         port = {port}\n\
         listen_addresses = ''\n\
         unix_socket_directories = '{}'\n\
         archive_mode = off\n\
         hot_standby = on\n",
        socket.display()
    ));
    std::fs::write(&auto, text).with_context(|| format!("writing {}", auto.display()))?;
    if let Some(a) = &owner {
        std::os::unix::fs::chown(&auto, Some(a.uid), Some(a.gid))
            .with_context(|| format!("handing {} to {}", auto.display(), a.name))?;
    }
    Ok(())
}

/// `START WAL LOCATION: 0/3000028 (file ...)` of the restored backup_label.
fn backup_start_lsn(data: &Path) -> Option<String> {
    let text = std::fs::read_to_string(data.join("backup_label")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("START WAL LOCATION: "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
}

fn major_of(data: &Path) -> anyhow::Result<u32> {
    let v = std::fs::read_to_string(data.join("PG_VERSION"))
        .with_context(|| format!("reading {}/PG_VERSION", data.display()))?;
    v.trim()
        .parse()
        .with_context(|| format!("{}/PG_VERSION is not a version", data.display()))
}

fn log_tail(data: &Path) -> String {
    let text = std::fs::read_to_string(pg_ctl::log_file(data)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n  ")
}

impl Recovered {
    /// One statement through psql over the socket, as the data directory's owner.
    pub fn query(&self, sql: &str) -> anyhow::Result<String> {
        let mut cmd = pg_ctl::command_as(&self.psql, self.owner.as_ref());
        cmd.args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                sql,
            ]);
        pg_ctl::run(
            &mut cmd,
            &format!("psql on the recovered cluster (port {})", self.port),
        )
        .map(|s| s.trim().to_string())
    }

    fn running(&self) -> bool {
        pg_ctl::running_pid(&self.data_dir).is_some()
    }

    /// End recovery at the target and make the copy a primary of its own (timeline + 1).
    pub fn promote(&self, wait: Duration) -> anyhow::Result<()> {
        self.query("SELECT pg_wal_replay_resume()")?;
        let deadline = Instant::now() + wait;
        loop {
            if self.query("SELECT pg_is_in_recovery()")? == "f" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("restore --to: the recovered cluster in {} did not leave recovery within {}s\n  {}", self.data_dir.display(), wait.as_secs(), log_tail(&self.data_dir));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `pg_ctl stop -m fast`; recovery.signal stays, so a later start resumes at the target.
    pub fn stop(&self) -> anyhow::Result<()> {
        if !self.running() {
            return Ok(());
        }
        let mut cmd = pg_ctl::command_as(&self.pg_ctl, self.owner.as_ref());
        cmd.arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "-t", "60", "stop"]);
        pg_ctl::run(
            &mut cmd,
            &format!(
                "stopping the recovered cluster in {}",
                self.data_dir.display()
            ),
        )
        .map(|_| ())
    }

    /// Stop and delete: the end of a rehearsal (or of a run the operator declined).
    pub fn discard(&self) -> anyhow::Result<()> {
        self.stop()?;
        std::fs::remove_dir_all(&self.data_dir)
            .with_context(|| format!("removing {}", self.data_dir.display()))?;
        if self.socket_dir != self.data_dir {
            let _ = std::fs::remove_dir_all(&self.socket_dir);
        }
        Ok(())
    }
}

/// Restore (from repository `repo`, pgBackRest's `--repo=N`, else pgBackRest's choice),
/// start, wait for the pause at the target, measure. On a failure after the restore began,
/// the half-made directory is left for reading (its log says why) and named in the error.
pub fn recover(
    stanza: &Stanza,
    target: &Target,
    data_dir: &Path,
    wait: Duration,
    repo: Option<u8>,
) -> anyhow::Result<Recovered> {
    let started = Instant::now();
    let owner = pg_ctl::standby_owner()?;
    prepare_dir(data_dir, owner.as_ref())?;
    let mut args = vec![format!("--pg1-path={}", data_dir.display())];
    args.extend(repo.map(|n| format!("--repo={n}")));
    args.extend(target.args());
    pgbackrest::run(stanza, &args, "restore").with_context(|| {
        format!(
            "restore --to {}: restoring into {} (the target must lie after the end of a backup: `opsbook pitr status` lists them)",
            target.describe(),
            data_dir.display()
        )
    })?;
    let restore_seconds = started.elapsed().as_secs_f64();
    let start_lsn = backup_start_lsn(data_dir);
    let major = major_of(data_dir)?;
    let port = free_port()?;
    let socket = socket_dir(data_dir, port, owner.as_ref())?;
    write_overrides(data_dir, port, &socket)?;
    let rec = Recovered {
        data_dir: data_dir.to_path_buf(),
        port,
        socket_dir: socket,
        owner,
        psql: crate::clients::tools::resolve("psql", major)?,
        pg_ctl: crate::clients::tools::resolve("pg_ctl", major)?,
        reached_time: None,
        reached_lsn: String::new(),
        reached_unix: None,
        wal_replayed: None,
        seconds: 0.0,
        restore_seconds,
    };
    pg_ctl::start(&rec.pg_ctl, data_dir, wait.as_secs().max(1)).map_err(|e| {
        anyhow::anyhow!("{e:#}\n  {}\nhint: the target may lie beyond the archived WAL (run `opsbook pitr status`), or before the end of the newest backup; {} is left for reading", log_tail(data_dir), data_dir.display())
    })?;
    let paused_sql = if major >= 14 {
        "SELECT pg_get_wal_replay_pause_state() = 'paused'"
    } else {
        "SELECT pg_is_wal_replay_paused()"
    };
    let deadline = started + wait;
    loop {
        if !rec.running() {
            bail!("restore --to {}: the recovered cluster stopped before reaching its target:\n  {}\nhint: the target may lie beyond the archived WAL (`opsbook pitr status`); {} is left for reading", target.describe(), log_tail(data_dir), data_dir.display());
        }
        if rec.query(paused_sql).is_ok_and(|s| s == "t") {
            break;
        }
        if Instant::now() > deadline {
            bail!("restore --to {}: replay did not reach its target within {}s; the cluster in {} still runs (port {port})\nhint: give more --wait, or stop it: pg_ctl -D {} stop", target.describe(), wait.as_secs(), data_dir.display(), data_dir.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = started.elapsed().as_secs_f64();
    let diff = start_lsn
        .as_deref()
        .map(|l| {
            format!(
                "pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '{}')::float8",
                l.replace('\'', "")
            )
        })
        .unwrap_or_else(|| "NULL".to_string());
    let row = rec.query(&format!(
        "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '') || '|' || pg_last_wal_replay_lsn() || '|' || coalesce({diff}::text, '') || '|' || coalesce(extract(epoch FROM pg_last_xact_replay_timestamp())::float8::text, '')"
    ))?;
    let mut parts = row.split('|');
    let reached_time = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    let reached_lsn = parts.next().unwrap_or("").to_string();
    let wal_replayed = parts.next().and_then(|s| s.parse().ok());
    let reached_unix = parts.next().and_then(|s| s.parse().ok());
    Ok(Recovered {
        reached_time,
        reached_lsn,
        reached_unix,
        wal_replayed,
        seconds,
        ..rec
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_args_pause_at_the_target() {
        assert_eq!(
            Target::Time("2026-12-05 00:30:00+00".into()).args(),
            vec![
                "--type=time",
                "--target=2026-12-05 00:30:00+00",
                "--target-action=pause"
            ]
        );
        assert_eq!(
            Target::Immediate.args(),
            vec!["--type=immediate", "--target-action=pause"]
        );
    }

    #[test]
    fn a_full_directory_is_refused() {
        let d = std::env::temp_dir().join(format!("opsbook-pitr-unit-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        assert!(check_new_dir(&d).is_ok());
        std::fs::write(d.join("x"), "").unwrap();
        assert!(check_new_dir(&d).is_err());
        std::fs::remove_dir_all(&d).unwrap();
        assert!(check_new_dir(Path::new("relative")).is_err());
    }
}
