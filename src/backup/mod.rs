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
pub mod restore;
pub mod restore_test;
pub mod retention;
pub mod stream;
pub mod verify;
