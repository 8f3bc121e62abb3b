//! `opsbook pitr setup|backup|status`: point-in-time recovery through pgBackRest. opsbook
//! writes the stanza's config, sets archiving up on the server, drives backups and reads
//! their state; the recovery itself is `opsbook restore --to`. The work is in `crate::pitr`.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};

use crate::config::remotes::Remote;
use crate::context::Ctx;
use crate::pitr::{self, archiver, info, pgbackrest, s3repo, setup, Stanza};
use crate::report::{Finding, Report, Status};

/// Every finding id `pitr setup` emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const SETUP_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "pitr setup",
    page: "commands/pitr.md",
    ids: &[
        "pitr.config",
        "pitr.settings",
        "pitr.stanza",
        "pitr.restart",
        "pitr.check",
    ],
};

/// Every finding id `pitr backup` emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const BACKUP_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "pitr backup",
    page: "commands/pitr.md",
    ids: &["pitr.backup", "pitr.backups", "pitr.archive", "pitr.repo"],
};

/// Every finding id `pitr status` emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const STATUS_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "pitr status",
    page: "commands/pitr.md",
    ids: &["pitr.backups", "pitr.archive", "pitr.repo", "pitr.archiver"],
};

/// Set up, back up and check point-in-time recovery through pgBackRest
#[derive(Debug, Args)]
pub struct PitrArgs {
    #[command(subcommand)]
    pub which: PitrCommand,
}

#[derive(Debug, Subcommand)]
pub enum PitrCommand {
    /// Write the pgBackRest stanza config, turn WAL archiving on (ALTER SYSTEM), create and check the stanza
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook pitr setup                               # stanza main, repository /var/lib/pgbackrest\n  opsbook pitr setup --stanza app --repo /srv/pgbackrest --yes\n  opsbook pitr setup --remote offsite --yes        # + remotes.offsite as repo2 (S3)\n\n\
archive_mode needs a restart of PostgreSQL: opsbook prints the command; run setup again after it to check archiving.\n\
--remote NAME (or pitr.remote) adds remotes.NAME as the S3 repository repo2: https only,\n\
its keys in the stanza config (then 0600), an encrypted remote through pgBackRest's\n\
aes-256-cbc with its passphrase_file (age recipients are refused).\n\
", SETUP_FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING (restart needed), 2 CRITICAL (a step failed), 3 UNKNOWN (usage, not confirmed). See commands/pitr.md.")
    )]
    Setup(SetupArgs),
    /// Take a pgBackRest backup (full, diff or incr) and show the stanza's backups
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook pitr backup --type full\n  opsbook pitr backup                              # incremental (full when there is none)\n  opsbook pitr backup --type full --remote offsite # into its S3 repository (repo2)\n\n\
", BACKUP_FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING (a repository has no backup yet), 2 CRITICAL (the backup\n\
failed), 3 UNKNOWN. See commands/pitr.md.")
    )]
    Backup(BackupArgs),
    /// Show the backups, the archived WAL range and the server's archiver (pg_stat_archiver)
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook pitr status\n  opsbook pitr status --format nagios\n\n\
", STATUS_FINDING_IDS.help(), "\n\
Thresholds: backup_age (the newest pgBackRest backup). A failing archive_command is CRITICAL.\n\
Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See commands/pitr.md.")
    )]
    Status(StatusArgs),
}

/// Which stanza: flags, else the config's `pitr:` section, else `main`.
#[derive(Debug, Args, Clone)]
pub struct StanzaArgs {
    /// The pgBackRest stanza (default: config `pitr.stanza`, else main)
    #[arg(long, value_name = "NAME")]
    pub stanza: Option<String>,

    /// The pgBackRest config file opsbook writes and reads (default: config `pitr.config`, else /etc/pgbackrest/opsbook-<stanza>.conf)
    #[arg(long, value_name = "PATH")]
    pub pgbackrest_config: Option<PathBuf>,
}

impl StanzaArgs {
    pub fn resolve(&self, ctx: &Ctx) -> Stanza {
        let configured = ctx.config.pitr.as_ref();
        let name = self
            .stanza
            .clone()
            .or_else(|| configured.map(|p| p.stanza.clone()))
            .unwrap_or_else(|| "main".to_string());
        let conf = self
            .pgbackrest_config
            .clone()
            .or_else(|| configured.map(|p| p.config.clone()))
            .unwrap_or_else(|| pitr::default_conf(&name));
        Stanza { name, conf }
    }
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub stanza: StanzaArgs,

    /// The local repository directory (owned by the PostgreSQL account)
    #[arg(long, value_name = "PATH", default_value = "/var/lib/pgbackrest")]
    pub repo: PathBuf,

    /// Full backups to keep (repo1-retention-full, and repo2's with --remote)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=9999))]
    pub retention_full: u32,

    /// Add this remote (remotes.NAME, https) as the S3 repository repo2: WAL is archived to both (default: config pitr.remote)
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    /// The remote's S3 repository is the only one (repo1), for hosts without room for a local
    /// repository; --repo then holds only pgBackRest's logs and locks
    #[arg(long)]
    pub remote_only: bool,

