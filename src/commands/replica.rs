//! `opsbook replica status|promote`: how streaming replication stands, seen from the server
//! we are connected to, and a safe promotion of a standby: by `pg_promote()` when no HA
//! engine manages it, else through the engine (`engine`: Patroni's switchover or failover,
//! a Sentinel's FAILOVER), never behind its back.

mod engine;
mod patroni;
mod sentinel;

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::replication::status;
use crate::report::{Finding, Report, Section, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const PROMOTE_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "replica promote",
    page: "commands/replica.md",
    ids: &[
        "replica.promote",
        "replica.timeline",
        "replica.engine_request (--switchover, --failover, --sentinel-failover: what the engine answered)",
        "replica.agree (every source names the new primary, and after how long)",
        "replica.lag_at_switch (the candidate's lag when the engine was asked)",
    ],
};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const STATUS_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "replica status",
    page: "commands/replica.md",
    ids: &[
        "replica.role",
        "replica.standby",
        "replica.slot",
        "replica.receiver",
        "replica.replay_delay",
    ],
};

/// Show replication health, or promote a standby
#[derive(Debug, Args)]
pub struct ReplicaArgs {
    #[command(subcommand)]
    pub which: ReplicaCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReplicaCommand {
    /// On a primary: every standby and slot; on a standby: its WAL receiver and replay delay
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook replica status\n  opsbook replica status --pg postgres://postgres@10.0.1.7/postgres --format nagios\n\n\
", STATUS_FINDING_IDS.help(), "\n\
Thresholds: replication_lag_bytes, replication_delay, slot_retained_bytes (see commands/config.md).\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See commands/replica.md.")
    )]
    Status(StatusArgs),
    /// Promote a standby (pg_promote), or move the primary through Patroni or the Sentinels
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook replica promote --pg postgres://postgres@10.0.1.7/postgres\n  opsbook replica promote --yes\n  \
opsbook replica promote --switchover --candidate pg-b\n  opsbook replica promote --failover --candidate pg-b --target pg-b\n  \
opsbook replica promote --sentinel-failover --target sentinel-1\n\n\
Without an engine: fence the old primary first (stop it): two primaries accepting writes split the data.\n\
A server Patroni manages is refused pg_promote() (a split brain): use --switchover or --failover.\n\
", PROMOTE_FINDING_IDS.help(), "\n\
Exit status: 0 OK (promoted; through an engine: every source names the new primary), 2 CRITICAL (not out of \
recovery in time, the engine refused, or the sources still disagree at --wait), 3 UNKNOWN (not a standby, \
managed by Patroni, not confirmed). See commands/replica.md.")
    )]
    Promote(PromoteArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("patroni_way").args(["switchover", "failover"])))]
pub struct PromoteArgs {
    /// Go ahead without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,

    /// Seconds to wait for the server to leave recovery; through an engine, until every source names the new primary
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub wait: u64,

    /// Through Patroni, planned: the healthy leader hands over (POST /switchover) to --candidate or the best replica
    #[arg(long)]
    pub switchover: bool,

    /// Through Patroni, the leader down: --candidate takes over (POST /failover)
    #[arg(long, requires = "candidate")]
    pub failover: bool,

    /// The Patroni member to become the leader
    #[arg(long, value_name = "MEMBER", requires = "patroni_way")]
    pub candidate: Option<String>,

    /// Through the Sentinels: SENTINEL FAILOVER of the master they watch (--target: a Sentinel or Redis target)
    #[arg(long, conflicts_with = "patroni_way")]
    pub sentinel_failover: bool,
}

impl PromoteArgs {
    /// Whether the promotion goes through an HA engine (it then reads the inventory itself).
    pub fn through_engine(&self) -> bool {
        self.switchover || self.failover || self.sentinel_failover
    }
}

impl ReplicaArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            ReplicaCommand::Status(_) => "status",
            ReplicaCommand::Promote(_) => "promote",
        }
    }
}

pub async fn run(args: &ReplicaArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        ReplicaCommand::Status(_) => status_report(ctx).await,
        ReplicaCommand::Promote(a) if a.sentinel_failover => sentinel::failover(a, ctx).await,
        ReplicaCommand::Promote(a) if a.through_engine() => patroni::switch(a, ctx).await,
        ReplicaCommand::Promote(a) => promote(a, ctx).await,
    }
}

