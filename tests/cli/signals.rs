//! The signal suite: SIGINT and SIGTERM (and SIGKILL) delivered at an exact phase of
//! `restore`, `backup verify --restore-test` and `runbook run`, driven by the binary's test-only
//! pause hook (`OPSBOOK_TEST_PAUSE_AT=<phase>` makes it write `OPSBOOK_TEST_PAUSE_MARKER` and
//! wait there), never by sleeps. Each asserts that the live database is intact, that nothing
//! is left behind unreported, and the exit code with its `*.interrupted` finding.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backup::{backup, config, manifests, seeded};
use crate::harness::*;

fn manifest_id(dir: &Path, db: &str) -> String {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(manifests(dir, db).last().unwrap()).unwrap())
            .unwrap();
    m["id"].as_str().unwrap().to_string()
}

/// Databases named `<db>__…` (restore side databases and kept copies).
fn side_databases(db: &str) -> Vec<String> {
    sandbox()
        .psql(
            "postgres",
            &format!("SELECT datname FROM pg_database WHERE datname LIKE '{db}\\_\\_%' ORDER BY 1"),
        )
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

struct DropAfter(Vec<String>);

impl Drop for DropAfter {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = sandbox().drop_database(d);
        }
    }
}

/// An `opsbook` run held at `phase` by the pause hook.
struct Paused {
    child: Child,
    _home: Scratch,
    marker: PathBuf,
}

