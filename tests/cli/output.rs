//! Output forms and exit codes as cron, Nagios and Prometheus read them.

use crate::harness::*;

fn healthy_run(tag: &str, how: impl FnOnce(Opsbook) -> Opsbook) -> Run {
    let db = TestDb::new(tag);
    let s = Scratch::new(tag);
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    how(opsbook(&["check", "morning"]).config(&cfg)).run()
}

#[test]
fn json_follows_the_report_schema() {
    let _g = shared();
    let run = healthy_run("schema", |o| o.format("json"));
    let j = run.json();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["schema", "command", "status", "duration_ms", "findings"] {
        assert!(keys.contains(&k), "missing {k} in {keys:?}");
    }
    assert_eq!(j["schema"], "opsbook.report/v1");
    assert_eq!(j["command"], "check morning");
    assert!(j["duration_ms"].is_u64());
    let statuses = ["ok", "warning", "critical", "unknown"];
    assert!(statuses.contains(&j["status"].as_str().unwrap()));
    for f in j["findings"].as_array().unwrap() {
        let o = f.as_object().unwrap();
        for k in [
            "id", "subject", "status", "value", "unit", "summary", "hint", "detail",
        ] {
            assert!(o.contains_key(k), "finding lacks {k}: {f}");
        }
        assert!(statuses.contains(&f["status"].as_str().unwrap()), "{f}");
        assert!(f["subject"].is_null() || f["subject"].is_string());
        let id = f["id"].as_str().unwrap();
        assert!(
            id.contains('.')
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'),
            "{id}"
        );
    }
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn table_through_a_pipe_has_no_escapes_and_ends_with_the_verdict() {
    let _g = shared();
    let run = healthy_run("pipe", |o| o);
    assert!(
        !run.stdout.contains('\x1b'),
        "ANSI escape in piped output:\n{run}"
    );
    assert!(run.stdout.contains("postgres.connections"));
    let last = run.stdout.trim_end().lines().last().unwrap();
    assert!(last.starts_with("check morning: OK ("), "{last}");
    assert!(run.stderr.is_empty(), "nothing on stderr: {run}");
}

#[test]
fn quiet_prints_nothing_when_all_is_well() {
    let _g = shared();
    let run = healthy_run("quiet", |o| o.args(["-q"]));
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "", "{run}");
}

#[test]
fn nagios_is_one_line_with_perfdata() {
    let _g = shared();
    let run = healthy_run("nagios", |o| o.format("nagios"));
    assert_eq!(run.stdout.lines().count(), 1, "{run}");
    let line = run.stdout.trim_end();
    assert!(line.starts_with("OPSBOOK CHECK MORNING OK: "), "{line}");
    let (_, perf) = line.split_once(" | ").unwrap();
    assert!(perf.contains("'postgres.connections'="), "{perf}");
    assert!(perf.contains("'host.memory_usage'="), "{perf}");
    assert_eq!(run.code, 0);
}

#[test]
fn prometheus_exposition() {
    let _g = shared();
    let run = healthy_run("prom", |o| o.format("prometheus"));
    let text = &run.stdout;
    assert!(
        text.contains("# TYPE opsbook_postgres_connections gauge"),
        "{text}"
    );
    assert!(
        text.contains(
            "opsbook_pg_database_size_bytes{command=\"check morning\",subject=\"postgres\"}"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "opsbook_check_status{command=\"check morning\",id=\"redis.up\",subject=\"\"} 0"
        ),
        "{text}"
    );
    assert!(
        text.contains("opsbook_run_status{command=\"check morning\"} 0"),
        "{text}"
    );
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "not a sample line: {line}");
    }
}

#[test]
fn usage_errors_exit_unknown() {
    let run = opsbook(&["check", "morning", "--no-such-flag"]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("--no-such-flag"), "{run}");
    let run = opsbook(&["check", "noon"]).run();
    assert_eq!(run.code, 3, "{run}");
    let run = opsbook(&["check", "morning"]).format("xml").run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("table, json, prometheus, nagios"),
        "{run}"
    );
}

#[test]
fn help_and_version_exit_zero() {
    let run = opsbook(&["--help"]).run();
    assert_eq!(run.code, 0);
    for word in ["check", "sandbox", "config", "completions"] {
        assert!(run.stdout.contains(word), "{word} missing from --help");
    }
    assert!(
        !run.stdout.contains("generate"),
        "the developer command stays hidden"
    );
    let run = opsbook(&["--version"]).run();
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("opsbook "));
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_opsbook()"),
        ("zsh", "#compdef opsbook"),
        ("fish", "complete -c opsbook"),
    ] {
        let run = opsbook(&["completions", shell]).run();
        assert_eq!(run.code, 0, "{run}");
        assert!(
            run.stdout.contains(marker),
            "{shell}: {}",
            &run.stdout[..200.min(run.stdout.len())]
        );
        assert!(run.stdout.contains("morning"));
    }
}
