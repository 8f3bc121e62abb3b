//! `opsbook restore`'s steps: verify the archive, restore it into a new database, prove every
//! table's row count against the manifest, and only then swap it in for the target, keeping the
//! old database under a dated name. Nothing is ever dropped except our own half-restored
//! database. The rooms: `plan` (names, checks, the plan and the dry run), `load` (pg_restore
//! and the counts), `swap`, `db` (the database operations) and `steps` (the steps section, the
//! services, the reports of a restore that stopped early). `commands::restore` is the operator's
//! side: the arguments, choosing a backup, the confirmation.

mod db;
mod load;
mod plan;
mod steps;
mod swap;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::backup::catalog::Entry;
use crate::backup::manifest::Manifest;
use crate::backup::{leftovers, lock, verify};
use crate::clients::pg::PgOptions;
use crate::clients::postgres::PgClient;
use crate::context::Ctx;
use crate::interrupt::Interrupt;
use crate::progress::Phase;
use crate::render::took;
use crate::report::{one_line, Finding, Report, Status};
use crate::sql::quote_ident;
use db::{create_options, drop_database, rename, RenameIn};
use load::load_and_prove;
use steps::{abandon, interrupted, start_services, systemctl, Steps};
use swap::{swap, SwapFailed};

pub use plan::prepare;

/// A step's wall time as a finding value: seconds, like every duration opsbook reports,
/// to the millisecond.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// What to restore and how (the command's arguments, the backup already chosen).
pub struct Request {
    pub entry: Entry,
    /// The backup directory (where leftovers of earlier runs are looked for)
    pub dir: PathBuf,
    /// The database to replace (default: the backup's database)
    pub db: Option<String>,
    /// Restore side by side into this new database; nothing is swapped
    pub into: Option<String>,
    /// pg_restore jobs
    pub jobs: u32,
    /// systemd units stopped before the swap and started after it
    pub stop_service: Vec<String>,
}

/// A prepared restore: the names, the maintenance session and the plan, before confirmation.
pub struct Restore {
    req: Request,
    m: Manifest,
    swapping: bool,
    target: String,
    restored: String,
    pre: String,
    options: PgOptions,
    pg: PgClient,
    target_exists: bool,
    plan: Vec<String>,
    action: String,
}

impl Restore {
    /// What the confirmation asks for, e.g. "restore app/... over database app".
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The steps, one line each.
    pub fn plan(&self) -> &[String] {
        &self.plan
    }

