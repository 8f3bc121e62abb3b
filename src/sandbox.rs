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

use crate::clients::postgres::quote_ident;
use crate::timefmt::{backup_stamp, rfc3339};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use serde::{Deserialize, Serialize};

/// The database `--demo-data` creates and backs up.
pub const DEMO_DB: &str = "opsbook_demo";

const STATE_FILE: &str = "sandbox.json";
const WATCHDOG_PID_FILE: &str = "watchdog.pid";
/// `$0` of the watchdog shell: how `down` recognises it in /proc before signalling a pid.
const WATCHDOG_TAG: &str = "opsbook-sandbox-watchdog";
const SANDBOX_PREFIX: &str = "opsbook-sandbox-";
const TEST_PREFIX: &str = "opsbook-test-";

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
    /// data and take its first backup. On failure everything started is stopped and the
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
                    "a sandbox is already running in {} (PostgreSQL on 127.0.0.1:{})\nhint: use it with `eval \"$(opsbook sandbox env --dir {})\"`, or stop it first with `opsbook sandbox down --dir {}`",
                    dir.display(),
                    existing.state.pg_port,
                    dir.display(),
                    dir.display()
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
        let spares = self.stop_spare_clusters();
        let pg = self.stop_postgres();
        let redis = self.stop_redis();
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
            ("OPSBOOK_STATE_DIR".into(), path(d.join("state"))),
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

    /// `psql -X -A -t -q -v ON_ERROR_STOP=1 -c SQL` over TCP with the pgpass credentials;
    /// stdout trimmed. `-q` keeps command tags ("INSERT 0 1") out of the result, so a script
    /// ending in a SELECT returns just its rows.
    pub fn psql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        let mut cmd = self.client("psql");
        cmd.args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            db,
            "-c",
            sql,
        ]);
        let what = format!(
            "psql on database {db} of the sandbox (port {}) running `{}`",
            self.state.pg_port,
            sql_summary(sql)
        );
        let out = run(
            &mut cmd,
            &what,
            "hint: is the sandbox up? `opsbook sandbox status`",
        )?;
        Ok(out.trim().to_string())
    }

    pub fn create_database(&self, name: &str) -> anyhow::Result<()> {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(name)),
        )
        .with_context(|| format!("creating database {name} in the sandbox"))?;
        Ok(())
    }

    /// Forced: a test's leftover connections must not keep its database alive.
    pub fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let force = if pg_major(&self.state.pg_version) >= 13 {
            " WITH (FORCE)"
        } else {
            ""
        };
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {}{force}", quote_ident(name)),
        )
        .with_context(|| format!("dropping database {name} in the sandbox"))?;
        Ok(())
    }

    /// SIGTERM, then SIGKILL after 5 s. A no-op when Redis is not running.
    pub fn stop_redis(&self) -> anyhow::Result<()> {
        let pid = self
            .state
            .redis_pid
            .or_else(|| read_pid_file(&self.redis_dir().join("redis.pid")));
        let Some(pid) = pid.filter(|&p| pid_runs(p, "redis")) else {
            return Ok(());
        };
        signal(pid, libc::SIGTERM);
        if wait_gone(pid, Duration::from_secs(5)) {
            return Ok(());
        }
        signal(pid, libc::SIGKILL);
        if wait_gone(pid, Duration::from_secs(2)) {
            return Ok(());
        }
        bail!(
            "redis-server (pid {pid}, port {}) of the sandbox did not stop after SIGTERM and SIGKILL\nhint: check `ps -p {pid}`",
            self.state.redis_port
        )
    }

    /// `pg_ctl stop -m fast`, escalating to immediate and then SIGKILL. A no-op when
    /// PostgreSQL is not running.
    pub fn stop_postgres(&self) -> anyhow::Result<()> {
        self.stop_cluster_with(&self.data_dir(), self.state.pg_pid)
    }

    /// A second, empty data directory `<sandbox>/spare/<name>`, owned by the account the
    /// sandbox's PostgreSQL runs as: room for another cluster made from this one (a standby).
    /// Clusters running in spare directories are stopped by `down` and by the watchdog.
    pub fn spare_dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!("spare directory name `{name}`: use letters, digits, _ and -");
        }
        let parent = self.state.dir.join("spare");
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting the mode of {}", parent.display()))?;
        let dir = parent.join(name);
        if has_entries(&dir)? {
            bail!("{} is not empty", dir.display());
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("setting the mode of {}", dir.display()))?;
        let meta = std::fs::metadata(self.data_dir())
            .with_context(|| format!("reading {}", self.data_dir().display()))?;
        if euid() == 0 {
            std::os::unix::fs::chown(&dir, Some(meta.uid()), Some(meta.gid()))
                .with_context(|| format!("handing {} to uid {}", dir.display(), meta.uid()))?;
        }
        Ok(dir)
    }

    /// `pg_ctl start -w` on another data directory of this sandbox (as its owner), logging to
    /// `<data>/log/opsbook-pg_ctl.log`.
    pub fn start_cluster(&self, data: &Path) -> anyhow::Result<()> {
        let log_dir = data.join("log");
        if !log_dir.exists() {
            std::fs::create_dir(&log_dir)
                .with_context(|| format!("creating {}", log_dir.display()))?;
            let meta =
                std::fs::metadata(data).with_context(|| format!("reading {}", data.display()))?;
            if euid() == 0 {
                std::os::unix::fs::chown(&log_dir, Some(meta.uid()), Some(meta.gid()))
                    .with_context(|| {
                        format!("handing {} to uid {}", log_dir.display(), meta.uid())
                    })?;
            }
        }
        let mut cmd = self.pg_tool_for("pg_ctl", data);
        cmd.arg("-D")
            .arg(data)
            .arg("-l")
            .arg(log_dir.join("opsbook-pg_ctl.log"))
            .args(["-w", "-t", "30", "start"]);
        run(
            &mut cmd,
            &format!("starting PostgreSQL in {}", data.display()),
            HINT_PG,
        )?;
        Ok(())
    }

    /// Stop the cluster running in `data` (fast, then immediate, then SIGKILL); a no-op when
    /// none runs there.
    pub fn stop_cluster(&self, data: &Path) -> anyhow::Result<()> {
        self.stop_cluster_with(data, None)
    }

    fn stop_spare_clusters(&self) -> anyhow::Result<()> {
        let Ok(entries) = std::fs::read_dir(self.state.dir.join("spare")) else {
            return Ok(());
        };
        let mut first_err = None;
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if let Err(err) = self.stop_cluster(&e.path()) {
                    first_err.get_or_insert(err);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn stop_cluster_with(&self, data: &Path, recorded: Option<u32>) -> anyhow::Result<()> {
        let data = data.to_path_buf();
        let marker = data.to_string_lossy().into_owned();
        let pid = read_pid_file(&data.join("postmaster.pid"))
            .or(recorded)
            .filter(|&p| pid_runs(p, &marker));
        let Some(pid) = pid else {
            return Ok(());
        };
        let mut last_err = None;
        for mode in ["fast", "immediate"] {
            let mut cmd = self.pg_tool_for("pg_ctl", &data);
            cmd.arg("-D")
                .arg(&data)
                .args(["-m", mode, "-w", "-t", "30", "stop"]);
            let what = format!(
                "stopping PostgreSQL in {} (pg_ctl stop -m {mode})",
                data.display()
            );
            if let Err(e) = run(&mut cmd, &what, "") {
                last_err = Some(e);
            }
            // pg_ctl -w waits for the pid file; the process itself may take a moment more.
            if wait_gone(pid, Duration::from_secs(5)) {
                return Ok(());
            }
        }
        signal(pid, libc::SIGKILL);
        if wait_gone(pid, Duration::from_secs(2)) {
            return Ok(());
        }
        let pg_ctl = last_err.map(|e| format!(" ({e:#})")).unwrap_or_default();
        bail!(
            "PostgreSQL (postmaster pid {pid}) of the sandbox in {} did not stop{pg_ctl}\nhint: kill it by hand (kill -9 {pid}), then run `opsbook sandbox down` again",
            self.state.dir.display()
        )
    }

    /// Sandboxes under `parent` whose owner process has died: stop their servers and remove
    /// them. Best effort, never fails: it runs before `up`, which must not depend on it.
    pub fn reap_stale(parent: &Path) -> Vec<PathBuf> {
        let mut reaped = Vec::new();
        let Ok(entries) = std::fs::read_dir(parent) else {
            return reaped;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with(SANDBOX_PREFIX) || name.starts_with(TEST_PREFIX)) {
                continue;
            }
            // Never follow a symlink into someone else's tree.
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            match Sandbox::load(&path) {
                Ok(Some(sb)) => {
                    let Some(owner) = sb.state.owner_pid else {
                        continue;
                    };
                    if pid_alive(owner) || watchdog_alive(&path) || !same_dir(&sb.state.dir, &path)
                    {
                        continue;
                    }
                    if sb.down().is_ok() {
                        reaped.push(path);
                    }
                }
                // A test sandbox whose owner died before its record was written: no server
                // was started yet, so only files are left.
                Ok(None) => {
                    let owner = name
                        .strip_prefix(TEST_PREFIX)
                        .and_then(|rest| rest.split('-').next())
                        .and_then(|p| p.parse::<u32>().ok());
                    if owner.is_some_and(|p| !pid_alive(p))
                        && std::fs::remove_dir_all(&path).is_ok()
                    {
                        reaped.push(path);
                    }
                }
                Err(_) => {}
            }
        }
        reaped
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
        drop(password);
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
        if opts.demo_data {
            self.load_demo(opts.demo_scale)?;
            self.state.demo_db = Some(DEMO_DB.to_string());
            self.backup_demo()?;
        }
        write_file(&self.config_path(), opsbook_yaml(self).as_bytes(), 0o600)?;
        self.save()
    }

    fn make_layout(&self, run_as: Option<&Account>) -> anyhow::Result<()> {
        // (path, mode, owned by the PostgreSQL account)
        let layout = [
            ("pg", 0o755, false),
            ("pg/data", 0o700, true),
            ("pg/socket", 0o755, true),
            ("pg/log", 0o755, true),
            ("redis", 0o755, false),
            ("backups", 0o700, false),
            ("logs", 0o755, false),
            ("state", 0o700, false),
        ];
        for (rel, mode, pg_owned) in layout {
            let p = self.state.dir.join(rel);
            std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("setting the mode of {}", p.display()))?;
            if let (true, Some(a)) = (pg_owned, run_as) {
                std::os::unix::fs::chown(&p, Some(a.uid), Some(a.gid))
                    .with_context(|| format!("handing {} to the {} user", p.display(), a.name))?;
            }
        }
        Ok(())
    }

    fn initdb(&self, run_as: Option<&Account>, password: &str) -> anyhow::Result<()> {
        let data = self.data_dir();
        // initdb reads the superuser password from a file so it never shows in argv / ps.
        let pwfile = RemoveOnDrop(self.state.dir.join(".initdb-pwfile"));
        let _ = std::fs::remove_file(&pwfile.0);
        write_file(&pwfile.0, format!("{password}\n").as_bytes(), 0o600)?;
        if let Some(a) = run_as {
            std::os::unix::fs::chown(&pwfile.0, Some(a.uid), Some(a.gid)).with_context(|| {
                format!("handing {} to the {} user", pwfile.0.display(), a.name)
            })?;
        }
        let mut last = None;
        // C.UTF-8 is missing on some minimal images; plain C always exists.
        for locale in ["C.UTF-8", "C"] {
            clear_dir(&data)?;
            let mut cmd = self.pg_tool("initdb");
            cmd.arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ])
                .arg(format!("--pwfile={}", pwfile.0.display()))
                .args(["-E", "UTF8", &format!("--locale={locale}"), "--no-sync"]);
            let what = format!(
                "creating the sandbox cluster in {} (initdb, PostgreSQL {})",
                data.display(),
                self.state.pg_version
            );
            match run(&mut cmd, &what, HINT_PG) {
                Ok(_) => return Ok(()),
                Err(e) if format!("{e:#}").contains("locale") => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("initdb failed")))
    }

    /// Appends our settings to the initdb-made postgresql.conf and starts the cluster; on a
    /// port taken between our probe and the server's bind, tries another port.
    fn start_new_postgres(&mut self) -> anyhow::Result<()> {
        let data = self.data_dir();
        let conf_path = data.join("postgresql.conf");
        let base = std::fs::read_to_string(&conf_path)
            .with_context(|| format!("reading {}", conf_path.display()))?;
        let log = self.log_path();
        for attempt in 1..=3 {
            let conf = format!(
                "{base}\n{}",
                conf_block(&self.state.dir, self.state.pg_port)
            );
            std::fs::write(&conf_path, conf)
                .with_context(|| format!("writing {}", conf_path.display()))?;
            let log_start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            let mut cmd = self.pg_tool("pg_ctl");
            cmd.arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "30", "start"]);
            let started = run(&mut cmd, "pg_ctl start", "");
            let tail = log_tail(&log, log_start, 20);
            match started {
                Ok(_) => {
                    self.state.pg_pid = read_pid_file(&data.join("postmaster.pid"));
                    if self.state.pg_pid.is_none() {
                        bail!(
                            "PostgreSQL started in {} but wrote no postmaster.pid\nlast lines of {}:\n{tail}\n{HINT_PG}",
                            data.display(),
                            log.display()
                        );
                    }
                    return Ok(());
                }
                Err(_) if attempt < 3 && tail.contains("Address already in use") => {
                    self.state.pg_port = free_ports(1)?[0];
                }
                Err(e) => {
                    let hint = if tail.contains("pg_stat_statements") {
                        "hint: pg_stat_statements is missing: apt-get install postgresql-contrib (or the postgresql-<major> package that ships it)"
                    } else {
                        HINT_PG
                    };
                    bail!(
                        "starting PostgreSQL {} in {} on 127.0.0.1:{} failed: {e:#}\nlast lines of {}:\n{tail}\n{hint}",
                        self.state.pg_version,
                        data.display(),
                        self.state.pg_port,
                        log.display()
                    );
                }
            }
        }
        bail!(
            "starting PostgreSQL in {}: no free port after 3 attempts",
            data.display()
        )
    }

    fn start_redis(&mut self, bin: &Path) -> anyhow::Result<()> {
        let rdir = self.redis_dir();
        let log = rdir.join("redis.log");
        let pidfile = rdir.join("redis.pid");
        let console = rdir.join("redis-server.out");
        for attempt in 1..=3 {
            let port = self.state.redis_port;
            let log_start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            // Files, not pipes, for its stdio: the daemonised child must not hold a pipe we wait on.
            let out = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .open(&console)
                .with_context(|| format!("opening {}", console.display()))?;
            let err = out
                .try_clone()
                .with_context(|| format!("opening {}", console.display()))?;
            let mut cmd = Command::new(bin);
            cmd.arg("--port")
                .arg(port.to_string())
                .args([
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "yes",
                ])
                .arg("--dir")
                .arg(&rdir)
                .arg("--pidfile")
                .arg(&pidfile)
                .arg("--logfile")
                .arg(&log)
                .args(["--maxmemory", "256mb"])
                .current_dir(&rdir)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err);
            let status = cmd.status().with_context(|| {
                format!("running {} for the sandbox\n{HINT_REDIS}", bin.display())
            })?;
            if !status.success() {
                bail!(
                    "redis-server for the sandbox exited with {status}:\n{}\n{HINT_REDIS}",
                    log_tail(&console, 0, 20)
                );
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(pid) = read_pid_file(&pidfile) {
                    if redis_ping(port) {
                        self.state.redis_pid = Some(pid);
                        return Ok(());
                    }
                }
                let tail = log_tail(&log, log_start, 20);
                if tail.contains("Address already in use") && attempt < 3 {
                    self.state.redis_port = free_ports(1)?[0];
                    break;
                }
                if tail.contains("Could not create server TCP listening socket")
                    || Instant::now() > deadline
                {
                    bail!(
                        "redis-server for the sandbox did not answer PING on 127.0.0.1:{port} within 10 s\nlast lines of {}:\n{tail}\n{HINT_REDIS}",
                        log.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
        bail!("starting redis-server for the sandbox: no free port after 3 attempts")
    }

    fn load_demo(&self, scale: u32) -> anyhow::Result<()> {
        self.create_database(DEMO_DB)?;
        let scale = u64::from(scale.max(1));
        let sql = format!(
            "{}{}",
            crate::demo::EXTENSION_SQL,
            crate::demo::schema_and_data_sql(5000 * scale, 20000 * scale)
        );
        self.psql(DEMO_DB, &sql)
            .context("loading the demo data into opsbook_demo")?;
        Ok(())
    }

    /// A real `pg_dump -Fc`, so the morning check of a fresh sandbox finds a recent backup.
    fn backup_demo(&self) -> anyhow::Result<()> {
        let dir = self.state.dir.join("backups").join(DEMO_DB);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("setting the mode of {}", dir.display()))?;
        let file = dir.join(format!("{}.dump", backup_stamp(SystemTime::now())));
        // Created 0600 before pg_dump writes a byte: a dump is as secret as the database.
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .with_context(|| format!("creating the backup file {}", file.display()))?;
        let mut cmd = self.client("pg_dump");
        cmd.args(["-Fc", "-d", DEMO_DB]).stdout(out);
        let what = format!("backing up {DEMO_DB} to {} (pg_dump -Fc)", file.display());
        if let Err(e) = run(&mut cmd, &what, HINT_PG) {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
        Ok(())
    }

    /// A server binary run as the owner of the data directory: PostgreSQL refuses root, and a
    /// sandbox made by another user must be stopped as that user.
    fn pg_tool(&self, name: &str) -> Command {
        self.pg_tool_for(name, &self.data_dir())
    }

    /// As [`Sandbox::pg_tool`], run as the owner of `data`.
    fn pg_tool_for(&self, name: &str, data: &Path) -> Command {
        let mut cmd = Command::new(self.state.pg_bindir.join(name));
        scrub_pg_env(&mut cmd);
        cmd.stdin(Stdio::null());
        // The invoking user's cwd (/root) is not readable by postgres and initdb warns about it.
        cmd.current_dir(&self.state.dir);
        if euid() == 0 {
            if let Ok(meta) = std::fs::metadata(data) {
                if meta.uid() != 0 {
                    cmd.gid(meta.gid()).uid(meta.uid());
                    if let Some(a) = account_by_uid(meta.uid()) {
                        cmd.env("HOME", &a.home)
                            .env("USER", &a.name)
                            .env("LOGNAME", &a.name);
                    }
                }
            }
        }
        cmd
    }

    /// A client binary (psql, pg_dump) as the invoking user, over TCP, password from pgpass.
    fn client(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.state.pg_bindir.join(name));
        scrub_pg_env(&mut cmd);
        cmd.stdin(Stdio::null())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.state.pg_port.to_string())
            .env("PGUSER", "postgres")
            .env("PGPASSFILE", self.pgpass_path())
            .env("PGSSLMODE", "disable")
            .env("PGCONNECT_TIMEOUT", "10");
        cmd
    }

    /// A detached shell that stops the servers and removes the directory once the owner is
    /// gone, however it died: `atexit` does not run on SIGKILL or Ctrl-C.
    fn spawn_watchdog(&self, owner: u32) -> anyhow::Result<()> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg(WATCHDOG_TAG)
            .arg(&self.state.dir)
            .arg(owner.to_string());
        if owner == std::process::id() {
            // EOF on a pipe whose only writer is this process: immediate, and immune to pid reuse.
            cmd.arg("pipe").stdin(owner_pipe_reader()?);
        } else {
            cmd.arg("poll").stdin(Stdio::null());
        }
        cmd.env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C on the owner's terminal must not reach it.
        .process_group(0);
        let mut child = cmd
            .spawn()
            .context("starting the sandbox watchdog (/bin/sh) that cleans up after its owner")?;
        let pid = child.id();
        if let Err(e) = write_file(
            &self.state.dir.join(WATCHDOG_PID_FILE),
            format!("{pid}\n").as_bytes(),
            0o644,
        ) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        // Reaped when it exits, so a watchdog stopped by down() never lingers as a zombie.
        let _ = std::thread::Builder::new()
            .name("opsbook-sandbox-watchdog".into())
            .spawn(move || child.wait());
        Ok(())
    }

    fn stop_watchdog(&self) {
        let Some(pid) = watchdog_pid(&self.state.dir) else {
            return;
        };
        if pid > 1 && pid <= i32::MAX as u32 {
            // SAFETY: kill(2) has no memory effects; the pid was checked against /proc to be
            // this sandbox's watchdog, which leads its own process group (process_group(0)).
            unsafe {
                libc::kill(-(pid as i32), libc::SIGTERM);
            }
        }
        wait_gone(pid, Duration::from_secs(2));
    }
}

