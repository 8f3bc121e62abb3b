//! The run history's SQLite file, `<state dir>/history.sqlite3`: opening it (created 0600, WAL,
//! a schema version), one short transaction per recorded run (an INSERT per value, the thinning
//! as DELETEs) and the indexed reads. Concurrent runs are ordered by SQLite's own locking: a
//! writer takes the write lock up front (`BEGIN IMMEDIATE`) and waits up to [`BUSY_TIMEOUT`].
//!
//! Rows are read in the order runs were recorded (`sample.id`), which is the order the
//! history had as a JSON list, so every question gets the answer it got from the list.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OpenFlags, Transaction, TransactionBehavior};

use super::history::{Sample, HISTORY_CAP, RECENT_SECS};

/// The history's file name in the state directory.
pub(super) const DB_FILE: &str = "history.sqlite3";

/// `PRAGMA user_version` of the schema below.
const SCHEMA_VERSION: i64 = 1;

/// How long a run waits for another run's write (a few milliseconds each) before giving up
/// on recording (the JSON history's flock waited without a bound).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes per database page. A recorded run changes a row or two in each of five b-trees, and
/// each changed page is written whole to the WAL: 1 KiB pages write a quarter of what
/// SQLite's default 4 KiB do, and the history's few thousand rows need no larger ones.
const PAGE_SIZE: i64 = 1024;

/// A recording run that finds the WAL larger than this copies it into the database file and
/// empties it (see [`checkpoint_if_large`]).
const WAL_CHECKPOINT_BYTES: u64 = 256 * 1024;

/// One row per run (`sample`) and one per value (`value`), keyed "finding id/subject" split at
/// the first '/'. `value_key` answers "the newest value of this key" and "this key's values
/// since T" from the index alone; `sample_at` finds what is old enough to thin.
const SCHEMA: &str = "
CREATE TABLE sample (
    id INTEGER PRIMARY KEY,     -- the order runs were recorded in
    at INTEGER NOT NULL,        -- seconds since the epoch
    command TEXT NOT NULL
);
CREATE INDEX sample_at ON sample (at);
CREATE TABLE value (
    sample_id INTEGER NOT NULL,
    finding TEXT NOT NULL,      -- the key up to its first '/'
    subject TEXT,               -- the rest; NULL for a key without '/'
    at INTEGER NOT NULL,        -- the sample's time, so reads need no join
    value REAL NOT NULL
);
CREATE INDEX value_key ON value (finding, subject, sample_id, at, value);
CREATE INDEX value_sample ON value (sample_id);
CREATE TRIGGER sample_values AFTER DELETE ON sample BEGIN
    DELETE FROM value WHERE sample_id = OLD.id;
END;
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// "finding id/subject" → (finding id, subject); a key without '/' has no subject.
pub(super) fn split_key(key: &str) -> (&str, Option<&str>) {
    match key.split_once('/') {
        Some((finding, subject)) => (finding, Some(subject)),
        None => (key, None),
    }
}

fn join_key(finding: String, subject: Option<String>) -> String {
    match subject {
        Some(s) => format!("{finding}/{s}"),
        None => finding,
    }
}

/// An error about the history file at `path`, with the way out when the file is not one.
pub(super) fn file_error(e: rusqlite::Error, path: &Path, doing: &str) -> anyhow::Error {
    let corrupt = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    );
    let e = anyhow::Error::from(e);
    if corrupt {
        e.context(format!(
            "{doing} run history {} (move the corrupt file aside to start a new history)",
            path.display()
        ))
    } else {
        e.context(format!("{doing} run history {}", path.display()))
    }
}

/// Open the history file `path`; `create`: make it (0600, with its directory) when missing.
/// The WAL and shared-memory files SQLite adds beside it get the file's mode.
pub(super) fn open(path: &Path, create: bool) -> anyhow::Result<Connection> {
    if create {
        use std::os::unix::fs::OpenOptionsExt as _;
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating run history {}", path.display()))?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn =
        Connection::open_with_flags(path, flags).map_err(|e| file_error(e, path, "opening"))?;
    configure(&mut conn).map_err(|e| file_error(e, path, "opening"))?;
    Ok(conn)
}

/// A history that lives in memory only (tests, and the pure helpers' callers).
pub(super) fn open_in_memory() -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&mut conn)?;
    Ok(conn)
}

/// Per-connection settings, then the schema when the file is new.
///
/// `synchronous=NORMAL`: in WAL mode a commit is then a write to the WAL without an fsync;
/// the database is never corrupted, and a power cut (not a crash of opsbook) can lose the
/// last runs' samples since the last checkpoint. The history is advisory (growth, today's
/// peak, the CPU baseline), so a lost minute is one point less in a projection, while FULL
/// would fsync on every minutely run for it.
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The last connection to close would otherwise checkpoint and delete the WAL: every run
    // would write its pages twice and fsync the database. SQLite's automatic checkpoints are
    // off too: a process that opens the file rebuilds the WAL index without knowing what an
    // earlier process already copied, so a PASSIVE checkpoint per commit would copy the
    // whole WAL again every run. `checkpoint_if_large` copies and empties it instead.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "written by a newer opsbook (schema {version}; this one knows {SCHEMA_VERSION})"
            )),
        ));
    }
    // A new file: small pages (a run changes a few rows in several b-trees, each a page
    // written to the WAL), WAL (both kept in the file), then the schema, once, under the
    // write lock.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

