//! `opsbook backup --rdb` / `restore --rdb` from the operator's side: a Redis snapshot in the
//! same catalog as the database backups, put back into a redis-server of the test's own (the
//! sandbox's Redis is shared by every test, so it is never flushed or restarted here).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

/// A private redis-server on a free loopback port, its files in `dir`, no save points.
pub(crate) struct PrivateRedis {
    port: u16,
    pub(crate) dir: PathBuf,
    child: Option<Child>,
    /// Another address it listens on too (a host's own, non-loopback one).
    also: Option<std::net::IpAddr>,
}

impl PrivateRedis {
    pub(crate) fn start(dir: &Path) -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::create_dir_all(dir).unwrap();
        let mut r = PrivateRedis {
            port,
            dir: dir.to_path_buf(),
            child: None,
            also: None,
        };
        r.run();
        r
    }

    /// Listening on this host's non-loopback address too (None when it has none): the way a
    /// server on another host looks to opsbook.
    fn start_also_on_host_address(dir: &Path) -> Option<(PrivateRedis, String)> {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
        s.connect("203.0.113.1:9").ok()?; // TEST-NET-3: a route, no packet sent
        let ip = s.local_addr().ok()?.ip();
        if ip.is_loopback() || ip.is_unspecified() {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        std::fs::create_dir_all(dir).unwrap();
        let mut r = PrivateRedis {
            port,
            dir: dir.to_path_buf(),
            child: None,
            also: Some(ip),
        };
        r.run();
        Some((r, format!("redis://{ip}:{port}")))
    }

    fn run(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"]);
        if let Some(ip) = self.also {
            cmd.arg(ip.to_string()).args(["--protected-mode", "no"]);
        }
        cmd.args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        self.child = Some(Child::spawn(cmd));
        let url = self.url();
        wait_until("the private redis-server to answer", || {
            redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        });
    }

    /// The operator's restart: stop without saving, start on the same dir.
    pub(crate) fn restart(&mut self) {
        let _ = self.cmd(0, &["SHUTDOWN", "NOSAVE"]);
        if let Some(mut c) = self.child.take() {
            c.wait_for(Duration::from_secs(10));
        }
        self.run();
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) fn cmd(&self, db: u32, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(format!("{}/{db}", self.url()))?;
        let mut con = client.get_connection()?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut con)
    }

    pub(crate) fn fill(&self, db: u32, n: u32) {
        for i in 0..n {
            self.cmd(db, &["SET", &format!("k:{i}"), &format!("value {i}")])
                .unwrap();
        }
    }

    pub(crate) fn dbsize(&self, db: u32) -> i64 {
        match self.cmd(db, &["DBSIZE"]).unwrap() {
            redis::Value::Int(n) => n,
            v => panic!("DBSIZE: {v:?}"),
        }
    }
}

