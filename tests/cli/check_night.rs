//! `opsbook check night` (capacity and hygiene, --maintain, --cleanup) from the operator's side.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::harness::*;

const DAY: i64 = 86_400;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn night(cfg: &Path, extra: &[&str]) -> Opsbook {
    opsbook(&["check", "night"])
        .format("json")
        .config(cfg)
        .args(extra)
}

/// `table` with `dead` dead tuples and `live` live ones, autovacuum off, stats flushed.
fn dead_tuples(db: &TestDb, table: &str, live: u32, dead: u32) {
    db.psql(&format!(
        "CREATE TABLE {table} (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false); \
         INSERT INTO {table} SELECT g, md5(g::text) FROM generate_series(1, {}) g; \
         DELETE FROM {table} WHERE id <= {dead};",
        live + dead
    ));
    wait_until("the dead tuples to reach pg_stat_user_tables", || {
        db.psql(&format!(
            "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '{table}'"
        ))
        .parse::<u32>()
        .unwrap_or(0)
            >= dead
    });
}

fn last_vacuum(db: &TestDb, table: &str) -> String {
    db.psql(&format!(
        "SELECT coalesce(last_vacuum::text, 'never') FROM pg_stat_user_tables WHERE relname = '{table}'"
    ))
}

fn subject<'a>(j: &'a serde_json::Value, id: &str, subject: &str) -> &'a serde_json::Value {
    Run::findings(j, id)
        .into_iter()
        .find(|f| f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {id}[{subject}] in {j:#}"))
}

#[test]
fn stale_table_is_flagged_and_maintain_vacuums_it_only_when_confirmed() {
    let _g = shared();
    let db = TestDb::new("night_stale");
    dead_tuples(&db, "bloated", 5_000, 15_000);
    let s = Scratch::new("night_stale");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "maintenance:\n  dead_tuples: 1000\n",
    );

    let run = night(&cfg, &[]).run();
    let j = run.json();
    let stale = Run::one(&j, "postgres.stale_stats");
    assert_eq!(stale["status"], "warning", "{run}");
    assert_eq!(stale["subject"], db.name.as_str());
    assert_eq!(stale["value"], 1);
    let line = stale["detail"][0].as_str().unwrap();
    assert!(
        line.starts_with("public.bloated: 15000 dead / 5000 live"),
        "{line}"
    );
    assert!(line.contains("vacuumed never"), "{line}");
    assert!(
        Run::findings(&j, "maintain.vacuum").is_empty(),
        "read-only without --maintain"
    );
    assert_eq!(last_vacuum(&db, "bloated"), "never");

    // The plan, and nothing run.
    let dry = night(&cfg, &["--maintain", "--dry-run"]).run();
    let dj = dry.json();
    let plan = Run::one(&dj, "maintain.plan");
    assert!(
        plan["summary"]
            .as_str()
            .unwrap()
            .starts_with("dry run: would run 1 VACUUM"),
        "{dry}"
    );
    assert!(
        plan["detail"][0]
            .as_str()
            .unwrap()
            .starts_with("VACUUM (ANALYZE) \"public\".\"bloated\";"),
        "{dry}"
    );
    assert!(Run::findings(&dj, "maintain.vacuum").is_empty(), "{dry}");
    assert_eq!(last_vacuum(&db, "bloated"), "never");
    // --act-only (a runbook step after a `check night` step): the plan without the night
    // findings, and the status is the plan's.
    let act = night(&cfg, &["--maintain", "--dry-run", "--act-only"]).run();
    let aj = act.json();
    assert_eq!(Run::findings(&aj, "maintain.plan").len(), 1, "{act}");
    assert!(
        Run::findings(&aj, "postgres.stale_stats").is_empty(),
        "{act}"
    );
    assert!(Run::findings(&aj, "host.disk_usage").is_empty(), "{act}");
    assert_eq!(act.code, 0, "{act}");

    // No terminal and no --yes: refused before anything ran.
    let refused = night(&cfg, &["--maintain"]).run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(
        refused.stderr.contains("refusing without confirmation"),
        "{refused}"
    );
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(last_vacuum(&db, "bloated"), "never");

    let done = night(&cfg, &["--maintain", "--yes"]).run();
    let j = done.json();
    let v = subject(&j, "maintain.vacuum", "public.bloated");
    assert_eq!(v["status"], "ok", "{done}");
    assert_eq!(v["unit"], "seconds");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("VACUUM (ANALYZE) \"public\".\"bloated\" in "),
        "{done}"
    );
    assert_ne!(last_vacuum(&db, "bloated"), "never", "{done}");
    wait_until("n_dead_tup to drop after the VACUUM", || {
        db.psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'bloated'") == "0"
    });
    // The session's own timeouts are back after the maintenance (RESET, not left at 0).
    assert!(!Run::findings(&j, "postgres.stale_stats").is_empty());
}

