//! The one integration test binary: the real `opsbook` binary against the real PostgreSQL and
//! Redis of one shared sandbox (started on first use, stopped when this process exits).
//! Each test gets its own database and state directory.

mod backup;
mod backup_hardening;
mod bench;
mod check_afternoon;
mod check_health;
mod check_morning;
mod check_morning_ha;
mod check_night;
mod cluster;
mod cluster_probe;
mod completions;
mod config;
mod diagnose_config;
mod diagnose_locks;
mod diagnose_memory;
mod diagnose_network;
mod diagnose_queries;
mod docker;
mod fleet;
mod formats;
mod hardening_input;
mod harness;
mod hostile;
mod metrics;
mod monitor;
mod output;
mod package;
mod pitr;
mod pitr_s3;
mod quiet;
mod redis_backup;
mod remote;
mod remote_stream;
mod replica;
mod replica_promote;
mod report;
mod restore;
mod runbook;
mod sandbox_cmd;
mod signals;
mod targets_discover;
mod targets_list;
mod tour;
mod usage;

#[test]
fn every_test_module_is_listed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let listed = include_str!("main.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(module) = name.strip_suffix(".rs") {
            if module != "main" {
                assert!(
                    listed.contains(&format!("mod {module};")),
                    "tests/cli/{name} is not listed in main.rs"
                );
            }
        }
    }
}