#[test]
fn a_redis_snapshot_restores_with_the_same_keys_and_stays_out_of_database_latest() {
    let s = Scratch::new("redis-bk");
    let db = TestDb::new("redisbk");
    let dir = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &dir, "");
    let mut r = PrivateRedis::start(&s.path().join("redis"));
    r.fill(0, 120);
    r.fill(3, 7);
    let url = r.url();
    let ops = |args: &[&str]| opsbook(args).config(&cfg).redis(&url).format("json");

    // The operator takes the snapshot.
    let run = ops(&["backup", "--rdb", "--dir", dir.to_str().unwrap()]).run();
    assert_eq!(run.code, 0, "{run}");
    let v = run.json();
    let f = Run::one(&v, "backup.redis");
    let id = f["subject"].as_str().unwrap();
    assert_eq!(id, "_redis");
    let manifests: Vec<PathBuf> = std::fs::read_dir(dir.join("_redis"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .collect();
    assert_eq!(manifests.len(), 1);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifests[0]).unwrap()).unwrap();
    assert_eq!(m["kind"], "redis");
    assert_eq!(m["redis"]["keys"]["db0"], 120);
    assert_eq!(m["redis"]["keys"]["db3"], 7);
    assert!(m["archive"].as_str().unwrap().ends_with(".rdb.zst"), "{m}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&manifests[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "manifest mode {mode:o}");
    let snapshot_id = m["id"].as_str().unwrap().to_string();
    let d = dir.to_str().unwrap();

    // It is listed like any backup, with its kind.
    let v = ops(&["backup", "list", "--dir", dir.to_str().unwrap()])
        .run()
        .json();
    let listed = v["data"]["backups"]
        .as_array()
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(
        listed
            .iter()
            .any(|b| b["id"] == snapshot_id.as_str() && b["kind"] == "redis"),
        "{v:#}"
    );

    // `latest` for databases never picks it.
    let run = ops(&["backup", "verify", "latest", "--dir", dir.to_str().unwrap()]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("no verified database backup"), "{run}");
    let v = ops(&[
        "backup",
        "verify",
        "_redis/latest",
        "--dir",
        dir.to_str().unwrap(),
    ])
    .run()
    .json();
    assert_eq!(Run::one(&v, "backup.verify")["status"], "ok", "{v:#}");

    // A database restore does not take it.
    let run = ops(&["restore", &snapshot_id, "--yes", "--dir", d]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("restore --rdb"), "{run}");

    // Disaster: the data is gone.
    r.cmd(0, &["FLUSHALL"]).unwrap();
    assert_eq!(r.dbsize(0), 0);
    let run = ops(&[
        "restore",
        "--rdb",
        "--check",
        "latest",
        "--dir",
        dir.to_str().unwrap(),
    ])
    .run();
    assert_eq!(run.code, 2, "the check sees the loss: {run}");

    // Restore: the RDB goes where the server loads it from; the operator restarts it.
    let run = ops(&[
        "restore",
        "--rdb",
        "latest",
        "--yes",
        "--dir",
        dir.to_str().unwrap(),
    ])
    .run();
    assert_eq!(run.code, 1, "placed, restart pending: {run}");
    let v = run.json();
    assert_eq!(Run::one(&v, "restore.verify")["status"], "ok");
    assert!(r.dir.join("dump.rdb").is_file());
    r.restart();
    assert_eq!(r.dbsize(0), 120);
    assert_eq!(r.dbsize(3), 7);
    let run = ops(&[
        "restore",
        "--rdb",
        "--check",
        &snapshot_id,
        "--dir",
        dir.to_str().unwrap(),
    ])
    .run();
    assert_eq!(run.code, 0, "{run}");
    let v = run.json();
    assert_eq!(Run::one(&v, "restore.redis_keys")["value"], 127);

    // A damaged archive fails verify and is never placed.
    let placed = std::fs::read(r.dir.join("dump.rdb")).unwrap();
    let archive = dir.join("_redis").join(m["archive"].as_str().unwrap());
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    std::fs::write(&archive, &bytes).unwrap();
    let v = ops(&[
        "backup",
        "verify",
        &snapshot_id,
        "--dir",
        dir.to_str().unwrap(),
    ])
    .run()
    .json();
    assert_eq!(Run::one(&v, "backup.verify")["status"], "critical", "{v:#}");
    let run = ops(&[
        "restore",
        "--rdb",
        &snapshot_id,
        "--yes",
        "--dir",
        dir.to_str().unwrap(),
    ])
    .run();
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(std::fs::read(r.dir.join("dump.rdb")).unwrap(), placed);
}

#[test]
fn prune_treats_redis_snapshots_like_backups_and_keeps_the_newest() {
    let s = Scratch::new("redis-prune");
    let db = TestDb::new("redisprune");
    let dir = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &dir, "");
    let r = PrivateRedis::start(&s.path().join("redis"));
    r.fill(0, 5);
    let d = dir.to_str().unwrap();
    let ops = |args: &[&str]| opsbook(args).config(&cfg).redis(r.url()).format("json");
    for _ in 0..2 {
        let run = ops(&["backup", "--rdb", "--dir", d]).run();
        assert_eq!(run.code, 0, "{run}");
    }
    let list = ops(&["backup", "list", "--dir", d]).run().json();
    let ids: Vec<String> = list["data"]["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{list:#}");
    assert!(ids.iter().all(|i| i.starts_with("_redis/")), "{ids:?}");
    let run = ops(&["backup", "prune", "--keep", "1", "--yes", "--dir", d]).run();
    assert_eq!(run.code, 0, "{run}");
    let v = run.json();
    assert_eq!(v["data"]["removed"], serde_json::json!([ids[1]]), "{v:#}");
    let list = ops(&["backup", "list", "--dir", d]).run().json();
    assert_eq!(list["data"]["backups"][0]["id"], ids[0].as_str());
    assert_eq!(list["data"]["backups"].as_array().unwrap().len(), 1);
}

