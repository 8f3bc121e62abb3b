//! `backup verify --restore-test`: a real restore into a throwaway cluster (the sandbox's
//! initdb + pg_ctl on a free loopback port, under a temp dir, removed afterwards), whose row
//! counts must equal the manifest's. Production is never touched.
//!
//! The cluster comes from the caller (`commands::backup` passes `sandbox::scratch_cluster`)
//! through [`ScratchCluster`]: backups do not depend on the sandbox.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;

use super::catalog::Entry;
use super::{counts, pgrestore};
use crate::clients::pg::PgOptions;
use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::interrupt::Interrupt;
use crate::progress::Phase;

/// A throwaway PostgreSQL cluster on loopback that dies with this process: what a restore
/// test restores into. Its blocking methods run on `spawn_blocking` threads.
pub trait ScratchCluster: Clone + Send + Sync + 'static {
    fn create_database(&self, name: &str) -> anyhow::Result<()>;
    /// A URL for `db` without a password (it comes from [`ScratchCluster::pgpass_path`]).
    fn pg_url(&self, db: &str) -> String;
    fn pgpass_path(&self) -> PathBuf;
    /// The cluster's own directory (scratch room for the restore).
    fn dir(&self) -> &Path;
    /// Where its server's binaries (and so a matching pg_restore) are.
    fn bindir(&self) -> &Path;
    /// Stop the server and remove the directory.
    fn down(&self) -> anyhow::Result<()>;
}

/// Starts a [`ScratchCluster`] in the given (not yet existing) directory, owned by this process.
pub type StartCluster<C> = fn(PathBuf) -> anyhow::Result<C>;

/// The database the archive is restored into in the throwaway cluster: a name of its own, so
/// that a backup of any database (`postgres`, which every new cluster already has, included)
/// restores the same way. pg_restore without `--create` puts the objects into the database it
/// connects to; the manifest's counts are per table, not per database name.
pub const RESTORE_TEST_DB: &str = "opsbook_restore_test";

/// Marks an error of opsbook's own throwaway cluster (starting it, creating the database in
/// it, removing it) rather than of restoring the archive: such a failure says nothing about
/// the backup.
#[derive(Debug)]
pub struct ScratchFailed;

impl std::fmt::Display for ScratchFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("opsbook's throwaway cluster for the restore test failed")
    }
}

/// Did the restore test fail in its throwaway cluster rather than in restoring the archive?
pub fn is_scratch_failure(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ScratchFailed>().is_some()
}

pub struct Outcome {
    pub tables: usize,
    pub rows: i64,
    pub differences: Vec<String>,
    pub restore_ms: u64,
    pub server_version: String,
}

/// Restore `entry` into a fresh cluster (made by `start`) and compare its counts; the cluster
/// is always removed.
pub async fn run<C: ScratchCluster>(
    start: StartCluster<C>,
    entry: &Entry,
    jobs: u32,
    timeouts: SessionTimeouts,
    progress: bool,
    interrupt: &Interrupt,
) -> anyhow::Result<Outcome> {
    let dir = std::env::temp_dir().join(format!("opsbook-restore-test-{}", std::process::id()));
    let phase = Phase::start_if(progress, "starting a throwaway PostgreSQL cluster");
    let up = tokio::task::spawn_blocking(move || start(dir));
    tokio::pin!(up);
    let started = interrupt.guard(&mut up).await;
    phase.finish();
    let sb = match started {
        Ok(started) => started
            .context("the cluster thread failed")?
            .context("starting the throwaway cluster for the restore test")
            .context(ScratchFailed)?,
        Err(i) => {
            // The cluster may still come up: let it, then remove it.
            if let Ok(Ok(sb)) = up.await {
                let _ = tokio::task::spawn_blocking(move || sb.down()).await;
            }
            return Err(i.into());
        }
    };
    // Every await inside is raced with the signal; the cluster is removed whatever happens.
    let result = restore_and_count(&sb, entry, jobs, timeouts, progress, interrupt).await;
    let phase = Phase::start_if(progress, "removing the throwaway cluster");
    let down = {
        let sb = sb.clone();
        tokio::task::spawn_blocking(move || sb.down()).await
    };
    phase.finish();
    let outcome = result?;
    down.context("the cluster thread failed")?
        .context("removing the throwaway cluster of the restore test")
        .context(ScratchFailed)?;
    Ok(outcome)
}

async fn restore_and_count<C: ScratchCluster>(
    sb: &C,
    entry: &Entry,
    jobs: u32,
    timeouts: SessionTimeouts,
    progress: bool,
    interrupt: &Interrupt,
) -> anyhow::Result<Outcome> {
    let db = RESTORE_TEST_DB.to_string();
    {
        let sb = sb.clone();
        let db = db.clone();
        interrupt
            .run(async move {
                tokio::task::spawn_blocking(move || sb.create_database(&db))
                    .await
                    .context("the cluster thread failed")?
                    .context(ScratchFailed)
            })
            .await?;
    }
    let pgpass = sb.pgpass_path().to_string_lossy().into_owned();
    let env = move |k: &str| match k {
        "PGPASSFILE" => Some(pgpass.clone()),
        "PGSSLMODE" => Some("disable".to_string()),
        _ => None,
    };
    let options = PgOptions::resolve(Some(&sb.pg_url(&db)), None, None, &env)?;
    let started = Instant::now();
    pgrestore::run(
        pgrestore::Job {
            entry,
            options: options.clone(),
            jobs,
            no_owner: true,
            scratch_dir: sb.dir().to_path_buf(),
            progress,
            pg_restore: Some(sb.bindir().join("pg_restore")),
            pause_at: "verify.restore_test",
        },
        interrupt,
    )
    .await
    .with_context(|| format!("restore test of {}", entry.manifest.id))?;
    let restore_ms = started.elapsed().as_millis() as u64;
    let phase = Phase::start_if(progress, "counting the restored rows");
    let (pg, actual) = interrupt
        .run(async {
            let pg = PgClient::connect(&options, timeouts).await?;
            pg.client
                .batch_execute("SET statement_timeout = 0")
                .await
                .context("restore test: preparing to count")?;
            crate::interrupt::test_pause("verify.restore_test.compare").await;
            let actual = counts::count_tables(&pg.client)
                .await
                .with_context(|| format!("restore test of {}: counting rows", entry.manifest.id))?;
            Ok((pg, actual))
        })
        .await?;
    phase.finish();
    Ok(Outcome {
        tables: actual.len(),
        rows: actual.iter().map(|t| t.rows).sum(),
        differences: counts::compare(&entry.manifest.tables, &actual),
        restore_ms,
        server_version: pg.version.clone(),
    })
}
