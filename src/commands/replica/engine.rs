//! What the ways through an engine share: the refusal of `pg_promote()` on a server Patroni
//! manages, the pieces of the plan, and the findings of the wait until every source names
//! the new primary (`ha::settle`).

use std::time::Duration;

use crate::config::targets::{self, Target, Targets};
use crate::context::Ctx;
use crate::ha::managed::Managed;
use crate::ha::settle::{self, Settled, Side};
use crate::ha::{findings, Budget};
use crate::report::{Finding, Report, Status};

/// The error of a plain `replica promote` on a server Patroni manages: what it would do, and
/// the engine's way instead.
pub fn refusal(server: &str, m: &Managed, in_recovery: bool) -> String {
    let scope = m
        .scope
        .as_deref()
        .map(|s| format!(" (scope {s})"))
        .unwrap_or_default();
    // A standby is the candidate itself; on the leader, the candidate is another member.
    let member = m
        .target
        .as_deref()
        .filter(|_| in_recovery)
        .unwrap_or("MEMBER");
    let target = m
        .target
        .as_deref()
        .map(|t| format!(" --target {t}"))
        .unwrap_or_default();
    let what = if in_recovery {
        "pg_promote() there would make a second primary behind Patroni's back (a split brain: Patroni's leader keeps taking writes too)"
    } else {
        "it is Patroni's leader already; Patroni decides who leads"
    };
    let api = if m.api.is_some() {
        String::new()
    } else {
        "; add the node's Patroni REST API to the inventory (targets.NAME.patroni.url, see commands/targets.md) so opsbook can ask it".to_string()
    };
    format!(
        "replica promote: Patroni manages {server}{scope}: {}; {what}; nothing was changed\nhint: promote through Patroni: `opsbook replica promote --switchover --candidate {member}{target}` (planned, the leader healthy) or `--failover --candidate {member}` (the leader down){api}",
        m.evidence
    )
}

/// The timeouts of one look at every source: the run's, each node at most 5 s (a down node
/// must not stretch the wait's rhythm).
pub fn budget(ctx: &Ctx) -> Budget {
    Budget {
        timeouts: ctx.timeouts(),
        per_node: ctx.probe_timeout().min(Duration::from_secs(5)),
    }
}

/// The targets `--target` names (a group: its members), or every target without it;
/// `--all` is refused: an engine's action moves one primary.
pub fn selected<'a>(ctx: &'a Ctx, how: &str) -> anyhow::Result<Vec<(&'a str, &'a Target)>> {
    if ctx.overrides.all {
        anyhow::bail!(
            "replica promote {how} moves one primary: --all is refused\nhint: name the node or Sentinel with --target NAME, or leave --target out to use the inventory's"
        );
    }
    let all: &Targets = &ctx.config.targets;
    if all.is_empty() {
        anyhow::bail!(
            "replica promote {how}: the config has no `targets:` section, so no engine to ask\nhint: list the nodes and their engines (see commands/targets.md; `opsbook targets discover` prints them)"
        );
    }
    match ctx.overrides.target.as_deref() {
        Some(name) => targets::select(all, Some(name), false),
        None => targets::select(all, None, true),
    }
}

/// Every node of the inventory (groups resolved away).
pub fn selected_all(ctx: &Ctx) -> Vec<(&str, &Target)> {
    targets::select(&ctx.config.targets, None, true).unwrap_or_default()
}

/// The findings and tables of the end of the wait.
pub struct Outcome<'a> {
    pub side: Side,
    pub engine: &'a str,
    /// the old primary's target name
    pub from: &'a str,
    /// the new primary: the candidate's target name, or None when the engine chose
    pub to: Option<&'a str>,
    pub settled: Settled,
    /// how long the engine's answer took
    pub answered_in: Duration,
}

