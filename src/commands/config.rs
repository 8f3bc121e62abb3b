//! `opsbook config show|check`: the effective configuration, and validation of a file.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config;
use crate::context::Ctx;
use crate::report::{Finding, Report, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "config",
    page: "commands/config.md",
    ids: &[
        "config.valid",
        "config.secret_readable (a secret others can read: the file with an inline one, or a secret file it names)",
    ],
};

/// Show the effective configuration or validate a config file
#[derive(Debug, Args)]
#[command(after_help = FINDING_IDS.help())]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub which: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (file, environment and flags applied; secrets masked)
    Show,
    /// Validate a config file: syntax, unknown keys, types, thresholds, secret file modes
    Check {
        /// The file to validate
        path: PathBuf,
    },
}

impl ConfigArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            ConfigCommand::Show => "show",
            ConfigCommand::Check { .. } => "check",
        }
    }

    /// `config check` validates its own argument; a broken --config must not stop it.
    pub fn needs_config(&self) -> bool {
        matches!(self.which, ConfigCommand::Show)
    }
}

pub fn run(args: &ConfigArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        ConfigCommand::Show => show(ctx),
        ConfigCommand::Check { path } => check(path),
    }
}

fn show(ctx: &Ctx) -> anyhow::Result<Report> {
    let mut effective = ctx.config.masked();
    // Show what this run would really use, not only what the file says.
    let pg = ctx.pg_options();
    if let Ok(opts) = &pg {
        effective.postgres.url = Some(opts.display_url());
    }
    effective.redis.url = Some(crate::redact::mask_url(&ctx.redis_url()?));
    let t = ctx.timeouts();
    effective.timeouts.connect = config::Span(t.connect);
    effective.timeouts.statement = config::Span(t.statement);
    let state_dir = ctx.state_dir();
    effective.state_dir = Some(state_dir.clone());

    let mut report = Report::new("config show");
    let password = match &pg {
        Ok(o) => o.password_source(),
        Err(e) => format!("unresolved: {}", crate::report::one_line(e)),
    };
    let mut text = format!(
        "# effective configuration\n# source: {}\n# postgres password: {password}\n",
        ctx.source
    );
    text.push_str(&effective.to_yaml()?);
    report.text = Some(text);
    report.data = Some(serde_json::json!({
        "source": ctx.source.to_string(),
        "postgres_password_source": password,
        "config": serde_json::to_value(&effective)?,
    }));
    Ok(report)
}

/// A file that does not parse or validate is an error (exit 3, `file:line:column`); one that
/// does is checked against the secret rules a run applies, each breach a CRITICAL finding (a
/// run would refuse the file), so all of them show at once.
fn check(path: &std::path::Path) -> anyhow::Result<Report> {
    let cfg = config::parse_file(path)?;
    cfg.validate()?;
    let mut report = Report::new("config check");
    let breaches = config::secrets::breaches(path, &cfg);
    if breaches.is_empty() {
        report.push(Finding::ok(
            "config.valid",
            format!("{} is a valid opsbook configuration", path.display()),
        ));
    }
    for b in breaches {
        report.push(
            Finding::new("config.secret_readable", Status::Critical, b.what)
                .subject(b.key)
                .hint(b.hint),
        );
    }
    Ok(report)
}
