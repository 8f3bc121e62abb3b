//! `opsbook restore`: verify the archive, restore it into a new database, prove every table's
//! row count against the manifest, and only then swap it in for the target, keeping the old
//! database under a dated name. Nothing is ever dropped except our own half-restored database.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

use crate::backup::catalog::{self, Entry};
use crate::backup::counts;
use crate::backup::{leftovers, lock, pgrestore, verify};
use crate::clients::host;
use crate::clients::pg::PgOptions;
use crate::clients::postgres::PgClient;
use crate::clients::postgres::{quote_ident, quote_literal};
use crate::commands::backup::{backup_dir, DirArgs};
use crate::context::Ctx;
use crate::interrupt::Interrupt;
use crate::render::{human_bytes, human_duration, took};
use crate::report::{one_line, Finding, Report, Section, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "restore",
    page: "commands/restore.md",
    ids: &[
        "restore.verify",
        "restore.create",
        "restore.load",
        "restore.counts",
        "restore.services",
        "restore.swap",
        "restore.kept",
        "restore.plan",
        "restore.interrupted",
        "restore.leftover",
        "backup.leftover",
    ],
};

/// Restore a backup into a new database, prove it complete, then swap it in
#[derive(Debug, Args)]
#[command(
    after_help = format!("{}{}{}", "Examples:\n  opsbook restore                                  # on a terminal: choose, read the plan, type the name\n  opsbook restore app/latest --yes --stop-service app-bot\n  opsbook restore app/20261123T010000Z --into app_copy --yes\n  opsbook restore app/latest --dry-run\n\n\
The plan: verify the archive -> create <target>__restore_<ts> -> pg_restore into it -> compare every \
table's row count with the manifest -> stop the services -> end the target's sessions and rename it to \
<target>__pre_restore_<ts> -> rename the restored database to <target> -> start the services. The old \
database is kept. Any failure before the swap leaves the target untouched.\n\n\
", FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING (leftovers of an earlier run), 2 CRITICAL (a step failed or a signal stopped it; see which), 3 UNKNOWN (usage, not confirmed, lock held).\n\
See commands/restore.md.")
)]
pub struct RestoreArgs {
    /// A backup id (app/20261123T010000Z), app/latest or an archive path; on a terminal, leave it
    /// out to choose from the list
    #[arg(value_name = "ID|PATH", add = ArgValueCandidates::new(crate::commands::candidates::backup_ids))]
    pub backup: Option<String>,

    /// The database to replace (default: the backup's database)
    #[arg(long, value_name = "TARGET")]
    pub db: Option<String>,

    /// Restore side by side into this new database; nothing is swapped
    #[arg(long, value_name = "NEW_NAME", conflicts_with = "db")]
    pub into: Option<String>,

    /// pg_restore jobs; above 1 the archive is first decompressed next to it
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,

    /// A systemd unit to stop before the swap and start after it (repeatable)
    #[arg(long = "stop-service", value_name = "UNIT")]
    pub stop_service: Vec<String>,

    /// Go ahead without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,

    /// Show the plan and verify the archive; change nothing
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub dir: DirArgs,
}

/// PostgreSQL names are at most 63 bytes: shorten the target part, never the suffix.
fn side_name(target: &str, tag: &str, ts: &str) -> String {
    let suffix = format!("__{tag}_{ts}");
    let room = 63usize.saturating_sub(suffix.len());
    let mut cut = target.len().min(room);
    while !target.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &target[..cut])
}

fn compact_stamp(t: SystemTime) -> String {
    crate::timefmt::backup_stamp(t)
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

/// One step of the plan as it ran.
struct Steps {
    rows: Vec<Vec<String>>,
}

impl Steps {
    fn add(&mut self, step: &str, status: Status, took: Option<Duration>, detail: String) {
        self.rows.push(vec![
            step.to_string(),
            status.label().to_string(),
            took.map(|d| crate::render::took(d.as_secs_f64()))
                .unwrap_or_default(),
            detail,
        ]);
    }

    fn section(self) -> Section {
        Section {
            title: "Restore steps".to_string(),
            columns: ["STEP", "STATUS", "TOOK", "DETAIL"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
            rows: self.rows,
        }
    }
}

/// On a terminal without an id: pick from the list, newest first.
fn choose(dir: &std::path::Path, db: Option<&str>) -> anyhow::Result<Entry> {
    let entries: Vec<Entry> = catalog::list(dir, db)?
        .into_iter()
        .filter(|e| e.manifest.kind == "database")
        .collect();
    if entries.is_empty() {
        bail!(
            "restore: no backups in {}\nhint: pass --dir, or take one with `opsbook backup`",
            dir.display()
        );
    }
    let now = SystemTime::now();
    let items: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{}  {} ago  {}  {}",
                e.id(),
                human_duration(e.age_secs(now).max(0) as f64),
                human_bytes(e.manifest.bytes as f64),
                if e.manifest.verified {
                    "verified"
                } else {
                    "NOT verified"
                }
            )
        })
        .collect();
    let picked = crate::confirm::cancellable("restore", || {
        dialoguer::Select::new()
            .with_prompt("Restore which backup? (newest first; Esc aborts)")
            .items(&items)
            .default(0)
            .interact_opt()
    })?;
    match picked {
        Some(i) => Ok(entries[i].clone()),
        None => bail!("restore: aborted, no backup chosen; nothing was changed"),
    }
}

