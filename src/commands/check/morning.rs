//! `check morning`: services, journal, database growth, backup and performance numbers.

use std::time::Instant;

use futures_util::future::join_all;

use super::MorningArgs;
use crate::clients::docker::Docker;
use crate::config::services::Service;
use crate::context::{process_env, Ctx};
use crate::probes::pg_probe;
use crate::probes::{self, guarded};
use crate::report::{Finding, Report};
use crate::state::History;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "check morning",
    page: "commands/check.md",
    ids: &[
        "postgres.up",
        "postgres.connections",
        "postgres.cache_hit_ratio",
        "postgres.database_size",
        "replica.role",
        "replica.standby",
        "replica.slot",
        "replica.receiver",
        "replica.replay_delay (only when the server replicates)",
        "redis.up",
        "redis.memory",
        "backup.latest_age",
        "backup.remote_age (per remote in the config)",
        "backup.remote_audit (per remote: versioning, object lock)",
        "backup.manifest_refused",
        "pitr.archiver (when the config has a pitr: section)",
        "pitr.rehearsal_age (when the config has a pitr: section)",
        "restore.leftover",
        "backup.leftover",
        "service.active",
        "journal.errors",
        "container.state",
        "container.health",
        "container.restarts",
        "container.oom_killed",
        "container.memory",
        "container.log_errors",
        "swarm.replicas",
        "swarm.task_failures",
        "host.memory_usage",
        "host.disk_usage",
        "metric.<name> (custom metrics listing morning)",
        "cluster.primary (fanned out over a Patroni API or Sentinel: who is primary, as cluster status judges)",
        "cluster.paused (likewise: Patroni's maintenance mode)",
        "cluster.pending_restart (likewise)",
        "cluster.timeline (likewise: the primary's timeline since this command's previous run)",
        "cluster.sentinels (likewise: Sentinels answering, quorum)",
    ],
};

pub(super) async fn run(args: &MorningArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = Instant::now();
    let now = crate::state::now_secs();
    let th = &ctx.config.thresholds;
    let timeout = ctx.probe_timeout();
    let state_dir = ctx.state_dir();
    let mut history = History::load_or_warn(&state_dir, "growth is not shown this run");

    let backup_dir = ctx.config.backup.dir.clone();
    // A fanned-out run (--target/--all) probes this host in one part only (`fleet`).
    let host = ctx.probes_host();
    let services: &[Service] = if host { &ctx.config.services } else { &[] };
    let units: Vec<&str> = services
        .iter()
        .filter_map(|s| match s {
            Service::Systemd(u) => Some(u.as_str()),
            _ => None,
        })
        .collect();
    let container_limits = probes::docker::ContainerLimits {
        memory_pct: th.memory_pct,
        log_errors: th.journal_errors,
    };
    let (
        (pg_up, conns, sizes),
        cache,
        replication,
        redis,
        backup,
        units,
        journals,
        (containers, container_record),
        memory,
        disks,
        metrics,
        leftovers,
    ) = tokio::join!(
        probes::postgres::up_connections_sizes(ctx, th.connections_pct, &history, now),
        pg_probe(
            ctx,
            "postgres.cache_hit_ratio",
            probes::postgres::cache_hit_ratio(ctx, th.cache_hit_pct)
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
            if !host {
                return Ok(Vec::new());
            }
            probes::backup::latest_age(&backup_dir, th.backup_age)
        }),
        join_all(
            units
                .iter()
                .map(|u| probes::host::service_active(u, timeout))
        ),
        join_all(
            units
                .iter()
                .map(|u| probes::host::journal_errors(u, th.journal_errors, timeout))
        ),
        probes::docker::check_services(
            services,
            Docker::from_env(&process_env, timeout),
            container_limits,
            &history,
            now
        ),
        guarded("host.memory_usage", timeout, async {
            if !host {
                return Ok(Vec::new());
            }
            probes::host::memory_usage(th.memory_pct)
        }),
        guarded("host.disk_usage", timeout, async {
            if !host {
                return Ok(Vec::new());
            }
            let data_dir = probes::postgres::data_directory(ctx).await;
            let mut dirs = Vec::new();
            if let Some(d) = data_dir {
                dirs.push(("data", d));
            }
            dirs.push(("backup", backup_dir.clone()));
            probes::host::disk_usage(&dirs, th.disk_pct)
        }),
        crate::metrics::findings(ctx, "morning"),
        guarded("restore.leftover", timeout, async {
            if !host {
                return Ok(Vec::new());
            }
            let pg = ctx.pg().await.ok();
            let db = pg.map(|p| p.options.dbname().to_string());
            crate::backup::leftovers::scan(pg, &backup_dir, db.as_deref(), Some(&state_dir)).await
        }),
    );

    let mut report = Report::new("check morning");
    report.extend(pg_up);
    if !args.no_record {
        // restart counts and log windows: the next run counts from here
        history.record_or_warn(&state_dir, "check morning", container_record, now);
        if let Ok(pg) = ctx.pg().await {
            record_sizes(
                &mut history,
                &state_dir,
                &pg.options,
                [&sizes, &conns, &replication],
                now,
            );
        }
    }
    report.extend(conns);
    report.extend(cache);
    report.extend(sizes);
    report.extend(replication);
    report.extend(redis);
    report.extend(backup);
    // Off-site copies: after the join (each remote bounded by the probe timeout), so the
    // morning check without `remotes:` is unchanged.
    let no_remotes = crate::config::remotes::Remotes::new();
    report.extend(
        probes::remote_backup::remote_age(
            if host {
                &ctx.config.remotes
            } else {
                &no_remotes
            },
            th.backup_age,
            ctx.config.timeouts.connect.0,
            timeout,
            now,
        )
        .await,
    );
    report.extend(leftovers);
    report.extend(units.into_iter().flatten());
    report.extend(journals.into_iter().flatten());
    report.extend(containers);
    report.extend(memory);
    report.extend(disks);
    report.extend(metrics);
    if let Some(pitr) = &ctx.config.pitr {
        report.extend(crate::pitr::archiver::probe(ctx, &pitr.stanza).await);
        report.push(crate::pitr::rehearsal::finding(
            &history,
            &pitr.stanza,
            th.rehearsal_age,
            now,
        ));
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Database sizes, the connection count and a standby's replay backlog go into the run
/// history (growth, today's peak, `opsbook report`'s replication lag).
fn record_sizes(
    history: &mut History,
    dir: &std::path::Path,
    server: &crate::clients::pg::PgOptions,
    [sizes, conns, replication]: [&[Finding]; 3],
    now: i64,
) {
    let mut values: std::collections::BTreeMap<String, f64> = sizes
        .iter()
        .filter_map(|f| {
            let key = probes::postgres::size_key(server, f.subject.as_deref()?);
            Some((key, f.value.as_f64()?))
        })
        .collect();
    if let Some(used) = conns
        .iter()
        .find(|f| f.id == "postgres.connections")
        .and_then(|f| f.value.as_f64())
    {
        values.insert(probes::postgres::connections_key(server), used);
    }
    if let Some(behind) = replication
        .iter()
        .find(|f| f.id == "replica.replay_delay")
        .and_then(|f| f.value.as_f64())
    {
        let key = format!("replica.replay_delay/{}:{}", server.host(), server.port());
        values.insert(key, behind);
    }
    history.record_or_warn(dir, "check morning", values, now);
}
