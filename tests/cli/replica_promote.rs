//! `replica promote` through the HA engines, and `replica-setup` on a Patroni cluster, against
//! the real etcd, Patroni, Sentinels and HAProxy of an HA sandbox of their own
//! (`harness::ha_sandbox_to_move`: these tests move the primary, the `cluster` tests expect
//! it where `sandbox up --ha` put it). The tests that move a primary hold the lock
//! exclusively, those that must find the stack unchanged hold it shared.

use std::process::Command;
use std::sync::RwLock;

use opsbook::sandbox::Sandbox;
use serde_json::Value;

use super::harness::{assert_declared_ids, ha_sandbox_to_move, opsbook, Run, Scratch};

static HA: RwLock<()> = RwLock::new(());

/// The verdict of `cluster status` on the sandbox: (exit code, its data.verdict).
fn verdict(sb: &Sandbox) -> (i32, Value) {
    let run = opsbook(&["cluster", "status"])
        .config(sb.config_path())
        .format("json")
        .run();
    let v = run.json();
    (run.code, v["data"]["verdict"].clone())
}

/// The verdict once every source agrees (a test before may have left a node catching up).
fn agreed(sb: &Sandbox) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, v) = verdict(sb);
        if v["agree"] == true || std::time::Instant::now() > deadline {
            assert_eq!(v["agree"], true, "the HA sandbox does not agree: {v:#}");
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn pg_port(sb: &Sandbox, name: &str) -> u16 {
    let h = sb.ha().expect("an HA sandbox");
    h.patroni
        .iter()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no Patroni node {name}"))
        .pg_port
}

/// psql on an HA node as the superuser (its password from the sandbox's 0600 file).
fn psql(sb: &Sandbox, port: u16, sql: &str) -> Result<String, String> {
    let password = std::fs::read_to_string(sb.ha_pg_password_file()).unwrap();
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
        .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-Atc", sql])
        .env("PGPASSWORD", password.trim())
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn the_other(name: &str) -> &'static str {
    if name == "pg-a" {
        "pg-b"
    } else {
        "pg-a"
    }
}

#[test]
fn a_switchover_through_patroni_moves_the_leader_and_the_rows() {
    let Some(sb) = ha_sandbox_to_move() else {
        return;
    };
    let _exclusive = HA.write().unwrap_or_else(|e| e.into_inner());
    let before = agreed(sb);
    let leader = before["primary"].as_str().unwrap().to_string();
    let candidate = the_other(&leader);
    let row = format!("before-switch-{}", std::process::id());
    psql(
        sb,
        pg_port(sb, &leader),
        &format!("CREATE TABLE IF NOT EXISTS promote_rows(v text); INSERT INTO promote_rows VALUES ('{row}')"),
    )
    .unwrap();

    // On a pipe without --yes: refused, nothing moved.
    let run = opsbook(&["replica", "promote", "--switchover"])
        .config(sb.config_path())
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("refusing without confirmation") && run.stderr.contains("--yes"),
        "{run}"
    );
    assert_eq!(verdict(sb).1["primary"], leader.as_str());

    let run = opsbook(&[
        "replica",
        "promote",
        "--switchover",
        "--candidate",
        candidate,
        "--yes",
    ])
    .config(sb.config_path())
    .format("json")
    .run();
    assert_eq!(run.code, 0, "{run}");
    let v = run.json();
    assert_declared_ids(&v);
    let asked = Run::one(&v, "replica.engine_request");
    assert!(
        asked["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("Successfully switched over to \"{candidate}\"")),
        "{asked:#}"
    );
    let agree = Run::one(&v, "replica.agree");
    assert_eq!(agree["status"], "ok", "{agree:#}");
    assert_eq!(agree["subject"], candidate, "{agree:#}");
    let took = agree["value"].as_f64().unwrap();
    assert!(took > 0.0 && took < 60.0, "{agree:#}");
    let lag = Run::one(&v, "replica.lag_at_switch");
    assert_eq!(lag["subject"], candidate, "{lag:#}");
    assert!(lag["value"].as_i64().is_some(), "{lag:#}");
    let tl = Run::one(&v, "replica.timeline");
    assert!(tl["summary"].as_str().unwrap().contains(" -> "), "{tl:#}");
    assert_eq!(v["data"]["engine"], "patroni");
    assert_eq!(v["data"]["from"], leader.as_str());
    assert_eq!(v["data"]["primary"], candidate);

    // cluster status agrees on the new leader right away (the wait ended when it did; the
    // old leader may still be catching up, which is a lag finding, not a disagreement).
    let (_, after) = verdict(sb);
    assert_eq!(after["agree"], true, "{after:#}");
    assert_eq!(after["primary"], candidate, "{after:#}");
    // The row written before the switch is on the new leader, which takes writes.
    let new = pg_port(sb, candidate);
    assert_eq!(
        psql(
            sb,
            new,
            &format!("SELECT count(*) FROM promote_rows WHERE v = '{row}'")
        )
        .unwrap(),
        "1"
    );
    psql(sb, new, "INSERT INTO promote_rows VALUES ('after')").unwrap();
    assert_eq!(
        psql(sb, pg_port(sb, &leader), "SELECT pg_is_in_recovery()").unwrap(),
        "t"
    );

    // --failover with the leader running is the switchover's job: refused, nothing moved.
    let run = opsbook(&[
        "replica",
        "promote",
        "--failover",
        "--candidate",
        &leader,
        "--yes",
    ])
    .config(sb.config_path())
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("is running; a failover is for a leader that is down"),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint:") && run.stderr.contains("--switchover"),
        "{run}"
    );
    assert_eq!(verdict(sb).1["primary"], candidate);
}

