//! `opsbook diagnose queries`: a sequential-scan-heavy statement gets the right index.

use crate::harness::*;

#[test]
fn seq_scan_heavy_statement_yields_the_index_on_its_filter_columns() {
    let _g = shared();
    let db = TestDb::new("queries");
    db.psql(
        "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; \
         CREATE TABLE orders AS SELECT g AS id, g % 500 AS customer_id, \
         (ARRAY['new','paid','sent'])[1 + g % 3] AS status, md5(g::text) AS note \
         FROM generate_series(1, 20000) g; \
         ALTER TABLE orders ADD PRIMARY KEY (id); ANALYZE orders",
    );
    // 60 calls of one statement (constants differ; pg_stat_statements folds them to $1, $2).
    let script: String = (1..=60)
        .map(|i| {
            format!("SELECT count(*) FROM orders WHERE customer_id = {i} AND status = 'paid';\n")
        })
        .collect();
    let s = Scratch::new("queries");
    let file = s.write("burst.sql", &script, 0o644);
    let mut burst = psql_command(&db, "burst");
    burst.args(["-f", file.to_str().unwrap()]);
    let out = burst.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A frequent statement that uses the primary key: no advice for it.
    let pk: String = (1..=60)
        .map(|i| format!("SELECT note FROM orders WHERE id = {i};\n"))
        .collect();
    let file = s.write("pk.sql", &pk, 0o644);
    let mut burst = psql_command(&db, "burst");
    burst.args(["-f", file.to_str().unwrap()]);
    assert!(burst.output().unwrap().status.success());

    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let run = opsbook(&[
        "diagnose",
        "queries",
        "--min-calls",
        "50",
        "--min-rows",
        "10000",
    ])
    .config(&cfg)
    .format("json")
    .run();
    let j = run.json();
    let advice = Run::one(&j, "queries.index_suggestion");
    assert_eq!(advice["status"], "warning", "{run}");
    assert_eq!(
        advice["subject"], "public.orders(customer_id,status)",
        "{run}"
    );
    assert_eq!(advice["value"], 60, "{run}");
    assert_eq!(
        advice["hint"].as_str().unwrap().split(" (").next().unwrap(),
        "CREATE INDEX CONCURRENTLY orders_customer_id_status_idx ON public.orders",
        "{run}"
    );
    assert!(
        advice["hint"]
            .as_str()
            .unwrap()
            .contains("ON public.orders (customer_id, status);"),
        "{run}"
    );
    let top = j["data"]["top_by_total"].as_array().unwrap();
    let stmt = top
        .iter()
        .find(|s| s["query"].as_str().unwrap().contains("customer_id = $1"))
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(stmt["calls"], 60);
    for id in [
        "queries.cache_hit_ratio",
        "queries.connection_usage",
        "queries.unused_indexes",
        "queries.statements",
    ] {
        assert_eq!(Run::findings(&j, id).len(), 1, "{id}: {run}");
    }
    assert_eq!(run.code, 1, "{run}");

    // The suggested index is what the planner wanted: with it, no advice is left.
    db.psql(
        advice["hint"]
            .as_str()
            .unwrap()
            .split(" (builds")
            .next()
            .unwrap(),
    );
    let again = opsbook(&["diagnose", "queries", "--min-calls", "50"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(
        Run::one(&again.json(), "queries.index_suggestion")["status"],
        "ok",
        "{again}"
    );

    // --explain shows the statement's plan without running anything it should not.
    let id = stmt["queryid"].as_str().unwrap().to_string();
    let ex = opsbook(&["diagnose", "queries", "--explain", &id])
        .config(&cfg)
        .format("json")
        .run();
    let ej = ex.json();
    assert_eq!(Run::one(&ej, "queries.explain")["status"], "ok", "{ex}");
    assert!(
        ej["data"]["plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("orders")),
        "{ex}"
    );
}

#[test]
fn without_pg_stat_statements_the_hint_says_how_to_enable_it() {
    let _g = shared();
    let db = TestDb::new("nopgss");
    let s = Scratch::new("nopgss");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let run = opsbook(&["diagnose", "queries"])
        .config(&cfg)
        .format("json")
        .run();
    let j = run.json();
    let f = Run::one(&j, "queries.statements");
    assert_eq!(f["status"], "unknown", "{run}");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("shared_preload_libraries"),
        "{run}"
    );
    assert_eq!(run.code, 3, "{run}");
}

/// Issue 14 item 5: `queries.slow` is the true count (pg_stat_statements, asked in the test);
/// --limit only shortens the list.
#[test]
fn slow_count_is_the_true_count_not_the_limit() {
    let _g = shared();
    let db = TestDb::new("slowcount");
    db.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    // Four distinct statements (a different number of columns each) averaging over 100 ms.
    let script: String = (0..4)
        .map(|n| {
            let extra: String = (0..n).map(|i| format!(", {i}")).collect();
            format!("SELECT pg_sleep(0.12){extra};\n")
        })
        .collect();
    let s = Scratch::new("slowcount");
    let mut burst = psql_command(&db, "burst");
    burst.args(["-f", s.write("slow.sql", &script, 0o644).to_str().unwrap()]);
    assert!(burst.output().unwrap().status.success());
    // Slow as configured below: a mean of 100 ms or more over at least one call.
    let oracle: i64 = db
        .psql(
            "SELECT count(*) FROM pg_stat_statements WHERE mean_exec_time >= 100 \
             AND queryid IS NOT NULL AND calls >= 1 \
             AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .parse()
        .unwrap();
    assert!(oracle >= 4, "{oracle}");

    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  slow_query_mean_ms: {warning: 100}\n  slow_query_min_calls: 1\n",
    );
    let run = opsbook(&["diagnose", "queries", "--limit", "2"])
        .config(&cfg)
        .format("json")
        .run();
    let j = run.json();
    let slow = Run::one(&j, "queries.slow");
    assert_eq!(slow["value"], oracle, "{run}");
    assert_eq!(slow["status"], "warning", "{run}");
    assert!(
        slow["summary"]
            .as_str()
            .unwrap()
            .contains("(the 2 slowest listed)"),
        "{run}"
    );
    assert_eq!(
        j["data"]["top_by_mean"].as_array().unwrap().len(),
        2,
        "{run}"
    );
    assert_eq!(slow["detail"].as_array().unwrap().len(), 2, "{run}");
}

/// Issue 19: "slow" means one thing. On one database with one workload, `monitor`,
/// `check afternoon` and `diagnose queries` count the same statements by the config's one
/// definition (`thresholds.slow_query_mean_ms` / `slow_query_min_calls`), and each summary
/// states it. The oracle is pg_stat_statements asked in the test.
#[test]
fn monitor_afternoon_and_diagnose_queries_agree_on_slow() {
    let _g = shared();
    let db = TestDb::new("slowagree");
    db.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    let s = Scratch::new("slowagree");
    // Two slow statements (20 calls of 35 ms), one with too few calls (19), one too fast.
    let script = [
        "SELECT 1 AS a, pg_sleep(0.035);\n".repeat(20),
        "SELECT 2 AS b, 2, pg_sleep(0.035);\n".repeat(20),
        "SELECT 3 AS c, 3, 3, pg_sleep(0.035);\n".repeat(19),
        "SELECT pg_sleep(0.001);\n".repeat(40),
    ]
    .concat();
    let mut burst = psql_command(&db, "burst");
    burst.args(["-f", s.write("load.sql", &script, 0o644).to_str().unwrap()]);
    assert!(burst.output().unwrap().status.success());
    let oracle = db.psql(
        "SELECT count(*) FROM pg_stat_statements WHERE queryid IS NOT NULL \
         AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND calls >= 20 AND mean_exec_time >= 30",
    );
    assert_eq!(oracle, "2");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "  slow_query_mean_ms: {warning: 30}\n  slow_query_min_calls: 20\n",
    );
    let said = "2 slow statements (mean ≥ 30 ms over ≥ 20 calls) in database";

    let m = opsbook(&["monitor"]).config(&cfg).json();
    let count = Run::one(&m, "postgres.slow_query_count");
    assert_eq!(count["value"], 2, "{m}");
    assert!(
        count["summary"].as_str().unwrap().starts_with(said),
        "{count}"
    );

    let a = opsbook(&["check", "afternoon", "--no-record"])
        .config(&cfg)
        .json();
    let listed = Run::findings(&a, "postgres.slow_queries");
    assert_eq!(listed.len(), 2, "{a}");
    for f in &listed {
        assert_eq!(f["status"], "warning", "{f}");
        assert!(f["summary"].as_str().unwrap().contains(said), "{f}");
    }

    let q = opsbook(&["diagnose", "queries"]).config(&cfg).json();
    let slow = Run::one(&q, "queries.slow");
    assert_eq!(slow["value"], 2, "{q}");
    assert!(
        slow["summary"].as_str().unwrap().starts_with(said),
        "{slow}"
    );
}
