//! `replica promote --switchover [--candidate MEMBER]` and `--failover --candidate MEMBER`:
//! the leader moves through Patroni's REST API (`POST /switchover` with the leader and the
//! candidate, planned, the leader healthy; `POST /failover` with the candidate, the leader
//! down), authenticated with the target's `patroni.username` / `patroni.password_file`. The
//! plan first (who leads now, who will, the candidate's lag), confirmation, then the wait
//! until every PostgreSQL source names the new leader.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::engine::{self, Outcome};
use super::PromoteArgs;
use crate::clients::patroni::{ClusterView, Member, Patroni};
use crate::config::targets::{PgTarget, Target};
use crate::context::Ctx;
use crate::ha::observe::{Node, PgFacts};
use crate::ha::settle::{self, Side};
use crate::ha::{addr, Observation};
use crate::report::{Finding, Report, Section};

/// A member is up when Patroni says its PostgreSQL runs (3.0: `running`; 3.0.3+: `streaming`).
fn up(m: &Member) -> bool {
    matches!(m.state.as_str(), "running" | "streaming")
}

/// The PostgreSQL target a Patroni member is: the same name, else the same address.
fn target_of(o: &Observation, m: &Member) -> Option<String> {
    if o.postgres.iter().any(|n| n.name == m.name) {
        return Some(m.name.clone());
    }
    let a = m.address().and_then(|a| addr::parse(&a))?;
    o.postgres
        .iter()
        .find(|n| n.address == a)
        .map(|n| n.name.clone())
}

fn facts<'a>(o: &'a Observation, name: &str) -> Option<&'a PgFacts> {
    o.postgres
        .iter()
        .find(|n: &&Node<PgFacts>| n.name == name)
        .and_then(|n| n.facts.as_ref().ok())
}

/// The APIs to ask, `--target`'s first: `(target name, its settings)`.
fn apis<'a>(ctx: &'a Ctx, how: &str) -> anyhow::Result<Vec<(&'a str, &'a PgTarget)>> {
    let chosen = engine::selected(ctx, how)?;
    let with_api = |v: &[(&'a str, &'a Target)]| -> Vec<(&'a str, &'a PgTarget)> {
        v.iter()
            .filter_map(|(n, t)| match t {
                Target::Postgres(p) if p.patroni.is_some() => Some((*n, p)),
                _ => None,
            })
            .collect()
    };
    let mut out = with_api(&chosen);
    if let Some(name) = ctx.overrides.target.as_deref() {
        if out.is_empty() {
            bail!("replica promote {how}: --target {name} has no Patroni REST API\nhint: name a postgres target with `patroni:` (see `opsbook targets list`), or add patroni.url to it");
        }
        // The others of the inventory answer for the cluster when the named one is down.
        let rest = engine::selected_all(ctx);
        for (n, p) in with_api(&rest) {
            if !out.iter().any(|(m, _)| *m == n) {
                out.push((n, p));
            }
        }
    }
    if out.is_empty() {
        bail!("replica promote {how}: no target of the inventory has a Patroni REST API (patroni: url)\nhint: add patroni: {{url: http://HOST:8008}} to the PostgreSQL targets (see commands/targets.md); without Patroni, plain `opsbook replica promote` runs pg_promote()");
    }
    Ok(out)
}

/// The first API that answers `GET /cluster`, as a client that may wait `total` for a POST.
async fn reach(
    ctx: &Ctx,
    apis: &[(&str, &PgTarget)],
    total: Duration,
    how: &str,
) -> anyhow::Result<(String, Patroni, ClusterView)> {
    let connect = ctx.timeouts().connect;
    let mut errors = Vec::new();
    for (name, p) in apis {
        let Some(api) = &p.patroni else { continue };
        let client = Patroni::new(
            &api.url,
            api.username.as_deref(),
            api.password_file.as_deref(),
            connect,
            total,
        )?;
        match tokio::time::timeout(connect + Duration::from_secs(5), client.cluster()).await {
            Ok(Ok(view)) => return Ok((name.to_string(), client, view)),
            Ok(Err(e)) => errors.push(format!("{name}: {}", crate::report::one_line(&e))),
            Err(_) => errors.push(format!("{name}: no answer from {}", client.endpoint())),
        }
    }
    bail!(
        "replica promote {how}: no Patroni REST API answered GET /cluster; nothing was changed:\n  {}\nhint: check that Patroni runs on the nodes (`opsbook cluster status`)",
        errors.join("\n  ")
    )
}

