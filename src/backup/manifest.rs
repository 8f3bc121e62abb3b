//! The manifest written beside every archive: what was dumped, from where, how, and the exact
//! row count of every table at the dump's snapshot, so a restore can be proven complete.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

pub const MANIFEST_SCHEMA: &str = "opsbook.backup/v1";
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

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
}

impl Manifest {
    pub fn total_rows(&self) -> i64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// `<dir>/<db>/<stamp>.manifest.json` for an archive `<dir>/<db>/<stamp>.dump...`.
    pub fn path_for(dir: &Path, db: &str, stamp: &str) -> PathBuf {
        dir.join(db).join(format!("{stamp}{MANIFEST_SUFFIX}"))
    }

    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading backup manifest {}", path.display()))?;
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
        crate::state::write_atomic(path, &bytes)
    }
}
