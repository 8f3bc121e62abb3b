//! A throwaway PostgreSQL cluster + redis-server on free loopback ports, for
//! `opsbook sandbox up|env|status|down` and for the integration tests (one per test binary).
//!
//! Everything lives under one directory; `sandbox.json` in it is the only record, so any later
//! process (`sandbox down`, `reap_stale`, the watchdog) can find and stop the servers. The
//! machine's own PostgreSQL (5432) and Redis (6379) are never used: ports come from the kernel
//! and every client we run gets its PG* environment scrubbed and set explicitly.
//!
//! Synchronous std code on purpose: it runs from `spawn_blocking`, from test harnesses without a
//! runtime, and from an `atexit` handler.
//!
//! This file is the `Sandbox` type and its life cycle (up, load, status, down, env); the rooms:
//! `cluster` (initdb, postgresql.conf, pg_ctl, psql, databases, spare clusters), `redis` (the
//! redis-server), `watchdog` (the owner's watchdog and the reaping of dead owners' sandboxes),
//! `demo` (the demo data), `bins` (finding the server binaries), `pgpass` (the password file),
//! `files` (directories and the files we write), `exec` (running the tools, as which account;
//! ports) and `scratch` (the throwaway cluster of `backup verify --restore-test`).

mod bins;
mod cluster;
pub mod demo;
mod exec;
mod files;
pub mod ha;
mod pgpass;
mod redis;
mod scratch;
mod watchdog;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{anyhow, bail, Context as _};
use serde::{Deserialize, Serialize};

use crate::passwd::{by_uid as account_by_uid, euid, Account};
use crate::process::pid_alive;
use crate::timefmt::rfc3339;
use bins::{find_pg_bindir, pg_server_version};
use cluster::postgres_account;
use exec::{free_ports, port_accepts};
use files::{
    check_reachable, create_dir_reachable, has_entries, opsbook_yaml, url_path_escape, write_file,
};
use pgpass::{pgpass_lines, pgpass_lookup, random_password};
use redis::find_redis_server;

pub use scratch::scratch_cluster;

/// The database `--demo-data` creates and backs up.
pub const DEMO_DB: &str = "opsbook_demo";

const STATE_FILE: &str = "sandbox.json";
const SANDBOX_PREFIX: &str = "opsbook-sandbox-";
/// The name prefix of a test binary's sandbox directory, `<tmp>/opsbook-test-<pid>-...`:
/// `reap_stale` removes those whose pid is gone, even before their record was written.
pub const TEST_PREFIX: &str = "opsbook-test-";

const HINT_PG: &str =
    "hint: install the server and its extensions: apt-get install postgresql postgresql-contrib";
const HINT_REDIS: &str = "hint: install it: apt-get install redis-server (or start the sandbox without Redis: `opsbook sandbox up --no-redis`)";

/// What `sandbox.json` records: enough for another process to use, check and stop the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxState {
    pub dir: PathBuf,
    pub pg_port: u16,
    /// the postmaster; None until it has started
    pub pg_pid: Option<u32>,
    /// 0 when the sandbox runs without Redis
    pub redis_port: u16,
    pub redis_pid: Option<u32>,
    pub pg_bindir: PathBuf,
    /// e.g. "15.14"
    pub pg_version: String,
    /// the OS account PostgreSQL runs as (`postgres` when we are root)
    pub user: String,
    pub demo_db: Option<String>,
    /// Some(pid): the sandbox dies with that process; None: it stays until `sandbox down`
    pub owner_pid: Option<u32>,
    /// RFC 3339, UTC
    pub created_at: String,
    /// the HA stack of `sandbox up --ha` (etcd, Patroni, Sentinels, HAProxy)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<ha::HaState>,
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub dir: PathBuf,
    pub demo_data: bool,
    /// Multiplies the demo data (1 = 5,000 users and 20,000 invites; 400 is about 1.1 GB)
    pub demo_scale: u32,
    /// Some(pid): the sandbox dies with that process; None: persistent
    pub owner_pid: Option<u32>,
    pub redis: bool,
    /// Also start the HA stack (etcd, two Patroni nodes, a Redis replica, three Sentinels,
    /// HAProxy); needs `redis`
    pub ha: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxHealth {
    pub pg_running: bool,
    pub redis_running: bool,
}

/// A running (or recorded) sandbox. Holds no secret: the password is only in `<dir>/pgpass`.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub state: SandboxState,
}