#[test]
fn plain_promote_on_a_patroni_node_is_refused_and_changes_nothing() {
    let Some(sb) = ha_sandbox_to_move() else {
        return;
    };
    let _shared = HA.read().unwrap_or_else(|e| e.into_inner());
    let before = agreed(sb);
    let replica = the_other(before["primary"].as_str().unwrap());

    // Known from the inventory (the target has patroni:).
    let run = opsbook(&["replica", "promote", "--target", replica, "--yes"])
        .config(sb.config_path())
        .run();
    assert_eq!(run.code, 3, "{run}");
    for want in [
        "Patroni manages",
        &format!("the inventory's target {replica} has patroni:"),
        "split brain",
        "nothing was changed",
        &format!("hint: promote through Patroni: `opsbook replica promote --switchover --candidate {replica}"),
    ] {
        assert!(run.stderr.contains(want), "{want:?} not in {run}");
    }

    // Without an inventory: Patroni's own session on the server gives it away.
    let scratch = Scratch::new("promote-plain");
    let bare = scratch.write("bare.yaml", "services: []\n", 0o600);
    let password = std::fs::read_to_string(sb.ha_pg_password_file()).unwrap();
    let run = opsbook(&["replica", "promote", "--yes"])
        .config(&bare)
        .pg(format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            pg_port(sb, replica)
        ))
        .env("PGPASSWORD", password.trim())
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("a session named `Patroni` is connected to it")
            && run.stderr.contains("scope opsbook"),
        "{run}"
    );
    assert!(
        run.stderr.contains("add the node's Patroni REST API"),
        "{run}"
    );

    // Nothing changed: still a replica, the same leader.
    assert_eq!(
        psql(sb, pg_port(sb, replica), "SELECT pg_is_in_recovery()").unwrap(),
        "t"
    );
    assert_eq!(verdict(sb).1["primary"], before["primary"]);
}

