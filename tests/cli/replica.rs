//! `replica-setup primary|standby` and `replica status|promote` against two real clusters on
//! loopback: a primary made by the sandbox code for this file alone (it is restarted and gets
//! a slot, which the shared sandbox's other tests must not see) and a standby cloned into a
//! spare directory of that sandbox. Both are stopped by a Drop guard, pass or fail.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use opsbook::sandbox::Sandbox;
use serde_json::Value;

use super::harness::{closed_port, opsbook, own_cluster, wait_until, Opsbook, Run, Scratch};

/// The dedicated primary; `down` also stops any cluster in its spare directories.
struct Primary(Sandbox);

impl Primary {
    fn up() -> Primary {
        Primary(own_cluster("replica"))
    }

    fn port(&self) -> u16 {
        self.0.state.pg_port
    }
}

impl Drop for Primary {
    fn drop(&mut self) {
        let _ = self.0.down();
    }
}

/// A pgpass good for the postgres superuser on any port: the standby is a copy of the primary.
fn any_port_pgpass(scratch: &Scratch, sb: &Sandbox) -> PathBuf {
    scratch.write(
        "pgpass",
        &format!("127.0.0.1:*:*:postgres:{}\n", sb.password().unwrap()),
        0o600,
    )
}

/// `opsbook ARGS` connected as postgres to the server on `port`.
fn at(port: u16, pgpass: &Path, args: &[&str]) -> Opsbook {
    opsbook(args)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", port.to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", "postgres")
        .env("PGPASSFILE", pgpass.to_str().unwrap())
        .env("PGSSLMODE", "disable")
        // Never the machine's Redis on 6379; check morning may find it down.
        .env(
            "REDIS_URL",
            format!("redis://127.0.0.1:{}/0", closed_port()),
        )
}

/// psql on `port` (an independent reading): Ok(stdout) or Err(stderr).
fn psql_at(port: u16, pgpass: &Path, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", port.to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", "postgres")
        .env("PGPASSFILE", pgpass)
        .env("PGSSLMODE", "disable")
        .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn summary(j: &Value, id: &str) -> String {
    Run::one(j, id)["summary"].as_str().unwrap().to_string()
}

fn is_empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

