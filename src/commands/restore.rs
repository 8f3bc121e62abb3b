//! `opsbook restore`: verify the archive, restore it into a new database, prove every table's
//! row count against the manifest, and only then swap it in for the target, keeping the old
//! database under a dated name. Nothing is ever dropped except our own half-restored database.
//! The steps are `backup::restore`; this file is the arguments, choosing a backup on a
//! terminal, and the confirmation.

mod to;

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::bail;
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

use crate::backup::catalog::{self, Entry};
use crate::backup::remote;
use crate::backup::restore::{self, Request};
use crate::clients::host;
use crate::commands::backup::{backup_dir, connection_db, DirArgs};
use crate::context::Ctx;
use crate::render::{human_bytes, human_duration};
use crate::report::Report;

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
        "backup.manifest_refused",
        "restore.redis",
        "restore.redis_keys",
        "pitr.restore",
        "pitr.target",
        "pitr.promote",
        "pitr.hand_back",
        "pitr.rehearsal",
    ],
};

/// Restore a backup into a new database, prove it complete, then swap it in
#[derive(Debug, Args)]
#[command(
    after_help = format!("{}{}{}", "Examples:\n  opsbook restore                                  # on a terminal: choose, read the plan, type the name\n  opsbook restore app/latest --yes --stop-service app-bot\n  opsbook restore app/20261123T010000Z --into app_copy --yes\n  opsbook restore app/latest --dry-run\n  opsbook restore --to '2026-12-05 09:59:00+00' --hand-back   # point in time, through pgBackRest\n  opsbook restore --rehearse                       # a measured recovery drill, then removed\n\n\
The plan: verify the archive -> create <target>__restore_<ts> -> pg_restore into it -> compare every \
table's row count with the manifest -> stop the services -> end the target's sessions and rename it to \
<target>__pre_restore_<ts> -> rename the restored database to <target> -> start the services. The old \
database is kept. Any failure before the swap leaves the target untouched.\n\n\
", FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING (leftovers of an earlier run), 2 CRITICAL (a step failed or a signal stopped it; see which), 3 UNKNOWN (usage, not confirmed, lock held).\n\
See commands/restore.md.")
)]
pub struct RestoreArgs {
    /// A backup id (app/20261123T010000Z), app/latest, latest (the newest of the connection's
    /// database) or an archive path; on a terminal, leave it out to choose from the list
    #[arg(value_name = "ID|PATH", add = ArgValueCandidates::new(crate::completion::backup_ids))]
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

    /// Restore a Redis snapshot (_redis/<stamp> or latest): place its RDB as the server's
    /// dir/dbfilename for a restart; the server is --redis URL
    #[arg(long = "rdb", conflicts_with_all = ["db", "into", "stop_service"])]
    pub rdb: bool,

    /// With --rdb, after the restart: compare the server's keys per database with the snapshot
    #[arg(long, requires = "rdb")]
    pub check: bool,

    #[command(flatten)]
    pub dir: DirArgs,

    /// Restore the copy on this remote (remotes.NAME): downloaded and decrypted into a private
    /// directory under the backup directory first (removed afterwards); with --rdb, a Redis
    /// snapshot's copy; with --to or --rehearse: recover from the remote's pgBackRest
    /// repository (`pitr setup --remote`)
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    #[command(flatten)]
    pub pitr: PitrRestoreArgs,
}

/// Point-in-time recovery through pgBackRest (`opsbook pitr`): into a new data directory,
/// never over the live cluster.
#[derive(Debug, Args)]
#[group(id = "pitr_restore", multiple = true, conflicts_with_all = ["backup", "into", "db", "dry_run", "jobs", "stop_service", "rdb", "check"])]
pub struct PitrRestoreArgs {
    /// Recover the pgBackRest stanza to this time ('2026-12-05 09:59:00+00') in a new data directory
    #[arg(long, value_name = "TIME", group = "pitr_target")]
    pub to: Option<String>,

    /// Recover to this WAL location (0/3000060)
    #[arg(long, value_name = "LSN", group = "pitr_target")]
    pub to_lsn: Option<String>,

    /// Recover to this transaction id
    #[arg(long, value_name = "XID", group = "pitr_target")]
    pub to_xid: Option<String>,

    /// Recover to this restore point (pg_create_restore_point)
    #[arg(long, value_name = "NAME", group = "pitr_target")]
    pub to_name: Option<String>,

