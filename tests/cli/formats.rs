//! Every output format read by its real consumer: node_exporter's textfile collector and
//! promtool for `--format prometheus` / `--textfile`, a Nagios perfdata grammar for
//! `--format nagios` (usage errors and a down server included), jq for JSON queryids,
//! `systemd-analyze verify`, cron's `%` rule and `sh` for `runbook schedule`.
//! A consumer that is not installed skips its test with "skipped: install X" (`.ci/deps`
//! installs all of them, so CI runs every one).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

/// The program on PATH, or None after printing how to get it.
fn installed(program: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("skipped: install {package} (apt-get install {package}) for `{program}`");
    }
    found
}

/// A sandbox database with its config: every command below runs against it.
struct Stack {
    _db: TestDb,
    scratch: Scratch,
    config: PathBuf,
}

impl Stack {
    fn new(tag: &str) -> Stack {
        let db = TestDb::new(tag);
        db.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;");
        let scratch = Scratch::new(tag);
        let config = sandbox_config(&scratch, &db, &fresh_backup(&scratch), "");
        Stack {
            _db: db,
            scratch,
            config,
        }
    }

    /// `opsbook ARGS --config <this stack>`, to add to and run.
    fn opsbook(&self, args: &[&str]) -> Opsbook {
        opsbook(args).config(&self.config)
    }

    /// A config whose PostgreSQL and Redis are down (closed loopback ports).
    fn down_config(&self) -> PathBuf {
        let text = format!(
            "postgres:\n  url: postgresql://opsbook@127.0.0.1:{}/app\nredis:\n  url: redis://127.0.0.1:{}\nbackup:\n  dir: {}\nservices: []\nthresholds:\n  disk_pct: {{warning: 99.5, critical: 99.9}}\n  memory_pct: {{warning: 99.5, critical: 99.9}}\n",
            closed_port(),
            closed_port(),
            self.scratch.path().join("backups").display()
        );
        self.scratch.write("down.yaml", &text, 0o600)
    }
}

/// The commands whose reports monitoring reads, as `opsbook <words>`.
const COMMANDS: &[&[&str]] = &[
    &["monitor"],
    &["check", "morning"],
    &["check", "afternoon"],
    &["check", "night"],
    &["check", "health"],
    &["diagnose", "locks"],
    &[
        "diagnose",
        "memory",
        "--duration",
        "1s",
        "--interval",
        "100ms",
    ],
    &["diagnose", "queries"],
    &["diagnose", "config"],
    &["backup", "list"],
    &["config", "show"],
    &["runbook", "list"],
];

/// A GET of http://127.0.0.1:port/path: the body when the answer is 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

/// Sample lines as (name{labels}, value).
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse::<f64>().unwrap())
        })
        .collect()
}

#[test]
fn node_exporter_reads_two_textfiles_in_one_directory() {
    let Some(exporter) = installed("prometheus-node-exporter", "prometheus-node-exporter") else {
        return;
    };
    let _g = shared();
    let stack = Stack::new("fmt_textfiles");
    let dir = stack.scratch.path().join("textfile");
    std::fs::create_dir_all(&dir).unwrap();
    // The documented setup: the minutely monitor and the morning check, one directory.
    let monitor = dir.join("opsbook.prom");
    let morning = dir.join("opsbook_morning.prom");
    for (args, file) in [
        (&["monitor"][..], &monitor),
        (&["check", "morning"][..], &morning),
    ] {
        let run = stack
            .opsbook(args)
            .args(["-q"])
            .flag("--textfile", file)
            .run();
        assert!(run.code <= 2, "{run}");
    }
    let log = stack.scratch.path().join("node_exporter.log");
    let port = closed_port();
    let mut cmd = Command::new(exporter);
    cmd.args([
        "--collector.disable-defaults",
        "--collector.textfile",
        &format!("--collector.textfile.directory={}", dir.display()),
        &format!("--web.listen-address=127.0.0.1:{port}"),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).unwrap());
    let _exporter = Child::spawn(cmd);
    let mut body = None;
    wait_until("node_exporter answering /metrics", || {
        body = http_get(port, "/metrics");
        body.is_some()
    });
    let body = body.unwrap();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log_text.contains("collected before") && !log_text.contains("level=error"),
        "node_exporter complained:\n{log_text}"
    );
    assert!(
        body.lines().any(|l| l == "node_textfile_scrape_error 0"),
        "{body}"
    );
    let exposed = samples(&body);
    for file in [&monitor, &morning] {
        let text = std::fs::read_to_string(file).unwrap();
        let ours = samples(&text);
        assert!(ours.len() > 5, "{text}");
        for (series, value) in ours {
            assert!(
                exposed.iter().any(|(s, v)| *s == series && *v == value),
                "{series} {value} of {} is missing from /metrics:\n{body}\n--- node_exporter log ---\n{log_text}",
                file.display()
            );
        }
    }
}