#[test]
fn replica_setup_refuses_a_patroni_cluster() {
    let Some(sb) = ha_sandbox_to_move() else {
        return;
    };
    let _shared = HA.read().unwrap_or_else(|e| e.into_inner());
    let before = agreed(sb);
    let leader = before["primary"].as_str().unwrap().to_string();
    let scratch = Scratch::new("promote-setup");
    let data = scratch.path().join("standby");
    let run = opsbook(&[
        "replica-setup",
        "standby",
        "--primary",
        &format!("127.0.0.1:{}", pg_port(sb, &leader)),
        "--data-dir",
    ])
    .arg(&data)
    .config(sb.config_path())
    .run();
    assert_eq!(run.code, 3, "{run}");
    for want in [
        "replica-setup standby: Patroni manages",
        "scope opsbook",
        "nothing was changed",
        "hint: add the member through Patroni",
    ] {
        assert!(run.stderr.contains(want), "{want:?} not in {run}");
    }
    assert!(!data.exists(), "the data directory was touched");

    let run = opsbook(&[
        "replica-setup",
        "primary",
        "--standby-addr",
        "127.0.0.1",
        "--target",
        &leader,
        "--yes",
    ])
    .config(sb.config_path())
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("replica-setup primary: Patroni manages")
            && run.stderr.contains("hint: add the member through Patroni"),
        "{run}"
    );
    // No slot was made for the standby.
    assert_eq!(
        psql(
            sb,
            pg_port(sb, &leader),
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'standby_%'"
        )
        .unwrap(),
        "0"
    );
}

/// A Redis command on 127.0.0.1:port.
fn redis(port: u16, args: &[&str]) -> redis::Value {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut con = client
        .get_connection_with_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con)
        .unwrap_or_else(|e| panic!("redis {args:?} on {port}: {e}"))
}

#[test]
fn a_sentinel_failover_moves_the_master_and_the_keys() {
    let Some(sb) = ha_sandbox_to_move() else {
        return;
    };
    let _exclusive = HA.write().unwrap_or_else(|e| e.into_inner());
    let h = sb.ha().unwrap();
    let before = agreed(sb);
    let ports = [
        ("cache-a", sb.state.redis_port),
        ("cache-b", h.redis_replica.port),
    ];
    let master = before["redis_master"].as_str().unwrap().to_string();
    let (new_name, new_port) = *ports.iter().find(|(n, _)| *n != master).unwrap();
    let old_port = ports.iter().find(|(n, _)| *n == master).unwrap().1;
    let key = format!("promote:before:{}", std::process::id());
    redis(old_port, &["SET", &key, "kept"]);
    // The replica has it before the switch (WAIT: acknowledged by one replica).
    assert_eq!(
        redis(old_port, &["WAIT", "1", "5000"]),
        redis::Value::Int(1)
    );

    let run = opsbook(&[
        "replica",
        "promote",
        "--sentinel-failover",
        "--target",
        "sentinel-2",
        "--yes",
    ])
    .config(sb.config_path())
    .format("json")
    .run();
    assert_eq!(run.code, 0, "{run}");
    let v = run.json();
    assert_declared_ids(&v);
    let asked = Run::one(&v, "replica.engine_request");
    assert!(
        asked["summary"]
            .as_str()
            .unwrap()
            .starts_with("SENTINEL FAILOVER opsbook on sentinel-2: OK"),
        "{asked:#}"
    );
    let agree = Run::one(&v, "replica.agree");
    assert_eq!(agree["status"], "ok", "{agree:#}");
    assert_eq!(agree["subject"], new_name, "{agree:#}");
    let took = agree["value"].as_f64().unwrap();
    assert!(took > 0.0 && took < 60.0, "{agree:#}");
    assert_eq!(Run::one(&v, "replica.lag_at_switch")["subject"], new_name);
    assert_eq!(v["data"]["engine"], "sentinel");
    assert_eq!(v["data"]["master"], new_name);

    // The old master may still be syncing (its link down: a finding of its own), but every
    // source names the new one.
    let (_, after) = verdict(sb);
    assert_eq!(after["agree"], true, "{after:#}");
    assert_eq!(after["redis_master"], new_name, "{after:#}");
    assert_eq!(
        redis(new_port, &["GET", &key]),
        redis::Value::BulkString(b"kept".to_vec())
    );
    // The old master follows the new one.
    let info = match redis(old_port, &["INFO", "replication"]) {
        redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        redis::Value::VerbatimString { text, .. } => text,
        other => panic!("{other:?}"),
    };
    assert!(
        info.contains("role:slave") && info.contains(&format!("master_port:{new_port}")),
        "{info}"
    );
}
