//! `opsbook check <checklist>`: each checklist of the seed runbooks as one concurrent report.
//! One module per checklist; `pg_probe` is the shared gate for PostgreSQL probes.

mod health;
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
host.memory_usage host.disk_usage metric.<name> (custom metrics listing morning)\n\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
See commands/check.md for what each finding reads on the server."
    )]
    Morning(MorningArgs),
    /// The seeds' /health endpoint as a check: PostgreSQL, Redis, RQ queues, app health URLs
    #[command(
        after_help = "Finding ids: health.status (the overall word: healthy, degraded, unhealthy) \
postgres.up redis.up rq.queue (per queue) http.health (per URL) metric.<name> (metrics listing \
health)\n\nExit status: 0 healthy, 1 degraded, 2 unhealthy, 3 unknown.\n\
--format json carries the endpoint's {status, timestamp, checks} document in `data`.\n\
See commands/check.md for the config keys (health:, metrics:)."
    )]
    Health(HealthArgs),
}

#[derive(Debug, Args)]
pub struct MorningArgs {
    /// Do not record this run's database sizes in the run history
    #[arg(long)]
    pub no_record: bool,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// RQ queue to check (repeatable; default: config health.queues, else every queue in rq:queues)
    #[arg(long = "queue", value_name = "NAME")]
    pub queue: Vec<String>,

    /// Application health URL to GET besides config health.urls (repeatable)
    #[arg(long = "url", value_name = "URL")]
    pub url: Vec<String>,
}

impl CheckArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            CheckCommand::Morning(_) => "morning",
            CheckCommand::Health(_) => "health",
        }
    }
}

pub async fn run(args: &CheckArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        CheckCommand::Morning(a) => morning::run(a, ctx).await,
        CheckCommand::Health(a) => health::run(a, ctx).await,
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
