//! `opsbook check health` from the operator's side: the seeds' /health endpoint as a command.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::harness::*;

/// An RQ queue of the test's own in the sandbox's Redis, removed at the end.
struct RqQueue {
    name: String,
}

impl RqQueue {
    fn with_jobs(tag: &str, jobs: usize) -> RqQueue {
        let name = format!("t_{tag}_{}", std::process::id());
        let q = RqQueue { name };
        q.cleanup();
        for i in 0..jobs {
            redis_cmd(&["RPUSH", &q.key(), &format!("job-{i}")]);
        }
        redis_cmd(&["SADD", "rq:queues", &q.key()]);
        q
    }

    fn key(&self) -> String {
        format!("rq:queue:{}", self.name)
    }

    fn worker_key(&self) -> String {
        format!("rq:worker:{}-1", self.name)
    }

    /// What a running RQ worker leaves: its registration and its live `rq:worker:` hash.
    fn add_worker(&self) {
        self.register_worker();
        redis_cmd(&["HSET", &self.worker_key(), "state", "idle"]);
    }

    /// A registration whose worker key is gone: a worker killed before it could unregister.
    fn register_worker(&self) {
        redis_cmd(&[
            "SADD",
            &format!("rq:workers:{}", self.name),
            &self.worker_key(),
        ]);
    }

    fn cleanup(&self) {
        redis_cmd(&[
            "DEL",
            &self.key(),
            &format!("rq:workers:{}", self.name),
            &format!("rq:registry:failed:{}", self.name),
            &self.worker_key(),
        ]);
        redis_cmd(&["SREM", "rq:queues", &self.key()]);
    }
}

impl Drop for RqQueue {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// A tiny HTTP server on a loopback port answering every request with `status`.
fn http_stub(status: &'static str) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            let body = "{\"status\": \"stub\"}";
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/health")
}

fn health(cfg: &std::path::Path, extra: &[&str]) -> Run {
    opsbook(&["check", "health"])
        .format("json")
        .config(cfg)
        .args(extra)
        .run()
}

#[test]
fn a_queue_with_jobs_and_no_worker_is_degraded_and_healthy_once_a_worker_listens() {
    let _g = shared();
    let db = TestDb::new("hq");
    let s = Scratch::new("hq");
    let q = RqQueue::with_jobs("hq_tasks", 3);
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [{}]\n", q.name),
    );

    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(j["data"]["status"], "degraded", "{run}");
    let f = Run::one(&j, "rq.queue");
    assert_eq!(f["subject"], q.name.as_str());
    assert_eq!(f["status"], "warning", "{run}");
    assert_eq!(f["value"], 3);
    assert!(
        f["summary"].as_str().unwrap().contains("no worker"),
        "{run}"
    );
    assert!(f["hint"].as_str().unwrap().contains("rq worker"), "{run}");
    let verdict = Run::one(&j, "health.status");
    assert_eq!(verdict["value"], "degraded");
    assert_eq!(
        j["data"]["checks"]["queues"][&q.name],
        serde_json::json!({"status": "warning", "jobs": 3, "workers": 0, "failed": 0})
    );
    assert_eq!(j["data"]["checks"]["rq_workers"]["workers"][&q.name], 0);
    assert_eq!(j["data"]["checks"]["rq_workers"]["queue_sizes"][&q.name], 3);

    // The operator's table says the word too.
    let table = opsbook(&["check", "health"]).config(&cfg).run();
    assert_eq!(table.code, 1, "{table}");
    assert!(table.stdout.contains("degraded"), "{table}");

    q.add_worker();
    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(j["data"]["status"], "healthy", "{run}");
    assert_eq!(Run::one(&j, "rq.queue")["status"], "ok");
    assert_eq!(j["data"]["checks"]["queues"][&q.name]["workers"], 1);
}

