//! The sandbox's PostgreSQL: initdb, the settings appended to postgresql.conf, pg_ctl start
//! and stop (of the main cluster and of spare clusters made from it), psql, and databases.
//! The commands themselves (as which account, with which environment) are built in `exec`.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};

use super::bins::pg_major;
use super::exec::{free_ports, log_tail, run};
use super::files::{clear_dir, has_entries, write_file, RemoveOnDrop};
use super::{Sandbox, HINT_PG};
use crate::passwd::{by_name as account_by_name, euid, Account};
use crate::process::{pid_runs, read_pid_file, signal, wait_gone};
use crate::sql::quote_ident;

impl Sandbox {
    /// `psql -X -A -t -q -v ON_ERROR_STOP=1 -c SQL` over TCP with the pgpass credentials;
    /// stdout trimmed. `-q` keeps command tags ("INSERT 0 1") out of the result, so a script
    /// ending in a SELECT returns just its rows.
    pub fn psql(&self, db: &str, sql: &str) -> anyhow::Result<String> {
        self.psql_hinted(
            db,
            sql,
            "the sandbox",
            "hint: is the sandbox up? `opsbook sandbox status`",
        )
    }

    /// [`Sandbox::psql`] with the hint its failure carries (a restore test's throwaway
    /// cluster is not the operator's sandbox).
    pub(super) fn psql_hinted(
        &self,
        db: &str,
        sql: &str,
        whose: &str,
        hint: &str,
    ) -> anyhow::Result<String> {
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
            "psql on database {db} of {whose} (port {}) running `{}`",
            self.state.pg_port,
            sql_summary(sql)
        );
        let out = run(&mut cmd, &what, hint)?;
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

    pub(super) fn stop_spare_clusters(&self) -> anyhow::Result<()> {
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

    pub(super) fn make_layout(&self, run_as: Option<&Account>) -> anyhow::Result<()> {
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

    pub(super) fn initdb(&self, run_as: Option<&Account>, password: &str) -> anyhow::Result<()> {
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
    pub(super) fn start_new_postgres(&mut self) -> anyhow::Result<()> {
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
}

pub(super) fn postgres_account() -> anyhow::Result<Account> {
    let account = account_by_name("postgres").ok_or_else(|| {
        anyhow!("PostgreSQL refuses to run as root and there is no `postgres` system user to run it as\n{HINT_PG}\nhint: or run `opsbook sandbox up` as an ordinary user")
    })?;
    if account.uid == 0 {
        bail!("the `postgres` system user has uid 0; PostgreSQL refuses to run as root\nhint: give it its own uid, or run `opsbook sandbox up` as an ordinary user");
    }
    Ok(account)
}

/// A string literal inside postgresql.conf.
pub(super) fn conf_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// sun_path is 108 bytes; a longer socket path makes the postmaster refuse to start, and we
/// only use TCP, so then no socket at all.
pub(super) fn socket_dir_setting(dir: &Path) -> String {
    let sock = dir.join("pg/socket");
    let s = sock.to_string_lossy();
    if s.len() + "/.s.PGSQL.65535".len() < 108 {
        s.into_owned()
    } else {
        String::new()
    }
}

pub(super) fn conf_block(dir: &Path, port: u16) -> String {
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

/// First line, shortened: enough to say which statement failed without dumping a script.
pub(super) fn sql_summary(sql: &str) -> String {
    let first = sql.trim().lines().next().unwrap_or("");
    if first.chars().count() > 80 || sql.trim().lines().nth(1).is_some() {
        format!("{}...", first.chars().take(80).collect::<String>())
    } else {
        first.to_string()
    }
}
