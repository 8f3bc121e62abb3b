//! opsbook: the checklists, backups and diagnostics of a PostgreSQL + Redis stack as one typed
//! binary. The binary is `src/main.rs`; tests and benches use this library.

pub mod atomic_file;
pub mod backup;
pub mod bounded_read;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod completion;
pub mod config;
pub mod confirm;
pub mod context;
pub mod fleet;
pub mod ha;
pub mod interrupt;
pub mod metrics;
pub mod notify;
pub mod passwd;
pub mod pitr;
pub mod probes;
pub mod process;
pub mod progress;
pub mod redact;
pub mod render;
pub mod replication;
pub mod report;
pub mod runbook;
pub mod sandbox;
pub mod sql;
pub mod state;
pub mod timefmt;
pub mod trends;
pub mod tuning;

/// The demo data moved into the sandbox; the old path stays for tests and benches.
pub use sandbox::demo;
