//! `opsbook backup [create]`, `backup list`, `backup verify`, `backup prune`: verified logical
//! backups with a manifest, and retention that never deletes the newest verified backup.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCandidates;

use crate::backup::catalog::{self, Entry};
use crate::backup::redis::bgsave::Method;
use crate::backup::retention::{self, Policy};
use crate::backup::stream::Compression;
use crate::backup::{dump, leftovers, lock, names, remote, restore_test, verify};
use crate::clients::postgres::PgClient;
use crate::context::Ctx;
use crate::interrupt::Interrupt;
use crate::render::took;
use crate::report::{one_line, Finding, Report, Status};

mod created;
mod list;
mod offsite;
mod prune;
mod prune_remote;
use created::created_finding;
pub(crate) mod redis;
use list::list;
use prune::prune;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "backup",
    page: "commands/backup.md",
    ids: &[
        "backup.created",
        "backup.globals",
        "backup.retention",
        "backup.stale_partial",
        "backup.list",
        "backup.verify",
        "backup.restore_test",
        "backup.prune",
        "backup.interrupted",
        "backup.recheck",
        "backup.manifest_refused",
        "backup.redis",
        "backup.remote_copy",
        "backup.remote_list",
        "backup.remote_refused",
        "backup.remote_audit",
    ],
};

/// Take, list, verify and prune logical backups (pg_dump custom format + manifest)
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = format!("{}{}{}", "Examples:\n  opsbook backup --db app --keep 7 --yes      # nightly, from cron\n  opsbook backup --all --dir /srv/backups\n  opsbook backup list\n  opsbook backup verify app/latest --restore-test\n  opsbook backup prune --keep-days 14 --dry-run\n\n", FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL (a backup or check failed, or a signal stopped it), 3 UNKNOWN (usage, lock held, server down).\n\
See commands/backup.md for the manifest format, the retention rule and the threat model.")
)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub action: Option<BackupAction>,

    #[command(flatten)]
    pub create: CreateArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DirArgs {
    /// Backup directory, one sub-directory per database (default: config backup.dir)
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct PolicyArgs {
    /// Keep the newest N backups of each database (default: config backup.keep)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,

    /// Keep backups younger than D days (default: config backup.keep_days)
    #[arg(long, value_name = "D", value_parser = parse_days)]
    pub keep_days: Option<f64>,
}

fn parse_days(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(format!(
            "`{s}` is not a positive number of days (e.g. 7 or 0.5)"
        )),
    }
}

#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// Database to back up (default: the connection's database)
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub db: Option<String>,

    /// Every database that accepts connections, plus the globals (roles, tablespaces)
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub dir: DirArgs,

    /// Compression threads (default: the number of CPUs, at most 8)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: Option<u32>,

    /// zstd[:1-19], gzip[:1-9] or none; zstd:1 keeps up with pg_dump and is within 5 % of
    /// the size of gzip -9
    #[arg(long, value_name = "ALGO[:LEVEL]", default_value = "zstd:1")]
    pub compress: Compression,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Apply retention without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,

    /// Snapshot Redis (BGSAVE and its file when the server is on this host, else an RDB over
    /// the replica protocol, as `redis-cli --rdb`) instead of a database, into <dir>/_redis/
    /// (the server is --redis URL); with --remote the snapshot is copied there too
    #[arg(long = "rdb", conflicts_with_all = ["db", "all"])]
    pub redis_rdb: bool,

    /// How --rdb takes the snapshot: auto (bgsave when the server's dir is readable here),
    /// bgsave, or sync (the replica protocol)
    #[arg(long, value_name = "METHOD", default_value = "auto", requires = "redis_rdb", value_parser = redis::method_parser())]
    pub rdb_method: Method,

    /// Also stream each database's backup (and the globals, or the --rdb snapshot) to this
    /// remote (remotes.NAME) while it is written, encrypted when it says so
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    /// With --remote: keep no local archive (hosts without room for one); the copy on the
    /// remote is the backup, listed by `backup list --remote`
    #[arg(long, requires = "remote", conflicts_with = "redis_rdb")]
    pub remote_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// Backups in the directory, newest first: age, size, verified, rows
    List {
        /// Only this database's backups
        #[arg(long, value_name = "NAME")]
        db: Option<String>,
        #[command(flatten)]
        dir: DirArgs,
        /// List the copies on this remote (remotes.NAME) instead of the directory
        #[arg(long, value_name = "NAME")]
        remote: Option<String>,
    },
    /// Check a backup: its sha256 and that pg_restore reads its table of contents
    Verify {
        /// A backup id (app/20261123T010000Z), app/latest, latest (the newest of the connection's
        /// database), or an archive path
        #[arg(value_name = "ID|PATH", add = ArgValueCandidates::new(crate::completion::backup_ids))]
        backup: String,
        /// Also restore it into a throwaway local cluster and compare every table's row count
        #[arg(long)]
        restore_test: bool,
        /// pg_restore jobs for the restore test
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
        jobs: u32,
        #[command(flatten)]
        dir: DirArgs,
        /// Verify the copy on this remote (remotes.NAME): download, decrypt, check (it is
        /// downloaded into a private directory under the backup directory, then removed)
        #[arg(long, value_name = "NAME")]
        remote: Option<String>,
    },
    /// Remove backups outside the retention policy (never the newest verified one)
    Prune {
        /// Only this database's backups
        #[arg(long, value_name = "NAME")]
        db: Option<String>,
        #[command(flatten)]
        dir: DirArgs,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Show what would be removed, remove nothing
        #[arg(long)]
        dry_run: bool,
        /// Remove without asking (needed when not on a terminal)
        #[arg(long)]
        yes: bool,
        /// Prune the copies on this remote (remotes.NAME) instead of the directory
        #[arg(long, value_name = "NAME")]
        remote: Option<String>,
    },
}

