//! A small builder: create what a test needs, run `opsbook`, get status + stdout + JSON.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use opsbook::sandbox::{Sandbox, UpOptions, TEST_PREFIX};
use serde_json::Value;

/// The sandbox of this test process: started on first use, stopped by an `atexit` handler
/// (and by the watchdog if the process is killed). Panics with what to install when it
/// cannot start.
pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: std::sync::OnceLock<Result<Sandbox, String>> = std::sync::OnceLock::new();
    extern "C" fn stop_at_exit() {
        // Unwinding out of an extern "C" fn would abort the exit.
        let _ = std::panic::catch_unwind(|| {
            if let Some(Ok(sb)) = SANDBOX.get() {
                let _ = sb.down();
            }
        });
    }
    let started = SANDBOX.get_or_init(|| {
        // up() reaps the sandboxes of dead test processes in the same temp dir first.
        let tmp = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let me = std::process::id();
        let opts = UpOptions {
            dir: tmp.join(format!("{TEST_PREFIX}{me}-{nanos}")),
            demo_data: false,
            demo_scale: 1,
            owner_pid: Some(me),
            redis: true,
            ha: false,
        };
        let sb = Sandbox::up(&opts).map_err(|e| format!("{e:#}"))?;
        // SAFETY: registers a plain extern "C" fn that never unwinds.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        Ok(sb)
    });
    match started {
        Ok(sb) => sb,
        Err(msg) => panic!(
            "the test sandbox (a throwaway PostgreSQL + redis-server) could not start: {msg}\n\
             The integration tests need: apt-get install postgresql postgresql-contrib redis-server"
        ),
    }
}

/// The HA sandbox of this test process (`sandbox up --ha`: etcd, two Patroni nodes, a Redis
/// replica, three Sentinels, HAProxy), started on first use and stopped at exit like
/// [`sandbox`]. None (the reason printed) when an engine is not installed; a failure to
/// start with the engines installed panics.
pub fn ha_sandbox() -> Option<&'static Sandbox> {
    static HA: HaCell = std::sync::OnceLock::new();
    extern "C" fn stop_at_exit() {
        stop(&HA);
    }
    ha_started(&HA, "ha", stop_at_exit)
}

/// A second HA sandbox, for the tests that MOVE the primary (`replica promote` through
/// Patroni and the Sentinels): the tests that read [`ha_sandbox`] expect pg-a and cache-a
/// to lead, and a Sentinel failover straight back is not reliable (a Sentinel that has not
/// yet heard of the new epoch turns the promoted node back into a replica).
pub fn ha_sandbox_to_move() -> Option<&'static Sandbox> {
    static HA: HaCell = std::sync::OnceLock::new();
    extern "C" fn stop_at_exit() {
        stop(&HA);
    }
    ha_started(&HA, "hamove", stop_at_exit)
}

type HaCell = std::sync::OnceLock<Result<Sandbox, String>>;

fn stop(cell: &'static HaCell) {
    let _ = std::panic::catch_unwind(|| {
        if let Some(Ok(sb)) = cell.get() {
            let _ = sb.down();
        }
    });
}

fn ha_started(
    cell: &'static HaCell,
    tag: &str,
    stop_at_exit: extern "C" fn(),
) -> Option<&'static Sandbox> {
    static MISSING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(why) = MISSING.get_or_init(opsbook::sandbox::ha::engines_missing) {
        eprintln!("skipped: the HA engines are not installed: {why}");
        return None;
    }
    // One HA stack starts at a time: two starting at once in one process have collided (the
    // ports each picked up front, taken by the other's processes before it binds them).
    static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let started = cell.get_or_init(|| {
        let _one = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let me = std::process::id();
        let sb = Sandbox::up(&UpOptions {
            dir: std::env::temp_dir().join(format!("{TEST_PREFIX}{me}-{tag}{nanos}")),
            demo_data: false,
            demo_scale: 1,
            owner_pid: Some(me),
            redis: true,
            ha: true,
        })
        .map_err(|e| format!("{e:#}"))?;
        // SAFETY: registers a plain extern "C" fn that never unwinds.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        Ok(sb)
    });
    match started {
        Ok(sb) => Some(sb),
        Err(msg) => panic!("the HA test sandbox (sandbox up --ha) could not start: {msg}"),
    }
}