    /// The database the restore ends up as (the name the operator types to confirm).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Run the confirmed plan. From here on Ctrl-C and SIGTERM are handled: an interrupt
    /// before the swap drops our own database and stops, leaving the target untouched.
    pub async fn execute(self, mut report: Report, ctx: &Ctx) -> anyhow::Result<Report> {
        let Restore {
            req:
                Request {
                    entry,
                    dir,
                    jobs,
                    stop_service,
                    ..
                },
            m,
            swapping,
            target,
            restored,
            pre,
            options,
            pg,
            target_exists,
            ..
        } = self;
        // From here on Ctrl-C and SIGTERM are ours to handle: every await below is raced with them
        // (`interrupt.run`), and an interrupt before the swap drops our own database and stops.
        let interrupt = Interrupt::install()?;
        let _lock = lock::acquire(&ctx.state_dir(), "the restore")?;
        let mut steps = Steps { rows: vec![] };

        // What earlier restores left behind (we hold the lock: none of it is alive).
        match interrupt
            .run(leftovers::scan(Some(&pg), &dir, Some(&target), None))
            .await
        {
            Ok(found) => report.extend(found),
            Err(e) if crate::interrupt::is_interrupted(&e) => {
                return Ok(interrupted(
                    report,
                    steps,
                    &e,
                    "before anything was created; nothing was changed",
                ))
            }
            Err(e) => report.push(Finding::unknown("restore.leftover", &e)),
        }

        // 1. Verify: a damaged archive stops everything before anything is created.
        let t = Instant::now();
        let phase = Phase::start(&ctx.output, format!("verifying the archive of {}", m.id));
        let checked = interrupt.run(verify::check(&entry)).await;
        phase.finish();
        match checked {
            Ok(v) => {
                steps.add(
                    "verify",
                    Status::Ok,
                    Some(t.elapsed()),
                    format!("{} TOC entries", v.toc_entries),
                );
                report.push(Finding::ok(
                    "restore.verify",
                    format!("{}: checksum and table of contents good", m.id),
                ));
            }
            Err(e) if crate::interrupt::is_interrupted(&e) => {
                steps.add("verify", Status::Critical, Some(t.elapsed()), one_line(&e));
                return Ok(interrupted(
                    report,
                    steps,
                    &e,
                    "while verifying the archive, before anything was created; nothing was changed",
                ));
            }
            Err(e) => {
                steps.add("verify", Status::Critical, Some(t.elapsed()), one_line(&e));
                report.push(
                    Finding::new("restore.verify", Status::Critical, one_line(&e))
                        .hint("nothing was created or changed; restore an older backup (`opsbook backup list`)"),
                );
                report.sections.push(steps.section());
                return Ok(report);
            }
        }

        // 2-4. Create, load, prove. Any failure or interrupt drops our own half-restored database
        // (IF EXISTS: an interrupted CREATE may or may not have happened on the server).
        let t = Instant::now();
        let phase = Phase::start(&ctx.output, format!("creating database {restored}"));
        let created = interrupt
            .run(async {
                let props =
                    create_options(&pg, if target_exists { &target } else { &m.database }).await?;
                pg.client
                    .batch_execute(&format!(
                        "CREATE DATABASE {} TEMPLATE template0{props}",
                        quote_ident(&restored)
                    ))
                    .await
                    .with_context(|| format!("restore: creating database {restored}"))
            })
            .await;
        phase.finish();
        let loaded = match created {
            Ok(()) => {
                steps.add("create", Status::Ok, Some(t.elapsed()), restored.clone());
                report.push(Finding::ok("restore.create", format!("created {restored}")));
                load_and_prove(
                    jobs, &entry, &options, &restored, &interrupt, ctx, &mut steps,
                )
                .await
            }
            Err(e) => {
                steps.add("create", Status::Critical, Some(t.elapsed()), one_line(&e));
                Err(("restore.create", e))
            }
        };
        let load_took = match loaded {
            Ok(took) => took,
            Err((id, e)) => {
                return Ok(abandon(report, steps, &pg, &target, &restored, &[], id, &e).await)
            }
        };
        report.push(
            Finding::ok(
                "restore.load",
                format!(
                    "pg_restore into {restored} took {}",
                    took(load_took.as_secs_f64())
                ),
            )
            .value_f64(secs(load_took), "seconds"),
        );
        report.push(
            Finding::ok(
                "restore.counts",
                format!(
                    "all {} tables match the manifest ({} rows)",
                    m.tables.len(),
                    m.total_rows()
                ),
            )
            .value(m.total_rows(), "rows"),
        );

        if !swapping {
            // Only a proven copy carries the name the operator asked for.
            if let Err(e) = interrupt
                .run(rename(&pg, &restored, &target, RenameIn::Autocommit))
                .await
            {
                return Ok(abandon(
                    report,
                    steps,
                    &pg,
                    &target,
                    &restored,
                    &[],
                    "restore.swap",
                    &e,
                )
                .await);
            }
            report.sections.push(steps.section());
            report.push(Finding::ok(
                "restore.plan",
                format!(
                    "{} restored side by side into {target}; nothing was swapped",
                    m.id
                ),
            ));
            return Ok(report);
        }

        // 5. Stop the services that write to the target.
        let mut stopped: Vec<String> = Vec::new();
        for unit in &stop_service {
            let t = Instant::now();
            if let Err(e) = interrupt.run(systemctl("stop", unit)).await {
                steps.add(
                    &format!("stop {unit}"),
                    Status::Critical,
                    Some(t.elapsed()),
                    one_line(&e),
                );
                return Ok(abandon(
                    report,
                    steps,
                    &pg,
                    &target,
                    &restored,
                    &stopped,
                    "restore.services",
                    &e,
                )
                .await);
            }
            steps.add(
                &format!("stop {unit}"),
                Status::Ok,
                Some(t.elapsed()),
                String::new(),
            );
            stopped.push(unit.clone());
        }

        // 6. The swap: the only unavailability; one transaction, committed or rolled back whole.
        let phase = Phase::start(&ctx.output, format!("swapping {restored} in as {target}"));
        let swapped = swap(&pg, &target, &restored, &pre, &interrupt).await;
        phase.finish();
        match swapped {
            Ok(unavailable) => {
                steps.add(
                    "swap",
                    Status::Ok,
                    Some(unavailable),
                    format!("{target} -> {pre}, {restored} -> {target}"),
                );
                report.push(
                    Finding::ok(
                        "restore.swap",
                        format!(
                            "{target} now holds {}; it was unavailable for {} ms (the swap only)",
                            m.id,
                            unavailable.as_millis()
                        ),
                    )
                    .value_f64(secs(unavailable), "seconds"),
                );
                report.push(
                    Finding::ok("restore.kept", format!("the old database is kept as {pre}"))
                        .subject(pre.clone())
                        .hint(format!(
                            "drop it when you no longer need it: DROP DATABASE {}",
                            quote_ident(&pre)
                        )),
                );
                if let Some(sig) = interrupt.signal() {
                    report.push(
                        Finding::new(
                            "restore.interrupted",
                            Status::Warning,
                            format!("interrupted by {sig} while the swap committed: the swap completed; {target} holds {}", m.id),
                        )
                        .hint("nothing to undo; the services stopped for the swap are started again"),
                    );
                }
            }
            Err(SwapFailed { error }) => {
                steps.add("swap", Status::Critical, None, one_line(&error));
                if crate::interrupt::is_interrupted(&error) {
                    // `abandon` below starts the services and drops the restored copy.
                    return Ok(abandon(
                        report,
                        steps,
                        &pg,
                        &target,
                        &restored,
                        &stopped,
                        "restore.swap",
                        &error,
                    )
                    .await);
                }
                let _ = drop_database(&pg, &restored).await;
                report.push(Finding::new(
                    "restore.swap",
                    Status::Critical,
                    one_line(&error),
                ));
            }
        }

        // 7. Start what we stopped, and check it runs (not raced: the services must come back).
        start_services(&stopped, &mut steps, &mut report).await;
        report.sections.push(steps.section());
        Ok(report)
    }
}
