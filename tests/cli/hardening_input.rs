//! Issue #13, bounds, secrets, config and runbook input: hostile or unlucky input from the
//! operator's side (an endless HTTP body, inline secrets in a readable config, nested
//! runbooks, huge durations, a broken notify channel, non-UTF-8 and oversized files).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;

/// A local HTTP server that answers every request with a 200 and a body that never ends.
/// Returns its port; the thread ends when the client goes away.
fn endless_body_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            std::thread::spawn(move || {
                let mut r = BufReader::new(c.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
                let chunk = vec![b'x'; 64 * 1024];
                while c.write_all(&chunk).is_ok() {}
            });
        }
    });
    port
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn config_check(path: &Path) -> Run {
    opsbook(&["config", "check"]).arg(path).run()
}

/// `config check` of a file that leaks a secret: exit 2 and its one `config.secret_readable`.
fn secret_breach(path: &Path) -> (Run, serde_json::Value) {
    let run = opsbook(&["config", "check"]).arg(path).format("json").run();
    assert_eq!(run.code, 2, "{run}");
    let json = run.json();
    let found = Run::findings(&json, "config.secret_readable");
    assert_eq!(found.len(), 1, "{run}");
    let breach = found[0].clone();
    (run, breach)
}

fn assert_no_library_words(run: &Run) {
    for word in [
        "internal error",
        "this is a bug",
        "panicked",
        "DuplicateKeyPolicy",
        "budget breached",
        "stream did not contain valid UTF-8",
    ] {
        assert!(!run.stderr.contains(word), "`{word}` in:\n{run}");
    }
}

#[test]
fn hardening_7_an_endless_health_body_is_read_up_to_64_kib_and_judged() {
    let _g = shared();
    let db = TestDb::new("h7_body");
    let s = Scratch::new("h7_body");
    let port = endless_body_server();
    let extra = format!(
        "health:\n  timeout: 20s\n  latency: {{warning: 15s}}\n  urls: [http://127.0.0.1:{port}/health]\n"
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);
    // Under `time -v` to measure the peak memory (main grew to gigabytes until the timeout).
    let run = command(
        "/usr/bin/time",
        &[
            "-f",
            "maxrss_kib=%M",
            env!("CARGO_BIN_EXE_opsbook"),
            "check",
            "health",
        ],
    )
    .format("json")
    .config(&cfg)
    .run();
    assert!(
        run.elapsed < Duration::from_secs(15),
        "reading stops at the bound, not at the timeout: {run}"
    );
    let j = run.json();
    let f = Run::findings(&j, "http.health")
        .into_iter()
        .find(|f| {
            f["subject"]
                .as_str()
                .unwrap_or("")
                .contains(&port.to_string())
        })
        .unwrap_or_else(|| panic!("no http.health finding: {run}"));
    assert_eq!(f["status"], "ok", "the status is still judged: {f}");
    let summary = f["summary"].as_str().unwrap();
    assert!(summary.starts_with("answered 200 in "), "{summary}");
    assert!(summary.contains("body over 64 KiB"), "{summary}");
    let rss: u64 = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss from time: {run}"));
    assert!(rss < 100 * 1024, "peak RSS {rss} KiB: {run}");
}

