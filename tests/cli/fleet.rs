//! `--target NAME|GROUP`, `--all` and `opsbook targets list` from the operator's side: one
//! report over an inventory of the sandbox's PostgreSQL (two databases, two targets), its
//! Redis, a server that is down and one that accepts connections and never answers.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::harness::*;

/// A config whose `targets:` are pg-a and pg-b (two test databases of the sandbox, group
/// `db`), cache (the sandbox's Redis), and `extra_targets` (YAML lines under `targets:`).
pub struct Inventory {
    scratch: Scratch,
    config: PathBuf,
    _a: TestDb,
    _b: TestDb,
}

pub fn inventory(tag: &str, extra_targets: &str) -> Inventory {
    let scratch = Scratch::new(tag);
    let a = TestDb::new(&format!("{tag}_a"));
    let b = TestDb::new(&format!("{tag}_b"));
    let backups = fresh_backup(&scratch);
    let pw = scratch.path().join("pg.password");
    let targets = format!(
        "targets:\n  pg-a: {{kind: postgres, url: '{}', password_file: {}}}\n  pg-b: {{kind: postgres, url: '{}', password_file: {}}}\n  cache: {{kind: redis, url: '{}'}}\n  db: {{kind: group, members: [pg-a, pg-b]}}\n{extra_targets}",
        a.url(),
        pw.display(),
        b.url(),
        pw.display(),
        sandbox().redis_url(),
    );
    // sandbox_config writes pg.password (0600) and points postgres:/redis: at the sandbox.
    let config = sandbox_config(&scratch, &a, &backups, &targets);
    Inventory {
        scratch,
        config,
        _a: a,
        _b: b,
    }
}

pub fn run(inv: &Inventory, args: &[&str]) -> Run {
    opsbook(args)
        .config(&inv.config)
        .state_dir(inv.scratch.path().join("state"))
        .run()
}

fn targets_of<'a>(j: &'a Value, id: &str) -> Vec<&'a str> {
    let mut t: Vec<&str> = Run::findings(j, id)
        .into_iter()
        .filter_map(|f| f["target"].as_str())
        .collect();
    t.sort_unstable();
    t
}

#[test]
fn check_morning_all_reports_every_target_and_one_critical_for_the_one_down() {
    let down = closed_port();
    let inv = inventory(
        "fleet_all",
        &format!(
            "  pg-down: {{kind: postgres, url: 'postgres://postgres@127.0.0.1:{down}/postgres'}}\n"
        ),
    );
    let r = run(&inv, &["check", "morning", "--all", "--format", "json"]);
    let j = r.json();
    assert_eq!(r.code, 2, "{r}");
    assert_eq!(j["status"], "critical", "{r}");
    assert_eq!(
        targets_of(&j, "postgres.up"),
        ["pg-a", "pg-b", "pg-down"],
        "{r}"
    );
    for t in ["pg-a", "pg-b"] {
        let up = Run::findings(&j, "postgres.up")
            .into_iter()
            .find(|f| f["target"] == t)
            .unwrap();
        assert_eq!(up["status"], "ok", "{t}: {r}");
    }
    // Exactly one CRITICAL finding, and it names the target that is down.
    let critical: Vec<&Value> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "critical")
        .collect();
    assert_eq!(critical.len(), 1, "{r}");
    assert_eq!(critical[0]["id"], "postgres.up");
    assert_eq!(critical[0]["target"], "pg-down");
    // The down target's other probes say "not checked" once each; nothing else is red for it.
    for f in j["findings"].as_array().unwrap() {
        if f["target"] == "pg-down" && f["id"] != "postgres.up" {
            assert_eq!(f["status"], "unknown", "{f}");
            assert!(
                f["summary"].as_str().unwrap().contains("not checked"),
                "{f}"
            );
        }
    }
    // Redis probes run for the Redis target only, PostgreSQL probes for PostgreSQL targets.
    assert_eq!(targets_of(&j, "redis.up"), ["cache"], "{r}");
    assert_eq!(Run::one(&j, "redis.up")["status"], "ok", "{r}");
    assert!(targets_of(&j, "postgres.connections")
        .iter()
        .all(|t| t.starts_with("pg-")));
    // The host's own probes run once, for this host: no target.
    let memory = Run::findings(&j, "host.memory_usage");
    assert_eq!(memory.len(), 1, "{r}");
    assert!(memory[0].get("target").is_none(), "{r}");
    assert_eq!(Run::findings(&j, "backup.latest_age").len(), 1, "{r}");

    // The table names the target in the finding's label.
    let t = run(&inv, &["check", "morning", "--all"]);
    assert_eq!(t.code, 2, "{t}");
    assert!(t.stdout.contains("postgres.up[pg-down]"), "{t}");
    assert!(t.stdout.contains("redis.memory[cache]"), "{t}");
}

