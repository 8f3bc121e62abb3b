//! Swarm services named under `services:`: running tasks counted by what they are doing on a
//! node that is up, against the replicas the service wants. `docker service ls` counts a task
//! whose node went down as running (1/1) until the manager reschedules it; here a task counts
//! only when its own state is `running`, it is meant to run, and its node is `ready`.

use std::collections::BTreeMap;

use super::docker::{Record, FIRST_WINDOW_SECS, RESTART_LIMITS};
use crate::clients::docker::types::{unix_time, Node, SwarmService, Task};
use crate::clients::docker::{query_value, Docker};
use crate::render::human_duration;
use crate::report::{Finding, Status};
use crate::state::History;

/// Task states of a task that ended badly (a rolling update's `shutdown` is not one).
const FAILED: [&str; 3] = ["failed", "rejected", "orphaned"];

/// The findings of Swarm service `name`, and what to record for the next run.
pub async fn check(
    docker: &Docker,
    name: &str,
    history: &History,
    now: i64,
) -> (Vec<Finding>, Record) {
    match read(docker, name).await {
        Ok(Some((svc, tasks, nodes))) => {
            let key = format!("swarm.task_failures/{name}");
            let since = history
                .previous(&key)
                .map(|(at, _)| at)
                .unwrap_or(now - FIRST_WINDOW_SECS);
            let failures = task_failures(name, &tasks, since, now);
            let mut record = Record::new();
            if let Some(v) = failures.value.as_f64() {
                record.insert(key, v);
            }
            (vec![replicas(name, &svc, &tasks, &nodes, now), failures], record)
        }
        Ok(None) => (
            vec![Finding::new(
                "swarm.replicas",
                Status::Critical,
                format!("no Swarm service is named {name}"),
            )
            .hint("list them: `docker service ls`; deploy it (`docker stack deploy`) or fix the name under `services:`")
            .subject(name)],
            Record::new(),
        ),
        Err(e) => (
            vec![{
                let f = super::docker::unknown("swarm.replicas", &e);
                match f.hint {
                    Some(_) => f,
                    None => f.hint("Swarm services are read from a manager node: run the check there"),
                }
            }
            .subject(name)],
            Record::new(),
        ),
    }
}

type Read = (SwarmService, Vec<Task>, Vec<Node>);

