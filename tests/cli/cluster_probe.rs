//! `cluster status --probe-writes` against the HA sandbox: the heartbeat row written on the
//! Patroni leader and the key on the Redis master show on every replica, each with its
//! measured delay; the plan is said first; a schema that does not exist is a CRITICAL write
//! naming it, and nothing is created.

use serde_json::Value;

use super::harness::{ha_sandbox, ha_shared, opsbook, Run};

fn probe(config: &std::path::Path, extra: &[&str]) -> (Run, Value) {
    let mut args = vec!["cluster", "status", "--probe-writes"];
    args.extend_from_slice(extra);
    let run = opsbook(&args).config(config).format("json").run();
    let v = run.json();
    (run, v)
}

fn one<'a>(v: &'a Value, id: &str, subject: &str) -> &'a Value {
    Run::findings(v, id)
        .into_iter()
        .find(|f| f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {id}[{subject}] in {v:#}"))
}

#[test]
fn every_replica_shows_the_heartbeat_with_its_delay() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = ha_shared();
    let (run, v) = probe(&sb.config_path(), &[]);
    assert_eq!(run.code, 0, "{run}");
    // The plan, before anything is written.
    assert!(
        run.stderr.contains(
            "cluster status --probe-writes: upsert row writer='"
        ) && run.stderr.contains("in public.opsbook_heartbeat on the primary pg-a (CREATE TABLE IF NOT EXISTS first)"),
        "{run}"
    );
    assert!(
        run.stderr.contains("EX 3600 on the master cache-a"),
        "{run}"
    );
    for (id, subject) in [
        ("cluster.write_probe", "pg-a"),
        ("cluster.write_probe", "cache-a"),
        ("cluster.replica_delay", "pg-b"),
        ("cluster.replica_delay", "cache-b"),
    ] {
        let f = one(&v, id, subject);
        assert_eq!(f["status"], "ok", "{f:#}");
        assert_eq!(f["unit"], "ms", "{f:#}");
        let ms = f["value"].as_f64().expect("a number of ms");
        // Within the wait (the probe timeout, 15 s by default).
        assert!((0.0..15_000.0).contains(&ms), "{f:#}");
    }
    assert!(
        one(&v, "cluster.replica_delay", "pg-b")["summary"]
            .as_str()
            .unwrap()
            .starts_with("saw the PostgreSQL heartbeat "),
        "{v:#}"
    );
    let data = &v["data"]["probe"];
    assert_eq!(data["postgres"]["written_on"], "pg-a", "{data:#}");
    assert_eq!(data["postgres"]["object"], "public.opsbook_heartbeat");
    assert!(
        data["postgres"]["replica_delay"]["pg-b"].is_f64(),
        "{data:#}"
    );
    assert_eq!(data["redis"]["written_on"], "cache-a");
    assert!(
        data["redis"]["replica_delay"]["cache-b"].is_f64(),
        "{data:#}"
    );

    // The row is on the replica too: read it there.
    let h = sb.ha().expect("HA state");
    let replica = &h.patroni[1];
    let pass = std::fs::read_to_string(sb.state.dir.join("ha/postgres.pass")).unwrap();
    let rows = std::process::Command::new("psql")
        .args([
            "-XAtq",
            "-h",
            "127.0.0.1",
            "-p",
            &replica.pg_port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            "SELECT count(*) FROM public.opsbook_heartbeat",
        ])
        .env("PGPASSWORD", pass.trim())
        .output()
        .expect("psql");
    assert_eq!(
        String::from_utf8_lossy(&rows.stdout).trim(),
        "1",
        "{}",
        String::from_utf8_lossy(&rows.stderr)
    );

    // A schema that does not exist: the write is CRITICAL and names it; no replica is asked.
    let (run, v) = probe(&sb.config_path(), &["--heartbeat-schema", "no_such_schema"]);
    assert_eq!(run.code, 2, "{run}");
    let f = one(&v, "cluster.write_probe", "pg-a");
    assert_eq!(f["status"], "critical");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("schema \"no_such_schema\" does not exist on the primary"),
        "{f:#}"
    );
    assert!(
        Run::findings(&v, "cluster.replica_delay")
            .iter()
            .all(|f| f["subject"] != "pg-b"),
        "{v:#}"
    );
}

#[test]
fn the_heartbeat_schema_needs_the_probe() {
    let run = opsbook(&["cluster", "status", "--heartbeat-schema", "ops"]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("--probe-writes"), "{run}");
}
