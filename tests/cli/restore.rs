//! `opsbook restore` from the operator's side: the swap, its refusals, SIGINT, the terminal.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backup::{backup, config, manifests, seeded};
use crate::harness::*;

fn manifest_id(dir: &Path, db: &str) -> String {
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifests(dir, db).last().unwrap()).unwrap())
            .unwrap();
    m["id"].as_str().unwrap().to_string()
}

/// Databases named after `db` with a `__` suffix (restore leftovers or kept copies).
fn side_databases(db: &str) -> Vec<String> {
    let out = sandbox()
        .psql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{db}\\_\\_%' ORDER BY 1"),
        )
        .unwrap();
    out.lines()
        .map(|l| l.to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

struct DropAfter(Vec<String>);

impl Drop for DropAfter {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = sandbox().drop_database(d);
        }
    }
}

#[test]
fn restore_yes_under_concurrent_reads_swaps_in_a_proven_copy_and_keeps_the_old() {
    let _g = shared();
    let db = seeded("rs_swap", 50_000);
    let s = Scratch::new("rs_swap");
    let (cfg, dir) = config(&s, &db);
    let run = backup(&cfg, &[]);
    assert_eq!(run.code, 0, "{run}");
    let id = manifest_id(&dir, &db.name);
    // Changes after the backup: the restore must bring back the backup's state.
    db.psql("INSERT INTO users SELECT g, 'later' FROM generate_series(100001, 100500) g");

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU32::new(0));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (stop, reads, name) = (stop.clone(), reads.clone(), db.name.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    // Errors are expected while the name moves; reads must resume after.
                    if sandbox().psql(&name, "SELECT count(*) FROM users").is_ok() {
                        reads.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));

    let run = opsbook(&["restore", &id, "--yes"])
        .config(&cfg)
        .format("json")
        .run();
    let after_restore = reads.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    let side = side_databases(&db.name);
    let _cleanup = DropAfter(side.clone());
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    for id in [
        "restore.verify",
        "restore.create",
        "restore.load",
        "restore.counts",
        "restore.swap",
        "restore.kept",
    ] {
        assert_eq!(Run::one(&j, id)["status"], "ok", "{id}: {run}");
    }
    assert!(
        reads.load(Ordering::Relaxed) > after_restore,
        "reads resumed after the swap"
    );

    // The target holds the backup's rows; the old database is kept with the later ones.
    assert_eq!(db.psql("SELECT count(*) FROM users"), "50000");
    assert_eq!(
        db.psql("SELECT count(*) FROM \"Odd Schema\".\"Invites\""),
        "1234"
    );
    assert_eq!(side.len(), 1, "{side:?}");
    assert!(side[0].contains("__pre_restore_"), "{side:?}");
    assert_eq!(
        sandbox()
            .psql(&side[0], "SELECT count(*) FROM users")
            .unwrap(),
        "50500"
    );
    assert_eq!(Run::one(&j, "restore.kept")["subject"], side[0].as_str());
    // Durations are seconds, like every other duration opsbook reports.
    let swap = Run::one(&j, "restore.swap");
    assert_eq!(swap["unit"], "seconds", "{swap}");
    let unavailable = swap["value"].as_f64().unwrap();
    assert!(unavailable < 1.0, "the swap took {unavailable} s");
    let load = Run::one(&j, "restore.load");
    assert_eq!(load["unit"], "seconds", "{load}");
    assert!(load["value"].as_f64().unwrap() > 0.0, "{load}");
    // Owner and encoding carried over.
    assert_eq!(
        db.psql(&format!(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{}'",
            db.name
        )),
        sandbox()
            .psql(
                "postgres",
                &format!(
                    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{}'",
                    side[0]
                )
            )
            .unwrap()
    );
}

