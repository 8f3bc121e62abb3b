//! Off-site copies (`backup --remote`, `backup list --remote`) against a real S3 server on
//! loopback: moto (`moto_server`) from a venv under target/moto-venv (`.ci/deps` makes it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::backup::seeded;
use crate::harness::*;
use crate::redis_backup::PrivateRedis;

/// A moto S3 server of the test's own, stopped on drop (pitr_s3.rs puts TLS in front of it).
pub(crate) struct Moto {
    child: std::process::Child,
    pub(crate) port: u16,
    python: PathBuf,
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv")
}

impl Moto {
    /// None (with the reason printed) when moto cannot be had on this machine.
    pub(crate) fn start() -> Option<Moto> {
        let bin = venv().join("bin");
        if !bin.join("moto_server").exists() {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(venv())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
                && Command::new(bin.join("pip"))
                    .args(["install", "-q", "moto[server]"])
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
            if !made {
                eprintln!("SKIPPED: no moto server (python3 -m venv + pip install 'moto[server]' failed; run .ci/deps)");
                return None;
            }
        }
        let port = closed_port();
        let child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Moto {
            child,
            port,
            python: bin.join("python"),
        })
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// boto3 against this server (moto's own dependency): an independent S3 client.
    pub(crate) fn boto(&self, code: &str) -> Vec<u8> {
        let script = format!(
            "import boto3,sys\ns3=boto3.client('s3',endpoint_url='{}',aws_access_key_id='k',aws_secret_access_key='s',region_name='us-east-1')\n{code}\n",
            self.endpoint()
        );
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    pub(crate) fn create_bucket(&self, bucket: &str) {
        self.boto(&format!("s3.create_bucket(Bucket='{bucket}')"));
    }

    /// A bucket created with object lock (which turns versioning on), with a default retention.
    fn create_locked_bucket(&self, bucket: &str) {
        self.boto(&format!(
            "s3.create_bucket(Bucket='{bucket}',ObjectLockEnabledForBucket=True)\ns3.put_object_lock_configuration(Bucket='{bucket}',ObjectLockConfiguration={{'ObjectLockEnabled':'Enabled','Rule':{{'DefaultRetention':{{'Mode':'GOVERNANCE','Days':30}}}}}})"
        ));
    }

    pub(crate) fn keys(&self, bucket: &str) -> Vec<String> {
        let out = self.boto(&format!(
            "for o in s3.list_objects_v2(Bucket='{bucket}').get('Contents',[]): print(o['Key'])"
        ));
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub(crate) fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.boto(&format!(
            "sys.stdout.buffer.write(s3.get_object(Bucket='{bucket}',Key='{key}')['Body'].read())"
        ))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn has(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The config with `remotes.offsite` on moto, encrypted to a fresh age key (or a passphrase
/// when age-keygen is not installed); credentials from a 0600 credentials file.
pub fn remote_config(
    s: &Scratch,
    db: &TestDb,
    moto: &Moto,
    bucket: &str,
) -> (PathBuf, PathBuf, Option<PathBuf>) {
    let creds = s.write(
        "aws-credentials",
        "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
        0o600,
    );
    let (enc, identity) = if has("age-keygen") {
        let id = s.path().join("age-identity");
        let out = Command::new("age-keygen")
            .arg("-o")
            .arg(&id)
            .output()
            .unwrap();
        assert!(out.status.success());
        let public = Command::new("age-keygen")
            .arg("-y")
            .arg(&id)
            .output()
            .unwrap();
        let rec = s.write(
            "age-recipients",
            &String::from_utf8(public.stdout).unwrap(),
            0o644,
        );
        (
            format!(
                "      recipients_file: {}\n      identity_file: {}\n",
                rec.display(),
                id.display()
            ),
            Some(id),
        )
    } else {
        let p = s.write("age-passphrase", "correct horse battery staple\n", 0o600);
        (format!("      passphrase_file: {}\n", p.display()), None)
    };
    let extra = format!(
        "remotes:\n  offsite:\n    bucket: {bucket}\n    prefix: prod/\n    endpoint: {}\n    path_style: true\n    credentials_file: {}\n    encryption:\n{enc}",
        moto.endpoint(),
        creds.display()
    );
    let dir = s.path().join("backups");
    (sandbox_config(s, db, &dir, &extra), dir, identity)
}

const CANARY: &str = "zebra-canary-7f3a";

/// The one finding with this id and subject.
fn subject<'a>(j: &'a serde_json::Value, id: &str, subject: &str) -> &'a serde_json::Value {
    let found: Vec<_> = Run::findings(j, id)
        .into_iter()
        .filter(|f| f["subject"] == subject)
        .collect();
    assert_eq!(found.len(), 1, "expected one {id} of {subject} in {j:#}");
    found[0]
}

#[test]
fn the_bucket_audit_names_versioning_off_and_sees_object_lock_on() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-plain");
    moto.create_locked_bucket("opsbook-locked");
    let db = TestDb::new("rm_audit");
    let s = Scratch::new("rm_audit");
    let (plain, _, _) = remote_config(&s, &db, &moto, "opsbook-plain");
    let run = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&plain)
        .format("json")
        .run();
    assert_eq!(run.code, 1, "{run}");
    let j = run.json();
    let v = subject(&j, "backup.remote_audit", "offsite:versioning");
    assert_eq!(v["status"], "warning", "{v}");
    assert!(
        v["summary"].as_str().unwrap().contains("versioning is off"),
        "{v}"
    );
    assert!(
        v["hint"]
            .as_str()
            .unwrap()
            .contains("put-bucket-versioning"),
        "{v}"
    );
    let l = subject(&j, "backup.remote_audit", "offsite:object_lock");
    assert_eq!(l["status"], "warning", "{l}");
    assert!(
        l["hint"]
            .as_str()
            .unwrap()
            .contains("object-lock-enabled-for-bucket"),
        "{l}"
    );

    let s2 = Scratch::new("rm_audit_locked");
    let (locked, _, _) = remote_config(&s2, &db, &moto, "opsbook-locked");
    let run = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&locked)
        .format("json")
        .run();
    let j = run.json();
    let v = subject(&j, "backup.remote_audit", "offsite:versioning");
    assert_eq!(v["status"], "ok", "{v}");
    let l = subject(&j, "backup.remote_audit", "offsite:object_lock");
    assert_eq!(l["status"], "ok", "{l}");
    assert!(
        l["summary"]
            .as_str()
            .unwrap()
            .contains("GOVERNANCE 30 day(s)"),
        "{l}"
    );

