//! `cluster status` against the real HA engines of `sandbox up --ha`
//! (etcd, two Patroni nodes, a Redis replica, three Sentinels, HAProxy), started once for
//! this test process. The test that splits the view (one Sentinel pointed at the replica)
//! holds the HA lock exclusively and restores the Sentinel before it lets go; the others
//! hold it shared. Without the engines installed, those tests skip, saying why.

use std::time::{Duration, Instant};

use opsbook::sandbox::Sandbox;
use serde_json::Value;

use super::harness::{closed_port, ha_exclusive, ha_sandbox, ha_shared, opsbook, Run, Scratch};

fn status(sb: &Sandbox) -> (Run, Value) {
    let run = opsbook(&["cluster", "status"])
        .config(sb.config_path())
        .format("json")
        .run();
    let json = run.json();
    (run, json)
}

fn summary(v: &Value, id: &str, subject: Option<&str>) -> String {
    Run::findings(v, id)
        .into_iter()
        .find(|f| subject.is_none_or(|s| f["subject"] == s))
        .unwrap_or_else(|| panic!("no {id} {subject:?} in {v:#}"))["summary"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn ha(sb: &Sandbox) -> &opsbook::sandbox::ha::HaState {
    sb.ha().expect("the HA sandbox records its HA stack")
}

#[test]
fn every_source_agrees_on_a_fresh_ha_sandbox() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = ha_shared();
    let (run, v) = status(sb);
    assert_eq!(run.code, 0, "{run}");
    let verdict = Run::one(&v, "cluster.primary");
    assert_eq!(verdict["status"], "ok", "{verdict:#}");
    assert_eq!(
        verdict["summary"], "agree: pg-a is primary, cache-a is master",
        "{verdict:#}"
    );
    // Every node and engine of the inventory reported.
    for (id, subject) in [
        ("cluster.postgres", "pg-a"),
        ("cluster.postgres", "pg-b"),
        ("cluster.redis", "cache-a"),
        ("cluster.redis", "cache-b"),
        ("cluster.sentinel", "sentinel-1"),
        ("cluster.sentinel", "sentinel-2"),
        ("cluster.sentinel", "sentinel-3"),
        ("cluster.haproxy", "lb"),
    ] {
        let f = Run::findings(&v, id)
            .into_iter()
            .find(|f| f["subject"] == subject)
            .unwrap_or_else(|| panic!("no {id}[{subject}] in {v:#}"));
        assert_eq!(f["status"], "ok", "{f:#}");
    }
    assert!(
        summary(&v, "cluster.postgres", Some("pg-a")).starts_with("primary (writable), timeline 1")
    );
    let pg_b = summary(&v, "cluster.postgres", Some("pg-b"));
    let leader_port = ha(sb).patroni[0].pg_port;
    assert!(
        pg_b.starts_with(&format!("replica of pg-a (127.0.0.1:{leader_port})")),
        "{pg_b}"
    );
    assert!(summary(&v, "cluster.patroni", None).starts_with("leader pg-a;"));
    // HAProxy's writer backend routes to the leader only (its health check is Patroni's
    // GET /primary), the Redis backend to the master only.
    assert_eq!(
        summary(&v, "cluster.haproxy", Some("lb")),
        "pg_write -> pg-a UP, pg-b DOWN; redis_write -> cache-a UP, cache-b DOWN"
    );
    let sentinel = summary(&v, "cluster.sentinel", Some("sentinel-2"));
    assert!(
        sentinel.starts_with(&format!(
            "opsbook: master cache-a (127.0.0.1:{}), 2 other sentinels, 1 replicas, quorum 2 reachable",
            sb.state.redis_port
        )),
        "{sentinel}"
    );
    // The JSON carries the verdict and every source's observation.
    assert_eq!(v["data"]["verdict"]["primary"], "pg-a");
    assert_eq!(v["data"]["verdict"]["agree"], true);
    assert_eq!(
        v["data"]["observation"]["postgres"][1]["facts"]["in_recovery"],
        true
    );

    // The table form: the node table names both roles.
    let table = opsbook(&["cluster", "status"])
        .config(sb.config_path())
        .env("COLUMNS", "80")
        .run();
    assert_eq!(table.code, 0, "{table}");
    let row = |name: &str| {
        table
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row {name} in {table}"))
            .to_string()
    };
    assert!(row("pg-a").contains("primary"), "{table}");
    assert!(
        row("pg-b").contains("replica") && row("pg-b").ends_with("pg-a"),
        "{table}"
    );
    assert!(row("cache-b").ends_with("cache-a"), "{table}");
}

#[test]
fn haproxy_is_read_from_its_admin_socket_too() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = ha_shared();
    let scratch = Scratch::new("cluster-socket");
    let stats = format!("url: http://127.0.0.1:{}/stats", ha(sb).haproxy.port);
    let text = std::fs::read_to_string(sb.config_path()).unwrap();
    assert!(text.contains(&stats), "{text}");
    let socket = format!("socket: {}", sb.haproxy_socket().display());
    let cfg = scratch.write("opsbook.yaml", &text.replace(&stats, &socket), 0o600);
    let run = opsbook(&["cluster", "status", "--only", "lb"])
        .config(&cfg)
        .format("json")
        .run();
    // Only the load balancer: its backends are read, and with no PostgreSQL or Redis node
    // selected there is nothing to compare them with.
    assert_eq!(run.code, 0, "{run}");
    let v = run.json();
    assert_eq!(
        Run::one(&v, "cluster.primary")["summary"],
        "agree: no PostgreSQL or Redis node selected, nothing to compare"
    );
    assert_eq!(
        summary(&v, "cluster.haproxy", Some("lb")),
        "pg_write -> pg-a UP, pg-b DOWN; redis_write -> cache-a UP, cache-b DOWN",
        "{run}"
    );
    let all = opsbook(&["cluster", "status"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(all.code, 0, "{all}");
    assert!(Run::one(&all.json(), "cluster.primary")["detail"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d == "HAProxy lb: pg_write -> pg-a"));
}

/// A Sentinel command on 127.0.0.1:port.
fn sentinel(port: u16, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut con = client.get_connection_with_timeout(Duration::from_secs(5))?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con)
}

/// Point sentinel `port` at `master`; `tuned`: with the timings `sandbox up --ha` sets.
fn monitor(port: u16, master: u16, tuned: bool) {
    let _ = sentinel(port, &["SENTINEL", "REMOVE", "opsbook"]);
    sentinel(
        port,
        &[
            "SENTINEL",
            "MONITOR",
            "opsbook",
            "127.0.0.1",
            &master.to_string(),
            "2",
        ],
    )
    .unwrap();
    if !tuned {
        return;
    }
    sentinel(
        port,
        &[
            "SENTINEL",
            "SET",
            "opsbook",
            "down-after-milliseconds",
            "3000",
            "failover-timeout",
            "10000",
        ],
    )
    .unwrap();
}

/// Restores the Sentinel however the test ends.
struct Restore {
    port: u16,
    master: u16,
    replica: u16,
}

impl Drop for Restore {
    fn drop(&mut self) {
        monitor(self.port, self.master, true);
        // Until it knows the other two Sentinels and the replica again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let q = sentinel(self.port, &["SENTINEL", "CKQUORUM", "opsbook"]);
            let reps = sentinel(self.port, &["SENTINEL", "REPLICAS", "opsbook"]);
            let ok = matches!(&q, Ok(redis::Value::SimpleString(s)) if s.contains("OK 3 usable"))
                && format!("{reps:?}").contains(&self.replica.to_string());
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn a_sentinel_pointed_at_the_replica_is_a_critical_disagreement() {
    let Some(sb) = ha_sandbox() else { return };
    let _exclusive = ha_exclusive();
    let h = ha(sb);
    let s1 = h.sentinels[0].port;
    let replica = h.redis_replica.port;
    let _restore = Restore {
        port: s1,
        master: sb.state.redis_port,
        replica,
    };
    monitor(s1, replica, false);
    let (run, v) = status(sb);
    assert_eq!(run.code, 2, "{run}");
    let verdict = Run::one(&v, "cluster.primary");
    assert_eq!(verdict["status"], "critical");
    let text = verdict["summary"].as_str().unwrap();
    assert!(text.starts_with("disagree: "), "{text}");
    assert!(
        text.contains("the Sentinels disagree on the master: sentinel-1 says cache-b, sentinel-2 says cache-a, sentinel-3 says cache-a"),
        "{text}"
    );
    assert!(
        text.contains("Sentinel sentinel-1's master cache-b is not role:master (role:slave)"),
        "{text}"
    );
    // PostgreSQL's side still agrees: the disagreement is named, nothing else.
    assert!(!text.contains("pg-"), "{text}");
}

#[test]
fn without_targets_or_with_a_source_down() {
    let scratch = Scratch::new("cluster");
    let none = scratch.write("none.yaml", "services: []\n", 0o600);
    let run = opsbook(&["cluster", "status"]).config(&none).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("the config has no `targets:` section"),
        "{run}"
    );
    assert!(run.stderr.contains("hint:"), "{run}");

    // Every node down: one critical finding each, and the verdict names them; no waiting
    // beyond the connect timeout.
    let (pg, rd, se) = (closed_port(), closed_port(), closed_port());
    let cfg = scratch.write(
        "down.yaml",
        &format!(
            "targets:\n  pg-x: {{kind: postgres, url: 'postgres://postgres@127.0.0.1:{pg}/postgres'}}\n  cache-x: {{kind: redis, url: 'redis://127.0.0.1:{rd}'}}\n  sent-x: {{kind: sentinel, url: 'redis://127.0.0.1:{se}', master: opsbook}}\n"
        ),
        0o600,
    );
    let run = opsbook(&["cluster", "status"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 2, "{run}");
    let v = run.json();
    for (id, subject) in [
        ("cluster.postgres", "pg-x"),
        ("cluster.redis", "cache-x"),
        ("cluster.sentinel", "sent-x"),
    ] {
        let f = Run::findings(&v, id)
            .into_iter()
            .find(|f| f["subject"] == subject)
            .unwrap_or_else(|| panic!("no {id}[{subject}] in {v:#}"));
        assert_eq!(f["status"], "critical", "{f:#}");
        assert!(
            f["summary"].as_str().unwrap().contains("is unreachable"),
            "{f:#}"
        );
    }
    let text = Run::one(&v, "cluster.primary")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("PostgreSQL pg-x is unreachable"), "{text}");
    assert!(text.contains("Sentinel sent-x is unreachable"), "{text}");
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
}