/// The sandbox of this test process: started on first use, stopped by an `atexit` handler
/// (and by the watchdog if the process is killed). Panics with what to install when it
/// cannot start: only test code calls it.
pub fn test_sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Result<Sandbox, String>> = OnceLock::new();
    extern "C" fn stop_at_exit() {
        // Unwinding out of an extern "C" fn would abort the exit.
        let _ = std::panic::catch_unwind(|| {
            if let Some(Ok(sb)) = SANDBOX.get() {
                let _ = sb.down();
            }
        });
    }
    let started = SANDBOX.get_or_init(|| {
        // up() reaps the sandboxes of dead test processes in the same temp dir first.
        let tmp = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let me = std::process::id();
        let opts = UpOptions {
            dir: tmp.join(format!("{TEST_PREFIX}{me}-{nanos}")),
            demo_data: false,
            demo_scale: 1,
            owner_pid: Some(me),
            redis: true,
        };
        let sb = Sandbox::up(&opts).map_err(|e| format!("{e:#}"))?;
        // SAFETY: registers a plain extern "C" fn that never unwinds.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        Ok(sb)
    });
    match started {
        Ok(sb) => sb,
        Err(msg) => panic!(
            "the test sandbox (a throwaway PostgreSQL + redis-server) could not start: {msg}\n\
             The integration tests need: apt-get install postgresql postgresql-contrib redis-server"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Watchdog

/// $1 = sandbox dir, $2 = owner pid, $3 = pipe|poll. Identifies each server by its pid file
/// AND its /proc cmdline before signalling, so a recycled pid is never hit.
const WATCHDOG_SCRIPT: &str = r#"
trap '' HUP INT
dir=$1
owner=$2
if [ "$3" = pipe ]; then
    while read -r _; do :; done
else
    while [ -d "/proc/$owner" ]; do sleep 1; done
fi
[ -f "$dir/sandbox.json" ] || exit 0
runs() { [ -n "$1" ] && tr '\000' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }
pg=$(head -n 1 "$dir/pg/data/postmaster.pid" 2>/dev/null)
rd=$(head -n 1 "$dir/redis/redis.pid" 2>/dev/null)
runs "$pg" "$dir/pg/data" || pg=
runs "$rd" redis || rd=
spares=
for f in "$dir"/spare/*/postmaster.pid; do
    p=$(head -n 1 "$f" 2>/dev/null)
    runs "$p" "${f%/postmaster.pid}" && kill -INT "$p" 2>/dev/null && spares="$spares $p"
done
[ -n "$pg" ] && kill -INT "$pg" 2>/dev/null
[ -n "$rd" ] && kill -TERM "$rd" 2>/dev/null
for p in $spares; do
    i=0
    while [ "$i" -lt 50 ] && [ -d "/proc/$p" ]; do sleep 0.2; i=$((i + 1)); done
    kill -KILL "$p" 2>/dev/null
done
i=0
while [ "$i" -lt 50 ]; do
    runs "$pg" "$dir/pg/data" || runs "$rd" redis || break
    sleep 0.2
    i=$((i + 1))
done
runs "$pg" "$dir/pg/data" && kill -KILL "$pg" 2>/dev/null
runs "$rd" redis && kill -KILL "$rd" 2>/dev/null
rm -rf -- "$dir"
"#;

/// The read end of a pipe whose write end this process holds until it dies. Both ends are
/// close-on-exec, so no server we start keeps the owner "alive".
fn owner_pipe_reader() -> anyhow::Result<std::io::PipeReader> {
    static PIPE: OnceLock<Result<(std::io::PipeReader, std::io::PipeWriter), String>> =
        OnceLock::new();
    let pipe = PIPE.get_or_init(|| std::io::pipe().map_err(|e| e.to_string()));
    match pipe {
        Ok((reader, _writer)) => reader.try_clone().context("duplicating the watchdog pipe"),
        Err(e) => bail!("creating the watchdog pipe: {e}"),
    }
}

fn watchdog_pid(dir: &Path) -> Option<u32> {
    let pid = read_pid_file(&dir.join(WATCHDOG_PID_FILE))?;
    let marker = format!("{WATCHDOG_TAG} {}", dir.display());
    pid_runs(pid, &marker).then_some(pid)
}

fn watchdog_alive(dir: &Path) -> bool {
    watchdog_pid(dir).is_some()
}

// ---------------------------------------------------------------------------------------------
// Finding the binaries

fn find_pg_bindir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = newest_versioned_bindir(Path::new("/usr/lib/postgresql")) {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && is_executable(&dir.join("initdb")) {
            return Ok(dir);
        }
    }
    if let Some(initdb) = which("initdb") {
        if let Some(dir) = initdb.parent() {
            return Ok(dir.to_path_buf());
        }
    }
    bail!("PostgreSQL server binaries not found (no initdb in /usr/lib/postgresql/*/bin, `pg_config --bindir` or PATH)\n{HINT_PG}")
}

