//! `services:` entries of kind docker and swarm, against a private dockerd of the test binary
//! (its own data root and socket; host networking only, no registry: the test image is
//! busybox-static imported from a tar). Skipped, saying why, when dockerd cannot start here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{fresh_backup, opsbook, sandbox_config, shared, Run, Scratch, TestDb};

const IMAGE: &str = "opsbook-test-busybox:1";

/// The private daemon: its directory (socket `d.sock` inside) and pid.
struct Dockerd {
    dir: PathBuf,
    pid: u32,
}

impl Dockerd {
    fn host(&self) -> String {
        format!("unix://{}", self.dir.join("d.sock").display())
    }
}

static DOCKERD: OnceLock<Result<Dockerd, String>> = OnceLock::new();

/// The daemon of this test process, started on first use and stopped at exit; Err says why it
/// could not start (the tests that need it then skip).
fn dockerd() -> Result<&'static Dockerd, &'static str> {
    extern "C" fn stop_at_exit() {
        let _ = std::panic::catch_unwind(|| {
            if let Some(Ok(d)) = DOCKERD.get() {
                stop(d);
            }
        });
    }
    let started = DOCKERD.get_or_init(|| {
        let d = start()?;
        // SAFETY: registers a plain extern "C" fn that never unwinds.
        unsafe {
            libc::atexit(stop_at_exit);
        }
        if let Err(e) = build_image(&d) {
            stop(&d);
            return Err(e);
        }
        Ok(d)
    });
    started.as_ref().map_err(|e| e.as_str())
}