#[test]
fn primary_then_standby_streams_reports_and_fails_over() {
    let primary = Primary::up();
    let scratch = Scratch::new("replica");
    let pgpass = any_port_pgpass(&scratch, &primary.0);
    let pw_file = scratch.path().join("replicator.pw");
    let pw_arg = pw_file.to_str().unwrap();
    let p = primary.port();
    let hba = primary.0.data_dir().join("pg_hba.conf");
    let hba_meta = std::fs::metadata(&hba).unwrap();

    // A dry run changes nothing and says what it would do (WARNING: there are changes).
    let dry = at(
        p,
        &pgpass,
        &[
            "replica-setup",
            "primary",
            "--standby-addr",
            "127.0.0.1",
            "--password-file",
            pw_arg,
            "--dry-run",
        ],
    )
    .format("json")
    .run();
    assert_eq!(dry.code, 1, "{dry}");
    assert!(
        summary(&dry.json(), "replica_setup.plan").contains("dry run"),
        "{dry}"
    );
    assert!(!pw_file.exists());
    assert_eq!(
        primary
            .0
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'"
            )
            .unwrap(),
        "0"
    );

    // Not on a terminal and no --yes: refused, nothing changed.
    let refused = at(
        p,
        &pgpass,
        &[
            "replica-setup",
            "primary",
            "--standby-addr",
            "127.0.0.1",
            "--password-file",
            pw_arg,
        ],
    )
    .run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert!(!pw_file.exists());

    // The real run: role, hba line, slot, wal_log_hints (pg_rewind) with the restart it needs.
    let setup = at(
        p,
        &pgpass,
        &[
            "replica-setup",
            "primary",
            "--standby-addr",
            "127.0.0.1",
            "--password-file",
            pw_arg,
            "--restart",
            "--yes",
        ],
    )
    .format("json")
    .run();
    assert_eq!(setup.code, 0, "{setup}");
    let j = setup.json();
    for id in [
        "replica_setup.role",
        "replica_setup.hba",
        "replica_setup.slot",
        "replica_setup.reload",
        "replica_setup.restart",
    ] {
        for f in Run::findings(&j, id) {
            assert_eq!(f["status"], "ok", "{id}: {setup}");
        }
    }
    let next = summary(&j, "replica_setup.next");
    assert!(
        next.contains("replica-setup standby --primary 127.0.0.1:"),
        "{setup}"
    );
    // Never the primary's own data directory for the standby (issue 19).
    let primary_data = primary.0.data_dir().canonicalize().unwrap();
    assert!(
        !next.contains(primary_data.to_str().unwrap()) && next.contains("--data-dir <EMPTY_DIR>"),
        "{setup}"
    );
    let password = std::fs::read_to_string(&pw_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(password.len(), 64);
    assert_eq!(std::fs::metadata(&pw_file).unwrap().mode() & 0o777, 0o600);
    assert!(
        !setup.stdout.contains(&password) && !setup.stderr.contains(&password),
        "the password leaked into the output"
    );
    let verifier = primary.0.psql("postgres", "SELECT rolpassword FROM pg_authid WHERE rolname = 'replicator' AND rolreplication AND rolcanlogin").unwrap();
    assert!(verifier.starts_with("SCRAM-SHA-256$"), "{verifier}");
    let hba_text = std::fs::read_to_string(&hba).unwrap();
    let ours = "host    replication     replicator    127.0.0.1/32    scram-sha-256";
    assert_eq!(hba_text.matches(ours).count(), 1, "{hba_text}");
    let meta = std::fs::metadata(&hba).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode()),
        (hba_meta.uid(), hba_meta.gid(), hba_meta.mode())
    );
    let copies: Vec<_> = std::fs::read_dir(primary.0.data_dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.starts_with("pg_hba.conf.opsbook-").then_some(n)
        })
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert_eq!(
        primary.0.psql("postgres", "SHOW wal_log_hints").unwrap(),
        "on"
    );

    // Again: nothing to change, byte for byte.
    let again = at(
        p,
        &pgpass,
        &[
            "replica-setup",
            "primary",
            "--standby-addr",
            "127.0.0.1",
            "--password-file",
            pw_arg,
            "--yes",
        ],
    )
    .format("json")
    .run();
    assert_eq!(again.code, 0, "{again}");
    assert!(
        summary(&again.json(), "replica_setup.plan").contains("nothing to change"),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(&hba).unwrap(), hba_text);
    assert_eq!(std::fs::read_to_string(&pw_file).unwrap().trim(), password);
    assert_eq!(
        primary
            .0
            .psql("postgres", "SELECT count(*) FROM pg_replication_slots")
            .unwrap(),
        "1"
    );
    assert_eq!(
        primary
            .0
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'"
            )
            .unwrap(),
        "1"
    );
    assert_eq!(
        primary
            .0
            .psql(
                "postgres",
                "SELECT rolpassword FROM pg_authid WHERE rolname = 'replicator'"
            )
            .unwrap(),
        verifier
    );

    // A wrong password: one clear error, the data directory untouched.
    let standby_dir = primary.0.spare_dir("standby").unwrap();
    let sd = standby_dir.to_str().unwrap();
    let sport = closed_port();
    let sport_s = sport.to_string();
    let primary_addr = format!("127.0.0.1:{p}");
    let bad_pw = scratch.write("bad.pw", "not-the-password\n", 0o600);
    let wrong = at(
        sport,
        &pgpass,
        &[
            "replica-setup",
            "standby",
            "--primary",
            &primary_addr,
            "--data-dir",
            sd,
            "--port",
            &sport_s,
            "--password-file",
            bad_pw.to_str().unwrap(),
            "--start",
        ],
    )
    .run();
    assert_eq!(wrong.code, 3, "{wrong}");
    assert!(
        wrong.stderr.contains("password authentication failed"),
        "{wrong}"
    );
    assert_eq!(
        wrong
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{wrong}"
    );
    assert!(is_empty(&standby_dir));

    // The standby: cloned, started, streaming. opsbook points at the primary, as an operator
    // has it, with a pgpass line for the primary's port only: the streaming check reaches the
    // new standby with the primary's credentials (issue 19: it reported "password missing"
    // while the standby streamed).
    let primary_pgpass = scratch.write(
        "primary.pgpass",
        &format!(
            "127.0.0.1:{p}:*:postgres:{}\n",
            primary.0.password().unwrap()
        ),
        0o600,
    );
    let t = Instant::now();
    let standby = at(
        p,
        &primary_pgpass,
        &[
            "replica-setup",
            "standby",
            "--primary",
            &primary_addr,
            "--data-dir",
            sd,
            "--port",
            &sport_s,
            "--password-file",
            pw_arg,
            "--start",
            "--wait",
            "15",
        ],
    )
    .format("json")
    .run();
    assert_eq!(standby.code, 0, "{standby}");
    let sj = standby.json();
    assert_eq!(
        Run::one(&sj, "replica_setup.streaming")["status"],
        "ok",
        "{standby}"
    );
    let auto = std::fs::read_to_string(standby_dir.join("postgresql.auto.conf")).unwrap();
    assert!(
        auto.contains("primary_slot_name = 'standby_127_0_0_1'")
            && auto.contains(&format!("port = {sport}")),
        "{auto}"
    );
    assert!(!auto.contains("passfile"), "{auto}");
    eprintln!(
        "standby cloned and streaming in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // A row inserted on the primary is visible on the standby within seconds.
    primary
        .0
        .psql(
            "postgres",
            "CREATE TABLE replicated (id int); INSERT INTO replicated VALUES (42)",
        )
        .unwrap();
    let t = Instant::now();
    wait_until("the row to reach the standby", || {
        psql_at(sport, &pgpass, "SELECT id FROM replicated").as_deref() == Ok("42")
    });
    eprintln!(
        "row visible on the standby after {} ms",
        t.elapsed().as_millis()
    );

    // replica status on both: streaming, lag near zero.
    let ps = at(p, &pgpass, &["replica", "status"]).format("json").run();
    assert_eq!(ps.code, 0, "{ps}");
    let pj = ps.json();
    let sb = Run::one(&pj, "replica.standby");
    assert!(
        sb["summary"].as_str().unwrap().starts_with("streaming"),
        "{ps}"
    );
    assert!(sb["value"].as_i64().unwrap() < 1 << 20, "{ps}");
    let slot = Run::one(&pj, "replica.slot");
    assert_eq!(slot["subject"], "standby_127_0_0_1");
    assert_eq!(slot["status"], "ok", "{ps}");
    let ss = at(sport, &pgpass, &["replica", "status"])
        .format("json")
        .run();
    assert_eq!(ss.code, 0, "{ss}");
    let ssj = ss.json();
    assert!(
        summary(&ssj, "replica.receiver").starts_with("streaming from 127.0.0.1:"),
        "{ss}"
    );
    assert!(
        Run::one(&ssj, "replica.replay_delay")["value"]
            .as_i64()
            .unwrap()
            < 1 << 20,
        "{ss}"
    );

    // check morning on the primary carries the same findings.
    let cm = at(p, &pgpass, &["check", "morning", "--no-record"])
        .format("json")
        .run();
    let cmj = cm.json();
    assert_eq!(Run::one(&cmj, "replica.slot")["status"], "ok", "{cm}");
    assert_eq!(Run::findings(&cmj, "replica.standby").len(), 1, "{cm}");

    // The standby stops; WAL goes on: the slot is inactive and retains it (WARNING).
    primary.0.stop_cluster(&standby_dir).unwrap();
    primary.0.psql("postgres", "CREATE TABLE filler AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 20000) g").unwrap();
    let stopped = at(p, &pgpass, &["replica", "status"]).format("json").run();
    assert_eq!(stopped.code, 1, "{stopped}");
    let stj = stopped.json();
    let slot = Run::one(&stj, "replica.slot");
    assert_eq!(slot["status"], "warning", "{stopped}");
    assert!(
        slot["summary"].as_str().unwrap().contains("INACTIVE"),
        "{stopped}"
    );
    assert!(slot["value"].as_i64().unwrap() > 1 << 20, "{stopped}");
    assert!(
        Run::findings(&stj, "replica.standby").is_empty(),
        "{stopped}"
    );

    // Back up, then promoted: writable, on a new timeline.
    primary.0.start_cluster(&standby_dir).unwrap();
    wait_until("the standby to stream again", || {
        at(sport, &pgpass, &["replica", "status"])
            .format("json")
            .run()
            .code
            == 0
    });
    // Issue 14 item 7: a paused standby with WAL received but not replayed is behind and
    // PAUSED, never "(caught up)" (the oracle: the standby's own receive and replay LSNs).
    psql_at(sport, &pgpass, "SELECT pg_wal_replay_pause()").unwrap();
    primary.0.psql("postgres", "CREATE TABLE while_paused AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 20000) g").unwrap();
    let lag_sql =
        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint";
    wait_until(
        "the paused standby to receive WAL it does not replay",
        || {
            psql_at(sport, &pgpass, lag_sql)
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .is_some_and(|b| b > 1 << 20)
        },
    );
    let paused = at(sport, &pgpass, &["replica", "status"])
        .format("json")
        .run();
    let delay = Run::one(&paused.json(), "replica.replay_delay").clone();
    // Nothing is replayed while paused; only more WAL can arrive after opsbook's read.
    let oracle: i64 = psql_at(sport, &pgpass, lag_sql)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let value = delay["value"].as_i64().unwrap();
    assert!(
        value > 1 << 20 && value <= oracle,
        "{value} vs {oracle}: {paused}"
    );
    assert_ne!(delay["status"], "ok", "{paused}");
    let text = delay["summary"].as_str().unwrap();
    assert!(
        !text.contains("caught up") && text.contains("PAUSED"),
        "{paused}"
    );
    psql_at(sport, &pgpass, "SELECT pg_wal_replay_resume()").unwrap();
    wait_until("the resumed standby to catch up", || {
        psql_at(sport, &pgpass, lag_sql).is_ok_and(|v| v.trim() == "0")
    });
    let not_standby = at(p, &pgpass, &["replica", "promote", "--yes"]).run();
    assert_eq!(not_standby.code, 3, "{not_standby}");
    assert!(
        not_standby.stderr.contains("not a standby"),
        "{not_standby}"
    );
    let unconfirmed = at(sport, &pgpass, &["replica", "promote"]).run();
    assert_eq!(unconfirmed.code, 3, "{unconfirmed}");
    assert!(psql_at(sport, &pgpass, "CREATE TABLE before_promote (x int)").is_err());
    let promoted = at(sport, &pgpass, &["replica", "promote", "--yes"])
        .format("json")
        .run();
    assert_eq!(promoted.code, 0, "{promoted}");
    let prj = promoted.json();
    assert_eq!(Run::one(&prj, "replica.timeline")["value"], 2, "{promoted}");
    let took = Run::one(&prj, "replica.promote");
    assert_eq!(took["unit"], "seconds", "{promoted}");
    assert!(took["value"].as_f64().unwrap() < 120.0, "{promoted}");
    psql_at(
        sport,
        &pgpass,
        "CREATE TABLE after_promote (x int); INSERT INTO after_promote VALUES (1)",
    )
    .expect("the promoted standby accepts writes");
    assert_eq!(
        psql_at(sport, &pgpass, "SELECT pg_is_in_recovery()").unwrap(),
        "f"
    );
}

