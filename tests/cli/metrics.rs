//! Custom metrics (`metrics:` in the config) from the operator's side.

use crate::harness::*;

fn run_check(check: &str, cfg: &std::path::Path, extra: &[&str]) -> Run {
    opsbook(&["check", check])
        .format("json")
        .config(cfg)
        .args(extra)
        .run()
}

fn metric<'a>(j: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    Run::one(j, &format!("metric.{name}"))
}

/// A Redis key of the test's own, deleted at the end.
struct Key(String);

impl Key {
    fn new(tag: &str) -> Key {
        let k = Key(format!("t_metrics_{tag}_{}", std::process::id()));
        redis_cmd(&["DEL", &k.0]);
        k
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        redis_cmd(&["DEL", &self.0]);
    }
}

#[test]
fn metrics_are_judged_and_a_broken_one_is_unknown_while_the_rest_report() {
    let _g = shared();
    let db = TestDb::new("metrics");
    db.psql("CREATE TABLE items AS SELECT g FROM generate_series(1, 7) g");
    let list = Key::new("list");
    for i in 0..4 {
        redis_cmd(&["RPUSH", &list.0, &i.to_string()]);
    }
    let s = Scratch::new("metrics");
    let extra = format!(
        r#"health:
  queues: [t_metrics_none]
metrics:
  - name: items_total
    description: items in stock
    sql: SELECT count(*) FROM items
    warning: 3
    critical: 5
    unit: items
    checks: [health, morning]
  - name: free_slots
    sql: SELECT 3::numeric(10,2)
    direction: below
    warning: 5
    critical: 1
    unit: slots
    checks: [health]
  - name: queue_len
    redis: {{llen: {}}}
    warning: 10
    unit: jobs
    checks: [health]
  - name: broken
    sql: SELECT nope FROM items
    checks: [health]
  - name: morning_only
    sql: SELECT 1
    checks: [morning]
"#,
        list.0
    );
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), &extra);

    let run = run_check("health", &cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 2, "critical outranks unknown: {run}");

    let f = metric(&j, "items_total");
    assert_eq!(f["status"], "critical", "{run}");
    assert_eq!(f["value"], 7);
    assert_eq!(f["unit"], "items");
    assert_eq!(
        f["summary"],
        "items in stock: 7 items (warning above 3, critical above 5)"
    );

    let f = metric(&j, "free_slots");
    assert_eq!(f["status"], "warning", "{run}");
    assert_eq!(f["value"], 3);

    let f = metric(&j, "queue_len");
    assert_eq!(f["status"], "ok", "{run}");
    assert_eq!(f["value"], 4);
    assert_eq!(f["unit"], "jobs");

    let f = metric(&j, "broken");
    assert_eq!(f["status"], "unknown", "{run}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.contains("column \"nope\" does not exist"),
        "the server's own message: {run}"
    );
    assert!(!summary.contains('\n'));
    assert!(f["hint"].as_str().unwrap().contains("psql"), "{run}");

    assert!(
        Run::findings(&j, "metric.morning_only").is_empty(),
        "a metric not listed for health stays out of it: {run}"
    );
    assert_eq!(Run::one(&j, "postgres.up")["status"], "ok");
    assert_eq!(Run::one(&j, "redis.up")["status"], "ok");
    let m = &j["data"]["checks"]["metrics"];
    assert_eq!(m["items_total"]["value"], 7);
    assert_eq!(m["broken"]["status"], "unknown");

    // check morning runs the metrics that list it, and only those.
    let run = run_check("morning", &cfg, &["--no-record"]);
    let j = run.json();
    let f = metric(&j, "morning_only");
    assert_eq!(f["status"], "ok", "{run}");
    assert_eq!(f["value"], 1);
    assert_eq!(metric(&j, "items_total")["status"], "critical");
    assert!(Run::findings(&j, "metric.queue_len").is_empty(), "{run}");
    assert_eq!(Run::one(&j, "postgres.connections")["status"], "ok");
}

