//! `cluster status` and `targets discover` against the real HA engines of `sandbox up --ha`
//! (etcd, two Patroni nodes, a Redis replica, three Sentinels, HAProxy), started once for
//! this test process. The test that splits the view (one Sentinel pointed at the replica)
//! holds the HA lock exclusively and restores the Sentinel before it lets go; the others
//! hold it shared. Without the engines installed, those tests skip, saying why.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use opsbook::config::targets::{Target, Targets};
use opsbook::sandbox::Sandbox;
use serde_json::Value;

use super::harness::{closed_port, ha_sandbox, opsbook, Run, Scratch};

static HA: RwLock<()> = RwLock::new(());

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

fn ha(sb: &Sandbox) -> &opsbook::sandbox::ha::HaState {
    sb.ha().expect("the HA sandbox records its HA stack")
}

#[test]
fn every_source_agrees_on_a_fresh_ha_sandbox() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = HA.read().unwrap_or_else(|e| e.into_inner());
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
        sentinel.contains("2 other sentinel(s), 1 replica(s), quorum 2: OK 3 usable"),
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

#[derive(serde::Deserialize)]
struct Pasted {
    targets: Targets,
}

/// The YAML after the leading comment parses as a `targets:` section the config accepts.
fn pasted(run: &Run) -> Targets {
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .starts_with("# discovered by `opsbook targets discover` from "),
        "{run}"
    );
    let p: Pasted = serde_saphyr::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{run}"));
    opsbook::config::targets::validate(&p.targets).unwrap();
    p.targets
}

#[test]
fn discover_prints_every_member_as_targets() {
    let Some(sb) = ha_sandbox() else { return };
    let _shared = HA.read().unwrap_or_else(|e| e.into_inner());
    let h = ha(sb);

    // From a target of the config: Patroni's members, with the source's credentials files.
    let t = pasted(
        &opsbook(&["targets", "discover", "--from", "pg-b"])
            .config(sb.config_path())
            .run(),
    );
    for n in &h.patroni {
        let Some(Target::Postgres(p)) = t.get(&n.name) else {
            panic!("no postgres target {} in {t:?}", n.name)
        };
        assert_eq!(
            p.url,
            format!("postgres://postgres@127.0.0.1:{}/postgres", n.pg_port)
        );
        assert_eq!(
            p.password_file.as_deref(),
            Some(sb.ha_pg_password_file().as_path())
        );
        let api = p.patroni.as_ref().unwrap();
        assert_eq!(api.url, format!("http://127.0.0.1:{}", n.api_port));
        assert_eq!(api.username.as_deref(), Some("opsbook"));
    }
    let Some(Target::Group(g)) = t.get("postgres") else {
        panic!("{t:?}")
    };
    assert_eq!(g.members, ["pg-a", "pg-b"]);

    // Without a config: a Sentinel's master, replica and the three Sentinels.
    let s1 = h.sentinels[0].port;
    let t = pasted(
        &opsbook(&[
            "targets",
            "discover",
            "--sentinel",
            &format!("redis://127.0.0.1:{s1}"),
            "--master",
            "opsbook",
        ])
        .run(),
    );
    let redis_ports: Vec<u16> = [sb.state.redis_port, h.redis_replica.port].into();
    for port in redis_ports {
        assert!(
            t.contains_key(&format!("redis-127.0.0.1-{port}")),
            "no redis on {port} in {t:?}"
        );
    }
    for s in &h.sentinels {
        let Some(Target::Sentinel(st)) = t.get(&format!("sentinel-127.0.0.1-{}", s.port)) else {
            panic!("no sentinel on {} in {t:?}", s.port)
        };
        assert_eq!(st.master, "opsbook");
    }

    // And from a Patroni URL alone.
    let api = h.patroni[0].api_port;
    let t = pasted(
        &opsbook(&[
            "targets",
            "discover",
            "--patroni",
            &format!("http://127.0.0.1:{api}"),
        ])
        .run(),
    );
    assert!(t.contains_key("pg-a") && t.contains_key("pg-b"), "{t:?}");

    // A Sentinel that does not monitor the name: one error naming it, exit 3.
    let run = opsbook(&[
        "targets",
        "discover",
        "--sentinel",
        &format!("redis://127.0.0.1:{s1}"),
        "--master",
        "nosuch",
    ])
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("does not monitor a master named `nosuch`"),
        "{run}"
    );
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
    let _exclusive = HA.write().unwrap_or_else(|e| e.into_inner());
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