    // The morning check reads the same two facts (no delete probe: it writes an object).
    let morning = opsbook(&["check", "morning", "--no-record"])
        .config(&plain)
        .format("json")
        .run();
    let j = morning.json();
    assert_eq!(
        subject(&j, "backup.remote_audit", "offsite:versioning")["status"],
        "warning"
    );
    assert!(Run::findings(&j, "backup.remote_audit")
        .iter()
        .all(|f| f["subject"] != "offsite:delete"));
}

#[test]
fn a_redis_snapshot_goes_off_site_encrypted_and_comes_back_with_its_keys() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-redis");
    let db = TestDb::new("rm_redis");
    let s = Scratch::new("rm_redis");
    let (cfg, dir, _) = remote_config(&s, &db, &moto, "opsbook-redis");
    let mut r = PrivateRedis::start(&s.path().join("redis"));
    r.fill(0, 40);
    r.fill(2, 9);
    r.cmd(0, &["SET", "canary", CANARY]).unwrap();
    let url = r.url();
    let ops = |args: &[&str]| opsbook(args).config(&cfg).redis(&url).format("json");

    let run = ops(&[
        "backup",
        "--rdb",
        "--remote",
        "offsite",
        "--compress",
        "none",
    ])
    .run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let copy = Run::one(&j, "backup.remote_copy");
    assert_eq!(copy["status"], "ok", "{copy}");
    assert_eq!(copy["subject"], "_redis");
    let keys = moto.keys("opsbook-redis");
    let object = keys
        .iter()
        .find(|k| k.starts_with("prod/_redis/") && k.ends_with(".rdb.age"))
        .unwrap_or_else(|| panic!("no encrypted snapshot in {keys:?}"));
    let stored = moto.object("opsbook-redis", object);
    assert!(stored.starts_with(b"age-encryption.org/v1"));
    assert!(
        !stored.windows(CANARY.len()).any(|w| w == CANARY.as_bytes())
            && !stored.windows(5).any(|w| w == b"REDIS"),
        "the snapshot is readable in the bucket"
    );

    let list = ops(&["backup", "list", "--remote", "offsite"]).run();
    let lj = list.json();
    let b = &lj["data"]["backups"][0];
    assert_eq!(b["kind"], "redis", "{lj:#}");
    assert_eq!(b["rows"], 50, "keys of the snapshot: {lj:#}");
    let id = b["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("_redis/"), "{id}");

    // The host is lost: no local copy; the data is gone.
    std::fs::remove_dir_all(&dir).unwrap();
    r.cmd(0, &["FLUSHALL"]).unwrap();
    let check = ops(&["restore", "--rdb", "--remote", "offsite", &id, "--check"]).run();
    assert_eq!(check.code, 2, "the check sees the loss: {check}");
    let run = ops(&["restore", "--rdb", "--remote", "offsite", &id, "--yes"]).run();
    assert_eq!(run.code, 1, "placed, restart pending: {run}");
    assert_eq!(Run::one(&run.json(), "restore.verify")["status"], "ok");
    r.restart();
    assert_eq!(r.dbsize(0), 41);
    assert_eq!(r.dbsize(2), 9);
    let check = ops(&["restore", "--rdb", "--remote", "offsite", &id, "--check"]).run();
    assert_eq!(check.code, 0, "{check}");
    assert_eq!(Run::one(&check.json(), "restore.redis_keys")["value"], 50);

    // A second snapshot; prune on the remote keeps the newest verified one of `_redis`.
    let run = ops(&["backup", "--rdb", "--remote", "offsite"]).run();
    assert_eq!(run.code, 0, "{run}");
    let run = ops(&[
        "backup",
        "prune",
        "--remote",
        "offsite",
        "--keep-days",
        "0.00001",
        "--yes",
    ])
    .run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    assert_eq!(j["data"]["removed"], serde_json::json!([id]), "{j:#}");
    assert_eq!(j["data"]["kept"][0]["why"], "newest verified", "{j:#}");
    // The private download directory is removed afterwards.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().starts_with(".opsbook-remote")),
        "{left:?}"
    );
}

