//! One module per command; `dispatch` is the one match from the clap tree to the code.

pub mod backup;
pub mod bench;
pub mod check;
pub mod completions;
pub mod config_cmd;
pub mod diagnose;
pub mod generate;
pub mod monitor;
pub mod replica;
pub mod replica_setup;
pub mod restore;
pub mod runbook;
pub mod sandbox;

use crate::cli::Command;
use crate::context::Ctx;
use crate::report::Report;

pub async fn dispatch(command: &Command, ctx: &Ctx) -> anyhow::Result<Report> {
    match command {
        Command::Check(a) => check::run(a, ctx).await,
        Command::Backup(a) => backup::run(a, ctx).await,
        Command::Restore(a) => restore::run(a, ctx).await,
        Command::Diagnose(a) => diagnose::run(a, ctx).await,
        Command::Bench(a) => bench::run(a, ctx).await,
        Command::Runbook(a) => runbook::run(a, ctx).await,
        Command::ReplicaSetup(a) => replica_setup::run(a, ctx).await,
        Command::Replica(a) => replica::run(a, ctx).await,
        Command::Sandbox(a) => sandbox::run(a, ctx).await,
        Command::Config(a) => config_cmd::run(a, ctx),
        Command::Completions(a) => completions::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Monitor(a) => monitor::run(a, ctx).await,
    }
}
