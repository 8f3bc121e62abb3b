//! `check night`: capacity and hygiene. Disks with a projection of when they fill, stale table
//! statistics, backups against the retention policy, day-over-day database growth; with
//! `--cleanup` old logs and backups go, with `--maintain` VACUUM / REINDEX run one object at a
//! time. Without those flags it only reads.

mod cleanup;
mod indexes;
mod log_files;
mod maintain;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::NightArgs;
use crate::backup::retention::Policy;
use crate::context::Ctx;
use crate::probes::{self, growth, guarded, stale_stats};
use crate::report::{Finding, Report, Section, Status};
use crate::state::History;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "check night",
    page: "commands/check.md",
    ids: &[
        "postgres.up",
        "host.disk_usage",
        "postgres.stale_stats",
        "backup.retention",
        "backup.remote_age (per remote in the config)",
        "backup.remote_audit (per remote: versioning, object lock)",
        "restore.leftover",
        "backup.leftover",
        "backup.manifest_refused",
        "postgres.database_growth",
        "maintain.plan",
        "maintain.vacuum",
        "maintain.reindex",
        "cleanup.logs",
        "cleanup.backups",
        "metric.<name> (custom metrics listing night)",
        "cluster.primary (fanned out over a Patroni API or Sentinel: who is primary, as cluster status judges)",
        "cluster.paused (likewise: Patroni's maintenance mode)",
        "cluster.pending_restart (likewise)",
        "cluster.timeline (likewise: the primary's timeline since this command's previous run)",
        "cluster.sentinels (likewise: Sentinels answering, quorum)",
    ],
};