/// Issue 19: a setting changed without --restart waits for the restart (its pg_file_settings
/// row carries an error text); a second run must not plan the same ALTER SYSTEM again.
#[test]
fn a_change_waiting_for_a_restart_is_not_planned_again() {
    let primary = Primary::up();
    let scratch = Scratch::new("replica-pending");
    let pgpass = any_port_pgpass(&scratch, &primary.0);
    let pw_file = scratch.path().join("replicator.pw");
    let p = primary.port();
    let args = |extra: &str| {
        let mut a = vec![
            "replica-setup".to_string(),
            "primary".into(),
            "--standby-addr".into(),
            "127.0.0.1".into(),
            "--password-file".into(),
            pw_file.to_str().unwrap().into(),
        ];
        a.push(extra.into());
        a
    };
    let first_args = args("--yes");
    let first_refs: Vec<&str> = first_args.iter().map(String::as_str).collect();
    let first = at(p, &pgpass, &first_refs).format("json").run();
    assert_eq!(first.code, 1, "a restart is still needed: {first}");
    assert_eq!(
        primary.0.psql("postgres", "SHOW wal_log_hints").unwrap(),
        "off",
        "not restarted: {first}"
    );
    assert_eq!(
        primary
            .0
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_file_settings WHERE name = 'wal_log_hints' AND error IS NOT NULL"
            )
            .unwrap(),
        "1",
        "the pending line carries an error text"
    );
    let again_args = args("--dry-run");
    let again_refs: Vec<&str> = again_args.iter().map(String::as_str).collect();
    let again = at(p, &pgpass, &again_refs).format("json").run();
    let j = again.json();
    assert!(
        summary(&j, "replica_setup.plan").contains("nothing to change"),
        "{again}"
    );
    assert!(
        summary(&j, "replica_setup.rewind").contains("takes effect at the restart"),
        "{again}"
    );
}

