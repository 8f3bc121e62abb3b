//! `backup --remote` streaming the archive while it is written, `--remote-only`, the globals
//! off-site, and a remote that refuses mid-upload: against moto on loopback (tests/cli/remote.rs
//! starts it).

use std::path::Path;
use std::time::Duration;

use crate::backup::seeded;
use crate::harness::*;
use crate::remote::{has, remote_config, Moto};

/// Rows enough for an archive of more than one 5 MiB part with `--compress none`.
const MULTIPART_ROWS: u32 = 150_000;

fn id_of(run: &Run) -> String {
    Run::one(&run.json(), "backup.created")["summary"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string()
}

/// `cond` within a minute (a backup reaches its first part in well under a second alone, but
/// these tests run beside many others on a small machine).
fn held_within(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Multipart uploads started and neither completed nor aborted (orphan parts).
fn uploads_in_progress(moto: &Moto, bucket: &str) -> Vec<String> {
    let out = moto.boto(&format!(
        "for u in s3.list_multipart_uploads(Bucket='{bucket}').get('Uploads',[]): print(u['Key'])"
    ));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Archives and manifests under a backup directory (anything a backup would have kept).
fn kept_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(kept_files(&p));
        } else {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            if n.contains(".dump") || n.contains(".manifest.json") || n.contains(".globals.sql") {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_streamed_copy_is_proven_by_the_remotes_checksum_and_restores_with_equal_counts() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-stream");
    let db = seeded("rs_etag", MULTIPART_ROWS);
    let s = Scratch::new("rs_etag");
    let (cfg, dir, _) = remote_config(&s, &db, &moto, "opsbook-stream");

    // Uncompressed: more than one part, so the ETag is the md5 of several parts' md5s.
    let run = opsbook(&["backup", "--remote", "offsite", "--compress", "none"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let id = id_of(&run);
    let j = run.json();
    let copy = Run::one(&j, "backup.remote_copy");
    assert_eq!(copy["status"], "ok", "{copy}");
    assert!(
        copy["detail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "checked by multipart-etag"),
        "{copy}"
    );
    assert!(copy["value"].as_u64().unwrap() > 5 << 20, "{copy}");
    let keys = moto.keys("opsbook-stream");
    let archive = keys.iter().find(|k| k.ends_with(".dump.age")).unwrap();
    let etag = String::from_utf8(moto.boto(&format!(
        "print(s3.head_object(Bucket='opsbook-stream',Key='{archive}')['ETag'])"
    )))
    .unwrap();
    assert!(etag.trim().trim_matches('"').ends_with("-2"), "{etag}");
    assert!(uploads_in_progress(&moto, "opsbook-stream").is_empty());
    // The local backup is whole too.
    let v = opsbook(&["backup", "verify", &id]).config(&cfg).run();
    assert_eq!(v.code, 0, "{v}");

    let list = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .run();
    let b = &list.json()["data"]["backups"][0];
    assert_eq!(b["stored_check"], "multipart-etag", "{b}");

    // The copy alone restores, with every table's count equal to the manifest.
    std::fs::remove_dir_all(&dir).unwrap();
    let v = opsbook(&[
        "backup",
        "verify",
        "--remote",
        "offsite",
        &id,
        "--restore-test",
    ])
    .config(&cfg)
    .format("json")
    .run();
    assert_eq!(v.code, 0, "{v}");
    let t = Run::one(&v.json(), "backup.restore_test").clone();
    assert_eq!(t["status"], "ok", "{t}");
    assert_eq!(t["value"].as_u64().unwrap(), MULTIPART_ROWS as u64 + 1234);
}

#[test]
fn remote_only_keeps_no_local_archive_copies_the_globals_and_restores_from_the_remote() {
    let _g = exclusive();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-only");
    let db = seeded("rs_only", 2000);
    let s = Scratch::new("rs_only");
    let (cfg, dir, identity) = remote_config(&s, &db, &moto, "opsbook-only");

    let usage = opsbook(&["backup", "--remote-only"]).config(&cfg).run();
    assert_eq!(usage.code, 3, "{usage}");
    assert!(usage.stderr.contains("--remote"), "{usage}");

    let run = opsbook(&["backup", "--all", "--remote", "offsite", "--remote-only"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let mine = Run::findings(&j, "backup.created")
        .into_iter()
        .find(|f| f["subject"] == db.name.as_str())
        .unwrap()
        .clone();
    assert!(
        mine["detail"][0]
            .as_str()
            .unwrap()
            .contains("not kept locally"),
        "{mine}"
    );
    assert_eq!(Run::one(&j, "backup.globals")["status"], "ok");
    for f in Run::findings(&j, "backup.remote_copy") {
        assert_eq!(f["status"], "ok", "{f}");
    }
    assert!(kept_files(&dir).is_empty(), "{:?}", kept_files(&dir));

    // The roles went off-site too, encrypted, with their record.
    let keys = moto.keys("opsbook-only");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("prod/_globals/") && k.ends_with(".globals.sql.zst.age")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("prod/_globals/") && k.ends_with(".remote.json")),
        "{keys:?}"
    );
    // They come back by hand (roles are applied to a cluster): restore says how, and the
    // object decrypts and decompresses to the SQL of pg_dumpall --globals-only.
    let g = opsbook(&["restore", "--remote", "offsite", "_globals/latest", "--yes"])
        .config(&cfg)
        .run();
    assert_eq!(g.code, 3, "{g}");
    assert!(
        g.stderr.contains("age -d -i") && g.stderr.contains("| zstd -dc | psql"),
        "{g}"
    );
    if let (Some(id), true) = (&identity, has("age") && has("zstd")) {
        let key = keys
            .iter()
            .find(|k| k.ends_with(".globals.sql.zst.age"))
            .unwrap();
        let enc = s.write("globals.age", "", 0o600);
        std::fs::write(&enc, moto.object("opsbook-only", key)).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "age -d -i {} {} | zstd -dc",
                id.display(),
                enc.display()
            ))
            .output()
            .unwrap();
        let sql = String::from_utf8_lossy(&out.stdout);
        assert!(sql.contains("CREATE ROLE"), "{sql}");
    }
    let list = opsbook(&["backup", "list", "--remote", "offsite", "--db", &db.name])
        .config(&cfg)
        .format("json")
        .run();
    let b = list.json()["data"]["backups"][0].clone();
    assert_eq!(b["rows"].as_i64().unwrap(), 2000 + 1234, "{b}");
    assert_eq!(b["verified"], true, "{b}");

    let copy = format!("{}__only", db.name);
    let r = opsbook(&[
        "restore",
        "--remote",
        "offsite",
        &format!("{}/latest", db.name),
        "--into",
        &copy,
        "--yes",
    ])
    .config(&cfg)
    .format("json")
    .run();
    let restored = sandbox().psql(&copy, "SELECT count(*) FROM users");
    let _ = sandbox().drop_database(&copy);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(restored.unwrap(), "2000");
}

/// Run `backup --remote offsite` + `extra`, held once its multipart upload has started; the
/// remote then refuses it (the upload is aborted behind its back: every part is refused), and
/// the run is held again after its first part was sent, until that part has failed: the dump
/// is still running then (the rest of it waits in bounded buffers), so the refusal reaches it
/// mid-stream.
fn refused_mid_upload(cfg: &Path, s: &Scratch, moto: &Moto, bucket: &str, extra: &[&str]) -> Run {
    let marker = s.path().join(format!("held-{}", extra.len()));
    let mut args = vec!["backup", "--remote", "offsite", "--compress", "none"];
    args.extend_from_slice(extra);
    let cmd = opsbook(&args)
        .config(cfg)
        .format("json")
        .env("OPSBOOK_TEST_HOLD_AT", "remote_upload,remote_part")
        .env("OPSBOOK_TEST_PAUSE_MARKER", &marker);
    let running = std::thread::spawn(move || cmd.run());
    let held_at = |phase: &str| std::fs::read_to_string(&marker).is_ok_and(|p| p == phase);
    held_within("the upload starts", || held_at("remote_upload"));
    moto.boto(&format!(
        "for u in s3.list_multipart_uploads(Bucket='{bucket}').get('Uploads',[]): s3.abort_multipart_upload(Bucket='{bucket}',Key=u['Key'],UploadId=u['UploadId'])"
    ));
    std::fs::remove_file(&marker).unwrap();
    held_within("the first part is sent", || held_at("remote_part"));
    // Its retries (RetryConfig in src/clients/s3.rs) end well within this.
    std::thread::sleep(Duration::from_secs(3));
    std::fs::remove_file(&marker).unwrap();
    running.join().unwrap()
}

#[test]
fn a_remote_that_refuses_mid_upload_leaves_no_record_and_no_local_damage() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-refuse");
    // More than a part, the channel and the tee's buffer hold (5 + 4 + 1 MiB): the dump is
    // still running when the first part fails.
    let db = seeded("rs_refuse", 2 * MULTIPART_ROWS);
    let s = Scratch::new("rs_refuse");
    let (cfg, dir, _) = remote_config(&s, &db, &moto, "opsbook-refuse");

    // With a local copy: the backup is kept and verified, the copy is CRITICAL (exit 2).
    let run = refused_mid_upload(&cfg, &s, &moto, "opsbook-refuse", &[]);
    assert_eq!(run.code, 2, "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    let j = run.json();
    assert_eq!(Run::one(&j, "backup.created")["status"], "ok");
    let copy = Run::one(&j, "backup.remote_copy");
    assert_eq!(copy["status"], "critical", "{copy}");
    let summary = copy["summary"].as_str().unwrap();
    assert!(
        summary.contains("not copied to remote offsite") && !summary.contains('\n'),
        "{copy}"
    );
    assert!(
        copy["hint"]
            .as_str()
            .unwrap()
            .contains("local backup is kept"),
        "{copy}"
    );
    let v = opsbook(&["backup", "verify", &id_of(&run)])
        .config(&cfg)
        .run();
    assert_eq!(v.code, 0, "{v}");
    assert!(moto.keys("opsbook-refuse").is_empty());
    assert!(uploads_in_progress(&moto, "opsbook-refuse").is_empty());

    // --remote-only: the refusal stops pg_dump; nothing is kept anywhere.
    let before = kept_files(&dir);
    let run = refused_mid_upload(&cfg, &s, &moto, "opsbook-refuse", &["--remote-only"]);
    assert_eq!(run.code, 2, "{run}");
    let j = run.json();
    assert!(Run::findings(&j, "backup.created").is_empty(), "{run}");
    let copy = Run::one(&j, "backup.remote_copy");
    assert_eq!(copy["status"], "critical", "{copy}");
    assert!(
        copy["summary"]
            .as_str()
            .unwrap()
            .contains("no copy was kept (--remote-only)"),
        "{copy}"
    );
    assert!(
        copy["hint"].as_str().unwrap().contains("--remote-only"),
        "{copy}"
    );
    assert_eq!(kept_files(&dir), before);
    let partials: Vec<_> = std::fs::read_dir(dir.join(&db.name))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(partials.is_empty(), "{partials:?}");
    assert!(moto.keys("opsbook-refuse").is_empty());
    assert!(uploads_in_progress(&moto, "opsbook-refuse").is_empty());
    let list = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(list.json()["data"]["backups"].as_array().unwrap().len(), 0);
}

#[test]
fn a_signal_mid_upload_aborts_it_and_removes_the_partial_file() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-signal");
    // Larger than the buffers between pg_dump and the held upload: pg_dump is still running.
    let db = seeded("rs_signal", 2 * MULTIPART_ROWS);
    let s = Scratch::new("rs_signal");
    let (cfg, dir, _) = remote_config(&s, &db, &moto, "opsbook-signal");
    let marker = s.path().join("held");
    let (mut cmd, _home) = opsbook(&["backup", "--remote", "offsite", "--compress", "none"])
        .config(&cfg)
        .format("json")
        .env("OPSBOOK_TEST_HOLD_AT", "remote_part")
        .env("OPSBOOK_TEST_PAUSE_MARKER", &marker)
        .into_command();
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = Child::spawn(cmd);
    held_within("the first part is sent", || marker.exists());
    assert_eq!(uploads_in_progress(&moto, "opsbook-signal").len(), 1);
    // SAFETY: our own child, not yet reaped.
    unsafe { libc::kill(child.pid() as i32, libc::SIGINT) };
    let status = child
        .wait_for(Duration::from_secs(60))
        .expect("opsbook did not end after SIGINT");
    assert_eq!(status.code(), Some(2));
    assert!(uploads_in_progress(&moto, "opsbook-signal").is_empty());
    assert!(moto.keys("opsbook-signal").is_empty());
    let left: Vec<_> = std::fs::read_dir(dir.join(&db.name))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(".dump"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