#[test]
fn hardening_8_every_inline_secret_in_a_readable_config_is_refused() {
    let s = Scratch::new("h8_inline");
    let forms = [
        (
            "userinfo",
            "postgres:\n  url: postgres://app:hunter2@db.example/app\n",
        ),
        (
            "pg_query",
            "postgres:\n  url: postgres://app@db.example/app?sslmode=require&password=hunter2\n",
        ),
        (
            "conninfo",
            "postgres:\n  url: host=db.example user=app password=hunter2\n",
        ),
        (
            "conninfo_quoted",
            "postgres:\n  url: \"host=db.example password='hunter2' user=app\"\n",
        ),
        (
            "redis_query",
            "redis:\n  url: redis://127.0.0.1:6390/0?password=hunter2\n",
        ),
        (
            "redis_pass",
            "redis:\n  url: redis://127.0.0.1:6390/0?pass=hunter2\n",
        ),
        (
            "health_url",
            "health:\n  urls: ['http://127.0.0.1:8000/health?token=hunter2']\n",
        ),
        (
            "endpoint",
            "network:\n  endpoints: ['https://ops:hunter2@app.example/']\n",
        ),
        (
            "webhook",
            "notify:\n  webhook:\n    url: https://hooks.example/services/hunter2\n",
        ),
    ];
    for (name, body) in forms {
        let open = s.write(&format!("{name}-open.yaml"), body, 0o644);
        let (check, breach) = secret_breach(&open);
        assert_eq!(
            breach["subject"],
            open.display().to_string(),
            "{name}: {check}"
        );
        let summary = breach["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("holds a secret"), "{name}: {check}");
        assert!(
            summary.contains("readable by group or others (mode 644)"),
            "{name}: {check}"
        );
        assert!(
            breach["hint"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("chmod 600 {}", open.display())),
            "{name}: {check}"
        );
        assert!(!check.stdout.contains("hunter2"), "{name}: {check}");
        // A run refuses the file with what config check reports: one shared validation.
        let run = opsbook(&["runbook", "list"]).config(&open).run();
        assert_eq!(run.code, 3, "{name}: {run}");
        assert_eq!(
            run.stderr.lines().next(),
            Some(format!("error: {summary}").as_str()),
            "{name}: {run}"
        );

        let private = s.write(&format!("{name}-private.yaml"), body, 0o600);
        let check = config_check(&private);
        assert_eq!(check.code, 0, "{name}: {check}");
        let shown = opsbook(&["config", "show"]).config(&private).run();
        assert!(
            !shown.stdout.contains("hunter2"),
            "{name}: shown unmasked: {shown}"
        );
    }
    // A config without a secret may be 0644.
    let plain = s.write(
        "plain.yaml",
        "postgres:\n  url: postgres://app@db.example/app?sslmode=require\n",
        0o644,
    );
    assert_eq!(config_check(&plain).code, 0);
}

#[test]
fn hardening_8_config_check_reports_the_secret_file_modes_a_run_refuses() {
    let s = Scratch::new("h8_files");
    for (key, section) in [
        ("postgres.password_file", "postgres:\n  password_file: {}\n"),
        ("redis.password_file", "redis:\n  password_file: {}\n"),
        (
            "notify.telegram.token_file",
            "notify:\n  telegram:\n    token_file: {}\n    chat_id: 1\n",
        ),
    ] {
        let file = s.write(&format!("{key}.secret"), "hunter2\n", 0o644);
        let cfg = s.write(
            &format!("{key}.yaml"),
            &section.replace("{}", file.to_str().unwrap()),
            0o600,
        );
        let (check, breach) = secret_breach(&cfg);
        assert_eq!(breach["subject"], key, "{key}: {check}");
        let summary = breach["summary"].as_str().unwrap_or_default();
        assert!(
            summary.contains("readable by group or others (mode 644)"),
            "{key}: {check}"
        );
        assert!(
            breach["hint"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("chmod 600 {}", file.display())),
            "{key}: {check}"
        );
        let run = opsbook(&["check", "health"]).config(&cfg).run();
        assert_eq!(run.code, 3, "{key}: {run}");
        assert_eq!(
            run.stderr.lines().next(),
            Some(format!("error: {summary}").as_str()),
            "{key}: {run}"
        );

        write_mode(&file, b"hunter2\n", 0o600);
        assert_eq!(config_check(&cfg).code, 0, "{key}: 0600 is accepted");
    }
}

/// `count` runbooks in `dir`, each running the next; the last lists the runbooks.
fn chain(s: &Scratch, tag: &str, count: usize) -> PathBuf {
    let path = |i: usize| s.path().join(format!("{tag}{i}.yaml"));
    for i in 0..count {
        let run = if i + 1 < count {
            format!("runbook run {}", path(i + 1).display())
        } else {
            "runbook list".to_string()
        };
        s.write(
            &format!("{tag}{i}.yaml"),
            &format!("name: {tag}{i}\nsteps:\n  - name: next\n    run: {run}\n"),
            0o644,
        );
    }
    path(0)
}

#[test]
fn hardening_9_runbooks_nested_past_the_limit_are_refused_by_validate_and_run() {
    let s = Scratch::new("h9_nest");
    let deep = chain(&s, "deep", 60);
    for args in [
        vec!["runbook", "validate", deep.to_str().unwrap()],
        vec!["runbook", "run", deep.to_str().unwrap(), "--yes"],
    ] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 3, "{args:?}: {run}");
        assert_no_library_words(&run);
        // validate reports it as its finding, run as its error: either way, said once.
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(said.contains("runbooks nested too deep"), "{run}");
        assert!(
            said.contains("is 9 runbooks deep, over the limit of 8"),
            "{run}"
        );
        assert!(said.contains("deep0.yaml -> "), "the chain is named: {run}");
        assert!(said.contains("deep8.yaml is 9"), "{run}");
    }
    // Eight levels are fine, validated and run.
    let ok = chain(&s, "ok", 8);
    let run = opsbook(&["runbook", "validate"]).arg(&ok).run();
    assert_eq!(run.code, 0, "{run}");
    let run = opsbook(&["runbook", "run"]).arg(&ok).args(["--yes"]).run();
    assert_eq!(run.code, 0, "{run}");
    // A cycle is still a cycle.
    let a = s.path().join("cyc_a.yaml");
    let b = s.path().join("cyc_b.yaml");
    s.write(
        "cyc_a.yaml",
        &format!(
            "name: a\nsteps:\n  - name: b\n    run: runbook run {}\n",
            b.display()
        ),
        0o644,
    );
    s.write(
        "cyc_b.yaml",
        &format!(
            "name: b\nsteps:\n  - name: a\n    run: runbook run {}\n",
            a.display()
        ),
        0o644,
    );
    let run = opsbook(&["runbook", "validate"]).arg(&a).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stdout.contains("runbook cycle"), "{run}");
}