/// Highest `<root>/<major>/bin` holding initdb: several majors side by side is normal on Debian.
fn newest_versioned_bindir(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .flatten()
        .filter_map(|e| {
            let version = parse_version(&e.file_name().to_string_lossy())?;
            let bin = e.path().join("bin");
            is_executable(&bin.join("initdb")).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version directory.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|p| p.parse().ok()).collect()
}

fn pg_server_version(bindir: &Path) -> anyhow::Result<String> {
    let postgres = bindir.join("postgres");
    let out = Command::new(&postgres)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} --version\n{HINT_PG}", postgres.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_pg_version(&text).ok_or_else(|| {
        anyhow!(
            "unexpected output of {} --version: {}\n{HINT_PG}",
            postgres.display(),
            text.trim()
        )
    })
}

/// "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)" -> "15.14"
fn parse_pg_version(out: &str) -> Option<String> {
    let rest = out.split_once("(PostgreSQL)")?.1;
    let v = rest.split_whitespace().next()?;
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

fn pg_major(version: &str) -> u32 {
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

fn find_redis_server() -> anyhow::Result<PathBuf> {
    let usual = Path::new("/usr/bin/redis-server");
    if is_executable(usual) {
        return Ok(usual.to_path_buf());
    }
    which("redis-server")
        .ok_or_else(|| anyhow!("redis-server not found (not in /usr/bin nor PATH)\n{HINT_REDIS}"))
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

// ---------------------------------------------------------------------------------------------
// Accounts and directories

#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

fn postgres_account() -> anyhow::Result<Account> {
    let account = account_by_name("postgres").ok_or_else(|| {
        anyhow!("PostgreSQL refuses to run as root and there is no `postgres` system user to run it as\n{HINT_PG}\nhint: or run `opsbook sandbox up` as an ordinary user")
    })?;
    if account.uid == 0 {
        bail!("the `postgres` system user has uid 0; PostgreSQL refuses to run as root\nhint: give it its own uid, or run `opsbook sandbox up` as an ordinary user");
    }
    Ok(account)
}

pub fn account_by_name(name: &str) -> Option<Account> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam_r writes only into the passwd struct and buffer we own (the reentrant
    // variant, since test threads may look accounts up concurrently).
    passwd_lookup(|pwd, buf, len, result| unsafe {
        libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, result)
    })
}

pub fn account_by_uid(uid: u32) -> Option<Account> {
    // SAFETY: as in account_by_name.
    passwd_lookup(|pwd, buf, len, result| unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) })
}