#[test]
fn a_locked_table_is_skipped_with_a_warning_and_the_next_one_still_runs() {
    let _g = shared();
    let db = TestDb::new("night_lock");
    dead_tuples(&db, "busy", 100, 8_000);
    dead_tuples(&db, "quiet", 100, 4_000);
    let s = Scratch::new("night_lock");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "maintenance:\n  dead_tuples: 1000\n  lock_timeout: 500ms\n",
    );
    let mut holder = psql_command(&db, "lock_holder");
    holder.args([
        "-c",
        "BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;",
    ]);
    let _holder = Child::spawn(holder);
    wait_until("the lock holder to hold busy", || {
        db.psql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'busy' AND l.mode = 'AccessExclusiveLock' AND l.granted",
        ) == "1"
    });

    let run = night(&cfg, &["--maintain", "--yes"]).run();
    let j = run.json();
    let busy = subject(&j, "maintain.vacuum", "public.busy");
    assert_eq!(busy["status"], "warning", "{run}");
    assert!(
        busy["summary"]
            .as_str()
            .unwrap()
            .contains("locked by another session"),
        "{run}"
    );
    assert!(
        busy["hint"].as_str().unwrap().contains("diagnose locks"),
        "{run}"
    );
    let quiet = subject(&j, "maintain.vacuum", "public.quiet");
    assert_eq!(quiet["status"], "ok", "the next object still ran: {run}");
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(last_vacuum(&db, "busy"), "never");
    assert_ne!(last_vacuum(&db, "quiet"), "never");
    assert!(
        run.elapsed < Duration::from_secs(20),
        "did not wait for the holder: {run}"
    );
}

