//! The fan-out: `--target NAME|GROUP` and `--all` run a command against the inventory's
//! targets (`targets:` in the config) and return ONE report.
//!
//! For a checking command ([`Mode::Each`]) every selected PostgreSQL target gets a context of
//! its own whose connection is the target's (url, password_file) and whose scope is
//! PostgreSQL only; a Redis target likewise; the host's own probes (disk, memory, services,
//! journal, backups) run once, in a host-scoped context. A Sentinel or HAProxy target gets a
//! reachability finding (`target.up`, [`reach`]). The parts run concurrently, at most
//! [`CONCURRENCY`] at once, each under its own deadline, so a hung target costs one timeout,
//! not a sum; their findings carry the target (`parts`, `merge`).
//!
//! A command that acts ([`Mode::One`]) takes ONE PostgreSQL or Redis target as its connection
//! and refuses `--all` and groups.
//!
//! `check morning|night` and `monitor` also ask for the HA facts ([`Plan::with_ha_facts`],
//! `crate::ha::facts`) when the selection has an HA engine (a Patroni API, a Sentinel): one
//! more part, run beside the others, whose findings (`cluster.*`) are about the whole stack
//! and carry no target; its data is `data.cluster`.

pub mod merge;
pub mod parts;
pub mod reach;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

use crate::config::targets::{self, Target};
use crate::context::{Ctx, Scope, OUT_OF_SCOPE};
use crate::ha::facts::{self as ha_facts, RunOf};
use crate::report::{Finding, FindingIds, Report, Status};
use merge::Piece;
use parts::Part;

/// At most this many targets are worked on at once.
pub const CONCURRENCY: usize = 8;

/// The findings the fan-out itself adds, and `opsbook targets list`'s (commands/targets.md).
pub const FINDING_IDS: FindingIds = FindingIds {
    command: "targets",
    page: "commands/targets.md",
    ids: &[
        "targets.list (targets list: how many targets and groups)",
        "target.up (a Sentinel or HAProxy target, or a target with no answer within its deadline)",
        "target.error (the command could not run against a reachable target)",
    ],
};

/// Whether `id` is one the fan-out adds to any fanned-out command's report.
pub fn adds(id: &str) -> bool {
    id == reach::UP || id == ERROR
}

const ERROR: &str = "target.error";

/// How a command runs with `--target`/`--all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Against each selected target, merged into one report; `extra` is the time the command
    /// takes beyond its probes' timeouts (a sampling duration), added to each part's deadline.
    Each { extra: Duration },
    /// With ONE PostgreSQL or Redis target as its connection (a command that acts, or one
    /// that redraws one server's view); `what` says which, for the refusal of `--all`.
    One { what: &'static str },
    /// The command passes the selection on (a runbook's steps fan out themselves).
    Through,
    /// The command does not run against targets (`why` says what it works on instead).
    Refuse { why: &'static str },
}

/// What the command line selected, as one phrase for messages: `--all`, `--target pg-a`.
fn selection(ctx: &Ctx) -> String {
    match &ctx.overrides.target {
        Some(t) if !ctx.overrides.all => format!("--target {t}"),
        _ => "--all".to_string(),
    }
}

/// `--target` and `--all` exclude each other (not a clap rule: `backup --all`, every
/// database, is an argument of its own that the global `--all` must not collide with).
fn check_selection(ctx: &Ctx) -> anyhow::Result<()> {
    if ctx.overrides.all && ctx.overrides.target.is_some() {
        bail!("--target and --all exclude each other\nhint: give --target NAME|GROUP for some targets, or --all for every one");
    }
    Ok(())
}

/// A context whose connection is target `t` (a PostgreSQL or Redis node), limited to `scope`.
fn target_ctx(ctx: &Ctx, t: Option<&Target>, scope: Scope) -> Ctx {
    let mut config = ctx.config.clone();
    let mut overrides = ctx.overrides.clone();
    overrides.target = None;
    overrides.all = false;
    // Alerts go out once, from the merged report (`monitor::notify_merged`): each part sending
    // its own would clear the other parts' alerts.
    config.notify = Default::default();
    match t {
        Some(Target::Postgres(p)) => {
            overrides.pg = Some(p.url.clone());
            config.postgres.url = Some(p.url.clone());
            config.postgres.password_file = p.password_file.clone();
        }
        Some(Target::Redis(r)) => {
            overrides.redis = Some(r.url.clone());
            config.redis.url = Some(r.url.clone());
            config.redis.password_file = r.password_file.clone();
        }
        _ => {}
    }
    Ctx::new(config, ctx.source.clone(), ctx.output.clone(), overrides).with_scope(scope)
}

/// For a command that acts: the context of the ONE target `--target` names, and its name;
/// None without `--target`/`--all`. `--all`, a group, a Sentinel or an HAProxy is refused.
pub fn one(ctx: &Ctx, command: &str, what: &str) -> anyhow::Result<Option<(String, Ctx)>> {
    if !ctx.overrides.selects_targets() {
        return Ok(None);
    }
    check_selection(ctx)?;
    let sel = selection(ctx);
    let name = match (&ctx.overrides.target, ctx.overrides.all) {
        (Some(n), false) => n.clone(),
        _ => bail!(
            "`{command}` {what}: --all is refused\nhint: name one PostgreSQL or Redis target with --target NAME (see `opsbook targets list`)"
        ),
    };
    // An unknown name: the selection's own error, with the names to choose from.
    targets::select(&ctx.config.targets, Some(&name), false)?;
    match ctx.config.targets.get(&name) {
        Some(Target::Group(_)) => bail!(
            "`{command}` {what}: {sel} names a group\nhint: name one of its members with --target NAME (see `opsbook targets list`)"
        ),
        Some(t @ (Target::Postgres(_) | Target::Redis(_))) => {
            Ok(Some((name.clone(), target_ctx(ctx, Some(t), Scope::Whole))))
        }
        Some(t) => bail!(
            "`{command}` works on a PostgreSQL or Redis server: {sel} is a {} target\nhint: name a PostgreSQL or Redis target with --target NAME (see `opsbook targets list`)",
            t.kind()
        ),
        None => bail!("{sel}: no such target or group"),
    }
}

/// The refusal of a command that does not run against targets.
pub fn refuse(ctx: &Ctx, command: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "`{command}` does not run against inventory targets ({}): {why}\nhint: drop {}",
        selection(ctx),
        selection(ctx)
    )
}

