//! The hostile-input suite: every command that takes a name or a path, walked with a table of
//! nasty values. Whatever the value: nothing is written or deleted outside the directory the
//! command was given (a canary beside it survives, the parent's listing does not change), the
//! nagios form is one line, the JSON form parses (or the run is one `error:` on stderr),
//! and the exit code is one of 0..=3, never a panic.

use std::path::Path;

use crate::backup::{backup, config, files, seeded};
use crate::backup_hardening::NamedDb;
use crate::harness::*;

/// `..`, `../x`, `a/b`, `.hidden`, a newline, a quote, a NUL-free binary string, a 255-byte name.
fn nasty() -> Vec<String> {
    vec![
        "..".into(),
        "../x".into(),
        "a/b".into(),
        ".hidden".into(),
        "new\nline".into(),
        "it's \"quoted\"".into(),
        "\u{1}\u{7f}\u{fffd}\u{202e}bin\t\r".into(),
        "n".repeat(255),
    ]
}

/// The run kept its promises, whatever it decided.
fn assert_contained(run: &Run, format: &str, what: &str) {
    assert!(
        (0..=3).contains(&run.code),
        "{what}: exit {}\n{run}",
        run.code
    );
    assert!(!run.stderr.contains("panicked"), "{what}: {run}");
    assert!(!run.stderr.contains("internal error"), "{what}: {run}");
    if run.stdout.is_empty() {
        assert_eq!(run.code, 3, "{what}: no report needs exit 3: {run}");
        assert!(run.stderr.starts_with("error: "), "{what}: {run}");
        return;
    }
    match format {
        "nagios" => {
            assert_eq!(run.stdout.lines().count(), 1, "{what}: {run}");
            let status = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][run.code as usize];
            assert!(
                run.stdout.contains(&format!(" {status}: ")),
                "{what}: {run}"
            );
        }
        _ => {
            let j = run.json();
            let status = ["ok", "warning", "critical", "unknown"][run.code as usize];
            assert_eq!(j["status"], status, "{what}: {run}");
        }
    }
}

/// A scratch with `work/` (the directory commands are given) and a canary beside it.
struct Arena {
    s: Scratch,
}

impl Arena {
    fn new(tag: &str) -> Arena {
        let s = Scratch::new(tag);
        std::fs::create_dir_all(s.path().join("work/backups")).unwrap();
        s.write("canary.txt", "alive", 0o600);
        Arena { s }
    }

    fn work(&self) -> std::path::PathBuf {
        self.s.path().join("work")
    }

    fn check_untouched(&self, before: &[String], what: &str) {
        assert_eq!(files(self.s.path()), before, "{what}: the parent changed");
        assert_eq!(
            std::fs::read_to_string(self.s.path().join("canary.txt")).unwrap(),
            "alive",
            "{what}"
        );
    }
}

/// Commands over names that need no database: catalog, restore's lookup, runbooks, config.
#[test]
fn hostile_names_and_paths_never_escape_and_always_answer_in_form() {
    let _g = shared();
    let a = Arena::new("hostile_args");
    let dir = a.work().join("backups");
    let d = dir.to_str().unwrap().to_string();
    // A symlink inside the backup directory that leaves it: a database directory and a lock.
    std::os::unix::fs::symlink(a.s.path(), dir.join("app")).unwrap();
    let before = files(a.s.path());
    for v in nasty() {
        let latest = format!("{v}/latest");
        let runs: Vec<Vec<&str>> = vec![
            vec!["backup", "list", "--db", &v, "--dir", &d],
            vec!["backup", "verify", &v, "--dir", &d],
            vec!["backup", "verify", &latest, "--dir", &d],
            vec![
                "backup", "prune", "--db", &v, "--dir", &d, "--keep", "1", "--yes",
            ],
            vec!["restore", &v, "--dir", &d, "--yes"],
            vec!["restore", &latest, "--dir", &d, "--yes", "--into", &v],
            vec!["runbook", "show", &v],
            vec!["runbook", "run", &v, "--yes"],
            vec!["config", "check", &v],
        ];
        for args in runs {
            for format in ["json", "nagios"] {
                let mut all = args.clone();
                all.extend(["--format", format]);
                let (mut cmd, _home) = opsbook_command(&all);
                cmd.current_dir(a.work());
                let out = cmd.output().unwrap();
                let run = Run {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                    elapsed: Default::default(),
                };
                let what = format!("{all:?}");
                assert_contained(&run, format, &what);
                a.check_untouched(&before, &what);
            }
        }
    }
    // The symlinked database directory was reported, not followed.
    let run = opsbook(&["backup", "list", "--dir", &d])
        .format("json")
        .run();
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        Run::findings(&run.json(), "backup.manifest_refused").len(),
        1,
        "{run}"
    );
}