#[test]
fn a_target_that_accepts_and_never_answers_costs_one_timeout_and_is_reported() {
    // The kernel completes the handshake for a listener that never accepts: a hung server.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap().port();
    let inv = inventory(
        "fleet_hung",
        &format!("  pg-hung: {{kind: postgres, url: 'postgres://postgres@127.0.0.1:{port}/postgres'}}\n  cache-hung: {{kind: redis, url: 'redis://127.0.0.1:{port}'}}\n"),
    );
    let r = run(
        &inv,
        &[
            "check",
            "morning",
            "--all",
            "--timeout",
            "1",
            "--format",
            "json",
        ],
    );
    let j = r.json();
    assert_eq!(r.code, 2, "{r}");
    let up = Run::findings(&j, "postgres.up");
    let hung_up = up
        .iter()
        .find(|f| f["target"] == "pg-hung")
        .expect("pg-hung reported");
    assert_eq!(hung_up["status"], "critical", "{r}");
    let redis = Run::findings(&j, "redis.up");
    let hung_redis = redis
        .iter()
        .find(|f| f["target"] == "cache-hung")
        .expect("cache-hung reported");
    assert_eq!(hung_redis["status"], "critical", "{r}");
    // The healthy targets still report normally.
    assert_eq!(
        up.iter().find(|f| f["target"] == "pg-a").unwrap()["status"],
        "ok",
        "{r}"
    );
    drop(hung);
}

#[test]
fn a_group_selects_its_members_and_one_name_one_target() {
    let inv = inventory("fleet_group", "");
    let r = run(
        &inv,
        &["check", "morning", "--target", "db", "--format", "json"],
    );
    let j = r.json();
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(targets_of(&j, "postgres.up"), ["pg-a", "pg-b"], "{r}");
    assert!(Run::findings(&j, "redis.up").is_empty(), "{r}");
    let every: Vec<&str> = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["target"].as_str())
        .collect();
    assert!(every.iter().all(|t| *t == "pg-a" || *t == "pg-b"), "{r}");

    let r = run(
        &inv,
        &["replica", "status", "--target", "pg-b", "--format", "json"],
    );
    let j = r.json();
    assert_eq!(targets_of(&j, "replica.role"), ["pg-b"], "{r}");
}

#[test]
fn selections_that_cannot_run_exit_3_with_what_to_do() {
    let inv = inventory("fleet_refuse", "");
    let r = run(&inv, &["check", "morning", "--target", "nope"]);
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr.contains("--target nope: no such target or group"),
        "{r}"
    );
    assert!(
        r.stderr.contains("hint:") && r.stderr.contains("pg-a"),
        "{r}"
    );

    // A command that acts takes one server: --all and a group are refused before anything.
    let r = run(&inv, &["replica", "promote", "--all", "--yes"]);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("acts on one server"), "{r}");
    let r = run(&inv, &["backup", "--target", "db"]);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("names a group"), "{r}");
    let r = run(&inv, &["backup", "--target", "cache-nope"]);
    assert_eq!(r.code, 3, "{r}");

    let r = run(&inv, &["check", "morning", "--all", "--target", "db"]);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("exclude each other"), "{r}");

    // --all on a config without targets.
    let s = Scratch::new("fleet_none");
    let db = TestDb::new("fleet_none");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let r = opsbook(&["check", "morning", "--all"]).config(&cfg).run();
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("the config has no targets"), "{r}");
}