#[test]
fn hardening_11_huge_durations_are_a_validation_error_with_the_range() {
    let s = Scratch::new("h11_durations");
    for (name, body) in [
        ("suffix", "timeouts:\n  connect: 99999999999999999999s\n"),
        ("bare", "timeouts:\n  connect: 99999999999999999999\n"),
        (
            "days",
            "thresholds:\n  backup_age:\n    critical: 9999999999999999999999d\n",
        ),
    ] {
        let cfg = s.write(&format!("{name}.yaml"), body, 0o600);
        let run = config_check(&cfg);
        assert_eq!(run.code, 3, "{name}: {run}");
        assert_no_library_words(&run);
        assert!(run.stderr.contains("out of range"), "{name}: {run}");
        assert!(run.stderr.contains("0s to 3650d"), "{name}: {run}");
        assert!(
            run.stderr.contains(&format!("{}:", cfg.display())),
            "{name}: {run}"
        );
    }
    // Flags share the parser.
    for args in [
        vec!["monitor", "--watch", "9999999999999999999999d"],
        vec!["diagnose", "memory", "--duration", "99999999999999999999s"],
        vec!["diagnose", "locks", "--min-wait", "99999999999999999999h"],
        vec!["bench", "ranking", "--duration", "99999999999999999999s"],
    ] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 3, "{args:?}: {run}");
        assert_no_library_words(&run);
        assert!(run.stderr.contains("out of range"), "{args:?}: {run}");
    }
    // PostgreSQL's own limit on its timeouts (an int of milliseconds) is said up front.
    let cfg = s.write("pg.yaml", "timeouts:\n  statement: 30d\n", 0o600);
    let run = config_check(&cfg);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("timeouts.statement: 30d is out of range"),
        "{run}"
    );
}

#[test]
fn hardening_12_a_broken_telegram_channel_does_not_silence_the_webhook() {
    let _g = shared();
    let db = TestDb::new("h12_notify");
    let s = Scratch::new("h12_notify");
    let rx = Receiver::start();
    let extra = format!(
        "notify:\n  telegram:\n    token_env: OPSBOOK_TEST_UNSET_TOKEN\n    chat_id: 1\n    api_base: http://127.0.0.1:{p}\n  webhook:\n    url: http://127.0.0.1:{p}/hook\n    timeout: 2s\n",
        p = rx.port
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);
    let failing = s.write(
        "failing.yaml",
        "name: nightly-proof\nnotify: failure\nsteps:\n  - name: verify the newest backup\n    run: backup verify nope/latest\n",
        0o644,
    );
    let run = opsbook(&["runbook", "run"])
        .arg(&failing)
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 3, "the step's status decides: {run}");
    assert_eq!(rx.webhook().len(), 1, "the webhook still delivers: {run}");
    assert!(rx.telegram().is_empty(), "{run}");
    let j = run.json();
    assert_eq!(Run::one(&j, "notify.webhook")["status"], "ok", "{run}");
    let tg = Run::one(&j, "notify.telegram");
    assert_eq!(tg["status"], "warning", "{run}");
    let summary = tg["summary"].as_str().unwrap();
    assert!(
        summary.contains("OPSBOOK_TEST_UNSET_TOKEN is not set"),
        "{summary}"
    );
    assert!(
        tg["hint"]
            .as_str()
            .unwrap()
            .contains("export OPSBOOK_TEST_UNSET_TOKEN"),
        "{tg}"
    );
    assert!(Run::findings(&j, "notify.config").is_empty(), "{run}");
}

