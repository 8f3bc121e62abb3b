//! `opsbook diagnose locks`: a holder, two waiters, the tree, and --terminate.

use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

fn waiting_in(db: &TestDb) -> String {
    db.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
}

fn pid_of(db: &TestDb, app: &str) -> i64 {
    db.psql(&format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{app}'"
    ))
    .parse()
    .unwrap()
}

#[test]
fn holder_is_the_root_of_both_waiters_and_terminate_yes_unblocks_them() {
    // Lock waits are counted cluster-wide: no other test's waiters in the count.
    let _g = exclusive();
    let db = TestDb::new("locks");
    db.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    let s = Scratch::new("locks");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");

    let mut holder_cmd = psql_command(&db, "holder");
    holder_cmd.args([
        "-c",
        "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);",
    ]);
    let mut holder = Child::spawn(holder_cmd);
    wait_until("the holder's lock", || {
        db.psql("SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND granted AND mode = 'AccessExclusiveLock'") == "1"
    });
    let mut w1_cmd = psql_command(&db, "waiter1");
    w1_cmd.args(["-c", "SELECT count(*) FROM t"]);
    let mut w1 = Child::spawn(w1_cmd);
    let mut w2_cmd = psql_command(&db, "waiter2");
    w2_cmd.args(["-c", "SELECT id FROM t"]);
    let mut w2 = Child::spawn(w2_cmd);
    wait_until("two waiters", || waiting_in(&db) == "2");
    let (h, p1, p2) = (
        pid_of(&db, "holder"),
        pid_of(&db, "waiter1"),
        pid_of(&db, "waiter2"),
    );

    let run = opsbook(&["diagnose", "locks"])
        .config(&cfg)
        .format("json")
        .run();
    let j = run.json();
    assert_eq!(run.code, 1, "{run}");
    let waiting = Run::one(&j, "locks.waiting");
    assert_eq!(waiting["status"], "warning", "{run}");
    assert_eq!(waiting["value"], 2, "{run}");
    let root = Run::findings(&j, "locks.root_blocker")
        .into_iter()
        .find(|f| f["subject"] == h.to_string().as_str())
        .unwrap_or_else(|| panic!("no root_blocker for the holder {h}: {run}"));
    assert_eq!(root["value"], 2);
    assert!(
        root["hint"]
            .as_str()
            .unwrap()
            .contains(&format!("--terminate {h}")),
        "{run}"
    );
    let tree = j["data"]["tree"].as_array().unwrap();
    let node = tree
        .iter()
        .find(|n| n["pid"] == h)
        .unwrap_or_else(|| panic!("holder is not a root: {run}"));
    let mut under: Vec<i64> = node["waiters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["pid"].as_i64().unwrap())
        .collect();
    under.sort();
    let mut expected = vec![p1, p2];
    expected.sort();
    assert_eq!(under, expected, "{run}");
    for w in node["waiters"].as_array().unwrap() {
        assert_eq!(w["lock_mode"], "AccessShareLock", "{w}");
        assert_eq!(w["lock_target"], "t", "{w}");
        assert_eq!(w["blocked_by"], Value::from(vec![h]), "{w}");
        assert!(w["wait_secs"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(node["application"], "holder");
    assert!(node["query"].as_str().unwrap().contains("pg_sleep"));

    // The human form: holder first, both waiters indented under it.
    let table = opsbook(&["diagnose", "locks"]).config(&cfg).run();
    let rows: Vec<&str> = table.stdout.lines().collect();
    let at = rows
        .iter()
        .position(|l| l.trim_start().starts_with(&h.to_string()))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        rows[at..].iter().any(|l| l.contains(&format!("└ {p1}"))),
        "{table}"
    );
    assert!(
        rows[at..].iter().any(|l| l.contains(&format!("└ {p2}"))),
        "{table}"
    );

    // No terminal and no --yes: the plan, a refusal, exit 3, and the holder still holds.
    let refused = opsbook(&["diagnose", "locks", "--terminate", &h.to_string()])
        .config(&cfg)
        .run();
    assert_eq!(refused.code, 3, "{refused}");
    assert!(refused.stderr.contains("plan: terminate"), "{refused}");
    assert!(refused.stderr.contains("--yes"), "{refused}");
    assert_eq!(waiting_in(&db), "2");

    // A session that blocks nobody is refused without --force.
    let nobody = opsbook(&["diagnose", "locks", "--cancel", &p1.to_string(), "--yes"])
        .config(&cfg)
        .run();
    assert_eq!(nobody.code, 3, "{nobody}");
    assert!(nobody.stderr.contains("blocks no session"), "{nobody}");

    let done = opsbook(&["diagnose", "locks", "--terminate", &h.to_string(), "--yes"])
        .config(&cfg)
        .format("json")
        .run();
    let j = done.json();
    assert_eq!(Run::one(&j, "locks.action")["status"], "ok", "{done}");
    assert_eq!(Run::one(&j, "locks.waiting")["value"], 0, "{done}");
    assert_eq!(done.code, 0, "{done}");
    // Both waiters finish their SELECT; the holder's session was ended.
    let ok1 = w1
        .wait_for(Duration::from_secs(10))
        .expect("waiter 1 still blocked");
    let ok2 = w2
        .wait_for(Duration::from_secs(10))
        .expect("waiter 2 still blocked");
    assert!(ok1.success() && ok2.success());
    let h_status = holder
        .wait_for(Duration::from_secs(10))
        .expect("holder still runs");
    assert!(!h_status.success(), "the holder was terminated");
}

#[test]
fn on_a_terminal_the_pid_must_be_typed() {
    use expectrl::Expect as _;
    let _g = exclusive();
    let db = TestDb::new("lockstty");
    db.psql("CREATE TABLE t (id int)");
    let s = Scratch::new("lockstty");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let mut holder_cmd = psql_command(&db, "holder");
    holder_cmd.args(["-c", "BEGIN; LOCK TABLE t; SELECT pg_sleep(60);"]);
    let _holder = Child::spawn(holder_cmd);
    wait_until("the holder's lock", || {
        db.psql("SELECT count(*) FROM pg_locks WHERE relation = 't'::regclass AND granted") == "1"
    });
    let mut w_cmd = psql_command(&db, "waiter");
    w_cmd.args(["-c", "SELECT * FROM t"]);
    let mut waiter = Child::spawn(w_cmd);
    wait_until("the waiter", || waiting_in(&db) == "1");
    let h = pid_of(&db, "holder").to_string();

    // A wrong answer: nothing is done, exit 3.
    let (cmd, _home) = opsbook(&["diagnose", "locks", "--terminate", &h])
        .config(&cfg)
        .into_command();
    let mut tty = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    tty.set_expect_timeout(Some(Duration::from_secs(20)));
    tty.expect("plan: terminate").unwrap();
    tty.expect(format!("Type `{h}`").as_str()).unwrap();
    tty.send_line("1").unwrap();
    tty.expect("not confirmed").unwrap();
    assert_eq!(waiting_in(&db), "1");

    // The pid typed: the holder is ended and the waiter finishes.
    let (cmd, _home) = opsbook(&["diagnose", "locks", "--terminate", &h])
        .config(&cfg)
        .into_command();
    let mut tty = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    tty.set_expect_timeout(Some(Duration::from_secs(20)));
    tty.expect(format!("Type `{h}`").as_str()).unwrap();
    tty.send_line(&h).unwrap();
    tty.expect("locks.action").unwrap();
    let st = waiter
        .wait_for(Duration::from_secs(10))
        .expect("the waiter is still blocked");
    assert!(st.success());
}

/// Issue 14 item 7: a lock wait in another database than opsbook's names the relation by its
/// OID and database (regclass resolves names in the connected database only), never a bare
/// number. The oracle: the relation's OID, asked in that database.
#[test]
fn a_relation_in_another_database_is_named_with_its_database() {
    let _g = exclusive();
    let ours = TestDb::new("locks_ours");
    let other = TestDb::new("locks_other");
    other.psql("CREATE TABLE elsewhere (id int); INSERT INTO elsewhere VALUES (1)");
    let oid = other.psql("SELECT 'elsewhere'::regclass::oid");
    let s = Scratch::new("locks_other");
    let cfg = sandbox_config(&s, &ours, &fresh_backup(&s), "");

    let mut holder_cmd = psql_command(&other, "holder_x");
    holder_cmd.args([
        "-c",
        "BEGIN; LOCK TABLE elsewhere IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);",
    ]);
    let _holder = Child::spawn(holder_cmd);
    wait_until("the holder's lock", || {
        other.psql("SELECT count(*) FROM pg_locks WHERE relation = 'elsewhere'::regclass AND granted AND mode = 'AccessExclusiveLock'") == "1"
    });
    let mut waiter_cmd = psql_command(&other, "waiter_x");
    waiter_cmd.args(["-c", "SELECT count(*) FROM elsewhere"]);
    let _waiter = Child::spawn(waiter_cmd);
    wait_until("the waiter", || waiting_in(&other) == "1");
    let h = pid_of(&other, "holder_x");

    let run = opsbook(&["diagnose", "locks"])
        .config(&cfg)
        .format("json")
        .run();
    other.psql(&format!("SELECT pg_terminate_backend({h})"));
    let j = run.json();
    let node = j["data"]["tree"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["pid"] == h)
        .unwrap_or_else(|| panic!("the holder is a root: {run}"))
        .clone();
    let waiter = &node["waiters"][0];
    assert_eq!(
        waiter["lock_target"],
        format!("relation OID {oid} in database {}", other.name),
        "{run}"
    );
}