fn passwd_lookup(
    lookup: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> Option<Account> {
    let mut buf: Vec<libc::c_char> = vec![0; 16 * 1024];
    // SAFETY: passwd is plain old data; all-zero is a valid (empty) value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = lookup(&mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success the strings point into `buf`, NUL-terminated, alive until `buf` drops.
    let (name, home) = unsafe {
        let name = std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_string_lossy()
            .into_owned();
        let home = if pwd.pw_dir.is_null() {
            String::from("/")
        } else {
            std::ffi::CStr::from_ptr(pwd.pw_dir)
                .to_string_lossy()
                .into_owned()
        };
        (name, home)
    };
    Some(Account {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home: PathBuf::from(home),
    })
}

fn has_entries(dir: &Path) -> anyhow::Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => {
            Err(anyhow!(e).context(format!("reading the sandbox directory {}", dir.display())))
        }
    }
}

/// create_dir_all, with the directories we create (not pre-existing ones) made 0755: the
/// postgres user has to walk through them, whatever our umask.
fn create_dir_reachable(dir: &Path) -> anyhow::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|p| !p.exists()).collect();
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the sandbox directory {}", dir.display()))?;
    for p in missing.iter().chain(std::iter::once(&dir)) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting the mode of {}", p.display()))?;
    }
    Ok(())
}