#[test]
fn a_dead_workers_leftover_registration_does_not_count_as_a_worker() {
    let _g = shared();
    let db = TestDb::new("hdead");
    let s = Scratch::new("hdead");
    let q = RqQueue::with_jobs("hq_dead", 2);
    q.register_worker();
    redis_cmd(&[
        "ZADD",
        &format!("rq:registry:failed:{}", q.name),
        "1",
        "job-x",
    ]);
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [{}]\n", q.name),
    );
    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 1, "{run}");
    let f = Run::one(&j, "rq.queue");
    assert_eq!(f["status"], "warning", "{run}");
    assert_eq!(
        j["data"]["checks"]["queues"][&q.name],
        serde_json::json!({"status": "warning", "jobs": 2, "workers": 0, "failed": 1})
    );
}

#[test]
fn a_backlog_above_the_threshold_is_degraded() {
    let _g = shared();
    let db = TestDb::new("hbacklog");
    let s = Scratch::new("hbacklog");
    let q = RqQueue::with_jobs("hq_backlog", 6);
    q.add_worker();
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!(
            "health:\n  queues: [{}]\n  backlog: {{warning: 5}}\n",
            q.name
        ),
    );
    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 1, "{run}");
    let f = Run::one(&j, "rq.queue");
    assert_eq!(f["status"], "warning");
    assert!(
        f["summary"].as_str().unwrap().contains("backlog above 5"),
        "{run}"
    );
}

#[test]
fn without_configured_queues_every_queue_in_rq_queues_is_checked() {
    let _g = shared();
    let db = TestDb::new("hdiscover");
    let s = Scratch::new("hdiscover");
    let q = RqQueue::with_jobs("hq_found", 2);
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let run = health(&cfg, &[]);
    let j = run.json();
    let mine = Run::findings(&j, "rq.queue")
        .into_iter()
        .find(|f| f["subject"] == q.name.as_str())
        .unwrap_or_else(|| panic!("no rq.queue[{}] in {run}", q.name));
    assert_eq!(mine["status"], "warning");
    assert_eq!(j["data"]["checks"]["queues"][&q.name]["jobs"], 2);
    // --queue narrows the check to the named queues.
    let run = health(&cfg, &["--queue", "t_hq_nonexistent_queue"]);
    let j = run.json();
    assert_eq!(run.code, 0, "{run}");
    let f = Run::one(&j, "rq.queue");
    assert_eq!(f["subject"], "t_hq_nonexistent_queue");
    assert!(f["summary"].as_str().unwrap().contains("empty"), "{run}");
}

#[test]
fn postgres_down_is_unhealthy_within_the_timeout() {
    let _g = shared();
    let s = Scratch::new("hpgdown");
    let cfg = s.write("c.yaml", "health:\n  queues: [t_hq_none]\n", 0o600);
    let pg = format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port());
    let run = health(
        &cfg,
        &[
            "--pg",
            &pg,
            "--redis",
            &sandbox().redis_url(),
            "--timeout",
            "2",
        ],
    );
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(j["data"]["status"], "unhealthy");
    let up = Run::one(&j, "postgres.up");
    assert_eq!(up["status"], "critical");
    assert!(
        up["summary"].as_str().unwrap().contains("127.0.0.1"),
        "{run}"
    );
    assert_eq!(j["data"]["checks"]["database"]["status"], "critical");
    assert!(j["data"]["checks"]["database"]["error"].is_string());
    assert_eq!(Run::one(&j, "redis.up")["status"], "ok", "{run}");
    assert!(
        run.elapsed.as_secs_f64() < 2.0 + 1.5,
        "took {:?}",
        run.elapsed
    );
}

#[test]
fn redis_down_is_unhealthy_and_queues_are_not_checked() {
    let _g = shared();
    let db = TestDb::new("hredisdown");
    let s = Scratch::new("hredisdown");
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let redis = format!("redis://127.0.0.1:{}/0", closed_port());
    let run = health(&cfg, &["--redis", &redis, "--timeout", "2"]);
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(j["data"]["status"], "unhealthy");
    assert_eq!(Run::one(&j, "redis.up")["status"], "critical");
    assert_eq!(Run::one(&j, "postgres.up")["status"], "ok", "{run}");
    let q = Run::one(&j, "rq.queue");
    assert_eq!(q["status"], "unknown");
    assert!(
        q["summary"].as_str().unwrap().contains("see redis.up"),
        "{run}"
    );
}