/// A redis-server whose `dir` is a tmpfs in a mount namespace of its own, so this host sees an
/// empty directory at the path `CONFIG GET dir` names (a container's volume); None, saying
/// why, where `unshare` cannot do that.
fn boxed_redis(dir: &Path) -> Option<(Child, u16)> {
    std::fs::create_dir_all(dir).unwrap();
    let port = closed_port();
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs none '{}' && exec redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no --dir '{}'",
            dir.display(),
            dir.display()
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let child = Child::spawn(cmd);
    let url = format!("redis://127.0.0.1:{port}");
    for _ in 0..50 {
        let up = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .and_then(|mut c| redis::cmd("SET").arg("k").arg("v").query::<String>(&mut c))
            .is_ok();
        if up {
            return Some((child, port));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "no mount namespace (unshare -m + mount tmpfs failed): the container case was not checked"
    );
    None
}

/// Both ways to a snapshot give the same verified manifest: BGSAVE with the server's own file
/// (chosen on its own for a server on this host whose dir is readable) and the replica
/// protocol (forced with --rdb-method sync); bgsave on a server whose dir is not here is refused.
#[test]
fn bgsave_and_sync_both_give_a_verified_snapshot_and_say_which() {
    let s = Scratch::new("redis-method");
    let db = TestDb::new("redismethod");
    let dir = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &dir, "");
    let r = PrivateRedis::start(&s.path().join("redis"));
    r.fill(0, 30);
    r.fill(1, 4);
    let url = r.url();
    let d = dir.to_str().unwrap();
    let ops = |args: &[&str]| opsbook(args).config(&cfg).redis(&url).format("json");
    let mut seen = Vec::new();
    for (flag, method) in [
        (None, "bgsave"),
        (Some("sync"), "sync"),
        (Some("bgsave"), "bgsave"),
    ] {
        let mut args = vec!["backup", "--rdb", "--dir", d];
        if let Some(f) = flag {
            args.extend(["--rdb-method", f]);
        }
        let run = ops(&args).run();
        assert_eq!(run.code, 0, "{run}");
        let j = run.json();
        let f = Run::one(&j, "backup.redis");
        let detail = f["detail"][0].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("method {method}:")),
            "{flag:?}: {f}"
        );
        let id = f["summary"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string();
        let v = ops(&["backup", "verify", &id, "--dir", d]).run();
        assert_eq!(v.code, 0, "{v}");
        let manifest = dir.join("_redis").join(format!(
            "{}.manifest.json",
            id.trim_start_matches("_redis/")
        ));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        assert_eq!(m["redis"]["method"], method, "{m}");
        assert_eq!(m["redis"]["keys"]["db0"], 30);
        assert_eq!(m["redis"]["keys"]["db1"], 4);
        assert!(m["sha256"].as_str().unwrap().len() == 64);
        seen.push(id);
        // Stamps are per second.
        std::thread::sleep(Duration::from_millis(1100));
    }
    // The server's own file is the one BGSAVE wrote.
    assert!(r.dir.join("dump.rdb").is_file());

    // A server whose dir is not on this host (here: removed under it, as a container's own
    // filesystem would be invisible): bgsave is refused with the way out.
    let elsewhere = PrivateRedis::start(&s.path().join("elsewhere"));
    elsewhere.fill(0, 5);
    std::fs::remove_dir_all(&elsewhere.dir).unwrap();
    let url = elsewhere.url();
    let ops = |args: &[&str]| opsbook(args).config(&cfg).redis(&url).format("json");
    let run = ops(&["backup", "--rdb", "--rdb-method", "bgsave", "--dir", d]).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("--rdb-method sync"), "{run}");

    // A dir of the same name here that is not the server's (a container's volume path that
    // also exists on the host; here: the server runs in a mount namespace of its own with a
    // tmpfs over that path): forced bgsave says so; auto falls back to the replica protocol.
    if let Some(_boxed) = boxed_redis(&s.path().join("boxed")) {
        let url = format!("redis://127.0.0.1:{}", _boxed.1);
        let ops = |args: &[&str]| opsbook(args).config(&cfg).redis(&url).format("json");
        let run = ops(&["backup", "--rdb", "--rdb-method", "bgsave", "--dir", d]).run();
        assert_eq!(run.code, 3, "{run}");
        assert!(run.stderr.contains("--rdb-method sync"), "{run}");
        let run = ops(&["backup", "--rdb", "--dir", d]).run();
        assert_eq!(run.code, 0, "{run}");
        let f = Run::one(&run.json(), "backup.redis").clone();
        let detail = f["detail"][0].as_str().unwrap();
        assert!(detail.starts_with("method sync: BGSAVE ran, but"), "{f}");
    }

    // A server on another host (here: this host's own address, which is not loopback): auto
    // takes the replica protocol, saying why.
    let Some((remote, url)) = PrivateRedis::start_also_on_host_address(&s.path().join("far"))
    else {
        eprintln!("no non-loopback address on this host: the remote-server choice was not checked");
        return;
    };
    remote.fill(0, 6);
    let run = opsbook(&["backup", "--rdb", "--dir", d])
        .config(&cfg)
        .redis(&url)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let f = Run::one(&run.json(), "backup.redis").clone();
    let detail = f["detail"][0].as_str().unwrap();
    assert!(
        detail.starts_with("method sync:") && detail.contains("not on this host"),
        "{f}"
    );
    assert!(
        f["summary"].as_str().unwrap().contains("replica-protocol"),
        "{f}"
    );
}