/// One part of a fanned-out run.
enum Work {
    /// the command, in a context limited to one part
    Command {
        ctx: Box<Ctx>,
        keep: Part,
    },
    Sentinel(targets::SentinelTarget),
    Haproxy(targets::HaproxyTarget),
}

struct Unit {
    target: Option<String>,
    work: Work,
}

/// The HA facts part of a fanned-out run: the selected targets, observed as `cluster status`
/// observes them.
struct HaPart {
    selected: targets::Targets,
    inventory: targets::Targets,
    budget: crate::ha::Budget,
    state_dir: PathBuf,
    record: bool,
}

/// The parts of a fanned-out run of one command: built first (each owns its context), then
/// run with [`Plan::run`].
pub struct Plan {
    units: Vec<Unit>,
    deadline: Duration,
    connect: Duration,
    ha: Option<HaPart>,
}

impl Plan {
    /// The parts `--target`/`--all` select: one per PostgreSQL / Redis / Sentinel / HAProxy
    /// target, plus the host's own part. Errors (exit 3) name the unknown target or the
    /// missing inventory.
    pub fn each(ctx: &Ctx, extra: Duration) -> anyhow::Result<Plan> {
        check_selection(ctx)?;
        let chosen = targets::select(
            &ctx.config.targets,
            ctx.overrides.target.as_deref(),
            ctx.overrides.all,
        )?;
        let mut units = Vec::with_capacity(chosen.len() + 1);
        for (name, t) in chosen {
            let work = match t {
                Target::Postgres(_) => Work::Command {
                    ctx: Box::new(target_ctx(ctx, Some(t), Scope::Postgres)),
                    keep: Part::Postgres,
                },
                Target::Redis(_) => Work::Command {
                    ctx: Box::new(target_ctx(ctx, Some(t), Scope::Redis)),
                    keep: Part::Redis,
                },
                Target::Sentinel(s) => Work::Sentinel(s.clone()),
                Target::Haproxy(h) => Work::Haproxy(h.clone()),
                // select() resolves groups to their members.
                Target::Group(_) => continue,
            };
            units.push(Unit {
                target: Some(name.to_string()),
                work,
            });
        }
        units.push(Unit {
            target: None,
            work: Work::Command {
                ctx: Box::new(target_ctx(ctx, None, Scope::Host)),
                keep: Part::Host,
            },
        });
        let t = ctx.timeouts();
        Ok(Plan {
            units,
            deadline: ctx.probe_timeout() + t.connect + extra,
            connect: t.connect,
            ha: None,
        })
    }