/// Every ancestor must be searchable by the postgres user. Only its primary group counts:
/// std drops supplementary groups when it switches uid.
fn check_reachable(dir: &Path, from: &Path, a: &Account) -> anyhow::Result<()> {
    for p in from.ancestors() {
        let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        let mode = meta.mode();
        let bit = if meta.uid() == a.uid {
            0o100
        } else if meta.gid() == a.gid {
            0o010
        } else {
            0o001
        };
        if mode & bit == 0 {
            bail!(
                "the {} user cannot reach {}: {} is mode {:o}\nhint: put the sandbox under /tmp (--dir /tmp/opsbook-sandbox), or `chmod o+x {}`",
                a.name,
                dir.display(),
                p.display(),
                mode & 0o7777,
                p.display()
            );
        }
    }
    Ok(())
}

fn clear_dir(dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let p = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        removed.with_context(|| format!("removing {}", p.display()))?;
    }
    Ok(())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Create or truncate with `mode` (set again in case the file already existed).
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and ports

fn scrub_pg_env(cmd: &mut Command) {
    // Any inherited PG* (PGSERVICE, PGPASSWORD, PGDATA, PGOPTIONS...) could point a tool at the
    // machine's own cluster or change how it behaves.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&k);
        }
    }
}

/// Run to completion; stdout on success, else an error naming `what` with stderr's tail.
fn run(cmd: &mut Command, what: &str, hint: &str) -> anyhow::Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd
        .output()
        .with_context(|| format!("{what}: could not run {program}\n{hint}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = last_lines(stderr.trim(), 15);
    let tail = if tail.is_empty() {
        String::from("(no output)")
    } else {
        tail
    };
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!("\n{hint}")
    };
    bail!("{what} failed ({}):\n{tail}{hint}", out.status)
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines written to a log since byte `from`.
fn log_tail(path: &Path, from: u64, n: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        use std::io::Seek as _;
        if f.seek(std::io::SeekFrom::Start(from)).is_ok() {
            let _ = f.read_to_string(&mut text);
        }
    }
    let tail = last_lines(text.trim_end(), n);
    if tail.is_empty() {
        String::from("  (empty)")
    } else {
        tail.lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Kernel-chosen loopback ports, all held at once so they differ, then released for the
/// servers to bind.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .context("finding a free port on 127.0.0.1")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr().context("reading a free port")?.port()))
        .collect()
}

fn port_accepts(port: u16) -> bool {
    port != 0
        && TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(500),
        )
        .is_ok()
}

