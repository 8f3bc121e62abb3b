//! `pitr setup|backup|status` and `restore --to` against a cluster of this file's own (the
//! shared sandbox must never get archive_mode): setup, the restart it asks for, a full
//! backup, rows A, a time from the server, rows B, a WAL switch; then a recovery to that time
//! shows A and not B, beside the live cluster. A broken archive_command is CRITICAL in
//! `pitr status` and `check morning`. Skipped, saying why, when pgbackrest is not installed.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use opsbook::sandbox::Sandbox;
use serde_json::Value;

use super::harness::{closed_port, opsbook, own_cluster, wait_until, Opsbook, Run, Scratch};

/// The cluster that gets archive_mode; `down` also stops clusters in its spare directories.
pub(crate) struct Cluster(pub(crate) Sandbox);

impl Cluster {
    pub(crate) fn up() -> Cluster {
        Cluster(own_cluster("pitr"))
    }

    pub(crate) fn restart(&self) {
        self.0.stop_postgres().unwrap();
        self.0.start_cluster(&self.0.data_dir()).unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.0.down();
    }
}

pub(crate) fn pgbackrest_installed() -> bool {
    Command::new("pgbackrest")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `opsbook ARGS` as postgres on the cluster, with the config that names the stanza.
pub(crate) fn at(c: &Cluster, pgpass: &Path, config: &Path, args: &[&str]) -> Opsbook {
    opsbook(args)
        .config(config)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", c.0.state.pg_port.to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", "postgres")
        .env("PGPASSFILE", pgpass.to_str().unwrap())
        .env("PGSSLMODE", "disable")
        .env(
            "REDIS_URL",
            format!("redis://127.0.0.1:{}/0", closed_port()),
        )
}