async fn read(docker: &Docker, name: &str) -> anyhow::Result<Option<Read>> {
    let filter = format!(r#"{{"name":["{name}"]}}"#);
    let services: Vec<SwarmService> = docker
        .get(&format!("/services?filters={}", query_value(&filter)))
        .await?;
    // The name filter matches prefixes: keep the exact name.
    let Some(svc) = services.into_iter().find(|s| s.spec.name == name) else {
        return Ok(None);
    };
    let filter = format!(r#"{{"service":["{}"]}}"#, svc.id);
    let tasks: Vec<Task> = docker
        .get(&format!("/tasks?filters={}", query_value(&filter)))
        .await?;
    let nodes: Vec<Node> = docker.get("/nodes").await?;
    Ok(Some((svc, tasks, nodes)))
}

fn replicas(name: &str, svc: &SwarmService, tasks: &[Task], nodes: &[Node], now: i64) -> Finding {
    let nodes: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let ready = |id: &str| nodes.get(id).is_some_and(|n| n.status.state == "ready");
    let desired = match (&svc.spec.mode.replicated, &svc.spec.mode.global) {
        (Some(r), _) => r.replicas,
        // global: one task per node that is up and takes work
        (None, Some(_)) => nodes
            .values()
            .filter(|n| n.status.state == "ready" && n.spec.availability == "active")
            .count() as u64,
        (None, None) => 0,
    };
    let meant: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.desired_state == "running")
        .collect();
    let running = meant
        .iter()
        .filter(|t| t.status.state == "running" && ready(&t.node_id))
        .count() as u64;
    let mut detail = Vec::new();
    for t in &meant {
        if t.status.state == "running" && ready(&t.node_id) {
            continue;
        }
        let slot = t
            .slot
            .map(|s| format!("slot {s}"))
            .unwrap_or_else(|| format!("task {}", short(&t.id)));
        let node = nodes.get(t.node_id.as_str());
        let why = if t.status.state == "running" {
            let host = node
                .map(|n| n.description.hostname.as_str())
                .unwrap_or("an unknown node");
            let state = node.map(|n| n.status.state.as_str()).unwrap_or("gone");
            format!("running on {host}, which is {state}")
        } else {
            let err = if t.status.err.is_empty() {
                &t.status.message
            } else {
                &t.status.err
            };
            format!(
                "{}{}",
                t.status.state,
                if err.is_empty() {
                    String::new()
                } else {
                    format!(": {err}")
                }
            )
        };
        let ago = unix_time(&t.status.timestamp)
            .map(|at| format!(" ({} ago)", human_duration((now - at).max(0) as f64)))
            .unwrap_or_default();
        detail.push(format!("{slot}: {why}{ago}"));
    }
    let status = if running >= desired {
        Status::Ok
    } else if running == 0 {
        Status::Critical
    } else {
        Status::Warning
    };
    Finding::new(
        "swarm.replicas",
        status,
        format!("{name}: {running}/{desired} tasks running on ready nodes"),
    )
    .value(running, "tasks")
    .detail(detail)
    .hint_unless_ok(format!(
        "see why: `docker service ps --no-trunc {name}` and `docker node ls`; `docker service logs --tail 50 {name}`"
    ))
    .subject(name)
}

fn task_failures(name: &str, tasks: &[Task], since: i64, now: i64) -> Finding {
    let failed: Vec<&Task> = tasks
        .iter()
        .filter(|t| FAILED.contains(&t.status.state.as_str()))
        .filter(|t| unix_time(&t.status.timestamp).is_some_and(|at| at >= since))
        .collect();
    let count = failed.len() as u64;
    let status = RESTART_LIMITS.status_above(count as f64);
    let window = if now - since == FIRST_WINDOW_SECS {
        "in the last 24 h".to_string()
    } else {
        format!(
            "since the previous run ({} ago)",
            human_duration((now - since) as f64)
        )
    };
    let keeps = if status == Status::Critical {
        ": its tasks keep failing"
    } else {
        ""
    };
    let detail = failed
        .iter()
        .rev()
        .take(5)
        .map(|t| {
            let slot = t
                .slot
                .map(|s| format!("slot {s}"))
                .unwrap_or_else(|| format!("task {}", short(&t.id)));
            format!("{slot}: {} {}", t.status.state, t.status.err)
        })
        .collect();
    Finding::new(
        "swarm.task_failures",
        status,
        format!("{count} tasks of {name} failed {window}{keeps}"),
    )
    .value(count, "tasks")
    .above(RESTART_LIMITS.warning, RESTART_LIMITS.critical)
    .detail(detail)
    .hint_unless_ok(format!("see why: `docker service ps --no-trunc {name}` (Swarm keeps the last few tasks of each slot)"))
    .subject(name)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::docker::types::*;

    fn task(slot: u64, node: &str, state: &str, desired: &str) -> Task {
        Task {
            id: format!("t{slot}{state}"),
            node_id: node.into(),
            slot: Some(slot),
            desired_state: desired.into(),
            status: TaskStatus {
                state: state.into(),
                timestamp: "2026-12-04T23:00:00Z".into(),
                ..Default::default()
            },
        }
    }

    fn node(id: &str, state: &str) -> Node {
        Node {
            id: id.into(),
            status: NodeStatus {
                state: state.into(),
            },
            spec: NodeSpec {
                availability: "active".into(),
            },
            ..Default::default()
        }
    }

    fn service(replicas: u64) -> SwarmService {
        SwarmService {
            spec: ServiceSpec {
                name: "web".into(),
                mode: ServiceMode {
                    replicated: Some(Replicated { replicas }),
                    global: None,
                },
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_task_on_a_down_node_is_not_running() {
        let now = unix_time("2026-12-04T23:10:00Z").unwrap();
        let tasks = [
            task(1, "a", "running", "running"),
            task(2, "b", "running", "running"),
        ];
        let nodes = [node("a", "ready"), node("b", "down")];
        let f = replicas("web", &service(2), &tasks, &nodes, now);
        assert_eq!((f.status, f.value.as_f64()), (Status::Warning, Some(1.0)));
        assert!(f.detail[0].contains("which is down"), "{:?}", f.detail);
        let f = replicas(
            "web",
            &service(2),
            &tasks,
            &[node("a", "down"), node("b", "down")],
            now,
        );
        assert_eq!(f.status, Status::Critical);
    }

    #[test]
    fn failed_tasks_count_in_the_window_and_shutdowns_do_not() {
        let now = unix_time("2026-12-04T23:10:00Z").unwrap();
        let tasks = [
            task(2, "a", "failed", "shutdown"),
            task(2, "a", "failed", "shutdown"),
            task(1, "a", "shutdown", "shutdown"),
        ];
        let f = task_failures("web", &tasks, now - 3600, now);
        assert_eq!((f.status, f.value.as_f64()), (Status::Warning, Some(2.0)));
        let f = task_failures("web", &tasks, now - 60, now);
        assert_eq!(f.status, Status::Ok);
    }
}
