//! `opsbook sandbox` as a newcomer uses it: up, env, status, check, down.

use crate::harness::*;
use expectrl::Expect as _;

#[test]
fn sandbox_lifecycle_from_the_command_line() {
    let s = Scratch::new("sbx");
    // A space in the path: the printed eval line must survive the shell.
    let dir = s.path().join("my sandbox");
    let d = dir.to_str().unwrap();
    let up = opsbook(&["sandbox", "up", "--dir", d]).format("json").run();
    assert_eq!(up.code, 0, "{up}");
    assert!(up.stdout.contains("sandbox.postgres"), "{up}");
    // The line to paste names the --dir it was started with (issue 19), quoted for sh.
    let canonical = dir.canonicalize().unwrap();
    let eval = format!(
        "eval \"$(opsbook sandbox env --dir '{}')\"",
        canonical.display()
    );
    assert_eq!(
        up.json()["sections"][0]["title"],
        format!("Point opsbook at it with: {eval}"),
        "{up}"
    );
    // And it works: sh evaluates it with this binary as `opsbook`.
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_opsbook"))
        .parent()
        .unwrap();
    let shell = command(
        "sh",
        &[
            "-c",
            &format!("{eval} && printf '%s' \"$OPSBOOK_SANDBOX_DIR\""),
        ],
    )
    .env(
        "PATH",
        format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
    )
    .run();
    assert_eq!(shell.code, 0, "{shell}");
    assert_eq!(shell.stdout, canonical.to_str().unwrap(), "{shell}");

    let again = opsbook(&["sandbox", "up", "--dir", d]).run();
    assert_eq!(
        again.code, 3,
        "a second up on a running sandbox is refused: {again}"
    );

    let env = opsbook(&["sandbox", "env", "--dir", d]).run();
    assert_eq!(env.code, 0, "{env}");
    assert!(
        env.stdout.lines().all(|l| l.starts_with("export ")),
        "{env}"
    );
    assert!(env.stdout.contains("PGPASSFILE="), "{env}");
    assert!(
        !env.stdout.contains("PGPASSWORD"),
        "no password in the environment lines: {env}"
    );

    // The printed environment is enough for a morning check.
    let mut check = opsbook(&["check", "morning"]).format("json");
    for line in env.stdout.lines() {
        let (k, v) = line.trim_start_matches("export ").split_once('=').unwrap();
        check = check.env(k, v.trim_matches('\''));
    }
    let run = check.run();
    let j = run.json();
    assert_eq!(Run::one(&j, "postgres.up")["status"], "ok", "{run}");
    assert_eq!(Run::one(&j, "redis.up")["status"], "ok", "{run}");

    let status = opsbook(&["sandbox", "status", "--dir", d])
        .format("json")
        .run();
    assert_eq!(status.code, 0, "{status}");

    let down = opsbook(&["sandbox", "down", "--dir", d]).run();
    assert_eq!(down.code, 0, "{down}");
    assert!(!dir.exists());
    let gone = opsbook(&["sandbox", "status", "--dir", d]).run();
    assert_eq!(gone.code, 3, "{gone}");
    assert!(gone.stderr.contains("opsbook sandbox up"), "{gone}");
}

/// The environment `sandbox env --dir DIR` prints, applied to `cmd`.
fn in_sandbox(mut cmd: Opsbook, env: &str) -> Opsbook {
    for line in env.lines() {
        let (k, v) = line.trim_start_matches("export ").split_once('=').unwrap();
        cmd = cmd.env(k, v.trim_matches('\''));
    }
    cmd
}

