//! The backups in a backup directory: every `<db dir>/<stamp>.manifest.json` whose archive
//! exists. Files opsbook did not write (no manifest) and unfinished writes (`.partial`) are never
//! listed, so they are never restored from and never pruned.
//!
//! A manifest is untrusted input (anyone who can write the directory can write one): it is read
//! with a size bound, its `archive` must be a plain file name in the manifest's own directory
//! (a regular file, not a symlink), and its database must be the one its directory stands for.
//! A manifest that fails is refused: reported, never opened, verified or deleted.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context as _};

use super::manifest::{Manifest, MANIFEST_SUFFIX};
use super::names;
use crate::report::{Finding, Status};

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

/// A manifest (or a database directory) the catalog would not trust, and why.
#[derive(Debug, Clone)]
pub struct Refused {
    pub manifest_path: PathBuf,
    pub why: String,
}

impl Refused {
    pub fn finding(&self) -> Finding {
        Finding::new(
            "backup.manifest_refused",
            Status::Warning,
            format!(
                "skipped {}: {}; nothing it names was opened, verified or deleted",
                self.manifest_path.display(),
                self.why
            ),
        )
        .subject(self.manifest_path.display().to_string())
        .hint("opsbook never writes such a manifest: it was edited or planted; look at who can write the backup directory, then remove the manifest by hand")
    }
}

/// What a scan found: the backups, newest first, and the manifests it refused.
#[derive(Debug, Default)]
pub struct Catalog {
    pub entries: Vec<Entry>,
    pub refused: Vec<Refused>,
}

impl Catalog {
    pub fn findings(&self) -> Vec<Finding> {
        self.refused.iter().map(Refused::finding).collect()
    }
}

/// The databases the entries are of, sorted, each once.
pub fn databases(entries: &[Entry]) -> Vec<&str> {
    let mut dbs: Vec<&str> = entries
        .iter()
        .map(|e| e.manifest.database.as_str())
        .collect();
    dbs.sort_unstable();
    dbs.dedup();
    dbs
}

/// The entries of database `db`, in their order (newest first for a scan's).
pub fn of_database<'a>(entries: &'a [Entry], db: &str) -> Vec<&'a Entry> {
    entries
        .iter()
        .filter(|e| e.manifest.database == db)
        .collect()
}

/// Every complete backup under `dir`, newest first (optionally of one database).
pub fn list(dir: &Path, db: Option<&str>) -> anyhow::Result<Vec<Entry>> {
    Ok(scan(dir, db)?.entries)
}

/// The backups under `dir` and the manifests refused on the way.
pub fn scan(dir: &Path, db: Option<&str>) -> anyhow::Result<Catalog> {
    let mut out = Catalog::default();
    if !dir.is_dir() {
        return Ok(out);
    }
    // `_redis` names the Redis snapshots' directory, not a database's.
    let want = db.map(|d| {
        if d == names::REDIS_DIR {
            d.to_string()
        } else {
            names::db_dir_name(d)
        }
    });
    let dbs = std::fs::read_dir(dir)
        .with_context(|| format!("listing backup directory {}", dir.display()))?;
    for d in dbs {
        let d = d.with_context(|| format!("listing backup directory {}", dir.display()))?;
        let name = d.file_name().to_string_lossy().to_string();
        if want.as_ref().is_some_and(|w| *w != name) {
            continue;
        }
        // A symlinked directory could lead anywhere; prune would delete there.
        if d.file_type().is_ok_and(|t| t.is_symlink()) {
            if d.path().is_dir() {
                out.refused.push(Refused {
                    manifest_path: d.path(),
                    why: "this database directory is a symlink (it could lead outside the backup directory); its backups are not listed".into(),
                });
            }
            continue;
        }
        if !d.path().is_dir() {
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
            match entry(&path, Some(&name)) {
                Ok(Some(e)) => out.entries.push(e),
                Ok(None) => {}
                Err(why) => out.refused.push(Refused {
                    manifest_path: path,
                    why,
                }),
            }
        }
    }
    out.entries.sort_by(|a, b| {
        b.manifest
            .started_unix
            .cmp(&a.manifest.started_unix)
            .then_with(|| b.manifest.id.cmp(&a.manifest.id))
    });
    Ok(out)
}

/// The backup a manifest describes; None when its archive is absent (a half-removed backup is
/// invisible, not broken); Err(why) when the manifest cannot be trusted. `dir_name` is the name
/// of the directory it was found in, checked against its database (None: the operator named
/// the file, wherever it is).
fn entry(manifest_path: &Path, dir_name: Option<&str>) -> Result<Option<Entry>, String> {
    match std::fs::symlink_metadata(manifest_path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err("the manifest is a symlink or not a regular file".into()),
        Err(e) => return Err(format!("cannot read it: {e}")),
    }
    let manifest = Manifest::load(manifest_path).map_err(|e| crate::report::one_line(&e))?;
    if let Some(why) = names::unplain_file_name(&manifest.archive) {
        return Err(format!(
            "its archive {:?} is not a plain file name ({why})",
            manifest.archive
        ));
    }
    let stamp = manifest_path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(MANIFEST_SUFFIX))
        .unwrap_or_default();
    if manifest.id != format!("{}/{stamp}", manifest.database) {
        return Err(format!(
            "its id {:?} does not match its database {:?} and file name",
            manifest.id, manifest.database
        ));
    }
    if let Some(dir_name) = dir_name {
        let expected = manifest.dir_name();
        if expected != dir_name {
            return Err(format!(
                "it describes database {:?}, whose backups live in {expected:?}, not {dir_name:?}",
                manifest.database
            ));
        }
    }
    let archive_path = manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(&manifest.archive);
    match std::fs::symlink_metadata(&archive_path) {
        Ok(m) if m.file_type().is_symlink() => Err(format!(
            "its archive {:?} is a symlink (it could point outside the backup directory)",
            manifest.archive
        )),
        Ok(m) if !m.is_file() => Err(format!(
            "its archive {:?} is not a regular file",
            manifest.archive
        )),
        Ok(_) => Ok(Some(Entry {
            manifest,
            manifest_path: manifest_path.to_path_buf(),
            archive_path,
        })),
        Err(_) => Ok(None),
    }
}