impl Sandbox {
    /// `$OPSBOOK_SANDBOX_DIR`, else `<tmp>/opsbook-sandbox-<euid>`.
    pub fn default_dir() -> PathBuf {
        match std::env::var_os("OPSBOOK_SANDBOX_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => std::env::temp_dir().join(format!("{SANDBOX_PREFIX}{}", euid())),
        }
    }

    /// Create the directory, initdb, start PostgreSQL (and Redis), optionally load the demo
    /// data (its first backup is [`Sandbox::backup_demo`], async, the caller's). On failure everything started is stopped and the
    /// directory removed, so a retry starts clean.
    pub fn up(opts: &UpOptions) -> anyhow::Result<Sandbox> {
        if let Some(owner) = opts.owner_pid.filter(|&p| !pid_alive(p)) {
            // Its watchdog would delete the directory while we build it.
            bail!("the sandbox's owner process {owner} is not running\nhint: pass a live pid as the owner, or none for a sandbox that stays until `opsbook sandbox down`");
        }
        let dir = std::path::absolute(&opts.dir)
            .with_context(|| format!("resolving the sandbox directory {}", opts.dir.display()))?;
        if let Some(parent) = dir.parent() {
            Sandbox::reap_stale(parent);
        }
        if let Some(existing) = Sandbox::load(&dir)? {
            let h = existing.status();
            if h.pg_running || h.redis_running {
                bail!(
                    "a sandbox is already running in {} (PostgreSQL on 127.0.0.1:{})\nhint: use it with `eval \"$(opsbook sandbox env --dir {word})\"`, or stop it first with `opsbook sandbox down --dir {word}`",
                    dir.display(),
                    existing.state.pg_port,
                    word = crate::runbook::quote::shell_word(&dir.to_string_lossy()),
                );
            }
            // Servers gone (reboot, kill): what is left is only files, start over.
            existing.down().with_context(|| {
                format!("clearing the stopped sandbox left in {}", dir.display())
            })?;
        } else if has_entries(&dir)? {
            bail!(
                "{} exists and is not an opsbook sandbox (no {STATE_FILE} in it); refusing to put a cluster there, since `sandbox down` would delete the directory\nhint: pass another --dir, or remove that directory first",
                dir.display()
            );
        }

        let run_as = if euid() == 0 {
            Some(postgres_account()?)
        } else {
            None
        };
        let bindir = find_pg_bindir()?;
        let pg_version = pg_server_version(&bindir)?;
        // Checked before initdb so a missing redis-server fails in milliseconds, not seconds.
        let redis_bin = if opts.redis {
            Some(find_redis_server()?)
        } else {
            None
        };
        if opts.ha {
            if !opts.redis {
                bail!("the HA sandbox's Redis master is the sandbox's redis-server\nhint: drop --no-redis to use --ha");
            }
            ha::find_engines()?;
        }

        if let Some(account) = &run_as {
            // Checked on what exists before creating anything, so a refusal leaves nothing behind.
            if let Some(existing) = dir.ancestors().find(|p| p.exists()) {
                check_reachable(&dir, existing, account)?;
            }
        }
        create_dir_reachable(&dir)?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("resolving the sandbox directory {}", dir.display()))?;
        if let Some(account) = &run_as {
            check_reachable(&dir, &dir, account)?;
        }
        let user = match &run_as {
            Some(a) => a.name.clone(),
            None => account_by_uid(euid())
                .map(|a| a.name)
                .unwrap_or_else(|| euid().to_string()),
        };
        let ports = free_ports(2)?;
        let mut sb = Sandbox {
            state: SandboxState {
                dir,
                pg_port: ports[0],
                pg_pid: None,
                redis_port: if opts.redis { ports[1] } else { 0 },
                redis_pid: None,
                pg_bindir: bindir,
                pg_version,
                user,
                demo_db: None,
                owner_pid: opts.owner_pid,
                created_at: rfc3339(SystemTime::now()),
                ha: None,
            },
        };
        // Recorded before any server starts: from here on down(), reap_stale() and the
        // watchdog can clean up whatever a crash in the middle leaves behind.
        let built = sb.save().and_then(|()| {
            if let Some(owner) = opts.owner_pid {
                sb.spawn_watchdog(owner)?;
            }
            sb.build(opts, run_as.as_ref(), redis_bin.as_deref())
        });
        match built {
            Ok(()) => Ok(sb),
            Err(e) => match sb.down() {
                Ok(()) => Err(e),
                Err(cleanup) => Err(e.context(format!(
                    "starting the sandbox in {} failed, and so did cleaning up after it ({cleanup:#})\nhint: stop what is left by hand and remove the directory",
                    sb.state.dir.display()
                ))),
            },
        }
    }

    /// The sandbox recorded in `<dir>/sandbox.json`, or None when there is none.
    pub fn load(dir: &Path) -> anyhow::Result<Option<Sandbox>> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
            Err(e) => {
                return Err(
                    anyhow!(e).context(format!("reading the sandbox record {}", path.display()))
                )
            }
        };
        let state: SandboxState = serde_json::from_str(&text).with_context(|| {
            format!(
                "parsing the sandbox record {}\nhint: stop its servers by hand if any run, then remove {}",
                path.display(),
                dir.display()
            )
        })?;
        Ok(Some(Sandbox { state }))
    }

    /// Running = the recorded process is alive AND its port accepts connections.
    pub fn status(&self) -> SandboxHealth {
        let st = &self.state;
        SandboxHealth {
            pg_running: st.pg_pid.is_some_and(pid_alive) && port_accepts(st.pg_port),
            redis_running: st.redis_port != 0
                && st.redis_pid.is_some_and(pid_alive)
                && port_accepts(st.redis_port),
        }
    }

    /// Stop both servers and remove the directory. The directory stays when PostgreSQL could
    /// not be stopped: its data and pid file are what a manual cleanup needs.
    pub fn down(&self) -> anyhow::Result<()> {
        self.stop_watchdog();
        let ha = self.stop_ha();
        let spares = self.stop_spare_clusters();
        let pg = self.stop_postgres();
        let redis = self.stop_redis();
        ha?;
        spares?;
        pg?;
        redis?;
        let dir = &self.state.dir;
        // Only a directory that still holds our record is ours to delete.
        if !dir.join(STATE_FILE).is_file() {
            return Ok(());
        }
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow!(e).context(format!(
                "removing the sandbox directory {}\nhint: remove it by hand: rm -rf {}",
                dir.display(),
                dir.display()
            ))),
        }
    }

    pub fn env(&self) -> Vec<(String, String)> {
        let d = &self.state.dir;
        let path = |p: PathBuf| p.to_string_lossy().into_owned();
        vec![
            ("PGHOST".into(), "127.0.0.1".into()),
            ("PGPORT".into(), self.state.pg_port.to_string()),
            ("PGUSER".into(), "postgres".into()),
            ("PGDATABASE".into(), self.database().to_string()),
            ("PGPASSFILE".into(), path(self.pgpass_path())),
            ("PGSSLMODE".into(), "disable".into()),
            ("REDIS_URL".into(), self.redis_url()),
            ("OPSBOOK_CONFIG".into(), path(self.config_path())),
            ("OPSBOOK_STATE_DIR".into(), path(self.state_dir())),
            ("OPSBOOK_SANDBOX_DIR".into(), path(d.clone())),
        ]
    }

    /// No password in it: clients take it from PGPASSFILE.
    pub fn pg_url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.state.pg_port,
            url_path_escape(db)
        )
    }

    /// Without Redis this points at port 0, which refuses every connection: a client falling
    /// back to the machine's own Redis on 6379 would be worse than one reporting it down.
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.state.redis_port)
    }

    pub fn password(&self) -> anyhow::Result<String> {
        let path = self.pgpass_path();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the sandbox password file {}", path.display()))?;
        pgpass_lookup(&text, "127.0.0.1", self.state.pg_port, "postgres").ok_or_else(|| {
            anyhow!(
                "{} has no entry for postgres@127.0.0.1:{}\nhint: recreate the sandbox: `opsbook sandbox down && opsbook sandbox up`",
                path.display(),
                self.state.pg_port
            )
        })
    }

    /// The database the environment and the config point at.
    pub fn database(&self) -> &str {
        self.state.demo_db.as_deref().unwrap_or("postgres")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.state.dir.join("pg/data")
    }

    pub fn pgpass_path(&self) -> PathBuf {
        self.state.dir.join("pgpass")
    }

    /// The run history and state of commands run in the sandbox (`OPSBOOK_STATE_DIR` of
    /// `sandbox env`).
    pub fn state_dir(&self) -> PathBuf {
        self.state.dir.join("state")
    }

    /// The config's `backup.dir`: where `opsbook backup` run in the sandbox writes.
    pub fn backup_dir(&self) -> PathBuf {
        self.state.dir.join("backups")
    }

    pub fn config_path(&self) -> PathBuf {
        self.state.dir.join("opsbook.yaml")
    }

    fn redis_dir(&self) -> PathBuf {
        self.state.dir.join("redis")
    }

    fn log_path(&self) -> PathBuf {
        self.state.dir.join("pg/log/postgresql.log")
    }

    fn save(&self) -> anyhow::Result<()> {
        let path = self.state.dir.join(STATE_FILE);
        let json =
            serde_json::to_string_pretty(&self.state).context("serialising the sandbox record")?;
        let tmp = self.state.dir.join(format!(".{STATE_FILE}.tmp"));
        write_file(&tmp, format!("{json}\n").as_bytes(), 0o644)?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("writing the sandbox record {}", path.display()))
    }

    fn build(
        &mut self,
        opts: &UpOptions,
        run_as: Option<&Account>,
        redis_bin: Option<&Path>,
    ) -> anyhow::Result<()> {
        self.make_layout(run_as)?;
        let password = random_password()?;
        self.initdb(run_as, &password)?;
        self.start_new_postgres()?;
        write_file(
            &self.pgpass_path(),
            pgpass_lines(self.state.pg_port, &password).as_bytes(),
            0o600,
        )?;
        self.save()?;
        self.psql(
            "postgres",
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements",
        )
        .context(format!(
            "enabling pg_stat_statements in the sandbox\n{HINT_PG}"
        ))?;
        if let Some(bin) = redis_bin {
            self.start_redis(bin)?;
            self.save()?;
        }
        if opts.ha {
            self.start_ha(run_as, &password)?;
        }
        drop(password);
        if opts.demo_data {
            self.load_demo(opts.demo_scale)?;
            self.state.demo_db = Some(DEMO_DB.to_string());
        }
        write_file(&self.config_path(), opsbook_yaml(self).as_bytes(), 0o600)?;
        self.save()
    }
}

