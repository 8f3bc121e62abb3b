//! Configuration errors exit 3 and point at the spot; `config show` never shows a secret.

use crate::harness::*;

#[test]
fn malformed_config_exits_3_naming_line_and_column() {
    let s = Scratch::new("badcfg");
    let cfg = s.write(
        "opsbook.yaml",
        "backup:\n  dir: /tmp\nthresholds:\n  disk_pct:\n    warnig: 70\n",
        0o600,
    );
    let run = opsbook(&["check", "morning"]).config(&cfg).run();
    assert_eq!(run.code, 3, "{run}");
    let expected = format!("{}:5:5", cfg.display());
    assert!(
        run.stderr.contains(&expected),
        "expected {expected} in:\n{run}"
    );
    assert!(run.stderr.contains("unknown field `warnig`"), "{run}");
    assert!(run.stderr.starts_with("error: "), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert_eq!(run.stdout, "");
}

#[test]
fn broken_yaml_and_wrong_types_exit_3() {
    let s = Scratch::new("types");
    let cfg = s.write("a.yaml", "timeouts:\n  connect: [1, 2\n", 0o600);
    let run = opsbook(&["config", "check"]).arg(&cfg).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains(&format!("{}:", cfg.display())), "{run}");
    let cfg = s.write("b.yaml", "services: postgresql\n", 0o600);
    let run = opsbook(&["config", "check"]).arg(&cfg).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!("{}:1:", cfg.display())),
        "{run}"
    );
    let run = opsbook(&["check", "morning"])
        .config("/nonexistent/opsbook.yaml")
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("does not exist"), "{run}");
}

#[test]
fn config_check_accepts_a_good_file() {
    let s = Scratch::new("goodcfg");
    let cfg = s.write(
        "ok.yaml",
        "services: [postgresql, telegram-bot]\nthresholds:\n  backup_age:\n    critical: 36h\n",
        0o644,
    );
    let run = opsbook(&["config", "check"]).arg(&cfg).run();
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("is a valid opsbook configuration"),
        "{run}"
    );
}

#[test]
fn no_file_means_the_seed_defaults() {
    let run = opsbook(&["config", "show"]).run();
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("# source: built-in defaults"), "{run}");
    assert!(run.stdout.contains("services:"), "{run}");
    let j = opsbook(&["config", "show"]).json();
    let c = &j["data"]["config"];
    assert_eq!(c["thresholds"]["connections_pct"]["critical"], 90.0);
    assert_eq!(c["thresholds"]["disk_pct"]["warning"], 80.0);
    assert_eq!(c["thresholds"]["backup_age"]["critical"], "1d");
    assert_eq!(c["services"][0], "postgresql");
}

/// Issue 19: byte sizes and counts print as the integers they are (`16777216`, not
/// `16777216.0`); a fraction keeps its decimals. The printed YAML reads back as the same config.
#[test]
fn config_show_prints_whole_numbers_as_integers() {
    let s = Scratch::new("numbers");
    let cfg = s.write(
        "numbers.yaml",
        "thresholds:\n  replication_lag_bytes: {warning: 16777216, critical: 1073741824}\n  load_per_core: {warning: 1.5}\n",
        0o600,
    );
    let run = opsbook(&["config", "show"]).config(&cfg).run();
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("warning: 16777216\n"), "{run}");
    assert!(run.stdout.contains("critical: 1073741824\n"), "{run}");
    assert!(run.stdout.contains("warning: 1.5\n"), "{run}");
    assert!(
        run.stdout.contains("warning: 80\n"),
        "the defaults too: {run}"
    );
    let floats: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_end().ends_with(".0"))
        .collect();
    assert!(floats.is_empty(), "{floats:?}");
    let shown = s.write("shown.yaml", &run.stdout, 0o600);
    let again = opsbook(&["config", "check", shown.to_str().unwrap()]).run();
    assert_eq!(again.code, 0, "{again}");
    let j = opsbook(&["config", "show"]).config(&cfg).json();
    assert_eq!(
        j["data"]["config"]["thresholds"]["replication_lag_bytes"]["warning"].to_string(),
        "16777216"
    );
}

#[test]
fn config_show_masks_secrets_and_readable_secret_files_are_refused() {
    let s = Scratch::new("secret");
    let body = "postgres:\n  url: postgres://app:hunter2secret@db.example:5432/app\nredis:\n  url: redis://:redispw99@127.0.0.1:6390/0\n";
    let cfg = s.write("private.yaml", body, 0o600);
    let run = opsbook(&["config", "show"]).config(&cfg).run();
    assert_eq!(run.code, 0, "{run}");
    assert!(
        !run.stdout.contains("hunter2secret") && !run.stderr.contains("hunter2secret"),
        "{run}"
    );
    assert!(!run.stdout.contains("redispw99"), "{run}");
    assert!(run.stdout.contains("***"), "{run}");
    let json = opsbook(&["config", "show"])
        .config(&cfg)
        .format("json")
        .run();
    assert!(!json.stdout.contains("hunter2secret"));

    let open = s.write("open.yaml", body, 0o644);
    let run = opsbook(&["config", "show"]).config(&open).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("chmod 600"), "{run}");
    assert!(!run.stderr.contains("hunter2secret"), "{run}");
}

