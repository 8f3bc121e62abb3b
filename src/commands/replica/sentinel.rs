//! `replica promote --sentinel-failover`: the Redis master moves through the Sentinels
//! (`SENTINEL FAILOVER <master>`: the Sentinel asked promotes the best replica, by
//! replica-priority then replication offset, and reconfigures the others, the old master
//! included, to replicate from it). The plan first (master now, the replica likely to take
//! over and its offset lag), confirmation, then the wait until every Redis source (the
//! nodes, every Sentinel, HAProxy's Redis backend) names the new master.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::engine::{self, Outcome};
use super::PromoteArgs;
use crate::clients::redis::resolve_url;
use crate::clients::sentinel::{flags_down, Sentinel};
use crate::config::targets::{SentinelTarget, Target};
use crate::context::Ctx;
use crate::ha::settle::{self, Side};
use crate::ha::{addr, Observation};
use crate::report::{Report, Section};

/// The Sentinels to ask, those `--target` names first (a Redis target: the inventory's).
fn sentinels(ctx: &Ctx) -> anyhow::Result<Vec<(&str, &SentinelTarget)>> {
    let chosen = engine::selected(ctx, "--sentinel-failover")?;
    let of = |v: &[(&str, &Target)]| -> Vec<(String, SentinelTarget)> {
        v.iter()
            .filter_map(|(n, t)| match t {
                Target::Sentinel(s) => Some((n.to_string(), s.clone())),
                _ => None,
            })
            .collect()
    };
    let mut names: Vec<String> = of(&chosen).into_iter().map(|(n, _)| n).collect();
    if let Some(name) = ctx.overrides.target.as_deref() {
        let redis = chosen.iter().any(|(_, t)| matches!(t, Target::Redis(_)));
        if names.is_empty() && !redis {
            bail!("replica promote --sentinel-failover: --target {name} is not a Sentinel or Redis target\nhint: name a Sentinel (or the Redis node) with --target (see `opsbook targets list`)");
        }
    }
    for (n, _) in of(&engine::selected_all(ctx)) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    if names.is_empty() {
        bail!("replica promote --sentinel-failover: the inventory has no Sentinel\nhint: add the Sentinels as targets (kind: sentinel, url, master; see commands/targets.md), or discover them with `opsbook targets discover --sentinel URL --master NAME`");
    }
    Ok(names
        .into_iter()
        .filter_map(|n| match ctx.config.targets.get_key_value(&n) {
            Some((k, Target::Sentinel(s))) => Some((k.as_str(), s)),
            _ => None,
        })
        .collect())
}

/// The first Sentinel that answers where the master is.
async fn reach(
    ctx: &Ctx,
    list: &[(&str, &SentinelTarget)],
) -> anyhow::Result<(String, Sentinel, String)> {
    let connect = ctx.timeouts().connect;
    let env = |k: &str| match k {
        "REDIS_URL" => None,
        k => crate::context::process_env(k),
    };
    let mut errors = Vec::new();
    for (name, s) in list {
        let attempt = async {
            let url = resolve_url(Some(&s.url), None, s.password_file.as_deref(), &env)?;
            let sentinel = Sentinel::connect(&url, &s.master, connect).await?;
            let master = sentinel.master_addr().await?.ok_or_else(|| {
                anyhow::anyhow!("it does not monitor a master named `{}`", s.master)
            })?;
            anyhow::Ok((sentinel, addr::normal(&master.0, master.1)))
        };
        match tokio::time::timeout(connect + Duration::from_secs(5), attempt).await {
            Ok(Ok((sentinel, master))) => return Ok((name.to_string(), sentinel, master)),
            Ok(Err(e)) => errors.push(format!("{name}: {}", crate::report::one_line(&e))),
            Err(_) => errors.push(format!("{name}: no answer")),
        }
    }
    bail!(
        "replica promote --sentinel-failover: no Sentinel answered; nothing was changed:\n  {}\nhint: check the Sentinels (`opsbook cluster status`)",
        errors.join("\n  ")
    )
}

/// The Redis target at `address`, or the address.
fn name_at(o: &Observation, address: &str) -> String {
    o.redis
        .iter()
        .find(|n| n.address == address)
        .map_or_else(|| address.to_string(), |n| n.name.clone())
}

fn offset(o: &Observation, name: &str) -> Option<u64> {
    o.redis
        .iter()
        .find(|n| n.name == name)
        .and_then(|n| n.facts.as_ref().ok())
        .and_then(|f| f.offset)
}