pub(super) async fn run(args: &NightArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = Instant::now();
    let now = crate::state::now_secs();
    let th = &ctx.config.thresholds;
    let mcfg = &ctx.config.maintenance;
    let timeout = ctx.probe_timeout();
    let state_dir = ctx.state_dir();
    let mut history =
        History::load_or_warn(&state_dir, "growth and projections are not shown this run");
    let backup_dir = ctx.config.backup.dir.clone();
    let policy = Policy {
        keep: ctx.config.backup.keep,
        keep_days: ctx.config.backup.keep_days,
    };
    let min_wasted = i64::try_from(mcfg.reindex_min_wasted_bytes).unwrap_or(i64::MAX);
    let bloat_pct = th.bloat_pct.warning.unwrap_or(20.0);

    let (pg_up, dead, sizes, data_dir, retention, indexes, metrics, leftovers) = tokio::join!(
        guarded("postgres.up", timeout, async {
            Ok(probes::postgres::up(ctx).await)
        }),
        pg_data(ctx, "postgres.stale_stats", async {
            stale_stats::dead_tables(ctx.pg().await?, mcfg.dead_tuples, mcfg.dead_pct).await
        }),
        pg_data(ctx, "postgres.database_growth", async {
            probes::postgres::sizes(ctx.pg().await?).await
        }),
        probes::postgres::data_directory(ctx),
        guarded("backup.retention", timeout, async {
            probes::backup::retention(&backup_dir, policy, now)
        }),
        async {
            if args.maintain {
                Some(
                    pg_data(ctx, "maintain.reindex", async {
                        indexes::candidates(
                            ctx.pg().await?,
                            bloat_pct,
                            min_wasted,
                            mcfg.exact_bloat,
                        )
                        .await
                    })
                    .await,
                )
            } else {
                None
            }
        },
        crate::metrics::findings(ctx, "night"),
        guarded("restore.leftover", timeout, async {
            let pg = ctx.pg().await.ok();
            let db = pg.map(|p| p.options.dbname().to_string());
            crate::backup::leftovers::scan(pg, &backup_dir, db.as_deref(), Some(&state_dir)).await
        }),
    );

    let mut report = Report::new("check night");
    report.extend(pg_up);
    report.extend(
        probes::remote_backup::remote_age(
            &ctx.config.remotes,
            th.backup_age,
            ctx.config.timeouts.connect.0,
            timeout,
            now,
        )
        .await,
    );
    let mut record: BTreeMap<String, f64> = BTreeMap::new();

    // Disks: one finding per mount, with the projection from the history.
    let (disks, projections) = disk_findings(ctx, data_dir.clone(), &history, now, &mut record);
    report.extend(disks);
    report.data = Some(serde_json::json!({ "disk_projection": projections }));

    let db = ctx
        .pg_options()
        .map(|o| o.dbname().to_string())
        .unwrap_or_default();
    let dead = match dead {
        Ok(tables) => {
            report.push(stale_stats::finding(
                &db,
                &tables,
                mcfg.stats_age,
                mcfg.dead_tuples,
            ));
            tables
        }
        Err(f) => {
            report.push(f);
            Vec::new()
        }
    };
    report.extend(retention);
    report.extend(leftovers);
    match sizes {
        Ok(sizes) => {
            if let Ok(pg) = ctx.pg().await {
                report.extend(growth::database_growth(
                    &pg.options,
                    &sizes,
                    &history,
                    now,
                    th.database_growth_pct,
                    th.database_growth_bytes,
                ));
                for (name, bytes) in &sizes {
                    record.insert(probes::postgres::size_key(&pg.options, name), *bytes as f64);
                }
            }
        }
        Err(f) => report.push(f),
    }
    report.extend(metrics);
    if !args.no_record {
        // This run's disk usage and database sizes, for the next run's projection and growth.
        history.record_or_warn(&state_dir, "check night", record, now);
    }
    if args.maintain || args.cleanup {
        let found = Found {
            dead,
            indexes,
            data_dir,
            policy,
            now,
            db,
        };
        let read_only = report.findings.len();
        act(args, ctx, &mut report, found).await?;
        if args.act_only {
            keep_actions(&mut report, read_only);
        }
    }
    if !args.act_only {
        report.sections.extend(trends_section(&history, now));
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The last 30 days of the run history as sparklines (`opsbook report` draws them), when it
/// holds any of the report's series.
fn trends_section(history: &History, now: i64) -> Option<Section> {
    const PERIOD: i64 = 30 * 86_400;
    let samples = history.samples().ok()?;
    let trends = crate::trends::Trends::from_samples(&samples, now - PERIOD, now);
    trends.with_data().next()?;
    Some(crate::trends::sparkline::section(
        &trends,
        "Trends, last 30 days (opsbook report --html FILE draws them)",
        false,
    ))
}

/// `--act-only`: drop the first `read_only` findings (the read-only night check) except a
/// PostgreSQL that is not up, which explains why nothing could be maintained.
fn keep_actions(report: &mut Report, read_only: usize) {
    let mut i = 0;
    report.findings.retain(|f| {
        i += 1;
        i > read_only || (f.id == "postgres.up" && f.status != crate::report::Status::Ok)
    });
    report.refresh_status();
}

/// What the read-only part found that `--maintain` / `--cleanup` act on.
struct Found {
    dead: Vec<stale_stats::DeadTable>,
    indexes: Option<Result<(Vec<probes::bloat::RelationBloat>, String), Finding>>,
    data_dir: Option<PathBuf>,
    policy: Policy,
    now: i64,
    /// the database opsbook is connected to (the one maintained)
    db: String,
}

/// `--cleanup` / `--maintain`: the plan (a report section and `maintain.plan`), then with
/// `--dry-run` nothing more; otherwise the typed confirmation or `--yes`, cleanup, maintenance.
async fn act(args: &NightArgs, ctx: &Ctx, report: &mut Report, found: Found) -> anyhow::Result<()> {
    let Found {
        dead,
        indexes,
        data_dir,
        policy,
        now,
        db,
    } = found;
    let mcfg = &ctx.config.maintenance;
    let backup_dir = &ctx.config.backup.dir;
    let state_dir = ctx.state_dir();
    let mut protected = vec![
        log_files::Protected {
            what: "backup directory",
            path: backup_dir.clone(),
            may_hold_logs: false,
        },
        log_files::Protected {
            what: "state directory",
            path: state_dir.clone(),
            may_hold_logs: false,
        },
    ];
    if let Some(d) = data_dir {
        protected.push(log_files::Protected {
            what: "data directory",
            path: d,
            may_hold_logs: true,
        });
    }
    let cleanup_plan = if args.cleanup {
        Some(cleanup::plan(
            &ctx.config.cleanup,
            backup_dir,
            policy,
            &protected,
            now,
        )?)
    } else {
        None
    };
    let steps = if args.maintain {
        let (idx, note) = match indexes {
            Some(Ok((idx, note))) => (idx, note),
            Some(Err(f)) => {
                report.push(f);
                (
                    Vec::new(),
                    "index bloat could not be measured (see maintain.reindex)".into(),
                )
            }
            None => (Vec::new(), String::new()),
        };
        if in_recovery(ctx).await {
            report.push(
                Finding::new(
                    "maintain.plan",
                    Status::Warning,
                    "nothing planned: this server is a standby (in recovery), where VACUUM and REINDEX cannot run",
                )
                .hint("run `check night --maintain` against the primary; a standby gets the result through replication"),
            );
            Some(Vec::new())
        } else {
            let steps = maintain::plan(&dead, &idx);
            report.push(plan_finding(&steps, &note, args.dry_run));
            Some(steps)
        }
    } else {
        None
    };
    report
        .sections
        .push(plan_section(steps.as_deref(), cleanup_plan.as_ref()));
    if args.dry_run {
        if let Some(p) = &cleanup_plan {
            report.extend(cleanup::dry_run_findings(
                p,
                &ctx.config.cleanup.log_max_age.to_string(),
                now,
            ));
        }
    } else {
        let mut plan_lines = cleanup_plan.as_ref().map(|p| p.steps()).unwrap_or_default();
        plan_lines.extend(steps.iter().flatten().map(|s| s.sql.clone()));
        if !plan_lines.is_empty() {
            let word = if args.maintain {
                db.as_str()
            } else {
                "cleanup"
            };
            crate::confirm::typed(
                &format!(
                    "night work on {}",
                    if args.maintain { &db } else { "the host" }
                ),
                &plan_lines,
                word,
                args.yes,
            )?;
        }
        // Confirmed: from here Ctrl-C stops between objects (and cancels a running
        // statement) instead of killing us half way.
        let interrupt = crate::interrupt::Interrupt::install()?;
        // Cleanup first: a REINDEX CONCURRENTLY needs room for the new index.
        if let Some(p) = &cleanup_plan {
            report.extend(cleanup::execute(p, now, &interrupt));
        }
        if let Some(steps) = &steps {
            if !steps.is_empty() {
                let pg = ctx.pg().await?;
                let run = maintain::Run {
                    cfg: mcfg,
                    progress: crate::render::show_progress(&ctx.output),
                    interrupt: &interrupt,
                    timeouts: ctx.timeouts(),
                };
                report.extend(maintain::execute(pg, steps, &run).await);
            }
        }
    }
    Ok(())
}

async fn in_recovery(ctx: &Ctx) -> bool {
    match ctx.pg().await {
        Ok(pg) => pg
            .client
            .query_one("SELECT pg_is_in_recovery()", &[])
            .await
            .is_ok_and(|r| r.get::<_, bool>(0)),
        Err(_) => false,
    }
}

/// A PostgreSQL probe that returns data: its error, its timeout or an unreachable server
/// becomes the one UNKNOWN finding `id` (as `pg_probe` does for findings).
async fn pg_data<T, F>(ctx: &Ctx, id: &str, probe: F) -> Result<T, Finding>
where
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    if ctx.pg().await.is_err() {
        return Err(crate::probes::not_reachable(id));
    }
    let timeout = ctx.probe_timeout();
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(v)) => Ok(v),
        // Waiting on production's locks is what lock_timeout forbids: that is "try again
        // later", not "could not tell".
        Ok(Err(e)) if is_lock_timeout(&e) => Err(Finding::new(
            id,
            Status::Warning,
            format!("not measured: {}", crate::report::one_line(&e)),
        )
        .hint("a relation it reads is locked by another session; see `opsbook diagnose locks`")),
        Ok(Err(e)) => Err(Finding::unknown(id, &e)),
        Err(_) => Err(probes::timed_out(id, timeout)),
    }
}

