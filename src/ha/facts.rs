//! The HA facts an operator asks each morning, for a fanned-out `check morning|night` and
//! `monitor` (`--all`, or `--target` selecting a Patroni-managed node or a Sentinel): is
//! Patroni paused (maintenance mode), which members wait for a restart, did the timeline
//! change since this command's previous run (a failover at night: when, from the run history
//! and Patroni's `GET /history`), do the configured Sentinels answer and reach their quorum
//! (CKQUORUM), and the verdict of `cluster status` (do all sources name one primary).
//!
//! The gathering is `cluster status`'s own ([`observe`], [`verdict`]); this module only
//! reads the observation, the run history and, when the timeline moved, Patroni's history.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use super::findings::verdict_finding;
use super::observe::{
    observe_with, Budget, Node, Observation, PatroniFacts, SentinelFacts, Sessions,
};
use super::verdict::{verdict, Verdict};
use crate::clients::patroni::{HistoryEntry, Patroni};
use crate::config::targets::{Target, Targets};
use crate::report::{one_line, Finding, Status};
use crate::state::History;

/// `cluster.primary`: the verdict of `cluster status`.
pub const PRIMARY: &str = super::findings::PRIMARY;
/// Patroni's pause (maintenance mode: no automatic failover).
pub const PAUSED: &str = "cluster.paused";
/// Patroni members whose settings wait for a restart.
pub const PENDING_RESTART: &str = "cluster.pending_restart";
/// The primary's timeline against this command's previous run.
pub const TIMELINE: &str = "cluster.timeline";
/// The Sentinels of one master name: how many answer, how many each knows, the quorum.
pub const SENTINELS: &str = "cluster.sentinels";

/// Every id [`gather`] emits, for the commands' FindingIds tables.
pub const IDS: &[&str] = &[PRIMARY, PAUSED, PENDING_RESTART, TIMELINE, SENTINELS];

/// Whether `targets` has an HA engine whose facts [`gather`] reads: a PostgreSQL node with a
/// Patroni API, or a Sentinel.
pub fn has_engine<'a>(mut targets: impl Iterator<Item = &'a Target>) -> bool {
    targets.any(|t| match t {
        Target::Postgres(p) => p.patroni.is_some(),
        Target::Sentinel(_) => true,
        _ => false,
    })
}

/// The run the facts are part of: its command (the timeline is compared with the same
/// command's previous run), the state directory, whether to record, and now.
#[derive(Debug, Clone)]
pub struct RunOf<'a> {
    pub command: &'a str,
    pub state_dir: &'a Path,
    pub record: bool,
    pub now: i64,
}

/// What `--format json` carries under `data.cluster`.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub verdict: Verdict,
    /// the Patroni scope (cluster name) the pause, restart and timeline facts are about
    pub scope: Option<String>,
    pub timeline: Option<i64>,
    /// the timeline this command's previous run saw, and when (Unix seconds)
    pub previous_timeline: Option<i64>,
    pub previous_at: Option<i64>,
    /// Patroni's `/history` lines since the previous run (read only when the timeline moved)
    pub switches: Vec<HistoryEntry>,
}

/// Observe `targets` (the selected part of `inventory`, the config's whole `targets:`) over
/// the `sessions` the caller lends, then report the HA facts (findings in a fixed order) and
/// record the timeline in the run history (when `run.record`).
pub async fn gather(
    targets: &Targets,
    inventory: &Targets,
    budget: Budget,
    sessions: &Sessions<'_>,
    run: RunOf<'_>,
) -> (Vec<Finding>, Facts) {
    let o = observe_with(targets, budget, sessions).await;
    let v = verdict(&o);
    let mut out = vec![verdict_finding(&v)];
    let patroni = o
        .patroni
        .iter()
        .find_map(|n| n.facts.as_ref().ok().map(|f| (n, f)));
    let scope = patroni.map(|(n, f)| scope_of(n, f));
    if !o.patroni.is_empty() {
        out.extend(patroni_facts(patroni));
    }

    let timeline = current_timeline(&o, &v, patroni.map(|(_, f)| f));
    let mut facts = Facts {
        verdict: v,
        scope: scope.clone(),
        timeline,
        previous_timeline: None,
        previous_at: None,
        switches: Vec::new(),
    };
    if let Some(tl) = timeline {
        let key = timeline_key(run.command, scope.as_deref().unwrap_or("postgres"));
        let mut history =
            History::load_or_warn(run.state_dir, "timeline changes are not compared this run");
        let previous = history
            .previous(&key)
            .map(|(at, v)| (at, v as i64))
            .filter(|(at, _)| *at <= run.now);
        let moved = previous.is_none_or(|(_, p)| p != tl);
        let switches = match patroni {
            Some((n, _)) if moved => patroni_history(targets, &n.name, budget).await,
            _ => Ok(Vec::new()),
        };
        out.push(timeline_finding(
            scope.as_deref(),
            tl,
            previous,
            &switches,
            run.command,
        ));
        facts.previous_timeline = previous.map(|p| p.1);
        facts.previous_at = previous.map(|p| p.0);
        facts.switches = since(switches.unwrap_or_default(), previous.map(|p| p.1), tl);
        if run.record {
            history.record_or_warn(
                run.state_dir,
                run.command,
                BTreeMap::from([(key, tl as f64)]),
                run.now,
            );
        }
    } else if !o.postgres.is_empty() || !o.patroni.is_empty() {
        out.push(
            Finding::new(
                TIMELINE,
                Status::Unknown,
                "not checked: no PostgreSQL primary or Patroni leader answered (see cluster.primary)",
            )
            .subject(scope.as_deref().unwrap_or("postgres")),
        );
    }
    out.extend(sentinel_facts(&o.sentinels, inventory));
    (out, facts)
}

