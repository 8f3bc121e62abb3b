//! `opsbook check <checklist>`: each checklist of the seed runbooks as one concurrent report.
//! One module per checklist; `pg_probe` is the shared gate for PostgreSQL probes.

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
}

#[derive(Debug, Args)]
pub struct MorningArgs {
    /// Do not record this run's database sizes in the run history
    #[arg(long)]
    pub no_record: bool,
}

impl CheckArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            CheckCommand::Morning(_) => "morning",
        }
    }
}

pub async fn run(args: &CheckArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        CheckCommand::Morning(a) => morning::run(a, ctx).await,
    }
}

/// A PostgreSQL probe that only runs when the server is reachable: otherwise one UNKNOWN
/// finding pointing at `postgres.up` instead of the same connect error N times.
pub(crate) async fn pg_probe<F>(ctx: &Ctx, id: &str, probe: F) -> Vec<Finding>
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
