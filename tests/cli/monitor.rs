//! `opsbook monitor` from the operator's side: the numbers, the alerts a receiver gets (once,
//! then nothing, then one recovery), notifiers that fail or hang, --watch and --textfile.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::*;

const TOKEN: &str = "123456:SECRET-token-never-printed";

/// Host and shared-server numbers out of reach, so only what a test sets can alert.
const QUIET: &str = "  cpu_pct: {warning: 100.5, critical: 101}\n  load_per_core: {warning: 100000, critical: null}\n  redis_memory_pct: {warning: 100.5, critical: 101}\n  rq_backlog: {warning: 100000000, critical: null}\n  waiting_locks: {warning: 100000, critical: null}\n";

fn notify_section(api: u16, hook: u16, timeout: &str) -> String {
    format!(
        "notify:\n  on: [critical]\n  repeat_after: 1h\n  telegram:\n    token_env: OPSBOOK_TEST_TG_TOKEN\n    chat_id: 4242\n    api_base: http://127.0.0.1:{api}\n    timeout: {timeout}\n  webhook:\n    url: http://127.0.0.1:{hook}/hook\n    timeout: {timeout}\n"
    )
}

fn monitor_config(s: &Scratch, db: &TestDb, thresholds: &str, rest: &str) -> std::path::PathBuf {
    let extra = format!(
        "{QUIET}{thresholds}monitor:\n  cpu_sample: 200ms\n  queues: [mon_none_{}]\n{rest}",
        std::process::id()
    );
    sandbox_config(s, db, &s.path().join("backups"), &extra)
}

fn monitor(cfg: &Path, state: &Path, more: &[&str]) -> Run {
    opsbook(&["monitor"])
        .format("json")
        .config(cfg)
        .args(more)
        .state_dir(state)
        .env("OPSBOOK_TEST_TG_TOKEN", TOKEN)
        .run()
}

/// A client session of someone else's for the connection alerts to count (opsbook leaves its
/// own sessions out), until dropped.
pub(crate) fn a_client(db: &TestDb, app: &str) -> Client {
    let mut c = psql_command(db, app);
    c.args(["-c", "SELECT pg_sleep(60)"]);
    let child = Child::spawn(c);
    wait_until("the client session", || {
        db.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}'"
        )) == "1"
    });
    Client(child, db.name.clone(), app.to_string())
}

/// A killed psql leaves its backend sleeping: the drop ends it on the server too.
pub(crate) struct Client(#[allow(dead_code)] Child, String, String);

impl Drop for Client {
    fn drop(&mut self) {
        let _ = sandbox().psql(
            &self.1,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}'",
                self.2
            ),
        );
    }
}

fn assert_no_token(run: &Run) {
    assert!(
        !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
        "the token leaked: {run}"
    );
    assert!(!run.stdout.contains("SECRET") && !run.stderr.contains("SECRET"));
}