/// The history key of a scope's timeline as `command` saw it: "since the previous morning
/// check" must not be reset by a `monitor` every minute in between.
fn timeline_key(command: &str, scope: &str) -> String {
    format!("{TIMELINE}/{command}:{scope}")
}

fn scope_of(n: &Node<PatroniFacts>, f: &PatroniFacts) -> String {
    f.node
        .as_ref()
        .and_then(|s| s.patroni.as_ref())
        .map(|p| p.scope.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| n.name.clone())
}

/// The primary's timeline (its current WAL file's), else the Patroni leader's, else the
/// highest a reachable node reports.
fn current_timeline(o: &Observation, v: &Verdict, patroni: Option<&PatroniFacts>) -> Option<i64> {
    let of_primary = o
        .postgres
        .iter()
        .filter(|n| v.primary.as_ref() == Some(&n.name))
        .find_map(|n| n.facts.as_ref().ok()?.timeline);
    let of_leader = || {
        patroni
            .and_then(|f| f.cluster.leader())
            .and_then(|m| m.timeline)
            .and_then(|t| i64::try_from(t).ok())
    };
    let highest = || {
        o.postgres
            .iter()
            .filter_map(|n| n.facts.as_ref().ok()?.timeline)
            .max()
    };
    of_primary.or_else(of_leader).or_else(highest)
}

/// `cluster.paused` and `cluster.pending_restart`, from the first Patroni API that answered
/// (every member reads the same DCS); UNKNOWN when none did.
fn patroni_facts(patroni: Option<(&Node<PatroniFacts>, &PatroniFacts)>) -> Vec<Finding> {
    let Some((n, f)) = patroni else {
        let why = "not checked: no Patroni API answered (see cluster.primary)";
        return vec![
            Finding::new(PAUSED, Status::Unknown, why),
            Finding::new(PENDING_RESTART, Status::Unknown, why),
        ];
    };
    let scope = scope_of(n, f);
    let c = &f.cluster;
    let paused = if c.pause {
        Finding::new(
            PAUSED,
            Status::Warning,
            format!("Patroni cluster {scope} is PAUSED (maintenance mode): no automatic failover"),
        )
        .hint(format!(
            "when the maintenance is over: `patronictl -c /etc/patroni/config.yml resume {scope}`"
        ))
    } else {
        Finding::ok(
            PAUSED,
            format!("Patroni cluster {scope} is not paused: automatic failover is on"),
        )
    };
    let pending: Vec<&str> = c
        .members
        .iter()
        .filter(|m| m.pending_restart)
        .map(|m| m.name.as_str())
        .collect();
    let restart = if pending.is_empty() {
        Finding::ok(
            PENDING_RESTART,
            format!("no member of {scope} waits for a restart"),
        )
    } else {
        Finding::new(
            PENDING_RESTART,
            Status::Warning,
            format!(
                "{} of {} member(s) wait for a restart to apply changed settings: {}",
                pending.len(),
                c.members.len(),
                pending.join(", ")
            ),
        )
        .hint(format!(
            "restart them through Patroni in a quiet hour, replicas first: `patronictl restart {scope} {}`",
            pending.join(" ")
        ))
    };
    vec![
        paused.subject(&scope).value(c.pause, "paused"),
        restart.subject(&scope).value(pending.len(), "members"),
    ]
}

