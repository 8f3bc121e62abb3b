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

/// The refusal when Patroni manages the cluster: members join through Patroni, not by hand.
pub fn patroni_refusal(command: &str, server: &str, m: &crate::ha::managed::Managed) -> String {
    let scope = m.scope.as_deref().unwrap_or("SCOPE");
    format!(
        "{command}: Patroni manages {server} ({}{}); a standby cloned or a primary prepared by hand is one Patroni does not know: it does not follow a switchover, and Patroni rewrites the settings, pg_hba.conf and slots it owns; nothing was changed\n\
hint: add the member through Patroni: install Patroni on the new host with the same scope ({scope}) and DCS (etcd) settings and start it: it clones itself from the leader and streams; then `opsbook cluster status` (see commands/replica-setup.md)",
        m.evidence,
        m.scope
            .as_deref()
            .map(|s| format!(", scope {s}"))
            .unwrap_or_default()
    )
}

pub async fn run(args: &ReplicaSetupArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        ReplicaSetupCommand::Primary(a) => primary::run(a, ctx).await,
        ReplicaSetupCommand::Standby(a) => standby::run(a, ctx).await,
    }
}