#[test]
fn prometheus_output_labels_every_sample_with_its_target() {
    let inv = inventory("fleet_prom", "");
    let r = run(
        &inv,
        &["check", "morning", "--all", "--format", "prometheus"],
    );
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("opsbook_check_status{")
                && l.contains("id=\"postgres.up\"")
                && l.contains("target=\"pg-a\"")),
        "{r}"
    );
    assert!(r.stdout.contains("target=\"cache\""), "{r}");
    for l in r
        .stdout
        .lines()
        .filter(|l| l.starts_with("opsbook_check_status{"))
    {
        assert!(l.contains("target=\""), "{l}");
    }
    let Some(promtool) = which("promtool") else {
        eprintln!("skipped the promtool lint: install prometheus (apt-get install prometheus)");
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), r.stdout.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// A redis-sentinel of the test's own, watching the sandbox's Redis as `mymaster`.
struct Sentinel {
    child: Child,
    _dir: Scratch,
    port: u16,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sentinel() -> Option<Sentinel> {
    let bin = which("redis-sentinel")?;
    let dir = Scratch::new("sentinel");
    let port = closed_port();
    let redis_port = sandbox()
        .redis_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse::<u16>().ok())?;
    let conf = dir.write(
        "sentinel.conf",
        &format!("port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {redis_port} 1\n", dir.path().display()),
        0o600,
    );
    let child = Command::new(bin)
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let s = Sentinel {
        child,
        _dir: dir,
        port,
    };
    wait_until("the sentinel listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Some(s)
}

#[test]
fn a_sentinel_target_is_reached_and_names_its_master() {
    let Some(s) = sentinel() else {
        eprintln!("skipped: install redis-sentinel (apt-get install redis-sentinel)");
        return;
    };
    let inv = inventory(
        "fleet_sentinel",
        &format!(
            "  sent-a: {{kind: sentinel, url: 'redis://127.0.0.1:{0}', master: mymaster}}\n  sent-wrong: {{kind: sentinel, url: 'redis://127.0.0.1:{0}', master: other}}\n  ha: {{kind: group, members: [sent-a, sent-wrong]}}\n",
            s.port
        ),
    );
    let r = run(
        &inv,
        &["check", "morning", "--target", "ha", "--format", "json"],
    );
    let j = r.json();
    assert_eq!(r.code, 2, "{r}");
    let up = Run::findings(&j, "target.up");
    let ok = up.iter().find(|f| f["target"] == "sent-a").unwrap();
    assert_eq!(ok["status"], "ok", "{r}");
    assert!(
        ok["summary"]
            .as_str()
            .unwrap()
            .contains("master mymaster is at 127.0.0.1"),
        "{r}"
    );
    let wrong = up.iter().find(|f| f["target"] == "sent-wrong").unwrap();
    assert_eq!(wrong["status"], "critical", "{r}");
    assert!(wrong["summary"]
        .as_str()
        .unwrap()
        .contains("does not monitor a master named other"));
}

#[test]
fn a_targets_secret_follows_the_configs_rules() {
    // A password written into a target's URL makes a config others can read refused,
    // naming the key (as for postgres.url).
    let inv = inventory(
        "fleet_inline",
        "  pg-x: {kind: postgres, url: 'postgres://postgres:hunter2@127.0.0.1:1/postgres'}\n",
    );
    let text = std::fs::read_to_string(&inv.config).unwrap();
    let readable = inv.scratch.write("readable.yaml", &text, 0o644);
    let r = opsbook(&["check", "morning", "--all"])
        .config(&readable)
        .run();
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("targets.pg-x.url"), "{r}");
    assert!(!r.stderr.contains("hunter2"), "{r}");

    // A target's password file others can read is refused, naming the key.
    let inv = inventory("fleet_mode", "");
    let open = inv.scratch.write("open.pass", "x\n", 0o644);
    let text = std::fs::read_to_string(&inv.config).unwrap()
        + &format!(
            "  cache-pw: {{kind: redis, url: 'redis://127.0.0.1:1', password_file: {}}}\n",
            open.display()
        );
    let cfg = inv.scratch.write("open.yaml", &text, 0o600);
    let r = opsbook(&["check", "morning", "--all"]).config(&cfg).run();
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("targets.cache-pw.password_file"), "{r}");
}

