//! `pitr setup`: the stanza's pgBackRest config file, the repository directory, and the
//! server's archive_mode / archive_command (through ALTER SYSTEM), then `stanza-create` and
//! `check`. Idempotent: run again after the restart archive_mode needs, it finds everything in
//! place and runs the check. With a remote, the stanza also has an S3 repository (repo2,
//! `s3repo`): archive-push writes every segment to both.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};

use super::s3repo::S3Repo;
use super::{pgbackrest, plain, Stanza};
use crate::clients::postgres::PgClient;
use crate::replication::pg_ctl;
use crate::report::{Finding, Status};
use crate::sql::quote_literal;

/// What the server tells about itself that the stanza needs.
#[derive(Debug, Clone)]
pub struct Server {
    pub data_dir: PathBuf,
    pub port: u16,
    /// the first unix_socket_directories entry; pgBackRest reaches a local server by socket
    pub socket_dir: Option<PathBuf>,
    pub archive_mode: String,
    pub archive_command: String,
}

const SERVER_SQL: &str = "SELECT current_setting('data_directory'), current_setting('port')::int, \
     current_setting('unix_socket_directories'), current_setting('archive_mode'), \
     current_setting('archive_command')";

pub async fn observe(pg: &PgClient) -> anyhow::Result<Server> {
    let row = pg.client.query_one(SERVER_SQL, &[]).await.context(
        "pitr setup: reading data_directory, port and the archive settings (needs a superuser)",
    )?;
    let sockets: String = row.try_get(2)?;
    let socket_dir = sockets
        .split(',')
        .map(str::trim)
        .find(|s| !s.is_empty() && !s.starts_with('@'))
        .map(PathBuf::from);
    Ok(Server {
        data_dir: PathBuf::from(row.try_get::<_, String>(0)?),
        port: row.try_get::<_, i32>(1)? as u16,
        socket_dir,
        archive_mode: row.try_get(3)?,
        archive_command: row.try_get(4)?,
    })
}

/// The archive_command pgBackRest pushes WAL with.
pub fn archive_command(stanza: &Stanza) -> String {
    format!(
        "pgbackrest --config={} --stanza={} archive-push %p",
        stanza.conf.display(),
        stanza.name
    )
}

/// The stanza's config file: a local repository and the remote's S3 repository as repo2, or
/// (`--remote-only`) the S3 repository alone as repo1; synchronous archive-push, full-backup
/// retention, logs and locks in the local directory.
pub fn conf_text(
    stanza: &Stanza,
    repo: &Path,
    server: &Server,
    retention_full: u32,
    s3: Option<&S3Repo>,
) -> String {
    let socket = server
        .socket_dir
        .as_ref()
        .map(|s| format!("pg1-socket-path={}\n", s.display()))
        .unwrap_or_default();
    let local = match s3 {
        Some(r) if r.index == 1 => String::new(),
        _ => format!(
            "repo1-path={}\nrepo1-retention-full={retention_full}\n",
            repo.display()
        ),
    };
    let s3 = s3.map(|r| r.lines(retention_full)).unwrap_or_default();
    format!(
        "# written by `opsbook pitr setup`: run it again rather than editing (it rewrites this file)\n\
         [global]\n\
         {local}\
         {s3}\
         archive-async=n\n\
         start-fast=y\n\
         log-path={repo}/log\n\
         lock-path={repo}/lock\n\
         log-level-console=warn\n\
         log-level-file=info\n\
         \n\
         [{name}]\n\
         pg1-path={data}\n\
         pg1-port={port}\n\
         {socket}",
        repo = repo.display(),
        name = stanza.name,
        data = server.data_dir.display(),
        port = server.port,
    )
}

