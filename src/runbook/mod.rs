//! YAML runbooks: steps of opsbook commands, validated by the command line's own parser before
//! anything runs, executed in-process over one shared context. `commands::runbook` is the
//! operator's side.

pub mod catalog;
pub mod cron;
pub mod model;
pub mod quote;
pub mod steps;
pub mod systemd;