/// The HA sandbox's lock: a test that changes the HA stack (points a Sentinel elsewhere,
/// pauses Patroni) takes it exclusively and restores the stack before it lets go; every other
/// test of the HA sandbox takes it shared.
static HA_LOCK: RwLock<()> = RwLock::new(());

pub fn ha_shared() -> RwLockReadGuard<'static, ()> {
    HA_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

pub fn ha_exclusive() -> RwLockWriteGuard<'static, ()> {
    HA_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

/// A PostgreSQL cluster of a test's own (no Redis), for tests that change what the shared
/// sandbox must keep (archive_mode, replication): named with the test prefix so a dead test
/// process's cluster is reaped by the next `up`, and stopped with the process (`owner_pid`).
pub fn own_cluster(tag: &str) -> Sandbox {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let me = std::process::id();
    Sandbox::up(&UpOptions {
        dir: std::env::temp_dir().join(format!("{TEST_PREFIX}{me}-{tag}{nanos}")),
        demo_data: false,
        demo_scale: 1,
        owner_pid: Some(me),
        redis: false,
        ha: false,
    })
    .unwrap_or_else(|e| {
        panic!("starting the {tag} test's own cluster (apt-get install postgresql): {e:#}")
    })
}

/// Tests that compare cluster-wide numbers (connection counts) take this lock exclusively;
/// every other test takes it shared, so the numbers do not move under the comparison.
static CLUSTER: RwLock<()> = RwLock::new(());

pub fn shared() -> RwLockReadGuard<'static, ()> {
    CLUSTER.read().unwrap_or_else(|e| e.into_inner())
}

pub fn exclusive() -> RwLockWriteGuard<'static, ()> {
    CLUSTER.write().unwrap_or_else(|e| e.into_inner())
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "opsbook-it-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, rel: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database of the test's own in the shared sandbox, dropped at the end.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub fn new(tag: &str) -> TestDb {
        let name = format!("t_{tag}_{}", std::process::id());
        let sb = sandbox();
        let _ = sb.drop_database(&name);
        sb.create_database(&name).unwrap();
        TestDb { name }
    }

    pub fn url(&self) -> String {
        sandbox().pg_url(&self.name)
    }

    pub fn psql(&self, sql: &str) -> String {
        sandbox().psql(&self.name, sql).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = sandbox().drop_database(&self.name);
    }
}

/// A loopback port with nothing listening on it: a server that is down.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The environment variables a test run must never inherit: they could point at the
/// machine's own servers on 5432 / 6379.
const SCRUB: &[&str] = &[
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSSLMODE",
    "PGSERVICE",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGSSLROOTCERT",
    "DATABASE_URL",
    "DOCKER_HOST",
    "REDIS_URL",
    "OPSBOOK_CONFIG",
    "OPSBOOK_STATE_DIR",
    "COLUMNS",
    "OPSBOOK_SANDBOX_DIR",
    "NO_COLOR",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
];

/// Every finding id of a report must be declared in its command's table
/// (`opsbook::cli::FINDING_IDS`); tests/docs/ holds each table to the command's page and
/// `--help`, so every id a test makes a command print is documented in both.
pub fn assert_declared_ids(v: &Value) {
    if let (Some(command), Some(findings)) = (v["command"].as_str(), v["findings"].as_array()) {
        for f in findings {
            let id = f["id"].as_str().unwrap_or_default();
            assert!(
                opsbook::cli::declares_finding(command, id),
                "`{command}` printed finding `{id}`, which its FindingIds table does not declare (add it to the table and to the command's page in commands/)"
            );
        }
    }
}