/// `replica.agree`: the time until every source named the new primary, or what still
/// disagrees; the node table of the last look.
pub fn push_outcome(report: &mut Report, o: &Outcome) {
    let s = &o.settled;
    let secs = (s.took.as_secs_f64() * 1000.0).round() / 1000.0;
    let now = o.side.primary(&s.verdict).unwrap_or("none");
    let role = match o.side {
        Side::Postgres => "primary",
        Side::Redis => "master",
    };
    let mut detail: Vec<String> = s.verdict.sources.clone();
    detail.extend(s.verdict.problems.iter().map(|p| format!("disagrees: {p}")));
    let f = if s.agreed {
        Finding::ok(
            "replica.agree",
            format!(
                "{now} is the {role}: every source agrees {:.1} s after {} was asked ({} answered in {:.1} s)",
                s.took.as_secs_f64(),
                o.engine,
                o.engine,
                o.answered_in.as_secs_f64()
            ),
        )
        .value_f64(secs, "seconds")
    } else {
        let want = o.to.unwrap_or("a new primary");
        let why = if s.verdict.agree {
            format!("every source still names {now}")
        } else {
            s.verdict.problems.join("; ")
        };
        Finding::new(
            "replica.agree",
            Status::Critical,
            format!(
                "after {:.0} s not every source names {want} (was {}): {why}",
                s.took.as_secs_f64(),
                o.from
            ),
        )
        .value_f64(secs, "seconds")
        .hint("see `opsbook cluster status`; the engine may still be moving the primary (its log says why not)")
    };
    report.push(f.subject(now.to_string()).detail(detail));
    report
        .sections
        .push(findings::node_table(&s.observation, &s.verdict));
}

/// `replica.lag_at_switch`: the candidate's lag when the engine was asked.
pub fn lag_finding(candidate: &str, bytes: Option<i64>, seconds: Option<f64>) -> Finding {
    let text = match (bytes, seconds) {
        (Some(b), Some(s)) => format!("{b} bytes, {s:.1} s"),
        (Some(b), None) => format!("{b} bytes"),
        (None, Some(s)) => format!("{s:.1} s"),
        (None, None) => "unknown".to_string(),
    };
    let f = Finding::ok(
        "replica.lag_at_switch",
        format!("{candidate} was {text} behind when the engine was asked"),
    )
    .subject(candidate.to_string());
    match bytes {
        Some(b) => f.value(b, "bytes"),
        None => f,
    }
}

/// `replica.engine_request`: what the engine answered; refused is critical (nothing moved).
pub fn request_finding(what: &str, accepted: bool, answer: &str) -> Finding {
    if accepted {
        Finding::ok("replica.engine_request", format!("{what}: {answer}"))
    } else {
        Finding::new(
            "replica.engine_request",
            Status::Critical,
            format!("{what} refused: {answer}"),
        )
        .hint("nothing was moved; the engine's answer says why (see `opsbook cluster status`)")
    }
}

/// The first look, before anything changes (the plan's facts).
pub async fn before(ctx: &Ctx, side: Side) -> (crate::ha::Observation, crate::ha::Verdict) {
    settle::look(&ctx.config.targets, side, budget(ctx)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_the_evidence_and_the_engines_way() {
        let m = Managed {
            target: Some("pg-b".into()),
            api: None,
            evidence: "the inventory's target pg-b has patroni:".into(),
            scope: Some("main".into()),
        };
        let standby = refusal("127.0.0.1:5433", &m, true);
        assert!(
            standby.contains("Patroni manages 127.0.0.1:5433 (scope main)"),
            "{standby}"
        );
        assert!(standby.contains("split brain") && standby.contains("nothing was changed"));
        assert!(
            standby.contains("--switchover --candidate pg-b --target pg-b"),
            "{standby}"
        );
        assert!(
            standby.contains("add the node's Patroni REST API"),
            "{standby}"
        );
        // On the leader, the candidate is another member.
        let leader = refusal("127.0.0.1:5432", &m, false);
        assert!(leader.contains("Patroni's leader already"), "{leader}");
        assert!(
            leader.contains("--candidate MEMBER --target pg-b"),
            "{leader}"
        );
    }
}