#[test]
fn an_alert_is_sent_once_per_channel_then_nothing_then_one_recovery() {
    let _g = shared();
    let db = TestDb::new("monalert");
    let _client = a_client(&db, "monalert_client");
    let s = Scratch::new("monalert");
    let state = s.path().join("state");
    let rx = Receiver::start();
    let notify = notify_section(rx.port, rx.port, "3s");
    let firing = "  connections_pct: {warning: 0, critical: 0}\n";
    let cfg = monitor_config(&s, &db, firing, &notify);

    let run = monitor(&cfg, &state, &[]);
    assert_eq!(run.code, 2, "a CRITICAL alert exits 2: {run}");
    assert_no_token(&run);
    let j = run.json();
    assert_eq!(Run::one(&j, "postgres.connections")["status"], "critical");
    assert_eq!(Run::one(&j, "notify.telegram")["status"], "ok", "{run}");
    assert_eq!(Run::one(&j, "notify.webhook")["status"], "ok", "{run}");
    let tg = rx.telegram();
    assert_eq!(tg.len(), 1, "one Telegram request: {:?}", rx.requests());
    assert_eq!(tg[0].method, "POST");
    assert_eq!(tg[0].path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(tg[0].body["chat_id"], 4242);
    let text = tg[0].body["text"].as_str().unwrap();
    assert!(text.contains("CRITICAL postgres.connections"), "{text}");
    let hook = rx.webhook();
    assert_eq!(hook.len(), 1, "one webhook request: {:?}", rx.requests());
    assert_eq!(hook[0].method, "POST");
    assert!(hook[0].body["text"]
        .as_str()
        .unwrap()
        .contains("postgres.connections"));
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(state.join("alerts.json"))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o777, 0o600, "the alert state is private");

    // Still firing: nothing new is sent, the exit status still says CRITICAL.
    let run = monitor(&cfg, &state, &[]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(rx.requests().len(), 2, "{:?}", rx.requests());
    assert!(Run::findings(&run.json(), "notify.telegram").is_empty());

    // Cleared: exactly one recovery per channel, then nothing.
    let cfg = monitor_config(&s, &db, "", &notify);
    let run = monitor(&cfg, &state, &[]);
    assert_no_token(&run);
    let j = run.json();
    assert_eq!(
        Run::one(&j, "postgres.connections")["status"],
        "ok",
        "{run}"
    );
    let tg = rx.telegram();
    let hook = rx.webhook();
    assert_eq!((tg.len(), hook.len()), (2, 2), "{:?}", rx.requests());
    for r in [&tg[1], &hook[1]] {
        let text = r.body["text"].as_str().unwrap();
        assert!(text.contains("RESOLVED postgres.connections"), "{text}");
    }
    monitor(&cfg, &state, &[]);
    assert_eq!(rx.requests().len(), 4, "{:?}", rx.requests());
}

#[test]
fn a_notifier_on_a_closed_port_is_a_warning_and_the_alert_still_exits_2() {
    let _g = shared();
    let db = TestDb::new("monclosed");
    let _client = a_client(&db, "monclosed_client");
    let s = Scratch::new("monclosed");
    let state = s.path().join("state");
    let notify = notify_section(closed_port(), closed_port(), "2s");
    let cfg = monitor_config(
        &s,
        &db,
        "  connections_pct: {warning: 0, critical: 0}\n",
        &notify,
    );
    let run = monitor(&cfg, &state, &[]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    assert_no_token(&run);
    let j = run.json();
    for id in ["notify.telegram", "notify.webhook"] {
        let f = Run::one(&j, id);
        assert_eq!(f["status"], "warning", "{run}");
        assert!(
            f["summary"].as_str().unwrap().contains("could not send"),
            "{run}"
        );
    }
    assert_eq!(Run::one(&j, "postgres.connections")["status"], "critical");

    // Not marked as sent: the next run tries again (and fails again, visibly).
    let run = monitor(&cfg, &state, &[]);
    assert_eq!(Run::one(&run.json(), "notify.webhook")["status"], "warning");
}

#[test]
fn a_receiver_that_never_answers_costs_at_most_the_timeout() {
    let _g = shared();
    let db = TestDb::new("monsilent");
    let _client = a_client(&db, "monsilent_client");
    let s = Scratch::new("monsilent");
    let state = s.path().join("state");
    // Bound but never accepted: the kernel completes the handshake, no answer ever comes.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let notify = notify_section(port, port, "1s");
    let cfg = monitor_config(
        &s,
        &db,
        "  connections_pct: {warning: 0, critical: 0}\n",
        &notify,
    );
    let run = monitor(&cfg, &state, &[]);
    drop(silent);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.elapsed < Duration::from_secs(4),
        "took {:?}",
        run.elapsed
    );
    assert_no_token(&run);
    let j = run.json();
    let tg = Run::one(&j, "notify.telegram");
    assert_eq!(tg["status"], "warning");
    assert!(
        tg["summary"]
            .as_str()
            .unwrap()
            .contains("no answer within 1.0s"),
        "{run}"
    );
}

#[test]
fn a_token_file_others_can_read_is_refused() {
    let _g = shared();
    let db = TestDb::new("montoken");
    let s = Scratch::new("montoken");
    let file = s.write("tg.token", TOKEN, 0o644);
    let notify = format!(
        "notify:\n  telegram:\n    token_file: {}\n    chat_id: 1\n    api_base: http://127.0.0.1:{}\n",
        file.display(),
        closed_port()
    );
    let cfg = monitor_config(&s, &db, "", &notify);
    let run = monitor(&cfg, &s.path().join("state"), &[]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains(&file.display().to_string()), "{run}");
    assert!(run.stderr.contains("readable by group or others"), "{run}");
    assert!(run.stderr.contains("chmod 600"), "{run}");
    assert_no_token(&run);

    // 0600 is accepted.
    let file = s.write("tg.token", TOKEN, 0o600);
    assert!(file.exists());
    let run = monitor(&cfg, &s.path().join("state"), &[]);
    assert!(!run.stderr.contains("error:"), "{run}");
    assert_eq!(
        Run::one(&run.json(), "postgres.up")["status"],
        "ok",
        "{run}"
    );
}

/// One RESP command over a raw socket (an independent client for the test's own numbers).
fn redis_cmd(port: u16, args: &[&str]) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line.trim().to_string()
}

