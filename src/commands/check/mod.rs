//! `opsbook check <checklist>`: each checklist of the seed runbooks as one concurrent report.
//! One module per checklist; `pg_probe` is the shared gate for PostgreSQL probes.

pub mod afternoon;
pub mod health;
pub mod morning;
pub mod night;

use clap::{ArgGroup, Args, Subcommand};

use crate::context::Ctx;
use crate::report::Report;

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
        after_help = format!("{}{}", morning::FINDING_IDS.help(), "\n\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
See commands/check.md for what each finding reads on the server.")
    )]
    Morning(MorningArgs),
    /// The seeds' /health endpoint as a check: PostgreSQL, Redis, RQ queues, app health URLs
    #[command(
        after_help = format!("{}{}", health::FINDING_IDS.help(), "\n\nExit status: 0 healthy, 1 degraded, 2 unhealthy, 3 unknown.\n\
--format json carries the endpoint's {status, timestamp, checks} document in `data`.\n\
See commands/check.md for the config keys (health:, metrics:).")
    )]
    Health(HealthArgs),
    /// The night checklist: disk projection, stale statistics, backup retention, database growth; --cleanup and --maintain act
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook check night\n  opsbook check night --cleanup --maintain --dry-run\n  opsbook check night --cleanup --maintain --yes      # from cron\n\n\
", night::FINDING_IDS.help(), "\n\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also: --maintain/--cleanup refused without \
confirmation, nothing changed).\nSee commands/check.md for what each finding reads and what --maintain runs.")
    )]
    Night(NightArgs),
    /// The afternoon performance checklist: slow statements, bloat, unused indexes, sequential scans, long and idle transactions, lock waits, wraparound, cache, today's connection peak
    #[command(
        after_help = format!("{}{}", afternoon::FINDING_IDS.help(), "\n\n\
Examples:\n  opsbook check afternoon\n  opsbook check afternoon --exact --top 10 --format json\n\n\
Slow statements need pg_stat_statements in the database checked; --exact needs pgstattuple.\n\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n\
See commands/check.md for what each finding reads on the server.")
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
pub struct HealthArgs {
    /// RQ queue to check (repeatable; default: config health.queues, else every queue in rq:queues)
    #[arg(long = "queue", value_name = "NAME")]
    pub queue: Vec<String>,

    /// Application health URL to GET besides config health.urls (repeatable)
    #[arg(long = "url", value_name = "URL")]
    pub url: Vec<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("work").args(["maintain", "cleanup"]).multiple(true)))]
pub struct NightArgs {
    /// VACUUM (ANALYZE) tables over the dead-tuple floors and REINDEX INDEX CONCURRENTLY bloated indexes, one at a time
    #[arg(long)]
    pub maintain: bool,

    /// Delete old files in cleanup.log_dirs and backups outside backup.keep / backup.keep_days
    #[arg(long)]
    pub cleanup: bool,

    /// Print the plan of --maintain / --cleanup and change nothing
    #[arg(long, requires = "work")]
    pub dry_run: bool,

    /// Go ahead without the typed confirmation (needed when not on a terminal)
    #[arg(long, requires = "work")]
    pub yes: bool,

    /// Report only what --maintain / --cleanup planned and did (and PostgreSQL when it is down), not the read-only night findings: for a runbook step after a `check night` step
    #[arg(long, requires = "work")]
    pub act_only: bool,

    /// Do not record this run's disk usage and database sizes in the run history
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
            CheckCommand::Health(_) => "health",
            CheckCommand::Night(_) => "night",
            CheckCommand::Afternoon(_) => "afternoon",
        }
    }
}

pub async fn run(args: &CheckArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        CheckCommand::Morning(a) => morning::run(a, ctx).await,
        CheckCommand::Health(a) => health::run(a, ctx).await,
        CheckCommand::Night(a) => night::run(a, ctx).await,
        CheckCommand::Afternoon(a) => afternoon::run(a, ctx).await,
    }
}
