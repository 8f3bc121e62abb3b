//! `opsbook check morning`: the morning runbook (services, journal, database growth, backup,
//! performance numbers) as one concurrent report.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use futures_util::future::join_all;

use crate::context::Ctx;
use crate::probes::{self, guarded};
use crate::report::{Finding, Report, Status};
use crate::state::{History, Sample};

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
        CheckCommand::Morning(a) => morning(a, ctx).await,
    }
}

/// A PostgreSQL probe that only runs when the server is reachable: otherwise one UNKNOWN
/// finding pointing at `postgres.up` instead of the same connect error N times.
async fn pg_probe<F>(ctx: &Ctx, id: &str, probe: F) -> Vec<Finding>
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

async fn morning(args: &MorningArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = Instant::now();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let th = &ctx.config.thresholds;
    let timeout = ctx.probe_timeout();
    let state_dir = ctx.state_dir();
    let mut history = History::load(&state_dir).unwrap_or_else(|e| {
        eprintln!(
            "warning: {} (growth is not shown this run)",
            crate::report::one_line(&e)
        );
        History::default()
    });

    let backup_dir = ctx.config.backup.dir.clone();
    let services = &ctx.config.services;
    let (pg_up, conns, cache, sizes, replication, redis, backup, units, journals, memory, disks) = tokio::join!(
        guarded("postgres.up", timeout, async {
            Ok(probes::postgres::up(ctx).await)
        }),
        pg_probe(
            ctx,
            "postgres.connections",
            probes::postgres::connections(ctx, th.connections_pct)
        ),
        pg_probe(
            ctx,
            "postgres.cache_hit_ratio",
            probes::postgres::cache_hit_ratio(ctx, th.cache_hit_pct)
        ),
        pg_probe(
            ctx,
            "postgres.database_size",
            probes::postgres::database_sizes(ctx, &history, now)
        ),
        pg_probe(
            ctx,
            "replica.role",
            probes::replication::replication(ctx, th)
        ),
        guarded("redis.up", timeout, async {
            Ok(probes::redis::up_and_memory(ctx, th.redis_memory_pct).await)
        }),
        guarded("backup.latest_age", timeout, async {
            probes::backup::latest_age(&backup_dir, th.backup_age)
        }),
        join_all(
            services
                .iter()
                .map(|u| probes::host::service_active(u, timeout))
        ),
        join_all(services.iter().map(|u| probes::host::journal_errors(
            u,
            th.journal_errors,
            timeout
        ))),
        guarded("host.memory_usage", timeout, async {
            probes::host::memory_usage(th.memory_pct)
        }),
        guarded("host.disk_usage", timeout, async {
            let data_dir: Option<PathBuf> = match &ctx.config.host.data_dir {
                Some(d) => Some(d.clone()),
                None => probes::postgres::data_directory(ctx).await,
            };
            let mut dirs = Vec::new();
            if let Some(d) = data_dir {
                dirs.push(("data", d));
            }
            dirs.push(("backup", backup_dir.clone()));
            probes::host::disk_usage(&dirs, th.disk_pct)
        }),
    );

    let mut report = Report::new("check morning");
    report.extend(pg_up);
    report.extend(conns);
    report.extend(cache);
    if !args.no_record {
        if let Ok(pg) = ctx.pg().await {
            record_sizes(&mut history, &state_dir, &pg.options, &sizes, now);
        }
    }
    report.extend(sizes);
    report.extend(replication);
    report.extend(redis);
    report.extend(backup);
    report.extend(units.into_iter().flatten());
    report.extend(journals.into_iter().flatten());
    report.extend(memory);
    report.extend(disks);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

fn record_sizes(
    history: &mut History,
    dir: &std::path::Path,
    server: &crate::clients::pg_conn::PgOptions,
    sizes: &[Finding],
    now: i64,
) {
    let values: std::collections::BTreeMap<String, f64> = sizes
        .iter()
        .filter_map(|f| {
            let key = probes::postgres::size_key(server, f.subject.as_deref()?);
            Some((key, f.value.as_f64()?))
        })
        .collect();
    if values.is_empty() {
        return;
    }
    let sample = Sample {
        at: now,
        command: "check morning".to_string(),
        values,
    };
    if let Err(e) = history.append_and_save(dir, sample) {
        eprintln!(
            "warning: could not record the run history: {}\nhint: set OPSBOOK_STATE_DIR to a writable directory",
            crate::report::one_line(&e)
        );
    }
}
