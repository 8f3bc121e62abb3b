//! Issue 13, the backup directory as untrusted input: one story per item, each failing on the
//! main it was filed against. Names: `hardening_<item>_...`.

use std::path::{Path, PathBuf};

use crate::backup::{
    age_manifest, backup, config, files, manifests, seeded, slow_backup, wait_for_partial,
};
use crate::harness::*;

/// A database with a name the test chooses (any bytes the server accepts), dropped at the end.
pub struct NamedDb(pub String);

impl NamedDb {
    pub fn new(name: &str) -> NamedDb {
        let sb = sandbox();
        let _ = sb.drop_database(name);
        sb.create_database(name).unwrap();
        NamedDb(name.to_string())
    }
}

impl Drop for NamedDb {
    fn drop(&mut self) {
        let _ = sandbox().drop_database(&self.0);
    }
}

fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write_json(p: &Path, v: &serde_json::Value) {
    std::fs::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// `opsbook ARGS --format json --config CFG`.
fn run_json(cfg: &Path, args: &[&str]) -> Run {
    opsbook(args).format("json").config(cfg).run()
}

/// A copy of `real` claiming an older stamp and the archive `archive`.
fn forge(real: &Path, stamp: &str, archive: &str, days_older: i64) -> PathBuf {
    let mut m = json_file(real);
    let db = m["database"].as_str().unwrap().to_string();
    m["id"] = format!("{db}/{stamp}").into();
    m["archive"] = archive.into();
    m["started_unix"] = (m["started_unix"].as_i64().unwrap() - days_older * 86_400).into();
    let p = real.with_file_name(format!("{stamp}.manifest.json"));
    write_json(&p, &m);
    p
}

#[test]
fn hardening_1_a_manifest_naming_a_file_outside_its_directory_is_never_deleted() {
    let _g = shared();
    let db = seeded("h1_archive", 100);
    let s = Scratch::new("h1_archive");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let real = manifests(&dir, &db.name)[0].clone();
    let victims: Vec<PathBuf> = (1..=3)
        .map(|i| s.write(&format!("victim{i}.txt"), "precious", 0o600))
        .collect();
    // dir = <s>/backups, the manifest is in <s>/backups/<db>/: ../../ is <s>.
    forge(&real, "20200101T000000Z", "../../victim1.txt", 40);
    forge(&real, "20200102T000000Z", victims[1].to_str().unwrap(), 39);
    std::os::unix::fs::symlink(&victims[2], dir.join(&db.name).join("link.dump")).unwrap();
    let by_link = forge(&real, "20200103T000000Z", "link.dump", 38);

    let list = run_json(&cfg, &["backup", "list"]);
    assert_eq!(list.code, 1, "refused manifests are a warning: {list}");
    let j = list.json();
    assert_eq!(j["data"]["backups"].as_array().unwrap().len(), 1, "{list}");
    let refused = Run::findings(&j, "backup.manifest_refused");
    assert_eq!(refused.len(), 3, "{list}");
    assert!(refused.iter().all(|f| f["status"] == "warning"));

    let prune = run_json(&cfg, &["backup", "prune", "--keep", "1", "--yes"]);
    assert!(prune.code <= 1, "{prune}");
    let v = opsbook(&["backup", "verify"]).arg(&by_link).run();
    assert_eq!(v.code, 3, "{v}");
    assert!(v.stderr.contains("symlink"), "{v}");
    let morning = run_json(&cfg, &["check", "morning"]);
    assert_eq!(
        Run::findings(&morning.json(), "backup.manifest_refused").len(),
        3,
        "{morning}"
    );
    for v in &victims {
        assert_eq!(
            std::fs::read_to_string(v).unwrap(),
            "precious",
            "{} was touched",
            v.display()
        );
    }
    assert!(real.exists(), "the real backup was kept");
}

#[test]
fn hardening_2_database_names_never_leave_the_backup_directory() {
    let _g = shared();
    let cfg_db = TestDb::new("h2_cfg");
    let s = Scratch::new("h2_names");
    let (cfg, dir) = config(&s, &cfg_db);
    let pid = std::process::id();
    let escape = NamedDb::new(&format!("../h2_escape_{pid}"));
    let nested = NamedDb::new(&format!("h2/{pid}/nested"));
    std::fs::create_dir_all(&dir).unwrap();
    let before = files(s.path());

    for db in [&escape.0, &nested.0] {
        let run = backup(&cfg, &["--db", db]);
        assert_eq!(run.code, 0, "{run}");
    }
    assert_eq!(
        files(s.path()),
        before,
        "nothing was written beside the backup directory"
    );
    let mut dirs = files(&dir);
    dirs.sort();
    let mut want = vec![
        format!("%2E.%2Fh2_escape_{pid}"),
        format!("h2%2F{pid}%2Fnested"),
    ];
    want.sort();
    assert_eq!(dirs, want);

    let list = run_json(&cfg, &["backup", "list"]);
    assert_eq!(list.code, 0, "{list}");
    let j = list.json();
    let mut dbs: Vec<&str> = j["data"]["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["database"].as_str().unwrap())
        .collect();
    dbs.sort();
    let mut expect = vec![escape.0.as_str(), nested.0.as_str()];
    expect.sort();
    assert_eq!(dbs, expect);
    let one = run_json(&cfg, &["backup", "list", "--db", &nested.0]);
    assert_eq!(one.json()["data"]["backups"].as_array().unwrap().len(), 1);
    let v = run_json(&cfg, &["backup", "verify", &format!("{}/latest", escape.0)]);
    assert_eq!(v.code, 0, "{v}");
    // A second backup of the escaping name (today it removed `.partial` files up there).
    let up = s.write(
        &format!("h2_escape_{pid}/x.dump.partial"),
        "not ours",
        0o600,
    );
    assert_eq!(backup(&cfg, &["--db", &escape.0]).code, 0);
    assert!(up.exists());
}

#[test]
fn hardening_4_prune_never_keeps_only_a_damaged_backup() {
    let _g = shared();
    let db = seeded("h4_prune", 500);
    let s = Scratch::new("h4_prune");
    let (cfg, dir) = config(&s, &db);
    for _ in 0..4 {
        assert_eq!(backup(&cfg, &[]).code, 0);
    }
    let m = manifests(&dir, &db.name);
    assert_eq!(m.len(), 4);
    // 4, 3, 2 and 1 days old: m[3] is the newest, m[2] the one before.
    for (i, p) in m.iter().enumerate() {
        age_manifest(p, 4 - i as i64);
    }
    let newest = json_file(&m[3]);
    let second = json_file(&m[2]);
    let archive = dir.join(&db.name).join(newest["archive"].as_str().unwrap());
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&archive, &bytes).unwrap();

    let prune = run_json(&cfg, &["backup", "prune", "--keep", "1", "--yes"]);
    assert_eq!(prune.code, 1, "{prune}");
    let j = prune.json();
    let recheck = Run::findings(&j, "backup.recheck");
    assert_eq!(recheck.len(), 1, "{prune}");
    assert_eq!(recheck[0]["subject"], newest["id"]);
    let kept: Vec<String> = j["data"]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        kept.contains(&second["id"].as_str().unwrap().to_string()),
        "{prune}"
    );
    assert_eq!(manifests(&dir, &db.name).len(), 2);
    let v = run_json(&cfg, &["backup", "verify", second["id"].as_str().unwrap()]);
    assert_eq!(v.code, 0, "a backup that passes now survived: {v}");
}

