//! Logical backups: the archive stream, its manifest, the catalog of a backup directory,
//! verification, retention and the lock that keeps two backups or restores apart.
//! `commands::backup` and `commands::restore` are the operator's side of this.

pub mod catalog;
pub mod counts;
pub mod dump;
pub mod leftovers;
pub mod lock;
pub mod manifest;
pub mod names;
pub mod pgrestore;
pub mod redis;
pub mod remote;
pub mod restore;
pub mod restore_test;
pub mod retention;
pub mod stream;
pub mod verify;

/// What a written backup adds to the run history for `opsbook report`: its size and how long
/// it took, keyed by database (`backup.size/<db>`, `backup.duration/<db>` in seconds). One
/// definition for `opsbook backup` and the sandbox's first backup.
pub fn history_values(m: &manifest::Manifest) -> std::collections::BTreeMap<String, f64> {
    let db = &m.database;
    [
        (format!("backup.size/{db}"), m.bytes as f64),
        (
            format!("backup.duration/{db}"),
            m.duration_ms as f64 / 1000.0,
        ),
    ]
    .into_iter()
    .collect()
}