/// The same for every JSON report on a run's stdout (one, or one per `--watch` round), however
/// the test reads it afterwards.
fn assert_declared_ids_in(stdout: &str) {
    if !stdout.trim_start().starts_with('{') {
        return;
    }
    for doc in serde_json::Deserializer::from_str(stdout).into_iter::<Value>() {
        match doc {
            Ok(v) if v["schema"] == "opsbook.report/v1" => assert_declared_ids(&v),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The report on stdout, parsed; every finding id in it must be declared in its command's
    /// table (`opsbook::cli::FINDING_IDS`, which `--help` lists and the operator pages document).
    pub fn json(&self) -> Value {
        let v: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr ---\n{}",
                self.stdout, self.stderr
            )
        });
        assert_declared_ids(&v);
        v
    }

    pub fn findings<'a>(json: &'a Value, id: &str) -> Vec<&'a Value> {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == id)
            .collect()
    }

    pub fn one<'a>(json: &'a Value, id: &str) -> &'a Value {
        let f = Self::findings(json, id);
        assert_eq!(f.len(), 1, "expected one {id} finding in {json:#}");
        f[0]
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n------- stderr -------\n{}[exit status: {}]",
            self.stdout, self.stderr, self.code
        )
    }
}

pub struct Opsbook {
    cmd: Command,
    stdin: Option<String>,
    _home: Scratch,
}

/// `opsbook ARGS` with a clean environment: a fresh HOME and state dir, no PG*/REDIS vars.
pub fn opsbook(args: &[&str]) -> Opsbook {
    command(env!("CARGO_BIN_EXE_opsbook"), args)
}

/// Any program (a wrapper such as `prlimit ... -- opsbook ...`) in the same clean environment.
pub fn command(program: &str, args: &[&str]) -> Opsbook {
    let (cmd, home) = program_command(program, args);
    Opsbook {
        cmd,
        stdin: None,
        _home: home,
    }
}

/// The same clean `opsbook ARGS` as a plain Command (e.g. to run under a pseudo-terminal);
/// keep the Scratch alive while it runs.
pub fn opsbook_command(args: &[&str]) -> (Command, Scratch) {
    opsbook(args).into_command()
}

fn program_command(program: &str, args: &[&str]) -> (Command, Scratch) {
    let home = Scratch::new("home");
    let mut cmd = Command::new(program);
    for v in SCRUB {
        cmd.env_remove(v);
    }
    cmd.env("HOME", home.path());
    cmd.env("OPSBOOK_STATE_DIR", home.path().join("state"));
    cmd.args(args);
    (cmd, home)
}

/// The builder reads as the test's intent: `opsbook(&["check", "morning"]).config(&cfg).json()`.
/// Each flag method appends the global flag after the arguments given so far; clap reads a
/// global flag anywhere after the subcommand, so the order is never the test's point.
impl Opsbook {
    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// One more argument (a path needs no `to_str().unwrap()`).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    /// More arguments (paths need no `to_str().unwrap()`).
    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.cmd.args(args);
        self
    }

    /// `--config PATH`.
    pub fn config(self, path: impl AsRef<OsStr>) -> Self {
        self.flag("--config", path)
    }

    /// `--pg URL`.
    pub fn pg(self, url: impl AsRef<OsStr>) -> Self {
        self.flag("--pg", url)
    }

    /// `--redis URL`.
    pub fn redis(self, url: impl AsRef<OsStr>) -> Self {
        self.flag("--redis", url)
    }

    /// `--format FORMAT` (table, json, prometheus, nagios, or a wrong one on purpose).
    pub fn format(self, format: &str) -> Self {
        self.flag("--format", format)
    }

    /// `NAME VALUE`: any flag with a path or a string value.
    pub fn flag(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(name).arg(value);
        self
    }

    /// The run's history and locks in `dir` (`OPSBOOK_STATE_DIR`) instead of the fresh HOME's,
    /// so two runs can share them.
    pub fn state_dir(self, dir: impl AsRef<OsStr>) -> Self {
        self.env("OPSBOOK_STATE_DIR", dir)
    }

    /// `--format json`, run, and the parsed report (panics with the whole run when stdout is
    /// not JSON). For the exit status too, use `.format("json").run()` and `Run::json`.
    pub fn json(self) -> Value {
        self.format("json").run().json()
    }

    #[allow(dead_code)]
    pub fn stdin(mut self, s: &str) -> Self {
        self.stdin = Some(s.to_string());
        self
    }

    /// The built command as a plain Command (to spawn, signal or run under a pseudo-terminal);
    /// keep the Scratch (its HOME) alive while it runs. A `stdin` text is not carried over.
    pub fn into_command(self) -> (Command, Scratch) {
        (self.cmd, self._home)
    }

    pub fn run(mut self) -> Run {
        let start = Instant::now();
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("spawning opsbook");
        if let Some(input) = self.stdin.take() {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
        };
        assert_declared_ids_in(&run.stdout);
        run
    }
}