/// A maintenance session on the cluster (never on the target itself, which must be renamed).
async fn maintenance(options: &PgOptions, ctx: &Ctx) -> anyhow::Result<PgClient> {
    let mut last = None;
    for db in ["postgres", "template1"] {
        match PgClient::connect(&options.with_dbname(db), ctx.timeouts()).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| anyhow::anyhow!("no maintenance database"))
        .context("restore: connecting to the postgres (or template1) database to create and rename databases"))
}

async fn exists(pg: &PgClient, db: &str) -> anyhow::Result<bool> {
    Ok(pg
        .client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&db])
        .await
        .with_context(|| format!("restore: looking up database {db}"))?
        .is_some())
}

/// `CREATE DATABASE` options that copy the old database's owner, encoding and locale.
async fn create_options(pg: &PgClient, like: &str) -> anyhow::Result<String> {
    let row = pg
        .client
        .query_opt(
            "SELECT pg_get_userbyid(datdba)::text, pg_encoding_to_char(encoding)::text, \
             datcollate::text, datctype::text FROM pg_database WHERE datname = $1",
            &[&like],
        )
        .await
        .with_context(|| format!("restore: reading the properties of {like}"))?;
    Ok(match row {
        None => String::new(),
        Some(r) => {
            let (owner, enc, collate, ctype): (String, String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            format!(
                " OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {}",
                quote_ident(&owner),
                quote_literal(&enc),
                quote_literal(&collate),
                quote_literal(&ctype)
            )
        }
    })
}

async fn drop_database(pg: &PgClient, db: &str) -> anyhow::Result<()> {
    let force = if pg.major() >= 13 {
        " WITH (FORCE)"
    } else {
        ""
    };
    if force.is_empty() {
        let _ = terminate(pg, db).await;
    }
    pg.client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {}{force}",
            quote_ident(db)
        ))
        .await
        .with_context(|| format!("dropping the half-restored database {db}"))
}

async fn terminate(pg: &PgClient, db: &str) -> anyhow::Result<i64> {
    let row = pg
        .client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .await
        .with_context(|| format!("ending the sessions on {db}"))?;
    Ok(row.try_get(0)?)
}

/// Rename `from` to `to`, ending sessions that still hold `from` (they cannot come back:
/// connections are disallowed).
async fn rename(pg: &PgClient, from: &str, to: &str) -> anyhow::Result<()> {
    let sql = format!(
        "ALTER DATABASE {} RENAME TO {}",
        quote_ident(from),
        quote_ident(to)
    );
    let mut tries = 0;
    loop {
        match pg.client.batch_execute(&sql).await {
            Ok(()) => return Ok(()),
            Err(e)
                if tries < 50
                    && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) =>
            {
                tries += 1;
                terminate(pg, from).await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("renaming {from} to {to}")))
            }
        }
    }
}

async fn allow_connections(pg: &PgClient, db: &str, allow: bool) -> anyhow::Result<()> {
    pg.client
        .batch_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS {allow}",
            quote_ident(db)
        ))
        .await
        .with_context(|| format!("setting ALLOW_CONNECTIONS {allow} on {db}"))
}

/// Rename `from` to `to` inside the caller's open transaction, ending sessions that still hold
/// `from` (a savepoint per try: a failed rename must not abort the transaction).
async fn rename_in_tx(pg: &PgClient, from: &str, to: &str) -> anyhow::Result<()> {
    let sql = format!(
        "SAVEPOINT rename; ALTER DATABASE {} RENAME TO {}; RELEASE SAVEPOINT rename",
        quote_ident(from),
        quote_ident(to)
    );
    let mut tries = 0;
    loop {
        match pg.client.batch_execute(&sql).await {
            Ok(()) => return Ok(()),
            Err(e)
                if tries < 50
                    && e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) =>
            {
                tries += 1;
                pg.client
                    .batch_execute("ROLLBACK TO SAVEPOINT rename")
                    .await
                    .context("rolling back to the savepoint of the rename")?;
                terminate(pg, from).await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("renaming {from} to {to}")))
            }
        }
    }
}