#[test]
fn hardening_5_two_backups_into_one_directory_with_different_state_dirs() {
    let _g = shared();
    let db = seeded("h5_lock", 400_000);
    let s = Scratch::new("h5_lock");
    let (cfg, dir) = config(&s, &db);
    let state = s.path().join("state-one");
    std::fs::create_dir_all(&state).unwrap();
    let log = s.path().join("first.stderr");
    let mut first = slow_backup(&cfg, &state, &log);
    let partial = wait_for_partial(&dir.join(&db.name), &mut first, &log);

    // The harness gives the second run a state directory of its own.
    let second = opsbook(&["backup"]).config(&cfg).run();
    let _ = (first.kill(), first.wait());
    assert_eq!(second.code, 3, "{second}");
    assert_eq!(second.stderr.matches("error:").count(), 1, "{second}");
    assert!(
        second.stderr.contains("another opsbook is writing into"),
        "{second}"
    );
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())),
        "{second}"
    );
    assert!(
        partial.exists(),
        "the second run removed the first's partial file"
    );
    assert_eq!(
        manifests(&dir, &db.name).len(),
        0,
        "the second run wrote nothing"
    );
}

#[test]
fn hardening_10_a_newline_and_a_quote_in_a_name_keep_nagios_one_line() {
    let _g = shared();
    let cfg_db = TestDb::new("h10_cfg");
    let s = Scratch::new("h10_nagios");
    let (cfg, _dir) = config(&s, &cfg_db);
    let odd = NamedDb::new(&format!("h10 it's\nOPSBOOK OK_{}", std::process::id()));
    let run = opsbook(&["backup", "--db", &odd.0])
        .config(&cfg)
        .format("nagios")
        .run();
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout.lines().count(), 1, "{run}");
    assert!(run.stdout.starts_with("OPSBOOK BACKUP OK: "), "{run}");
    assert!(
        run.stdout.contains("'backup.created[h10 it''s OPSBOOK OK_"),
        "{run}"
    );
    assert_eq!(run.stdout.matches('|').count(), 1, "{run}");
}

