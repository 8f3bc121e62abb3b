//! `opsbook runbook` from the operator's side: validation, execution rules, scheduling.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::harness::*;

fn rb(s: &Scratch, name: &str, text: &str) -> PathBuf {
    s.write(&format!("{name}.yaml"), text, 0o644)
}

fn run_json(cfg: &Path, args: &[&str]) -> Run {
    opsbook(&["runbook"])
        .args(args)
        .format("json")
        .config(cfg)
        .run()
}

fn step_statuses(j: &serde_json::Value) -> Vec<String> {
    j["data"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_shipped_runbook_validates() {
    let run = opsbook(&["runbook", "validate"]).format("json").run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let names: BTreeSet<String> = Run::findings(&j, "runbook.valid")
        .iter()
        .map(|f| f["subject"].as_str().unwrap().to_string())
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".yaml").map(str::to_string)
        })
        .collect();
    assert_eq!(names, files, "every file in runbooks/ is shipped and valid");
    for f in Run::findings(&j, "runbook.valid") {
        assert_eq!(f["status"], "ok", "{f}");
    }
}

#[test]
fn a_bad_flag_fails_validation_naming_file_line_and_step() {
    let s = Scratch::new("rb_badflag");
    let p = rb(
        &s,
        "bad",
        "name: bad\nsteps:\n  - name: first\n    run: check morning\n  - name: the backup\n    run: backup --compres zstd\n",
    );
    let run = opsbook(&["runbook", "validate"]).arg(&p).run();
    assert_eq!(run.code, 3, "{run}");
    let expect = format!("{}:6:10", p.display());
    assert!(run.stdout.contains(&expect), "{run}");
    assert!(run.stdout.contains("step 2 `the backup`"), "{run}");
    assert!(run.stdout.contains("--compres"), "{run}");
    // run refuses it before any step runs.
    let run = opsbook(&["runbook", "run"]).arg(&p).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains(&expect), "{run}");
    // An unknown key in the YAML: its own line and column.
    let p = rb(
        &s,
        "key",
        "name: k\nsteps:\n  - name: a\n    run: runbook list\n    retries: 3\n",
    );
    let run = opsbook(&["runbook", "validate"]).arg(&p).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stdout.contains(&format!("{}:5:", p.display())), "{run}");
    assert!(run.stdout.contains("retries"), "{run}");
}

/// Issue 19: every global flag (the clap tree's, so one added later is covered) in a step is
/// refused at validation, naming the flag; before, `--textfile`, `-q`, `-v` and `--no-color`
/// were accepted and silently ignored (a step's `--textfile` never wrote its file).
#[test]
fn every_global_flag_in_a_step_is_refused_at_validation() {
    use clap::CommandFactory as _;
    let s = Scratch::new("rb_global");
    let globals: Vec<clap::Arg> = opsbook::cli::Cli::command()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    assert!(globals.len() >= 9);
    let textfile = s.path().join("step.prom");
    for a in globals {
        let long = format!("--{}", a.get_long().unwrap());
        let value = match a.get_id().as_str() {
            _ if !a.get_action().takes_values() => String::new(),
            "format" => " json".into(),
            "timeout" => " 5".into(),
            _ => format!(" {}", textfile.display()),
        };
        let mut forms = vec![format!("check morning {long}{value}")];
        if let Some(short) = a.get_short() {
            forms.push(format!("check morning -{short}"));
        }
        for step in forms {
            let p = rb(
                &s,
                "global",
                &format!("name: global\nsteps:\n  - name: the check\n    run: {step}\n"),
            );
            let run = opsbook(&["runbook", "validate"]).arg(&p).run();
            assert_eq!(run.code, 3, "{step}: {run}");
            assert!(
                run.stdout.contains(&format!("{long} is a global flag")),
                "{step}: {run}"
            );
            assert!(
                run.stdout.contains(&format!("{}:4:10", p.display())),
                "{run}"
            );
            let run = opsbook(&["runbook", "run"]).arg(&p).run();
            assert_eq!(run.code, 3, "{step}: {run}");
            assert!(!textfile.exists(), "{step}: nothing ran");
        }
    }
}

#[test]
fn on_failure_continue_runs_the_next_step_and_abort_does_not() {
    let _g = shared();
    let db = TestDb::new("rb_fail");
    let s = Scratch::new("rb_fail");
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), "");
    for (policy, second) in [("continue", "ok"), ("abort", "skipped")] {
        let p = rb(
            &s,
            policy,
            &format!("name: f\nsteps:\n  - name: verify a missing backup\n    run: backup verify nope/latest\n    on_failure: {policy}\n  - name: list\n    run: runbook list\n"),
        );
        let run = run_json(&cfg, &["run", p.to_str().unwrap()]);
        let j = run.json();
        assert_eq!(
            step_statuses(&j),
            vec!["unknown".to_string(), second.to_string()],
            "{run}"
        );
        assert_eq!(run.code, 3, "the worst step decides: {run}");
        assert!(Run::one(&j, "runbook.step")["summary"]
            .as_str()
            .unwrap()
            .contains("nope/latest"));
    }
}

