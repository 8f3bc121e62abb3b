//! The manifest written beside every archive: what was dumped, from where, how, and the exact
//! row count of every table at the dump's snapshot, so a restore can be proven complete.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

pub const MANIFEST_SCHEMA: &str = "opsbook.backup/v1";
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// The most a manifest may hold: each table takes about 100 bytes, so this fits ~160 000 tables
/// (multi-tenant schemas) while a planted endless file stops here.
pub const MANIFEST_MAX_BYTES: u64 = 16 << 20;

/// One table's exact row count at the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    pub schema: String,
    pub table: String,
    pub rows: i64,
}

impl TableCount {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    /// `<database>/<stamp>`: what `backup verify` and `restore` accept.
    pub id: String,
    /// `database` for a pg_dump archive, `globals` for pg_dumpall --globals-only.
    pub kind: String,
    pub database: String,
    /// The archive's file name, in the manifest's directory.
    pub archive: String,
    /// `zstd:3`, `gzip:6` or `none`.
    pub compression: String,
    pub server_version: String,
    pub pg_dump_version: String,
    pub started_at: String,
    pub finished_at: String,
    /// Unix seconds of `started_at`, for ages and retention.
    pub started_unix: i64,
    pub duration_ms: u64,
    /// Size of the archive file as written.
    pub bytes: u64,
    /// Bytes pg_dump produced, before compression.
    pub dump_bytes: u64,
    /// sha256 of the archive file, computed while it was written.
    pub sha256: String,
    /// The snapshot pg_dump read (pg_export_snapshot()).
    pub snapshot: Option<String>,
    pub tables: Vec<TableCount>,
    pub verified: bool,
    pub verified_at: Option<String>,
    /// What a Redis snapshot (kind `redis`) held; absent for PostgreSQL backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisFacts>,
}

/// A Redis snapshot's manifest part: the keys of each database (`INFO keyspace` when the
/// snapshot was asked for), memory in use, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisFacts {
    /// `host:port` or the socket path (never the password).
    pub source: String,
    /// `db0` → keys.
    pub keys: std::collections::BTreeMap<String, u64>,
    pub used_memory: u64,
    /// The RDB format version from the file's header.
    pub rdb_version: u32,
    /// How it was taken: `bgsave` (the server's own file, read on this host) or `sync` (the
    /// replica protocol); absent in manifests written before the choice existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

impl Manifest {
    /// The directory, inside the backup directory, this backup belongs in.
    pub fn dir_name(&self) -> String {
        if self.kind == "globals" {
            super::names::GLOBALS_DIR.to_string()
        } else if self.kind == "redis" {
            super::names::REDIS_DIR.to_string()
        } else {
            super::names::db_dir_name(&self.database)
        }
    }

    /// What `backup list` shows in its TABLES and ROWS columns: tables and rows of a
    /// database backup, databases and keys of a Redis snapshot.
    pub fn listed_counts(&self) -> (usize, i64) {
        match &self.redis {
            Some(r) => (r.keys.len(), r.keys.values().sum::<u64>() as i64),
            None => (self.tables.len(), self.total_rows()),
        }
    }

    pub fn total_rows(&self) -> i64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Read with a bound: a manifest is a file in the backup directory, and a planted one of
    /// gigabytes (or a FIFO, or /dev/zero behind it) must not exhaust memory.
    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("reading backup manifest {}", path.display()))?;
        let mut bytes = Vec::new();
        file.take(MANIFEST_MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("reading backup manifest {}", path.display()))?;
        if bytes.len() as u64 > MANIFEST_MAX_BYTES {
            anyhow::bail!(
                "backup manifest {} is over {} KiB, far more than opsbook writes (damaged or planted?)",
                path.display(),
                MANIFEST_MAX_BYTES / 1024
            );
        }
        let text = String::from_utf8(bytes)
            .with_context(|| format!("backup manifest {} is not UTF-8 text", path.display()))?;
        let m: Manifest = serde_json::from_str(&text).with_context(|| {
            format!(
                "backup manifest {} is not an opsbook manifest (damaged or edited?)",
                path.display()
            )
        })?;
        if m.schema != MANIFEST_SCHEMA {
            anyhow::bail!(
                "backup manifest {} has schema {:?}, this opsbook reads {MANIFEST_SCHEMA}",
                path.display(),
                m.schema
            );
        }
        Ok(m)
    }

    /// Atomic, 0600 (it names every table and the server).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        crate::atomic_file::write_atomic(path, &bytes)
    }
}