    /// Go ahead without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackupType {
    Full,
    Diff,
    Incr,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub stanza: StanzaArgs,

    /// full copies everything; diff what changed since the last full; incr since the last backup
    #[arg(long = "type", value_enum, default_value_t = BackupType::Incr)]
    pub kind: BackupType,

    /// Back up into the S3 repository of this remote (`pitr setup --remote NAME`) instead of the local one
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub stanza: StanzaArgs,
}

impl PitrArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            PitrCommand::Setup(_) => "setup",
            PitrCommand::Backup(_) => "backup",
            PitrCommand::Status(_) => "status",
        }
    }
}

pub async fn run(args: &PitrArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        PitrCommand::Setup(a) => setup_run(a, ctx).await,
        PitrCommand::Backup(a) => backup_run(a, ctx).await,
        PitrCommand::Status(a) => status_run(a, ctx).await,
    }
}

/// `remotes.NAME`, or an error naming the operation.
fn remote<'a>(ctx: &'a Ctx, what: &str, name: &str) -> anyhow::Result<&'a Remote> {
    ctx.config.remotes.get(name).ok_or_else(|| {
        let known: Vec<&str> = ctx.config.remotes.keys().map(String::as_str).collect();
        anyhow::anyhow!(
            "{what} --remote {name}: no remotes.{name} in the config; nothing was changed\nhint: configured remotes: {}; add one under remotes: (see commands/pitr.md)",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )
    })
}

/// The number of the stanza's repository that holds `remotes.NAME` (`pitr setup --remote
/// NAME` wrote it): pgBackRest's `--repo=N`.
pub fn repo_for_remote(stanza: &Stanza, ctx: &Ctx, what: &str, name: &str) -> anyhow::Result<u8> {
    let r = remote(ctx, what, name)?;
    let text = crate::bounded_read::read_text(&stanza.conf, "the pgBackRest config", 1 << 20)
        .map_err(|e| anyhow::anyhow!("{what} --remote {name}: {e:#}\nhint: set the stanza up with `opsbook pitr setup --remote {name}`"))?;
    match s3repo::repo_of(&text, r) {
        Some(n) => Ok(n),
        None => bail!(
            "{what} --remote {name}: the stanza config {} has no S3 repository for bucket {} path {}; nothing was changed\nhint: add it with `opsbook pitr setup --remote {name}`",
            stanza.conf.display(),
            r.bucket,
            s3repo::repo_path(r)
        ),
    }
}

fn need_pgbackrest(what: &str) -> anyhow::Result<()> {
    if !pgbackrest::installed() {
        bail!(
            "{what}: pgbackrest is not installed; nothing was changed\n{}",
            pgbackrest::HINT_INSTALL
        );
    }
    Ok(())
}

/// A setup must not silently change the repositories an earlier setup wrote: drop its S3
/// repository, or move it between repo1 (remote-only) and repo2.
fn keeps_the_layout(stanza: &Stanza, s3: Option<&s3repo::S3Repo>) -> anyhow::Result<()> {
    let Ok(text) = crate::bounded_read::read_text(&stanza.conf, "the pgBackRest config", 1 << 20)
    else {
        return Ok(());
    };
    let Some((n, name)) = s3repo::configured_remote(&text) else {
        return Ok(());
    };
    let conf = stanza.conf.display();
    match s3 {
        None => bail!(
            "pitr setup: {conf} has an S3 repository (repo{n}, remotes.{name}) and no remote was named: rewriting it would drop that repository; nothing was changed\nhint: pass --remote {name}{} (or set pitr.remote: {name} in opsbook's config); to drop it, remove the file first",
            if n == 1 { " --remote-only" } else { "" }
        ),
        Some(r) if r.index != n => bail!(
            "pitr setup: {conf} has remotes.{name} as repo{n} ({}); this setup would make remotes.{} repo{} ({}); nothing was changed\nhint: {} to keep the layout; to change it, remove the file first (and the stanza's repositories if they must start over)",
            if n == 1 { "the only repository" } else { "beside the local repo1" },
            r.remote,
            r.index,
            if r.index == 1 { "the only repository" } else { "beside a local repo1" },
            if n == 1 { "add --remote-only" } else { "leave out --remote-only" }
        ),
        Some(_) => Ok(()),
    }
}

