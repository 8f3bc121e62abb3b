//! The backups in a backup directory: every `<db>/<stamp>.manifest.json` whose archive exists.
//! Files opsbook did not write (no manifest) and unfinished writes (`.partial`) are never listed,
//! so they are never restored from and never pruned.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context as _};

use super::manifest::{Manifest, MANIFEST_SUFFIX};

#[derive(Debug, Clone)]
pub struct Entry {
    pub manifest: Manifest,
    pub manifest_path: PathBuf,
    pub archive_path: PathBuf,
}

impl Entry {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    pub fn age_secs(&self, now: SystemTime) -> i64 {
        crate::timefmt::unix(now) - self.manifest.started_unix
    }
}

/// Every complete backup under `dir`, newest first (optionally of one database).
pub fn list(dir: &Path, db: Option<&str>) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let dbs = std::fs::read_dir(dir)
        .with_context(|| format!("listing backup directory {}", dir.display()))?;
    for d in dbs {
        let d = d.with_context(|| format!("listing backup directory {}", dir.display()))?;
        let name = d.file_name().to_string_lossy().to_string();
        if db.is_some_and(|want| want != name) || !d.path().is_dir() {
            continue;
        }
        let files = std::fs::read_dir(d.path())
            .with_context(|| format!("listing {}", d.path().display()))?;
        for f in files {
            let f = f.with_context(|| format!("listing {}", d.path().display()))?;
            let fname = f.file_name().to_string_lossy().to_string();
            if !fname.ends_with(MANIFEST_SUFFIX) || fname.starts_with('.') {
                continue;
            }
            let path = f.path();
            // A manifest that does not parse is not ours to judge: skip it, never delete it.
            let Ok(manifest) = Manifest::load(&path) else {
                continue;
            };
            let archive_path = d.path().join(&manifest.archive);
            if archive_path.is_file() {
                out.push(Entry {
                    manifest,
                    manifest_path: path,
                    archive_path,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.manifest
            .started_unix
            .cmp(&a.manifest.started_unix)
            .then_with(|| b.manifest.id.cmp(&a.manifest.id))
    });
    Ok(out)
}

/// A backup named by id (`app/20261123T010000Z`), by `latest` / `app/latest`, or by the path of
/// its archive or manifest.
pub fn find(dir: &Path, what: &str) -> anyhow::Result<Entry> {
    let as_path = Path::new(what);
    if as_path.is_file() {
        let manifest_path = if what.ends_with(MANIFEST_SUFFIX) {
            as_path.to_path_buf()
        } else {
            let name = as_path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stamp = name.split('.').next().unwrap_or_default();
            as_path.with_file_name(format!("{stamp}{MANIFEST_SUFFIX}"))
        };
        if !manifest_path.is_file() {
            bail!(
                "{what} has no opsbook manifest beside it ({}), so it cannot be verified or proven complete\nhint: restore it by hand with pg_restore, or take a new backup with `opsbook backup`",
                manifest_path.display()
            );
        }
        let manifest = Manifest::load(&manifest_path)?;
        let archive_path = manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&manifest.archive);
        if !archive_path.is_file() {
            bail!(
                "the archive {} named by {} is missing",
                archive_path.display(),
                manifest_path.display()
            );
        }
        return Ok(Entry {
            manifest,
            manifest_path,
            archive_path,
        });
    }
    let (db, which) = match what.split_once('/') {
        Some((db, which)) => (Some(db), which),
        None if what == "latest" => (None, "latest"),
        None => bail!(
            "no backup `{what}`: give an id like app/20261123T010000Z, app/latest or an archive path\nhint: `opsbook backup list` shows the ids"
        ),
    };
    let all = list(dir, db)?;
    let found = if which == "latest" {
        all.into_iter().find(|e| e.manifest.verified)
    } else {
        all.into_iter().find(|e| e.manifest.id == what)
    };
    found.with_context(|| {
        format!(
            "no backup `{what}` in {}\nhint: `opsbook backup list --dir {}` shows what there is",
            dir.display(),
            dir.display()
        )
    })
}