#[test]
fn flags_and_environment_override_the_file() {
    let s = Scratch::new("precedence");
    let cfg = s.write(
        "c.yaml",
        "postgres:\n  url: postgres://file@filehost:5432/filedb\n",
        0o600,
    );
    let run = opsbook(&["config", "show"]).config(&cfg).run();
    assert!(run.stdout.contains("filehost"), "{run}");
    let run = opsbook(&["config", "show"])
        .config(&cfg)
        .env("DATABASE_URL", "postgres://envuser@envhost:5432/envdb")
        .run();
    assert!(
        run.stdout.contains("envhost") && !run.stdout.contains("filehost"),
        "{run}"
    );
    let run = opsbook(&["config", "show"])
        .config(&cfg)
        .pg("postgres://flag@flaghost:5432/x")
        .env("DATABASE_URL", "postgres://envuser@envhost:5432/envdb")
        .run();
    assert!(
        run.stdout.contains("flaghost") && !run.stdout.contains("envhost"),
        "{run}"
    );
    let run = opsbook(&["config", "show"])
        .config(&cfg)
        .env("OPSBOOK_CONFIG", "/nonexistent.yaml")
        .run();
    assert_eq!(run.code, 0, "--config wins over OPSBOOK_CONFIG: {run}");
}

#[test]
fn the_example_config_is_valid_and_its_secrets_stay_masked() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/opsbook.yaml");
    // Installed as its header says (mode 0600): its webhook URL is a credential, so a copy
    // others can read is refused.
    let s = Scratch::new("example_cfg");
    let installed = s.write(
        "installed.yaml",
        &std::fs::read_to_string(&example).unwrap(),
        0o600,
    );
    let run = opsbook(&["config", "check"]).arg(&installed).run();
    assert_eq!(run.code, 0, "{run}");
    std::fs::set_permissions(
        &installed,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    // `config check` reports it (a CRITICAL finding naming the key); a run refuses the file.
    let run = opsbook(&["config", "check"]).arg(&installed).run();
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stdout.contains("notify.webhook.url"), "{run}");
    let run = opsbook(&["config", "show"]).config(&installed).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("notify.webhook.url"), "{run}");
    // `config show` reads the secret files it names: point them at files of the test's own.
    for f in ["pg.password", "redis.password", "telegram.token"] {
        s.write(f, "not-shown-either\n", 0o600);
    }
    let text = std::fs::read_to_string(&example)
        .unwrap()
        .replace("/etc/opsbook/", &format!("{}/", s.path().display()));
    let copy = s.write("opsbook.yaml", &text, 0o600);
    let shown = opsbook(&["config", "show"]).config(&copy).run();
    assert_eq!(shown.code, 0, "{shown}");
    assert!(
        !shown.stdout.contains("xxxxxxxxxxxxxxxxxxxxxxxxxx"),
        "the webhook's secret path is masked: {shown}"
    );
    assert!(!shown.stdout.contains("not-shown-either"), "{shown}");
    for key in [
        "metrics",
        "health",
        "notify",
        "monitor",
        "cleanup",
        "maintenance",
    ] {
        assert!(shown.stdout.contains(&format!("{key}:")), "{key}: {shown}");
    }
}

#[test]
fn config_check_reports_every_secret_others_can_read_as_a_finding() {
    let s = Scratch::new("secretmodes");
    let pg_pw = s.write("pg.pw", "pgsecret\n", 0o644);
    let redis_pw = s.write("redis.pw", "redissecret\n", 0o640);
    let body = format!(
        "postgres:\n  url: postgres://app:inline@db.example/app\n  password_file: {}\nredis:\n  password_file: {}\n",
        pg_pw.display(),
        redis_pw.display()
    );
    let cfg = s.write("opsbook.yaml", &body, 0o644);

    // The operator asks whether the file is fine: every breach is listed, not only the first.
    let run = opsbook(&["config", "check"]).arg(&cfg).format("json").run();
    assert_eq!(run.code, 2, "{run}");
    let json = run.json();
    let breaches = Run::findings(&json, "config.secret_readable");
    let subjects: Vec<&str> = breaches
        .iter()
        .map(|f| f["subject"].as_str().unwrap_or_default())
        .collect();
    let file = cfg.display().to_string();
    assert_eq!(
        subjects,
        vec![
            file.as_str(),
            "postgres.password_file",
            "redis.password_file"
        ],
        "{run}"
    );
    assert!(breaches.iter().all(|f| f["status"] == "critical"), "{run}");
    assert!(
        breaches[1]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("chmod 600 {}", pg_pw.display())),
        "{run}"
    );
    assert!(Run::findings(&json, "config.valid").is_empty(), "{run}");
    assert!(
        !run.stdout.contains("inline@") && !run.stdout.contains("pgsecret"),
        "{run}"
    );

    // A run refuses the same file, as before.
    let refused = opsbook(&["config", "show"]).config(&cfg).run();
    assert_eq!(refused.code, 3, "{refused}");

    // Fixed as the hints say: valid.
    for p in [&cfg, &pg_pw, &redis_pw] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    }
    let json = opsbook(&["config", "check"]).arg(&cfg).json();
    assert_eq!(json["status"], "ok");
    assert_eq!(Run::findings(&json, "config.valid").len(), 1);
}

/// Issue 19: "slow" has one definition; the monitor's own old key is refused with the way to
/// write it, not silently ignored (a monitor would count by another rule than the config says).
#[test]
fn the_old_monitor_slow_query_ms_is_refused_with_the_new_keys() {
    let s = Scratch::new("oldslow");
    let cfg = s.write("old.yaml", "monitor:\n  slow_query_ms: 100\n", 0o600);
    let run = opsbook(&["config", "check", cfg.to_str().unwrap()]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("monitor.slow_query_ms"), "{run}");
    assert!(
        run.stderr
            .contains("hint: write it as thresholds.slow_query_mean_ms: {warning: 100}"),
        "{run}"
    );
}
