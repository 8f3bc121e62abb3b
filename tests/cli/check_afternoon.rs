//! `opsbook check afternoon` from the operator's side.

use std::io::Write as _;
use std::process::Stdio;

use crate::harness::*;

/// Every finding id the checklist reports, in report order: the command's one declaration
/// (its `FindingIds` table, which `--help` lists and commands/check.md documents), without the
/// custom metrics (none are configured here).
fn ids() -> Vec<&'static str> {
    opsbook::commands::check::afternoon::FINDING_IDS
        .ids()
        .filter(|id| !id.starts_with("metric."))
        // only after `diagnose config --apply` (tests/cli/diagnose_config.rs)
        .filter(|id| *id != "postgres.tuning_effect")
        .collect()
}

fn afternoon(cfg: &std::path::Path, extra: &[&str]) -> Run {
    opsbook(&["check", "afternoon"])
        .format("json")
        .config(cfg)
        .args(extra)
        .run()
}

/// The exit code is the report's worst status (critical outranks unknown).
fn assert_exit_is_worst(run: &Run) {
    let j = run.json();
    let expected = match j["status"].as_str().unwrap() {
        "ok" => 0,
        "warning" => 1,
        "critical" => 2,
        _ => 3,
    };
    assert_eq!(run.code, expected, "{run}");
}

fn pid_of(db: &TestDb, app: &str) -> String {
    db.psql(&format!(
        "SELECT pid FROM pg_stat_activity WHERE application_name = '{app}' AND datname = current_database()"
    ))
}

#[test]
fn half_deleted_table_is_bloated_and_a_fresh_one_is_not() {
    let _g = shared();
    let db = TestDb::new("bloat");
    db.psql(
        "CREATE EXTENSION pg_stat_statements; \
         CREATE TABLE fresh (id int PRIMARY KEY, payload text); \
         INSERT INTO fresh SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g; \
         CREATE TABLE half (id int PRIMARY KEY, payload text); \
         INSERT INTO half SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g; \
         CREATE TABLE tiny (id int); INSERT INTO tiny SELECT generate_series(1, 100)",
    );
    db.psql("VACUUM ANALYZE fresh");
    db.psql("VACUUM ANALYZE tiny");
    db.psql("DELETE FROM half WHERE id % 2 = 0");
    db.psql("VACUUM ANALYZE half");
    let s = Scratch::new("bloat");
    // 100k rows of ~140 bytes are 13.5 MB: the floor and the wasted bytes are lowered.
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  relation_min_bytes: 1048576\n  bloat_wasted_bytes: {warning: 1048576}\n",
    );

    let run = afternoon(&cfg, &["--no-record"]);
    let j = run.json();
    let tables = Run::findings(&j, "postgres.table_bloat");
    let half = tables
        .iter()
        .find(|f| f["subject"] == "public.half")
        .unwrap_or_else(|| panic!("no finding for the half-deleted table: {run}"));
    assert_eq!(half["status"], "warning", "{run}");
    assert_eq!(half["unit"], "bytes");
    let wasted = half["value"].as_i64().unwrap();
    let size: i64 = db.psql("SELECT pg_relation_size('half')").parse().unwrap();
    assert!(
        wasted > size * 45 / 100 && wasted < size * 55 / 100,
        "half of {size} bytes expected, got {wasted}: {run}"
    );
    assert!(
        half["summary"].as_str().unwrap().contains("estimate"),
        "{run}"
    );
    assert!(
        half["hint"].as_str().unwrap().contains("VACUUM FULL"),
        "{run}"
    );
    let fresh = tables
        .iter()
        .find(|f| f["subject"] == "public.fresh")
        .unwrap_or_else(|| panic!("no finding for the fresh table: {run}"));
    assert_eq!(
        fresh["status"], "ok",
        "a fresh, vacuumed table is not bloated: {run}"
    );
    assert!(
        !tables.iter().any(|f| f["subject"] == "public.tiny"),
        "below the floor: {run}"
    );
    // The half-deleted table's primary key lost half its entries too.
    let index = Run::findings(&j, "postgres.index_bloat")
        .into_iter()
        .find(|f| f["subject"] == "public.half_pkey")
        .unwrap_or_else(|| panic!("no finding for half_pkey: {run}"));
    assert!(
        index["summary"].as_str().unwrap().contains("table half"),
        "{run}"
    );
    let row = j["data"]["table_bloat"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "half")
        .unwrap();
    assert_eq!(row["exact"], false);
    assert_eq!(row["kind"], "table");
    assert_exit_is_worst(&run);

    // --exact without pgstattuple: one UNKNOWN saying how to install it, then the estimate.
    let run = afternoon(&cfg, &["--no-record", "--exact"]);
    let j = run.json();
    let missing = Run::findings(&j, "postgres.table_bloat")
        .into_iter()
        .find(|f| f["subject"] == "pgstattuple")
        .unwrap_or_else(|| panic!("no pgstattuple finding: {run}"));
    assert_eq!(missing["status"], "unknown");
    assert!(
        missing["hint"]
            .as_str()
            .unwrap()
            .contains("CREATE EXTENSION pgstattuple"),
        "{run}"
    );
    assert!(Run::findings(&j, "postgres.table_bloat")
        .iter()
        .any(|f| f["subject"] == "public.half" && f["status"] == "warning"));
    assert_eq!(run.code, 3, "{run}");

    // With pgstattuple: measured, and the same verdicts.
    db.psql("CREATE EXTENSION pgstattuple");
    let run = afternoon(&cfg, &["--no-record", "--exact"]);
    let j = run.json();
    let tables = Run::findings(&j, "postgres.table_bloat");
    let half = tables
        .iter()
        .find(|f| f["subject"] == "public.half")
        .unwrap();
    assert_eq!(half["status"], "warning", "{run}");
    assert!(half["summary"].as_str().unwrap().contains("pgstattuple"));
    let fresh = tables
        .iter()
        .find(|f| f["subject"] == "public.fresh")
        .unwrap();
    assert_eq!(fresh["status"], "ok", "{run}");
    assert!(
        j["data"]["table_bloat"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["exact"] == true),
        "{run}"
    );
    assert_exit_is_worst(&run);
}