fn set_mtime(path: &Path, secs_ago: i64) {
    let t = SystemTime::now() - Duration::from_secs(secs_ago as u64);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// Make a manifest say its backup started `days_ago` days ago (retention reads started_unix).
fn age_backup(manifest: &Path, days_ago: i64) {
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    m["started_unix"] = (now() - days_ago * DAY).into();
    std::fs::write(manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

fn manifests(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    out.sort();
    out
}

#[test]
fn cleanup_deletes_only_old_files_in_the_named_dirs_and_keeps_the_newest_verified_backup() {
    let _g = shared();
    let db = TestDb::new("night_clean");
    db.psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g");
    let s = Scratch::new("night_clean");
    let backups = s.path().join("backups");
    let logs = s.path().join("logs");
    let old = s.write("logs/postgresql-old.log", &"x".repeat(1000), 0o640);
    let rotated = s.write("logs/sub/postgresql.log.3.gz", &"y".repeat(500), 0o640);
    let fresh = s.write("logs/postgresql.log", "now", 0o640);
    let unmatched = s.write("logs/lastlog", "binary", 0o640);
    let outside = s.write("elsewhere/secret.log", "keep me", 0o640);
    std::os::unix::fs::symlink(&outside, logs.join("link.log")).unwrap();
    std::os::unix::fs::symlink(s.path().join("elsewhere"), logs.join("linked-dir")).unwrap();
    for p in [&old, &rotated, &unmatched, &outside] {
        set_mtime(p, 30 * DAY);
    }
    let cfg = sandbox_config(
        &s,
        &db,
        &backups,
        &format!(
            "cleanup:\n  log_dirs: [{}]\n  log_max_age: 14d\n",
            logs.display()
        ),
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("backup:\n", "backup:\n  keep_days: 7\n");
    std::fs::write(&cfg, text).unwrap();

    // Two real backups, both older than the 7-day window once their manifests are aged.
    for _ in 0..2 {
        let b = opsbook(&["backup"]).config(&cfg).run();
        assert_eq!(b.code, 0, "{b}");
        std::thread::sleep(Duration::from_millis(1100));
    }
    let db_dir = backups.join(&db.name);
    let m = manifests(&db_dir);
    assert_eq!(m.len(), 2);
    age_backup(&m[0], 31);
    age_backup(&m[1], 30);
    let newest_id = format!(
        "{}/{}",
        db.name,
        m[1].file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".manifest.json")
    );
    let oldest_id = format!(
        "{}/{}",
        db.name,
        m[0].file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".manifest.json")
    );

    let dry = night(&cfg, &["--cleanup", "--dry-run"]).run();
    let j = dry.json();
    let l = subject(&j, "cleanup.logs", logs.to_str().unwrap());
    assert_eq!(l["status"], "ok", "{dry}");
    assert_eq!(l["value"], 1500, "{dry}");
    let listed = l["detail"].to_string();
    assert!(listed.contains("postgresql-old.log (1000 B"), "{dry}");
    assert!(listed.contains("postgresql.log.3.gz"), "{dry}");
    assert!(
        !listed.contains("postgresql.log ("),
        "a fresh log is not listed: {dry}"
    );
    assert!(!listed.contains("lastlog ("), "{dry}");
    let b = subject(&j, "cleanup.backups", backups.to_str().unwrap());
    assert!(b["detail"].to_string().contains(&oldest_id), "{dry}");
    assert!(!b["detail"].to_string().contains(&newest_id), "{dry}");
    for p in [&old, &rotated, &fresh, &unmatched, &outside] {
        assert!(p.exists(), "dry run deleted {}", p.display());
    }
    assert_eq!(manifests(&db_dir).len(), 2);

    let refused = night(&cfg, &["--cleanup"]).run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(old.exists());

    let run = night(&cfg, &["--cleanup", "--yes"]).run();
    let j = run.json();
    let l = subject(&j, "cleanup.logs", logs.to_str().unwrap());
    assert_eq!(l["status"], "ok", "{run}");
    assert_eq!(l["value"], 1500, "bytes freed: {run}");
    assert!(
        l["summary"]
            .as_str()
            .unwrap()
            .starts_with("deleted 2 file(s)"),
        "{run}"
    );
    assert!(!old.exists() && !rotated.exists(), "{run}");
    assert!(fresh.exists() && unmatched.exists(), "{run}");
    assert!(outside.exists(), "a symlink's target is never touched");
    assert!(
        std::fs::symlink_metadata(logs.join("link.log")).is_ok(),
        "the link itself stays"
    );
    let b = subject(&j, "cleanup.backups", backups.to_str().unwrap());
    assert_eq!(b["status"], "ok", "{run}");
    assert!(
        b["summary"]
            .as_str()
            .unwrap()
            .starts_with("deleted 1 backup(s)"),
        "{run}"
    );
    let left = manifests(&db_dir);
    assert_eq!(
        left,
        vec![m[1].clone()],
        "the newest verified backup stays though it is 30 days old"
    );
    let list = opsbook(&["backup", "list"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(list.json()["data"]["backups"][0]["id"], newest_id.as_str());
}

#[test]
fn projection_from_the_history_says_when_the_disk_fills_and_growth_is_day_over_day() {
    let _g = shared();
    let db = TestDb::new("night_growth");
    db.psql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
    let s = Scratch::new("night_growth");
    let backups = fresh_backup(&s);
    let cfg = sandbox_config(
        &s,
        &db,
        &backups,
        "host:\n  log_dirs: [/nonexistent/opsbook-logs]\n",
    );
    let usage = opsbook::clients::host::disk_usage(&backups).unwrap();
    let mount = usage.mount.display().to_string();
    let size: f64 = db
        .psql(&format!("SELECT pg_database_size('{}')", db.name))
        .parse()
        .unwrap();
    let size_key = format!(
        "postgres.database_size/127.0.0.1:{}/{}",
        sandbox().state.pg_port,
        db.name
    );
    // The mount "grew" by half its free space a day: full in about two days.
    let x = usage.available as f64 / 2.0;
    let t = now();
    let history = serde_json::json!({"samples": [
        {"at": t - 2 * DAY, "command": "check night", "values": {
            format!("host.disk_used/{mount}"): usage.used as f64 - 2.0 * x}},
        {"at": t - DAY, "command": "check night", "values": {
            format!("host.disk_used/{mount}"): usage.used as f64 - x,
            size_key.clone(): size / 2.0}},
    ]});
    let state = s.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("history.json"), history.to_string()).unwrap();

    let run = night(&cfg, &[]).state_dir(&state).run();
    let j = run.json();
    let disk = subject(&j, "host.disk_usage", &mount);
    assert_eq!(disk["status"], "critical", "{run}");
    assert!(
        disk["summary"].as_str().unwrap().contains("days at +"),
        "{run}"
    );
    assert!(
        disk["detail"]
            .to_string()
            .contains("skipped log /nonexistent/opsbook-logs: does not exist")
            || Run::findings(&j, "host.disk_usage")
                .iter()
                .any(|f| f["detail"].to_string().contains("does not exist")),
        "{run}"
    );
    let p = j["data"]["disk_projection"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["mount"] == mount.as_str())
        .unwrap();
    let days = p["days_until_full"].as_f64().unwrap();
    assert!((1.5..2.5).contains(&days), "{days} days: {run}");
    assert_eq!(p["samples"], 3);
    assert_eq!(run.code, 2, "{run}");

    let g = subject(&j, "postgres.database_growth", &db.name);
    assert_eq!(g["status"], "warning", "{run}");
    assert!(g["summary"].as_str().unwrap().contains("%/day"), "{run}");
    let per_day = g["value"].as_f64().unwrap();
    assert!(
        (per_day - size / 2.0).abs() / size < 0.1,
        "{per_day} vs {size}: {run}"
    );

    // This run's numbers are recorded for the next one.
    // (the history.json written above was imported into the SQLite history)
    let h = serde_json::json!({"samples": opsbook::state::History::load(&state).unwrap().samples().unwrap()});
    let last = h["samples"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["command"], "check night");
    assert!(
        last["values"][format!("host.disk_used/{mount}")].is_number(),
        "{last}"
    );
    assert!(last["values"][&size_key].is_number(), "{last}");
}

#[test]
fn fewer_backups_than_the_policy_wants_is_a_warning() {
    let _g = shared();
    let db = TestDb::new("night_ret");
    db.psql("CREATE TABLE t AS SELECT 1 AS one");
    let s = Scratch::new("night_ret");
    let backups = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &backups, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("backup:\n", "backup:\n  keep: 3\n");
    std::fs::write(&cfg, text).unwrap();
    let b = opsbook(&["backup"]).config(&cfg).run();
    assert_eq!(b.code, 0, "{b}");

    let run = night(&cfg, &[]).run();
    let j = run.json();
    let r = subject(&j, "backup.retention", &db.name);
    assert_eq!(r["status"], "warning", "{run}");
    assert_eq!(r["value"], 1);
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("1 verified of 1 backup(s), newest verified"),
        "{summary}"
    );
    assert!(summary.contains("backup.keep wants 3"), "{summary}");
    assert!(
        r["hint"].as_str().unwrap().contains("opsbook backup --db"),
        "{run}"
    );
}

#[test]
fn maintain_rebuilds_a_bloated_index_concurrently_and_never_a_whole_table() {
    let _g = shared();
    let db = TestDb::new("night_reindex");
    db.psql(
        "CREATE EXTENSION pgstattuple; \
         CREATE TABLE ix (id int PRIMARY KEY, v text); \
         INSERT INTO ix SELECT g, md5(g::text) FROM generate_series(1, 100000) g; \
         DELETE FROM ix WHERE id % 10 <> 0;",
    );
    db.psql("VACUUM (ANALYZE) ix");
    let density = || -> f64 {
        db.psql("SELECT avg_leaf_density FROM pgstatindex('ix_pkey')")
            .parse()
            .unwrap()
    };
    assert!(density() < 30.0, "the index is bloated: {}", density());
    let s = Scratch::new("night_reindex");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "maintenance:\n  dead_tuples: 100000000\n  reindex_min_wasted_bytes: 100000\n",
    );

    // Both measurements find it: the catalog estimate (default) and pgstattuple (exact_bloat).
    let exact_cfg = s.write(
        "exact.yaml",
        &std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("maintenance:\n", "maintenance:\n  exact_bloat: true\n"),
        0o600,
    );
    for (c, how) in [
        (&cfg, "estimated from the catalog"),
        (&exact_cfg, "measured with pgstattuple"),
    ] {
        let dry = night(c, &["--maintain", "--dry-run"]).run();
        let plan = Run::one(&dry.json(), "maintain.plan").clone();
        assert_eq!(plan["value"], 1, "{dry}");
        let line = plan["detail"][0].as_str().unwrap();
        assert!(
            line.starts_with("REINDEX INDEX CONCURRENTLY \"public\".\"ix_pkey\";"),
            "{dry}"
        );
        assert!(plan["detail"].to_string().contains(how), "{dry}");
        assert!(!dry.stdout.contains("REINDEX TABLE") && !dry.stdout.contains("REINDEX DATABASE"));
    }
    assert!(density() < 30.0, "a dry run rebuilds nothing");

    let run = night(&cfg, &["--maintain", "--yes"]).run();
    let j = run.json();
    let r = subject(&j, "maintain.reindex", "public.ix_pkey");
    assert_eq!(r["status"], "ok", "{run}");
    assert!(density() > 80.0, "rebuilt: {}", density());
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
        "0",
        "no invalid leftover"
    );
}