#[test]
fn a_remote_copy_is_encrypted_listed_and_opens_with_age() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-backups");
    let db = seeded("rm_copy", 3000);
    db.psql(&format!("INSERT INTO users VALUES (900001, '{CANARY}')"));
    let s = Scratch::new("rm_copy");
    let (cfg, dir, identity) = remote_config(&s, &db, &moto, "opsbook-backups");

    // --compress none: a plaintext archive would show the canary as is.
    let run = opsbook(&["backup", "--remote", "offsite", "--compress", "none"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let copy = Run::one(&j, "backup.remote_copy");
    assert_eq!(copy["status"], "ok", "{copy}");
    let id = Run::one(&j, "backup.created")["summary"]
        .as_str()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .to_string();

    let keys = moto.keys("opsbook-backups");
    let archive = keys
        .iter()
        .find(|k| k.ends_with(".age"))
        .unwrap_or_else(|| panic!("no .age object in {keys:?}"));
    assert!(
        archive.starts_with(&format!("prod/{}/", db.name)),
        "{archive}"
    );
    assert!(keys.iter().any(|k| k.ends_with(".remote.json")), "{keys:?}");
    let stored = moto.object("opsbook-backups", archive);
    assert!(
        stored.starts_with(b"age-encryption.org/v1"),
        "not an age file"
    );
    assert!(
        !stored.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()),
        "table data readable in the bucket"
    );

    // The standard age CLI opens it: pg_dump's custom format comes out.
    if let (Some(id_file), true) = (&identity, has("age")) {
        let enc = s.path().join("copy.age");
        std::fs::write(&enc, &stored).unwrap();
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(id_file)
            .arg(&enc)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.starts_with(b"PGDMP"));
        assert!(out
            .stdout
            .windows(CANARY.len())
            .any(|w| w == CANARY.as_bytes()));
    } else {
        eprintln!(
            "age CLI not installed: the by-hand decryption was not checked (apt install age)"
        );
    }

    let list = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .run();
    // moto lets any key delete: the audit says so (a warning, exit 1), and its probe is gone.
    assert_eq!(list.code, 1, "{list}");
    let lj = list.json();
    assert_eq!(Run::one(&lj, "backup.remote_list")["status"], "ok");
    let audit = subject(&lj, "backup.remote_audit", "offsite:delete");
    assert_eq!(audit["status"], "warning", "{audit}");
    assert!(
        audit["summary"]
            .as_str()
            .unwrap()
            .contains("can delete backups"),
        "{audit}"
    );
    assert!(!moto
        .keys("opsbook-backups")
        .iter()
        .any(|k| k.contains("audit-probe")));
    let b = &lj["data"]["backups"][0];
    assert_eq!(b["id"], id.as_str());
    assert_eq!(b["rows"].as_i64().unwrap(), 3001 + 1234);
    assert_eq!(b["stored_bytes"].as_u64().unwrap(), stored.len() as u64);

    // The local copy is gone (a lost host): the remote one alone is proven and restored.
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
    let vj = v.json();
    assert_eq!(Run::one(&vj, "backup.verify")["status"], "ok");
    assert_eq!(Run::one(&vj, "backup.restore_test")["status"], "ok");
    let copy = format!("{}__offsite", db.name);
    let r = opsbook(&[
        "restore", "--remote", "offsite", &id, "--into", &copy, "--yes",
    ])
    .config(&cfg)
    .format("json")
    .run();
    let restored = sandbox().psql(&copy, "SELECT count(*) FROM users");
    let _ = sandbox().drop_database(&copy);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(restored.unwrap(), "3001");
    // The private download directory is removed afterwards.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.iter()
            .all(|n| !n.to_string_lossy().starts_with(".opsbook-remote")),
        "{left:?}"
    );
}