impl BackupArgs {
    pub fn name(&self) -> &'static str {
        match self.action {
            None => "backup",
            Some(BackupAction::List { .. }) => "backup list",
            Some(BackupAction::Verify { .. }) => "backup verify",
            Some(BackupAction::Prune { .. }) => "backup prune",
        }
    }
}

pub async fn run(args: &BackupArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.action {
        None => create(&args.create, ctx).await,
        Some(BackupAction::List {
            db,
            remote: Some(name),
            ..
        }) => {
            let (bucket, _) =
                remote::open(&ctx.config.remotes, name, ctx.config.timeouts.connect.0)?;
            let listing = remote::list(&bucket, db.as_deref()).await?;
            let now = crate::timefmt::unix(SystemTime::now());
            let mut report = remote::findings::listing(name, db.as_deref(), &listing, now);
            report.extend(remote::audit::audit(&bucket, true).await);
            Ok(report)
        }
        Some(BackupAction::List { db, dir, .. }) => list(db.as_deref(), &backup_dir(dir, ctx)),
        Some(BackupAction::Verify {
            backup,
            restore_test,
            jobs,
            dir,
            remote,
        }) => {
            let dir = backup_dir(dir, ctx);
            verify_cmd(backup, *restore_test, *jobs, &dir, remote.as_deref(), ctx).await
        }
        Some(BackupAction::Prune {
            db,
            policy: p,
            dry_run,
            yes,
            remote: Some(name),
            ..
        }) => {
            let policy = policy(p, ctx);
            if !policy.is_set() {
                anyhow::bail!("backup prune: no retention policy, so nothing can be judged old\nhint: pass --keep N and/or --keep-days D, or set backup.keep / backup.keep_days in the config");
            }
            prune_remote::prune_remote(name, db.as_deref(), policy, *dry_run, *yes, ctx).await
        }
        Some(BackupAction::Prune {
            db,
            dir,
            policy,
            dry_run,
            yes,
            ..
        }) => prune(
            db.as_deref(),
            &backup_dir(dir, ctx),
            policy,
            *dry_run,
            *yes,
            ctx,
        ),
    }
}

/// The database the run's connection names: what `opsbook backup` without `--db` backs up and
/// what bare `latest` means when several databases have backups.
pub fn connection_db(ctx: &Ctx) -> Option<String> {
    ctx.pg_options().ok().map(|o| o.dbname().to_string())
}

pub fn backup_dir(dir: &DirArgs, ctx: &Ctx) -> PathBuf {
    dir.dir
        .clone()
        .unwrap_or_else(|| ctx.config.backup.dir.clone())
}

fn policy(args: &PolicyArgs, ctx: &Ctx) -> Policy {
    Policy {
        keep: args.keep.map(|n| n as usize).or(ctx.config.backup.keep),
        keep_days: args.keep_days.or(ctx.config.backup.keep_days),
    }
}

fn default_jobs() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
        .min(8)
}

