//! `opsbook targets ...`: the inventory of a stack (`targets:` in the config) that
//! `--target NAME|GROUP` and `--all` select from (the fan-out itself is `fleet`'s). `list` shows
//! it; `discover` prints the members an HA engine knows as a `targets:` section.

pub mod discover;
pub mod list;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::report::Report;

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!(
        "{}{}",
        crate::fleet::FINDING_IDS.help(),
        "\n\n\
Examples:\n  opsbook targets list\n  opsbook targets discover --from pg-a\n  opsbook check morning --all\n  opsbook check morning --target db --format json\n\n\
Exit status: 0 OK, 1 WARNING (no targets in the config), 3 UNKNOWN (bad config). See commands/targets.md."
    )
}

/// Work with the inventory of targets (`targets:` in the config) that --target and --all select
#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(subcommand)]
    pub which: TargetsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Every target (name, kind, address with secrets masked, groups, Patroni API) and group
    List(list::ListArgs),
    /// Print the members Patroni or a Sentinel knows as a `targets:` section to paste
    #[command(after_help = discover::after_help())]
    Discover(discover::DiscoverArgs),
}

impl TargetsArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            TargetsCommand::List(_) => "list",
            TargetsCommand::Discover(_) => "discover",
        }
    }
}

pub async fn run(args: &TargetsArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        TargetsCommand::List(a) => Ok(list::run(a, ctx)),
        TargetsCommand::Discover(a) => discover::run(a, ctx).await,
    }
}
