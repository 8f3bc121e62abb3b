//! `opsbook check <checklist>`: each checklist of the seed runbooks as one concurrent report.
//! One module per checklist; `pg_probe` is the shared gate for PostgreSQL probes.

mod afternoon;
mod morning;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::probes::guarded;
use crate::report::{Finding, Report, Status};

/// Run a checklist and report every finding
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(subcommand)]
    pub which: CheckCommand,
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// The morning checklist: PostgreSQL, Redis, last night's backup, services, journal, host
    #[command(
        after_help = "Finding ids: postgres.up postgres.connections postgres.cache_hit_ratio \
postgres.database_size replica.role replica.standby replica.slot replica.receiver \
replica.replay_delay (only when the server replicates) redis.up redis.memory backup.latest_age service.active journal.errors \
host.memory_usage host.disk_usage\n\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
See commands/check.md for what each finding reads on the server."
    )]
    Morning(MorningArgs),
    /// The afternoon performance checklist: slow statements, bloat, unused indexes, sequential scans, long and idle transactions, lock waits, wraparound, cache, today's connection peak
    #[command(
        after_help = "Finding ids: postgres.up postgres.peak_connections postgres.cache_hit_ratio \
postgres.slow_queries postgres.table_bloat postgres.index_bloat postgres.unused_indexes \
postgres.seq_scan_heavy postgres.long_transactions postgres.idle_in_transaction \
postgres.lock_waits postgres.txn_wraparound\n\n\
Examples:\n  opsbook check afternoon\n  opsbook check afternoon --exact --top 10 --format json\n\n\
Slow statements need pg_stat_statements in the database checked; --exact needs pgstattuple.\n\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
See commands/check.md for what each finding reads on the server."
    )]
    Afternoon(AfternoonArgs),
}

#[derive(Debug, Args)]
pub struct MorningArgs {
    /// Do not record this run's database sizes in the run history
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Debug, Args)]
pub struct AfternoonArgs {
    /// Measure bloat with pgstattuple (reads every page of each relation above the size floor) instead of estimating it from the catalog
    #[arg(long)]
    pub exact: bool,
    /// How many slow statements to list
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=100))]
    pub top: i64,
    /// Do not record this run's connection count in the run history
    #[arg(long)]
    pub no_record: bool,
}

impl CheckArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            CheckCommand::Morning(_) => "morning",
            CheckCommand::Afternoon(_) => "afternoon",
        }
    }
}

pub async fn run(args: &CheckArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        CheckCommand::Morning(a) => morning::run(a, ctx).await,
        CheckCommand::Afternoon(a) => afternoon::run(a, ctx).await,
    }
}

/// A PostgreSQL probe that only runs when the server is reachable: otherwise one UNKNOWN
/// finding pointing at `postgres.up` instead of the same connect error N times.
pub(super) async fn pg_probe<F>(ctx: &Ctx, id: &str, probe: F) -> Vec<Finding>
where
    F: std::future::Future<Output = anyhow::Result<Vec<Finding>>>,
{
    if ctx.pg().await.is_err() {
        return vec![Finding::new(
            id,
            Status::Unknown,
            "not checked: PostgreSQL is not reachable (see postgres.up)",
        )];
    }
    guarded(id, ctx.probe_timeout(), probe).await
}