    /// Add the HA facts (`crate::ha::facts`) when the selection has a Patroni-managed node or
    /// a Sentinel; `record`: the primary's timeline goes into the run history (the next run
    /// of the same command compares with it).
    pub fn with_ha_facts(mut self, ctx: &Ctx, record: bool) -> anyhow::Result<Plan> {
        let chosen = targets::select(
            &ctx.config.targets,
            ctx.overrides.target.as_deref(),
            ctx.overrides.all,
        )?;
        if !ha_facts::has_engine(chosen.iter().map(|(_, t)| *t)) {
            return Ok(self);
        }
        self.ha = Some(HaPart {
            selected: chosen
                .into_iter()
                .map(|(n, t)| (n.to_string(), t.clone()))
                .collect(),
            inventory: ctx.config.targets.clone(),
            budget: crate::ha::Budget {
                timeouts: ctx.timeouts(),
                per_node: ctx.probe_timeout(),
            },
            state_dir: ctx.state_dir(),
            record,
        });
        Ok(self)
    }

    /// How many targets the plan covers (the host's part not counted).
    pub fn targets(&self) -> usize {
        self.units.iter().filter(|u| u.target.is_some()).count()
    }

    /// Run `run` for every part concurrently and merge the parts into one report of
    /// `command`. The parts run on at most [`CONCURRENCY`] threads of their own, each with a
    /// one-thread runtime (a check's runtime, as without targets), each part within the plan's
    /// deadline: the CPU work of a part (a SCRAM handshake, a TLS one) then runs beside the
    /// others' on a second core instead of after them. Blocks until every part is done.
    pub fn run<'p, F, Fut>(&'p self, ctx: &Ctx, command: &str, run: F) -> anyhow::Result<Report>
    where
        F: Fn(&'p Ctx) -> Fut + Sync,
        Fut: std::future::Future<Output = anyhow::Result<Report>>,
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        // A runbook step's command may nest further: the room a check needs, as main gives.
        const STACK: usize = 16 * 1024 * 1024;
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Piece>>> =
            self.units.iter().map(|_| Mutex::new(None)).collect();
        let ha_slot: Mutex<Option<(Vec<Finding>, serde_json::Value)>> = Mutex::new(None);
        let workers = self.units.len().clamp(1, CONCURRENCY);
        // The HA facts borrow the targets' sessions, whose connection tasks live on the
        // runtime of the thread that opened them: every thread keeps driving its runtime
        // until all threads are done, so a lent session answers whichever thread asks.
        let threads = workers + usize::from(self.ha.is_some());
        let all_done = tokio::sync::Barrier::new(threads);
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        };
        std::thread::scope(|scope| -> anyhow::Result<()> {
            let mut handles = Vec::with_capacity(threads);
            for i in 0..workers {
                let (next, slots, run, all_done) = (&next, &slots, &run, &all_done);
                let h = std::thread::Builder::new()
                    .name(format!("opsbook-target-{i}"))
                    .stack_size(STACK)
                    .spawn_scoped(scope, move || -> anyhow::Result<()> {
                        let rt = runtime()?;
                        loop {
                            let at = next.fetch_add(1, Ordering::Relaxed);
                            let Some(unit) = self.units.get(at) else {
                                break;
                            };
                            let piece = rt.block_on(self.part(unit, command, run));
                            if let Ok(mut slot) = slots[at].lock() {
                                *slot = piece;
                            }
                        }
                        rt.block_on(all_done.wait());
                        Ok(())
                    })
                    .map_err(|e| anyhow::anyhow!("starting a thread for the targets: {e}"))?;
                handles.push(h);
            }
            if self.ha.is_some() {
                let (ha_slot, all_done) = (&ha_slot, &all_done);
                let h = std::thread::Builder::new()
                    .name("opsbook-ha-facts".into())
                    .stack_size(STACK)
                    .spawn_scoped(scope, move || -> anyhow::Result<()> {
                        let rt = runtime()?;
                        let mut sessions = crate::ha::Sessions::default();
                        for u in &self.units {
                            if let (Some(name), Work::Command { ctx, .. }) = (&u.target, &u.work) {
                                sessions.lend(name, ctx);
                            }
                        }
                        let facts = rt.block_on(self.ha_facts(command, &sessions));
                        if let Ok(mut slot) = ha_slot.lock() {
                            *slot = facts;
                        }
                        rt.block_on(all_done.wait());
                        Ok(())
                    })
                    .map_err(|e| anyhow::anyhow!("starting a thread for the HA facts: {e}"))?;
                handles.push(h);
            }
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a target's thread ended in a panic"))??;
            }
            Ok(())
        })?;
        let pieces = slots
            .into_iter()
            .filter_map(|m| m.into_inner().ok().flatten())
            .collect();
        let mut report = merge::merge(command, pieces, &ctx.config);
        if let Some((findings, data)) = ha_slot.into_inner().ok().flatten() {
            report.extend(findings);
            match &mut report.data {
                Some(serde_json::Value::Object(m)) => {
                    m.insert("cluster".into(), data);
                }
                _ => report.data = Some(serde_json::json!({ "cluster": data })),
            }
        }
        Ok(report)
    }

    /// One part, within the plan's deadline.
    async fn part<'p, F, Fut>(&'p self, unit: &'p Unit, command: &str, run: &F) -> Option<Piece>
    where
        F: Fn(&'p Ctx) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Report>>,
    {
        let (deadline, connect) = (self.deadline, self.connect);
        let target = unit.target.clone();
        match &unit.work {
            Work::Sentinel(s) => {
                let name = target.clone().unwrap_or_default();
                let f = reach::sentinel(&name, s, connect).await;
                Some(single(command, target, f))
            }
            Work::Haproxy(h) => {
                let name = target.clone().unwrap_or_default();
                let f = reach::haproxy(&name, h, connect, deadline).await;
                Some(single(command, target, f))
            }
            Work::Command { ctx: part, keep } => {
                match tokio::time::timeout(deadline, run(part)).await {
                    Ok(Ok(report)) => Some(Piece {
                        target,
                        keep: Some(*keep),
                        report,
                    }),
                    Ok(Err(e)) => failed(command, target, part, &e).await,
                    Err(_) => Some(single(
                        command,
                        target,
                        Finding::new(
                            reach::UP,
                            Status::Critical,
                            format!(
                                "no answer within {:.1}s (the target's deadline)",
                                deadline.as_secs_f64()
                            ),
                        )
                        .hint("look at what the server is busy with, or raise --timeout"),
                    )),
                }
            }
        }
    }

    /// The HA facts and their data, when the plan has that part; bounded like a target's part
    /// (plus one node's time for Patroni's `/history`, asked after the observation).
    async fn ha_facts(
        &self,
        command: &str,
        sessions: &crate::ha::Sessions<'_>,
    ) -> Option<(Vec<Finding>, serde_json::Value)> {
        let ha = self.ha.as_ref()?;
        let run = RunOf {
            command,
            state_dir: &ha.state_dir,
            record: ha.record,
            now: crate::state::now_secs(),
        };
        let limit = self.deadline + ha.budget.per_node;
        let gathered = tokio::time::timeout(
            limit,
            ha_facts::gather(&ha.selected, &ha.inventory, ha.budget, sessions, run),
        )
        .await;
        Some(match gathered {
            Ok((findings, facts)) => (
                findings,
                serde_json::to_value(&facts).unwrap_or(serde_json::Value::Null),
            ),
            Err(_) => (
                vec![Finding::new(
                    ha_facts::PRIMARY,
                    Status::Unknown,
                    format!(
                        "the HA engines did not all answer within {:.1}s: who is primary was not judged",
                        limit.as_secs_f64()
                    ),
                )
                .hint("`opsbook cluster status` names the source that hangs")],
                serde_json::Value::Null,
            ),
        })
    }
}