#[test]
fn statement_called_100_times_with_a_sleep_is_slow() {
    let _g = shared();
    let db = TestDb::new("slowq");
    db.psql("CREATE EXTENSION pg_stat_statements");
    let s = Scratch::new("slowq");
    // 100 calls of a 55 ms statement: listed. 99 calls of another: not (calls >= 100).
    let slow: String = "SELECT pg_sleep(0.055);\n".repeat(100);
    let hundred: String = "SELECT 1 AS hundred, pg_sleep(0.055);\n".repeat(99);
    let mut a = psql_command(&db, "slow");
    a.args(["-f", s.write("slow.sql", &slow, 0o644).to_str().unwrap()]);
    let mut b = psql_command(&db, "hundred");
    b.args([
        "-f",
        s.write("hundred.sql", &hundred, 0o644).to_str().unwrap(),
    ]);
    let (mut a, mut b) = (Child::spawn(a), Child::spawn(b));
    for c in [&mut a, &mut b] {
        let st = c.wait_for(std::time::Duration::from_secs(60));
        assert!(st.is_some_and(|s| s.success()), "psql burst failed");
    }
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");

    let run = afternoon(&cfg, &["--no-record", "--top", "3"]);
    let j = run.json();
    let slow = Run::findings(&j, "postgres.slow_queries");
    assert_eq!(slow.len(), 1, "only the statement with 100 calls: {run}");
    let f = slow[0];
    assert_eq!(f["status"], "warning", "{run}");
    assert!(f["detail"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l == "calls 100"));
    assert!(f["summary"].as_str().unwrap().contains("pg_sleep"), "{run}");
    let mean = f["value"].as_f64().unwrap();
    assert!((0.054..0.2).contains(&mean), "mean {mean} s: {run}");
    let row = &j["data"]["slow_queries"][0];
    assert_eq!(row["calls"], 100, "{run}");
    // Queryids are JSON strings (a double cannot hold every 64-bit id).
    let queryid = row["queryid"].as_str().unwrap();
    assert_eq!(f["subject"], queryid);
    let share = row["share_pct"].as_f64().unwrap();
    assert!(share > 30.0 && share <= 100.0, "{run}");
    assert!(f["hint"]
        .as_str()
        .unwrap()
        .contains(&format!("--explain {queryid}")));
    assert_exit_is_worst(&run);
}