#[test]
fn numbers_agree_with_psql_redis_info_and_llen() {
    let _g = exclusive();
    let db = TestDb::new("monnumbers");
    db.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    db.psql("SELECT pg_sleep(0.15)");
    let s = Scratch::new("monnumbers");
    let state = s.path().join("state");
    let port = sandbox().state.redis_port;
    let (q1, q2) = (
        format!("mon_a_{}", std::process::id()),
        format!("mon_b_{}", std::process::id()),
    );
    for (q, n) in [(&q1, 3), (&q2, 5)] {
        let key = format!("rq:queue:{q}");
        redis_cmd(port, &["DEL", &key]);
        for i in 0..n {
            redis_cmd(port, &["RPUSH", &key, &format!("job{i}")]);
        }
    }
    // A custom SQL metric: opsbook opens a second session of its own for it (issue 14 item 3).
    let extra = format!(
        "{QUIET}  slow_query_min_calls: 1\nmonitor:\n  cpu_sample: 200ms\n  queues: [{q1}, {q2}]\nmetrics:\n  - name: own_session\n    sql: SELECT count(*) FROM pg_stat_activity\n"
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);

    // The oracle: every client backend but the oracle's own psql session.
    let oracle = "SELECT count(*) FROM pg_stat_activity \
                  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()";
    let before = db.psql(oracle);
    let run = monitor(&cfg, &state, &[]);
    let after = db.psql(oracle);
    let j = run.json();
    assert_eq!(before, after);
    let conns = Run::one(&j, "postgres.connections");
    assert_eq!(
        conns["value"].as_i64().unwrap().to_string(),
        before,
        "opsbook's own sessions are not counted: {run}"
    );
    assert!(
        conns["summary"]
            .as_str()
            .unwrap()
            .contains("(opsbook's own "),
        "{run}"
    );
    assert_eq!(Run::one(&j, "metric.own_session")["status"], "ok", "{run}");

    let used = Run::one(&j, "redis.memory")["value"].as_u64().unwrap() as f64;
    let info = redis_info_field(port, "used_memory") as f64;
    assert!(
        (used - info).abs() / info < 0.10,
        "redis.memory {used} vs INFO used_memory {info}"
    );
    let clients = Run::one(&j, "redis.clients");
    assert!(clients["value"].as_u64().unwrap() >= 1, "{run}");

    let llen = |q: &str| -> u64 {
        redis_cmd(port, &["LLEN", &format!("rq:queue:{q}")])
            .trim_start_matches(':')
            .parse()
            .unwrap()
    };
    let rq = Run::one(&j, "rq.backlog");
    assert_eq!(
        rq["value"].as_u64().unwrap(),
        llen(&q1) + llen(&q2),
        "{run}"
    );
    assert_eq!(rq["value"], 8);
    assert_eq!(rq["detail"].as_array().unwrap().len(), 2, "{run}");

    let slow = Run::one(&j, "postgres.slow_query_count");
    // Slow as every command counts it: this database, mean >= 50 ms over >= 1 call here.
    let expected = db.psql(
        "SELECT count(*) FROM pg_stat_statements WHERE queryid IS NOT NULL \
         AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND calls >= 1 AND mean_exec_time >= 50",
    );
    assert_eq!(
        slow["value"].as_i64().unwrap().to_string(),
        expected,
        "{run}"
    );
    assert!(slow["value"].as_i64().unwrap() >= 1, "{run}");

    for id in [
        "host.cpu_usage",
        "host.memory_usage",
        "host.load",
        "postgres.up",
        "postgres.waiting_locks",
        "redis.up",
    ] {
        assert_eq!(Run::one(&j, id)["status"], "ok", "{id}: {run}");
    }
    assert!(!Run::findings(&j, "host.disk_usage").is_empty());
    assert!(!Run::findings(&j, "postgres.database_size").is_empty());

    // The connection count went into the run history under the server's key.
    let history: Value = serde_json::json!({"samples": opsbook::state::History::load(&state).unwrap().samples().unwrap()});
    let sample = history["samples"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(sample["command"], "monitor");
    let key = format!("postgres.connections/127.0.0.1:{}", sandbox().state.pg_port);
    assert_eq!(
        sample["values"][&key].as_f64().unwrap().to_string(),
        before,
        "{sample}"
    );
    // --no-record leaves it alone.
    let n = history["samples"].as_array().unwrap().len();
    monitor(&cfg, &state, &["--no-record"]);
    let history: Value = serde_json::json!({"samples": opsbook::state::History::load(&state).unwrap().samples().unwrap()});
    assert_eq!(history["samples"].as_array().unwrap().len(), n);
    for q in [&q1, &q2] {
        redis_cmd(port, &["DEL", &format!("rq:queue:{q}")]);
    }
}

#[test]
fn slow_query_count_without_the_extension_says_how_to_enable_it() {
    let _g = shared();
    let db = TestDb::new("monnopgss");
    let s = Scratch::new("monnopgss");
    let cfg = monitor_config(&s, &db, "", "");
    let run = monitor(&cfg, &s.path().join("state"), &[]);
    let j = run.json();
    let f = Run::one(&j, "postgres.slow_query_count");
    assert_eq!(f["status"], "unknown", "{run}");
    assert!(
        f["hint"]
            .as_str()
            .unwrap()
            .contains("shared_preload_libraries"),
        "{run}"
    );
}

/// Every non-comment line is `name{labels} value` with a valid name and a number.
fn assert_exposition(text: &str) {
    assert!(!text.is_empty());
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name in `{line}`"
        );
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            }
        }
        assert!(
            value.parse::<f64>().is_ok() || value == "NaN",
            "bad value in `{line}`"
        );
    }
}