#[test]
fn hardening_15_a_partial_archive_is_called_an_interrupted_backup() {
    let s = Scratch::new("h15_partial");
    let partial = s.write(
        "backups/app/20261122T010000Z.dump.zst.partial",
        "half written",
        0o600,
    );
    for args in [
        vec!["backup", "verify", partial.to_str().unwrap()],
        vec!["restore", partial.to_str().unwrap(), "--yes"],
    ] {
        let run = opsbook(&args).run();
        assert_eq!(run.code, 3, "{run}");
        assert_eq!(run.stderr.matches("error:").count(), 1, "{run}");
        assert!(run.stderr.contains("interrupted backup"), "{run}");
        assert!(run.stderr.contains("cannot be trusted"), "{run}");
        assert!(!run.stderr.contains("by hand"), "{run}");
        assert!(partial.exists());
    }
}

#[test]
fn hardening_17_the_manifest_records_pg_dumps_version_number() {
    let _g = shared();
    let db = TestDb::new("h17_version");
    let s = Scratch::new("h17_version");
    let (cfg, dir) = config(&s, &db);
    assert_eq!(backup(&cfg, &[]).code, 0);
    let m = json_file(&manifests(&dir, &db.name)[0]);
    let v = m["pg_dump_version"].as_str().unwrap();
    let out = std::process::Command::new(sandbox().state.pg_bindir.join("pg_dump"))
        .arg("--version")
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    let want = line.split_whitespace().nth(2).unwrap();
    assert_eq!(v, want, "from {line:?}");
    assert!(v.chars().all(|c| c.is_ascii_digit() || c == '.'), "{v}");
}

