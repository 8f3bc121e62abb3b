//! `opsbook diagnose config|locks|memory|network|queries`: the manuals' troubleshooting section as
//! commands that find the cause, each one report with a rich table section.

pub mod config;
pub mod locks;
pub mod memory;
pub mod network;
pub mod queries;

use clap::{Args, Subcommand};

use crate::context::Ctx;
use crate::report::Report;

/// Find the cause: who blocks whom, what leaks memory, where the network is slow, which query needs an index
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    #[command(subcommand)]
    pub which: DiagnoseCommand,
}

#[derive(Debug, Subcommand)]
pub enum DiagnoseCommand {
    /// Size PostgreSQL and Redis memory together; plan, apply and roll back the settings
    #[command(after_help = config::after_help())]
    Config(config::ConfigArgs),
    /// Show the lock blocking tree; cancel or terminate a root blocker
    #[command(after_help = locks::after_help())]
    Locks(locks::LocksArgs),
    /// Sample memory over time and tell a leak from a sawtooth
    #[command(after_help = memory::after_help())]
    Memory(memory::MemoryArgs),
    /// Time HTTP endpoints and TCP connects, count socket states
    #[command(after_help = network::after_help())]
    Network(network::NetworkArgs),
    /// Top statements, index advice and unused indexes from pg_stat_statements
    #[command(after_help = queries::after_help())]
    Queries(queries::QueriesArgs),
}

impl DiagnoseArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            DiagnoseCommand::Config(_) => "config",
            DiagnoseCommand::Locks(_) => "locks",
            DiagnoseCommand::Memory(_) => "memory",
            DiagnoseCommand::Network(_) => "network",
            DiagnoseCommand::Queries(_) => "queries",
        }
    }
}

pub async fn run(args: &DiagnoseArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        DiagnoseCommand::Config(a) => config::run(a, ctx).await,
        DiagnoseCommand::Locks(a) => locks::run(a, ctx).await,
        DiagnoseCommand::Memory(a) => memory::run(a, ctx).await,
        DiagnoseCommand::Network(a) => network::run(a, ctx).await,
        DiagnoseCommand::Queries(a) => queries::run(a, ctx).await,
    }
}