#[test]
fn on_a_terminal_maintain_prints_the_plan_and_runs_only_after_the_database_name_is_typed() {
    use expectrl::{Eof, Expect as _};
    let _g = shared();
    let db = TestDb::new("night_tty");
    dead_tuples(&db, "neglected", 1_000, 5_000);
    let s = Scratch::new("night_tty");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "maintenance:\n  dead_tuples: 1000\n",
    );
    let spawn = || {
        let (mut cmd, home) = opsbook(&["check", "night", "--maintain", "--no-color"])
            .config(&cfg)
            .into_command();
        cmd.env("TERM", "xterm");
        let mut p = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
        p.set_expect_timeout(Some(Duration::from_secs(60)));
        (p, home)
    };
    let exit_code =
        |p: &expectrl::session::OsSession| format!("{:?}", p.get_process().wait().unwrap());

    let (mut p, _home) = spawn();
    p.expect("The plan:").unwrap();
    p.expect("VACUUM (ANALYZE) \"public\".\"neglected\"")
        .unwrap();
    p.expect(format!("Type `{}`", db.name)).unwrap();
    p.send_line("yes").unwrap();
    p.expect("aborted").unwrap();
    p.expect(Eof).unwrap();
    assert!(exit_code(&p).ends_with(", 3)"));
    assert_eq!(last_vacuum(&db, "neglected"), "never");

    let (mut p, _home) = spawn();
    p.expect(format!("Type `{}`", db.name)).unwrap();
    p.send_line(&db.name).unwrap();
    p.expect("maintain.vacuum").unwrap();
    p.expect(Eof).unwrap();
    assert_ne!(last_vacuum(&db, "neglected"), "never");
}