/// Insert one sample (its values that are numbers: SQLite stores NaN as NULL); the caller
/// commits.
pub(super) fn insert(tx: &Transaction<'_>, sample: &Sample) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO sample (at, command) VALUES (?1, ?2)")?
        .execute(params![sample.at, sample.command])?;
    let id = tx.last_insert_rowid();
    let mut stmt = tx.prepare_cached(
        "INSERT INTO value (sample_id, finding, subject, at, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (key, value) in sample.values.iter().filter(|(_, v)| !v.is_nan()) {
        let (finding, subject) = split_key(key);
        stmt.execute(params![id, finding, subject, sample.at, value])?;
    }
    Ok(())
}

/// Append one run's sample and thin the history, in one transaction.
pub(super) fn append(conn: &mut Connection, sample: &Sample) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    insert(&tx, sample)?;
    thin(&tx, sample.at)?;
    tx.commit()
}

/// After a write: when the WAL of the file `path` has grown past [`WAL_CHECKPOINT_BYTES`],
/// copy it into the database file and truncate it, so the next run's WAL index rebuild reads
/// little. Best effort: a run that cannot (another holds the file) leaves it to the next.
pub(super) fn checkpoint_if_large(conn: &Connection, path: &Path) {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let large = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_CHECKPOINT_BYTES);
    if large {
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// The history's bounds as DELETEs, `now` being the newest sample's time: samples of the last
/// [`RECENT_SECS`] are all kept; older ones only the last recorded per command and UTC day
/// (the day as `div_euclid`, also before 1970); at most [`HISTORY_CAP`] samples survive, the
/// newest. The values of a deleted sample go with it (trigger `sample_values`).
pub(super) fn thin(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    let old = now.saturating_sub(RECENT_SECS);
    conn.prepare_cached(
        "DELETE FROM sample WHERE at <= ?1 AND id NOT IN (
             SELECT max(id) FROM sample WHERE at <= ?1
             GROUP BY command,
                 CASE WHEN at >= 0 THEN at / 86400 ELSE (at + 1) / 86400 - 1 END)",
    )?
    .execute(params![old])?;
    conn.prepare_cached(
        "DELETE FROM sample WHERE id <= (SELECT id FROM sample ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    )?
    .execute(params![HISTORY_CAP as i64])?;
    Ok(())
}

/// The newest recorded value of `key`, with when it was taken.
pub(super) fn previous(conn: &Connection, key: &str) -> rusqlite::Result<Option<(i64, f64)>> {
    let (finding, subject) = split_key(key);
    let mut stmt = conn.prepare_cached(
        "SELECT at, value FROM value WHERE finding = ?1 AND subject IS ?2
         ORDER BY sample_id DESC LIMIT 1",
    )?;
    let mut rows = stmt.query(params![finding, subject])?;
    match rows.next()? {
        Some(row) => Ok(Some((row.get(0)?, row.get(1)?))),
        None => Ok(None),
    }
}

/// Every recorded value of `key` taken at or after `since`, in the order recorded.
pub(super) fn series(
    conn: &Connection,
    key: &str,
    since: i64,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    let (finding, subject) = split_key(key);
    let mut stmt = conn.prepare_cached(
        "SELECT at, value FROM value WHERE finding = ?1 AND subject IS ?2 AND at >= ?3
         ORDER BY sample_id",
    )?;
    let rows = stmt.query_map(params![finding, subject, since], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

/// The whole history, oldest first, as the JSON list had it.
pub(super) fn samples(conn: &Connection) -> rusqlite::Result<Vec<Sample>> {
    let mut out: Vec<(i64, Sample)> = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT id, at, command FROM sample ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                Sample {
                    at: r.get(1)?,
                    command: r.get(2)?,
                    values: Default::default(),
                },
            ))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    let mut stmt = conn.prepare("SELECT sample_id, finding, subject, value FROM value")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        if let Ok(i) = out.binary_search_by_key(&id, |(sid, _)| *sid) {
            let key = join_key(row.get(1)?, row.get(2)?);
            out[i].1.values.insert(key, row.get(3)?);
        }
    }
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_at_the_first_slash_and_join_back() {
        for key in [
            "postgres.database_size/127.0.0.1:5432/app",
            "host.disk_used//srv",
            "k",
            "k/",
        ] {
            let (f, s) = split_key(key);
            assert_eq!(join_key(f.into(), s.map(Into::into)), key);
        }
        assert_eq!(
            split_key("host.disk_used//srv"),
            ("host.disk_used", Some("/srv"))
        );
    }

    #[test]
    fn reads_use_the_key_index() {
        let conn = open_in_memory().unwrap();
        for sql in [
            "SELECT at, value FROM value WHERE finding = 'a' AND subject IS 'b' ORDER BY sample_id DESC LIMIT 1",
            "SELECT at, value FROM value WHERE finding = 'a' AND subject IS NULL AND at >= 5 ORDER BY sample_id",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let plan = plan.join("; ");
            assert!(plan.contains("COVERING INDEX value_key"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
        }
    }
}