#[test]
fn hardening_12_monitor_alerts_through_the_webhook_when_telegram_has_no_token() {
    let _g = shared();
    let db = TestDb::new("h12_monitor");
    // A client session of someone else's: opsbook leaves its own out of the connection count,
    // and the alert below needs one connection over the 0 % threshold.
    let _client = crate::monitor::a_client(&db, "h12_monitor_client");
    let s = Scratch::new("h12_monitor");
    let rx = Receiver::start();
    let extra = format!(
        "  connections_pct: {{warning: 0, critical: 0}}\n  cpu_pct: {{warning: 100.5, critical: 101}}\n  load_per_core: {{warning: 100000, critical: null}}\n  redis_memory_pct: {{warning: 100.5, critical: 101}}\n  rq_backlog: {{warning: 100000000, critical: null}}\n  waiting_locks: {{warning: 100000, critical: null}}\nmonitor:\n  cpu_sample: 200ms\n  queues: [h12_none]\nnotify:\n  on: [critical]\n  telegram:\n    token_env: OPSBOOK_TEST_UNSET_TOKEN\n    chat_id: 1\n    api_base: http://127.0.0.1:{p}\n  webhook:\n    url: http://127.0.0.1:{p}/hook\n    timeout: 2s\n",
        p = rx.port
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);
    let state = s.path().join("state");
    let monitor = || {
        opsbook(&["monitor"])
            .config(&cfg)
            .format("json")
            .state_dir(&state)
            .run()
    };
    let run = monitor();
    assert_eq!(run.code, 2, "the alert's own status decides: {run}");
    assert_eq!(rx.webhook().len(), 1, "the webhook is told: {run}");
    let j = run.json();
    assert_eq!(Run::one(&j, "notify.webhook")["status"], "ok", "{run}");
    let tg = Run::one(&j, "notify.telegram");
    assert_eq!(tg["status"], "warning", "{run}");
    assert!(
        tg["summary"]
            .as_str()
            .unwrap()
            .contains("OPSBOOK_TEST_UNSET_TOKEN is not set"),
        "{tg}"
    );
    // Nothing new to send: the webhook stays quiet, the broken channel is still reported.
    let run = monitor();
    assert_eq!(rx.webhook().len(), 1, "{run}");
    let j = run.json();
    assert!(Run::findings(&j, "notify.webhook").is_empty(), "{run}");
    assert_eq!(
        Run::one(&j, "notify.telegram")["status"],
        "warning",
        "{run}"
    );
}

#[test]
fn hardening_14_a_non_utf8_config_names_the_offset_line_and_column() {
    let s = Scratch::new("h14_utf8");
    let cfg = s.path().join("latin1.yaml");
    write_mode(&cfg, b"services: []\nbackup:\n  dir: /srv/caf\xe9\n", 0o600);
    let run = config_check(&cfg);
    assert_eq!(run.code, 3, "{run}");
    assert_no_library_words(&run);
    assert!(
        run.stderr.contains(&format!(
            "{}:3:16: not UTF-8 text: byte 0xe9 at offset 36 (line 3, column 16)",
            cfg.display()
        )),
        "{run}"
    );
    assert!(
        !run.stderr.contains("readable"),
        "no permission hint: {run}"
    );
    assert!(run.stderr.contains("hint: save the file as UTF-8"), "{run}");
    // A runbook gets the same.
    let rb = s.path().join("latin1-runbook.yaml");
    write_mode(&rb, b"name: caf\xe9\nsteps: []\n", 0o644);
    let run = opsbook(&["runbook", "validate"]).arg(&rb).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        format!("{}{}", run.stdout, run.stderr)
            .contains(":1:10: not UTF-8 text: byte 0xe9 at offset 9"),
        "{run}"
    );
}