#[test]
fn when_warning_runs_only_after_a_warning() {
    let _g = shared();
    let db = TestDb::new("rb_when");
    let s = Scratch::new("rb_when");
    let empty = s.path().join("no-backups");
    let cfg = sandbox_config(&s, &db, &empty, "");
    let text = |first: &str| {
        format!("name: w\nsteps:\n  - name: first\n    run: {first}\n  - name: only after a warning\n    run: runbook list\n    when: warning\n")
    };
    // `backup list` of an empty directory is a WARNING.
    let p = rb(&s, "warn", &text("backup list"));
    let run = run_json(&cfg, &["run", p.to_str().unwrap()]);
    assert_eq!(step_statuses(&run.json()), vec!["warning", "ok"], "{run}");
    assert_eq!(run.code, 1, "{run}");
    let p = rb(&s, "ok", &text("runbook show morning"));
    let run = run_json(&cfg, &["run", p.to_str().unwrap()]);
    assert_eq!(step_statuses(&run.json()), vec!["ok", "skipped"], "{run}");
    assert_eq!(run.code, 0, "{run}");
}

#[test]
fn a_confirm_step_off_a_terminal_without_yes_exits_3_before_anything_runs() {
    let _g = shared();
    let db = TestDb::new("rb_confirm");
    db.psql("CREATE TABLE t AS SELECT 1 AS x");
    let s = Scratch::new("rb_confirm");
    let backups = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &backups, "");
    let p = rb(
        &s,
        "c",
        "name: c\nsteps:\n  - name: backup first\n    run: backup\n  - name: then prune\n    run: backup prune --keep 1 --yes\n    confirm: true\n",
    );
    let run = run_json(&cfg, &["run", p.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("then prune"), "{run}");
    assert!(!backups.exists(), "the first step ran");
    // --yes runs both.
    let run = run_json(&cfg, &["run", p.to_str().unwrap(), "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(step_statuses(&run.json()), vec!["ok", "ok"], "{run}");
    assert!(backups.join(&db.name).is_dir());
}

#[test]
fn a_cycle_is_rejected() {
    let s = Scratch::new("rb_cycle");
    let a = s.path().join("a.yaml");
    let b = s.path().join("b.yaml");
    rb(
        &s,
        "a",
        &format!(
            "name: a\nsteps:\n  - name: call b\n    run: runbook run {}\n",
            b.display()
        ),
    );
    rb(
        &s,
        "b",
        &format!(
            "name: b\nsteps:\n  - name: call a\n    run: runbook run {}\n",
            a.display()
        ),
    );
    let run = opsbook(&["runbook", "validate"]).arg(&a).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stdout.contains("cycle"), "{run}");
    let run = opsbook(&["runbook", "run"]).arg(&a).args(["--yes"]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("cycle"), "{run}");
    // A runbook calling another (no cycle) is fine, and its steps show in the plan.
    rb(
        &s,
        "c",
        "name: c\nsteps:\n  - name: call morning\n    run: runbook run morning\n",
    );
    let run = opsbook(&[
        "runbook",
        "run",
        s.path().join("c.yaml").to_str().unwrap(),
        "--dry-run",
    ])
    .format("json")
    .run();
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.json()["sections"].as_array().unwrap().len(), 2, "{run}");
}

#[test]
fn dry_run_prints_the_plan_and_touches_nothing() {
    let _g = shared();
    let db = TestDb::new("rb_dry");
    let s = Scratch::new("rb_dry");
    let backups = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &backups, "");
    let p = rb(
        &s,
        "d",
        "name: d\nsteps:\n  - name: take a backup\n    run: backup --keep 3 --yes\n    confirm: true\n    timeout: 10m\n",
    );
    let run = run_json(&cfg, &["run", p.to_str().unwrap(), "--dry-run"]);
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    assert_eq!(Run::one(&j, "runbook.plan")["status"], "ok");
    let row = &j["sections"][0]["rows"][0];
    assert_eq!(row[2], "opsbook backup --keep 3 --yes");
    assert_eq!(row[5], "yes");
    assert!(!backups.exists());
}