#[test]
fn blocked_and_idle_in_transaction_sessions_are_reported_with_their_pids() {
    // Lock waits and transactions are cluster wide: no other test's sessions in them.
    let _g = exclusive();
    let db = TestDb::new("sessions");
    db.psql("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)");
    let s = Scratch::new("sessions");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  long_transaction: {warning: 1s, critical: 1h}\n  idle_in_transaction: {warning: 1s, critical: 1h}\n",
    );

    // The holder updates the row in an open transaction and goes idle.
    let mut holder_cmd = psql_command(&db, "holder");
    holder_cmd.stdin(Stdio::piped());
    let mut holder = Child::spawn(holder_cmd);
    let mut stdin = holder.0.stdin.take().unwrap();
    stdin
        .write_all(b"BEGIN;\nUPDATE t SET v = 1 WHERE id = 1;\n")
        .unwrap();
    stdin.flush().unwrap();
    wait_until("the holder idle in transaction", || {
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'holder' AND state = 'idle in transaction'") == "1"
    });
    let mut waiter_cmd = psql_command(&db, "waiter");
    waiter_cmd.args(["-c", "UPDATE t SET v = 2 WHERE id = 1"]);
    let _waiter = Child::spawn(waiter_cmd);
    wait_until("the waiter blocked", || {
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'waiter' AND wait_event_type = 'Lock'") == "1"
    });
    let (h, w) = (pid_of(&db, "holder"), pid_of(&db, "waiter"));
    std::thread::sleep(std::time::Duration::from_millis(1500));

    let run = afternoon(&cfg, &["--no-record"]);
    let j = run.json();
    let detail = |id: &str| -> Vec<String> {
        Run::one(&j, id)["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    };
    let idle = Run::one(&j, "postgres.idle_in_transaction");
    assert_eq!(idle["status"], "warning", "{run}");
    assert!(
        detail("postgres.idle_in_transaction")
            .iter()
            .any(|l| l.starts_with(&format!("pid {h} ")) && l.contains("app=holder")),
        "{run}"
    );
    let locks = Run::one(&j, "postgres.lock_waits");
    assert_eq!(locks["status"], "warning", "{run}");
    assert!(
        detail("postgres.lock_waits")
            .iter()
            .any(|l| l.starts_with(&format!("pid {w} "))
                && l.contains(&format!("blocked by {h}"))
                && l.contains("UPDATE t SET v = 2")),
        "{run}"
    );
    let long = detail("postgres.long_transactions");
    assert_eq!(
        Run::one(&j, "postgres.long_transactions")["status"],
        "warning"
    );
    for pid in [&h, &w] {
        assert!(
            long.iter().any(|l| l.starts_with(&format!("pid {pid} "))),
            "{pid} in {run}"
        );
    }
    assert!(
        !long.iter().any(|l| l.contains("app=opsbook")),
        "our own session is not listed: {run}"
    );
    assert!(run.code >= 1, "{run}");
    assert_exit_is_worst(&run);
    drop(stdin);
}

#[test]
fn without_pg_stat_statements_slow_queries_is_unknown_with_the_two_steps() {
    let _g = shared();
    let db = TestDb::new("aft_nopgss");
    let s = Scratch::new("aft_nopgss");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let run = afternoon(&cfg, &["--no-record"]);
    let j = run.json();
    let f = Run::one(&j, "postgres.slow_queries");
    assert_eq!(f["status"], "unknown", "{run}");
    let hint = f["hint"].as_str().unwrap();
    assert!(
        hint.contains("(1) add it to shared_preload_libraries"),
        "{hint}"
    );
    assert!(
        hint.contains("(2) run CREATE EXTENSION pg_stat_statements"),
        "{hint}"
    );
    assert_eq!(run.code, 3, "{run}");

    // The ids are the documented ones, in the documented order.
    let mut seen: Vec<&str> = Vec::new();
    for f in j["findings"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        if seen.last() != Some(&id) {
            seen.push(id);
        }
    }
    let ids = ids();
    assert_eq!(seen, ids, "{run}");
    for id in ids {
        assert!(!Run::findings(&j, id).is_empty(), "{id}");
    }
    let wrap = Run::one(&j, "postgres.txn_wraparound");
    assert_eq!(wrap["unit"], "percent");
    assert_eq!(wrap["status"], "ok", "{run}");
}

#[test]
fn unused_index_and_seq_scanned_table_get_their_advice() {
    let _g = shared();
    let db = TestDb::new("scans");
    db.psql(
        "CREATE EXTENSION pg_stat_statements; \
         CREATE TABLE orders AS SELECT g AS id, g % 500 AS customer_id, md5(g::text) AS note \
         FROM generate_series(1, 40000) g; \
         ALTER TABLE orders ADD PRIMARY KEY (id); \
         CREATE INDEX orders_note_idx ON orders (note); ANALYZE orders",
    );
    let s = Scratch::new("scans");
    let script: String = (1..=25)
        .map(|i| format!("SELECT count(*) FROM orders WHERE customer_id = {i};\n"))
        .collect();
    let mut burst = psql_command(&db, "burst");
    burst.args(["-f", s.write("scan.sql", &script, 0o644).to_str().unwrap()]);
    assert!(burst.output().unwrap().status.success());
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  relation_min_bytes: 1048576\n  slow_query_min_calls: 10\n",
    );

    let run = afternoon(&cfg, &["--no-record"]);
    let j = run.json();
    let unused = Run::findings(&j, "postgres.unused_indexes");
    let note = unused
        .iter()
        .find(|f| f["subject"] == "public.orders_note_idx")
        .unwrap_or_else(|| panic!("the never-scanned index: {run}"));
    assert_eq!(note["status"], "warning");
    assert!(
        note["summary"].as_str().unwrap().contains("never reset")
            || note["summary"]
                .as_str()
                .unwrap()
                .contains("statistics reset at"),
        "{run}"
    );
    assert!(
        !unused.iter().any(|f| f["subject"] == "public.orders_pkey"),
        "a primary key is never unused: {run}"
    );
    let seq = Run::findings(&j, "postgres.seq_scan_heavy")
        .into_iter()
        .find(|f| f["subject"] == "public.orders")
        .unwrap_or_else(|| panic!("orders is read by sequential scans: {run}"));
    assert_eq!(seq["status"], "warning", "{run}");
    assert!(
        seq["hint"]
            .as_str()
            .unwrap()
            .contains("CREATE INDEX CONCURRENTLY ON \"public\".\"orders\" (\"customer_id\")"),
        "{run}"
    );
    assert_exit_is_worst(&run);
}