async fn setup_run(args: &SetupArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    need_pgbackrest("pitr setup")?;
    let stanza = args.stanza.resolve(ctx);
    setup::validate(&stanza, &args.repo)?;
    let remote_name = args
        .remote
        .clone()
        .or_else(|| ctx.config.pitr.as_ref().and_then(|p| p.remote.clone()));
    let s3 = match &remote_name {
        Some(name) => {
            let mut r = s3repo::resolve(name, remote(ctx, "pitr setup", name)?)?;
            if args.remote_only {
                r.index = 1;
            }
            Some(r)
        }
        None if args.remote_only => bail!("pitr setup --remote-only: which remote? nothing was changed\nhint: pass --remote NAME (or set pitr.remote in opsbook's config)"),
        None => None,
    };
    keeps_the_layout(&stanza, s3.as_ref())?;
    let pg = ctx.pg().await?;
    let server = setup::observe(pg).await?;
    crate::confirm::typed(
        &format!(
            "pitr setup of stanza {} on {}",
            stanza.name,
            pg.options.display_url()
        ),
        &setup::plan(&stanza, &args.repo, &server, s3.as_ref()),
        &stanza.name,
        args.yes,
    )?;
    let mut report = Report::new("pitr setup");
    let text = setup::conf_text(
        &stanza,
        &args.repo,
        &server,
        args.retention_full,
        s3.as_ref(),
    );
    setup::write_files(&stanza, &args.repo, &text, setup::conf_mode(s3.as_ref()))?;
    let remote_key = remote_name
        .as_ref()
        .map(|n| format!(", remote: {n}"))
        .unwrap_or_default();
    report.push(
        Finding::ok(
            "pitr.config",
            match &s3 {
                None => format!("wrote {} (repository {})", stanza.conf.display(), args.repo.display()),
                Some(r) if r.index == 1 => format!(
                    "wrote {} (the only repository: S3 repo1, bucket {} path {}; logs and locks in {})",
                    stanza.conf.display(), r.bucket, r.path, args.repo.display()
                ),
                Some(r) => format!(
                    "wrote {} (repository {}; S3 repository repo{}: bucket {} path {})",
                    stanza.conf.display(), args.repo.display(), r.index, r.bucket, r.path
                ),
            },
        )
        .subject(&stanza.name)
        .hint(format!(
            "add to opsbook's config so check morning and monitor watch the archiver: pitr: {{stanza: {}, config: {}{remote_key}}}",
            stanza.name,
            stanza.conf.display()
        )),
    );
    setup::apply_settings(pg, &stanza).await?;
    report.push(
        Finding::ok(
            "pitr.settings",
            format!(
                "archive_mode = on, archive_command = '{}' (ALTER SYSTEM, reloaded)",
                setup::archive_command(&stanza)
            ),
        )
        .subject(&stanza.name),
    );
    let mode_on = server.archive_mode != "off";
    let data_dir = server.data_dir.clone();
    let st = stanza.clone();
    let phase = crate::progress::Phase::start(
        &ctx.output,
        format!(
            "pgbackrest stanza-create and check (stanza {})",
            stanza.name
        ),
    );
    let findings =
        tokio::task::spawn_blocking(move || setup::create_and_check(&st, mode_on, &data_dir))
            .await?;
    phase.finish();
    report.extend(findings.into_iter().map(|f| f.subject(&stanza.name)));
    Ok(report)
}

fn max_age(ctx: &Ctx) -> f64 {
    ctx.config
        .thresholds
        .backup_age
        .critical
        .map(|s| s.as_secs_f64())
        .unwrap_or(86_400.0)
}

async fn info_findings(stanza: &Stanza, ctx: &Ctx) -> anyhow::Result<Vec<Finding>> {
    let st = stanza.clone();
    let json = tokio::task::spawn_blocking(move || pgbackrest::info(&st)).await??;
    let parsed = info::parse(&json, &stanza.name)?;
    Ok(info::findings(
        &parsed,
        &stanza.name,
        crate::state::now_secs(),
        max_age(ctx),
    ))
}

async fn backup_run(args: &BackupArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    need_pgbackrest("pitr backup")?;
    let stanza = args.stanza.resolve(ctx);
    let kind = match args.kind {
        BackupType::Full => "full",
        BackupType::Diff => "diff",
        BackupType::Incr => "incr",
    };
    let mut pb_args = vec![format!("--type={kind}")];
    let mut into = String::new();
    if let Some(name) = &args.remote {
        let n = repo_for_remote(&stanza, ctx, "pitr backup", name)?;
        into = format!(" into repo{n} (remote {name})");
        pb_args.push(format!("--repo={n}"));
    }
    let mut report = Report::new("pitr backup");
    let st = stanza.clone();
    let started = std::time::Instant::now();
    let phase = crate::progress::Phase::start(
        &ctx.output,
        format!("pgbackrest backup --type={kind}{into}"),
    );
    let done =
        tokio::task::spawn_blocking(move || pgbackrest::run(&st, &pb_args, "backup")).await?;
    phase.finish();
    let secs = started.elapsed().as_secs_f64();
    report.push(match done {
        Ok(_) => Finding::ok(
            "pitr.backup",
            format!("{kind} backup of stanza {}{into} taken in {}", stanza.name, crate::render::human_duration(secs)),
        )
        .value_f64(secs, "seconds"),
        Err(e) => Finding::new("pitr.backup", Status::Critical, crate::report::one_line(&e))
            .hint("`opsbook pitr status` shows the archiver; pgBackRest's log is under the repository's log/"),
    }
    .subject(&stanza.name));
    report.extend(info_findings(&stanza, ctx).await?);
    Ok(report)
}

async fn status_run(args: &StatusArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    need_pgbackrest("pitr status")?;
    let stanza = args.stanza.resolve(ctx);
    let mut report = Report::new("pitr status");
    report.extend(info_findings(&stanza, ctx).await?);
    report.extend(archiver::probe(ctx, &stanza.name).await);
    Ok(report)
}