#[test]
fn metric_sql_runs_read_only_one_statement_and_bounded() {
    let _g = shared();
    let db = TestDb::new("metricsro");
    db.psql("CREATE TABLE items AS SELECT g FROM generate_series(1, 7) g");
    let s = Scratch::new("metricsro");
    let extra = r#"health:
  queues: [t_metrics_none]
metrics:
  - name: deleting
    sql: DELETE FROM items RETURNING 1
    checks: [health]
  - name: smuggled
    sql: SELECT 1; DELETE FROM items
    checks: [health]
  - name: nothing
    sql: SELECT NULL::int
    checks: [health]
  - name: words
    sql: SELECT 'many'
    checks: [health]
  - name: slow
    sql: SELECT 1 FROM pg_sleep(10)
    checks: [health]
  - name: quick
    sql: SELECT 42
    checks: [health]
"#;
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), extra);
    // 3 s, not less: the connect shares this bound and a loaded CI machine can take over 1.5 s.
    let run = run_check("health", &cfg, &["--timeout", "3"]);
    let j = run.json();
    assert_eq!(run.code, 3, "{run}");
    let says = |name: &str, text: &str| {
        let f = metric(&j, name);
        assert_eq!(f["status"], "unknown", "{name}: {run}");
        assert!(
            f["summary"].as_str().unwrap().contains(text),
            "{name} should say {text}: {run}"
        );
    };
    says("deleting", "read-only transaction");
    says("smuggled", "multiple commands");
    says("nothing", "NULL");
    says("words", "`many`, not a number");
    says("slow", "statement timeout");
    assert_eq!(metric(&j, "quick")["value"], 42);
    assert_eq!(db.psql("SELECT count(*) FROM items"), "7");
    // The 10 s sleep was cut at the 3 s statement timeout.
    assert!(run.elapsed.as_secs_f64() < 9.0, "took {:?}", run.elapsed);
}

#[test]
fn redis_metrics_read_counters_and_count_keys_with_scan() {
    let _g = shared();
    let db = TestDb::new("metricsredis");
    let counter = Key::new("counter");
    redis_cmd(&["SET", &counter.0, "12"]);
    let word = Key::new("word");
    redis_cmd(&["SET", &word.0, "twelve"]);
    let missing = Key::new("missing");
    let locks: Vec<Key> = (0..3).map(|i| Key::new(&format!("lock_{i}"))).collect();
    for k in &locks {
        redis_cmd(&["SET", &k.0, "1"]);
    }
    let pattern = format!("t_metrics_lock_*_{}", std::process::id());
    let s = Scratch::new("metricsredis");
    let extra = format!(
        r#"health:
  queues: [t_metrics_none]
metrics:
  - name: fraud_today
    redis: {{get: {}}}
    warning: 10
    unit: attempts
    checks: [health]
  - name: not_a_number
    redis: {{get: {}}}
    checks: [health]
  - name: never_set
    redis: {{get: {}}}
    checks: [health]
  - name: locks
    redis: {{keys: '{pattern}'}}
    unit: keys
    checks: [health]
"#,
        counter.0, word.0, missing.0
    );
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), &extra);
    let run = run_check("health", &cfg, &[]);
    let j = run.json();
    let f = metric(&j, "fraud_today");
    assert_eq!(f["status"], "warning", "{run}");
    assert_eq!(f["value"], 12);
    assert_eq!(metric(&j, "locks")["value"], 3, "{run}");
    assert_eq!(metric(&j, "not_a_number")["status"], "unknown");
    let f = metric(&j, "never_set");
    assert_eq!(f["status"], "unknown");
    assert!(
        f["summary"].as_str().unwrap().contains("does not exist"),
        "{run}"
    );
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn a_malformed_metrics_config_exits_3_naming_file_line_and_column() {
    let s = Scratch::new("metricsbad");
    let two = s.write(
        "two.yaml",
        "metrics:\n  - name: users\n    sql: SELECT count(*) FROM users_global\n    redis: {llen: rq:queue:tasks}\n",
        0o600,
    );
    for args in [
        vec!["config", "check", two.to_str().unwrap()],
        vec!["check", "health", "--config", two.to_str().unwrap()],
    ] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 3, "{run}");
        assert!(
            run.stderr.contains(&format!("{}:4:", two.display())),
            "{run}"
        );
        assert!(run.stderr.contains("both `sql` and `redis`"), "{run}");
        assert!(run.stderr.contains("hint: "), "{run}");
        assert_eq!(run.stdout, "");
    }

    let unknown = s.write(
        "unknown.yaml",
        "metrics:\n  - name: users\n    sql: SELECT 1\n    threshold: 5\n",
        0o600,
    );
    let run = opsbook(&["config", "check"]).arg(&unknown).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!("{}:4:5", unknown.display())),
        "{run}"
    );
    assert!(run.stderr.contains("unknown field `threshold`"), "{run}");

    let dup = s.write(
        "dup.yaml",
        "metrics:\n  - name: users\n    sql: SELECT 1\n  - name: users\n    sql: SELECT 2\n",
        0o600,
    );
    let run = opsbook(&["config", "check"]).arg(&dup).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!("{}:4:", dup.display())),
        "{run}"
    );
    assert!(run.stderr.contains("used twice"), "{run}");
}

