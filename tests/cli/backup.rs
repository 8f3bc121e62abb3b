//! `opsbook backup` (create, list, verify, prune) from the operator's side.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::*;

/// A database with a few tables, one in an awkwardly named schema, one empty.
pub fn seeded(tag: &str, rows: u32) -> TestDb {
    let db = TestDb::new(tag);
    db.psql(&format!(
        "CREATE TABLE users (id int PRIMARY KEY, name text); \
         INSERT INTO users SELECT g, md5(g::text) FROM generate_series(1, {rows}) g; \
         CREATE SCHEMA \"Odd Schema\"; \
         CREATE TABLE \"Odd Schema\".\"Invites\" (a int, b text); \
         INSERT INTO \"Odd Schema\".\"Invites\" SELECT g % 97, 'x' FROM generate_series(1, 1234) g; \
         CREATE TABLE empty_one (x int);"
    ));
    db
}

pub fn config(s: &Scratch, db: &TestDb) -> (PathBuf, PathBuf) {
    let dir = s.path().join("backups");
    let cfg = sandbox_config(s, db, &dir, "");
    (cfg, dir)
}

pub fn manifests(dir: &Path, db: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir.join(db))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

pub fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

pub fn backup(cfg: &Path, extra: &[&str]) -> Run {
    opsbook(&["backup"])
        .format("json")
        .config(cfg)
        .args(extra)
        .run()
}