#[test]
fn monitor_and_diagnose_fan_out_too() {
    let inv = inventory("fleet_monitor", "");
    let r = run(
        &inv,
        &["monitor", "--all", "--no-notify", "--format", "json"],
    );
    let j = r.json();
    assert_eq!(targets_of(&j, "postgres.up"), ["pg-a", "pg-b"], "{r}");
    assert_eq!(targets_of(&j, "redis.up"), ["cache"], "{r}");
    // CPU is sampled once, for this host.
    assert_eq!(Run::findings(&j, "host.cpu_usage").len(), 1, "{r}");

    // --watch fans out every round.
    let w = run(
        &inv,
        &[
            "monitor",
            "--all",
            "--no-notify",
            "--watch",
            "200ms",
            "--count",
            "2",
            "--format",
            "json",
        ],
    );
    // (the exit code is the machine's CPU's business here)
    let rounds: Vec<Value> = serde_json::Deserializer::from_str(&w.stdout)
        .into_iter::<Value>()
        .map(|d| d.unwrap())
        .collect();
    assert_eq!(rounds.len(), 2, "{w}");
    for round in &rounds {
        assert_eq!(targets_of(round, "postgres.up"), ["pg-a", "pg-b"], "{w}");
        assert_eq!(targets_of(round, "redis.up"), ["cache"], "{w}");
    }

    let r = run(
        &inv,
        &["diagnose", "locks", "--target", "db", "--format", "json"],
    );
    let j = r.json();
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(targets_of(&j, "locks.waiting"), ["pg-a", "pg-b"], "{r}");
}

/// An haproxy of the test's own with a stats page and a stats socket.
struct Haproxy {
    child: Child,
    dir: Scratch,
    port: u16,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn haproxy() -> Option<Haproxy> {
    let bin = which("haproxy").or_else(|| {
        let p = PathBuf::from("/usr/sbin/haproxy");
        p.is_file().then_some(p)
    })?;
    let dir = Scratch::new("haproxy");
    let port = closed_port();
    let conf = dir.write(
        "haproxy.cfg",
        &format!(
            "global\n  stats socket {}/admin.sock mode 600 level admin\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\nfrontend stats\n  bind 127.0.0.1:{port}\n  stats enable\n  stats uri /stats\n",
            dir.path().display()
        ),
        0o600,
    );
    let child = Command::new(bin)
        .args(["-db", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let h = Haproxy { child, dir, port };
    wait_until("haproxy listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && h.dir.path().join("admin.sock").exists()
    });
    Some(h)
}

#[test]
fn an_haproxy_target_is_reached_by_its_stats_page_or_socket() {
    let Some(h) = haproxy() else {
        eprintln!("skipped: install haproxy (apt-get install haproxy)");
        return;
    };
    let inv = inventory(
        "fleet_haproxy",
        &format!(
            "  lb: {{kind: haproxy, url: 'http://127.0.0.1:{0}/stats'}}\n  lb-sock: {{kind: haproxy, socket: {1}/admin.sock}}\n  lb-wrong: {{kind: haproxy, url: 'http://127.0.0.1:{0}/not-stats'}}\n  lbs: {{kind: group, members: [lb, lb-sock, lb-wrong]}}\n",
            h.port,
            h.dir.path().display()
        ),
    );
    let r = run(
        &inv,
        &["check", "morning", "--target", "lbs", "--format", "json"],
    );
    let j = r.json();
    assert_eq!(r.code, 2, "{r}");
    let up = Run::findings(&j, "target.up");
    let status = |t: &str| up.iter().find(|f| f["target"] == t).unwrap()["status"].clone();
    assert_eq!(status("lb"), "ok", "{r}");
    assert_eq!(status("lb-sock"), "ok", "{r}");
    assert_eq!(status("lb-wrong"), "critical", "{r}");
}