#[test]
fn todays_peak_comes_from_the_run_history() {
    let _g = shared();
    let db = TestDb::new("peak");
    let s = Scratch::new("peak");
    let state = s.path().join("state");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let run_with = |extra: &[&str]| {
        opsbook(&["check", "afternoon"])
            .format("json")
            .config(&cfg)
            .args(extra)
            .state_dir(&state)
            .run()
    };

    // Five extra sessions while the first run records.
    let sleepers: Vec<Child> = (0..5)
        .map(|i| {
            let mut c = psql_command(&db, &format!("sleeper{i}"));
            c.args(["-c", "SELECT pg_sleep(30)"]);
            Child::spawn(c)
        })
        .collect();
    wait_until("five sleepers", || {
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sleeper%'")
            == "5"
    });
    let first = run_with(&[]);
    let busy = Run::one(&first.json(), "postgres.peak_connections")["value"]
        .as_i64()
        .unwrap();
    // Five sleepers; opsbook's own session is not a client of the server's.
    assert!(busy >= 5, "{first}");
    drop(sleepers);
    // A killed psql leaves its backend sleeping: end them on the server.
    db.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'sleeper%'");
    wait_until("the sleepers gone", || {
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sleeper%'")
            == "0"
    });

    let second = run_with(&["--no-record"]);
    let j = second.json();
    let peak = Run::one(&j, "postgres.peak_connections");
    assert!(peak["value"].as_i64().unwrap() >= busy, "{second}");
    assert!(
        peak["summary"]
            .as_str()
            .unwrap()
            .contains("over 1 earlier sample(s)"),
        "{second}"
    );
    assert_eq!(peak["unit"], "connections");
    // --no-record left the history as it was.
    let third = run_with(&[]);
    assert!(
        Run::one(&third.json(), "postgres.peak_connections")["summary"]
            .as_str()
            .unwrap()
            .contains("over 1 earlier sample(s)"),
        "{third}"
    );
}