fn redis_ping(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

pub fn read_pid_file(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().next()?.trim().parse().ok().filter(|&p| p > 1)
}

/// Alive and not a zombie: daemonised servers are reparented to PID 1, which in containers
/// may never reap them, and kill(pid, 0) succeeds on a zombie.
fn pid_alive(pid: u32) -> bool {
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

fn signal(pid: u32, sig: libc::c_int) {
    // pid 0 and negative pids address process groups: never send those by accident.
    if pid > 1 && pid <= i32::MAX as u32 {
        // SAFETY: kill(2) has no memory effects.
        unsafe {
            libc::kill(pid as i32, sig);
        }
    }
}

fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while pid_alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Formats

fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the sandbox password")?;
    // Hex: nothing that pgpass, URLs or shells would need escaped.
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// pgpass fields escape ':' and '\'.
fn pgpass_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

fn pgpass_lines(port: u16, password: &str) -> String {
    let pw = pgpass_escape(password);
    format!("127.0.0.1:{port}:*:postgres:{pw}\nlocalhost:{port}:*:postgres:{pw}\n")
}

fn pgpass_split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

fn pgpass_lookup(text: &str, host: &str, port: u16, user: &str) -> Option<String> {
    let port = port.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(pgpass_split)
        .find(|f| {
            f.len() == 5
                && (f[0] == host || f[0] == "*")
                && (f[1] == port || f[1] == "*")
                && (f[3] == user || f[3] == "*")
        })
        .map(|mut f| f.swap_remove(4))
}

/// A string literal inside postgresql.conf.
fn conf_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// sun_path is 108 bytes; a longer socket path makes the postmaster refuse to start, and we
/// only use TCP, so then no socket at all.
fn socket_dir_setting(dir: &Path) -> String {
    let sock = dir.join("pg/socket");
    let s = sock.to_string_lossy();
    if s.len() + "/.s.PGSQL.65535".len() < 108 {
        s.into_owned()
    } else {
        String::new()
    }
}

fn conf_block(dir: &Path, port: u16) -> String {
    format!(
        "# opsbook sandbox: a throwaway cluster, so durability is traded for speed\n\
         listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = {}\n\
         shared_preload_libraries = 'pg_stat_statements'\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         max_connections = 300\n\
         logging_collector = off\n",
        conf_quote(&socket_dir_setting(dir))
    )
}

/// Plain when safe, else a double-quoted scalar (JSON strings are valid YAML).
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._:@-+".contains(c))
        && !s.starts_with(['@', ':', '-'])
        && !s.contains(": ");
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

fn opsbook_yaml(sb: &Sandbox) -> String {
    let d = &sb.state.dir;
    format!(
        "# written by `opsbook sandbox up`; the sandbox's servers are not systemd units\n\
         postgres:\n  url: {}\n\
         redis:\n  url: {}\n\
         backup:\n  dir: {}\n\
         services: []\n\
         host:\n  data_dir: {}\n",
        yaml_scalar(&sb.pg_url(sb.database())),
        yaml_scalar(&sb.redis_url()),
        yaml_scalar(&d.join("backups").to_string_lossy()),
        yaml_scalar(&d.join("pg/data").to_string_lossy()),
    )
}

fn url_path_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// First line, shortened: enough to say which statement failed without dumping a script.
fn sql_summary(sql: &str) -> String {
    let first = sql.trim().lines().next().unwrap_or("");
    if first.chars().count() > 80 || sql.trim().lines().nth(1).is_some() {
        format!("{}...", first.chars().take(80).collect::<String>())
    } else {
        first.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let ports = free_ports(3).unwrap();
        assert_eq!(ports.len(), 3);
        assert!(ports.iter().all(|&p| p != 0));
        assert!(ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2]);
        for p in ports {
            TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap();
        }
    }

    #[test]
    fn pgpass_lines_have_both_hosts_and_escape() {
        assert_eq!(
            pgpass_lines(5433, "abc123"),
            "127.0.0.1:5433:*:postgres:abc123\nlocalhost:5433:*:postgres:abc123\n"
        );
        let text = pgpass_lines(6000, r"a:b\c");
        assert!(text.starts_with(r"127.0.0.1:6000:*:postgres:a\:b\\c"));
        assert_eq!(
            pgpass_lookup(&text, "127.0.0.1", 6000, "postgres").as_deref(),
            Some(r"a:b\c")
        );
        assert_eq!(pgpass_lookup(&text, "127.0.0.1", 6001, "postgres"), None);
        assert_eq!(
            pgpass_lookup("# c\n*:*:*:*:pw\n", "127.0.0.1", 1, "x").as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn password_is_48_hex_chars_and_random() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("common"), None);
        assert!(parse_version("17") > parse_version("9.6"));
        assert_eq!(
            parse_pg_version("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n").as_deref(),
            Some("15.14")
        );
        assert_eq!(
            parse_pg_version("postgres (PostgreSQL) 17beta1").as_deref(),
            Some("17beta1")
        );
        assert_eq!(parse_pg_version("garbage"), None);
        assert_eq!(pg_major("15.14"), 15);
        assert_eq!(pg_major("17beta1"), 17);
    }

    #[test]
    fn newest_bindir_wins() {
        let root = std::env::temp_dir().join(format!("opsbook-sbx-unit-{}", std::process::id()));
        for v in ["9.6", "15", "16", "common"] {
            let bin = root.join(v).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            if v != "16" {
                let f = bin.join("initdb");
                std::fs::write(&f, "").unwrap();
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        assert_eq!(newest_versioned_bindir(&root), Some(root.join("15/bin")));
        std::fs::remove_dir_all(&root).unwrap();
    }

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
