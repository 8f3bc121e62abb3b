//! `opsbook pitr setup|backup|status`: point-in-time recovery through pgBackRest. opsbook
//! writes the stanza's config, sets archiving up on the server, drives backups and reads
//! their state; the recovery itself is `opsbook restore --to`. The work is in `crate::pitr`.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};

use crate::context::Ctx;
use crate::pitr::{self, archiver, info, pgbackrest, setup, Stanza};
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
    ids: &["pitr.backup", "pitr.backups", "pitr.archive"],
};

/// Every finding id `pitr status` emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const STATUS_FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "pitr status",
    page: "commands/pitr.md",
    ids: &["pitr.backups", "pitr.archive", "pitr.archiver"],
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
        after_help = format!("{}{}{}", "Examples:\n  opsbook pitr setup                               # stanza main, repository /var/lib/pgbackrest\n  opsbook pitr setup --stanza app --repo /srv/pgbackrest --yes\n\n\
archive_mode needs a restart of PostgreSQL: opsbook prints the command; run setup again after it to check archiving.\n\
An S3 repository is configured in the written pgBackRest config by hand for now.\n\
", SETUP_FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING (restart needed), 2 CRITICAL (a step failed), 3 UNKNOWN (usage, not confirmed). See commands/pitr.md.")
    )]
    Setup(SetupArgs),
    /// Take a pgBackRest backup (full, diff or incr) and show the stanza's backups
    #[command(
        after_help = format!("{}{}{}", "Examples:\n  opsbook pitr backup --type full\n  opsbook pitr backup                              # incremental (full when there is none)\n\n\
", BACKUP_FINDING_IDS.help(), "\n\
Exit status: 0 OK, 2 CRITICAL (the backup failed), 3 UNKNOWN. See commands/pitr.md.")
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

    /// Full backups to keep (repo1-retention-full)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=9999))]
    pub retention_full: u32,

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

fn need_pgbackrest(what: &str) -> anyhow::Result<()> {
    if !pgbackrest::installed() {
        bail!(
            "{what}: pgbackrest is not installed; nothing was changed\n{}",
            pgbackrest::HINT_INSTALL
        );
    }
    Ok(())
}

async fn setup_run(args: &SetupArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    need_pgbackrest("pitr setup")?;
    let stanza = args.stanza.resolve(ctx);
    setup::validate(&stanza, &args.repo)?;
    let pg = ctx.pg().await?;
    let server = setup::observe(pg).await?;
    crate::confirm::typed(
        &format!(
            "pitr setup of stanza {} on {}",
            stanza.name,
            pg.options.display_url()
        ),
        &setup::plan(&stanza, &args.repo, &server),
        &stanza.name,
        args.yes,
    )?;
    let mut report = Report::new("pitr setup");
    let text = setup::conf_text(&stanza, &args.repo, &server, args.retention_full);
    setup::write_files(&stanza, &args.repo, &text)?;
    report.push(
        Finding::ok(
            "pitr.config",
            format!("wrote {} (repository {})", stanza.conf.display(), args.repo.display()),
        )
        .subject(&stanza.name)
        .hint(format!(
            "add to opsbook's config so check morning and monitor watch the archiver: pitr: {{stanza: {}, config: {}}}",
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
    let findings =
        tokio::task::spawn_blocking(move || setup::create_and_check(&st, mode_on, &data_dir))
            .await?;
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
    let mut report = Report::new("pitr backup");
    let st = stanza.clone();
    let started = std::time::Instant::now();
    let done = tokio::task::spawn_blocking(move || {
        pgbackrest::run(&st, &[format!("--type={kind}")], "backup")
    })
    .await?;
    let secs = started.elapsed().as_secs_f64();
    report.push(match done {
        Ok(_) => Finding::ok(
            "pitr.backup",
            format!("{kind} backup of stanza {} taken in {}", stanza.name, crate::render::human_duration(secs)),
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