/// The steps, in words, for the confirmation.
pub fn plan(stanza: &Stanza, repo: &Path, server: &Server, s3: Option<&S3Repo>) -> Vec<String> {
    let remote_only = s3.is_some_and(|r| r.index == 1);
    let mut steps = vec![format!(
        "write {} (mode {:o}; {}={}, pg1-path={}, pg1-port={})",
        stanza.conf.display(),
        conf_mode(s3),
        if remote_only {
            "log-path"
        } else {
            "repo1-path"
        },
        repo.display(),
        server.data_dir.display(),
        server.port
    )];
    if let Some(r) = s3 {
        steps.push(r.describe());
    }
    steps.extend([
        format!(
            "create {} {} for the PostgreSQL account",
            if remote_only {
                "the directory of pgBackRest's logs and locks"
            } else {
                "the repository"
            },
            repo.display()
        ),
        format!(
            "ALTER SYSTEM SET archive_mode = on; ALTER SYSTEM SET archive_command = '{}'; SELECT pg_reload_conf()",
            archive_command(stanza)
        ),
        format!("pgbackrest stanza-create --stanza={}", stanza.name),
    ]);
    if server.archive_mode == "off" {
        steps.push(
            "archive_mode takes effect only on a restart of PostgreSQL: opsbook does not restart it, it prints the command".to_string(),
        );
    } else {
        steps.push(format!("pgbackrest check --stanza={}", stanza.name));
    }
    steps
}

pub fn validate(stanza: &Stanza, repo: &Path) -> anyhow::Result<()> {
    if !plain(&stanza.name) || stanza.name.contains('/') {
        bail!(
            "pitr setup: stanza name `{}`: use letters, digits, _ . and -",
            stanza.name
        );
    }
    for p in [&stanza.conf, &repo.to_path_buf()] {
        if !p.is_absolute() || !plain(&p.to_string_lossy()) {
            bail!("pitr setup: {}: give an absolute path of letters, digits, / _ . and - (it goes into archive_command and pgBackRest's config unquoted)", p.display());
        }
    }
    Ok(())
}

/// 0600 when the file holds the S3 keys or the repository passphrase, else 0640.
pub fn conf_mode(s3: Option<&S3Repo>) -> u32 {
    if s3.is_some_and(S3Repo::has_secret) {
        0o600
    } else {
        0o640
    }
}

/// Write the config file (`mode`, owned by the PostgreSQL account so archive-push can read
/// it) and create the repository (0750, same owner).
pub fn write_files(stanza: &Stanza, repo: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let owner = pg_ctl::standby_owner()?;
    if let Some(dir) = stanza.conf.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::atomic_file::write_atomic_mode(&stanza.conf, text.as_bytes(), mode)
        .with_context(|| format!("writing {}", stanza.conf.display()))?;
    std::fs::create_dir_all(repo).with_context(|| format!("creating {}", repo.display()))?;
    std::fs::set_permissions(repo, std::fs::Permissions::from_mode(0o750))
        .with_context(|| format!("setting the mode of {}", repo.display()))?;
    // pgBackRest does not create its log and lock directories.
    let (log, lock) = (repo.join("log"), repo.join("lock"));
    for d in [&log, &lock] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    if let Some(a) = owner {
        for p in [stanza.conf.as_path(), repo, &log, &lock] {
            std::os::unix::fs::chown(p, Some(a.uid), Some(a.gid))
                .with_context(|| format!("handing {} to {}", p.display(), a.name))?;
        }
    }
    Ok(())
}

/// ALTER SYSTEM for both settings and a reload; archive_command applies at once,
/// archive_mode at the next restart.
pub async fn apply_settings(pg: &PgClient, stanza: &Stanza) -> anyhow::Result<()> {
    for sql in [
        "ALTER SYSTEM SET archive_mode = 'on'".to_string(),
        format!(
            "ALTER SYSTEM SET archive_command = {}",
            quote_literal(&archive_command(stanza))
        ),
        "SELECT pg_reload_conf()".to_string(),
    ] {
        pg.client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("pitr setup: {sql}"))?;
    }
    Ok(())
}