fn is_lock_timeout(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<tokio_postgres::Error>().is_some_and(|pe| {
            pe.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE)
        })
    })
}

/// `host.disk_usage` per mount holding the data, backup or a log directory, each with its
/// projection; the used bytes go into `record` for the next run's projection.
fn disk_findings(
    ctx: &Ctx,
    data_dir: Option<PathBuf>,
    history: &History,
    now: i64,
    record: &mut BTreeMap<String, f64>,
) -> (Vec<Finding>, Vec<growth::Projection>) {
    let th = &ctx.config.thresholds;
    let mut dirs: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(d) = data_dir {
        dirs.push(("data", d));
    }
    dirs.push(("backup", ctx.config.backup.dir.clone()));
    let mut skipped = Vec::new();
    for d in &ctx.config.host.log_dirs {
        if d.is_dir() {
            dirs.push(("log", d.clone()));
        } else {
            skipped.push(format!("skipped log {}: does not exist", d.display()));
        }
    }
    let mounts = match probes::host::mounts(&dirs) {
        Ok(m) => m,
        Err(e) => return (vec![Finding::unknown("host.disk_usage", &e)], Vec::new()),
    };
    let mut findings = Vec::new();
    let mut projections = Vec::new();
    for (usage, roles) in &mounts {
        let base = probes::host::disk_finding(usage, roles, th.disk_pct);
        let (f, p) = growth::project_disk(base, usage, roles, history, now, th.disk_full_days);
        record.insert(growth::disk_used_key(&usage.mount), usage.used as f64);
        record.insert(
            growth::disk_available_key(&usage.mount),
            usage.available as f64,
        );
        findings.push(f);
        projections.push(p);
    }
    if let Some(first) = findings.first_mut() {
        first.detail.extend(skipped);
    }
    (findings, projections)
}