async fn create(args: &CreateArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new("backup");
    let dir = backup_dir(&args.dir, ctx);
    let policy = policy(&args.policy, ctx);
    let options = ctx.pg_options()?;
    let _lock = lock::acquire(&ctx.state_dir(), "the backup")?;

    let mut databases = Vec::new();
    let mut server = None;
    if args.all {
        let pg = PgClient::connect(&options, ctx.timeouts())
            .await
            .context("backup --all: listing the databases")?;
        let rows = pg
            .client
            .query(
                "SELECT datname::text FROM pg_database WHERE NOT datistemplate AND datallowconn \
                 AND datname NOT LIKE '%\\_\\_restore\\_%' ORDER BY 1",
                &[],
            )
            .await
            .context("backup --all: listing the databases")?;
        for r in rows {
            databases.push(r.try_get::<_, String>(0)?);
        }
        server = Some((pg.major(), pg.version.clone()));
    } else if !args.redis_rdb {
        databases.push(
            args.db
                .clone()
                .unwrap_or_else(|| options.dbname().to_string()),
        );
    }

    // Opened before anything is dumped: an unknown remote or a bad credentials file stops here.
    let offsite = match &args.remote {
        Some(name) => Some((
            name.as_str(),
            remote::open(&ctx.config.remotes, name, ctx.config.timeouts.connect.0)?,
        )),
        None => None,
    };
    let streamed = offsite.as_ref().map(|(_, (bucket, enc))| dump::Offsite {
        bucket,
        enc: enc.as_ref(),
        keep_local: !args.remote_only,
    });
    let threads = args.jobs.unwrap_or_else(default_jobs);
    let progress = crate::render::show_progress(&ctx.output);
    let mut done = Vec::new();
    // From here SIGINT/SIGTERM stop pg_dump and remove its partial file (dump::database).
    let interrupt = Interrupt::install()?;
    let mut interrupted = false;
    let mut sizes_and_times = std::collections::BTreeMap::new();
    for db in &databases {
        // Locked before anything in it is touched: another opsbook (another state directory)
        // may be writing its `.partial` there.
        let db_dir = names::db_dir(&dir, db);
        let _dir_lock = match dump::lock_db_dir(&db_dir, &format!("the backup of {db}")) {
            Ok(l) => l,
            Err(e) if !args.all => return Err(e),
            Err(e) => {
                report.push(
                    Finding::new("backup.created", Status::Critical, format!("{db}: {}", one_line(&e)))
                        .subject(db.clone())
                        .hint("the other databases were still backed up; run `opsbook backup --db` for this one when the other run is done"),
                );
                continue;
            }
        };
        report.extend(leftovers::remove_stale_partials(&db_dir));
        let req = dump::Request {
            options: options.with_dbname(db),
            dir: dir.clone(),
            compression: args.compress,
            threads,
            timeouts: ctx.timeouts(),
            progress,
            interrupt: interrupt.clone(),
        };
        match dump::database_offsite(&req, streamed.as_ref()).await {
            Ok((w, pending)) => {
                let remote = offsite.as_ref().map(|(n, (b, _))| (*n, b));
                let settled =
                    offsite::settle(remote, pending, &w, created_finding(&w), args.remote_only)
                        .await;
                if settled.kept {
                    sizes_and_times.extend(crate::backup::history_values(&w.manifest));
                    done.push(db.clone());
                }
                report.extend(settled.findings);
                if settled.stopped {
                    interrupted = true;
                    break;
                }
            }
            Err(e) if crate::interrupt::is_interrupted(&e) => {
                report.push(
                    Finding::new("backup.interrupted", Status::Critical, one_line(&e))
                        .subject(db.clone())
                        .hint("no backup of it was written; the backups already taken are kept; run the backup again"),
                );
                interrupted = true;
                break;
            }
            Err(e) if offsite::stopped_the_backup(&e) => {
                let name = offsite.as_ref().map(|o| o.0).unwrap_or_default();
                report.push(offsite::failed(name, db, &e, true));
            }
            Err(e) if !args.all => return Err(e),
            Err(e) => report.push(
                Finding::new("backup.created", Status::Critical, format!("{db}: {}", one_line(&e)))
                    .subject(db.clone())
                    .hint("the other databases were still backed up; fix the cause and run `opsbook backup --db` for this one"),
            ),
        }
    }
    if args.redis_rdb {
        let snapshot = redis::SnapshotArgs {
            dir: &dir,
            compression: args.compress,
            threads,
            method: args.rdb_method,
            offsite: redis::offsite(offsite.as_ref()),
        };
        let (findings, values, stopped) = redis::create(snapshot, ctx, &interrupt).await?;
        report.extend(findings);
        if stopped {
            return Ok(report);
        }
        sizes_and_times.extend(values);
        done.push(names::REDIS_DIR.to_string());
    }
    record(ctx, "backup", sizes_and_times);
    if interrupted {
        // Nothing else starts: no globals, no retention.
        return Ok(report);
    }
    if let Some((major, version)) = server {
        let globals_dir = dir.join(names::GLOBALS_DIR);
        let dir_lock = dump::lock_db_dir(&globals_dir, "the backup of the globals");
        if dir_lock.is_ok() {
            report.extend(leftovers::remove_stale_partials(&globals_dir));
        }
        let req = dump::Request {
            options: options.clone(),
            dir: dir.clone(),
            compression: args.compress,
            threads,
            timeouts: ctx.timeouts(),
            progress: false,
            interrupt: interrupt.clone(),
        };
        let written = match dir_lock {
            Ok(_lock) => dump::globals(&req, major, &version, streamed.as_ref()).await,
            Err(e) => Err(e),
        };
        match written {
            Ok((w, pending)) => {
                let remote = offsite.as_ref().map(|(n, (b, _))| (*n, b));
                let settled =
                    offsite::settle(remote, pending, &w, created_finding(&w), args.remote_only)
                        .await;
                if settled.kept {
                    done.push(names::GLOBALS_DIR.to_string());
                }
                report.extend(settled.findings);
            }
            // The same subject as a written one (its directory), so the series is one.
            Err(e) => report.push(
                Finding::new("backup.globals", Status::Critical, one_line(&e))
                    .subject(names::GLOBALS_DIR)
                    .hint(
                        "roles and tablespaces were not saved; a restore onto a new server needs them",
                    ),
            ),
        }
    }

    if policy.is_set() && !done.is_empty() {
        let cat = catalog::scan(&dir, None)?;
        report.extend(cat.findings());
        let entries: Vec<Entry> = cat
            .entries
            .into_iter()
            .filter(|e| done.contains(&e.manifest.database))
            .collect();
        let planned = retention::plan_checked(
            &entries,
            policy,
            crate::timefmt::unix(SystemTime::now()),
            &mut retention::checksum_now,
        );
        report.extend(planned.findings());
        let removed = planned.removed;
        if removed.is_empty() {
            report.push(Finding::ok(
                "backup.retention",
                format!("nothing to remove ({})", policy.describe()),
            ));
        } else if !args.yes && !crate::confirm::interactive() {
            report.push(
                Finding::new(
                    "backup.retention",
                    Status::Warning,
                    format!(
                        "retention skipped: {} old backup(s) would be removed, which needs --yes when not on a terminal",
                        removed.len()
                    ),
                )
                .hint("add --yes to the cron entry, or run `opsbook backup prune --dry-run` to see them"),
            );
        } else {
            let plan: Vec<String> = removed
                .iter()
                .map(|e| format!("remove {}", e.id()))
                .collect();
            crate::confirm::typed(
                &format!("retention ({})", policy.describe()),
                &plan,
                "prune",
                args.yes,
            )?;
            report.extend(retention::remove_entries(&removed)?);
        }
    }
    Ok(report)
}