/// `promtool check metrics` on stdin: its complaints (empty when the text is clean).
fn promtool_lint(promtool: &Path, text: &str) -> (bool, String) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn promtool_finds_nothing_to_lint_in_any_commands_prometheus_output() {
    let Some(promtool) = installed("promtool", "prometheus") else {
        return;
    };
    let _g = shared();
    let stack = Stack::new("fmt_promtool");
    let down = stack.down_config();
    let mut runs: Vec<(String, Run)> = COMMANDS
        .iter()
        .map(|args| {
            (
                args.join(" "),
                stack.opsbook(args).format("prometheus").run(),
            )
        })
        .collect();
    runs.push((
        "check morning (servers down)".into(),
        opsbook(&["check", "morning", "--timeout", "2"])
            .config(&down)
            .format("prometheus")
            .run(),
    ));
    for (what, run) in runs {
        assert!(run.code <= 3, "{what}: {run}");
        assert!(
            run.stdout.contains("\nopsbook_run_status{command=\""),
            "{what}: {run}"
        );
        let (ok, said) = promtool_lint(&promtool, &run.stdout);
        assert!(
            ok && said.trim().is_empty(),
            "promtool check metrics on `opsbook {what} --format prometheus`:\n{said}\n--- the text ---\n{}",
            run.stdout
        );
    }
}

/// A Nagios range (plugin guidelines): `10`, `10:`, `~:10`, `10:20`, `@10:20`, or empty.
fn is_range(s: &str) -> bool {
    let num = |t: &str| {
        !t.is_empty() && t.trim_start_matches('-').parse::<f64>().is_ok() && !t.contains(['e', 'E'])
    };
    let s = s.strip_prefix('@').unwrap_or(s);
    if s.is_empty() {
        return true;
    }
    match s.split_once(':') {
        None => num(s),
        Some((lo, hi)) => (lo.is_empty() || lo == "~" || num(lo)) && (hi.is_empty() || num(hi)),
    }
}