#[test]
fn an_upload_stopped_before_its_record_is_not_listed_as_complete() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-stopped");
    let db = seeded("rm_stop", 500);
    let s = Scratch::new("rm_stop");
    let (cfg, _dir, _) = remote_config(&s, &db, &moto, "opsbook-stopped");

    // Held after the archive is whole in the bucket, before the record: then SIGTERM.
    let (mut cmd, _home) = opsbook(&["backup", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .into_command();
    let marker = s.path().join("paused-at");
    cmd.env("OPSBOOK_TEST_PAUSE_AT", "remote_record")
        .env("OPSBOOK_TEST_PAUSE_MARKER", &marker)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Child::spawn(cmd);
    wait_until("the upload reaches its record", || marker.exists());
    // SAFETY: our own child, not yet reaped.
    unsafe { libc::kill(child.pid() as i32, libc::SIGTERM) };
    let status = child
        .wait_for(Duration::from_secs(60))
        .expect("opsbook did not end after SIGTERM");
    assert_eq!(status.code(), Some(2));

    let keys = moto.keys("opsbook-stopped");
    assert!(
        keys.iter().any(|k| k.ends_with(".age")),
        "the archive itself was uploaded: {keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.ends_with(".remote.json")),
        "{keys:?}"
    );
    let list = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(list.code, 1, "{list}");
    let lj = list.json();
    assert_eq!(lj["data"]["backups"].as_array().unwrap().len(), 0);
    assert_eq!(Run::one(&lj, "backup.remote_list")["status"], "warning");
}

#[test]
fn inline_keys_and_unknown_remotes_are_refused_before_any_dump() {
    let db = TestDb::new("rm_refuse");
    let s = Scratch::new("rm_refuse");
    let dir = s.path().join("backups");
    let cfg = sandbox_config(
        &s,
        &db,
        &dir,
        "remotes:\n  offsite:\n    bucket: b-1\n    secret_access_key: AKIASECRET\n",
    );
    let run = opsbook(&["backup", "--remote", "offsite"])
        .config(&cfg)
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("access keys are never written in the config"),
        "{run}"
    );
    assert!(!run.stderr.contains("AKIASECRET"), "{run}");

    let cfg = sandbox_config(&s, &db, &dir, "remotes:\n  offsite:\n    bucket: b-1\n");
    let run = opsbook(&["backup", "--remote", "elsewhere"])
        .config(&cfg)
        .run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains("no remote named \"elsewhere\""),
        "{run}"
    );
    assert!(
        !dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none(),
        "a dump was taken"
    );
}