/// The command that restarts the server: its systemd unit when it runs under one, else
/// pg_ctl as the data directory's owner.
pub fn restart_command(data_dir: &Path) -> String {
    if let Some(unit) = pg_ctl::running_pid(data_dir).and_then(pg_ctl::systemd_unit) {
        return format!("systemctl restart {unit}");
    }
    let owner = pg_ctl::owner_of(data_dir).ok().flatten();
    let cmd = format!("pg_ctl -D {} restart -m fast", data_dir.display());
    match owner {
        Some(a) => format!("su {} -c '{cmd}'", a.name),
        None => cmd,
    }
}

/// stanza-create, then check when archive_mode is on; a finding each.
pub fn create_and_check(stanza: &Stanza, server_mode_on: bool, data_dir: &Path) -> Vec<Finding> {
    let mut out = vec![match pgbackrest::run(stanza, &[], "stanza-create") {
        Ok(_) => Finding::ok(
            "pitr.stanza",
            format!("stanza {} is created in the repository", stanza.name),
        ),
        Err(e) => Finding::new("pitr.stanza", Status::Critical, crate::report::one_line(&e))
            .hint("fix the cause above and run `opsbook pitr setup` again"),
    }];
    if out[0].status != Status::Ok {
        return out;
    }
    if !server_mode_on {
        out.push(
            Finding::new(
                "pitr.restart",
                Status::Warning,
                "archive_mode=on is set but waits for a restart of PostgreSQL; WAL is not archived until then",
            )
            .hint(format!(
                "restart PostgreSQL: `{}`, then run the same `opsbook pitr setup` again to check archiving",
                restart_command(data_dir)
            )),
        );
        return out;
    }
    out.push(match pgbackrest::run(stanza, &[], "check") {
        Ok(_) => Finding::ok(
            "pitr.check",
            "pgbackrest check: a WAL segment was archived and found in the repository",
        ),
        Err(e) => Finding::new("pitr.check", Status::Critical, crate::report::one_line(&e))
            .hint("the archiver's error is in the PostgreSQL log; `opsbook pitr status` shows pg_stat_archiver"),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_and_command_name_the_stanza() {
        let st = Stanza {
            name: "main".into(),
            conf: PathBuf::from("/etc/pgbackrest/opsbook-main.conf"),
        };
        let server = Server {
            data_dir: PathBuf::from("/var/lib/postgresql/15/main"),
            port: 5433,
            socket_dir: Some(PathBuf::from("/var/run/postgresql")),
            archive_mode: "off".into(),
            archive_command: String::new(),
        };
        let text = conf_text(&st, Path::new("/var/lib/pgbackrest"), &server, 2, None);
        assert!(text.contains("[main]\npg1-path=/var/lib/postgresql/15/main\npg1-port=5433\npg1-socket-path=/var/run/postgresql\n"));
        assert!(text.contains("archive-async=n\n"));
        assert!(text.contains("repo1-retention-full=2\n"));
        assert_eq!(
            archive_command(&st),
            "pgbackrest --config=/etc/pgbackrest/opsbook-main.conf --stanza=main archive-push %p"
        );
        assert!(validate(&st, Path::new("/var/lib/pgbackrest")).is_ok());
        // Remote-only: the S3 repository is repo1 and there is no local one.
        let remote = crate::config::parse("remotes:\n  off:\n    bucket: bkt\n", "f").unwrap();
        let mut s3 = crate::pitr::s3repo::resolve("off", &remote.remotes["off"]).unwrap();
        s3.index = 1;
        let only = conf_text(&st, Path::new("/var/lib/pgbackrest"), &server, 2, Some(&s3));
        assert!(
            only.contains("repo1-type=s3\nrepo1-s3-bucket=bkt\n"),
            "{only}"
        );
        assert!(
            !only.contains("repo1-path=/var") && !only.contains("repo2"),
            "{only}"
        );
        assert!(
            only.contains("log-path=/var/lib/pgbackrest/log\n"),
            "{only}"
        );
        assert!(
            plan(&st, Path::new("/var/lib/pgbackrest"), &server, Some(&s3))[0]
                .contains("log-path=")
        );
        assert!(validate(&st, Path::new("/tmp/a b")).is_err());
    }
}