/// Check one plugin output line against the Nagios plugin guidelines: one line, the status
/// word of the exit code, at most one `|`, then `'label'=value[UOM];[warn];[crit];[min];[max]`
/// items separated by spaces.
fn check_plugin_line(stdout: &str, code: i32) -> Result<(), String> {
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != 1 || !stdout.ends_with('\n') {
        return Err(format!("not exactly one line: {stdout:?}"));
    }
    let line = lines[0];
    let word = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
        .get(usize::try_from(code).map_err(|_| format!("exit {code}"))?)
        .ok_or(format!("exit {code} is no plugin state"))?;
    let (text, perf) = match line.split_once('|') {
        Some((t, p)) => (t, Some(p)),
        None => (line, None),
    };
    let unknown_line = *word == "UNKNOWN" && text.starts_with("OPSBOOK UNKNOWN: ");
    if !(text.starts_with("OPSBOOK ") && (text.contains(&format!(" {word}: ")) || unknown_line)) {
        return Err(format!("the status is not {word} (exit {code}): {line}"));
    }
    let Some(perf) = perf else { return Ok(()) };
    if perf.contains('|') {
        return Err(format!("a second `|`: {line}"));
    }
    let mut rest = perf.trim_start();
    if rest.is_empty() {
        return Err(format!("an empty perfdata part: {line}"));
    }
    while !rest.is_empty() {
        let (label, after) = if let Some(q) = rest.strip_prefix('\'') {
            let end = q
                .find('\'')
                .ok_or(format!("unterminated label in {perf}"))?;
            (&q[..end], &q[end + 1..])
        } else {
            let end = rest.find('=').ok_or(format!("no `=` in {rest}"))?;
            (&rest[..end], &rest[end..])
        };
        if label.is_empty() || label.contains('=') || label.contains('\'') {
            return Err(format!("bad label `{label}` in {perf}"));
        }
        let after = after
            .strip_prefix('=')
            .ok_or(format!("no `=` after '{label}'"))?;
        let end = after.find(' ').unwrap_or(after.len());
        let item = &after[..end];
        rest = after[end..].trim_start();
        let parts: Vec<&str> = item.split(';').collect();
        if parts.len() > 5 {
            return Err(format!("more than 5 fields in '{label}'={item}"));
        }
        let digits = parts[0]
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
            .unwrap_or(parts[0].len());
        let (value, uom) = parts[0].split_at(digits);
        if value.parse::<f64>().is_err() {
            return Err(format!("value `{value}` of '{label}' is not a number"));
        }
        if !["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"].contains(&uom) {
            return Err(format!("unit `{uom}` of '{label}' is no Nagios UOM"));
        }
        for (i, p) in parts.iter().enumerate().skip(1) {
            let ok = if i <= 2 {
                is_range(p)
            } else {
                p.is_empty() || p.parse::<f64>().is_ok()
            };
            if !ok {
                return Err(format!("field {i} `{p}` of '{label}'={item}"));
            }
        }
    }
    Ok(())
}

#[test]
fn the_plugin_grammar_checker_rejects_what_nagios_would() {
    assert!(check_plugin_line("OPSBOOK X OK: fine | 'a'=1%;80;90;0;100 b=2s\n", 0).is_ok());
    assert!(check_plugin_line("OPSBOOK UNKNOWN: bad flag\n", 3).is_ok());
    assert!(check_plugin_line("", 3).is_err());
    assert!(check_plugin_line("OPSBOOK X OK: fine\n", 2).is_err());
    assert!(check_plugin_line("OPSBOOK X OK: a | b | 'c'=1\n", 0).is_err());
    assert!(check_plugin_line("OPSBOOK X OK: a | 'c'=1 apples\n", 0).is_err());
    assert!(check_plugin_line("OPSBOOK X OK: a | 'c'=1;x\n", 0).is_err());
    assert!(check_plugin_line("OPSBOOK X OK: a | 'c'=1;80:;~:90\n", 0).is_ok());
}