/// Patroni's `GET /history` from the API of target `name`.
async fn patroni_history(
    targets: &Targets,
    name: &str,
    budget: Budget,
) -> Result<Vec<HistoryEntry>, String> {
    let Some(Target::Postgres(p)) = targets.get(name) else {
        return Err(format!("{name} is not a PostgreSQL target"));
    };
    let Some(api) = &p.patroni else {
        return Err(format!("{name} has no Patroni API"));
    };
    let ask = async {
        let client = Patroni::new(
            &api.url,
            api.username.as_deref(),
            api.password_file.as_deref(),
            budget.timeouts.connect,
            budget.per_node,
        )?;
        client.history().await
    };
    match tokio::time::timeout(budget.per_node, ask).await {
        Ok(r) => r.map_err(|e| one_line(&e)),
        Err(_) => Err(format!(
            "GET /history: no answer within {:.1}s",
            budget.per_node.as_secs_f64()
        )),
    }
}

/// The history lines of the switches from timeline `previous` up to `current` (each line is a
/// timeline that ended; the next one began then). With no previous run, the last switch.
fn since(all: Vec<HistoryEntry>, previous: Option<i64>, current: i64) -> Vec<HistoryEntry> {
    let n = all.len();
    match previous {
        None => all.into_iter().skip(n.saturating_sub(1)).collect(),
        Some(p) => all
            .into_iter()
            .filter(|e| {
                let t = i64::try_from(e.timeline).unwrap_or(i64::MAX);
                t >= p && t < current
            })
            .collect(),
    }
}

/// Patroni's time stamp without its fraction of a second.
fn short_time(ts: &str) -> String {
    match ts.split_once('.') {
        Some((head, rest)) => {
            let zone = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{head}{zone}")
        }
        None => ts.to_string(),
    }
}

fn switch_line(e: &HistoryEntry) -> String {
    let when = e.timestamp.as_deref().map_or_else(
        || "at an unrecorded time".into(),
        |t| format!("at {}", short_time(t)),
    );
    let leader = e
        .new_leader
        .as_deref()
        .map(|l| format!(", new leader {l}"))
        .unwrap_or_default();
    let reason = if e.reason.is_empty() {
        String::new()
    } else {
        format!(" ({})", e.reason)
    };
    format!(
        "timeline {} -> {} {when}{leader}{reason}",
        e.timeline,
        e.timeline + 1
    )
}