/// The seeds' app numbers as commands/check.md documents them, run against the demo schema.
#[test]
fn the_documented_seed_metrics_run_against_the_demo_schema() {
    let _g = shared();
    let page = include_str!("../../commands/check.md");
    let section = page
        .split("### The seeds' app numbers")
        .nth(1)
        .expect("the section in commands/check.md");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a yaml block in the section");
    let db = TestDb::new("metricsdoc");
    db.psql(&opsbook::demo::schema_and_data_sql(300, 20000));
    let s = Scratch::new("metricsdoc");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [t_metrics_none]\n{yaml}"),
    );
    // The demo's invites all lie in the past: as time passes they only leave the 24 h window,
    // so the metric's count lies between a count taken before and one taken after.
    let active = || -> i64 {
        db.psql("SELECT count(DISTINCT inviter_user_id) FROM global_unique_invited_users WHERE created_at > now() - interval '24 hours'")
            .parse()
            .unwrap()
    };
    let before = active();
    let run = run_check("health", &cfg, &[]);
    let after = active();
    let j = run.json();
    for name in ["active_users", "invites_per_minute", "tasks_backlog"] {
        let f = metric(&j, name);
        assert_ne!(f["status"], "unknown", "{name}: {run}");
        assert!(f["value"].is_number(), "{name}: {run}");
    }
    let v = metric(&j, "active_users")["value"].as_i64().unwrap();
    assert!(after <= v && v <= before, "{after} <= {v} <= {before}");
    assert!(v > 0, "the demo has recent inviters: {run}");
    // Listed for night and monitor only.
    assert!(Run::findings(&j, "metric.fraud_attempts_today").is_empty());
    assert!(Run::findings(&j, "metric.duplicate_messages").is_empty());
}

#[test]
fn every_check_and_monitor_run_the_metrics_that_list_them() {
    let _g = shared();
    let db = TestDb::new("metrics_every");
    db.psql("CREATE TABLE fraud (id int); INSERT INTO fraud SELECT generate_series(1, 3)");
    let s = Scratch::new("metrics_every");
    let extra = "metrics:\n  - name: fraud_today\n    sql: SELECT count(*) FROM fraud\n    warning: 2\n    unit: attempts\n    checks: [afternoon, night, monitor]\n  - name: health_only\n    sql: SELECT 1\n    checks: [health]\n";
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), extra);
    for (args, label) in [
        (vec!["check", "afternoon", "--no-record"], "check afternoon"),
        (vec!["check", "night", "--no-record"], "check night"),
        (vec!["monitor", "--no-record", "--no-notify"], "monitor"),
    ] {
        let run = opsbook(&args).format("json").config(&cfg).run();
        let j = run.json();
        let f = metric(&j, "fraud_today");
        assert_eq!(f["status"], "warning", "{label}: {run}");
        assert_eq!(f["value"], 3, "{label}: {run}");
        assert!(
            run.code >= 1,
            "{label}: a warning metric sets the exit code: {run}"
        );
        assert!(
            Run::findings(&j, "metric.health_only").is_empty(),
            "{label}: {run}"
        );
    }
}