async fn status_report(ctx: &Ctx) -> anyhow::Result<Report> {
    let pg = ctx.pg().await?;
    let observed = status::observe(pg).await?;
    let mut report = Report::new("replica status");
    report.extend(status::findings(&observed, &ctx.config.thresholds, false));
    report.sections.extend(status::sections(&observed));
    Ok(report)
}

/// The timeline the server writes on: from the WAL file name of the insert position (after
/// promotion) or the last checkpoint (during recovery, where pg_walfile_name is not allowed).
const TIMELINE_PRIMARY_SQL: &str =
    "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int";
const TIMELINE_STANDBY_SQL: &str = "SELECT timeline_id FROM pg_control_checkpoint()";

async fn promote(args: &PromoteArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let pg = ctx.pg().await?;
    let server = pg.options.display_url();
    let in_recovery: bool = pg
        .client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .context("replica promote: asking pg_is_in_recovery()")?
        .try_get(0)?;
    // Under Patroni, pg_promote() makes a second primary behind its back: refused, before the
    // role is even looked at (the engine's way is the answer for a leader too).
    let address = crate::ha::addr::normal(pg.options.host(), pg.options.port());
    if let Some(m) = crate::ha::managed::detect(&ctx.config.targets, &address, Some(pg)).await? {
        bail!("{}", engine::refusal(&server, &m, in_recovery));
    }
    if !in_recovery {
        bail!("replica promote: {server} is not a standby (not in recovery); nothing was changed\nhint: point --pg at the standby to promote; `opsbook replica status` tells which is which");
    }
    let old_tl: i32 = pg
        .client
        .query_one(TIMELINE_STANDBY_SQL, &[])
        .await
        .context("replica promote: reading the standby's timeline")?
        .try_get(0)?;
    let plan = vec![
        "check that the old primary is stopped or fenced (yours to do: opsbook cannot see it from here)".to_string(),
        format!("SELECT pg_promote(true, {}) on {server}", args.wait),
        "wait until pg_is_in_recovery() is false and report the new timeline".to_string(),
    ];
    let action = format!("promote the standby {server} to a primary");
    crate::confirm::typed(&action, &plan, "promote", args.yes)?;

    let t0 = Instant::now();
    // Our sessions carry a short statement_timeout; pg_promote waits up to `wait` seconds.
    pg.client
        .batch_execute(&format!("SET statement_timeout = '{}s'", args.wait + 5))
        .await
        .context("replica promote: raising statement_timeout for pg_promote")?;
    let wait_secs = i32::try_from(args.wait).unwrap_or(60);
    let promoted: bool = pg
        .client
        .query_one("SELECT pg_promote(true, $1)", &[&wait_secs])
        .await
        .context("replica promote: running pg_promote()")?
        .try_get(0)?;
    let mut report = Report::new("replica promote");
    let deadline = t0 + Duration::from_secs(args.wait);
    let mut still = true;
    while Instant::now() < deadline {
        still = pg
            .client
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .context("replica promote: asking pg_is_in_recovery()")?
            .try_get(0)?;
        if !still {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if still || !promoted {
        report.push(
            Finding::new(
                "replica.promote",
                Status::Critical,
                format!("{server} is still in recovery after {} s", args.wait),
            )
            .hint("look at the server's log; the promotion may still finish, check with `opsbook replica status`"),
        );
        return Ok(report);
    }
    let took = t0.elapsed();
    let new_tl: i32 = pg
        .client
        .query_one(TIMELINE_PRIMARY_SQL, &[])
        .await
        .context("replica promote: reading the new timeline")?
        .try_get(0)?;
    report.push(
        Finding::ok(
            "replica.promote",
            format!("{server} is a primary now: out of recovery after {:.1} s, accepting writes", took.as_secs_f64()),
        )
        .value_f64((took.as_secs_f64() * 1000.0).round() / 1000.0, "seconds")
        .hint("point the clients here; keep the old primary stopped, then re-attach it as a standby (pg_rewind, or `opsbook replica-setup standby --force` to re-clone it)"),
    );
    report.push(
        Finding::ok("replica.timeline", format!("timeline {old_tl} -> {new_tl}"))
            .value(new_tl, "timeline"),
    );
    report.sections.push(Section {
        title: "Promotion".into(),
        columns: vec!["STEP".into(), "RESULT".into()],
        rows: vec![
            vec!["pg_promote".into(), format!("{promoted}")],
            vec![
                "out of recovery".into(),
                format!("{:.1} s", took.as_secs_f64()),
            ],
            vec!["timeline".into(), format!("{old_tl} -> {new_tl}")],
        ],
        fit: Vec::new(),
    });
    Ok(report)
}
