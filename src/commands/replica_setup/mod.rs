//! `opsbook replica-setup primary|standby`: streaming replication prepared on the primary
//! (checks, then idempotent changes) and a standby cloned from it.

pub mod primary;
pub mod standby;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::report::Report;

/// Set up streaming replication: prepare the primary, then clone a standby from it
#[derive(Debug, Args)]
pub struct ReplicaSetupArgs {
    #[command(subcommand)]
    pub which: ReplicaSetupCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReplicaSetupCommand {
    /// Check and prepare this primary for a standby at ADDR (settings, role, pg_hba.conf, slot)
    #[command(after_help = primary::after_help())]
    Primary(primary::PrimaryArgs),
    /// Clone a standby from the primary with pg_basebackup and start it streaming
    #[command(after_help = standby::after_help())]
    Standby(standby::StandbyArgs),
}

impl ReplicaSetupArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            ReplicaSetupCommand::Primary(_) => "primary",
            ReplicaSetupCommand::Standby(_) => "standby",
        }
    }
}

pub async fn run(args: &ReplicaSetupArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        ReplicaSetupCommand::Primary(a) => primary::run(a, ctx).await,
        ReplicaSetupCommand::Standby(a) => standby::run(a, ctx).await,
    }
}
