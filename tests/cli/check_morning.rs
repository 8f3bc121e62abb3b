//! `opsbook check morning` from the operator's side.

use crate::harness::*;

#[test]
fn healthy_sandbox_reports_every_finding_with_the_servers_numbers() {
    let _g = exclusive();
    let db = TestDb::new("healthy");
    db.psql("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g");
    let s = Scratch::new("healthy");
    let backups = fresh_backup(&s);
    let cfg = sandbox_config(&s, &db, &backups, "");

    let before =
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    let run = opsbook(&["check", "morning"])
        .config(&cfg)
        .format("json")
        .run();
    let after =
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    let j = run.json();

    for id in [
        "postgres.up",
        "postgres.connections",
        "postgres.cache_hit_ratio",
        "redis.up",
        "redis.memory",
        "backup.latest_age",
        "host.memory_usage",
    ] {
        assert_eq!(Run::one(&j, id)["status"], "ok", "{id} in {run}");
    }
    assert_eq!(j["status"], "ok", "{run}");
    assert_eq!(run.code, 0, "{run}");

    // Neither counts itself: opsbook leaves its own sessions out, the oracle its psql.
    let conns = Run::one(&j, "postgres.connections");
    assert_eq!(
        conns["value"].as_i64().unwrap().to_string(),
        before,
        "{run}"
    );
    assert_eq!(before, after);
    let max = db.psql("SHOW max_connections");
    assert!(
        conns["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("of {max} connections")),
        "{run}"
    );

    let sizes = Run::findings(&j, "postgres.database_size");
    let mine = sizes
        .iter()
        .find(|f| f["subject"] == db.name.as_str())
        .expect("a size finding for the test database");
    let expected = db.psql(&format!("SELECT pg_database_size('{}')", db.name));
    assert_eq!(mine["value"].as_i64().unwrap().to_string(), expected);
    assert_eq!(mine["unit"], "bytes");
    assert!(
        sizes.iter().any(|f| f["subject"] == "postgres"),
        "every database is reported"
    );

    let used = Run::one(&j, "redis.memory")["value"].as_u64().unwrap() as f64;
    let info = redis_info_field(sandbox().state.redis_port, "used_memory") as f64;
    assert!(
        (used - info).abs() / info < 0.10,
        "redis.memory {used} vs INFO used_memory {info}"
    );

    let version = db.psql("SHOW server_version");
    assert!(Run::one(&j, "postgres.up")["summary"]
        .as_str()
        .unwrap()
        .contains(&version));
    assert!(!Run::findings(&j, "host.disk_usage").is_empty());
    // No service configured: no service or journal findings, not UNKNOWN ones.
    assert!(Run::findings(&j, "service.active").is_empty());
}

#[test]
fn redis_down_is_critical_and_postgres_findings_stay() {
    let _g = shared();
    let db = TestDb::new("redisdown");
    let s = Scratch::new("redisdown");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let redis = format!("redis://127.0.0.1:{}/0", closed_port());
    let run = opsbook(&["check", "morning"])
        .config(&cfg)
        .redis(&redis)
        .format("json")
        .run();
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(j["status"], "critical");
    let up = Run::one(&j, "redis.up");
    assert_eq!(up["status"], "critical");
    assert!(
        up["summary"]
            .as_str()
            .unwrap()
            .contains("connecting to Redis"),
        "{run}"
    );
    assert!(up["hint"].is_string());
    for id in [
        "postgres.up",
        "postgres.connections",
        "postgres.cache_hit_ratio",
    ] {
        assert_eq!(Run::one(&j, id)["status"], "ok", "{id}: {run}");
    }
    assert!(!Run::findings(&j, "postgres.database_size").is_empty());
}

#[test]
fn postgres_down_is_critical_within_the_connect_timeout() {
    let _g = shared();
    let s = Scratch::new("pgdown");
    let backups = fresh_backup(&s);
    let cfg = s.write(
        "c.yaml",
        &format!("backup:\n  dir: {}\nservices: []\nthresholds:\n  disk_pct: {{warning: 99.5}}\n  memory_pct: {{warning: 99.5}}\n", backups.display()),
        0o600,
    );
    let pg = format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port());
    let run = opsbook(&["check", "morning", "--timeout", "2"])
        .config(&cfg)
        .pg(&pg)
        .redis(sandbox().redis_url())
        .format("json")
        .run();
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    let up = Run::one(&j, "postgres.up");
    assert_eq!(up["status"], "critical", "{run}");
    assert!(
        up["summary"].as_str().unwrap().contains("127.0.0.1"),
        "{run}"
    );
    assert_eq!(Run::one(&j, "postgres.connections")["status"], "unknown");
    assert_eq!(Run::one(&j, "redis.up")["status"], "ok");
    assert!(
        run.elapsed.as_secs_f64() < 2.0 + 1.5,
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn a_server_that_never_answers_times_out_as_critical() {
    let _g = shared();
    // Accepts TCP and then says nothing, like a hung server or a firewall that drops replies.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let holder = std::thread::spawn(move || {
        // Hold whatever connects for 4 s, never answering; never block on accept.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(4);
        let mut held = Vec::new();
        while std::time::Instant::now() < until {
            if let Ok((sock, _)) = listener.accept() {
                held.push(sock);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        drop(held);
    });
    let s = Scratch::new("hung");
    let cfg = s.write(
        "c.yaml",
        &format!(
            "backup:\n  dir: {}\nservices: []\n",
            fresh_backup(&s).display()
        ),
        0o600,
    );
    let pg = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let run = opsbook(&["check", "morning", "--timeout", "1"])
        .config(&cfg)
        .pg(&pg)
        .redis(sandbox().redis_url())
        .format("json")
        .run();
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(Run::one(&j, "postgres.up")["status"], "critical", "{run}");
    assert!(
        run.elapsed.as_secs_f64() < 3.0,
        "took {:?}: {run}",
        run.elapsed
    );
    let _ = holder.join();
}

#[test]
fn empty_backup_directory_is_critical() {
    let _g = shared();
    let db = TestDb::new("nobackup");
    let s = Scratch::new("nobackup");
    let empty = s.path().join("backups");
    std::fs::create_dir_all(empty.join("app")).unwrap();
    let cfg = sandbox_config(&s, &db, &empty, "");
    let run = opsbook(&["check", "morning"])
        .config(&cfg)
        .format("json")
        .run();
    let j = run.json();
    let f = Run::one(&j, "backup.latest_age");
    assert_eq!(f["status"], "critical", "{run}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .starts_with("no backup found"),
        "{run}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn an_old_backup_is_critical_and_a_fresh_one_ok() {
    let _g = shared();
    let db = TestDb::new("oldbackup");
    let s = Scratch::new("oldbackup");
    let dir = fresh_backup(&s);
    let file = dir.join("app/20261122T010000Z.dump");
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86400);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    let cfg = sandbox_config(&s, &db, &dir, "");
    let j = opsbook(&["check", "morning"]).config(&cfg).json();
    let f = Run::one(&j, "backup.latest_age");
    assert_eq!(f["status"], "critical");
    let age = f["value"].as_u64().unwrap();
    assert!((2 * 86400..2 * 86400 + 60).contains(&age), "{age}");
    assert_eq!(f["unit"], "seconds");
}

#[test]
fn second_run_shows_growth_since_the_first() {
    let _g = shared();
    let db = TestDb::new("growth");
    let s = Scratch::new("growth");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let state = s.path().join("state");
    let first = opsbook(&["check", "morning"])
        .config(&cfg)
        .state_dir(&state)
        .json();
    let mine = |j: &serde_json::Value| {
        Run::findings(j, "postgres.database_size")
            .into_iter()
            .find(|f| f["subject"] == db.name.as_str())
            .unwrap()["summary"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(mine(&first).contains("first run"), "{}", mine(&first));
    db.psql(
        "CREATE TABLE grow AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g",
    );
    let second = opsbook(&["check", "morning"])
        .config(&cfg)
        .state_dir(&state)
        .json();
    let text = mine(&second);
    assert!(text.contains("since the previous run"), "{text}");
    assert!(text.contains(", +"), "the database grew: {text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.join("history.sqlite3"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn systemd_units_are_checked_or_unknown_with_the_reason() {
    let _g = shared();
    let db = TestDb::new("units");
    let s = Scratch::new("units");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "")
        .to_str()
        .unwrap()
        .to_string();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("services: []", "services: [postgresql]");
    std::fs::write(&cfg, text).unwrap();
    let j = opsbook(&["check", "morning"]).config(&cfg).json();
    let unit = Run::one(&j, "service.active");
    assert_eq!(unit["subject"], "postgresql");
    let journal = Run::one(&j, "journal.errors");
    let pid1 = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
    if pid1.trim() == "systemd" {
        assert_ne!(unit["status"], "unknown", "{unit}");
        assert_ne!(journal["status"], "unknown", "{journal}");
    } else {
        assert_eq!(unit["status"], "unknown");
        assert!(
            unit["summary"]
                .as_str()
                .unwrap()
                .contains("systemd is not PID 1"),
            "{unit}"
        );
        assert_eq!(journal["status"], "unknown");
    }
}
