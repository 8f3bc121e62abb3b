//! `opsbook diagnose config`: the memory budget, the plan, --apply and --rollback on the
//! sandbox's server. ALTER SYSTEM changes the whole cluster, so every test here takes the
//! cluster exclusively and puts postgresql.auto.conf back as it found it, even on a failure.

use crate::harness::*;

/// Settings as (setting, source) from pg_settings, for the names diagnose config may change.
fn snapshot(db: &TestDb) -> Vec<String> {
    let names = opsbook::tuning::settings::TUNABLE
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(",");
    db.psql(&format!(
        "SELECT name || '=' || setting || ' ' || source || ' ' || pending_restart FROM pg_settings WHERE name IN ({names}) ORDER BY name"
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

/// On drop: RESET every tunable setting and the ones a test set, SET back what auto.conf held
/// before (random_page_cost here), reload.
struct Restore<'a> {
    db: &'a TestDb,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        for n in opsbook::tuning::settings::TUNABLE {
            let _ = sandbox().psql(&self.db.name, &format!("ALTER SYSTEM RESET {n}"));
        }
        let _ = sandbox().psql(&self.db.name, "SELECT pg_reload_conf()");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

fn config(db: &TestDb, s: &Scratch) -> std::path::PathBuf {
    sandbox_config(s, db, &fresh_backup(s), "")
}

#[test]
fn an_oversized_work_mem_times_max_connections_is_critical() {
    let _g = exclusive();
    let db = TestDb::new("tune_budget");
    let _restore = Restore { db: &db };
    // 300 connections (the sandbox's max_connections) x 1 TB: no host has that.
    db.psql("ALTER SYSTEM SET work_mem = '1TB'");
    db.psql("SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let s = Scratch::new("tune_budget");
    let run = opsbook(&["diagnose", "config"])
        .config(config(&db, &s))
        .format("json")
        .run();
    assert_eq!(run.code, 2, "{run}");
    let j = run.json();
    let b = Run::one(&j, "config.memory_budget");
    assert_eq!(b["status"], "critical", "{run}");
    assert!(b["summary"].as_str().unwrap().contains("exceeds"), "{run}");
    let detail = b["detail"].to_string();
    assert!(
        detail.contains("max_connections x work_mem") && detail.contains("300 x 1.0 TiB"),
        "{run}"
    );
    // Redis's maxmemory is part of the budget, and is taken from the memory pgtune sizes for.
    let maxmemory = match redis_cmd(&["CONFIG", "GET", "maxmemory"]) {
        redis::Value::Array(v) | redis::Value::Set(v) => match &v[1] {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).parse::<u64>().unwrap(),
            other => panic!("{other:?}"),
        },
        redis::Value::Map(m) => match &m[0].1 {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).parse::<u64>().unwrap(),
            other => panic!("{other:?}"),
        },
        other => panic!("CONFIG GET maxmemory: {other:?}"),
    };
    assert!(maxmemory > 0, "the sandbox's Redis has a maxmemory");
    let budget = &j["data"]["budget"];
    assert_eq!(budget["redis"].as_u64(), Some(maxmemory), "{run}");
    let limit = budget["limit"].as_u64().unwrap();
    assert_eq!(
        j["data"]["memory_for_postgres_bytes"].as_u64(),
        Some(limit - maxmemory),
        "{run}"
    );
    assert!(detail.contains("Redis"), "{run}");
    let wm = Run::findings(&j, "config.setting")
        .into_iter()
        .find(|f| f["subject"] == "work_mem")
        .expect("a work_mem finding");
    assert_eq!(wm["status"], "warning", "{run}");
    let text = wm["summary"].as_str().unwrap();
    let formula = wm["detail"].to_string();
    assert!(
        text.contains("max_connections 300")
            && formula.contains("pgtune")
            && formula.contains("why:"),
        "{run}"
    );
    assert!(text.contains("reload"), "{run}");
    let sb = Run::findings(&j, "config.setting")
        .into_iter()
        .find(|f| f["subject"] == "shared_buffers")
        .expect("a shared_buffers finding");
    assert!(sb["summary"].as_str().unwrap().contains("restart"), "{run}");
    for host in [
        "vm.overcommit_memory",
        "transparent_hugepage",
        "vm.swappiness",
        "vm.nr_hugepages",
    ] {
        assert!(
            Run::findings(&j, "config.host")
                .iter()
                .any(|f| f["subject"] == host),
            "no config.host[{host}] in {run}"
        );
    }
}

#[test]
fn apply_then_rollback_restores_every_value_and_source_and_reports_the_restart() {
    let _g = exclusive();
    let db = TestDb::new("tune_apply");
    let _restore = Restore { db: &db };
    // One setting already in postgresql.auto.conf: the rollback must SET it back, not RESET.
    db.psql("ALTER SYSTEM SET random_page_cost = 3");
    db.psql("ALTER SYSTEM SET work_mem = '1MB'");
    db.psql("SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = snapshot(&db);
    let s = Scratch::new("tune_apply");
    let cfg = config(&db, &s);
    let state = s.path().join("state");

    // On a pipe without --yes: refused, nothing changed.
    let refused = opsbook(&["diagnose", "config", "--apply"])
        .config(&cfg)
        .state_dir(&state)
        .format("json")
        .run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(snapshot(&db), before);

    let run = opsbook(&["diagnose", "config", "--apply", "--yes"])
        .config(&cfg)
        .state_dir(&state)
        .format("json")
        .run();
    let j = run.json();
    let applied = Run::one(&j, "config.apply");
    assert_eq!(applied["status"], "ok", "{run}");
    let after = snapshot(&db);
    assert_ne!(after, before, "{run}");
    assert!(
        after
            .iter()
            .any(|l| l.starts_with("work_mem=") && !l.starts_with("work_mem=1024 ")),
        "work_mem was not changed: {after:?}"
    );
    // shared_buffers needs a restart: reported as pending.
    let pending = Run::one(&j, "config.pending_restart");
    assert_eq!(pending["status"], "warning", "{run}");
    assert!(
        pending["summary"]
            .as_str()
            .unwrap()
            .contains("shared_buffers"),
        "{run}"
    );

    // The rollback file: 0600, in the state directory, SET for auto.conf's, RESET otherwise.
    let dir = state.join("tuning");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("ALTER SYSTEM SET random_page_cost = '3';"),
        "{text}"
    );
    assert!(
        text.contains("ALTER SYSTEM SET work_mem = '1024';"),
        "{text}"
    );
    assert!(
        text.contains("ALTER SYSTEM RESET shared_buffers;"),
        "{text}"
    );

    let back = opsbook(&["diagnose", "config", "--yes"])
        .flag("--rollback", &file)
        .config(&cfg)
        .format("json")
        .run();
    let jb = back.json();
    assert_eq!(Run::one(&jb, "config.rollback")["status"], "ok", "{back}");
    assert_eq!(
        Run::one(&jb, "config.pending_restart")["status"],
        "ok",
        "{back}"
    );
    assert_eq!(snapshot(&db), before, "{back}");

    // check afternoon compares before and after the change it finds in the history.
    let aft = opsbook(&["check", "afternoon"])
        .config(&cfg)
        .state_dir(&state)
        .format("json")
        .run();
    let ja = aft.json();
    let effect = Run::one(&ja, "postgres.tuning_effect");
    let summary = effect["summary"].as_str().unwrap();
    assert!(summary.starts_with("since the change on "), "{aft}");
    assert!(
        summary.contains("cache hit")
            && summary.contains("temp files")
            && summary.contains("before"),
        "{aft}"
    );
    // Without a change in the history there is no such finding.
    let plain = opsbook(&["check", "afternoon"]).config(&cfg).json();
    assert!(Run::findings(&plain, "postgres.tuning_effect").is_empty());
}

#[test]
fn a_hostile_rollback_file_is_refused_before_anything_changes() {
    let _g = exclusive();
    let db = TestDb::new("tune_hostile");
    let _restore = Restore { db: &db };
    let before = snapshot(&db);
    let s = Scratch::new("tune_hostile");
    let cfg = config(&db, &s);
    for (i, body) in [
        "ALTER SYSTEM SET work_mem = '64MB';\nDROP DATABASE postgres;\n",
        "ALTER SYSTEM SET shared_preload_libraries = 'evil';\n",
        "ALTER SYSTEM SET work_mem = '4MB''; ALTER SYSTEM SET archive_command = ''rm -rf /';\n",
    ]
    .iter()
    .enumerate()
    {
        let f = s.write(&format!("evil{i}.sql"), body, 0o600);
        let run = opsbook(&["diagnose", "config", "--yes"])
            .flag("--rollback", &f)
            .config(&cfg)
            .run();
        assert_eq!(run.code, 3, "{run}");
        assert!(run.stderr.contains("refusing the rollback file"), "{run}");
        assert_eq!(snapshot(&db), before, "{run}");
    }
}

#[test]
fn on_a_terminal_the_plan_is_shown_and_a_wrong_word_changes_nothing() {
    use expectrl::Expect as _;
    let _g = exclusive();
    let db = TestDb::new("tune_tty");
    let _restore = Restore { db: &db };
    db.psql("ALTER SYSTEM SET work_mem = '1MB'");
    db.psql("SELECT pg_reload_conf()");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = snapshot(&db);
    let s = Scratch::new("tune_tty");
    let cfg = config(&db, &s);
    let state = s.path().join("state");
    let (cmd, _home) = opsbook(&["diagnose", "config", "--apply"])
        .config(&cfg)
        .state_dir(&state)
        .into_command();
    let mut tty = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    tty.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
    tty.expect("ALTER SYSTEM SET work_mem = ").unwrap();
    tty.expect("Type `apply`").unwrap();
    tty.send_line("yes").unwrap();
    tty.expect("nothing was changed").unwrap();
    assert_eq!(snapshot(&db), before);
    assert!(
        !state.join("tuning").exists(),
        "a rollback file was written"
    );
}