/// psql over a unix socket (the recovered cluster listens on no TCP port).
pub(crate) fn psql_socket(socket: &str, port: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args([
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            socket,
            "-p",
            port,
        ])
        .args(["-U", "postgres", "-d", "postgres", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub(crate) fn status_of(j: &Value, id: &str) -> String {
    Run::one(j, id)["status"].as_str().unwrap().to_string()
}

pub(crate) fn detail_value(j: &Value, id: &str, key: &str) -> String {
    Run::one(j, id)["detail"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str()?.strip_prefix(&format!("{key}=")))
        .next()
        .unwrap_or_else(|| panic!("{id} has no {key}= detail: {j}"))
        .to_string()
}

#[test]
fn setup_backup_then_restore_to_a_time_shows_the_first_rows_and_not_the_second() {
    if !pgbackrest_installed() {
        eprintln!("skipped: pgbackrest is not installed (apt-get install pgbackrest, or .ci/deps)");
        return;
    }
    let c = Cluster::up();
    let scratch = Scratch::new("pitr");
    let pgpass = scratch.write(
        "pgpass",
        &format!("127.0.0.1:*:*:postgres:{}\n", c.0.password().unwrap()),
        0o600,
    );
    let repo: PathBuf = c.0.state.dir.join("pgbackrest");
    let conf: PathBuf = c.0.state.dir.join("pgbackrest-t.conf");
    let config = scratch.write(
        "opsbook.yaml",
        &format!(
            "services: []\nthresholds:\n  disk_pct: {{warning: 99.5, critical: 99.9}}\n  memory_pct: {{warning: 99.5, critical: 99.9}}\npitr:\n  stanza: t\n  config: {}\n",
            conf.display()
        ),
        0o600,
    );
    let sql = |q: &str| c.0.psql("postgres", q).unwrap();
    let setup_args = ["pitr", "setup", "--repo", repo.to_str().unwrap(), "--yes"];

    // Not confirmed: nothing is written.
    let refused = at(&c, &pgpass, &config, &setup_args[..4]).run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(!conf.exists());

    // First setup: the files, the settings, the stanza; archive_mode waits for a restart.
    let first = at(&c, &pgpass, &config, &setup_args).format("json").run();
    assert_eq!(first.code, 1, "{first}");
    let j = first.json();
    assert_eq!(status_of(&j, "pitr.restart"), "warning", "{j}");
    assert_eq!(status_of(&j, "pitr.stanza"), "ok", "{j}");
    let meta = std::fs::metadata(&conf).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    let owner = std::fs::metadata(c.0.data_dir()).unwrap().uid();
    assert_eq!(meta.uid(), owner);
    assert_eq!(std::fs::metadata(&repo).unwrap().uid(), owner);
    // ALTER SYSTEM wrote both; SHOW says "(disabled)" while archive_mode is off.
    let auto = std::fs::read_to_string(c.0.data_dir().join("postgresql.auto.conf")).unwrap();
    assert!(auto.contains("archive_mode = 'on'"), "{auto}");
    assert!(auto.contains("--stanza=t archive-push %p'"), "{auto}");
    assert_eq!(sql("SHOW archive_mode"), "off");

    // The test restarts its own cluster; setup again checks archiving end to end.
    c.restart();
    let second = at(&c, &pgpass, &config, &setup_args).format("json").run();
    assert_eq!(second.code, 0, "{second}");
    assert_eq!(status_of(&second.json(), "pitr.check"), "ok");

    let backup = at(&c, &pgpass, &config, &["pitr", "backup", "--type", "full"])
        .format("json")
        .run();
    assert_eq!(backup.code, 0, "{backup}");
    let j = backup.json();
    assert_eq!(status_of(&j, "pitr.backup"), "ok");
    assert!(
        Run::one(&j, "pitr.backups")["summary"]
            .as_str()
            .unwrap()
            .contains("1 backups (1 full)"),
        "{j}"
    );

    // pgBackRest picks a backup that stopped (whole seconds) before the target.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Rows A, a time the server gives after their commit, a second, rows B, a WAL switch.
    sql("CREATE TABLE rows_a (i int); INSERT INTO rows_a SELECT generate_series(1, 100)");
    let target = sql("SELECT now()::text");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sql("CREATE TABLE rows_b (i int); INSERT INTO rows_b SELECT generate_series(1, 50); INSERT INTO rows_a VALUES (-1)");
    let segment = sql("SELECT pg_walfile_name(pg_switch_wal())");
    wait_until("the switched segment to be archived", || {
        sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= segment
    });

    let status = at(&c, &pgpass, &config, &["pitr", "status"])
        .format("json")
        .run();
    assert_eq!(status.code, 0, "{status}");
    assert_eq!(status_of(&status.json(), "pitr.archiver"), "ok");

    // Recover to the noted time beside the live cluster and promote it.
    let new_dir = c.0.spare_dir("recovered").unwrap();
    let restored = at(
        &c,
        &pgpass,
        &config,
        &[
            "restore",
            "--to",
            &target,
            "--data-dir",
            new_dir.to_str().unwrap(),
            "--yes",
            "--promote",
        ],
    )
    .format("json")
    .run();
    assert_eq!(restored.code, 0, "{}", restored.stdout);
    let j = restored.json();
    assert_eq!(status_of(&j, "pitr.target"), "ok", "{j}");
    assert_eq!(status_of(&j, "pitr.promote"), "ok", "{j}");
    let socket = detail_value(&j, "pitr.promote", "socket");
    let port = detail_value(&j, "pitr.promote", "port");
    assert_eq!(
        psql_socket(&socket, &port, "SELECT count(*) FROM rows_a"),
        "100"
    );
    assert_eq!(
        psql_socket(
            &socket,
            &port,
            "SELECT count(*) FROM pg_class WHERE relname = 'rows_b'"
        ),
        "0"
    );
    assert_eq!(
        psql_socket(&socket, &port, "SELECT pg_is_in_recovery()"),
        "f"
    );
    // The live cluster is untouched.
    assert_eq!(sql("SELECT count(*) FROM rows_b"), "50");
    assert_eq!(sql("SELECT count(*) FROM rows_a"), "101");

    // Before any drill, the morning check says none is on record.
    let state = Scratch::new("pitr-state");
    let morning = at(&c, &pgpass, &config, &["check", "morning", "--no-record"])
        .state_dir(state.path())
        .format("json")
        .run();
    let j = morning.json();
    assert_eq!(status_of(&j, "pitr.rehearsal_age"), "warning", "{morning}");
    assert!(
        Run::one(&j, "pitr.rehearsal_age")["summary"]
            .as_str()
            .unwrap()
            .contains("no successful recovery drill"),
        "{morning}"
    );

    // A rehearsal: measured, then its directory is gone.
    let drill = at(&c, &pgpass, &config, &["restore", "--rehearse"])
        .state_dir(state.path())
        .format("json")
        .run();
    assert_eq!(drill.code, 0, "{drill}");
    let j = drill.json();
    assert_eq!(status_of(&j, "pitr.rehearsal"), "ok", "{j}");
    assert!(Run::one(&j, "pitr.rehearsal")["value"].as_f64().unwrap() > 0.0);
    let pg_dir = c.0.data_dir().parent().unwrap().to_path_buf();
    let left: Vec<_> = std::fs::read_dir(&pg_dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("rehearsal"))
        .collect();
    assert!(left.is_empty(), "rehearsal directory left behind: {left:?}");
    let took = Run::one(&j, "pitr.rehearsal")["value"].as_f64().unwrap();

    // The morning check reports the drill: its age and how long it took.
    let morning = at(&c, &pgpass, &config, &["check", "morning", "--no-record"])
        .state_dir(state.path())
        .format("json")
        .run();
    let j = morning.json();
    let f = Run::one(&j, "pitr.rehearsal_age");
    assert_eq!(f["status"], "ok", "{morning}");
    assert!(f["value"].as_f64().unwrap() < 600.0, "{f}");
    let recorded: f64 = detail_value(&j, "pitr.rehearsal_age", "took_seconds")
        .parse()
        .unwrap();
    assert!((recorded - took).abs() < 0.1, "{recorded} vs {took}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("last recovery drill"),
        "{f}"
    );

    // A broken archive_command is CRITICAL at its first failure, in pitr status and the morning check.
    sql("ALTER SYSTEM SET archive_command = 'false'");
    sql("SELECT pg_reload_conf()");
    sql("INSERT INTO rows_a VALUES (-2)");
    sql("SELECT pg_switch_wal()");
    wait_until("the archiver to fail", || {
        sql("SELECT failed_count FROM pg_stat_archiver") != "0"
    });
    let broken = at(&c, &pgpass, &config, &["pitr", "status"])
        .format("json")
        .run();
    assert_eq!(broken.code, 2, "{broken}");
    let j = broken.json();
    assert_eq!(status_of(&j, "pitr.archiver"), "critical");
    assert!(
        Run::one(&j, "pitr.archiver")["summary"]
            .as_str()
            .unwrap()
            .contains("failing"),
        "{j}"
    );
    let morning = at(&c, &pgpass, &config, &["check", "morning", "--no-record"])
        .format("json")
        .run();
    assert_eq!(
        status_of(&morning.json(), "pitr.archiver"),
        "critical",
        "{morning}"
    );
}

/// An operator who runs `pitr status` before `pitr setup` is told to set the stanza up, not
/// shown pgBackRest's "unable to open missing file" error.
#[test]
fn status_without_a_stanza_config_says_to_run_pitr_setup() {
    if !pgbackrest_installed() {
        eprintln!("skipping: pgbackrest is not installed (apt-get install pgbackrest)");
        return;
    }
    let s = Scratch::new("pitr-noconf");
    let missing = s.path().join("opsbook-main.conf");
    let run = opsbook(&["pitr", "status", "--pgbackrest-config"])
        .arg(&missing)
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("no pgBackRest config")
            && run
                .stderr
                .contains("hint: set the stanza up with `opsbook pitr setup`"),
        "{run}"
    );
    assert!(!missing.exists(), "{run}");
}