#[test]
fn manifest_counts_equal_count_star_and_files_are_private() {
    let _g = shared();
    let db = seeded("bk_counts", 5000);
    let s = Scratch::new("bk_counts");
    let (cfg, dir) = config(&s, &db);

    let run = backup(&cfg, &[]);
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let created = Run::one(&j, "backup.created");
    assert_eq!(created["status"], "ok");
    assert_eq!(created["subject"], db.name.as_str());

    let m = manifests(&dir, &db.name);
    assert_eq!(m.len(), 1, "{:?}", files(&dir.join(&db.name)));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&m[0]).unwrap()).unwrap();
    assert_eq!(manifest["schema"], "opsbook.backup/v1");
    assert_eq!(manifest["database"], db.name.as_str());
    assert_eq!(manifest["verified"], true);
    assert_eq!(manifest["compression"], "zstd:1");
    assert!(manifest["sha256"].as_str().unwrap().len() == 64);
    let tables = manifest["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 3, "{manifest:#}");
    for t in tables {
        let (schema, table) = (t["schema"].as_str().unwrap(), t["table"].as_str().unwrap());
        let counted = db.psql(&format!(
            "SELECT count(*) FROM \"{}\".\"{}\"",
            schema.replace('"', "\"\""),
            table.replace('"', "\"\"")
        ));
        assert_eq!(
            t["rows"].as_i64().unwrap().to_string(),
            counted,
            "{schema}.{table}"
        );
    }
    let archive = dir
        .join(&db.name)
        .join(manifest["archive"].as_str().unwrap());
    for p in [&archive, &m[0]] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    assert_eq!(
        std::fs::metadata(&archive).unwrap().len(),
        manifest["bytes"].as_u64().unwrap()
    );
    // The archive is pg_dump's custom format after streaming decompression.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("zstd -dc '{}' | head -c 5", archive.display()))
        .output()
        .unwrap();
    if out.status.success() && !out.stdout.is_empty() {
        assert_eq!(&out.stdout, b"PGDMP");
    }

    let list = opsbook(&["backup", "list"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(list.code, 0, "{list}");
    let lj = list.json();
    let b = &lj["data"]["backups"][0];
    assert_eq!(b["id"], manifest["id"]);
    assert_eq!(b["verified"], true);
    assert_eq!(b["rows"].as_i64().unwrap(), 5000 + 1234);

    let id = manifest["id"].as_str().unwrap();
    let v = opsbook(&["backup", "verify", id])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(v.code, 0, "{v}");
    assert_eq!(Run::one(&v.json(), "backup.verify")["status"], "ok");
}

#[test]
fn counts_are_taken_in_the_dumps_snapshot_while_writers_run() {
    let _g = shared();
    let db = seeded("bk_snap", 200_000);
    let s = Scratch::new("bk_snap");
    let (cfg, dir) = config(&s, &db);
    // A writer inserting into users for the whole backup.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let name = db.name.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                sandbox()
                    .psql(
                        &name,
                        &format!(
                            "INSERT INTO users SELECT g, 'w' FROM generate_series({}, {}) g",
                            1_000_000 + n * 500,
                            1_000_000 + n * 500 + 499
                        ),
                    )
                    .unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let run = backup(&cfg, &["--compress", "zstd:6"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches = writer.join().unwrap();
    assert_eq!(run.code, 0, "{run}");
    assert!(batches > 1, "the writer ran during the backup");

    // A real restore of the archive must hold exactly the counted rows.
    let id = format!("{}/latest", db.name);
    let v = opsbook(&["backup", "verify", &id, "--restore-test"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(v.code, 0, "{v}");
    let rt = Run::one(&v.json(), "backup.restore_test").clone();
    assert_eq!(rt["status"], "ok", "{v}");
    assert!(manifests(&dir, &db.name).len() == 1);
}

#[test]
fn a_corrupted_archive_fails_verify_and_restore_creates_nothing() {
    let _g = shared();
    let db = seeded("bk_corrupt", 20_000);
    let s = Scratch::new("bk_corrupt");
    let (cfg, dir) = config(&s, &db);
    let run = backup(&cfg, &[]);
    assert_eq!(run.code, 0, "{run}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifests(&dir, &db.name)[0]).unwrap())
            .unwrap();
    let archive = dir
        .join(&db.name)
        .join(manifest["archive"].as_str().unwrap());
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&archive, &bytes).unwrap();

    let id = manifest["id"].as_str().unwrap();
    let v = opsbook(&["backup", "verify", id])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(v.code, 2, "{v}");
    let f = Run::one(&v.json(), "backup.verify").clone();
    assert_eq!(f["status"], "critical");
    assert!(f["summary"].as_str().unwrap().contains("damaged"), "{v}");

    let before = db.psql("SELECT count(*) FROM users");
    let r = opsbook(&["restore", id, "--yes"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(r.code, 2, "{r}");
    assert_eq!(Run::one(&r.json(), "restore.verify")["status"], "critical");
    assert!(Run::findings(&r.json(), "restore.create").is_empty(), "{r}");
    let leftovers = db.psql(&format!(
        "SELECT count(*) FROM pg_database WHERE datname LIKE '{}\\_\\_%'",
        db.name
    ));
    assert_eq!(leftovers, "0");
    assert_eq!(db.psql("SELECT count(*) FROM users"), before);
}

/// A backup slow enough to catch in the middle: zstd at its highest level on one thread.
/// Its stderr goes to `log`, which [`wait_for_partial`] shows when it ends too early.
pub fn slow_backup(cfg: &Path, state: &Path, log: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_opsbook"))
        .args(["backup", "--compress", "zstd:19", "--jobs", "1", "--config"])
        .arg(cfg)
        .env("OPSBOOK_STATE_DIR", state)
        .env("HOME", state)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

pub fn wait_for_partial(dir: &Path, child: &mut std::process::Child, log: &Path) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(p) = std::fs::read_dir(dir).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(".partial"))
        }) {
            if std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false) {
                return p;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the backup ended ({status}) before it could be caught: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "no partial file appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_second_backup_exits_3_and_kill_9_leaves_nothing_listed_or_prunable() {
    let _g = shared();
    let db = seeded("bk_kill", 400_000);
    let s = Scratch::new("bk_kill");
    let (cfg, dir) = config(&s, &db);
    let state = s.path().join("state");
    std::fs::create_dir_all(&state).unwrap();

    let log = s.path().join("first.stderr");
    let mut first = slow_backup(&cfg, &state, &log);
    let partial = wait_for_partial(&dir.join(&db.name), &mut first, &log);

    let second = opsbook(&["backup"]).config(&cfg).state_dir(&state).run();
    assert_eq!(second.code, 3, "{second}");
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())),
        "names the holder: {second}"
    );
    assert_eq!(second.stderr.matches("error:").count(), 1, "{second}");

    // SIGKILL: no chance to clean up.
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(partial.exists(), "the kill left its partial file");

    let list = opsbook(&["backup", "list"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(
        list.json()["data"]["backups"].as_array().unwrap().len(),
        0,
        "{list}"
    );
    assert_eq!(list.code, 1, "no backups is a warning: {list}");
    let prune = opsbook(&["backup", "prune", "--keep", "1", "--dry-run"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(prune.code, 0, "{prune}");
    let pj = prune.json();
    assert_eq!(pj["data"]["removed"].as_array().unwrap().len(), 0);
    assert_eq!(pj["data"]["kept"].as_array().unwrap().len(), 0);

    // The next backup (holding the lock) clears what the killed one left.
    let next = opsbook(&["backup", "--compress", "zstd:1"])
        .config(&cfg)
        .format("json")
        .state_dir(&state)
        .run();
    assert_eq!(next.code, 0, "{next}");
    assert_eq!(
        Run::one(&next.json(), "backup.stale_partial")["status"],
        "ok"
    );
    assert!(!partial.exists());
    assert!(!files(&dir.join(&db.name))
        .iter()
        .any(|f| f.ends_with(".partial")));
}

#[test]
fn a_full_disk_gives_one_clear_error_and_removes_the_partial() {
    let _g = shared();
    if std::process::Command::new("prlimit")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("prlimit (util-linux) is needed for this test");
    }
    let db = seeded("bk_full", 100_000);
    let s = Scratch::new("bk_full");
    let (cfg, dir) = config(&s, &db);
    let run = command(
        "prlimit",
        &[
            "--fsize=262144",
            "--",
            env!("CARGO_BIN_EXE_opsbook"),
            "backup",
            "--compress",
            "none",
        ],
    )
    .config(&cfg)
    .run();
    assert_eq!(run.code, 3, "{run}");
    assert_eq!(run.stderr.matches("error:").count(), 1, "{run}");
    assert!(run.stderr.contains("file size limit"), "{run}");
    assert!(run.stderr.contains("partial file was removed"), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    // Only the directory's lock file (kept: unlinking a flock file races with the next run).
    assert_eq!(
        files(&dir.join(&db.name)),
        vec![".opsbook.lock".to_string()],
        "{:?}",
        files(&dir.join(&db.name))
    );
}

pub fn age_manifest(path: &Path, days: i64) {
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let t = m["started_unix"].as_i64().unwrap() - days * 86_400;
    m["started_unix"] = t.into();
    std::fs::write(path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn retention_keeps_the_newest_when_all_are_older_than_the_window() {
    let _g = shared();
    let db = seeded("bk_keep", 100);
    let s = Scratch::new("bk_keep");
    let (cfg, dir) = config(&s, &db);
    for _ in 0..3 {
        let run = backup(&cfg, &[]);
        assert_eq!(run.code, 0, "{run}");
    }
    let m = manifests(&dir, &db.name);
    assert_eq!(m.len(), 3);
    // 30, 31 and 32 days old; the newest stays the newest.
    for (i, p) in m.iter().enumerate() {
        age_manifest(p, 32 - i as i64);
    }
    // Files opsbook did not write are never touched.
    let foreign = s.write(&format!("backups/{}/old.dump", db.name), "by hand", 0o600);
    let newest_id: String = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(m.last().unwrap()).unwrap(),
    )
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let refused = opsbook(&["backup", "prune", "--keep-days", "7"])
        .config(&cfg)
        .run();
    assert_eq!(refused.code, 3, "no --yes off a terminal: {refused}");
    assert_eq!(manifests(&dir, &db.name).len(), 3);

    let dry = opsbook(&["backup", "prune", "--keep-days", "7", "--dry-run"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(dry.code, 0, "{dry}");
    assert_eq!(dry.json()["data"]["removed"].as_array().unwrap().len(), 2);
    assert_eq!(manifests(&dir, &db.name).len(), 3);

    let run = opsbook(&["backup", "prune", "--keep-days", "7", "--yes"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let left = manifests(&dir, &db.name);
    assert_eq!(left.len(), 1);
    let list = opsbook(&["backup", "list"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(list.json()["data"]["backups"][0]["id"], newest_id.as_str());
    assert!(foreign.exists(), "a file opsbook did not write was removed");
    assert_eq!(
        files(&dir.join(&db.name)).len(),
        4,
        "newest archive + manifest + the foreign file + the directory's lock"
    );

    // Retention on create, from cron (no terminal, no --yes): skipped with a warning.
    let run = backup(&cfg, &["--keep", "1"]);
    assert_eq!(run.code, 1, "{run}");
    let r = Run::one(&run.json(), "backup.retention").clone();
    assert_eq!(r["status"], "warning");
    assert_eq!(manifests(&dir, &db.name).len(), 2);
    let run = backup(&cfg, &["--keep", "1", "--yes"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(manifests(&dir, &db.name).len(), 1);
}

#[test]
fn backup_all_takes_every_database_and_the_globals() {
    let _g = exclusive();
    let a = seeded("bk_all_a", 10);
    let b = seeded("bk_all_b", 20);
    let s = Scratch::new("bk_all");
    let (cfg, dir) = config(&s, &a);
    let run = backup(&cfg, &["--all"]);
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let subjects: Vec<&str> = Run::findings(&j, "backup.created")
        .iter()
        .map(|f| f["subject"].as_str().unwrap())
        .collect();
    for want in [a.name.as_str(), b.name.as_str(), "postgres"] {
        assert!(subjects.contains(&want), "{want} in {subjects:?}");
    }
    assert_eq!(Run::one(&j, "backup.globals")["status"], "ok");
    assert_eq!(Run::one(&j, "backup.globals")["subject"], "_globals");
    assert_eq!(manifests(&dir, "_globals").len(), 1);
    assert_eq!(manifests(&dir, &b.name).len(), 1);
}

#[test]
fn bad_flags_and_missing_backups_exit_3_with_one_message() {
    let _g = shared();
    let db = seeded("bk_bad", 10);
    let s = Scratch::new("bk_bad");
    let (cfg, _) = config(&s, &db);
    let c = cfg.to_str().unwrap();
    for args in [
        vec!["backup", "--compress", "lz4", "--config", c],
        vec!["backup", "--compress", "zstd:99", "--config", c],
        vec!["backup", "--db", "x", "--all", "--config", c],
        vec!["backup", "verify", "nope/latest", "--config", c],
        vec!["backup", "prune", "--config", c],
        vec!["restore", "nope/20260101T000000Z", "--yes", "--config", c],
    ] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 3, "{args:?}: {run}");
        assert!(run.stdout.is_empty(), "{args:?}: {run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
    }
}

#[test]
fn a_database_without_any_object_backs_up_and_verifies() {
    let _g = shared();
    let db = TestDb::new("bk_bare");
    db.psql("DROP EXTENSION IF EXISTS pg_stat_statements");
    let s = Scratch::new("bk_bare");
    let (cfg, dir) = config(&s, &db);
    let run = backup(&cfg, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(manifests(&dir, &db.name).len(), 1);
    let v = opsbook(&["backup", "verify", &format!("{}/latest", db.name)])
        .config(&cfg)
        .run();
    assert_eq!(v.code, 0, "{v}");
}