/// Real databases with hostile names: backup, list, verify and prune each keep to the backup
/// directory and answer in form.
#[test]
fn hostile_database_names_back_up_list_verify_and_prune_inside_the_directory() {
    let _g = shared();
    let cfg_db = seeded("hostile_dbs", 10);
    let a = Arena::new("hostile_dbs");
    let (cfg, dir) = config(&a.s, &cfg_db);
    std::fs::create_dir_all(&dir).unwrap();
    let c = cfg.to_str().unwrap().to_string();
    let before = files(a.s.path());
    let pid = std::process::id();
    // Names no database has (the server keeps 63 bytes): one clear error, nothing written.
    for v in nasty() {
        for format in ["json", "nagios"] {
            let run = opsbook(&["backup", "--db", &v])
                .config(&c)
                .format(format)
                .run();
            let what = format!("backup --db {v:?} --format {format}");
            assert_eq!(run.code, 3, "{what}: {run}");
            assert_contained(&run, format, &what);
            a.check_untouched(&before, &what);
        }
    }
    for (i, v) in nasty().into_iter().enumerate() {
        // PostgreSQL keeps 63 bytes of a name; a distinct prefix keeps the tests apart.
        let name: String = format!("h{i}_{pid}_{v}").chars().take(40).collect();
        let db = NamedDb::new(&name);
        let run = backup(&cfg, &["--db", &db.0]);
        assert_eq!(run.code, 0, "{name:?}: {run}");
        let latest = format!("{}/latest", db.0);
        for args in [
            vec!["backup", "--db", &db.0, "--keep", "1", "--yes"],
            vec!["backup", "list", "--db", &db.0],
            vec!["backup", "verify", &latest],
            vec!["backup", "prune", "--db", &db.0, "--keep", "1", "--yes"],
        ] {
            for format in ["json", "nagios"] {
                let mut all = args.clone();
                all.extend(["--format", format, "--config", &c]);
                let run = opsbook(&all).run();
                let what = format!("{all:?}");
                assert_eq!(run.code, 0, "{what}: {run}");
                assert_contained(&run, format, &what);
                a.check_untouched(&before, &what);
            }
        }
        let list = opsbook(&["backup", "list", "--db", &db.0])
            .config(&c)
            .format("json")
            .run();
        let j = list.json();
        let backups = j["data"]["backups"].as_array().unwrap();
        assert_eq!(backups.len(), 1, "--keep 1 left one of {name:?}: {list}");
        assert_eq!(backups[0]["database"], name.as_str());
        // Its files are directly in one directory of the backup directory.
        let archive = Path::new(backups[0]["archive"].as_str().unwrap());
        assert_eq!(archive.parent().unwrap().parent().unwrap(), dir, "{name:?}");
    }
}

/// A lock file planted as a symlink in a database's backup directory is refused, not truncated.
#[test]
fn a_planted_lock_symlink_is_refused_and_its_target_survives() {
    let _g = shared();
    let db = TestDb::new("hostile_lock");
    let a = Arena::new("hostile_lock");
    let (cfg, dir) = config(&a.s, &db);
    std::fs::create_dir_all(dir.join(&db.name)).unwrap();
    std::os::unix::fs::symlink(
        a.s.path().join("canary.txt"),
        dir.join(&db.name).join(".opsbook.lock"),
    )
    .unwrap();
    let run = backup(&cfg, &[]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("not a symlink"), "{run}");
    assert_eq!(
        std::fs::read_to_string(a.s.path().join("canary.txt")).unwrap(),
        "alive"
    );
}