/// A config pointing at the sandbox's servers and the test's own database and backup dir;
/// host thresholds are set out of reach so the machine's own disk and RAM never decide a test.
pub fn sandbox_config(scratch: &Scratch, db: &TestDb, backup_dir: &Path, extra: &str) -> PathBuf {
    let sb = sandbox();
    let pw = scratch.write("pg.password", &sb.password().unwrap(), 0o600);
    let text = format!(
        "postgres:\n  url: {}\n  password_file: {}\nredis:\n  url: {}\nbackup:\n  dir: {}\nservices: []\nthresholds:\n  disk_pct: {{warning: 99.5, critical: 99.9}}\n  memory_pct: {{warning: 99.5, critical: 99.9}}\n{extra}",
        db.url(),
        pw.display(),
        sb.redis_url(),
        backup_dir.display()
    );
    scratch.write("opsbook.yaml", &text, 0o600)
}

/// A backup directory holding one fresh backup file.
pub fn fresh_backup(scratch: &Scratch) -> PathBuf {
    let dir = scratch.path().join("backups");
    scratch.write(
        "backups/app/20261122T010000Z.dump",
        "PGDMP fake but fresh",
        0o600,
    );
    dir
}

/// Redis INFO over a raw TCP connection (no client library: an independent reading).
pub fn redis_info_field(port: u16, field: &str) -> u64 {
    use std::io::{BufRead, BufReader, Read};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"INFO memory\r\n").unwrap();
    let mut r = BufReader::new(s);
    let mut header = String::new();
    r.read_line(&mut header).unwrap();
    let len: usize = header.trim().trim_start_matches('$').parse().unwrap();
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

/// A psql on the test's own database, for sessions that must outlive one call (a lock holder,
/// waiters, a burst of statements): the sandbox's credentials, `application_name` = `app`.
pub fn psql_command(db: &TestDb, app: &str) -> Command {
    let sb = sandbox();
    let mut cmd = Command::new("psql");
    for v in SCRUB {
        cmd.env_remove(v);
    }
    cmd.env("PGHOST", "127.0.0.1")
        .env("PGPORT", sb.state.pg_port.to_string())
        .env("PGUSER", "postgres")
        .env("PGDATABASE", &db.name)
        .env("PGPASSFILE", sb.pgpass_path())
        .env("PGSSLMODE", "disable")
        .env("PGAPPNAME", app)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A child process killed (and reaped) when the test ends, pass or fail.
pub struct Child(pub std::process::Child);

impl Child {
    pub fn spawn(mut cmd: Command) -> Child {
        Child(cmd.spawn().expect("spawning a test helper process"))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Wait up to `limit` for it to exit; its exit status, or None if it still runs.
    pub fn wait_for(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.0.try_wait().unwrap() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Poll `cond` every 50 ms for up to 10 s; panics with `what` when it never holds.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One command on the sandbox's Redis (RPUSH, SADD, DEL ...), for fixtures.
pub fn redis_cmd(args: &[&str]) -> redis::Value {
    let client = redis::Client::open(sandbox().redis_url()).unwrap();
    let mut con = client.get_connection().unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut con)
        .unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}

/// A local HTTP receiver: records each request (method, path, JSON body), answers 200.
pub struct Receiver {
    pub port: u16,
    got: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { continue };
                let mut r = BufReader::new(c.try_clone().unwrap());
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let path = parts.next().unwrap_or("").to_string();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                }
                let mut body = vec![0u8; len];
                r.read_exact(&mut body).unwrap();
                let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                sink.lock().unwrap().push(Request { method, path, body });
                let _ = c.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            }
        });
        Receiver { port, got }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.got.lock().unwrap().clone()
    }

    pub fn telegram(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/bot"))
            .collect()
    }

    pub fn webhook(&self) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == "/hook")
            .collect()
    }
}