#[test]
fn restore_into_a_new_name_swaps_nothing_and_refuses_an_existing_one() {
    let _g = shared();
    let db = seeded("rs_into", 1000);
    let s = Scratch::new("rs_into");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    let copy = format!("{}__copy", db.name);
    let _cleanup = DropAfter(vec![copy.clone()]);

    let run = opsbook(&["restore", &id, "--into", &copy, "--yes"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    assert!(Run::findings(&run.json(), "restore.swap").is_empty());
    // On a pipe no step line is drawn: stderr stays empty of progress.
    for step in [
        "verifying the archive",
        "counting the rows",
        "pg_restore:",
        "creating database",
    ] {
        assert!(!run.stderr.contains(step), "{step}: {run}");
    }
    assert_eq!(
        sandbox().psql(&copy, "SELECT count(*) FROM users").unwrap(),
        "1000"
    );
    assert_eq!(side_databases(&db.name), vec![copy.clone()]);

    let again = opsbook(&["restore", &id, "--into", &copy, "--yes"])
        .config(&cfg)
        .run();
    assert_eq!(again.code, 3, "{again}");
    assert!(again.stderr.contains("already exists"), "{again}");

    // Off a terminal without --yes: refused before anything, exit 3.
    let refused = opsbook(&["restore", &id]).config(&cfg).run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(side_databases(&db.name), vec![copy.clone()]);

    // --dry-run changes nothing and shows the plan.
    let dry = opsbook(&["restore", &id, "--dry-run"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(dry.code, 0, "{dry}");
    assert_eq!(dry.json()["sections"][0]["title"], "The plan");
    assert_eq!(side_databases(&db.name), vec![copy]);
}

#[test]
fn sigint_during_pg_restore_leaves_the_target_and_no_restore_database() {
    let _g = shared();
    let db = seeded("rs_sigint", 600_000);
    db.psql("CREATE INDEX ON users (name)");
    let s = Scratch::new("rs_sigint");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    db.psql("DELETE FROM users WHERE id <= 10");
    let before = db.psql("SELECT count(*) FROM users");

    let state = s.path().join("state");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["restore", &id, "--yes", "--format", "json", "--config"])
        .arg(&cfg)
        .env("OPSBOOK_STATE_DIR", &state)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until pg_restore is connected to the restore database and working.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n = sandbox()
            .psql(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE '{}\\_\\_restore\\_%' AND state = 'active'",
                    db.name
                ),
            )
            .unwrap();
        if n != "0" {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before SIGINT"
        );
        assert!(Instant::now() < deadline, "pg_restore never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code().unwrap_or(-1);
    assert_eq!(
        code,
        2,
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("interrupted"), "{stdout}");
    // Nothing left behind; the target is as it was.
    assert_eq!(side_databases(&db.name), Vec::<String>::new());
    assert_eq!(db.psql("SELECT count(*) FROM users"), before);
    assert_eq!(
        db.psql("SELECT count(*) FROM \"Odd Schema\".\"Invites\""),
        "1234"
    );
}

#[test]
fn interactive_restore_in_a_terminal_wrong_name_aborts_right_name_restores() {
    use expectrl::{Eof, Expect as _};
    let _g = shared();
    let db = seeded("rs_tty", 3000);
    let s = Scratch::new("rs_tty");
    let (cfg, _dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    db.psql("INSERT INTO users VALUES (999999, 'after')");
    let home = Scratch::new("rs_tty_home");

    let spawn = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"));
        cmd.args(["restore", "--db", &db.name, "--config"])
            .arg(&cfg)
            .env("HOME", home.path())
            .env("OPSBOOK_STATE_DIR", home.path().join("state"))
            .env("TERM", "xterm")
            .env_remove("NO_COLOR");
        let mut p = expectrl::Session::spawn(cmd).unwrap();
        p.set_expect_timeout(Some(Duration::from_secs(60)));
        p
    };
    let exit_code =
        |p: &expectrl::session::OsSession| format!("{:?}", p.get_process().wait().unwrap());

    // Wrong name: aborted, nothing changed.
    let mut p = spawn();
    p.expect("Restore which backup?").unwrap();
    p.send("\r").unwrap();
    p.expect(format!("Type `{}`", db.name)).unwrap();
    p.send_line("not-the-name").unwrap();
    p.expect("aborted").unwrap();
    p.expect(Eof).unwrap();
    let status = exit_code(&p);
    assert!(status.ends_with(", 3)"), "{status}");
    assert_eq!(db.psql("SELECT count(*) FROM users"), "3001");
    assert!(side_databases(&db.name).is_empty());

    // The right name: restored and swapped.
    let mut p = spawn();
    p.expect("Restore which backup?").unwrap();
    p.send("\r").unwrap();
    p.expect(format!("Type `{}`", db.name)).unwrap();
    p.send_line(&db.name).unwrap();
    // Issue 19: every step says what it does on a terminal, in order, until the report.
    for step in [
        "verifying the archive of",
        "creating database",
        "pg_restore: building indexes and constraints",
        "counting the rows of",
        "swapping",
    ] {
        p.expect(step)
            .unwrap_or_else(|e| panic!("no `{step}` line: {e}"));
    }
    p.expect("restore: OK").unwrap();
    p.expect(Eof).unwrap();
    let status = exit_code(&p);
    let side = side_databases(&db.name);
    let _cleanup = DropAfter(side.clone());
    assert!(status.ends_with(", 0)"), "{status}");
    assert_eq!(db.psql("SELECT count(*) FROM users"), "3000");
    assert_eq!(side.len(), 1, "{side:?}");
}