#[test]
fn prune_on_the_remote_keeps_the_newest_verified_copy() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-prune");
    let db = seeded("rm_prune", 200);
    let s = Scratch::new("rm_prune");
    let (cfg, _dir, _) = remote_config(&s, &db, &moto, "opsbook-prune");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let run = opsbook(&["backup", "--remote", "offsite"])
            .config(&cfg)
            .format("json")
            .run();
        assert_eq!(run.code, 0, "{run}");
        ids.push(
            Run::one(&run.json(), "backup.created")["summary"]
                .as_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_string(),
        );
        std::thread::sleep(Duration::from_millis(1100));
    }
    // Every copy is outside a one-second window: only the rule keeps the newest verified one.
    let dry = opsbook(&[
        "backup",
        "prune",
        "--remote",
        "offsite",
        "--keep-days",
        "0.00001",
        "--dry-run",
    ])
    .config(&cfg)
    .format("json")
    .run();
    assert_eq!(dry.code, 0, "{dry}");
    assert_eq!(
        moto.keys("opsbook-prune")
            .iter()
            .filter(|k| k.ends_with(".remote.json"))
            .count(),
        2
    );
    let run = opsbook(&[
        "backup",
        "prune",
        "--remote",
        "offsite",
        "--keep-days",
        "0.00001",
        "--yes",
    ])
    .config(&cfg)
    .format("json")
    .run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    assert_eq!(j["data"]["removed"], serde_json::json!([ids[0]]));
    assert_eq!(j["data"]["kept"][0]["id"], ids[1].as_str());
    assert_eq!(j["data"]["kept"][0]["why"], "newest verified");
    let keys = moto.keys("opsbook-prune");
    assert_eq!(keys.len(), 2, "one record and its archive: {keys:?}");
    let list = opsbook(&["backup", "list", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(list.json()["data"]["backups"][0]["id"], ids[1].as_str());
}

#[test]
fn check_night_reports_the_newest_remote_copy_and_an_unreachable_remote() {
    let _g = shared();
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("opsbook-night");
    let db = seeded("rm_night", 100);
    let s = Scratch::new("rm_night");
    let (cfg, _dir, _) = remote_config(&s, &db, &moto, "opsbook-night");
    let night = |cfg: &Path| {
        let run = opsbook(&["check", "night"])
            .config(cfg)
            .format("json")
            .run();
        let f = Run::one(&run.json(), "backup.remote_age").clone();
        f
    };
    // Nothing copied yet: no off-site copy is critical.
    let f = night(&cfg);
    assert_eq!(f["status"], "critical", "{f}");
    let run = opsbook(&["backup", "--remote", "offsite"])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let f = night(&cfg);
    assert_eq!(f["status"], "ok", "{f}");
    assert_eq!(f["subject"], "offsite");
    assert!(f["summary"].as_str().unwrap().contains("verified"), "{f}");
    assert!(f["value"].as_u64().unwrap() < 60, "{f}");

    // A remote nobody answers on: critical, with the reason.
    let dead = sandbox_config(
        &s,
        &db,
        &s.path().join("backups"),
        &format!("remotes:\n  offsite:\n    bucket: opsbook-night\n    endpoint: http://127.0.0.1:{}\n    path_style: true\n    credentials_file: {}\n", closed_port(), s.path().join("aws-credentials").display()),
    );
    let f = night(&dead);
    assert_eq!(f["status"], "critical", "{f}");
    assert!(
        f["summary"].as_str().unwrap().contains("cannot be listed"),
        "{f}"
    );
}