/// How the swap ended when it did not complete.
struct SwapFailed {
    error: anyhow::Error,
}

/// The swap: the only time the target is unavailable. Both renames are one transaction, so it
/// either commits whole or is rolled back whole: a failure or a signal before the COMMIT leaves
/// the target under its name with its data. A signal after the COMMIT was sent lets it finish
/// (the caller reports that). Returns how long the target was unavailable.
async fn swap(
    pg: &PgClient,
    target: &str,
    restored: &str,
    pre: &str,
    interrupt: &Interrupt,
) -> Result<Duration, SwapFailed> {
    let t0 = Instant::now();
    let renamed = interrupt
        .run(async {
            allow_connections(pg, target, false).await?;
            terminate(pg, target).await?;
            pg.client
                .batch_execute("BEGIN")
                .await
                .context("starting the swap's transaction")?;
            rename_in_tx(pg, target, pre).await?;
            crate::interrupt::test_pause("restore.swap").await;
            rename_in_tx(pg, restored, target).await
        })
        .await;
    let committed = match renamed {
        Ok(()) => pg
            .client
            .batch_execute("COMMIT")
            .await
            .context("committing the swap"),
        Err(e) => Err(e),
    };
    if let Err(e) = committed {
        // Queued behind whatever was in flight, so it undoes all of it; a COMMIT that failed
        // has rolled back already and this is a no-op.
        let _ = pg.client.batch_execute("ROLLBACK").await;
        let _ = allow_connections(pg, target, true).await;
        return Err(SwapFailed {
            error: e.context(format!(
                "the swap was rolled back: {target} keeps its name and data"
            )),
        });
    }
    let took = t0.elapsed();
    // The kept copy may be read by an operator comparing old and new.
    let _ = allow_connections(pg, pre, true).await;
    Ok(took)
}
async fn systemctl(verb: &str, unit: &str) -> anyhow::Result<()> {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("systemctl")
            .args([verb, "--", unit])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("systemctl {verb} {unit} took over 120 s"))?
    .with_context(|| format!("running systemctl {verb} {unit}"))?;
    if !out.status.success() {
        bail!(
            "systemctl {verb} {unit} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub async fn run(args: &RestoreArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new("restore");
    let dir: PathBuf = backup_dir(&args.dir, ctx);
    let tty = crate::confirm::interactive();
    if !args.yes && !args.dry_run && !tty {
        bail!("restore: refusing to run without confirmation when not on a terminal; nothing was changed\nhint: pass --yes (after a --dry-run to read the plan), or run it on a terminal");
    }
    if !args.stop_service.is_empty() {
        if let Some(why) = host::systemd_unavailable() {
            bail!("restore: --stop-service needs systemd: {why}; nothing was changed\nhint: stop the services another way and run without --stop-service");
        }
    }
    let (entry, refused) = match &args.backup {
        Some(w) => catalog::find(&dir, w)?,
        None if tty => (choose(&dir, args.db.as_deref())?, vec![]),
        None => bail!("restore: which backup? give an id (app/latest) or a path\nhint: `opsbook backup list` shows them"),
    };
    report.extend(refused.iter().map(|r| r.finding()));
    let m = entry.manifest.clone();
    if m.kind != "database" {
        bail!(
            "restore: {} is a globals file (roles, tablespaces), not a database archive\nhint: apply it with psql as a superuser: zstd -dc {} | psql",
            m.id,
            entry.archive_path.display()
        );
    }
    let swapping = args.into.is_none();
    let target = args
        .into
        .clone()
        .or_else(|| args.db.clone())
        .unwrap_or_else(|| m.database.clone());
    let ts = compact_stamp(SystemTime::now());
    // Always a recognisable side name (`__restore_<ts>`): a half-restored database never carries
    // a name the operator asked for, and the next run can report it if we are killed.
    let restored = side_name(&target, "restore", &ts);
    let pre = side_name(&target, "pre_restore", &ts);

    let options = ctx.pg_options()?;
    let pg = maintenance(&options, ctx).await?;
    let target_exists = exists(&pg, &target).await?;
    if swapping && !target_exists {
        bail!("restore: database {target} does not exist on {}, so there is nothing to replace\nhint: restore side by side with --into {target}", options.display_url());
    }
    if !swapping && target_exists {
        bail!("restore: database {target} already exists; --into only creates a new database\nhint: pick another name, or replace it with --db {target}");
    }

    let mut plan = vec![
        format!(
            "verify {} ({}, sha256 and table of contents)",
            m.id,
            human_bytes(m.bytes as f64)
        ),
        format!(
            "create database {restored} (owner, encoding and locale of {})",
            if target_exists { &target } else { &m.database }
        ),
        format!(
            "pg_restore into {restored} ({} job{})",
            args.jobs,
            if args.jobs == 1 { "" } else { "s" }
        ),
        format!(
            "compare the row counts of {} tables ({} rows) with the manifest",
            m.tables.len(),
            m.total_rows()
        ),
    ];
    if !swapping {
        plan.push(format!("rename {restored} to {target}"));
    }
    if swapping {
        if !args.stop_service.is_empty() {
            plan.push(format!("stop {}", args.stop_service.join(", ")));
        }
        plan.push(format!(
            "end the sessions on {target}, rename it to {pre} (kept, not dropped)"
        ));
        plan.push(format!("rename {restored} to {target}"));
        if !args.stop_service.is_empty() {
            plan.push(format!(
                "start {} and check they are active",
                args.stop_service.join(", ")
            ));
        }
    }
    let action = if swapping {
        format!("restore {} over database {target}", m.id)
    } else {
        format!("restore {} into the new database {target}", m.id)
    };

    if args.dry_run {
        let checked = verify::check(&entry).await;
        report.push(match checked {
            Ok(v) => Finding::ok(
                "restore.verify",
                format!(
                    "{}: checksum and table of contents good ({} entries)",
                    m.id, v.toc_entries
                ),
            ),
            Err(e) => Finding::new("restore.verify", Status::Critical, one_line(&e))
                .hint("this backup cannot be restored; choose another (`opsbook backup list`)"),
        });
        report.push(Finding::ok(
            "restore.plan",
            format!("dry run: {action}; nothing was changed"),
        ));
        report.sections.push(Section {
            title: "The plan".into(),
            columns: vec!["#".into(), "STEP".into()],
            rows: plan
                .iter()
                .enumerate()
                .map(|(i, s)| vec![(i + 1).to_string(), s.clone()])
                .collect(),
        });
        return Ok(report);
    }

    crate::confirm::typed(&action, &plan, &target, args.yes)?;
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
    let checked = interrupt.run(verify::check(&entry)).await;
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
    let loaded = match created {
        Ok(()) => {
            steps.add("create", Status::Ok, Some(t.elapsed()), restored.clone());
            report.push(Finding::ok("restore.create", format!("created {restored}")));
            load_and_prove(
                args, &entry, &options, &restored, &interrupt, ctx, &mut steps,
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
        .value(load_took.as_millis() as u64, "ms"),
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
        if let Err(e) = interrupt.run(rename(&pg, &restored, &target)).await {
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
    for unit in &args.stop_service {
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
    match swap(&pg, &target, &restored, &pre, &interrupt).await {
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
                .value(unavailable.as_millis() as u64, "ms"),
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

/// Start `units` again and report each.
async fn start_services(units: &[String], steps: &mut Steps, report: &mut Report) {
    for unit in units {
        let t = Instant::now();
        let started = systemctl("start", unit).await;
        let state = host::unit_state(unit, Duration::from_secs(10)).await;
        let f = match (started, state) {
            (Ok(()), Ok(s)) if s == "active" => {
                steps.add(&format!("start {unit}"), Status::Ok, Some(t.elapsed()), s);
                Finding::ok("restore.services", format!("{unit} is active again"))
            }
            (Ok(()), Ok(s)) => {
                steps.add(
                    &format!("start {unit}"),
                    Status::Critical,
                    Some(t.elapsed()),
                    s.clone(),
                );
                Finding::new(
                    "restore.services",
                    Status::Critical,
                    format!("{unit} is {s} after the restore"),
                )
                .hint(format!("journalctl -u {unit} -n 50"))
            }
            (Err(e), _) | (_, Err(e)) => {
                steps.add(
                    &format!("start {unit}"),
                    Status::Critical,
                    Some(t.elapsed()),
                    one_line(&e),
                );
                Finding::new("restore.services", Status::Critical, one_line(&e))
                    .hint(format!("start it by hand: systemctl start {unit}"))
            }
        };
        report.push(f.subject(unit.clone()));
    }
}

/// The report of a restore interrupted before it created anything.
fn interrupted(mut report: Report, steps: Steps, e: &anyhow::Error, when: &str) -> Report {
    report.push(
        Finding::new(
            "restore.interrupted",
            Status::Critical,
            format!("{}: stopped {when}", one_line(e)),
        )
        .hint("run the restore again when you are ready"),
    );
    report.sections.push(steps.section());
    report
}

/// Give up before the swap (a failure or an interrupt): start the services stopped so far,
/// drop our own half-restored database, and report why, naming what was left as it was.
#[allow(clippy::too_many_arguments)]
async fn abandon(
    mut report: Report,
    mut steps: Steps,
    pg: &PgClient,
    target: &str,
    restored: &str,
    stopped: &[String],
    id: &str,
    e: &anyhow::Error,
) -> Report {
    let dropped = drop_database(pg, restored).await;
    let cleaned = match dropped {
        Ok(()) => format!("the half-restored {restored} was removed"),
        Err(d) => format!(
            "removing {restored} failed too ({}): drop it by hand: DROP DATABASE {}",
            one_line(&d),
            quote_ident(restored)
        ),
    };
    let was_interrupted = crate::interrupt::is_interrupted(e);
    if was_interrupted {
        let at = steps.rows.last().map(|r| r[0].clone()).unwrap_or_default();
        report.push(
            Finding::new(
                "restore.interrupted",
                Status::Critical,
                format!(
                    "{} during `{at}`: {}; {target} was not touched",
                    one_line(e),
                    if id == "restore.swap" {
                        "the swap was rolled back whole"
                    } else {
                        "stopped before the swap"
                    }
                ),
            )
            .hint(format!(
                "{cleaned}; run the restore again when you are ready"
            )),
        );
    } else {
        report.push(
            Finding::new(id, Status::Critical, one_line(e))
                .hint(format!("{target} was not touched; {cleaned}")),
        );
    }
    start_services(stopped, &mut steps, &mut report).await;
    report.sections.push(steps.section());
    report
}

/// pg_restore into `restored` and compare the counts; errors carry the finding id.
async fn load_and_prove(
    args: &RestoreArgs,
    entry: &Entry,
    options: &PgOptions,
    restored: &str,
    interrupt: &Interrupt,
    ctx: &Ctx,
    steps: &mut Steps,
) -> Result<Duration, (&'static str, anyhow::Error)> {
    let t = Instant::now();
    let opts = options.with_dbname(restored);
    let job = pgrestore::Job {
        entry,
        options: opts.clone(),
        jobs: args.jobs,
        no_owner: false,
        scratch_dir: pgrestore::scratch_dir_of(entry),
        progress: crate::render::show_progress(&ctx.output),
        pg_restore: None,
        pause_at: "restore.load",
    };
    if let Err(e) = pgrestore::run(job, interrupt).await {
        steps.add(
            "pg_restore",
            Status::Critical,
            Some(t.elapsed()),
            one_line(&e),
        );
        return Err(("restore.load", e));
    }
    let load_took = t.elapsed();
    steps.add(
        "pg_restore",
        Status::Ok,
        Some(load_took),
        format!("into {restored}"),
    );
    let t = Instant::now();
    let counted = interrupt
        .run(async {
            let c = PgClient::connect(&opts, ctx.timeouts()).await?;
            c.client.batch_execute("SET statement_timeout = 0").await?;
            crate::interrupt::test_pause("restore.compare").await;
            counts::count_tables(&c.client).await
        })
        .await;
    let actual = match counted {
        Ok(a) => a,
        Err(e) => {
            steps.add(
                "compare counts",
                Status::Critical,
                Some(t.elapsed()),
                one_line(&e),
            );
            return Err(("restore.counts", e.context("counting the restored rows")));
        }
    };
    let diffs = counts::compare(&entry.manifest.tables, &actual);
    if !diffs.is_empty() {
        let e = anyhow::anyhow!(
            "{} table(s) differ from the manifest: {}",
            diffs.len(),
            diffs.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
        );
        steps.add(
            "compare counts",
            Status::Critical,
            Some(t.elapsed()),
            one_line(&e),
        );
        return Err(("restore.counts", e));
    }
    steps.add(
        "compare counts",
        Status::Ok,
        Some(t.elapsed()),
        format!("{} tables equal", actual.len()),
    );
    Ok(load_took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_names_fit_in_63_bytes() {
        assert_eq!(
            side_name("app", "restore", "20261123010203"),
            "app__restore_20261123010203"
        );
        let long = "x".repeat(70);
        let n = side_name(&long, "pre_restore", "20261123010203");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("__pre_restore_20261123010203"));
        let multi = "é".repeat(40);
        assert!(side_name(&multi, "restore", "20261123010203").len() <= 63);
    }
}