#[test]
fn health_urls_answering_200_503_or_nothing() {
    let _g = shared();
    let db = TestDb::new("hurls");
    let s = Scratch::new("hurls");
    let ok = http_stub("200 OK");
    let failing = http_stub("503 Service Unavailable");
    let closed = format!("http://127.0.0.1:{}/health", closed_port());
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [t_hq_none]\n  urls: [{ok}, {failing}]\n  timeout: 10s\n  latency: {{warning: 30s}}\n"),
    );
    let run = health(&cfg, &["--url", &closed]);
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    let by_url = |u: &str| {
        Run::findings(&j, "http.health")
            .into_iter()
            .find(|f| f["subject"] == u)
            .unwrap_or_else(|| panic!("no http.health[{u}] in {run}"))
            .clone()
    };
    let f = by_url(&ok);
    assert_eq!(f["status"], "ok", "{run}");
    assert_eq!(f["unit"], "seconds");
    assert!(
        f["summary"].as_str().unwrap().starts_with("answered 200"),
        "{run}"
    );
    let f = by_url(&failing);
    assert_eq!(f["status"], "critical", "{run}");
    assert!(f["summary"].as_str().unwrap().contains("503"), "{run}");
    let f = by_url(&closed);
    assert_eq!(f["status"], "critical", "{run}");
    assert!(
        f["summary"].as_str().unwrap().contains("connecting to"),
        "{run}"
    );
    // A closed port refuses at once: no timeout was spent on it.
    assert!(run.elapsed.as_secs_f64() < 5.0, "took {:?}", run.elapsed);
    let http = &j["data"]["checks"]["http"];
    assert_eq!(http[&ok]["code"], 200);
    assert_eq!(http[&ok]["status"], "ok");
    assert!(http[&ok]["latency_ms"].is_number());
    assert_eq!(http[&failing]["code"], 503);
    assert_eq!(http[&closed]["status"], "critical");
    assert!(http[&closed]["error"].is_string());
    assert_eq!(j["data"]["status"], "unhealthy");
}

#[test]
fn a_slow_health_url_is_degraded() {
    let _g = shared();
    let db = TestDb::new("hslow");
    let s = Scratch::new("hslow");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/health", l.local_addr().unwrap().port());
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            std::thread::sleep(std::time::Duration::from_millis(400));
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!(
            "health:\n  queues: [t_hq_none]\n  urls: [{url}]\n  latency: {{warning: 200ms}}\n"
        ),
    );
    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 1, "{run}");
    let f = Run::one(&j, "http.health");
    assert_eq!(f["status"], "warning", "{run}");
    assert!(f["value"].as_f64().unwrap() >= 0.4, "{run}");
}

#[test]
fn credentials_in_a_health_url_are_never_printed() {
    let _g = shared();
    let s = Scratch::new("hcreds");
    let cfg = s.write(
        "c.yaml",
        "health:\n  urls: ['http://app:hunter2secret@127.0.0.1:1/health']\n",
        0o600,
    );
    let run = opsbook(&["config", "check"]).arg(&cfg).run();
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(&format!("{}:2:", cfg.display())),
        "{run}"
    );
    assert!(!run.stderr.contains("hunter2secret"), "{run}");

    let db = TestDb::new("hcreds");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        "health:\n  queues: [t_hq_none]\n",
    );
    let run = health(
        &cfg,
        &["--url", "http://app:hunter2secret@127.0.0.1:1/health"],
    );
    assert_eq!(run.code, 2, "{run}");
    assert!(!run.stdout.contains("hunter2secret"), "{run}");
    assert!(!run.stderr.contains("hunter2secret"), "{run}");
    let j = run.json();
    assert_eq!(
        Run::one(&j, "http.health")["subject"],
        "http://app:***@127.0.0.1:1/health"
    );
}

