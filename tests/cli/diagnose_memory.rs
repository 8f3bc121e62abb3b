//! `opsbook diagnose memory`: a child that leaks is called a leak, a flat one is not.

use std::process::Command;

use crate::harness::*;

fn sample(pid: u32, cfg: &std::path::Path) -> Run {
    opsbook(&[
        "diagnose",
        "memory",
        "--pid",
        &pid.to_string(),
        "--duration",
        "3s",
        "--interval",
        "200ms",
    ])
    .config(cfg)
    .format("json")
    .run()
}

#[test]
fn a_steadily_growing_child_is_a_leak_and_a_flat_one_is_not() {
    let _g = shared();
    let db = TestDb::new("memory");
    // A client of someone else's, so every sample counts at least one connection.
    let _client = crate::monitor::a_client(&db, "memory_client");
    let s = Scratch::new("memory");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");

    // bash appends 200 KB to a string every 50 ms: about 4 MB/s, on a ~4 MB start.
    let mut grow = Command::new("bash");
    grow.args([
        "-c",
        "x=; while :; do printf -v y '%0200000d' 0; x+=$y; sleep 0.05; done",
    ]);
    let leaky = Child::spawn(grow);
    let mut flat_cmd = Command::new("sleep");
    flat_cmd.arg("60");
    let flat = Child::spawn(flat_cmd);

    let run = sample(leaky.pid(), &cfg);
    let j = run.json();
    let f = Run::one(&j, "memory.process");
    assert_eq!(f["status"], "critical", "{run}");
    assert!(f["summary"].as_str().unwrap().contains("leak"), "{run}");
    assert!(f["value"].as_f64().unwrap() > 20.0, "{run}");
    let samples = j["data"]["samples"].as_array().unwrap();
    assert!(samples.len() >= 10, "{run}");
    assert!(samples
        .iter()
        .all(|s| s["process_rss_bytes"].as_u64().unwrap() > 0));
    assert!(
        samples
            .iter()
            .all(|s| s["pg_connections"].as_i64().unwrap() >= 1),
        "{run}"
    );
    assert!(
        samples
            .iter()
            .all(|s| s["redis_used_memory_bytes"].as_u64().unwrap() > 0),
        "{run}"
    );
    assert_eq!(run.code, 2, "{run}");

    let run = sample(flat.pid(), &cfg);
    let j = run.json();
    let f = Run::one(&j, "memory.process");
    assert_eq!(f["status"], "ok", "{run}");
    assert!(f["summary"].as_str().unwrap().ends_with("stable"), "{run}");
    for id in [
        "memory.pg_shared_buffers",
        "memory.pg_work_mem",
        "memory.swap",
    ] {
        assert_eq!(Run::findings(&j, id).len(), 1, "{id} in {run}");
    }
}

#[test]
fn an_unknown_pid_is_an_operator_error() {
    let _g = shared();
    let run = opsbook(&[
        "diagnose",
        "memory",
        "--pid",
        "999999999",
        "--duration",
        "1s",
    ])
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("no running process matches pid 999999999"),
        "{run}"
    );
    assert!(run.stderr.contains("hint:"), "{run}");
}

/// Issue 14 item 3 in `diagnose memory` too: its connection samples leave out opsbook's own
/// sessions, like check morning and monitor. The oracle: pg_stat_activity's client backends
/// but the oracle's own psql, read before and after with nothing else of this binary running.
#[test]
fn connection_samples_leave_out_opsbooks_own_sessions() {
    let _g = exclusive();
    let db = TestDb::new("memory_own");
    let _client = crate::monitor::a_client(&db, "memory_own_client");
    let s = Scratch::new("memory_own");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let oracle = || -> i64 {
        db.psql(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        )
        .parse()
        .unwrap()
    };
    let before = oracle();
    let run = opsbook(&[
        "diagnose",
        "memory",
        "--duration",
        "1s",
        "--interval",
        "200ms",
    ])
    .config(&cfg)
    .format("json")
    .run();
    let after = oracle();
    let j = run.json();
    let samples = j["data"]["samples"].as_array().unwrap();
    assert!(!samples.is_empty(), "{run}");
    let (lo, hi) = (before.min(after), before.max(after));
    for sample in samples {
        let n = sample["pg_connections"].as_i64().unwrap();
        assert!(lo <= n && n <= hi, "{n} not in {lo}..={hi}: {run}");
    }
}

/// Issue 19: Ctrl-C after a few samples reports what was sampled: each series says how far it
/// got ("too few samples: 3 of the 10 needed for a trend", UNKNOWN), never "could not be
/// sampled", and the run says it was stopped. The pause hook holds the binary after its third
/// sample so SIGINT lands at a known count.
#[test]
fn ctrl_c_after_three_samples_reports_what_it_has() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let _g = shared();
    let db = TestDb::new("memory_int");
    let s = Scratch::new("memory_int");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let (mut cmd, home) = opsbook(&["diagnose", "memory", "--interval", "100ms"])
        .config(&cfg)
        .format("json")
        .into_command();
    let marker = home.path().join("paused-at");
    cmd.env("OPSBOOK_TEST_PAUSE_AT", "memory.after_sample.3")
        .env("OPSBOOK_TEST_PAUSE_MARKER", &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&marker).ok().as_deref() != Some("memory.after_sample.3") {
        assert!(Instant::now() < deadline, "never reached the third sample");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: our own child, not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: Duration::ZERO,
    };
    assert_eq!(run.code, 3, "could not tell: {run}");
    let j = run.json();
    for id in ["memory.host", "memory.postgres_connections", "memory.redis"] {
        let f = Run::one(&j, id);
        assert_eq!(f["status"], "unknown", "{id}: {run}");
        assert!(
            f["summary"]
                .as_str()
                .unwrap()
                .ends_with("too few samples: 3 of the 10 needed for a trend"),
            "{id}: {run}"
        );
    }
    let stopped = Run::one(&j, "memory.sampling");
    assert!(
        stopped["summary"]
            .as_str()
            .unwrap()
            .starts_with("stopped by SIGINT after 3 of 601 samples"),
        "{run}"
    );
    assert_eq!(j["data"]["samples"].as_array().unwrap().len(), 3, "{run}");
}

/// Issue 19: on a terminal the sampling shows the samples so far and the time left; on a pipe
/// stderr stays empty.
#[test]
fn the_progress_line_shows_samples_and_time_left_on_a_terminal_only() {
    use expectrl::Expect as _;
    let _g = shared();
    let db = TestDb::new("memory_tty");
    let s = Scratch::new("memory_tty");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let args = [
        "diagnose",
        "memory",
        "--duration",
        "3s",
        "--interval",
        "300ms",
    ];
    let piped = opsbook(&args).config(&cfg).run();
    assert!(piped.code <= 3, "{piped}");
    assert!(!piped.stderr.contains("sampling memory"), "{piped}");

    let (cmd, _home) = opsbook(&args).config(&cfg).into_command();
    let mut tty = expectrl::Session::spawn(cmd).expect("a pseudo-terminal");
    tty.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
    tty.expect(expectrl::Regex(
        r"sampling memory .* \d+/11 samples, \d+s left",
    ))
    .unwrap();
    tty.expect("diagnose memory:").unwrap();
}
