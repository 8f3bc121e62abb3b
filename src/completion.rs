//! Run-time shell completion of values that only exist on the host: runbook names and backup
//! ids. clap_complete's static scripts (completions/) cannot know them; its environment-driven
//! engine (`COMPLETE=bash opsbook -- ...`, clap_complete's `unstable-dynamic` feature) asks the
//! binary at each TAB. The candidates read the default config (`$OPSBOOK_CONFIG`, /etc,
//! ~/.config), never a `--config` typed on the same line, and print nothing on error.

use std::path::PathBuf;

use clap_complete::engine::CompletionCandidate;

use crate::config::{self, Config};
use crate::context::process_env;

fn default_config() -> Config {
    config::load(None, &process_env)
        .map(|(cfg, _)| cfg)
        .unwrap_or_default()
}

/// Shipped, installed and configured runbooks, by name.
pub fn runbook_names() -> Vec<CompletionCandidate> {
    let cfg = default_config();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let dirs = crate::runbook::catalog::dirs(&cfg.runbook_dirs, home.as_deref());
    crate::runbook::catalog::list(&dirs)
        .into_iter()
        .map(|f| CompletionCandidate::new(f.name))
        .collect()
}

/// Backup ids in the configured backup directory (newest first), plus `latest` and
/// `<db>/latest` for each database.
pub fn backup_ids() -> Vec<CompletionCandidate> {
    let cfg = default_config();
    let entries = match crate::backup::catalog::list(&cfg.backup.dir, None) {
        Ok(e) if !e.is_empty() => e,
        _ => return Vec::new(),
    };
    let mut out = vec![CompletionCandidate::new("latest").help(Some(
        "the newest backup of the connection's database".into(),
    ))];
    let mut dbs: Vec<String> = Vec::new();
    for e in &entries {
        if !dbs.contains(&e.manifest.database) {
            dbs.push(e.manifest.database.clone());
        }
    }
    for db in dbs {
        out.push(
            CompletionCandidate::new(format!("{db}/latest"))
                .help(Some(format!("the newest backup of {db}").into())),
        );
    }
    out.extend(
        entries
            .iter()
            .map(|e| CompletionCandidate::new(e.id().to_string())),
    );
    out
}

/// The inventory's target and group names (`targets:` in the default config), with their kind.
pub fn target_names() -> Vec<CompletionCandidate> {
    default_config()
        .targets
        .iter()
        .map(|(name, t)| CompletionCandidate::new(name).help(Some(t.kind().into())))
        .collect()
}
