//! `check health`: the seeds' `/health` endpoint (database, Redis, RQ workers) as a command,
//! plus the application's own health URLs and the metrics listed for `health`.
//!
//! Every probe runs concurrently and is bounded, so a hung service costs one timeout. The
//! report's `data` carries the endpoint's JSON shape for whatever consumed it before.

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use futures_util::future::join_all;
use serde_json::{json, Map, Value};

use super::HealthArgs;
use crate::clients::redis::{RedisInfo, RqQueue};
use crate::clients::web::{self, Answer};
use crate::config::{Limits, SpanLimits};
use crate::context::Ctx;
use crate::probes::bounded;
use crate::redact::mask_url;
use crate::render::human_bytes;
use crate::report::{one_line, Finding, Report, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "check health",
    page: "commands/check.md",
    ids: &[
        "health.status (the overall word: healthy, degraded, unhealthy)",
        "postgres.up",
        "redis.up",
        "rq.queue (per queue)",
        "http.health (per URL)",
        "metric.<name> (metrics listing health)",
    ],
};

/// GET every URL on a thread and runtime of their own, with one client built before any
/// request is timed: building it loads the CA roots, and on the checklist's one-thread
/// runtime the PostgreSQL and Redis probes' work (a SCRAM handshake) would be timed as the
/// URL's latency too.
async fn timed_gets(
    urls: Vec<String>,
    connect: Duration,
    total: Duration,
) -> Vec<anyhow::Result<Answer>> {
    if urls.is_empty() {
        return Vec::new();
    }
    let n = urls.len();
    let gets =
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<anyhow::Result<Answer>>> {
            let web = web::Web::new(connect, total)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the runtime for the health URLs")?;
            Ok(rt.block_on(join_all(urls.iter().map(|u| web.get(u)))))
        })
        .await;
    match gets {
        Ok(Ok(answers)) => answers,
        Ok(Err(e)) => (0..n).map(|_| Err(anyhow::anyhow!("{e:#}"))).collect(),
        Err(e) => (0..n)
            .map(|_| Err(anyhow::anyhow!("the health URL thread failed: {e}")))
            .collect(),
    }
}

pub(super) async fn run(args: &HealthArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = Instant::now();
    let cfg = &ctx.config.health;
    let timeout = ctx.probe_timeout();
    let queues = if args.queue.is_empty() {
        cfg.queues.clone()
    } else {
        args.queue.clone()
    };
    let urls: Vec<String> = cfg
        .urls
        .iter()
        .map(|u| u.value.clone())
        .chain(args.url.iter().cloned())
        .collect();
    let url_timeout = cfg.timeout.0;
    let connect_timeout = ctx.timeouts().connect.min(url_timeout);

    let (db, redis, rq, pages, metrics) = tokio::join!(
        bounded(timeout, database(ctx)),
        bounded(timeout, redis(ctx)),
        bounded(timeout, async {
            let client = ctx.redis().await?;
            client.rq_queues(&queues).await
        }),
        timed_gets(urls.clone(), connect_timeout, url_timeout),
        crate::metrics::findings(ctx, "health"),
    );

    let mut findings = Vec::new();
    let mut checks = Map::new();
    let (f, d) = database_part(&db);
    findings.push(f);
    checks.insert("database".into(), d);
    let (f, d) = redis_part(&redis);
    let redis_up = redis.is_ok();
    findings.push(f);
    checks.insert("redis".into(), d);
    let (f, queues_data, rq_workers) = queues_part(&rq, redis_up, cfg.backlog);
    findings.extend(f);
    checks.insert("queues".into(), queues_data);
    checks.insert("rq_workers".into(), rq_workers);
    let mut http_data = Map::new();
    for (url, result) in urls.iter().zip(&pages) {
        let shown = mask_url(url);
        let (f, d) = http_part(&shown, result, cfg.latency);
        findings.push(f);
        http_data.insert(shown, d);
    }
    checks.insert("http".into(), Value::Object(http_data));
    let mut metric_data = Map::new();
    for m in &metrics {
        let name = m.id.strip_prefix("metric.").unwrap_or(&m.id).to_string();
        metric_data.insert(
            name,
            json!({"status": m.status.as_str(), "value": m.value, "unit": m.unit}),
        );
    }
    checks.insert("metrics".into(), Value::Object(metric_data));
    findings.extend(metrics);

    let overall = findings
        .iter()
        .fold(Status::Ok, |acc, f| acc.worst(f.status));
    let mut report = Report::new("check health");
    report.push(verdict(overall, &findings));
    report.extend(findings);
    report.data = Some(json!({
        "status": word(overall),
        "timestamp": crate::timefmt::rfc3339(SystemTime::now()),
        "version": env!("CARGO_PKG_VERSION"),
        "checks": Value::Object(checks),
    }));
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The seeds' words for the overall state; UNKNOWN (a probe could not tell) stays unknown.
pub fn word(s: Status) -> &'static str {
    match s {
        Status::Ok => "healthy",
        Status::Warning => "degraded",
        Status::Critical => "unhealthy",
        Status::Unknown => "unknown",
    }
}