#[test]
fn every_nagios_line_follows_the_plugin_grammar_usage_errors_and_down_servers_included() {
    let _g = shared();
    let stack = Stack::new("fmt_nagios");
    let down = stack.down_config();
    let mut runs: Vec<(String, Run)> = COMMANDS
        .iter()
        .map(|args| (args.join(" "), stack.opsbook(args).format("nagios").run()))
        .collect();
    let down_run = opsbook(&["check", "morning", "--timeout", "2"])
        .config(&down)
        .format("nagios")
        .run();
    assert_eq!(down_run.code, 2, "{down_run}");
    runs.push(("check morning (servers down)".into(), down_run));
    // Usage errors and a run that cannot start: one UNKNOWN line on stdout, exit 3.
    let bad_config = stack.scratch.write("bad.yaml", "postgres: [\n", 0o600);
    for (what, args) in [
        (
            "a wrong flag",
            vec!["check", "morning", "--format", "nagios", "--no-such-flag"],
        ),
        ("a wrong command", vec!["--format=nagios", "check", "noon"]),
        (
            "a bad value",
            vec![
                "check",
                "morning",
                "--format",
                "nagios",
                "--timeout",
                "soon",
            ],
        ),
        (
            "a missing config",
            vec![
                "check",
                "morning",
                "--format",
                "nagios",
                "--config",
                "/nonexistent/opsbook.yaml",
            ],
        ),
        (
            "a broken config",
            vec![
                "check",
                "morning",
                "--format",
                "nagios",
                "--config",
                bad_config.to_str().unwrap(),
            ],
        ),
    ] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 3, "{what}: {run}");
        assert!(run.stdout.starts_with("OPSBOOK UNKNOWN: "), "{what}: {run}");
        assert!(
            run.stderr.contains("error:"),
            "{what}: stderr keeps the full error: {run}"
        );
        runs.push((what.to_string(), run));
    }
    for (what, run) in &runs {
        if let Err(why) = check_plugin_line(&run.stdout, run.code) {
            panic!("`{what}` --format nagios: {why}\n{run}");
        }
    }
    // Thresholds reach perfdata in the value's unit (the config's 99.5 / 99.9 disk levels).
    let morning = &runs[1].1;
    assert!(
        morning.stdout.contains("'host.disk_usage[") && morning.stdout.contains("%;99.5;99.9"),
        "{morning}"
    );
    // The backup age is judged in seconds (the default: critical after 24h, no warning).
    assert!(
        morning.stdout.contains("'backup.latest_age'=") && morning.stdout.contains("s;;86400"),
        "{morning}"
    );
    // ... and JSON, as the finding's `thresholds`.
    let json = stack.opsbook(&["check", "morning"]).json();
    let disk = &Run::findings(&json, "host.disk_usage")[0];
    assert_eq!(
        disk["thresholds"],
        serde_json::json!({"warning": 99.5, "critical": 99.9, "direction": "above"}),
        "{disk}"
    );
    let hit = Run::one(&json, "postgres.cache_hit_ratio");
    if hit["thresholds"].is_object() {
        assert_eq!(hit["thresholds"]["direction"], "below", "{hit}");
    }
}

/// A directory whose name holds a space, `%` and `$`, holding a hard link to the built
/// binary (so the schedule's ExecStart names an executable that exists) and a runbook whose
/// name adds a `'` (systemd refuses quotes in an executable's path, not in its arguments).
fn awkward_dir() -> (PathBuf, PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fmt sched {} 100% $HOME", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("bin dir")).unwrap();
    let exe = root.join("bin dir").join("opsbook");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_opsbook"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_opsbook"), &exe).unwrap();
    }
    let runbook = root.join("it's nightly 50%.yaml");
    std::fs::write(
        &runbook,
        "name: nightly\ndescription: 100% of the night check\nschedule: \"30 3 * * *\"\nsteps:\n  - name: night\n    run: check night\n",
    )
    .unwrap();
    (root, exe, runbook)
}

/// What cron hands `sh -c` from a crontab line (crontab(5)): the sixth field on; an
/// unescaped `%` ends the command (the rest is stdin), `\%` is a plain `%`.
fn cron_command(line: &str) -> String {
    let mut rest = line.trim_start();
    for _ in 0..5 {
        let end = rest.find([' ', '\t']).unwrap();
        rest = rest[end..].trim_start();
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                out.push('%');
                chars.next();
            }
            '%' => break,
            c => out.push(c),
        }
    }
    out
}

/// The argv `sh` makes of a command line, without running it (`set --` then the words).
fn sh_argv(command: &str) -> Vec<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("set -- {command}; printf '%s\\0' \"$@\""))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(str::to_string)
        .collect()
}

