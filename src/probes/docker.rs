//! Docker containers named under `services:` (by name, or by their compose service label):
//! what `service.active` and `journal.errors` say of a systemd unit, and what only a container
//! has: health checks, restarts, the OOM killer, its memory limit.

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::clients::docker::types::{unix_time, ContainerInspect, ContainerSummary, Stats};
use crate::clients::docker::{query_value, Docker};
use crate::config::services::Service;
use crate::config::Limits;
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Status};
use crate::state::History;

/// Restarts (or failed Swarm tasks) since the previous run: any is a warning, more than two
/// is a service that keeps failing.
pub const RESTART_LIMITS: Limits = Limits {
    warning: Some(0.0),
    critical: Some(2.0),
};

/// When no earlier run left its time, logs and failed tasks are read over the last day
/// (what `journal.errors` reads).
pub const FIRST_WINDOW_SECS: i64 = 24 * 3600;

/// The label docker compose puts on a service's containers.
pub const COMPOSE_LABEL: &str = "com.docker.compose.service";

/// What the run history keeps for the next run: keys and values.
pub type Record = BTreeMap<String, f64>;

/// The thresholds these findings use.
#[derive(Debug, Clone, Copy)]
pub struct ContainerLimits {
    pub memory_pct: Limits,
    pub log_errors: Limits,
}