fn find_bin(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn start() -> Result<Dockerd, String> {
    let bin = find_bin("dockerd").ok_or("dockerd is not installed (apt-get install docker.io)")?;
    if find_bin("docker").is_none() {
        return Err("the docker CLI is not installed (apt-get install docker.io)".into());
    }
    if unsafe { libc::geteuid() } != 0 {
        return Err("dockerd needs root here".into());
    }
    // short: a Unix socket path is at most 107 bytes
    let dir = PathBuf::from(format!("/tmp/obd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for driver in ["overlay2", "vfs"] {
        let log = std::fs::File::create(dir.join(format!("dockerd-{driver}.log")))
            .map_err(|e| e.to_string())?;
        let d = dir.display();
        let mut child = Command::new(&bin)
            .args([
                format!("--data-root={d}/data"),
                format!("--exec-root={d}/exec"),
                format!("--host=unix://{d}/d.sock"),
                format!("--pidfile={d}/d.pid"),
                "--iptables=false".into(),
                "--ip6tables=false".into(),
                "--bridge=none".into(),
                format!("--storage-driver={driver}"),
                "--shutdown-timeout=2".into(),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("spawning dockerd: {e}"))?;
        let d = Dockerd {
            dir: dir.clone(),
            pid: child.id(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                last = format!("dockerd ({driver}) exited with {status}");
                break;
            }
            if docker(&d, &["version", "--format", "{{.Server.Version}}"]).is_ok() {
                // reaped by stop(); the Child handle is not kept
                std::mem::forget(child);
                return Ok(d);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        if last.is_empty() {
            last = format!("dockerd ({driver}) did not answer within 20 s");
        }
        let tail =
            std::fs::read_to_string(dir.join(format!("dockerd-{driver}.log"))).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(3).collect();
        last = format!("{last}: {}", tail.join(" | "));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Err(last)
}

fn stop(d: &Dockerd) {
    if let Ok(ids) = docker(d, &["ps", "-aq"]) {
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = docker(d, &args);
        }
    }
    unsafe {
        libc::kill(d.pid as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && Path::new(&format!("/proc/{}", d.pid)).exists() {
        // our child: reap it so /proc/<pid> goes away
        unsafe {
            libc::waitpid(d.pid as i32, std::ptr::null_mut(), libc::WNOHANG);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // what the daemon left mounted under its directory (netns, overlay), deepest first
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let prefix = d.dir.display().to_string();
    let mut under: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    under.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in under {
        let _ = Command::new("umount").args(["-l", m]).status();
    }
    let _ = std::fs::remove_dir_all(&d.dir);
}

/// `docker ARGS` against the private daemon: stdout, or Err with stderr.
fn docker(d: &Dockerd, args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .env("DOCKER_HOST", d.host())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// busybox-static as the whole root filesystem, imported (no registry is reachable).
fn build_image(d: &Dockerd) -> Result<(), String> {
    let busybox =
        find_bin("busybox").ok_or("busybox is not installed (apt-get install busybox-static)")?;
    let root = d.dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).map_err(|e| e.to_string())?;
    std::fs::copy(&busybox, root.join("bin/busybox")).map_err(|e| e.to_string())?;
    for applet in ["sh", "sleep", "echo", "head", "tr", "true", "false", "cat"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
            .map_err(|e| e.to_string())?;
    }
    let tar = d.dir.join("rootfs.tar");
    let ok = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .map_err(|e| e.to_string())?;
    if !ok.success() {
        return Err("tar of the test rootfs failed".into());
    }
    docker(d, &["import", &tar.display().to_string(), IMAGE]).map(|_| ())
}

macro_rules! daemon_or_skip {
    () => {
        match dockerd() {
            Ok(d) => d,
            Err(why) => {
                eprintln!("skipping: no private dockerd: {why}");
                return;
            }
        }
    };
}

/// A container removed when the test ends.
struct Container<'a> {
    d: &'a Dockerd,
    name: String,
}

impl<'a> Container<'a> {
    fn run(d: &'a Dockerd, tag: &str, opts: &[&str], cmd: &str) -> Container<'a> {
        let name = format!("ob-{tag}-{}", std::process::id());
        let _ = docker(d, &["rm", "-f", &name]);
        let mut args = vec!["run", "-d", "--init", "--network", "host", "--name", &name];
        args.extend(opts);
        args.extend([IMAGE, "sh", "-c", cmd]);
        docker(d, &args).unwrap_or_else(|e| panic!("docker run {name}: {e}"));
        Container { d, name }
    }

    fn inspect(&self, format: &str) -> String {
        docker(self.d, &["inspect", "--format", format, &self.name]).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, secs: u64, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {} to be {what}: {}",
                self.name,
                self.inspect("{{json .State}}")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = docker(self.d, &["rm", "-f", &self.name]);
    }
}

/// A config whose `services:` are `services` (YAML flow list), pointing at the sandbox.
fn config(s: &Scratch, db: &TestDb, services: &str) -> String {
    let cfg = sandbox_config(s, db, &fresh_backup(s), "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("services: []", &format!("services: {services}"));
    std::fs::write(&cfg, text).unwrap();
    cfg.display().to_string()
}

fn morning(d: &Dockerd, cfg: &str, state: Option<&Path>) -> Run {
    let mut o = opsbook(&["check", "morning"])
        .config(cfg)
        .env("DOCKER_HOST", d.host());
    if let Some(dir) = state {
        o = o.state_dir(dir);
    }
    o.format("json").run()
}

fn of<'a>(j: &'a Value, id: &str, subject: &str) -> &'a Value {
    Run::findings(j, id)
        .into_iter()
        .find(|f| f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {id} finding for {subject} in {j:#}"))
}

#[test]
fn a_healthy_container_is_ok_on_every_count() {
    let d = daemon_or_skip!();
    let _g = shared();
    let c = Container::run(
        d,
        "healthy",
        &[
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
            "--memory",
            "64m",
        ],
        "sleep 1000",
    );
    c.wait_for("healthy", 30, |c| {
        c.inspect("{{.State.Health.Status}}") == "healthy"
    });
    let db = TestDb::new("dk_healthy");
    let s = Scratch::new("dk-healthy");
    let cfg = config(&s, &db, &format!("[{{kind: docker, name: {}}}]", c.name));
    let j = morning(d, &cfg, None).json();
    for id in [
        "container.state",
        "container.health",
        "container.restarts",
        "container.oom_killed",
        "container.memory",
        "container.log_errors",
    ] {
        let f = of(&j, id, &c.name);
        assert_eq!(f["status"], "ok", "{f:#}");
    }
    assert_eq!(of(&j, "container.health", &c.name)["value"], "healthy");
    assert_eq!(of(&j, "container.state", &c.name)["value"], "running");
    let mem = of(&j, "container.memory", &c.name);
    assert_eq!(mem["unit"], "percent", "{mem:#}");
    assert!(
        mem["summary"].as_str().unwrap().contains("64.0 MiB limit"),
        "{mem:#}"
    );
    // a missing container is critical, by name
    let cfg = config(&s, &db, "[{kind: docker, name: ob-no-such-container}]");
    let run = morning(d, &cfg, None);
    let f = of(&run.json(), "container.state", "ob-no-such-container").clone();
    assert_eq!(f["status"], "critical", "{f:#}");
    assert_eq!(run.code, 2);
}

#[test]
fn an_unhealthy_container_is_critical() {
    let d = daemon_or_skip!();
    let _g = shared();
    let c = Container::run(
        d,
        "unhealthy",
        &[
            "--health-cmd",
            "echo probe says no; false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
        ],
        "sleep 1000",
    );
    c.wait_for("unhealthy", 30, |c| {
        c.inspect("{{.State.Health.Status}}") == "unhealthy"
    });
    let db = TestDb::new("dk_unhealthy");
    let s = Scratch::new("dk-unhealthy");
    let cfg = config(&s, &db, &format!("[{{kind: docker, name: {}}}]", c.name));
    let run = morning(d, &cfg, None);
    let j = run.json();
    let h = of(&j, "container.health", &c.name);
    assert_eq!(h["status"], "critical", "{h:#}");
    assert_eq!(h["value"], "unhealthy");
    assert!(
        h["detail"][0].as_str().unwrap().contains("probe says no"),
        "{h:#}"
    );
    assert_eq!(of(&j, "container.state", &c.name)["status"], "ok");
    assert_eq!(run.code, 2, "{run}");
}

#[test]
fn a_container_killed_by_its_memory_limit_reports_oom_killed() {
    let d = daemon_or_skip!();
    let _g = shared();
    let c = Container::run(
        d,
        "oom",
        &["--memory", "8m", "--memory-swap", "8m"],
        "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived",
    );
    c.wait_for("exited", 30, |c| c.inspect("{{.State.Status}}") == "exited");
    let db = TestDb::new("dk_oom");
    let s = Scratch::new("dk-oom");
    let cfg = config(&s, &db, &format!("[{{kind: docker, name: {}}}]", c.name));
    let run = morning(d, &cfg, None);
    let j = run.json();
    let oom = of(&j, "container.oom_killed", &c.name);
    assert_eq!(oom["status"], "critical", "{oom:#}");
    assert_eq!(oom["value"], true);
    assert!(
        oom["summary"].as_str().unwrap().contains("8.0 MiB"),
        "{oom:#}"
    );
    let state = of(&j, "container.state", &c.name);
    assert_eq!(state["status"], "critical", "{state:#}");
    assert!(
        state["summary"].as_str().unwrap().contains("exit code 137"),
        "{state:#}"
    );
    assert_eq!(run.code, 2);
}

#[test]
fn a_restart_loop_is_reported_and_counted_from_the_previous_run() {
    let d = daemon_or_skip!();
    let _g = shared();
    let c = Container::run(
        d,
        "loop",
        &["--restart", "always"],
        "echo 'error: cannot reach db'; exit 1",
    );
    c.wait_for("restarted 3 times", 30, |c| {
        c.inspect("{{.RestartCount}}").parse::<u64>().unwrap_or(0) >= 3
    });
    let db = TestDb::new("dk_loop");
    let s = Scratch::new("dk-loop");
    let state = s.path().join("state");
    let cfg = config(&s, &db, &format!("[{{kind: docker, name: {}}}]", c.name));
    let j = morning(d, &cfg, Some(&state)).json();
    let r = of(&j, "container.restarts", &c.name);
    let first = r["value"].as_u64().unwrap();
    assert!(first >= 3, "{r:#}");
    assert_eq!(r["status"], "critical", "{r:#}");
    // between two restarts it says the exit code; while running, when it last stopped
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.contains("last exit code 1,") || summary.contains("last stopped"),
        "{r:#}"
    );
    let logs = of(&j, "container.log_errors", &c.name);
    assert!(logs["value"].as_u64().unwrap() >= 3, "{logs:#}");
    assert!(
        logs["detail"][0]
            .as_str()
            .unwrap()
            .contains("cannot reach db"),
        "{logs:#}"
    );
    // the next run counts only what happened since this one
    let j = morning(d, &cfg, Some(&state)).json();
    let r = of(&j, "container.restarts", &c.name);
    assert!(r["value"].as_u64().unwrap() < first, "{r:#}");
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains("since the previous run"),
        "{r:#}"
    );
}

#[test]
fn error_lines_of_a_compose_service_are_counted_since_the_previous_run() {
    let d = daemon_or_skip!();
    let _g = shared();
    let svc = format!("api{}", std::process::id());
    let label = format!("com.docker.compose.service={svc}");
    let c = Container::run(
        d,
        "logs",
        &["--label", &label, "--tty=false"],
        "echo ERROR one; echo fine; echo 'an Error two' >&2; echo ok; echo error three; sleep 1000",
    );
    c.wait_for("logging", 20, |c| {
        docker(c.d, &["logs", &c.name]).is_ok_and(|o| o.contains("three"))
            || docker(c.d, &["logs", &c.name]).is_err_and(|e| e.contains("three"))
    });
    // the next run's window starts after these lines (the API's `since` is in whole seconds)
    std::thread::sleep(Duration::from_millis(1100));
    let db = TestDb::new("dk_logs");
    let s = Scratch::new("dk-logs");
    let state = s.path().join("state");
    let cfg = config(
        &s,
        &db,
        &format!("[{{kind: docker, compose_service: {svc}}}]"),
    );
    let j = morning(d, &cfg, Some(&state)).json();
    let logs = of(&j, "container.log_errors", &c.name);
    assert_eq!(logs["value"], 3, "{logs:#}");
    assert_eq!(logs["detail"].as_array().unwrap().len(), 3, "{logs:#}");
    // stdout and stderr are both read (their order between the two streams is the daemon's)
    assert!(
        logs["detail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "an Error two"),
        "{logs:#}"
    );
    let j = morning(d, &cfg, Some(&state)).json();
    let logs = of(&j, "container.log_errors", &c.name);
    assert_eq!(logs["value"], 0, "{logs:#}");
    assert!(
        logs["summary"]
            .as_str()
            .unwrap()
            .contains("since the previous run"),
        "{logs:#}"
    );
}

#[test]
fn a_two_replica_swarm_service_with_a_failing_task_is_one_of_two() {
    let d = daemon_or_skip!();
    let _g = shared();
    struct Swarm<'a>(&'a Dockerd);
    impl Drop for Swarm<'_> {
        fn drop(&mut self) {
            let _ = docker(self.0, &["swarm", "leave", "--force"]);
            let _ = docker(self.0, &["network", "rm", "docker_gwbridge"]);
        }
    }
    // a free loopback port: 2377 may be another daemon's
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    docker(
        d,
        &[
            "swarm",
            "init",
            "--advertise-addr",
            &listen,
            "--listen-addr",
            &listen,
        ],
    )
    .expect("docker swarm init");
    let _swarm = Swarm(d);
    let name = format!("obsw{}", std::process::id());
    // slot 2 exits 1 at once; Swarm gives it two more tries, then leaves it failed
    docker(
        d,
        &[
            "service",
            "create",
            "-d",
            "--name",
            &name,
            "--replicas",
            "2",
            "--network",
            "host",
            "--restart-condition",
            "on-failure",
            "--restart-max-attempts",
            "2",
            "--restart-delay",
            "1s",
            "--env",
            "SLOT={{.Task.Slot}}",
            IMAGE,
            "sh",
            "-c",
            "if [ \"$SLOT\" = 2 ]; then echo error; exit 1; fi; sleep 1000",
        ],
    )
    .expect("docker service create");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ps = docker(
            d,
            &[
                "service",
                "ps",
                &name,
                "--format",
                "{{.Name}} {{.CurrentState}}",
            ],
        )
        .unwrap_or_default();
        let failed = ps.lines().filter(|l| l.contains("Failed")).count();
        let running = ps.lines().filter(|l| l.contains("Running")).count();
        if failed >= 3 && running == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "swarm service never settled:\n{ps}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let db = TestDb::new("dk_swarm");
    let s = Scratch::new("dk-swarm");
    let cfg = config(
        &s,
        &db,
        &format!("[{{kind: swarm, name: {name}}}, {{kind: swarm, name: {name}x}}]"),
    );
    let run = morning(d, &cfg, None);
    let j = run.json();
    let r = of(&j, "swarm.replicas", &name);
    assert_eq!(r["value"], 1, "{r:#}");
    assert_eq!(r["status"], "warning", "{r:#}");
    assert!(r["summary"].as_str().unwrap().contains("1/2"), "{r:#}");
    let f = of(&j, "swarm.task_failures", &name);
    assert_eq!(f["value"], 3, "{f:#}");
    assert_eq!(f["status"], "critical", "{f:#}");
    let missing = of(&j, "swarm.replicas", &format!("{name}x"));
    assert_eq!(missing["status"], "critical", "{missing:#}");
    let _ = docker(d, &["service", "rm", &name]);
}

#[test]
fn docker_host_over_tcp_or_without_a_daemon_is_unknown_with_the_reason() {
    let _g = shared();
    let db = TestDb::new("dk_tcp");
    let s = Scratch::new("dk-tcp");
    let cfg = config(&s, &db, "[{kind: docker, name: db}]");
    let j = opsbook(&["check", "morning"])
        .config(&cfg)
        .env("DOCKER_HOST", "tcp://127.0.0.1:1")
        .json();
    let f = of(&j, "container.state", "db");
    assert_eq!(f["status"], "unknown", "{f:#}");
    assert!(
        f["summary"].as_str().unwrap().contains("Unix socket only"),
        "{f:#}"
    );
    // no daemon at the socket: unknown, saying where it looked and what to check
    let j = opsbook(&["check", "morning"])
        .config(&cfg)
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .json();
    let f = of(&j, "container.state", "db");
    assert_eq!(f["status"], "unknown", "{f:#}");
    let text = format!("{} {}", f["summary"], f["hint"]);
    assert!(text.contains("/nonexistent/docker.sock"), "{f:#}");
    assert!(text.contains("is dockerd running"), "{f:#}");
}

#[test]
fn a_service_entry_of_no_known_shape_is_refused_at_its_line() {
    let s = Scratch::new("dk-cfg");
    let cfg = s.write(
        "opsbook.yaml",
        "services:\n  - postgresql\n  - {kind: docker, name: db, compose_service: api}\n",
        0o600,
    );
    let run = opsbook(&["config", "check"]).arg(&cfg).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("opsbook.yaml:3:5"), "{run}");
    assert!(run.stderr.contains("not both"), "{run}");
    let cfg = s.write(
        "opsbook.yaml",
        "services:\n  - postgresql\n  - {kind: podman, name: db}\n",
        0o600,
    );
    let run = opsbook(&["config", "check"]).arg(&cfg).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("podman"), "{run}");
}