/// Issue 14 item 1: the seeds' ranking query (`u` = users_global filtered on created_at,
/// joined to the invites, which also have a created_at) at a scale where the planner reads
/// both tables sequentially. The advice comes from the plan: never an index on the invites'
/// created_at; users_global's created_at (the column the plan filters on) when planned.
#[test]
fn ranking_query_advice_names_the_filtered_relation_not_a_namesake_column() {
    let _g = shared();
    let db = TestDb::new("ranking_advice");
    db.psql("CREATE EXTENSION pg_stat_statements");
    let s = Scratch::new("ranking_advice");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  relation_min_bytes: 65536\n  slow_query_min_calls: 10\n",
    );
    // The demo schema and data, then the ranking query 30 times through pg_stat_statements.
    let gen = opsbook(&[
        "bench",
        "ranking",
        "--generate",
        "2000",
        "--into",
        &db.name,
        "-t",
        "30",
    ])
    .config(&cfg)
    .run();
    assert!(gen.code <= 2, "{gen}");
    // The oracle: the planner's own plan of the ranking query reads both tables whole.
    let plan = db.psql(&format!(
        "EXPLAIN (COSTS OFF) {}",
        opsbook::commands::bench::RANKING_SQL
    ));
    assert!(plan.contains("Seq Scan on users_global u"), "{plan}");
    assert!(
        plan.contains("Seq Scan on global_unique_invited_users iu"),
        "{plan}"
    );

    let run = afternoon(&cfg, &["--no-record"]);
    let j = run.json();
    let seq = Run::findings(&j, "postgres.seq_scan_heavy");
    let invites = seq
        .iter()
        .find(|f| f["subject"] == "public.global_unique_invited_users")
        .unwrap_or_else(|| panic!("the invites are read by sequential scans: {run}"));
    assert!(
        !invites["hint"].as_str().unwrap().contains("CREATE INDEX"),
        "a hash join reads the invites whole; no index on them helps: {run}"
    );
    // users_global is mostly read through its primary key (the invites' foreign key checks):
    // when it is listed, any index advised for it is on the column the plan filters on.
    if let Some(users) = seq.iter().find(|f| f["subject"] == "public.users_global") {
        let hint = users["hint"].as_str().unwrap();
        assert!(
            !hint.contains("CREATE INDEX") || hint.contains("\"users_global\" (\"created_at\")"),
            "{run}"
        );
    }
    for f in &seq {
        assert!(
            !f["hint"]
                .as_str()
                .unwrap()
                .contains("\"global_unique_invited_users\" (\"created_at\")"),
            "{run}"
        );
    }

    // diagnose queries asks the same advisor.
    let diag = opsbook(&[
        "diagnose",
        "queries",
        "--min-calls",
        "10",
        "--min-rows",
        "1000",
    ])
    .config(&cfg)
    .format("json")
    .run();
    let dj = diag.json();
    // The normalized text (`INTERVAL $1`) is planned: the one advice is users_global's
    // created_at, the relation the plan filters, and none on the invites.
    let advice = Run::findings(&dj, "queries.index_suggestion");
    assert_eq!(advice.len(), 1, "{diag}");
    assert_eq!(
        advice[0]["subject"], "public.users_global(created_at)",
        "{diag}"
    );
    assert!(
        advice[0]["hint"]
            .as_str()
            .unwrap()
            .contains("ON public.users_global (created_at)"),
        "{diag}"
    );
}

/// Issue 14 item 4: a never-analyzed table has no pg_stats rows, so the estimate has nothing
/// to go on: UNKNOWN with what to do, never "0 B wasted, OK". The oracle (pgstattuple) says
/// how bloated it really is, and --exact reports exactly that.
#[test]
fn a_table_without_statistics_is_unknown_not_ok() {
    let _g = shared();
    let db = TestDb::new("nostats");
    db.psql(
        "CREATE EXTENSION pgstattuple; \
         CREATE TABLE never (id int, payload text) WITH (autovacuum_enabled = false); \
         INSERT INTO never SELECT g, repeat('x', 100) FROM generate_series(1, 100000) g; \
         DELETE FROM never WHERE id % 10 <> 0",
    );
    let oracle: f64 = db
        .psql("SELECT dead_tuple_percent + free_percent FROM pgstattuple('never')")
        .parse()
        .unwrap();
    assert!(oracle > 80.0, "pgstattuple: {oracle}% dead or free");
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_stats WHERE tablename = 'never'"),
        "0"
    );
    let s = Scratch::new("nostats");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  relation_min_bytes: 1048576\n  bloat_wasted_bytes: {warning: 1048576}\n",
    );

    let run = afternoon(&cfg, &["--no-record"]);
    let j = run.json();
    let never = Run::findings(&j, "postgres.table_bloat")
        .into_iter()
        .find(|f| f["subject"] == "public.never")
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(never["status"], "unknown", "{run}");
    assert!(never["value"].is_null(), "{run}");
    assert!(
        never["hint"]
            .as_str()
            .unwrap()
            .contains("no statistics: ANALYZE it"),
        "{run}"
    );
    assert!(never["hint"].as_str().unwrap().contains("--exact"), "{run}");

    // --exact measures it: the same share of dead and free space as the oracle's.
    let exact = afternoon(&cfg, &["--no-record", "--exact"]);
    let ej = exact.json();
    let measured = Run::findings(&ej, "postgres.table_bloat")
        .into_iter()
        .find(|f| f["subject"] == "public.never")
        .unwrap_or_else(|| panic!("{exact}"));
    assert_eq!(measured["status"], "warning", "{exact}");
    let pct: f64 = ej["data"]["table_bloat"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "never")
        .unwrap()["ratio_pct"]
        .as_f64()
        .unwrap();
    assert!((pct - oracle).abs() < 2.0, "{pct} vs pgstattuple {oracle}");
}