#[test]
fn the_morning_runbook_gives_the_findings_of_check_morning() {
    let _g = exclusive();
    let db = TestDb::new("rb_morning");
    let s = Scratch::new("rb_morning");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let direct = opsbook(&["check", "morning"])
        .config(&cfg)
        .format("json")
        .run();
    let via = opsbook(&["runbook", "run", "morning"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(direct.code, via.code, "{direct}\n{via}");
    let key = |j: &serde_json::Value| -> BTreeSet<(String, String, String)> {
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["subject"].as_str().unwrap_or("").to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(key(&direct.json()), key(&via.json()), "{direct}\n{via}");
    assert_eq!(via.json()["command"], "runbook run");
}

fn split_units(text: &str, dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut current: Option<(PathBuf, String)> = None;
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("# /etc/systemd/system/") {
            if let Some((p, body)) = current.take() {
                std::fs::write(&p, body).unwrap();
                out.push(p);
            }
            current = Some((dir.join(path), String::new()));
        } else if line.starts_with("# then:") {
            break;
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((p, body)) = current {
        std::fs::write(&p, body).unwrap();
        out.push(p);
    }
    out
}

#[test]
fn schedules_print_a_valid_crontab_line_and_systemd_units() {
    let s = Scratch::new("rb_sched");
    for name in ["morning", "weekly-maintenance"] {
        let cron = opsbook(&["runbook", "schedule", name, "--print", "cron"]).run();
        assert_eq!(cron.code, 0, "{cron}");
        let line = cron
            .stdout
            .lines()
            .find(|l| !l.starts_with('#') && !l.trim().is_empty())
            .unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let valid = |f: &str, lo: u32, hi: u32| {
            f == "*"
                || f.split(',').all(|p| {
                    let (r, step) = p.split_once('/').unwrap_or((p, "1"));
                    step.parse::<u32>().is_ok_and(|s| s > 0)
                        && (r == "*"
                            || r.split('-')
                                .all(|n| n.parse::<u32>().is_ok_and(|n| n >= lo && n <= hi)))
                })
        };
        for (f, (lo, hi)) in fields[..5]
            .iter()
            .zip([(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)])
        {
            assert!(valid(f, lo, hi), "field `{f}` of `{line}`");
        }
        assert!(
            fields[5].ends_with("opsbook") && Path::new(fields[5]).is_absolute(),
            "{line}"
        );
        assert_eq!(&fields[6..9], ["runbook", "run", name], "{line}");

        let sd = opsbook(&["runbook", "schedule", name, "--print", "systemd"]).run();
        assert_eq!(sd.code, 0, "{sd}");
        let dir = s.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let units = split_units(&sd.stdout, &dir);
        assert_eq!(units.len(), 2, "{sd}");
        let verify = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .args(&units)
            .output();
        match verify {
            Err(_) => {
                eprintln!("systemd-analyze is not installed: skipping the systemd verify of {name}")
            }
            Ok(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(
                    out.status.success(),
                    "systemd-analyze verify: {err}\n{}",
                    sd.stdout
                );
                let calendar = sd
                    .stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("OnCalendar="))
                    .unwrap();
                let cal = std::process::Command::new("systemd-analyze")
                    .args(["calendar", calendar])
                    .output()
                    .unwrap();
                assert!(cal.status.success(), "{calendar}");
            }
        }
    }
    // No schedule: a clear error.
    let run = opsbook(&[
        "runbook",
        "schedule",
        "disaster-recovery",
        "--print",
        "cron",
    ])
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("no schedule"), "{run}");
}

#[test]
fn notify_sends_the_outcome_once_when_the_runbook_fails_and_not_when_it_passes() {
    let _g = shared();
    let db = TestDb::new("rb_notify");
    let s = Scratch::new("rb_notify");
    let hook = Receiver::start();
    let extra = format!(
        "notify:\n  webhook:\n    url: http://127.0.0.1:{}/hook\n    timeout: 2s\n",
        hook.port
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);
    let failing = rb(
        &s,
        "failing",
        "name: nightly-proof\nnotify: failure\nsteps:\n  - name: verify the newest backup\n    run: backup verify nope/latest\n",
    );
    let run = run_json(&cfg, &["run", failing.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run}");
    let got = hook.webhook();
    assert_eq!(got.len(), 1, "one message for the failed run: {got:?}");
    let text = got[0].body["text"].as_str().unwrap();
    assert!(text.contains("runbook nightly-proof"), "{text}");
    assert!(text.contains("UNKNOWN"), "{text}");
    assert!(text.contains("verify the newest backup"), "{text}");
    assert_eq!(Run::one(&run.json(), "notify.webhook")["status"], "ok");

    let passing = rb(
        &s,
        "passing",
        "name: quiet\nnotify: failure\nsteps:\n  - name: list\n    run: runbook list\n",
    );
    let run = run_json(&cfg, &["run", passing.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(hook.webhook().len(), 1, "nothing more for a passing run");

    // `notify:` without a channel in the config: said, not silently dropped.
    let bare = sandbox_config(&s, &db, &s.path().join("backups"), "");
    let always = rb(
        &s,
        "always",
        "name: loud\nnotify: always\nsteps:\n  - name: list\n    run: runbook list\n",
    );
    let run = run_json(&bare, &["run", always.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{run}");
    assert!(Run::one(&run.json(), "runbook.notify")["summary"]
        .as_str()
        .unwrap()
        .contains("no notify.telegram or notify.webhook"));
}

#[test]
fn wide_in_a_step_is_refused_at_validation() {
    let s = Scratch::new("rb_wide");
    let p = rb(
        &s,
        "wide",
        "name: wide\nsteps:\n  - name: locks\n    run: diagnose locks --wide\n",
    );
    let run = opsbook(&["runbook", "validate"]).arg(&p).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stdout.contains("--wide is a global flag"), "{run}");
}