#[test]
fn ctrl_c_cancels_the_running_statement_and_starts_no_other() {
    use std::io::Read as _;
    let _g = shared();
    let db = TestDb::new("night_int");
    dead_tuples(&db, "busy", 100, 8_000);
    dead_tuples(&db, "quiet", 100, 4_000);
    let s = Scratch::new("night_int");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "maintenance:\n  dead_tuples: 1000\n  lock_timeout: 60s\n",
    );
    let mut holder = psql_command(&db, "lock_holder");
    holder.args([
        "-c",
        "BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;",
    ]);
    let _holder = Child::spawn(holder);
    wait_until("the lock holder to hold busy", || {
        db.psql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'busy' AND l.mode = 'AccessExclusiveLock' AND l.granted",
        ) == "1"
    });
    let (mut cmd, _home) = opsbook(&["check", "night", "--maintain", "--yes"])
        .format("json")
        .config(&cfg)
        .into_command();
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut night = Child::spawn(cmd);
    wait_until("opsbook's VACUUM to wait for the lock", || {
        db.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsbook' \
             AND datname = current_database() AND query LIKE 'VACUUM%busy%' \
             AND wait_event_type = 'Lock'",
        ) == "1"
    });
    let started = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &night.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = night.wait_for(Duration::from_secs(15));
    assert!(status.is_some(), "still running 15 s after SIGINT");
    assert!(started.elapsed() < Duration::from_secs(15));
    let (mut out, mut err) = (String::new(), String::new());
    night
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    night
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("interrupted: cancelling `VACUUM (ANALYZE) \"public\".\"busy\"`"),
        "{err}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let busy = subject(&j, "maintain.vacuum", "public.busy");
    assert_eq!(busy["status"], "warning", "{out}");
    assert!(
        busy["summary"]
            .as_str()
            .unwrap()
            .starts_with("cancelled on interrupt"),
        "{out}"
    );
    let quiet = subject(&j, "maintain.vacuum", "public.quiet");
    assert!(
        quiet["summary"]
            .as_str()
            .unwrap()
            .starts_with("not run: interrupted"),
        "{out}"
    );
    assert_eq!(last_vacuum(&db, "quiet"), "never");
    wait_until("no session of ours left behind", || {
        db.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opsbook' \
             AND datname = current_database()",
        ) == "0"
    });
}

#[test]
fn postgres_down_is_critical_and_maintain_plans_nothing() {
    let _g = shared();
    let s = Scratch::new("night_pgdown");
    let backups = fresh_backup(&s);
    let cfg = s.write(
        "c.yaml",
        &format!(
            "backup:\n  dir: {}\nservices: []\nthresholds:\n  disk_pct: {{warning: 99.5}}\n",
            backups.display()
        ),
        0o600,
    );
    let pg = format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port());
    let run = night(
        &cfg,
        &["--maintain", "--yes", "--pg", &pg, "--timeout", "2"],
    )
    .run();
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(Run::one(&j, "postgres.up")["status"], "critical");
    let stale = Run::one(&j, "postgres.stale_stats");
    assert_eq!(stale["status"], "unknown");
    assert!(
        stale["summary"]
            .as_str()
            .unwrap()
            .contains("see postgres.up"),
        "{run}"
    );
    assert_eq!(Run::one(&j, "maintain.plan")["value"], 0, "{run}");
    assert!(Run::findings(&j, "maintain.vacuum").is_empty());
    assert!(
        !Run::findings(&j, "host.disk_usage").is_empty(),
        "host findings stay: {run}"
    );
}
