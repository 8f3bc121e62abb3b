//! `opsbook targets ...`: the inventory of a stack (`targets:` in the config).
//! `discover` prints the members an HA engine knows as a `targets:` section.

pub mod discover;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::report::Report;

/// Work with the inventory of targets (`targets:` in the config)
#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(subcommand)]
    pub which: TargetsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Print the members Patroni or a Sentinel knows as a `targets:` section to paste
    #[command(after_help = discover::after_help())]
    Discover(discover::DiscoverArgs),
}

impl TargetsArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            TargetsCommand::Discover(_) => "discover",
        }
    }
}

pub async fn run(args: &TargetsArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        TargetsCommand::Discover(a) => discover::run(a, ctx).await,
    }
}