#[test]
fn standby_refuses_a_non_empty_directory_and_a_wrong_address() {
    let scratch = Scratch::new("replica-refuse");
    let pw = scratch.write("pw", "whatever\n", 0o600);
    let full = scratch.write("data/PG_VERSION", "15\n", 0o600);
    let data = full.parent().unwrap().to_str().unwrap().to_string();
    let nowhere = format!("127.0.0.1:{}", closed_port());
    let run = opsbook(&[
        "replica-setup",
        "standby",
        "--primary",
        &nowhere,
        "--data-dir",
        &data,
        "--slot",
        "s1",
    ])
    .flag("--password-file", &pw)
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("is not empty") && run.stderr.contains("--force"),
        "{run}"
    );
    assert_eq!(std::fs::read_to_string(&full).unwrap(), "15\n");

    // Nothing listens there: one error, and the empty (or missing) directory stays as it was.
    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o750)).unwrap();
    let missing = scratch.path().join("missing");
    for dir in [&empty, &missing] {
        let run = opsbook(&["replica-setup", "standby", "--primary", &nowhere])
            .flag("--data-dir", dir)
            .args(["--slot", "s1"])
            .flag("--password-file", &pw)
            .args(["--start"])
            .run();
        assert_eq!(run.code, 3, "{run}");
        assert!(
            run.stderr.contains("connecting to the primary")
                && run.stderr.contains("was not touched"),
            "{run}"
        );
        assert_eq!(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error:"))
                .count(),
            1,
            "{run}"
        );
    }
    assert!(is_empty(&empty));
    assert_eq!(std::fs::metadata(&empty).unwrap().mode() & 0o777, 0o750);
    assert!(!missing.exists());
}