/// A piece of one finding, kept whatever its id.
fn single(command: &str, target: Option<String>, f: Finding) -> Piece {
    let mut report = Report::new(command);
    report.push(f);
    Piece {
        target,
        keep: None,
        report,
    }
}

/// A part whose command returned an error: nothing when the error only says the part's scope
/// has no such server (`replica status` in the host's part); `target.up` CRITICAL when the
/// target's server is not reachable; else `target.error` UNKNOWN with the error.
async fn failed(
    command: &str,
    target: Option<String>,
    part: &Ctx,
    e: &anyhow::Error,
) -> Option<Piece> {
    let text = crate::report::one_line(e);
    if text.contains(OUT_OF_SCOPE) {
        return None;
    }
    let unreachable = match part.scope {
        Scope::Postgres => part.pg().await.err(),
        Scope::Redis => part.redis().await.err(),
        _ => None,
    };
    let f = match unreachable {
        Some(why) => Finding::new(
            reach::UP,
            Status::Critical,
            format!("not reachable: {}", crate::report::one_line(&why)),
        )
        .hint("check that the server runs and listens there (targets: in the config)"),
        None => {
            let mut hint = None;
            for cause in e.chain() {
                for line in cause.to_string().lines() {
                    if let Some(h) = line.strip_prefix("hint: ") {
                        hint.get_or_insert_with(|| h.to_string());
                    }
                }
            }
            let summary: Vec<&str> = text.lines().filter(|l| !l.starts_with("hint: ")).collect();
            let f = Finding::new(ERROR, Status::Unknown, summary.join(" "));
            match hint {
                Some(h) => f.hint(h),
                None => f,
            }
        }
    };
    Some(single(command, target, f))
}