#[test]
fn schedules_survive_paths_with_spaces_percent_and_dollar() {
    let (root, exe, runbook) = awkward_dir();
    let rb = runbook.to_str().unwrap();
    let cron = command(
        exe.to_str().unwrap(),
        &["runbook", "schedule", rb, "--print", "cron"],
    )
    .run();
    assert_eq!(cron.code, 0, "{cron}");
    let line = cron
        .stdout
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    assert!(line.starts_with("30 3 * * * "), "{line}");
    let argv = sh_argv(&cron_command(line));
    assert_eq!(
        argv,
        [exe.to_str().unwrap(), "runbook", "run", rb, "-q"],
        "the crontab line:\n{}",
        cron.stdout
    );

    let sd = command(
        exe.to_str().unwrap(),
        &["runbook", "schedule", rb, "--print", "systemd"],
    )
    .run();
    assert_eq!(sd.code, 0, "{sd}");
    let Some(analyze) = installed("systemd-analyze", "systemd") else {
        let _ = std::fs::remove_dir_all(&root);
        return;
    };
    let units_dir = root.join("units");
    std::fs::create_dir_all(&units_dir).unwrap();
    let mut units = Vec::new();
    let mut current: Option<(PathBuf, String)> = None;
    for l in sd.stdout.lines() {
        if let Some(name) = l.strip_prefix("# /etc/systemd/system/") {
            units.extend(current.take());
            current = Some((units_dir.join(name), String::new()));
        } else if l.starts_with("# then:") {
            break;
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(l);
            body.push('\n');
        }
    }
    units.extend(current);
    assert_eq!(units.len(), 2, "{sd}");
    for (path, body) in &units {
        std::fs::write(path, body).unwrap();
    }
    let out = Command::new(analyze)
        .arg("verify")
        .args(units.iter().map(|(p, _)| p))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        out.status.success() && !said.contains("opsbook-runbook"),
        "systemd-analyze verify:\n{said}\n--- units ---\n{}",
        sd.stdout
    );
}