/// report` (a failure to record is a warning, never the backup's error).
fn record(ctx: &Ctx, command: &str, values: std::collections::BTreeMap<String, f64>) {
    let dir = ctx.state_dir();
    let mut history = crate::state::History::default();
    history.record_or_warn(&dir, command, values, crate::state::now_secs());
}

async fn verify_cmd(
    what: &str,
    restore_test: bool,
    jobs: u32,
    dir: &Path,
    remote_name: Option<&str>,
    ctx: &Ctx,
) -> anyhow::Result<Report> {
    let mut report = Report::new("backup verify");
    // A remote copy is downloaded and decrypted into a private directory (removed when
    // `_download` drops) and from there checked exactly like a local backup.
    let mut _download = None;
    let entry = match remote_name {
        Some(name) => {
            let (bucket, enc) =
                remote::open(&ctx.config.remotes, name, ctx.config.timeouts.connect.0)?;
            let listing = remote::list(&bucket, None).await?;
            let record = remote::fetch::find(&listing, what, connection_db(ctx).as_deref())?;
            let d = remote::fetch::download(&bucket, record, enc.as_ref(), dir).await?;
            let entry = d.entry.clone();
            _download = Some(d);
            entry
        }
        None => {
            let (entry, refused) = catalog::find(dir, what, connection_db(ctx).as_deref())?;
            report.extend(refused.iter().map(|r| r.finding()));
            entry
        }
    };
    let id = entry.id().to_string();
    let phase = crate::progress::Phase::start(
        &ctx.output,
        format!("verifying {id}: sha256 and pg_restore --list"),
    );
    if entry.manifest.kind == crate::backup::redis::KIND {
        phase.finish();
        redis::verify_entry(&entry, restore_test, &mut report).await?;
        return Ok(report);
    }
    let checked = verify::check(&entry).await;
    phase.finish();
    match checked {
        Ok(v) => {
            report.push(
                Finding::ok(
                    "backup.verify",
                    format!(
                        "{id}: sha256 matches the manifest, pg_restore reads its table of contents ({} entries, {} with table data)",
                        v.toc_entries, v.table_data
                    ),
                )
                .subject(id.clone())
                .value(entry.manifest.bytes, "bytes"),
            );
            if !entry.manifest.verified {
                let mut m = entry.manifest.clone();
                m.verified = true;
                m.verified_at = Some(crate::timefmt::rfc3339(SystemTime::now()));
                m.save(&entry.manifest_path)?;
            }
        }
        Err(e) => {
            report.push(
                Finding::new("backup.verify", Status::Critical, one_line(&e))
                    .subject(id.clone())
                    .hint("do not restore from this backup; use an older one (`opsbook backup list`) and check the disk"),
            );
            return Ok(report);
        }
    }
    if restore_test {
        if entry.manifest.kind != "database" {
            report.push(Finding::new(
                "backup.restore_test",
                Status::Unknown,
                format!(
                    "{id} is a globals file (SQL), not a database archive: nothing to restore-test"
                ),
            ));
            return Ok(report);
        }
        let interrupt = Interrupt::install()?;
        let outcome = restore_test::run(
            crate::sandbox::scratch_cluster,
            &entry,
            jobs,
            ctx.timeouts(),
            crate::render::show_progress(&ctx.output),
            &interrupt,
        )
        .await;
        let f = match outcome {
            Ok(o) if o.differences.is_empty() => Finding::ok(
                "backup.restore_test",
                format!(
                    "{id} restored into a throwaway PostgreSQL {} cluster in {}: all {} tables match the manifest ({} rows)",
                    o.server_version.split_whitespace().next().unwrap_or(""),
                    took(o.restore_ms as f64 / 1000.0),
                    o.tables,
                    o.rows
                ),
            )
            .value(o.rows, "rows"),
            Ok(o) => Finding::new(
                "backup.restore_test",
                Status::Critical,
                format!(
                    "{id} restored, but {} table(s) differ from the manifest",
                    o.differences.len()
                ),
            )
            .detail(o.differences)
            .hint("the archive does not hold what the manifest promised: do not rely on it"),
            // An interrupted test says nothing about the backup either way.
            Err(e) if crate::interrupt::is_interrupted(&e) => Finding::new(
                "backup.restore_test",
                Status::Unknown,
                format!("{id}: the restore test was interrupted ({}); the backup was neither proven nor disproven", one_line(&e)),
            )
            .hint("the throwaway cluster was removed; run `opsbook backup verify --restore-test` again to prove the backup"),
            // opsbook's own cluster failed: the backup was neither proven nor disproven.
            Err(e) if restore_test::is_scratch_failure(&e) => Finding::new(
                "backup.restore_test",
                Status::Unknown,
                format!("{id}: the restore test could not run: {}", one_line(&e)),
            )
            .hint("the backup itself passed the checks above; the throwaway cluster is opsbook's own (initdb + pg_ctl under the temp directory, removed afterwards): check that the PostgreSQL server binaries are installed (apt-get install postgresql) and the temp directory has room, then run the test again"),
            Err(e) => Finding::new("backup.restore_test", Status::Critical, one_line(&e))
                .hint("pg_restore could not restore it into an empty cluster: if the message names an extension or role this machine lacks, install it here and test again; otherwise do not rely on this backup and take a new one"),
        };
        // Passed 1, failed 0; an interrupted test proved nothing and is not recorded.
        let passed = match f.status {
            Status::Ok => Some(1.0),
            Status::Critical => Some(0.0),
            _ => None,
        };
        if let Some(passed) = passed {
            let key = format!("backup.restore_test/{}", entry.manifest.database);
            record(ctx, "backup verify", [(key, passed)].into_iter().collect());
        }
        report.push(f.subject(id));
    }
    Ok(report)
}