/// A backup named by id (`app/20261123T010000Z`), by `latest` / `app/latest`, or by the path of
/// its archive or manifest; with the manifests refused while looking. `connection_db` is the
/// database the run's connection names (what `opsbook backup` without `--db` backs up): bare
/// `latest` means its newest verified backup (see [`resolve_latest`]).
pub fn find(
    dir: &Path,
    what: &str,
    connection_db: Option<&str>,
) -> anyhow::Result<(Entry, Vec<Refused>)> {
    let as_path = Path::new(what);
    if as_path.is_file() {
        let name = as_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".partial") {
            bail!(
                "{what} is an interrupted backup (opsbook was still writing it when it stopped): it may be truncated and was never verified, so it cannot be trusted\nhint: take a new backup with `opsbook backup`, or pick a complete one from `opsbook backup list`"
            );
        }
        let manifest_path = if what.ends_with(MANIFEST_SUFFIX) {
            as_path.to_path_buf()
        } else {
            let stamp = name.split('.').next().unwrap_or_default();
            as_path.with_file_name(format!("{stamp}{MANIFEST_SUFFIX}"))
        };
        if !manifest_path.is_file() {
            bail!(
                "{what} has no opsbook manifest beside it ({}), so it cannot be verified or proven complete\nhint: restore it by hand with pg_restore, or take a new backup with `opsbook backup`",
                manifest_path.display()
            );
        }
        return match entry(&manifest_path, None) {
            Ok(Some(e)) => Ok((e, vec![])),
            Ok(None) => bail!(
                "the archive named by {} is missing",
                manifest_path.display()
            ),
            Err(why) => bail!(
                "refusing the backup manifest {}: {why}\nhint: opsbook never writes such a manifest; pick another backup (`opsbook backup list`)",
                manifest_path.display()
            ),
        };
    }
    // A database name may itself hold `/`: the stamp is what follows the last one.
    let (db, which) = match what.rsplit_once('/') {
        Some((db, which)) => (Some(db), which),
        None if what == "latest" => (None, "latest"),
        None => bail!(
            "no backup `{what}`: give an id like app/20261123T010000Z, app/latest or an archive path\nhint: `opsbook backup list` shows the ids"
        ),
    };
    let cat = scan(dir, db)?;
    if db.is_none() {
        let entry = resolve_latest(&cat.entries, connection_db, dir)?;
        return Ok((entry, cat.refused));
    }
    let found = if which == "latest" {
        cat.entries.into_iter().find(|e| e.manifest.verified)
    } else {
        cat.entries.into_iter().find(|e| e.manifest.id == what)
    };
    let found = found.with_context(|| {
        format!(
            "no backup `{what}` in {}\nhint: `opsbook backup list --dir {}` shows what there is",
            dir.display(),
            dir.display()
        )
    })?;
    Ok((found, cat.refused))
}

/// Bare `latest`: the newest verified **database** backup (never the roles-only `_globals`
/// file `backup --all` writes last). With backups of several databases it is the newest of the
/// connection's database, as `opsbook backup` without `--db` backs that one up (pgBackRest's
/// `--set` default is likewise the latest backup of the configured stanza); the newest of
/// whichever database was dumped last would make a runbook's restore test, or a restore,
/// depend on dump order. With one database backed up, that one. Otherwise the operator names
/// it: the error lists `<db>/latest` for each.
pub fn resolve_latest(
    entries: &[Entry],
    connection_db: Option<&str>,
    dir: &Path,
) -> anyhow::Result<Entry> {
    let candidates: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.manifest.kind == "database" && e.manifest.verified)
        .collect();
    let mut dbs: Vec<&str> = candidates
        .iter()
        .map(|e| e.manifest.database.as_str())
        .collect();
    dbs.sort_unstable();
    dbs.dedup();
    let newest_of = |db: &str| {
        candidates
            .iter()
            .find(|e| e.manifest.database == db)
            .map(|e| (*e).clone())
    };
    if let Some(found) = connection_db.and_then(newest_of) {
        return Ok(found);
    }
    match dbs.as_slice() {
        [] => bail!(
            "no verified database backup in {} for `latest`\nhint: take one with `opsbook backup` (`opsbook backup list --dir {}` shows what there is)",
            dir.display(),
            dir.display()
        ),
        [only] => newest_of(only).with_context(|| format!("no verified backup of {only}")),
        several => {
            let conn = connection_db
                .map(|c| format!(" and none of {c}, the connection's database"))
                .unwrap_or_default();
            bail!(
                "`latest` is ambiguous: {} holds verified backups of {} databases ({}){conn}\nhint: name the database: {}",
                dir.display(),
                several.len(),
                several.join(", "),
                several
                    .iter()
                    .map(|d| format!("`{d}/latest`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}