fn plan_finding(steps: &[maintain::Step], note: &str, dry_run: bool) -> Finding {
    let (vacuums, reindexes) = (
        steps.iter().filter(|s| s.id == "maintain.vacuum").count(),
        steps.iter().filter(|s| s.id == "maintain.reindex").count(),
    );
    let prefix = if dry_run {
        "dry run: would run"
    } else {
        "planned"
    };
    let mut detail: Vec<String> = steps
        .iter()
        .map(|s| format!("{};  -- {}", s.sql, s.why))
        .collect();
    if !note.is_empty() {
        detail.push(note.to_string());
    }
    Finding::ok(
        "maintain.plan",
        format!("{prefix} {vacuums} VACUUM (ANALYZE) and {reindexes} REINDEX INDEX CONCURRENTLY, one at a time"),
    )
    .value(steps.len() as u64, "statements")
    .detail(detail)
}

fn plan_section(steps: Option<&[maintain::Step]>, cleanup: Option<&cleanup::Plan>) -> Section {
    let mut rows: Vec<Vec<String>> = Vec::new();
    if let Some(c) = cleanup {
        for line in c.steps() {
            rows.push(vec![
                (rows.len() + 1).to_string(),
                "cleanup".into(),
                line,
                String::new(),
            ]);
        }
    }
    for s in steps.unwrap_or_default() {
        rows.push(vec![
            (rows.len() + 1).to_string(),
            s.object.clone(),
            s.sql.clone(),
            s.why.clone(),
        ]);
    }
    Section {
        title: "Night plan".into(),
        columns: ["#", "OBJECT", "ACTION", "WHY"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows,
        fit: Vec::new(),
    }
}