impl Paused {
    fn start(run: Opsbook, phase: &str, state: Option<&Path>) -> Paused {
        let (mut cmd, home) = run.into_command();
        let marker = home.path().join("paused-at");
        cmd.env("OPSBOOK_TEST_PAUSE_AT", phase)
            .env("OPSBOOK_TEST_PAUSE_MARKER", &marker)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(s) = state {
            cmd.env("OPSBOOK_STATE_DIR", s);
        }
        let mut p = Paused {
            child: Child::spawn(cmd),
            _home: home,
            marker,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::fs::read_to_string(&p.marker).ok().as_deref() != Some(phase) {
            if let Some(st) = p.child.0.try_wait().unwrap() {
                let out = p.output();
                panic!("opsbook ended ({st}) before reaching {phase}:\n{out}");
            }
            assert!(Instant::now() < deadline, "never reached {phase}");
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    fn pid(&self) -> i32 {
        self.child.pid() as i32
    }

    fn signal(&self, sig: i32) {
        // SAFETY: our own child, not yet reaped.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Everything it printed, once it has ended.
    fn output(&mut self) -> Run {
        use std::io::Read as _;
        let status = self
            .child
            .wait_for(Duration::from_secs(120))
            .expect("opsbook did not end after the signal");
        let (mut stdout, mut stderr) = (String::new(), String::new());
        if let Some(mut o) = self.child.0.stdout.take() {
            o.read_to_string(&mut stdout).unwrap();
        }
        if let Some(mut e) = self.child.0.stderr.take() {
            e.read_to_string(&mut stderr).unwrap();
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
            elapsed: Duration::ZERO,
        }
    }

    fn interrupt(mut self, sig: i32) -> Run {
        self.signal(sig);
        self.output()
    }
}

/// The direct children of `pid` named `comm`.
fn children_named(pid: i32, comm: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map(|(_, n)| n).unwrap_or("");
        let ppid: i32 = tail
            .split_whitespace()
            .nth(1)
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        if ppid == pid && name == comm {
            out.push(p);
        }
    }
    out
}

fn alive(pid: i32) -> bool {
    // A zombie is dead for our purpose: it runs nothing.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, t)| t.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

const SIGNALS: [(i32, &str); 2] = [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")];

#[test]
fn hardening_3_restore_interrupted_at_load_compare_or_swap_never_swaps() {
    let _g = shared();
    let db = seeded("sig_rs", 2000);
    let s = Scratch::new("sig_rs");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    // The live database differs from the backup: a swap would show.
    db.psql("DELETE FROM users WHERE id <= 10");
    for phase in ["restore.load", "restore.compare", "restore.swap"] {
        for (sig, name) in SIGNALS {
            let p = Paused::start(
                opsbook(&["restore", &id, "--yes"])
                    .format("json")
                    .config(&cfg),
                phase,
                None,
            );
            let run = p.interrupt(sig);
            let _cleanup = DropAfter(side_databases(&db.name));
            let what = format!("{phase} {name}: {run}");
            assert_eq!(run.code, 2, "{what}");
            let j = run.json();
            let f = Run::one(&j, "restore.interrupted");
            assert_eq!(f["status"], "critical", "{what}");
            let summary = f["summary"].as_str().unwrap();
            assert!(summary.contains(name), "{what}");
            let expected = match phase {
                "restore.swap" => "the swap was rolled back whole",
                _ => "stopped before the swap",
            };
            assert!(summary.contains(expected), "{what}");
            assert!(
                Run::findings(&j, "restore.swap")
                    .iter()
                    .all(|f| f["status"] != "ok"),
                "{what}"
            );
            // The live database as it was, nothing left beside it.
            assert_eq!(db.psql("SELECT count(*) FROM users"), "1990", "{what}");
            assert_eq!(
                db.psql("SELECT count(*) FROM \"Odd Schema\".\"Invites\""),
                "1234"
            );
            assert_eq!(side_databases(&db.name), Vec::<String>::new(), "{what}");
        }
    }
    // Uninterrupted, the same restore swaps (the hook changes nothing when not asked).
    let run = opsbook(&["restore", &id, "--yes"])
        .config(&cfg)
        .format("json")
        .run();
    let _cleanup = DropAfter(side_databases(&db.name));
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(db.psql("SELECT count(*) FROM users"), "2000");
}

#[test]
fn hardening_6_kill_9_of_a_restore_kills_pg_restore_and_the_next_runs_report_the_leftovers() {
    let _g = shared();
    // Big enough that pg_restore is still loading a second after it started: only dying
    // with opsbook makes it go away that fast.
    let db = seeded("sig_k9", 300_000);
    db.psql("CREATE INDEX ON users (name)");
    let s = Scratch::new("sig_k9");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    let state = s.path().join("state");
    // --jobs 2: pg_restore loads from a decompressed copy next to the archive.
    let p = Paused::start(
        opsbook(&["restore", &id, "--yes", "--jobs", "2"])
            .format("json")
            .config(&cfg),
        "restore.load",
        Some(&state),
    );
    let _cleanup = DropAfter(side_databases(&db.name));
    let restores = children_named(p.pid(), "pg_restore");
    assert_eq!(restores.len(), 1, "one pg_restore child");

    // While it runs (its lock held), its database and copy are not leftovers.
    let night = opsbook(&["check", "night"])
        .config(&cfg)
        .format("json")
        .state_dir(&state)
        .run();
    assert!(
        Run::findings(&night.json(), "restore.leftover").is_empty(),
        "{night}"
    );

    let mut p = p;
    p.signal(libc::SIGKILL);
    let _ = p.output();
    let killed = Instant::now();
    while alive(restores[0]) {
        assert!(
            killed.elapsed() < Duration::from_secs(1),
            "pg_restore kept running after opsbook was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let side = side_databases(&db.name);
    let _cleanup = DropAfter(side.clone());
    assert_eq!(side.len(), 1, "{side:?}");
    assert!(side[0].contains("__restore_"), "{side:?}");
    let copies: Vec<PathBuf> = std::fs::read_dir(dir.join(&db.name))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".opsbook-restore-")
        })
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");

    for args in [["check", "night"], ["check", "morning"]] {
        let run = opsbook(&[args[0], args[1]])
            .config(&cfg)
            .format("json")
            .state_dir(&state)
            .run();
        assert!(run.code >= 1, "{run}");
        let j = run.json();
        let found = Run::findings(&j, "restore.leftover");
        assert_eq!(found.len(), 2, "{run}");
        let db_f = found
            .iter()
            .find(|f| f["subject"] == side[0].as_str())
            .unwrap();
        assert_eq!(db_f["status"], "warning");
        assert_eq!(
            db_f["hint"].as_str().unwrap(),
            format!(
                "it is not the live database; drop it: DROP DATABASE \"{}\"",
                side[0]
            )
        );
        let file_f = found
            .iter()
            .find(|f| f["subject"] == copies[0].to_str().unwrap())
            .unwrap();
        assert!(
            file_f["hint"]
                .as_str()
                .unwrap()
                .ends_with(&format!("rm -- '{}'", copies[0].display())),
            "{run}"
        );
    }
    // The next restore reports them too, then does its work.
    let run = opsbook(&["restore", &id, "--yes"])
        .config(&cfg)
        .format("json")
        .state_dir(&state)
        .run();
    let _cleanup2 = DropAfter(side_databases(&db.name));
    assert_eq!(run.code, 1, "{run}");
    let j = run.json();
    assert_eq!(Run::findings(&j, "restore.leftover").len(), 2, "{run}");
    assert_eq!(Run::one(&j, "restore.swap")["status"], "ok", "{run}");
}

fn runbook_file(s: &Scratch, name: &str, steps: &str) -> PathBuf {
    s.write(
        &format!("{name}.yaml"),
        &format!("name: {name}\nsteps:\n{steps}"),
        0o644,
    )
}

#[test]
fn hardening_13_a_signal_during_a_runbook_step_is_runbook_interrupted_not_a_failed_step() {
    let _g = shared();
    let db = seeded("sig_rb", 500);
    let s = Scratch::new("sig_rb");
    let (cfg, _dir) = config(&s, &db);
    let rb = runbook_file(
        &s,
        "two",
        "  - name: look\n    run: check morning\n  - name: after\n    run: runbook list\n",
    );
    for (sig, name) in SIGNALS {
        let p = Paused::start(
            opsbook(&["runbook", "run"])
                .args([&rb])
                .format("json")
                .config(&cfg),
            "runbook.step",
            None,
        );
        let run = p.interrupt(sig);
        assert_eq!(run.code, 2, "{name}: {run}");
        let j = run.json();
        let f = Run::one(&j, "runbook.interrupted");
        assert_eq!(f["status"], "critical", "{run}");
        assert_eq!(f["subject"], "look", "{run}");
        assert!(f["summary"].as_str().unwrap().contains(name), "{run}");
        assert!(Run::findings(&j, "runbook.step").is_empty(), "{run}");
        let steps = &j["data"]["steps"];
        assert_eq!(steps[1]["status"], "skipped", "{run}");
        assert!(!run.stdout.contains("failed (on_failure"), "{run}");
    }
}

#[test]
fn hardening_13_a_restore_step_interrupted_in_a_runbook_cleans_up_and_says_both() {
    let _g = shared();
    let db = seeded("sig_rbr", 800);
    let s = Scratch::new("sig_rbr");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    db.psql("DELETE FROM users WHERE id <= 5");
    let rb = runbook_file(
        &s,
        "dr",
        &format!("  - name: bring it back\n    run: restore {id} --yes\n  - name: after\n    run: runbook list\n"),
    );
    let p = Paused::start(
        opsbook(&["runbook", "run"])
            .args([&rb])
            .args(["--yes"])
            .format("json")
            .config(&cfg),
        "restore.compare",
        None,
    );
    let run = p.interrupt(libc::SIGTERM);
    let _cleanup = DropAfter(side_databases(&db.name));
    assert_eq!(run.code, 2, "{run}");
    let j = run.json();
    assert_eq!(
        Run::one(&j, "runbook.interrupted")["subject"],
        "bring it back"
    );
    assert_eq!(Run::one(&j, "restore.interrupted")["status"], "critical");
    assert_eq!(db.psql("SELECT count(*) FROM users"), "795");
    assert_eq!(side_databases(&db.name), Vec::<String>::new());
}

#[test]
fn hardening_16_a_signal_during_the_restore_test_is_interrupted_not_unrestorable() {
    let _g = shared();
    let db = seeded("sig_rt", 1000);
    let s = Scratch::new("sig_rt");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    for (phase, (sig, name)) in [
        ("verify.restore_test", SIGNALS[0]),
        ("verify.restore_test.compare", SIGNALS[1]),
    ] {
        let p = Paused::start(
            opsbook(&["backup", "verify", &id, "--restore-test"])
                .format("json")
                .config(&cfg),
            phase,
            None,
        );
        let cluster = std::env::temp_dir().join(format!("opsbook-restore-test-{}", p.pid()));
        assert!(cluster.exists(), "{}", cluster.display());
        let run = p.interrupt(sig);
        assert_eq!(run.code, 3, "{phase} {name}: {run}");
        let j = run.json();
        let f = Run::one(&j, "backup.restore_test");
        assert_eq!(f["status"], "unknown", "{run}");
        let summary = f["summary"].as_str().unwrap();
        assert!(
            summary.contains("interrupted") && summary.contains(name),
            "{run}"
        );
        assert!(!run.stdout.contains("do not rely on it"), "{run}");
        assert!(!cluster.exists(), "the throwaway cluster is removed: {run}");
    }
    assert_eq!(db.psql("SELECT count(*) FROM users"), "1000");
}

#[test]
fn hardening_18_ctrl_c_at_the_restore_prompt_says_nothing_was_changed() {
    use expectrl::{Eof, Expect as _};
    let _g = shared();
    let db = seeded("sig_tty", 300);
    let s = Scratch::new("sig_tty");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let id = manifest_id(&dir, &db.name);
    let home = Scratch::new("sig_tty_home");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"));
    cmd.args(["restore", &id, "--config"])
        .arg(&cfg)
        .env("HOME", home.path())
        .env("OPSBOOK_STATE_DIR", home.path().join("state"))
        .env("TERM", "xterm");
    let mut p = expectrl::Session::spawn(cmd).unwrap();
    p.set_expect_timeout(Some(Duration::from_secs(60)));
    p.expect(format!("Type `{}`", db.name)).unwrap();
    p.send(expectrl::ControlCode::EndOfText).unwrap();
    p.expect("cancelled at the confirmation prompt: nothing was changed")
        .unwrap();
    p.expect(Eof).unwrap();
    let status = format!("{:?}", p.get_process().wait().unwrap());
    assert!(status.ends_with(", 3)"), "{status}");
    assert_eq!(db.psql("SELECT count(*) FROM users"), "300");
    assert!(side_databases(&db.name).is_empty());
}

#[test]
fn a_signal_during_backup_stops_pg_dump_removes_the_partial_and_says_backup_interrupted() {
    let _g = shared();
    let db = seeded("sig_bk", 20_000);
    let s = Scratch::new("sig_bk");
    let (cfg, dir) = config(&s, &db);
    for (sig, name) in SIGNALS {
        let p = Paused::start(
            opsbook(&["backup"]).format("json").config(&cfg),
            "backup.dump",
            None,
        );
        let run = p.interrupt(sig);
        assert_eq!(run.code, 2, "{name}: {run}");
        let j = run.json();
        let f = Run::one(&j, "backup.interrupted");
        assert_eq!(f["status"], "critical", "{run}");
        assert_eq!(f["subject"], db.name.as_str(), "{run}");
        assert!(f["summary"].as_str().unwrap().contains(name), "{run}");
        assert!(Run::findings(&j, "backup.created").is_empty(), "{run}");
        // No archive, no manifest, no partial file: nothing that looks like a backup (the
        // directory's lock file stays: unlinking a flock file races with the next run).
        let left: Vec<String> = std::fs::read_dir(dir.join(&db.name))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != ".opsbook.lock")
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{left:?}");
    }
    assert_eq!(db.psql("SELECT count(*) FROM users"), "20000");
    // Uninterrupted, the same backup is taken.
    assert_eq!(backup(&cfg, &[]).code, 0);
}

#[test]
fn a_signal_during_a_redis_snapshot_removes_the_partial_and_says_backup_interrupted() {
    let s = Scratch::new("sig_rdb");
    let db = TestDb::new("sig_rdb");
    let dir = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &dir, "");
    let p = Paused::start(
        opsbook(&["backup", "--rdb"]).format("json").config(&cfg),
        "backup.redis",
        None,
    );
    let partials = || -> Vec<String> {
        std::fs::read_dir(dir.join("_redis"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != ".opsbook.lock")
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = partials();
    assert!(
        before.len() == 1 && before[0].ends_with(".rdb.zst.partial"),
        "{before:?}"
    );
    let run = p.interrupt(libc::SIGTERM);
    assert_eq!(run.code, 2, "{run}");
    let j = run.json();
    let f = Run::one(&j, "backup.interrupted");
    assert_eq!(f["subject"], "_redis", "{run}");
    assert!(Run::findings(&j, "backup.redis").is_empty(), "{run}");
    assert!(partials().is_empty(), "{:?}", partials());
}