fn only_file(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[test]
fn watch_count_gives_that_many_snapshots_and_a_textfile() {
    let _g = shared();
    let db = TestDb::new("monwatch");
    let s = Scratch::new("monwatch");
    let cfg = monitor_config(&s, &db, "", "");
    let prom_dir = s.path().join("textfile");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom = prom_dir.join("opsbook.prom");
    let run = monitor(
        &cfg,
        &s.path().join("state"),
        &[
            "--watch",
            "1s",
            "--count",
            "2",
            "--textfile",
            prom.to_str().unwrap(),
        ],
    );
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&run.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {run}"));
    assert_eq!(docs.len(), 2, "{run}");
    for d in &docs {
        assert_eq!(d["command"], "monitor");
        assert_eq!(Run::one(d, "postgres.up")["status"], "ok");
    }
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_exposition(&text);
    assert!(
        text.contains("opsbook_postgres_connections{command=\"monitor\",subject=\"\"} "),
        "{text}"
    );
    assert!(text.contains("opsbook_redis_memory_used_bytes{"), "{text}");
    assert!(text.contains("opsbook_redis_connected_clients{"), "{text}");
    assert!(
        text.contains("opsbook_run_status{command=\"monitor\"}"),
        "{text}"
    );
    assert_eq!(
        only_file(&prom_dir),
        vec!["opsbook.prom"],
        "no temp file left"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&prom).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644, "node_exporter must read it");
}

#[test]
fn textfile_works_for_check_morning_too() {
    let _g = shared();
    let db = TestDb::new("montextfile");
    let s = Scratch::new("montextfile");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let prom_dir = s.path().join("textfile");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom = prom_dir.join("check.prom");
    let run = opsbook(&["check", "morning"])
        .flag("--textfile", &prom)
        .config(&cfg)
        .run();
    assert!(
        run.stdout.contains("check morning:"),
        "the table still goes to stdout: {run}"
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_exposition(&text);
    assert!(
        text.contains("opsbook_run_status{command=\"check morning\"}"),
        "{text}"
    );
    assert_eq!(only_file(&prom_dir), vec!["check.prom"]);

    // A directory that cannot be written: exit 3 naming the file.
    let run = opsbook(&["check", "morning", "--textfile", "/proc/opsbook/x.prom"])
        .config(&cfg)
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("/proc/opsbook/x.prom"), "{run}");
}