#[test]
fn hardening_18_yaml_errors_speak_to_the_operator_and_files_are_bounded() {
    let s = Scratch::new("h18_yaml");
    let dup = s.write(
        "dup.yaml",
        "services: [a]\nbackup:\n  dir: /tmp\nservices: [b]\n",
        0o600,
    );
    let run = config_check(&dup);
    assert_eq!(run.code, 3, "{run}");
    assert_no_library_words(&run);
    assert!(
        run.stderr.contains(&format!(
            "{}:4:1: duplicate key `services`: write each key once",
            dup.display()
        )),
        "{run}"
    );
    // Many nodes in a file under the size bound: the parser's budget, in the operator's words.
    let nodes = format!("services: [{}]\n", vec!["a"; 260_000].join(","));
    let many = s.write("nodes.yaml", &nodes, 0o600);
    let run = config_check(&many);
    assert_eq!(run.code, 3, "{run}");
    assert_no_library_words(&run);
    assert!(run.stderr.contains("too large or complex"), "{run}");
    assert!(
        run.stderr.contains("nodes over the limit of 250000"),
        "{run}"
    );
    assert!(run.stderr.contains("is this the right file?"), "{run}");
    // A file over the size bound is refused before it is read.
    let big = s.write(
        "big.yaml",
        &format!("# {}\n", "x".repeat(2 * 1024 * 1024)),
        0o600,
    );
    let run = config_check(&big);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "config file {} is 2097155 bytes, over the limit of 1 MiB",
            big.display()
        )),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint: is this the right file?"),
        "{run}"
    );
    // Runbooks go through the same words.
    let rb = s.write(
        "dup-runbook.yaml",
        "name: a\nname: b\nsteps:\n  - name: x\n    run: runbook list\n",
        0o644,
    );
    let run = opsbook(&["runbook", "validate"]).arg(&rb).run();
    assert_eq!(run.code, 3, "{run}");
    assert_no_library_words(&run);
    assert!(
        format!("{}{}", run.stdout, run.stderr)
            .contains("duplicate key `name`: write each key once"),
        "{run}"
    );
    let big = s.write(
        "big-runbook.yaml",
        &format!("# {}\n", "x".repeat(2 * 1024 * 1024)),
        0o644,
    );
    let run = opsbook(&["runbook", "validate"]).arg(&big).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("over the limit of 1 MiB"),
        "{run}"
    );
}

#[test]
fn hardening_siblings_a_bench_rate_too_slow_for_the_clock_is_a_usage_error() {
    let _g = shared();
    let db = TestDb::new("h_rate");
    let s = Scratch::new("h_rate");
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), "");
    let run = opsbook(&["bench", "--sql", "SELECT 1", "--rate", "1e-300", "-t", "2"])
        .config(&cfg)
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert_no_library_words(&run);
    assert!(run.stderr.contains("between 0.001 and 1000000"), "{run}");
}

#[test]
fn hardening_siblings_secret_and_state_files_are_read_within_bounds() {
    let s = Scratch::new("h_siblings");
    // A password file is one short line: a 100 KiB one is refused, not read whole.
    let pw = s.write("pg.password", &"p".repeat(100 * 1024), 0o600);
    let cfg = s.write(
        "c.yaml",
        &format!(
            "postgres:\n  url: postgres://app@127.0.0.1:{}/x\n  password_file: {}\n",
            closed_port(),
            pw.display()
        ),
        0o600,
    );
    let run = opsbook(&["config", "show"]).config(&cfg).run();
    assert!(run.stdout.contains("over the limit of 64 KiB"), "{run}");
    assert!(!run.stdout.contains("pppppppp"), "{run}");

    // A run history that is not ours (65 MiB, sparse) is refused by its size, not parsed.
    let state = s.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let history = std::fs::File::create(state.join("history.json")).unwrap();
    history.set_len(65 * 1024 * 1024).unwrap();
    let run = opsbook(&["monitor", "--no-notify"])
        .config(&cfg)
        .state_dir(&state)
        .run();
    assert!(
        run.stderr.contains("run history") && run.stderr.contains("over the limit of 64 MiB"),
        "{run}"
    );
}

#[test]
fn hardening_siblings_a_huge_redis_value_is_not_read_whole_for_a_metric() {
    let _g = shared();
    let db = TestDb::new("h_redis_get");
    let key = format!("t_h_huge_{}", std::process::id());
    redis_cmd(&["SET", &key, &"9".repeat(2 * 1024 * 1024)]);
    let s = Scratch::new("h_redis_get");
    let extra = format!(
        "health:\n  queues: [t_h_none]\nmetrics:\n  - name: huge\n    redis: {{get: {key}}}\n    checks: [health]\n"
    );
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), &extra);
    let run = opsbook(&["check", "health"])
        .config(&cfg)
        .format("json")
        .run();
    redis_cmd(&["DEL", &key]);
    let j = run.json();
    let f = Run::one(&j, "metric.huge");
    assert_eq!(f["status"], "unknown", "{run}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("the value is 2097152 bytes, over the 1024 bytes a number can take"),
        "{run}"
    );
}
