//! `opsbook diagnose locks|memory|network|queries`: the manuals' troubleshooting section as
//! commands that find the cause, each one report with a rich table section.

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
    /// Show the lock blocking tree; cancel or terminate a root blocker
    #[command(after_help = locks::AFTER_HELP)]
    Locks(locks::LocksArgs),
    /// Sample memory over time and tell a leak from a sawtooth
    #[command(after_help = memory::AFTER_HELP)]
    Memory(memory::MemoryArgs),
    /// Time HTTP endpoints and TCP connects, count socket states
    #[command(after_help = network::AFTER_HELP)]
    Network(network::NetworkArgs),
    /// Top statements, index advice and unused indexes from pg_stat_statements
    #[command(after_help = queries::AFTER_HELP)]
    Queries(queries::QueriesArgs),
}

impl DiagnoseArgs {
    pub fn name(&self) -> &'static str {
        match self.which {
            DiagnoseCommand::Locks(_) => "locks",
            DiagnoseCommand::Memory(_) => "memory",
            DiagnoseCommand::Network(_) => "network",
            DiagnoseCommand::Queries(_) => "queries",
        }
    }
}

pub async fn run(args: &DiagnoseArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    match &args.which {
        DiagnoseCommand::Locks(a) => locks::run(a, ctx).await,
        DiagnoseCommand::Memory(a) => memory::run(a, ctx).await,
        DiagnoseCommand::Network(a) => network::run(a, ctx).await,
        DiagnoseCommand::Queries(a) => queries::run(a, ctx).await,
    }
}

/// One line of SQL or text for a table cell: whitespace collapsed, cut at `max` characters.
pub fn one_line_text(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_text_collapses_and_cuts() {
        assert_eq!(one_line_text("SELECT 1\n  FROM t", 80), "SELECT 1 FROM t");
        assert_eq!(one_line_text("abcdef", 4), "abc…");
    }
}