#[test]
fn ctrl_c_stops_a_watch_cleanly_after_the_snapshot_in_progress() {
    let _g = shared();
    let db = TestDb::new("monsigint");
    let s = Scratch::new("monsigint");
    let cfg = monitor_config(&s, &db, "", "");
    let (mut cmd, _home) = opsbook(&["monitor"])
        .format("json")
        .config(&cfg)
        .args(["--watch", "1s"])
        .into_command();
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = Child::spawn(cmd);
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.pid() as i32, libc::SIGINT) };
    let status = child
        .wait_for(Duration::from_secs(10))
        .expect("monitor --watch stops on SIGINT");
    assert!(status.code().is_some(), "exited, not killed: {status:?}");
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(
        (2..=4).contains(&docs.len()),
        "{} snapshots in 2.5 s: {out}",
        docs.len()
    );
    assert_eq!(
        status.code().unwrap(),
        match docs.last().unwrap()["status"].as_str().unwrap() {
            "ok" => 0,
            "warning" => 1,
            "critical" => 2,
            _ => 3,
        },
        "the exit status is the last snapshot's"
    );
}

/// /proc/stat's `cpu` line: (busy, total) ticks, the way the kernel documents it.
fn proc_stat_ticks() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap();
    let f: Vec<f64> = text
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().unwrap())
        .collect();
    let total: f64 = f.iter().sum();
    (total - f[3] - f[4], total)
}

/// Issue 14 item 2: a monitor run after another reports the CPU busy since that run's
/// counters (kept in the run history) without sampling; the first run, and a run whose
/// previous counters are older than `monitor.cpu_sample_max_age`, sample.
#[test]
fn cpu_is_busy_since_the_previous_run_without_a_sample() {
    let _g = shared();
    let db = TestDb::new("moncpu");
    let s = Scratch::new("moncpu");
    let state = s.path().join("state");
    let extra = format!(
        "{QUIET}monitor:\n  cpu_sample: 2s\n  cpu_sample_max_age: 3s\n  queues: [mon_none_{}]\n",
        std::process::id()
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);

    let started = std::time::Instant::now();
    let first = monitor(&cfg, &state, &[]);
    assert!(started.elapsed() >= Duration::from_secs(2), "{first}");
    let cpu = Run::one(&first.json(), "host.cpu_usage").clone();
    assert!(
        cpu["summary"]
            .as_str()
            .unwrap()
            .contains("over a 2s sample"),
        "{first}"
    );

    // The counters the first run left, as the run history holds them.
    let history: Value = serde_json::json!({"samples": opsbook::state::History::load(&state).unwrap().samples().unwrap()});
    let last = history["samples"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    let (busy0, total0) = (
        last["values"]["host.cpu_usage/busy_ticks"]
            .as_f64()
            .unwrap(),
        last["values"]["host.cpu_usage/total_ticks"]
            .as_f64()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let second = monitor(&cfg, &state, &[]);
    let took = started.elapsed();
    let (busy1, total1) = proc_stat_ticks();
    assert!(
        took < Duration::from_secs(2),
        "no 2 s sample: {took:?} {second}"
    );
    let cpu = Run::one(&second.json(), "host.cpu_usage").clone();
    assert!(
        cpu["summary"]
            .as_str()
            .unwrap()
            .contains("(since the previous run)"),
        "{second}"
    );
    // The oracle: /proc/stat from the first run's counters to just after the second run.
    let oracle = (busy1 - busy0) / (total1 - total0) * 100.0;
    let value = cpu["value"].as_f64().unwrap();
    assert!(
        (value - oracle).abs() < 15.0,
        "opsbook {value}% vs /proc/stat {oracle}%: {second}"
    );

    // Older than cpu_sample_max_age: sampled again. The history keeps whole seconds, so
    // 4.5 s, not 3.5: 3.5 s after a run can read as 3 s, which is not older than 3 s.
    std::thread::sleep(Duration::from_millis(4500));
    let third = monitor(&cfg, &state, &[]);
    assert!(
        Run::one(&third.json(), "host.cpu_usage")["summary"]
            .as_str()
            .unwrap()
            .contains("over a 2s sample"),
        "{third}"
    );
}