fn at(secs: i64) -> String {
    crate::timefmt::rfc3339(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
}

/// `cluster.timeline`: unchanged since this command's previous run (OK), the first run (OK,
/// naming the last switch Patroni knows), or changed (WARNING: a failover or switchover
/// happened since, with when and to whom from Patroni's `/history`).
pub fn timeline_finding(
    scope: Option<&str>,
    current: i64,
    previous: Option<(i64, i64)>,
    history: &Result<Vec<HistoryEntry>, String>,
    command: &str,
) -> Finding {
    let subject = scope.unwrap_or("postgres");
    let f = match previous {
        None => {
            let last = history
                .as_ref()
                .ok()
                .and_then(|h| h.last())
                .map(|e| format!("; the last switch Patroni knows: {}", switch_line(e)))
                .unwrap_or_default();
            Finding::ok(
                TIMELINE,
                format!(
                    "timeline {current} (first {command} that records it: changes are reported from the next run on){last}"
                ),
            )
        }
        Some((_, p)) if p == current => Finding::ok(
            TIMELINE,
            format!("timeline {current}, unchanged since the previous {command}"),
        ),
        Some((when, p)) => {
            let switches = match history {
                Ok(h) => since(h.clone(), Some(p), current),
                Err(_) => Vec::new(),
            };
            let what = if current > p {
                "a failover or switchover happened since"
            } else {
                "the timeline went back: a re-initialised cluster, or another cluster at these addresses"
            };
            let first = switches
                .first()
                .map(|e| format!(": {}", switch_line(e)))
                .unwrap_or_default();
            let mut f = Finding::new(
                TIMELINE,
                Status::Warning,
                format!(
                    "timeline {p} -> {current} since the previous {command} at {}: {what}{first}",
                    at(when)
                ),
            )
            .hint("find out why it switched (Patroni's log on the old and the new leader), and check that the old primary rejoined as a replica (`opsbook cluster status`)");
            let mut lines: Vec<String> = switches.iter().map(switch_line).collect();
            if let Err(e) = history {
                lines.push(format!("Patroni's /history could not be read: {e}"));
            }
            if !lines.is_empty() {
                f = f.detail(lines);
            }
            f
        }
    };
    f.subject(subject).value(current, "timeline")
}

/// `cluster.sentinels`, one per master name: how many of the selected Sentinels answer, how
/// many Sentinels each knows (itself and `num-other-sentinels`) against how many the
/// inventory configures for that master name, the quorum and CKQUORUM. CRITICAL when CKQUORUM
/// fails or fewer answer than the quorum; WARNING when a selected one does not answer, or one
/// knows another number of Sentinels than configured (a stale or missing peer).
fn sentinel_facts(sentinels: &[Node<SentinelFacts>], inventory: &Targets) -> Vec<Finding> {
    let master_of = |name: &str| match inventory.get(name) {
        Some(Target::Sentinel(s)) => s.master.clone(),
        _ => String::new(),
    };
    let mut by_master: BTreeMap<String, Vec<&Node<SentinelFacts>>> = BTreeMap::new();
    for s in sentinels {
        by_master.entry(master_of(&s.name)).or_default().push(s);
    }
    by_master
        .into_iter()
        .map(|(master, nodes)| {
            let configured = inventory
                .values()
                .filter(|t| matches!(t, Target::Sentinel(s) if s.master == master))
                .count()
                .max(nodes.len()) as u64;
            sentinel_finding(&master, &nodes, configured)
        })
        .collect()
}

fn sentinel_finding(master: &str, nodes: &[&Node<SentinelFacts>], configured: u64) -> Finding {
    let selected = nodes.len();
    let up: Vec<&SentinelFacts> = nodes.iter().filter_map(|n| n.facts.as_ref().ok()).collect();
    let down: Vec<&str> = nodes
        .iter()
        .filter(|n| n.facts.is_err())
        .map(|n| n.name.as_str())
        .collect();
    let answering = up.len() as u64;
    let subject = if master.is_empty() {
        "sentinels"
    } else {
        master
    };
    let quorum = up.iter().filter_map(|f| f.quorum).max();
    let known: Vec<u64> = up
        .iter()
        .filter_map(|f| f.other_sentinels.map(|o| o + 1))
        .collect();
    let failing: Vec<String> = nodes
        .iter()
        .filter_map(|n| {
            let f = n.facts.as_ref().ok()?;
            (!f.ckquorum.ok).then(|| format!("{}: {}", n.name, f.ckquorum.message))
        })
        .collect();
    // The unselected configured Sentinels are not counted as lost (CKQUORUM on the answering
    // ones asks them).
    let below_quorum = quorum.is_none_or(|q| configured.saturating_sub(down.len() as u64) < q);
    let odd_view = known.iter().any(|k| *k != configured);
    let status = if answering == 0 || below_quorum || !failing.is_empty() {
        Status::Critical
    } else if !down.is_empty() || odd_view {
        Status::Warning
    } else {
        Status::Ok
    };
    let sees = match (known.iter().min(), known.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("each knows {a}"),
        (Some(a), Some(b)) => format!("they know {a} to {b}"),
        _ => "none answers".to_string(),
    };
    let ck = if failing.is_empty() && answering > 0 {
        "CKQUORUM OK".to_string()
    } else if answering == 0 {
        "CKQUORUM not asked".to_string()
    } else {
        format!("CKQUORUM fails on {}", failing.len())
    };
    let mut f = Finding::new(
        SENTINELS,
        status,
        format!(
            "{answering} of {selected} Sentinel(s) answer for {subject} ({configured} configured), {sees}, quorum {}: {ck}",
            quorum.map_or_else(|| "?".into(), |q| q.to_string())
        ),
    )
    .subject(subject)
    .value(answering, "sentinels");
    let mut lines: Vec<String> = failing;
    if !down.is_empty() {
        lines.push(format!("not answering: {}", down.join(", ")));
    }
    if odd_view {
        lines.push(format!(
            "the inventory configures {configured} Sentinel(s) for {subject}; a Sentinel that knows another number has a stale or missing peer"
        ));
    }
    if !lines.is_empty() {
        f = f.detail(lines);
    }
    match status {
        Status::Critical => f.hint("fewer Sentinels agree than the quorum: a failover of the Redis master cannot be authorised; start the Sentinels that are down (`opsbook cluster status` names them)"),
        Status::Warning if odd_view && down.is_empty() => f.hint(format!("`SENTINEL RESET {subject}` on each Sentinel, one at a time, 30 s apart, forgets the stale peers")),
        Status::Warning => f.hint("start the Sentinel that does not answer: one more loss and a failover may not be authorised"),
        _ => f,
    }
}

#[cfg(test)]
#[path = "facts_tests.rs"]
mod tests;