/// The README's try-it, then the weekly runbook on a `backup --all` setup (issue 19): every
/// command agrees on a fresh demo sandbox's backup, `latest` is a database backup of the
/// connection's database (never the `_globals` file `--all` writes last), and the restore test
/// restores any database, `postgres` included, into a name of its own.
#[test]
fn demo_sandbox_has_a_real_backup_and_weekly_maintenance_passes() {
    let s = Scratch::new("sbx-demo");
    let dir = s.path().join("sandbox");
    let d = dir.to_str().unwrap();
    let up = opsbook(&["sandbox", "up", "--demo-data", "--dir", d])
        .format("json")
        .run();
    assert_eq!(up.code, 0, "{up}");
    let env = opsbook(&["sandbox", "env", "--dir", d]).run().stdout;
    let at = |args: &[&str]| in_sandbox(opsbook(args), &env);

    // backup list sees the sandbox's first backup: one, verified, of opsbook_demo.
    let list = at(&["backup", "list"]).format("json").run();
    assert_eq!(list.code, 0, "{list}");
    let lj = list.json();
    assert_eq!(Run::one(&lj, "backup.list")["value"], 1, "{list}");
    let b = &lj["data"]["backups"][0];
    assert_eq!(b["database"], "opsbook_demo", "{list}");
    assert_eq!(b["verified"], true, "{list}");
    assert!(b["rows"].as_i64().unwrap() > 20_000, "{list}");
    let id = b["id"].as_str().unwrap().to_string();
    assert!(
        Run::one(&up.json(), "sandbox.demo_data")["summary"]
            .as_str()
            .unwrap()
            .contains(&id),
        "{up}"
    );

    // check night agrees: not "no opsbook backup".
    let night = at(&["check", "night"]).format("json").run();
    let nj = night.json();
    let retention = Run::findings(&nj, "backup.retention");
    assert!(!retention.is_empty(), "{night}");
    for f in retention {
        assert_eq!(f["subject"], "opsbook_demo", "{night}");
        assert_eq!(f["value"], 1, "{night}");
    }

    // So does check morning: a recent backup.
    let morning = at(&["check", "morning"]).format("json").run();
    assert_eq!(
        Run::one(&morning.json(), "backup.latest_age")["status"],
        "ok",
        "{morning}"
    );

    // And opsbook report: the first backup's size is in the sandbox's run history.
    let report = at(&["report"]).format("json").run();
    assert_eq!(report.code, 0, "{report}");
    let rj = report.json();
    let sizes = rj["data"]["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "backup_size")
        .unwrap_or_else(|| panic!("no backup_size chart: {report}"));
    let series = sizes["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{report}");
    assert!(
        series[0]["label"]
            .as_str()
            .unwrap()
            .contains("opsbook_demo"),
        "{report}"
    );
    assert_eq!(series[0]["points"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        series[0]["points"][0][1].as_f64().unwrap() > 0.0,
        "{report}"
    );

    // A backup --all setup: opsbook_demo, postgres, then the globals last.
    let all = at(&["backup", "--all", "--yes"]).format("json").run();
    assert_eq!(all.code, 0, "{all}");
    let aj = all.json();
    assert_eq!(Run::findings(&aj, "backup.globals").len(), 1, "{all}");

    // latest: the connection's database (opsbook_demo in the sandbox), not _globals.
    let latest = at(&["backup", "verify", "latest"]).format("json").run();
    assert_eq!(latest.code, 0, "{latest}");
    let subject = Run::one(&latest.json(), "backup.verify")["subject"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(subject.starts_with("opsbook_demo/"), "{latest}");
    assert_ne!(subject, id, "the newest, taken by --all: {latest}");

    // Several databases and a connection to one without backups: refused with the names.
    let ambiguous = at(&["backup", "verify", "latest"])
        .pg("postgres://postgres@127.0.0.1:1/elsewhere")
        .run();
    assert_eq!(ambiguous.code, 3, "{ambiguous}");
    assert!(
        ambiguous.stderr.contains("`opsbook_demo/latest`")
            && ambiguous.stderr.contains("`postgres/latest`")
            && !ambiguous.stderr.contains("_globals/latest"),
        "{ambiguous}"
    );
    let restore = at(&["restore", "latest", "--dry-run"])
        .pg("postgres://postgres@127.0.0.1:1/elsewhere")
        .run();
    assert_eq!(restore.code, 3, "{restore}");
    assert!(restore.stderr.contains("ambiguous"), "{restore}");

    // The restore test of the `postgres` database, which every cluster already has.
    let pgdb = at(&["backup", "verify", "postgres/latest", "--restore-test"])
        .format("json")
        .run();
    assert_eq!(pgdb.code, 0, "{pgdb}");
    assert_eq!(
        Run::one(&pgdb.json(), "backup.restore_test")["status"],
        "ok",
        "{pgdb}"
    );

    // opsbook's own throwaway cluster cannot start (its temp directory is a file): the test
    // could not run, which says nothing against the backup (UNKNOWN, not CRITICAL).
    let not_a_dir = s.write("not-a-dir", "", 0o644);
    let no_cluster = at(&["backup", "verify", "postgres/latest", "--restore-test"])
        .env("TMPDIR", &not_a_dir)
        .format("json")
        .run();
    assert_eq!(no_cluster.code, 3, "{no_cluster}");
    let nj = no_cluster.json();
    assert_eq!(
        Run::one(&nj, "backup.verify")["status"],
        "ok",
        "{no_cluster}"
    );
    let f = Run::one(&nj, "backup.restore_test");
    assert_eq!(f["status"], "unknown", "{no_cluster}");
    assert!(
        f["summary"].as_str().unwrap().contains("could not run")
            && f["hint"]
                .as_str()
                .unwrap()
                .contains("passed the checks above")
            && !f["hint"].as_str().unwrap().contains("do not rely"),
        "{no_cluster}"
    );

    // The shipped weekly runbook, as its timer runs it.
    let weekly = at(&["runbook", "run", "weekly-maintenance", "--yes"])
        .format("json")
        .run();
    let wj = weekly.json();
    let steps = wj["data"]["steps"].as_array().unwrap();
    for step in &steps[..2] {
        assert_eq!(step["status"], "ok", "{}: {weekly}", step["name"]);
    }
    let test = Run::one(&wj, "backup.restore_test");
    assert_eq!(test["status"], "ok", "{weekly}");
    assert!(
        test["subject"]
            .as_str()
            .unwrap()
            .starts_with("opsbook_demo/"),
        "{weekly}"
    );
    assert!(weekly.code < 2, "{weekly}");

    let down = opsbook(&["sandbox", "down", "--dir", d]).run();
    assert_eq!(down.code, 0, "{down}");
}

/// Issue 19: `sandbox up` waits a few seconds for initdb and pg_ctl; on a terminal it says what
/// it is doing, on a pipe it prints nothing on stderr.
#[test]
fn sandbox_up_says_what_it_does_on_a_terminal_and_nothing_on_a_pipe() {
    let s = Scratch::new("sbx_phase");
    let piped_dir = s.path().join("piped");
    let pd = piped_dir.to_str().unwrap();
    let up = opsbook(&["sandbox", "up", "--no-redis", "--dir", pd]).run();
    assert_eq!(up.code, 0, "{up}");
    assert!(!up.stderr.contains("starting PostgreSQL"), "{up}");
    let down = opsbook(&["sandbox", "down", "--dir", pd]).run();
    assert_eq!(down.code, 0, "{down}");
    assert!(!down.stderr.contains("stopping the servers"), "{down}");

    let tty_dir = s.path().join("tty");
    let td = tty_dir.to_str().unwrap();
    let (cmd, _home) = opsbook(&["sandbox", "up", "--no-redis", "--dir", td]).into_command();
    let mut tty = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    tty.set_expect_timeout(Some(std::time::Duration::from_secs(120)));
    let seen = tty.expect("starting PostgreSQL");
    let done = tty.expect("sandbox up: OK");
    let down = opsbook(&["sandbox", "down", "--dir", td]).run();
    assert_eq!(down.code, 0, "{down}");
    seen.expect("the phase line on the terminal");
    done.expect("the headline");
}