/// `health.status`: the overall word and what made it so.
fn verdict(overall: Status, findings: &[Finding]) -> Finding {
    let bad: Vec<String> = findings
        .iter()
        .filter(|f| f.status != Status::Ok)
        .map(Finding::label)
        .collect();
    let summary = if bad.is_empty() {
        format!("healthy: all {} checks OK", findings.len())
    } else {
        format!("{}: {}", word(overall), bad.join(", "))
    };
    Finding::new("health.status", overall, summary).value(word(overall), "state")
}

/// Seconds with microsecond precision: a local SELECT 1 takes well under a millisecond.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e6
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn ms_text(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// What `SELECT 1` on the shared session measured.
pub struct Database {
    pub version: String,
    pub server: String,
    pub latency: Duration,
}

async fn database(ctx: &Ctx) -> anyhow::Result<Database> {
    use anyhow::Context as _;
    let pg = ctx.pg().await?;
    let at = Instant::now();
    pg.client
        .simple_query("SELECT 1")
        .await
        .with_context(|| format!("SELECT 1 on {}", pg.options.display_url()))?;
    Ok(Database {
        version: pg
            .version
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string(),
        server: pg.options.display_url(),
        latency: at.elapsed(),
    })
}

/// `postgres.up` and `checks.database`.
pub fn database_part(r: &anyhow::Result<Database>) -> (Finding, Value) {
    match r {
        Ok(d) => (
            Finding::ok(
                "postgres.up",
                format!(
                    "SELECT 1 in {} on PostgreSQL {} at {}",
                    ms_text(d.latency),
                    d.version,
                    d.server
                ),
            )
            .value(secs(d.latency), "seconds"),
            json!({"status": "ok", "latency_ms": ms(d.latency), "version": d.version}),
        ),
        Err(e) => {
            let msg = one_line(e);
            (
                Finding::new("postgres.up", Status::Critical, msg.clone()).hint(
                    "start the server (systemctl start postgresql) or fix --pg / DATABASE_URL / PGHOST; the application cannot serve without it",
                ),
                json!({"status": "critical", "error": msg}),
            )
        }
    }
}

/// What PING and INFO measured.
pub struct RedisState {
    pub url: String,
    pub ping: Duration,
    pub info: RedisInfo,
}

async fn redis(ctx: &Ctx) -> anyhow::Result<RedisState> {
    let client = ctx.redis().await?;
    let at = Instant::now();
    client.ping().await?;
    let ping = at.elapsed();
    let info = client.info().await?;
    Ok(RedisState {
        url: client.url().to_string(),
        ping,
        info,
    })
}

/// `redis.up` and `checks.redis`.
pub fn redis_part(r: &anyhow::Result<RedisState>) -> (Finding, Value) {
    match r {
        Ok(s) => (
            Finding::ok(
                "redis.up",
                format!(
                    "PING in {} on Redis {} at {}: {} used, {}",
                    ms_text(s.ping),
                    s.info.version,
                    s.url,
                    human_bytes(s.info.used_memory as f64),
                    plural(s.info.connected_clients, "client", "clients")
                ),
            )
            .value(secs(s.ping), "seconds"),
            json!({
                "status": "ok",
                "latency_ms": ms(s.ping),
                "version": s.info.version,
                "used_memory": s.info.used_memory,
                "connected_clients": s.info.connected_clients,
            }),
        ),
        Err(e) => {
            let msg = one_line(e);
            (
                Finding::new("redis.up", Status::Critical, msg.clone()).hint(
                    "start it (systemctl start redis-server) or fix --redis / REDIS_URL; queued jobs wait while Redis is down",
                ),
                json!({"status": "critical", "error": msg}),
            )
        }
    }
}

/// One `rq.queue` finding per queue, `checks.queues` and the seeds' `checks.rq_workers`.
pub fn queues_part(
    r: &anyhow::Result<Vec<RqQueue>>,
    redis_up: bool,
    backlog: Limits,
) -> (Vec<Finding>, Value, Value) {
    let queues = match r {
        Ok(q) => q,
        Err(e) => {
            let msg = if redis_up {
                one_line(e)
            } else {
                "not checked: Redis is not reachable (see redis.up)".to_string()
            };
            return (
                vec![Finding::new("rq.queue", Status::Unknown, msg.clone())],
                json!({}),
                json!({"workers": {}, "queue_sizes": {}, "error": msg}),
            );
        }
    };
    let mut findings = Vec::new();
    let mut data = Map::new();
    let mut workers = Map::new();
    let mut sizes = Map::new();
    let mut stranded = false;
    for q in queues {
        let f = queue_finding(q, backlog);
        stranded |= q.jobs > 0 && q.workers == 0;
        data.insert(
            q.name.clone(),
            json!({"status": f.status.as_str(), "jobs": q.jobs, "workers": q.workers, "failed": q.failed}),
        );
        workers.insert(q.name.clone(), json!(q.workers));
        sizes.insert(q.name.clone(), json!(q.jobs));
        findings.push(f);
    }
    let mut rq = json!({"workers": workers, "queue_sizes": sizes});
    if stranded {
        rq["warning"] = json!("Some queues have no workers");
    }
    (findings, Value::Object(data), rq)
}

/// A queue with jobs and no worker is degraded; so is a backlog above the threshold.
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

pub fn queue_finding(q: &RqQueue, backlog: Limits) -> Finding {
    let counts = format!(
        "{} waiting, {}, {} failed",
        plural(q.jobs, "job", "jobs"),
        plural(q.workers, "worker", "workers"),
        q.failed
    );
    let by_backlog = Status::above(q.jobs as f64, backlog.warning, backlog.critical);
    let mut f = if q.jobs > 0 && q.workers == 0 {
        Finding::new(
            "rq.queue",
            Status::Warning.worst(by_backlog),
            format!("{counts}: no worker runs these jobs"),
        )
        .hint(format!(
            "start a worker for it (`rq worker {0}`, or systemctl start rq-worker@{0}-1) and look at why the others stopped (journalctl -u 'rq-worker@*')",
            q.name
        ))
    } else if by_backlog != Status::Ok {
        let limit = match by_backlog {
            Status::Critical => backlog.critical,
            _ => backlog.warning,
        }
        .unwrap_or(0.0);
        Finding::new(
            "rq.queue",
            by_backlog,
            format!("{counts}: backlog above {limit}"),
        )
        .hint("the workers do not keep up: add workers, or find the slow jobs (`rq info`, the workers' logs); raise health.backlog if this is normal")
    } else if q.workers == 0 {
        Finding::ok("rq.queue", format!("{counts}: empty, no worker listening"))
    } else {
        Finding::ok("rq.queue", counts)
    };
    f = f.subject(q.name.clone()).value(q.jobs, "jobs");
    f
}

/// One `http.health` finding and its `checks.http` entry.
/// ", body over 64 KiB" when the answer went on past the bound (reading stopped there).
fn body_note(t: &Answer) -> String {
    if t.body_over_limit {
        format!(
            ", body over {}",
            crate::bounded_read::limit_text(web::HTTP_BODY_LIMIT as u64)
        )
    } else {
        String::new()
    }
}

pub fn http_part(shown: &str, r: &anyhow::Result<Answer>, latency: SpanLimits) -> (Finding, Value) {
    match r {
        Ok(t) if (200..300).contains(&t.status) => {
            let total = Duration::from_secs_f64(t.seconds);
            let status = Status::above(
                t.seconds,
                latency.warning.map(|s| s.as_secs_f64()),
                latency.critical.map(|s| s.as_secs_f64()),
            );
            let mut f = Finding::new(
                "http.health",
                status,
                format!(
                    "answered {} in {}{}",
                    t.status,
                    ms_text(total),
                    body_note(t)
                ),
            )
            .subject(shown)
            .value(secs(total), "seconds");
            if status != Status::Ok {
                f = f.hint("the app answers but slowly: look at its workers and the database (opsbook diagnose queries); raise health.latency if this is normal");
            }
            let d = json!({"status": f.status.as_str(), "code": t.status, "latency_ms": ms(total)});
            (f, d)
        }
        Ok(t) => {
            let total = Duration::from_secs_f64(t.seconds);
            let f = Finding::new(
                "http.health",
                Status::Critical,
                format!(
                    "answered {} in {}{}: not 2xx",
                    t.status,
                    ms_text(total),
                    body_note(t)
                ),
            )
            .subject(shown)
            .value(secs(total), "seconds")
            .hint(if (300..400).contains(&t.status) {
                "a redirect: configure the final URL (redirects are not followed)"
            } else {
                "the app reports itself unhealthy or fails: read its own /health answer and logs"
            });
            let d = json!({"status": "critical", "code": t.status, "latency_ms": ms(total)});
            (f, d)
        }
        Err(e) => {
            let msg = one_line(e);
            (
                Finding::new("http.health", Status::Critical, msg.clone())
                    .subject(shown)
                    .hint("is the application running and listening there? (systemctl status, ss -ltn)"),
                json!({"status": "critical", "error": msg}),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(jobs: u64, workers: u64) -> RqQueue {
        RqQueue {
            name: "tasks".into(),
            jobs,
            workers,
            failed: 2,
        }
    }

    const BACKLOG: Limits = Limits {
        warning: Some(1000.0),
        critical: None,
    };

    #[test]
    fn queues_without_workers_or_with_a_backlog_are_degraded() {
        assert_eq!(queue_finding(&q(3, 0), BACKLOG).status, Status::Warning);
        assert_eq!(queue_finding(&q(0, 0), BACKLOG).status, Status::Ok);
        assert_eq!(queue_finding(&q(3, 1), BACKLOG).status, Status::Ok);
        let f = queue_finding(&q(1001, 4), BACKLOG);
        assert_eq!(f.status, Status::Warning);
        assert!(f.summary.contains("backlog above 1000"), "{}", f.summary);
        assert_eq!(f.subject.as_deref(), Some("tasks"));
        assert_eq!(f.value, json!(1001));
        let strict = Limits {
            warning: Some(10.0),
            critical: Some(100.0),
        };
        assert_eq!(queue_finding(&q(500, 0), strict).status, Status::Critical);
    }

    #[test]
    fn queue_data_keeps_the_seed_keys() {
        let (f, data, rq) = queues_part(&Ok(vec![q(3, 0)]), true, BACKLOG);
        assert_eq!(f.len(), 1);
        assert_eq!(
            data["tasks"],
            json!({"status": "warning", "jobs": 3, "workers": 0, "failed": 2})
        );
        assert_eq!(rq["workers"]["tasks"], 0);
        assert_eq!(rq["queue_sizes"]["tasks"], 3);
        assert_eq!(rq["warning"], "Some queues have no workers");
        let (f, _, rq) = queues_part(&Err(anyhow::anyhow!("refused")), false, BACKLOG);
        assert_eq!(f[0].status, Status::Unknown);
        assert!(rq["error"].as_str().unwrap().contains("see redis.up"));
    }

    #[test]
    fn words_follow_the_worst_status() {
        assert_eq!(word(Status::Ok), "healthy");
        assert_eq!(word(Status::Warning), "degraded");
        assert_eq!(word(Status::Critical), "unhealthy");
        let v = verdict(
            Status::Warning,
            &[Finding::new("rq.queue", Status::Warning, "x").subject("tasks")],
        );
        assert_eq!(v.summary, "degraded: rq.queue[tasks]");
        assert_eq!(v.value, json!("degraded"));
    }
}
