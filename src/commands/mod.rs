//! One module per command: its clap Args and a thin `run` over the domain modules.
//! `cli::dispatch` is the one match from the clap tree to these.

pub mod backup;
pub mod bench;
pub mod check;
pub mod cluster;
pub mod completions;
pub mod config;
pub mod diagnose;
pub mod generate;
pub mod monitor;
pub mod pitr;
pub mod replica;
pub mod replica_setup;
pub mod report;
pub mod restore;
pub mod runbook;
pub mod sandbox;
pub mod targets;