#[cfg(test)]
mod tests {
    use super::cluster::{conf_quote, socket_dir_setting, sql_summary};
    use super::files::yaml_scalar;
    use super::*;
    use crate::sql::quote_ident;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(conf_quote("/tmp/it's"), "'/tmp/it''s'");
        assert_eq!(url_path_escape("t_x-1"), "t_x-1");
        assert_eq!(url_path_escape("a b/c"), "a%20b%2Fc");
        assert_eq!(yaml_scalar("/tmp/x/backups"), "/tmp/x/backups");
        assert_eq!(
            yaml_scalar("postgres://postgres@127.0.0.1:5/db"),
            "postgres://postgres@127.0.0.1:5/db"
        );
        assert_eq!(yaml_scalar("/tmp/a b#c"), "\"/tmp/a b#c\"");
        assert_eq!(sql_summary("SELECT 1"), "SELECT 1");
        assert_eq!(
            sql_summary("\nCREATE TABLE t();\nSELECT 2"),
            "CREATE TABLE t();..."
        );
    }

    #[test]
    fn socket_dir_falls_back_to_none_when_too_long() {
        assert_eq!(socket_dir_setting(Path::new("/tmp/s")), "/tmp/s/pg/socket");
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(100)));
        assert_eq!(socket_dir_setting(&long), "");
    }

    #[test]
    fn yaml_and_env_shape() {
        let sb = Sandbox {
            state: SandboxState {
                dir: PathBuf::from("/tmp/sbx"),
                pg_port: 40001,
                pg_pid: None,
                redis_port: 40002,
                redis_pid: None,
                pg_bindir: PathBuf::from("/usr/lib/postgresql/15/bin"),
                pg_version: "15.14".into(),
                user: "postgres".into(),
                demo_db: Some(DEMO_DB.into()),
                owner_pid: None,
                created_at: "2026-01-01T00:00:00Z".into(),
                ha: None,
            },
        };
        assert_eq!(
            opsbook_yaml(&sb),
            "# written by `opsbook sandbox up`; the sandbox's servers are not systemd units\n\
             postgres:\n  url: postgres://postgres@127.0.0.1:40001/opsbook_demo\n\
             redis:\n  url: redis://127.0.0.1:40002/0\n\
             backup:\n  dir: /tmp/sbx/backups\n\
             services: []\n\
             host:\n  data_dir: /tmp/sbx/pg/data\n"
        );
        let env = sb.env();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PGPORT"), Some("40001"));
        assert_eq!(get("PGDATABASE"), Some("opsbook_demo"));
        assert_eq!(get("PGPASSFILE"), Some("/tmp/sbx/pgpass"));
        assert_eq!(get("REDIS_URL"), Some("redis://127.0.0.1:40002/0"));
        assert_eq!(get("OPSBOOK_SANDBOX_DIR"), Some("/tmp/sbx"));
        assert!(get("PGPASSWORD").is_none());
        let json = serde_json::to_string(&sb.state).unwrap();
        let back: SandboxState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sb.state);
    }
}
