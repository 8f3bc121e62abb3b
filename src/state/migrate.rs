//! The run history before SQLite: `<state dir>/history.json`, one JSON document rewritten by
//! every run. It is imported once into `history.sqlite3` (in one transaction) and then renamed
//! `history.json.migrated`. A file that cannot be read (corrupt, over the size limit) is
//! reported in the words the JSON history used, and left where it is: the history is not
//! recorded until it is moved aside, as before.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rusqlite::{params, Connection, OptionalExtension as _, TransactionBehavior};
use serde::Deserialize;

use super::history::Sample;

/// The JSON history's file name in the state directory.
pub(super) const JSON_FILE: &str = "history.json";

/// The JSON document, as `History` serialised it.
#[derive(Deserialize)]
struct JsonHistory {
    samples: Vec<Sample>,
}

/// Whether `dir` holds a JSON history not imported yet (anything at the name but "not found"
/// counts: reading it then says what is wrong).
pub(super) fn pending(dir: &Path) -> bool {
    !matches!(
        std::fs::symlink_metadata(dir.join(JSON_FILE)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    )
}

/// The samples of `<dir>/history.json`, with the errors the JSON history gave.
pub(super) fn read(dir: &Path) -> anyhow::Result<Vec<Sample>> {
    let path = dir.join(JSON_FILE);
    let bytes = crate::bounded_read::read_bytes(
        &path,
        "run history",
        crate::bounded_read::STATE_FILE_LIMIT,
    )?;
    let history: JsonHistory = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "reading run history {} (move the corrupt file aside to start a new history)",
            path.display()
        )
    })?;
    Ok(history.samples)
}

/// What tells this file from another one put at the same name later.
fn identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some(format!(
        "{}:{}:{}.{}",
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// Import `samples` (read from `<dir>/history.json` by [`read`]) into `conn` in one
/// transaction, then rename the file. Two runs migrating at once import it once: the second
/// waits for the write lock and then finds the file gone, or recorded as imported in `meta`
/// (when the first has committed but not renamed yet, or the rename failed).
pub(super) fn import(conn: &mut Connection, dir: &Path, samples: &[Sample]) -> anyhow::Result<()> {
    let path = dir.join(JSON_FILE);
    let db = dir.join(super::store::DB_FILE);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| super::store::file_error(e, &db, "importing into"))?;
    let Some(id) = identity(&path) else {
        return Ok(()); // another run imported and renamed it while this one waited
    };
    let done: Option<String> = tx
        .query_row(
            "SELECT value FROM meta WHERE name = 'imported_json'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| super::store::file_error(e, &db, "importing into"))?;
    if done.as_deref() != Some(id.as_str()) {
        let result = (|| {
            for s in samples {
                super::store::insert(&tx, s)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('imported_json', ?1)",
                params![id],
            )?;
            tx.commit()
        })();
        result.map_err(|e| super::store::file_error(e, &db, "importing into"))?;
    }
    let to = migrated_name(dir);
    match std::fs::rename(&path, &to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(|| {
            format!(
                "renaming the imported run history {} to {}",
                path.display(),
                to.display()
            )
        }),
        _ => Ok(()),
    }
}

/// `history.json.migrated`, or `.migrated.N` when an earlier migration left that name.
fn migrated_name(dir: &Path) -> PathBuf {
    let first = dir.join(format!("{JSON_FILE}.migrated"));
    std::iter::once(first.clone())
        .chain((1..100).map(|n| dir.join(format!("{JSON_FILE}.migrated.{n}"))))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or(first)
}