/// Which containers a `services:` entry means.
pub enum Selector<'a> {
    Name(&'a str),
    ComposeService(&'a str),
}

/// The findings of every container `sel` names, and what to record for the next run.
pub async fn check(
    docker: &Docker,
    sel: Selector<'_>,
    limits: ContainerLimits,
    history: &History,
    now: i64,
) -> (Vec<Finding>, Record) {
    let (label, found) = match sel {
        Selector::Name(name) => (name.to_string(), by_name(docker, name).await),
        Selector::ComposeService(svc) => (
            format!("compose service {svc}"),
            by_compose(docker, svc).await,
        ),
    };
    let containers = match found {
        Ok(c) if c.is_empty() => {
            let f = Finding::new(
                "container.state",
                Status::Critical,
                format!("no container is {label}"),
            )
            .hint("list them: `docker ps -a`; start it (`docker compose up -d`, `docker start NAME`) or fix the name under `services:`");
            return (vec![f.subject(label)], Record::new());
        }
        Ok(c) => c,
        Err(e) => {
            return (
                vec![unknown("container.state", &e).subject(label)],
                Record::new(),
            )
        }
    };
    // concurrently: a compose service scaled to ten is ten containers, not ten timeouts in a row
    let each = join_all(
        containers
            .iter()
            .map(|c| container(docker, c, limits, history, now)),
    )
    .await;
    merge(each)
}

fn merge(each: Vec<(Vec<Finding>, Record)>) -> (Vec<Finding>, Record) {
    let mut findings = Vec::new();
    let mut record = Record::new();
    for (f, r) in each {
        findings.extend(f);
        record.extend(r);
    }
    (findings, record)
}

/// Every Docker and Swarm entry of `services:` (systemd units are not this module's), one
/// daemon connection per request; a daemon opsbook cannot use is an unknown finding per entry.
pub async fn check_services(
    services: &[Service],
    docker: anyhow::Result<Docker>,
    limits: ContainerLimits,
    history: &History,
    now: i64,
) -> (Vec<Finding>, Record) {
    let ours = services
        .iter()
        .filter(|s| !matches!(s, Service::Systemd(_)));
    let each = join_all(ours.map(|svc| async {
        let id = match svc {
            Service::Swarm(_) => "swarm.replicas",
            _ => "container.state",
        };
        let docker = match &docker {
            Ok(d) => d,
            Err(e) => {
                let f = unknown(id, e).subject(svc.label());
                return (vec![f], Record::new());
            }
        };
        match svc {
            Service::Container(n) => check(docker, Selector::Name(n), limits, history, now).await,
            Service::ComposeService(n) => {
                check(docker, Selector::ComposeService(n), limits, history, now).await
            }
            Service::Swarm(n) => super::swarm::check(docker, n, history, now).await,
            Service::Systemd(_) => (Vec::new(), Record::new()),
        }
    }))
    .await;
    merge(each)
}

/// UNKNOWN with the error chain as the summary and its `hint:` (the daemon's socket, a
/// `DOCKER_HOST` opsbook does not speak) as the hint.
pub(super) fn unknown(id: &str, err: &anyhow::Error) -> Finding {
    let text = crate::report::one_line(err);
    match text.split_once("\nhint: ") {
        Some((what, hint)) => Finding::new(id, Status::Unknown, what).hint(hint),
        None => Finding::new(id, Status::Unknown, text),
    }
}

async fn by_name(docker: &Docker, name: &str) -> anyhow::Result<Vec<ContainerInspect>> {
    // The list first: a missing container is an empty list, not a 404 to tell from others.
    let filter = format!(r#"{{"name":["^/{name}$"]}}"#);
    let list: Vec<ContainerSummary> = docker
        .get(&format!(
            "/containers/json?all=1&filters={}",
            query_value(&filter)
        ))
        .await?;
    inspect_all(docker, list).await
}

async fn by_compose(docker: &Docker, svc: &str) -> anyhow::Result<Vec<ContainerInspect>> {
    let filter = format!(r#"{{"label":["{COMPOSE_LABEL}={svc}"]}}"#);
    let list: Vec<ContainerSummary> = docker
        .get(&format!(
            "/containers/json?all=1&filters={}",
            query_value(&filter)
        ))
        .await?;
    inspect_all(docker, list).await
}

async fn inspect_all(
    docker: &Docker,
    list: Vec<ContainerSummary>,
) -> anyhow::Result<Vec<ContainerInspect>> {
    let mut out = Vec::new();
    for c in list {
        out.push(
            docker
                .get(&format!("/containers/{}/json", query_value(&c.id)))
                .await?,
        );
    }
    out.sort_by(|a: &ContainerInspect, b| a.name.cmp(&b.name));
    Ok(out)
}

async fn container(
    docker: &Docker,
    c: &ContainerInspect,
    limits: ContainerLimits,
    history: &History,
    now: i64,
) -> (Vec<Finding>, Record) {
    let mut record = Record::new();
    let name = c.name.trim_start_matches('/').to_string();
    let mut out = vec![state(c, &name, now), health(c, &name), oom(c, &name)];

    let key = format!("container.restarts/{name}");
    let previous = history.previous(&key);
    out.push(restarts(c, &name, previous, now));
    record.insert(key, c.restart_count as f64);

    if c.state.running && !c.state.restarting {
        out.push(
            match docker
                .get::<Stats>(&format!(
                    "/containers/{}/stats?stream=false&one-shot=true",
                    query_value(&c.id)
                ))
                .await
            {
                Ok(s) => memory(c, &s, &name, limits.memory_pct),
                Err(e) => unknown("container.memory", &e),
            }
            .subject(&name),
        );
    }

    let key = format!("container.log_errors/{name}");
    let since = history
        .previous(&key)
        .map(|(at, _)| at)
        .unwrap_or(now - FIRST_WINDOW_SECS);
    let f = match docker.log_errors(&c.id, c.config.tty, since).await {
        Ok(e) => {
            record.insert(key, e.count as f64);
            let window = window_text(since, now, history_had(since, now));
            let cut = if e.truncated {
                " (the log's first 32 MiB)"
            } else {
                ""
            };
            Finding::new(
                "container.log_errors",
                limits.log_errors.status_above(e.count as f64),
                format!(
                    "{} log lines of {name} mention an error {window}{cut}",
                    e.count
                ),
            )
            .value(e.count, "lines")
            .above(limits.log_errors.warning, limits.log_errors.critical)
            .detail(e.last)
            .hint_unless_ok(format!(
                "read them: `docker logs --since {}s {name} 2>&1 | grep -i error`",
                now - since
            ))
        }
        Err(e) => unknown("container.log_errors", &e),
    };
    out.push(f.subject(&name));
    (out, record)
}

fn history_had(since: i64, now: i64) -> bool {
    now - since != FIRST_WINDOW_SECS
}

fn window_text(since: i64, now: i64, from_history: bool) -> String {
    if from_history {
        format!(
            "since the previous run ({} ago)",
            human_duration((now - since) as f64)
        )
    } else {
        "in the last 24 h".to_string()
    }
}

fn last_exit(c: &ContainerInspect, now: i64) -> Option<String> {
    let at = unix_time(&c.state.finished_at)?;
    if c.state.running && !c.state.restarting {
        // Docker zeroes ExitCode when it starts the container again: only the time is true.
        return Some(format!(
            "last stopped {} ago",
            human_duration((now - at).max(0) as f64)
        ));
    }
    let oom = if c.state.oom_killed {
        ", killed for memory (OOM)"
    } else {
        ""
    };
    Some(format!(
        "last exit code {}{oom}, {} ago",
        c.state.exit_code,
        human_duration((now - at).max(0) as f64)
    ))
}

fn state(c: &ContainerInspect, name: &str, now: i64) -> Finding {
    let s = &c.state;
    let (status, summary) = if s.restarting {
        let exit = last_exit(c, now).unwrap_or_default();
        (Status::Critical, format!("{name} is restarting ({exit})"))
    } else if s.running {
        let up = unix_time(&s.started_at)
            .map(|t| format!(", up {}", human_duration((now - t).max(0) as f64)))
            .unwrap_or_default();
        let paused = if s.status == "paused" {
            " but paused"
        } else {
            ""
        };
        let status = if paused.is_empty() {
            Status::Ok
        } else {
            Status::Warning
        };
        (status, format!("{name} is running{paused}{up}"))
    } else {
        let exit = last_exit(c, now)
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let error = if s.error.is_empty() {
            String::new()
        } else {
            format!(": {}", s.error)
        };
        (
            Status::Critical,
            format!("{name} is {}{exit}{error}", s.status),
        )
    };
    let mut f = Finding::new("container.state", status, summary).value(s.status.clone(), "state");
    if let Some(t) = unix_time(&s.started_at).filter(|_| s.running && !s.restarting) {
        f.detail.push(format!(
            "started {}",
            crate::timefmt::rfc3339(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64)
            )
        ));
    }
    f.hint_unless_ok(format!(
        "see why: `docker logs --tail 50 {name}` and `docker inspect {name}`; start it with `docker start {name}` (or `docker compose up -d`)"
    ))
    .subject(name)
}

fn health(c: &ContainerInspect, name: &str) -> Finding {
    let Some(h) = &c.state.health else {
        return Finding::ok("container.health", format!("{name} has no HEALTHCHECK"))
            .value("none", "state")
            .subject(name);
    };
    let status = match h.status.as_str() {
        "healthy" => Status::Ok,
        "starting" => Status::Warning,
        _ => Status::Critical,
    };
    let streak = if h.failing_streak > 0 {
        format!(", {} failed probes in a row", h.failing_streak)
    } else {
        String::new()
    };
    let last: Vec<String> = h
        .log
        .iter()
        .rev()
        .take(1)
        .filter(|p| p.exit_code != 0)
        .map(|p| {
            let out = p.output.trim().chars().take(300).collect::<String>();
            format!("last probe exited {}: {out}", p.exit_code)
        })
        .collect();
    Finding::new(
        "container.health",
        status,
        format!("{name} is {}{streak}", h.status),
    )
    .value(h.status.clone(), "state")
    .detail(last)
    .hint_unless_ok(format!(
        "read the health check's output: `docker inspect --format '{{{{json .State.Health}}}}' {name}`"
    ))
    .subject(name)
}

fn oom(c: &ContainerInspect, name: &str) -> Finding {
    if !c.state.oom_killed {
        return Finding::ok(
            "container.oom_killed",
            format!("{name} was not killed for memory"),
        )
        .value(false, "bool")
        .subject(name);
    }
    let limit = match c.host_config.memory {
        0 => "no memory limit of its own: the host ran out".to_string(),
        m => format!("its memory limit is {}", human_bytes(m as f64)),
    };
    Finding::new(
        "container.oom_killed",
        Status::Critical,
        format!("{name} was killed by the OOM killer ({limit})"),
    )
    .value(true, "bool")
    .hint("raise its limit (`docker update --memory`, `mem_limit:` / `deploy.resources.limits.memory` in compose) or find what grew: `docker stats`")
    .subject(name)
}

fn restarts(c: &ContainerInspect, name: &str, previous: Option<(i64, f64)>, now: i64) -> Finding {
    let count = c.restart_count;
    let (delta, window) = match previous {
        // A smaller count than last time: the container was recreated, its count restarted.
        Some((at, p)) if count as f64 >= p => (count - p as u64, window_text(at, now, true)),
        Some((at, _)) => (
            count,
            format!(
                "since it was recreated (before {} ago)",
                human_duration((now - at) as f64)
            ),
        ),
        None => (count, "since it was created".to_string()),
    };
    let exit = last_exit(c, now)
        .map(|e| format!("; {e}"))
        .unwrap_or_default();
    let status = RESTART_LIMITS.status_above(delta as f64);
    let keeps = if status == Status::Critical {
        ": it keeps restarting"
    } else {
        ""
    };
    Finding::new(
        "container.restarts",
        status,
        format!("{name} restarted {delta} times {window}{keeps}{exit}"),
    )
    .value(delta, "restarts")
    .above(RESTART_LIMITS.warning, RESTART_LIMITS.critical)
    .hint_unless_ok(format!(
        "see why it exits: `docker logs --tail 50 {name}`, `docker inspect --format '{{{{json .State}}}}' {name}`"
    ))
    .subject(name)
}

fn memory(c: &ContainerInspect, s: &Stats, name: &str, limits: Limits) -> Finding {
    let Some(used) = s.memory_stats.used() else {
        return Finding::new(
            "container.memory",
            Status::Unknown,
            format!("the daemon reports no memory use for {name}"),
        );
    };
    if c.host_config.memory == 0 {
        return Finding::ok(
            "container.memory",
            format!("{name} uses {} (no memory limit)", human_bytes(used as f64)),
        )
        .value(used, "bytes");
    }
    let limit = c.host_config.memory;
    let pct = used as f64 * 100.0 / limit as f64;
    Finding::new(
        "container.memory",
        limits.status_above(pct),
        format!(
            "{name} uses {} of its {} limit ({pct:.0}%)",
            human_bytes(used as f64),
            human_bytes(limit as f64)
        ),
    )
    .value_f64(pct, "percent")
    .above(limits.warning, limits.critical)
    .hint_unless_ok("near its limit the kernel kills it (OOMKilled): raise the limit or find what grew (`docker stats`)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::docker::types::ContainerState;

    fn exited(oom: bool, code: i64) -> ContainerInspect {
        ContainerInspect {
            name: "/db".into(),
            restart_count: 4,
            state: ContainerState {
                status: "exited".into(),
                oom_killed: oom,
                exit_code: code,
                finished_at: "2026-12-04T23:00:00Z".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn an_exited_container_is_critical_with_its_exit_code() {
        let now = unix_time("2026-12-04T23:10:00Z").unwrap();
        let f = state(&exited(true, 137), "db", now);
        assert_eq!(f.status, Status::Critical);
        assert!(f.summary.contains("exit code 137"), "{}", f.summary);
        assert!(f.summary.contains("OOM"), "{}", f.summary);
        assert_eq!(oom(&exited(true, 137), "db").status, Status::Critical);
        assert_eq!(oom(&exited(false, 0), "db").status, Status::Ok);
    }

    #[test]
    fn restarts_count_from_the_previous_run() {
        let now = 10_000;
        let c = exited(false, 1);
        let f = restarts(&c, "db", Some((now - 600, 4.0)), now);
        assert_eq!((f.status, f.value.as_f64()), (Status::Ok, Some(0.0)));
        let f = restarts(&c, "db", Some((now - 600, 3.0)), now);
        assert_eq!((f.status, f.value.as_f64()), (Status::Warning, Some(1.0)));
        // recreated: its count started again
        let f = restarts(&c, "db", Some((now - 600, 9.0)), now);
        assert_eq!((f.status, f.value.as_f64()), (Status::Critical, Some(4.0)));
        let f = restarts(&c, "db", None, now);
        assert!(f.summary.contains("since it was created"));
    }
}
