//! The run history: per run, the numbers later runs compare with (database sizes for growth,
//! disk usage for projections, connection counts for today's peak, the CPU counters for the
//! next monitor). Kept in SQLite ([`super::store`]): recording a run is one appending
//! transaction and a question is one indexed read, so neither grows with the history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{migrate, store};

/// One run's numbers, keyed by "finding id/subject".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// seconds since the epoch
    pub at: i64,
    pub command: String,
    pub values: BTreeMap<String, f64>,
}

/// Samples younger than this are all kept.
pub const RECENT_SECS: i64 = 36 * 3600;
/// 36 h of minutely samples plus about a year of daily ones.
pub(super) const HISTORY_CAP: usize = 2160 + 1500;

/// The run history, in the order runs were recorded, bounded so a `monitor` every minute
/// cannot grow it without limit: samples of the last [`RECENT_SECS`] are all kept (today's
/// peak), older ones are thinned to the last one per command and UTC day (day-over-day growth,
/// projections), and at most [`HISTORY_CAP`] samples survive.
///
/// A handle on `<state dir>/history.sqlite3` (none while nothing was ever recorded there):
/// reads ask the file, so they see what other runs recorded since this one opened it.
#[derive(Default)]
pub struct History {
    db: Option<Db>,
    /// A failed read has been reported on stderr (once a run is enough).
    warned: AtomicBool,
}

struct Db {
    /// the file, or None in memory
    path: Option<PathBuf>,
    conn: Mutex<rusqlite::Connection>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.db.as_ref().map(|d| d.path.as_deref());
        f.debug_struct("History").field("db", &at).finish()
    }
}

impl History {
    fn with(conn: rusqlite::Connection, path: Option<PathBuf>) -> History {
        History {
            db: Some(Db {
                path,
                conn: Mutex::new(conn),
            }),
            warned: AtomicBool::new(false),
        }
    }

    /// The history of `dir`: empty when nothing was recorded there yet (no file is created);
    /// a `history.json` of the JSON days is imported first.
    pub fn load(dir: &Path) -> anyhow::Result<History> {
        let path = dir.join(store::DB_FILE);
        if migrate::pending(dir) {
            return History::open_for_writing(dir);
        }
        if matches!(std::fs::symlink_metadata(&path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(History::default());
        }
        Ok(History::with(store::open(&path, false)?, Some(path)))
    }

    /// The history of `dir`, its file created when missing and a `history.json` imported.
    fn open_for_writing(dir: &Path) -> anyhow::Result<History> {
        let path = dir.join(store::DB_FILE);
        // A JSON history that cannot be read stops here, before a file is created.
        let imported = migrate::pending(dir)
            .then(|| migrate::read(dir))
            .transpose()?;
        let mut conn = store::open(&path, true)?;
        if let Some(samples) = imported {
            migrate::import(&mut conn, dir, &samples)?;
            store::checkpoint_if_large(&conn, &path);
        }
        Ok(History::with(conn, Some(path)))
    }

    /// A history in memory only, empty: for tests, filled with [`History::push`].
    pub fn in_memory() -> anyhow::Result<History> {
        Ok(History::with(store::open_in_memory()?, None))
    }

    /// Add `sample` as the newest, without thinning (a history in memory, tests).
    pub fn push(&self, sample: Sample) -> anyhow::Result<()> {
        let Some(db) = &self.db else {
            anyhow::bail!("no history to add to");
        };
        let mut conn = db.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        store::insert(&tx, &sample)?;
        tx.commit()?;
        Ok(())
    }

    /// Every sample, oldest first, as the JSON history listed them.
    pub fn samples(&self) -> anyhow::Result<Vec<Sample>> {
        match &self.db {
            None => Ok(Vec::new()),
            Some(db) => {
                let conn = db.conn.lock().unwrap_or_else(|e| e.into_inner());
                Ok(store::samples(&conn)?)
            }
        }
    }

    /// Run a read; a failure is a warning on stderr (once) and no answer, never the run's error.
    fn read<T: Default>(&self, f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>) -> T {
        let Some(db) = &self.db else {
            return T::default();
        };
        let conn = db.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).unwrap_or_else(|e| {
            if !self.warned.swap(true, Ordering::Relaxed) {
                let place = db.path.as_deref().unwrap_or(Path::new(":memory:"));
                eprintln!(
                    "warning: {} (growth and earlier numbers are not shown this run)",
                    crate::report::one_line(&store::file_error(e, place, "reading"))
                );
            }
            T::default()
        })
    }

    /// The newest earlier value of `key`, with when it was taken.
    pub fn previous(&self, key: &str) -> Option<(i64, f64)> {
        self.read(|c| store::previous(c, key))
    }

    /// The history for this run; an unreadable one is a warning on stderr naming what this run
    /// goes without (`lost`), never the run's error.
    pub fn load_or_warn(dir: &Path, lost: &str) -> History {
        History::load(dir).unwrap_or_else(|e| {
            eprintln!("warning: {} ({lost})", crate::report::one_line(&e));
            History::default()
        })
    }

    /// Record one run's `values` as `command` (nothing when there are none); a failure is a
    /// warning on stderr, never the run's error.
    pub fn record_or_warn(
        &mut self,
        dir: &Path,
        command: &str,
        values: BTreeMap<String, f64>,
        now: i64,
    ) {
        if values.is_empty() {
            return;
        }
        let sample = Sample {
            at: now,
            command: command.to_string(),
            values,
        };
        if let Err(e) = self.record(dir, sample) {
            eprintln!(
                "warning: could not record the run history: {}\nhint: set OPSBOOK_STATE_DIR to a writable directory, or pass --no-record",
                crate::report::one_line(&e)
            );
        }
    }

    /// Every recorded value of `key` taken at or after `since`, oldest first.
    pub fn series(&self, key: &str, since: i64) -> Vec<(i64, f64)> {
        self.read(|c| store::series(c, key, since))
    }

    /// Thin the history as the type's comment says; `now` is the newest sample's time.
    pub fn compact(&self, now: i64) -> anyhow::Result<()> {
        let Some(db) = &self.db else {
            return Ok(());
        };
        let mut conn = db.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        store::thin(&tx, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Append one sample to `dir`'s history and thin it, in one transaction under SQLite's
    /// write lock, so a `monitor` and a `check` finishing at the same moment both keep theirs.
    /// `self` then reads that history.
    pub fn record(&mut self, dir: &Path, sample: Sample) -> anyhow::Result<()> {
        let path = dir.join(store::DB_FILE);
        let current = matches!(&self.db, Some(Db { path: Some(p), .. }) if *p == path);
        if !current || migrate::pending(dir) {
            *self = History::open_for_writing(dir)?;
        }
        let Some(db) = &self.db else {
            anyhow::bail!("no run history at {}", path.display());
        };
        let mut conn = db.conn.lock().unwrap_or_else(|e| e.into_inner());
        store::append(&mut conn, &sample).map_err(|e| store::file_error(e, &path, "writing"))?;
        store::checkpoint_if_large(&conn, &path);
        Ok(())
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