#[test]
fn queryids_read_by_jq_round_trip_into_explain() {
    let Some(jq) = installed("jq", "jq") else {
        return;
    };
    let _g = shared();
    let stack = Stack::new("fmt_jq");
    let db = &stack._db;
    db.psql("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g; ANALYZE t;");
    for _ in 0..3 {
        db.psql("SELECT count(*) FROM t;");
    }
    let run = stack
        .opsbook(&["diagnose", "queries", "--min-calls", "1"])
        .format("json")
        .run();
    assert!(run.code <= 2, "{run}");
    let json = run.json();
    let top = json["data"]["top_by_total"].as_array().unwrap();
    assert!(!top.is_empty(), "{run}");
    for s in top {
        assert!(s["queryid"].is_string(), "queryids are strings: {s}");
    }
    // jq (1.6 holds numbers as doubles) reads the id of our statement; --explain takes it back.
    let mut child = Command::new(jq)
        .args([
            "-r",
            r#".data.top_by_total[] | select(.query == "SELECT count(*) FROM t") | .queryid"#,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(run.stdout.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(
        !id.is_empty() && id.parse::<i64>().is_ok(),
        "jq read `{id}` from {run}"
    );
    let explained = stack
        .opsbook(&["diagnose", "queries", "--explain", &id])
        .format("json")
        .run();
    assert!(explained.code <= 1, "{explained}");
    let j = explained.json();
    assert_eq!(j["data"]["queryid"], serde_json::json!(id), "{explained}");
    // The JSON string form with its quotes is accepted too.
    let quoted = stack
        .opsbook(&["diagnose", "queries", "--explain", &format!("\"{id}\"")])
        .format("json")
        .run();
    assert!(quoted.code <= 1, "{quoted}");
}

/// `jq -e FILTER` on `text`: whether jq parsed it and the filter held.
fn jq_holds(jq: &Path, filter: &str, text: &str) -> bool {
    let mut child = Command::new(jq)
        .args(["-e", filter])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

/// Issue 19: the worst cases (a server down for a command that needs it, a malformed config,
/// an unknown flag) still print one valid document on stdout in every machine format, read by
/// its real consumer: one JSON document jq reads (status unknown, the error in `data.error`),
/// an exposition promtool accepts with `opsbook_run_status 3`, one Nagios UNKNOWN line; and a
/// --textfile says the run failed instead of keeping the last good numbers.
#[test]
fn the_worst_cases_still_print_one_valid_document_per_format() {
    let (Some(jq), Some(promtool)) = (installed("jq", "jq"), installed("promtool", "prometheus"))
    else {
        return;
    };
    let _g = shared();
    let scratch = Scratch::new("fmt_worst");
    let bad_config = scratch.write("bad.yaml", "postgres: [\n", 0o600);
    let down = format!("postgresql://opsbook@127.0.0.1:{}/app", closed_port());
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "a server down",
            ["diagnose", "queries", "--timeout", "2", "--pg", &down]
                .map(String::from)
                .to_vec(),
        ),
        (
            "a malformed config",
            vec![
                "check".into(),
                "morning".into(),
                "--config".into(),
                bad_config.to_string_lossy().into_owned(),
            ],
        ),
        (
            "an unknown flag",
            ["check", "morning", "--no-such-flag"]
                .map(String::from)
                .to_vec(),
        ),
    ];
    for (what, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        for format in ["json", "prometheus", "nagios"] {
            let run = opsbook(&args).format(format).run();
            assert_eq!(run.code, 3, "{what} --format {format}: {run}");
            assert!(run.stderr.contains("error:"), "{what}: {run}");
            match format {
                "json" => assert!(
                    jq_holds(
                        &jq,
                        r#".schema == "opsbook.report/v1" and .status == "unknown" and (.data.error.message | length > 0)"#,
                        &run.stdout
                    ) && serde_json::Deserializer::from_str(&run.stdout)
                        .into_iter::<serde_json::Value>()
                        .count()
                        == 1,
                    "{what} --format json: {run}"
                ),
                "prometheus" => {
                    let (ok, said) = promtool_lint(&promtool, &run.stdout);
                    assert!(ok && said.trim().is_empty(), "{what}: {said}\n{run}");
                    assert!(
                        samples(&run.stdout)
                            .iter()
                            .any(|(s, v)| s.starts_with("opsbook_run_status{") && *v == 3.0),
                        "{what} --format prometheus: {run}"
                    );
                }
                _ => {
                    if let Err(why) = check_plugin_line(&run.stdout, run.code) {
                        panic!("{what} --format nagios: {why}\n{run}");
                    }
                    assert!(run.stdout.starts_with("OPSBOOK UNKNOWN: "), "{run}");
                }
            }
        }
    }
    // A textfile that node_exporter reads: the failed run replaces the last good numbers.
    let textfile = scratch.path().join("opsbook.prom");
    std::fs::write(
        &textfile,
        "opsbook_run_status{command=\"check morning\"} 0\n",
    )
    .unwrap();
    let run = opsbook(&["check", "morning"])
        .config(&bad_config)
        .flag("--textfile", &textfile)
        .run();
    assert_eq!(run.code, 3, "{run}");
    let text = std::fs::read_to_string(&textfile).unwrap();
    assert!(
        text.contains("opsbook_run_status{command=\"check morning\"} 3"),
        "{text}"
    );
}

/// Issue 19: a metric name never repeats its unit (`opsbook_postgres_cache_hit_ratio`, not
/// `..._ratio_ratio`), in any command's exposition.
#[test]
fn no_metric_name_repeats_its_unit() {
    let _g = shared();
    let stack = Stack::new("fmt_units");
    for args in COMMANDS {
        let run = stack.opsbook(args).format("prometheus").run();
        for (series, _) in samples(&run.stdout) {
            let name = series.split('{').next().unwrap_or("");
            for unit in ["ratio", "bytes", "seconds", "percent"] {
                assert!(
                    !name.contains(&format!("_{unit}_{unit}")),
                    "{name} in `opsbook {}`",
                    args.join(" ")
                );
            }
        }
        if args == &["check", "morning"] {
            assert!(
                run.stdout.contains("\nopsbook_postgres_cache_hit_ratio{"),
                "{run}"
            );
        }
    }
}