#[test]
fn json_carries_the_endpoint_document_in_data() {
    let _g = shared();
    let db = TestDb::new("hjson");
    let s = Scratch::new("hjson");
    let q = RqQueue::with_jobs("hq_json", 0);
    q.add_worker();
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [{}]\n", q.name),
    );
    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(j["command"], "check health");
    let d = &j["data"];
    assert_eq!(d["status"], "healthy");
    let ts = d["timestamp"].as_str().unwrap();
    assert!(ts.len() == 20 && ts.ends_with('Z'), "{ts}");
    let c = &d["checks"];
    assert_eq!(c["database"]["status"], "ok");
    assert!(c["database"]["latency_ms"].as_f64().unwrap() >= 0.0);
    let version = db.psql("SHOW server_version");
    assert!(
        version.starts_with(c["database"]["version"].as_str().unwrap()),
        "{version} vs {c}"
    );
    assert_eq!(c["redis"]["status"], "ok");
    assert!(c["redis"]["latency_ms"].is_number());
    assert!(c["redis"]["used_memory"].as_u64().unwrap() > 0);
    assert!(c["redis"]["connected_clients"].as_u64().unwrap() >= 1);
    assert!(c["redis"]["version"].is_string());
    assert_eq!(
        c["queues"][&q.name],
        serde_json::json!({"status": "ok", "jobs": 0, "workers": 1, "failed": 0})
    );
    assert_eq!(c["http"], serde_json::json!({}));
    assert_eq!(c["metrics"], serde_json::json!({}));
    assert!(c["rq_workers"].get("warning").is_none());
    // The findings agree with the document.
    assert_eq!(Run::one(&j, "health.status")["value"], "healthy");
    assert_eq!(Run::one(&j, "postgres.up")["unit"], "seconds");
}

#[test]
fn a_health_url_that_never_answers_costs_one_timeout() {
    let _g = shared();
    let db = TestDb::new("hhung");
    let s = Scratch::new("hhung");
    // The kernel completes the TCP handshake for a listener nobody accepts on: the request
    // goes out and no answer ever comes, like a wedged app server.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/health",
        hung.local_addr().unwrap().port()
    );
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [t_hq_none]\n  urls: [{url}]\n  timeout: 1s\n"),
    );
    let run = health(&cfg, &[]);
    let j = run.json();
    assert_eq!(run.code, 2, "{run}");
    let f = Run::one(&j, "http.health");
    assert_eq!(f["status"], "critical", "{run}");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("no answer within 1.0s"),
        "{run}"
    );
    assert_eq!(Run::one(&j, "postgres.up")["status"], "ok", "{run}");
    assert!(run.elapsed.as_secs_f64() < 4.0, "took {:?}", run.elapsed);
    drop(hung);
}

/// The oracle for a URL's latency: one raw HTTP/1.1 GET over a fresh TCP connection (connect,
/// request, the whole answer), in milliseconds.
fn raw_get_ms(url: &str) -> f64 {
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let at = std::time::Instant::now();
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    // One write: the stub reads once, and unread bytes at its close would reset the answer.
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    c.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    c.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    at.elapsed().as_secs_f64() * 1000.0
}

/// Issue 14 item 6: `http.health`'s latency is the request's, not the request's plus building
/// the HTTP client (loading the CA roots): within 3x + 5 ms of a raw TCP GET's. The best of
/// five runs and of five raw GETs, with no other test of this binary running beside it
/// (exclusive), so a busy machine's scheduling does not decide it.
#[test]
fn health_url_latency_is_the_request_not_the_client_setup() {
    let _g = exclusive();
    let db = TestDb::new("hlatency");
    let s = Scratch::new("hlatency");
    let url = http_stub("200 OK");
    let cfg = sandbox_config(
        &s,
        &db,
        &fresh_backup(&s),
        &format!("health:\n  queues: [t_hq_none]\n  urls: [{url}]\n"),
    );
    let reported = (0..5)
        .map(|_| {
            let run = health(&cfg, &[]);
            let f = Run::one(&run.json(), "http.health").clone();
            assert_eq!(f["status"], "ok", "{run}");
            f["value"].as_f64().unwrap() * 1000.0
        })
        .fold(f64::INFINITY, f64::min);
    let oracle = (0..5)
        .map(|_| raw_get_ms(&url))
        .fold(f64::INFINITY, f64::min);
    assert!(
        reported < 3.0 * oracle + 5.0,
        "http.health {reported:.2} ms vs a raw GET {oracle:.2} ms"
    );
}