/// A BGSAVE already running when `backup --rdb` starts is waited for, then opsbook's own runs:
/// two saves in all (Redis refuses a second fork; opsbook neither fails on that nor takes the
/// older save as its snapshot).
#[test]
fn a_save_already_running_is_waited_for_not_doubled() {
    let s = Scratch::new("redis-busy");
    let db = TestDb::new("redisbusy");
    let dir = s.path().join("backups");
    let cfg = sandbox_config(&s, &db, &dir, "");
    let r = PrivateRedis::start(&s.path().join("redis"));
    r.cmd(
        0,
        &[
            "EVAL",
            "for i=1,10000 do redis.call('SET','k:'..i,'v') end",
            "0",
        ],
    )
    .unwrap();
    // 200 µs a key: each save takes about two seconds.
    r.cmd(0, &["CONFIG", "SET", "rdb-key-save-delay", "200"])
        .unwrap();
    let saves = || -> u64 {
        let info = match r.cmd(0, &["INFO", "persistence"]).unwrap() {
            redis::Value::BulkString(b) => String::from_utf8(b).unwrap(),
            redis::Value::VerbatimString { text, .. } => text,
            v => panic!("INFO: {v:?}"),
        };
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_saves:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = saves();
    r.cmd(0, &["BGSAVE"]).unwrap();
    let run = opsbook(&["backup", "--rdb", "--dir", dir.to_str().unwrap()])
        .config(&cfg)
        .redis(r.url())
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    let j = run.json();
    let f = Run::one(&j, "backup.redis");
    assert!(
        f["detail"][0]
            .as_str()
            .unwrap()
            .starts_with("method bgsave:"),
        "{f}"
    );
    assert_eq!(saves(), before + 2, "the running save and opsbook's own");
    let id = f["summary"].as_str().unwrap().split(':').next().unwrap();
    let v = opsbook(&["backup", "verify", id, "--dir", dir.to_str().unwrap()])
        .config(&cfg)
        .format("json")
        .run();
    assert_eq!(v.code, 0, "{v}");
}