pub async fn failover(args: &PromoteArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let list = sentinels(ctx)?;
    let (via, sentinel, master_addr) = reach(ctx, &list).await?;
    let master_name = sentinel.master_name().to_string();
    let replicas = sentinel.replicas().await.unwrap_or_default();
    let (o, v) = engine::before(ctx, Side::Redis).await;
    let from = name_at(&o, &master_addr);
    // The replicas a Sentinel may promote: not down, link up, priority not 0.
    let good: Vec<String> = replicas
        .iter()
        .filter(|r| !flags_down(r))
        .filter(|r| r.get("master-link-status").is_none_or(|s| s == "ok"))
        .filter(|r| {
            r.get("slave-priority")
                .or_else(|| r.get("replica-priority"))
                .is_none_or(|p| p != "0")
        })
        .filter_map(|r| {
            let port: u16 = r.get("port")?.parse().ok()?;
            Some(name_at(&o, &addr::normal(r.get("ip")?, port)))
        })
        .collect();
    if good.is_empty() {
        bail!("replica promote --sentinel-failover: the Sentinel {via} knows no replica of {master_name} ({from}) it could promote (all down, disconnected or replica-priority 0); nothing was changed\nhint: `opsbook cluster status` shows the replicas and their links");
    }
    let to: Option<String> = match good.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let lag = to.as_deref().and_then(|t| {
        let (m, r) = (offset(&o, &from)?, offset(&o, t)?);
        i64::try_from(m.saturating_sub(r)).ok()
    });
    let who = to
        .clone()
        .unwrap_or_else(|| format!("one of {} (the Sentinel chooses)", good.join(", ")));
    let lag_text = lag.map_or("offset lag unknown".into(), |b| format!("{b} bytes behind"));
    let plan = vec![
        format!("now: {}", v.summary()),
        format!(
            "SENTINEL FAILOVER {master_name} on {via} ({}): no agreement of the other Sentinels is asked for",
            sentinel.url()
        ),
        format!("the Sentinels promote {who} ({lag_text}: writes {from} took that it had not received are lost) and make {from} its replica"),
        format!(
            "wait up to {} s until every source (the Redis nodes, every Sentinel, HAProxy's Redis backend) names {who}",
            args.wait
        ),
    ];
    let prompt = format!("move the Redis master {master_name} from {from} to {who}");
    let word = to.as_deref().unwrap_or("failover");
    crate::confirm::typed(&prompt, &plan, word, args.yes)?;

    let mut report = Report::new("replica promote");
    report.sections.push(Section {
        title: "Plan".into(),
        columns: vec!["STEP".into()],
        rows: plan.iter().map(|p| vec![p.clone()]).collect(),
        fit: Vec::new(),
    });
    let asked = Instant::now();
    let answer = sentinel.failover().await;
    let answered_in = asked.elapsed();
    let what = format!("SENTINEL FAILOVER {master_name} on {via}");
    match &answer {
        Ok(()) => report.push(
            engine::request_finding(&what, true, "OK")
                .value_f64(answered_in.as_secs_f64(), "seconds"),
        ),
        Err(e) => {
            report.push(engine::request_finding(
                &what,
                false,
                &crate::report::one_line(e),
            ));
            return Ok(report);
        }
    }
    if let Some(t) = &to {
        report.push(engine::lag_finding(t, lag, None));
    }
    let done = |v: &crate::ha::Verdict| match (&to, v.redis_master.as_deref()) {
        (Some(want), Some(m)) => m == want,
        (None, Some(m)) => m != from,
        _ => false,
    };
    let settled = settle::until(
        &ctx.config.targets,
        Side::Redis,
        engine::budget(ctx),
        done,
        asked,
        Duration::from_secs(args.wait),
        crate::render::show_progress(&ctx.output),
    )
    .await;
    let now = settled.verdict.redis_master.clone();
    engine::push_outcome(
        &mut report,
        &Outcome {
            side: Side::Redis,
            engine: "the Sentinel",
            from: &from,
            to: to.as_deref(),
            settled,
            answered_in,
        },
    );
    report.data = Some(serde_json::json!({
        "engine": "sentinel",
        "action": "failover",
        "master_name": master_name,
        "from": from,
        "candidate": to,
        "master": now,
        "lag_at_switch_bytes": lag,
    }));
    Ok(report)
}