#[test]
fn sibling_an_oversized_or_special_manifest_is_refused_without_reading_it() {
    let s = Scratch::new("h_big_manifest");
    let dir = s.path().join("backups");
    let db_dir = dir.join("app");
    std::fs::create_dir_all(&db_dir).unwrap();
    // 17 MiB of JSON whitespace: parseable if read whole, so only the bound refuses it.
    let mut big = vec![b' '; 17 << 20];
    big.extend_from_slice(b"{}");
    std::fs::write(db_dir.join("20261122T010000Z.manifest.json"), &big).unwrap();
    // A FIFO would block a reader forever.
    let fifo = db_dir.join("20261122T020000Z.manifest.json");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let run = opsbook(&["backup", "list"])
        .flag("--dir", &dir)
        .format("json")
        .run();
    assert_eq!(run.code, 1, "{run}");
    let j = run.json();
    let refused = Run::findings(&j, "backup.manifest_refused");
    assert_eq!(refused.len(), 2, "{run}");
    let text = format!("{j}");
    assert!(text.contains("over 16384 KiB"), "{run}");
    assert!(text.contains("not a regular file"), "{run}");
}

/// `flock -x FILE sleep 60`: another process holding a database directory's lock, as a second
/// opsbook with a state directory of its own would, until dropped.
fn hold_dir_lock(db_dir: &Path) -> Child {
    let lock = db_dir.join(".opsbook.lock");
    let mut cmd = std::process::Command::new("flock");
    // -o: the lock is flock's own, not inherited by sleep, so killing flock frees it.
    cmd.args(["-x", "-o"]).arg(&lock).args(["sleep", "60"]);
    let holder = Child::spawn(cmd);
    let started = std::time::Instant::now();
    loop {
        let free = std::process::Command::new("flock")
            .arg("-n")
            .arg(&lock)
            .arg("true")
            .status()
            .unwrap()
            .success();
        if !free {
            return holder;
        }
        assert!(
            started.elapsed().as_secs() < 10,
            "flock never took {lock:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Siblings of item 5: a `.partial` in a directory another opsbook is writing into (its lock
/// held, whatever its state directory) is live, not a leftover; and `check night --cleanup`
/// takes the directory's lock before removing anything, as `backup prune` does.
#[test]
fn sibling_a_locked_backup_directory_is_neither_a_leftover_nor_cleaned() {
    let _g = shared();
    let db = seeded("sib_dirlock", 100);
    let s = Scratch::new("sib_dirlock");
    let (cfg, dir) = config(&s, &db);
    for _ in 0..3 {
        assert_eq!(backup(&cfg, &[]).code, 0);
    }
    let m = manifests(&dir, &db.name);
    for (i, p) in m.iter().enumerate() {
        age_manifest(p, 3 - i as i64);
    }
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("backup:\n", "backup:\n  keep: 1\n");
    std::fs::write(&cfg, text).unwrap();
    let db_dir = dir.join(&db.name);
    let partial = db_dir.join("20991231T000000Z.dump.partial");
    std::fs::write(&partial, b"being written").unwrap();
    let leftover_of = |run: &Run| {
        Run::findings(&run.json(), "backup.leftover")
            .iter()
            .any(|f| f["subject"] == partial.to_str().unwrap())
    };

    let holder = hold_dir_lock(&db_dir);
    let morning = run_json(&cfg, &["check", "morning", "--no-record"]);
    assert!(!leftover_of(&morning), "a live partial: {morning}");
    let night = run_json(
        &cfg,
        &["check", "night", "--cleanup", "--yes", "--no-record"],
    );
    let cleaned = Run::one(&night.json(), "cleanup.backups").clone();
    assert_ne!(cleaned["status"], "ok", "{night}");
    assert!(
        cleaned["detail"]
            .to_string()
            .contains("another opsbook is writing into"),
        "{night}"
    );
    assert_eq!(
        manifests(&dir, &db.name).len(),
        3,
        "nothing removed: {night}"
    );
    assert!(partial.exists());

    drop(holder);
    let morning = run_json(&cfg, &["check", "morning", "--no-record"]);
    assert!(leftover_of(&morning), "no writer any more: {morning}");
    let night = run_json(
        &cfg,
        &["check", "night", "--cleanup", "--yes", "--no-record"],
    );
    assert_eq!(manifests(&dir, &db.name).len(), 1, "{night}");
}