    /// At the target: end recovery and run it as a primary beside the live cluster (asks; --yes)
    #[arg(long, conflicts_with_all = ["hand_back", "rehearse"])]
    pub promote: bool,

    /// At the target: stop it and print its data directory
    #[arg(long, conflicts_with = "rehearse")]
    pub hand_back: bool,

    /// A measured recovery drill in a throwaway directory, removed afterwards (default target: the newest backup)
    #[arg(long)]
    pub rehearse: bool,

    /// The new data directory (must not exist or be empty; default: beside the stanza's pg1-path)
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// Seconds to wait for recovery to reach its target
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub wait: u64,

    #[command(flatten)]
    pub stanza: crate::commands::pitr::StanzaArgs,
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

pub async fn run(args: &RestoreArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    if let Some(target) = to::target(args) {
        return to::run(args, target, ctx).await;
    }
    if let (Some(name), None) = (&args.remote, &args.backup) {
        bail!("restore --remote {name}: which backup? give its id (app/latest), or --to TIME / --rehearse to recover from the remote's pgBackRest repository; nothing was changed\nhint: `opsbook backup list --remote {name}` shows the backups");
    }
    let p = &args.pitr;
    if p.promote || p.hand_back || p.data_dir.is_some() {
        bail!("restore: --promote, --hand-back and --data-dir go with a point-in-time target (--to, --to-lsn, --to-xid, --to-name) or --rehearse");
    }
    let mut report = Report::new("restore");
    let dir: PathBuf = backup_dir(&args.dir, ctx);
    let tty = crate::confirm::interactive();
    if args.rdb {
        let req = crate::commands::backup::redis::RestoreRequest {
            backup: args.backup.as_deref(),
            dir: &dir,
            remote: args.remote.as_deref(),
            check: args.check,
            yes: args.yes,
            dry_run: args.dry_run,
        };
        return crate::commands::backup::redis::restore(req, ctx).await;
    }
    if !args.yes && !args.dry_run && !tty {
        bail!("restore: refusing to run without confirmation when not on a terminal; nothing was changed\nhint: pass --yes (after a --dry-run to read the plan), or run it on a terminal");
    }
    if !args.stop_service.is_empty() {
        if let Some(why) = host::systemd_unavailable() {
            bail!("restore: --stop-service needs systemd: {why}; nothing was changed\nhint: stop the services another way and run without --stop-service");
        }
    }
    // Kept until the restore is done: the downloaded archive lives in it.
    let mut _download = None;
    let (entry, refused) = match (&args.backup, &args.remote) {
        (Some(w), Some(name)) => {
            let (bucket, enc) = remote::open(&ctx.config.remotes, name, ctx.config.timeouts.connect.0)?;
            let listing = remote::list(&bucket, None).await?;
            let record = remote::fetch::find(&listing, w, connection_db(ctx).as_deref())?;
            if let (true, Some(r)) = (record.manifest.kind == "globals", ctx.config.remotes.get(name)) {
                bail!("restore: {} is the globals file (roles, tablespaces), not a database archive; nothing was changed\nhint: apply it as a superuser: {}", record.id(), remote::fetch::globals_by_hand(r, &bucket, record));
            }
            let d = remote::fetch::download(&bucket, record, enc.as_ref(), &dir).await?;
            let entry = d.entry.clone();
            _download = Some(d);
            (entry, vec![])
        }
        (Some(w), None) => catalog::find(&dir, w, connection_db(ctx).as_deref())?,
        (None, _) if tty => (choose(&dir, args.db.as_deref())?, vec![]),
        (None, _) => bail!("restore: which backup? give an id (app/latest) or a path\nhint: `opsbook backup list` shows them"),
    };
    if entry.manifest.kind == crate::backup::redis::KIND {
        bail!("restore: {} is a Redis snapshot, not a database backup; nothing was changed\nhint: `opsbook restore --rdb {}`", entry.id(), entry.id());
    }
    report.extend(refused.iter().map(|r| r.finding()));
    let req = Request {
        entry,
        dir,
        db: args.db.clone(),
        into: args.into.clone(),
        jobs: args.jobs,
        stop_service: args.stop_service.clone(),
    };
    let prepared = restore::prepare(req, ctx).await?;
    if args.dry_run {
        return Ok(prepared.dry_run(report).await);
    }
    crate::confirm::typed(
        prepared.action(),
        prepared.plan(),
        prepared.target(),
        args.yes,
    )?;
    prepared.execute(report, ctx).await
}
