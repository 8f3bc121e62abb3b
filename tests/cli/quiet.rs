//! `-q` as cron reads it: nothing at all, on stdout or stderr, when everything is OK (so cron
//! mails nothing), and only the findings that are not OK otherwise. One run per command that
//! can be OK against the sandbox, each also run without `-q` to show it has a report to hide.

use crate::harness::*;

/// Run `args` (plus `-q` when `quiet`) with the config.
fn run(cfg: &std::path::Path, args: &[&str], quiet: bool) -> Run {
    let mut o = opsbook(args).config(cfg);
    if quiet {
        o = o.arg("-q");
    }
    o.run()
}

#[test]
fn quiet_prints_nothing_at_all_when_every_command_is_ok() {
    // diagnose locks and monitor read the whole cluster: no other test's blocked session.
    let _g = exclusive();
    let s = Scratch::new("quiet_ok");
    let db = crate::backup::seeded("quiet_ok", 100);
    db.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    // The machine's own CPU and load (other builds) are not what this test is about.
    let cfg = sandbox_config(
        &s,
        &db,
        &s.path().join("backups"),
        "  cpu_pct: {warning: null, critical: null}\n  load_per_core: {warning: null, critical: null}\n",
    );
    let rb = s.write(
        "quiet-runbook.yaml",
        "name: quiet-runbook\ndescription: two read-only steps\nsteps:\n  - name: locks\n    run: diagnose locks\n  - name: backups\n    run: backup list\n",
        0o644,
    );
    let rb = rb.to_str().unwrap();
    let sandbox_dir = s.path().join("sandbox");
    let sandbox_dir = sandbox_dir.to_str().unwrap();
    let commands: Vec<Vec<&str>> = vec![
        vec!["backup"],
        vec!["backup", "list"],
        vec!["backup", "verify", "latest"],
        vec!["check", "morning"],
        vec!["diagnose", "locks"],
        vec!["check", "afternoon"],
        vec!["check", "night"],
        vec!["check", "health"],
        vec!["monitor", "--no-notify", "--no-record"],
        vec!["diagnose", "queries"],
        vec!["replica", "status"],
        vec![
            "bench",
            "--sql",
            "SELECT 1",
            "--target-ms",
            "50",
            "--duration",
            "1s",
        ],
        vec!["runbook", "run", rb],
        vec!["runbook", "list"],
        vec!["runbook", "show", "morning"],
        vec!["runbook", "validate"],
        vec!["config", "check", cfg.to_str().unwrap()],
        vec!["sandbox", "up", "--dir", sandbox_dir],
        vec!["sandbox", "status", "--dir", sandbox_dir],
        vec!["sandbox", "down", "--dir", sandbox_dir],
    ];
    for args in &commands {
        let quiet = run(&cfg, args, true);
        assert_eq!(
            quiet.code,
            0,
            "`opsbook {} -q` is not OK here:\n{quiet}",
            args.join(" ")
        );
        assert!(
            quiet.stdout.is_empty() && quiet.stderr.is_empty(),
            "`opsbook {} -q` printed something while OK:\n{quiet}",
            args.join(" ")
        );
    }
    // The same commands without -q have a report to hide (sandbox up/down change state: once).
    for args in commands
        .iter()
        .filter(|a| a[0] != "sandbox" && a[..] != ["backup"])
    {
        let loud = run(&cfg, args, false);
        assert_eq!(loud.code, 0, "{loud}");
        assert!(
            !loud.stdout.is_empty(),
            "`opsbook {}` printed nothing:\n{loud}",
            args.join(" ")
        );
    }
}

#[test]
fn quiet_prints_only_what_is_not_ok_and_the_headline() {
    let _g = shared();
    let s = Scratch::new("quiet_bad");
    let db = TestDb::new("quiet_bad");
    // No backup at all: the backup findings are not OK, the PostgreSQL and Redis ones are.
    let cfg = sandbox_config(&s, &db, &s.path().join("no-backups"), "");
    let loud = run(&cfg, &["check", "morning"], false);
    assert!(loud.code > 0, "{loud}");
    assert!(
        loud.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("OK ")),
        "{loud}"
    );
    let quiet = run(&cfg, &["check", "morning"], true);
    assert_eq!(quiet.code, loud.code, "{quiet}");
    let last = quiet.stdout.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("check morning: "), "{quiet}");
    for line in quiet.stdout.lines() {
        let t = line.trim_start();
        assert!(
            !t.starts_with("OK "),
            "an OK finding under -q: {line:?}\n{quiet}"
        );
    }
    assert!(
        quiet
            .stdout
            .lines()
            .any(|l| ["WARNING ", "CRITICAL ", "UNKNOWN "]
                .iter()
                .any(|s| l.trim_start().starts_with(s))),
        "{quiet}"
    );
    // The payload a command exists to print is not a report: -q keeps it.
    let env = opsbook(&["sandbox", "env", "-q"])
        .env("OPSBOOK_SANDBOX_DIR", &sandbox().state.dir)
        .run();
    assert!(env.stdout.contains("export "), "{env}");
}