/// Through Patroni: plan, confirm, ask, wait until every source agrees.
pub async fn switch(args: &PromoteArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let (how, action) = if args.failover {
        ("--failover", "failover")
    } else {
        ("--switchover", "switchover")
    };
    let apis = apis(ctx, how)?;
    let total = Duration::from_secs(args.wait.max(30));
    let (via, client, view) = reach(ctx, &apis, total, how).await?;
    let members = view
        .members
        .iter()
        .map(|m| format!("{} ({}, {})", m.name, m.role, m.state))
        .collect::<Vec<_>>()
        .join(", ");
    let leader = view.leader().filter(|l| up(l));
    // The facts of the plan: every PostgreSQL source, before anything changes.
    let (o, v) = engine::before(ctx, Side::Postgres).await;

    // The leader's state decides which action is allowed at all, so it is checked before the
    // candidate: a failover with the leader running is refused for that reason even while the
    // candidate is still restarting from a previous switch.
    let from_member = view.leader().map(|l| l.name.clone());
    match (args.failover, leader) {
        (false, None) => bail!(
            "replica promote --switchover: Patroni has no healthy leader to hand over (members: {members}); nothing was changed\nhint: with the leader down, `opsbook replica promote --failover --candidate MEMBER`"
        ),
        (true, Some(l)) => bail!(
            "replica promote --failover: the leader {} is running; a failover is for a leader that is down; nothing was changed\nhint: the planned way, which demotes it cleanly first: `opsbook replica promote --switchover{}`",
            l.name,
            args.candidate.as_deref().map(|c| format!(" --candidate {c}")).unwrap_or_default()
        ),
        _ => {}
    }
    let candidate: Option<&Member> = match &args.candidate {
        Some(c) => Some(view.members.iter().find(|m| &m.name == c).ok_or_else(|| {
            anyhow::anyhow!("replica promote {how} --candidate {c}: Patroni has no member {c}; nothing was changed\nhint: the members are {members}")
        })?),
        None => {
            let replicas: Vec<&Member> = view
                .members
                .iter()
                .filter(|m| !m.is_leader() && up(m))
                .collect();
            match replicas.as_slice() {
                [one] => Some(*one),
                _ => None,
            }
        }
    };
    if let Some(c) = candidate {
        if c.is_leader() {
            bail!("replica promote {how} --candidate {}: it is the leader already; nothing was changed\nhint: the members are {members}", c.name);
        }
        if !up(c) {
            bail!("replica promote {how}: the candidate {} is {} in Patroni; nothing was changed\nhint: choose a running replica; the members are {members}", c.name, c.state);
        }
    }
    let from = view
        .leader()
        .and_then(|l| target_of(&o, l))
        .or_else(|| from_member.clone())
        .unwrap_or_else(|| "none".to_string());
    let to: Option<String> = candidate.map(|c| target_of(&o, c).unwrap_or_else(|| c.name.clone()));
    let to_facts = to.as_deref().and_then(|t| facts(&o, t));
    let (lag_b, lag_s) = (
        to_facts.and_then(|f| f.lag_bytes).or_else(|| {
            candidate
                .and_then(Member::lag_bytes)
                .and_then(|b| i64::try_from(b).ok())
        }),
        to_facts.and_then(|f| f.lag_seconds),
    );
    let old_tl = to_facts.and_then(|f| f.timeline).or_else(|| {
        candidate
            .and_then(|c| c.timeline)
            .and_then(|t| i64::try_from(t).ok())
    });

    let who = to
        .clone()
        .unwrap_or_else(|| "the healthiest replica (Patroni chooses)".into());
    let lag_text = match (lag_b, lag_s) {
        (Some(b), Some(s)) => format!("{b} bytes, {s:.1} s behind"),
        (Some(b), None) => format!("{b} bytes behind"),
        _ => "lag unknown".into(),
    };
    let endpoint = client.endpoint().to_string();
    let mut plan = vec![format!(
        "now: {} ({})",
        v.summary(),
        if members.is_empty() {
            "no members".into()
        } else {
            members.clone()
        }
    )];
    plan.push(match (args.failover, &from_member) {
        (false, Some(l)) => format!(
            "POST /switchover {{leader: {l}, candidate: {}}} to Patroni's REST API of {via} ({endpoint})",
            candidate.map_or("(Patroni chooses)", |c| c.name.as_str())
        ),
        _ => format!(
            "POST /failover {{candidate: {}}} to Patroni's REST API of {via} ({endpoint})",
            candidate.map_or("?", |c| c.name.as_str())
        ),
    });
    plan.push(if args.failover {
        format!("Patroni promotes {who} ({lag_text}: what it had not replayed from {from} is lost); {from}, when it comes back, rejoins as its replica (pg_rewind if its WAL went further): keep it fenced until then")
    } else {
        format!("Patroni stops {from} cleanly (its last WAL reaches the candidate first), promotes {who} ({lag_text}), and restarts {from} as a replica of it")
    });
    plan.push(format!(
        "wait up to {} s until every source (the PostgreSQL nodes, Patroni, HAProxy's writer backend) names {who}",
        args.wait
    ));
    let prompt = format!("move Patroni's leader from {from} to {who}");
    let word = candidate.map_or(action, |c| c.name.as_str());
    crate::confirm::typed(&prompt, &plan, word, args.yes)?;

    let mut report = Report::new("replica promote");
    report.sections.push(Section {
        title: "Plan".into(),
        columns: vec!["STEP".into()],
        rows: plan.iter().map(|p| vec![p.clone()]).collect(),
        fit: Vec::new(),
    });
    let asked = Instant::now();
    let answer = match (&from_member, candidate) {
        (Some(l), c) if !args.failover => client.switchover(l, c.map(|c| c.name.as_str())).await,
        (_, Some(c)) => client.failover(&c.name).await,
        _ => bail!("replica promote {how}: no leader to switch over from and no candidate"),
    }?;
    let answered_in = asked.elapsed();
    // 4xx: Patroni refused (nothing moved); 200 done, 202 scheduled, 503 "status unknown":
    // the sources tell.
    let refused = (400..500).contains(&answer.status);
    let what = format!("Patroni {action} (HTTP {})", answer.status);
    report.push(
        engine::request_finding(&what, !refused, &answer.message)
            .value_f64(answered_in.as_secs_f64(), "seconds"),
    );
    if refused {
        return Ok(report);
    }
    if let Some(t) = &to {
        report.push(engine::lag_finding(t, lag_b, lag_s));
    }
    let done = |v: &crate::ha::Verdict| match (&to, v.primary.as_deref()) {
        (Some(want), Some(p)) => p == want,
        (None, Some(p)) => p != from,
        _ => false,
    };
    let settled = settle::until(
        &ctx.config.targets,
        Side::Postgres,
        engine::budget(ctx),
        done,
        asked,
        Duration::from_secs(args.wait),
        crate::render::show_progress(&ctx.output),
    )
    .await;
    let now = settled.verdict.primary.clone();
    let new_tl = now
        .as_deref()
        .and_then(|p| facts(&settled.observation, p))
        .and_then(|f| f.timeline);
    engine::push_outcome(
        &mut report,
        &Outcome {
            side: Side::Postgres,
            engine: "Patroni",
            from: &from,
            to: to.as_deref(),
            settled,
            answered_in,
        },
    );
    if let (Some(a), Some(b)) = (old_tl, new_tl) {
        report.push(
            Finding::ok("replica.timeline", format!("timeline {a} -> {b}")).value(b, "timeline"),
        );
    }
    report.data = Some(serde_json::json!({
        "engine": "patroni",
        "action": action,
        "from": from,
        "candidate": to,
        "primary": now,
        "lag_at_switch_bytes": lag_b,
        "lag_at_switch_seconds": lag_s,
        "answer": answer,
    }));
    Ok(report)
}
