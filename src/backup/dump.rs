//! Take one backup: export a snapshot, start `pg_dump --snapshot` (custom format, uncompressed)
//! and compress + hash its output in-stream into `<stamp>.dump.zst.partial` (0600) while the
//! exporting session counts every table inside the same snapshot; then fsync, verify, write the
//! manifest and rename into place. Any failure removes the partial file.

use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context as _};

use super::manifest::{Manifest, MANIFEST_SCHEMA, MANIFEST_SUFFIX};
use super::remote::tee::{self, Pending, Tee};
use super::stream::{self, Compression, CountingReader, HashingWriter};
use super::{counts, names, verify};
use crate::clients::pg::PgOptions;
use crate::clients::postgres::{PgClient, SessionTimeouts};
use crate::clients::s3::Bucket;
use crate::clients::tools;
use crate::config::remotes::Encryption;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

pub struct Request {
    pub options: PgOptions,
    pub dir: PathBuf,
    pub compression: Compression,
    pub threads: u32,
    pub timeouts: SessionTimeouts,
    pub progress: bool,
    /// SIGINT/SIGTERM: stops pg_dump; the partial file is removed.
    pub interrupt: crate::interrupt::Interrupt,
}

/// What was written.
pub struct Written {
    pub manifest: Manifest,
    pub archive_path: PathBuf,
    pub manifest_path: PathBuf,
}

/// Removes the partial file unless the backup was committed.
pub(super) struct Partial {
    pub(super) path: PathBuf,
    pub(super) committed: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The archive a backup started at `started` writes in `dir`: its stamp (one no archive or
/// partial file in `dir` has), its name (the stamp and `suffix`), its final path, and the
/// `.partial` it is written to.
pub(super) fn fresh_archive(
    dir: &Path,
    started: SystemTime,
    suffix: &str,
) -> (String, String, PathBuf, Partial) {
    let stamp = free_stamp(dir, &crate::timefmt::backup_stamp(started), suffix);
    let archive_name = format!("{stamp}{suffix}");
    let partial = Partial {
        path: dir.join(format!("{archive_name}.partial")),
        committed: false,
    };
    let archive_path = dir.join(&archive_name);
    (stamp, archive_name, archive_path, partial)
}

/// Create (0700) and lock a database's backup directory: nothing else may write or remove
/// files in it while the returned lock lives.
pub fn lock_db_dir(dir: &Path, what: &str) -> anyhow::Result<super::lock::Lock> {
    create_db_dir(dir)?;
    super::lock::acquire_dir(dir, what)
}

fn create_db_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating the backup directory {}", dir.display()))
}

/// A stamp not yet used in `dir` (two backups in one second get `-1`, `-2`).
fn free_stamp(dir: &Path, base: &str, suffix: &str) -> String {
    let mut stamp = base.to_string();
    let mut n = 0;
    while dir.join(format!("{stamp}{suffix}")).exists()
        || dir.join(format!("{stamp}{suffix}.partial")).exists()
        || dir.join(format!("{stamp}{MANIFEST_SUFFIX}")).exists()
    {
        n += 1;
        stamp = format!("{base}-{n}");
    }
    stamp
}

/// Where a dump's compressed bytes go: the local `.partial` file, the remote's upload, or both;
/// and, when there is no local file to read back, `pg_restore --list` fed pg_dump's output.
pub(super) struct Outputs {
    pub(super) partial: Option<PathBuf>,
    pub(super) remote: Option<Tee>,
    pub(super) toc: Option<verify::TocTap>,
}

/// What [`write_archive`] wrote: sha256 and bytes of the compressed stream, pg_dump's bytes,
/// and the table of contents the tap read.
pub(super) struct Streamed {
    pub(super) sha256: String,
    pub(super) bytes: u64,
    pub(super) dump_bytes: u64,
    pub(super) toc: Option<anyhow::Result<verify::Verified>>,
}

/// The compressed stream's writer: the file (buffered, written back as it goes) and the tee.
struct Fanout {
    file: Option<BufWriter<stream::WritebackFile>>,
    remote: Option<Tee>,
}

impl Write for Fanout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(f) = &mut self.file {
            f.write_all(buf)?;
        }
        if let Some(r) = &mut self.remote {
            r.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// pg_dump's output on its way to the compressor, also fed to the TOC tap.
struct Tapped<R: Read> {
    inner: R,
    toc: Option<verify::TocTap>,
}

impl<R: Read> Read for Tapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(t) = &mut self.toc {
            t.feed(&buf[..n]);
        }
        Ok(n)
    }
}

/// Run `cmd`, stream its stdout through the compressor into `out`. Blocking.
fn write_archive(
    mut cmd: std::process::Command,
    what: &str,
    out: Outputs,
    compression: Compression,
    threads: u32,
    progress: bool,
    running: &AtomicU32,
) -> anyhow::Result<Streamed> {
    let place = out.partial.clone();
    let dir = place
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let file = match &out.partial {
        None => None,
        Some(partial) => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(partial)
                .with_context(|| format!("{what}: creating {}", partial.display()))
                .map_err(|e| {
                    let hint = e
                        .downcast_ref::<std::io::Error>()
                        .map(|io| stream::write_error_hint(io, &dir))
                        .unwrap_or_default();
                    e.context(format!("hint: {hint}"))
                })?,
        ),
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{what}: starting the dump tool"))?;
    running.store(child.id(), Ordering::SeqCst);
    let stdout = child.stdout.take().context("dump tool stdout")?;
    let mut stderr = child.stderr.take().context("dump tool stderr")?;
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let bar = progress.then(|| {
        let pb = indicatif::ProgressBar::with_draw_target(
            None,
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} {bytes} dumped ({bytes_per_sec}), {elapsed}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        pb.set_message(what.to_string());
        pb
    });
    let mut input = Tapped {
        inner: CountingReader {
            inner: stdout,
            bytes: 0,
            progress: |n| {
                if let Some(pb) = &bar {
                    pb.set_position(n);
                }
            },
        },
        toc: out.toc,
    };
    let sink = HashingWriter::new(Fanout {
        file: file.map(|f| BufWriter::with_capacity(1 << 20, stream::WritebackFile::new(f))),
        remote: out.remote,
    });
    let written = stream::compress_into(&mut input, sink, compression, threads);
    let dump_bytes = input.inner.bytes;
    let toc = input.toc.take();
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let finished = written.and_then(|w| {
        let (fanout, sha, bytes) = w.finish();
        if let Some(buf) = fanout.file {
            let file = buf.into_inner().map_err(|e| e.into_error())?.into_inner();
            file.sync_all()?;
        }
        if let Some(tee) = fanout.remote {
            tee.finish()?;
        }
        Ok((sha, bytes))
    });
    let (sha, bytes) = match finished {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            running.store(0, Ordering::SeqCst);
            drop(toc);
            let hint = stream::write_error_hint(&e, &dir);
            let into = match &place {
                Some(p) => format!("{what}: writing {}", p.display()),
                None => format!("{what}: streaming to the remote"),
            };
            let cleanup = if place.is_some() {
                "; the partial file was removed"
            } else {
                ""
            };
            return Err(anyhow::Error::from(e)
                .context(format!("hint: {hint}{cleanup}"))
                .context(into));
        }
    };
    let status = child.wait();
    running.store(0, Ordering::SeqCst);
    let status = status.with_context(|| format!("{what}: waiting for the dump tool"))?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        let last: Vec<&str> = errors.trim().lines().rev().take(3).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        bail!(
            "{what} failed ({status}): {}\nhint: the partial file was removed; fix the cause above and run the backup again",
            if last.is_empty() {
                "no message".to_string()
            } else {
                last.join(" / ")
            }
        );
    }
    Ok(Streamed {
        sha256: sha,
        bytes,
        dump_bytes,
        toc: toc.map(verify::TocTap::finish),
    })
}

pub(super) fn fsync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

/// A remote a backup is streamed to while it is written (`backup --remote NAME`).
pub struct Offsite<'a> {
    pub bucket: &'a Bucket,
    pub enc: Option<&'a Encryption>,
    /// false for `--remote-only`: nothing is kept in the backup directory.
    pub keep_local: bool,
}

/// The backup failed because the upload of a `--remote-only` backup stopped (the reason is
/// the error it is attached to): a failed off-site copy, not a failed dump.
#[derive(Debug)]
pub struct RemoteOnlyFailed;

impl std::fmt::Display for RemoteOnlyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no copy was kept (--remote-only)")
    }
}

/// Start the remote's upload of `archive` (in the directory `dir` of the bucket).
async fn start_offsite(
    o: Option<&Offsite<'_>>,
    dir: &str,
    archive: &str,
    interrupt: &crate::interrupt::Interrupt,
) -> anyhow::Result<(Option<Tee>, Option<Pending>)> {
    let Some(o) = o else {
        return Ok((None, None));
    };
    match tee::start(o.bucket, dir, archive, o.enc, !o.keep_local, interrupt).await {
        Ok((t, p)) => Ok((Some(t), Some(p))),
        // The local backup goes on; the copy's failure is reported when it is committed.
        Err(e) if o.keep_local => Ok((None, Some(Pending::failed(e, interrupt)))),
        Err(e) => Err(e.context(RemoteOnlyFailed)),
    }
}

/// Abort the remote upload of a backup that failed with `e`; when the upload failed first
/// and stopped the dump (`--remote-only`), its error is the reason.
async fn abort_offsite(pending: Option<Pending>, e: anyhow::Error) -> anyhow::Error {
    let Some(p) = pending else { return e };
    let upload = p.abort().await;
    let stopped_by_upload = e.chain().any(|c| c.to_string().contains(tee::STOPPED));
    match upload {
        Some(u) if stopped_by_upload && !crate::interrupt::is_interrupted(&e) => {
            u.context(RemoteOnlyFailed)
        }
        _ => e,
    }
}

/// One database: snapshot, dump + counts in parallel, verify, commit.
pub async fn database(req: &Request) -> anyhow::Result<Written> {
    Ok(database_offsite(req, None).await?.0)
}

/// [`database`], its archive also streamed to a remote while it is written: the upload is
/// returned pending, to be completed ([`Pending::commit`]) once the backup is committed.
pub async fn database_offsite(
    req: &Request,
    offsite: Option<&Offsite<'_>>,
) -> anyhow::Result<(Written, Option<Pending>)> {
    let keep_local = offsite.is_none_or(|o| o.keep_local);
    let db = req.options.dbname().to_string();
    let started = SystemTime::now();
    let clock = Instant::now();
    let pg = PgClient::connect(&req.options, req.timeouts)
        .await
        .with_context(|| {
            format!("backup of {db}: cannot reach the database; nothing was written\nhint: check that PostgreSQL is up and that --pg / the config / PG* name the right server (`opsbook check morning` shows what it reaches)")
        })?;
    let pg_dump = tools::resolve("pg_dump", pg.major())?;
    let pg_dump_version = tools::tool_version(&pg_dump).unwrap_or_default();
    let pg_restore = tools::resolve("pg_restore", pg.major())?;
    pg.client
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
             SET LOCAL statement_timeout = 0; \
             SET LOCAL idle_in_transaction_session_timeout = 0",
        )
        .await
        .with_context(|| format!("backup of {db}: opening the snapshot transaction"))?;
    let snapshot: String = pg
        .client
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .with_context(|| format!("backup of {db}: exporting a snapshot"))?
        .try_get(0)?;

    let db_dir = names::db_dir(&req.dir, &db);
    create_db_dir(&db_dir)?;
    let suffix = req.compression.suffix();
    let (stamp, archive_name, archive_path, mut partial) = fresh_archive(&db_dir, started, suffix);
    let dir_name = names::db_dir_name(&db);
    let (remote, mut pending) =
        match start_offsite(offsite, &dir_name, &archive_name, &req.interrupt).await {
            Ok(v) => v,
            Err(e) => {
                let _ = pg.client.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        };
    let toc = match keep_local {
        true => None,
        false => match verify::TocTap::start(&pg_restore) {
            Ok(t) => Some(t),
            Err(e) => return Err(abort_offsite(pending, e).await),
        },
    };
    let out = Outputs {
        partial: keep_local.then(|| partial.path.clone()),
        remote,
        toc,
    };

    let mut cmd = tools::std_command(&pg_dump, &req.options);
    cmd.args(["--format=custom", "--compress=0", "--snapshot", &snapshot]);
    let what = format!("backup of {db}");
    let (compression, threads, progress) = (req.compression, req.threads, req.progress);
    let running = Arc::new(AtomicU32::new(0));
    let pid = running.clone();
    let dump = tokio::task::spawn_blocking(move || {
        write_archive(cmd, &what, out, compression, threads, progress, &pid)
    });
    tokio::pin!(dump);
    // Counted inside the exported snapshot while pg_dump reads the same one.
    let both = req
        .interrupt
        .guard(async {
            crate::interrupt::test_pause("backup.dump").await;
            let counted = counts::count_tables(&pg.client).await;
            (counted, (&mut dump).await)
        })
        .await;
    let (counted, dumped) = match both {
        Ok(v) => v,
        Err(i) => {
            let pid = running.load(Ordering::SeqCst);
            if pid != 0 {
                // SAFETY: our own child, not yet reaped (the thread zeroes it once it is).
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            }
            // Let the thread let go of the partial file; `partial` then removes it.
            let _ = (&mut dump).await;
            let _ = pg.client.batch_execute("ROLLBACK").await;
            let e = anyhow::Error::from(i).context(format!(
                "backup of {db}: pg_dump was stopped and the partial file removed"
            ));
            return Err(abort_offsite(pending, e).await);
        }
    };
    let _ = pg.client.batch_execute("COMMIT").await;
    let written = match dumped.context("the dump thread failed").and_then(|d| d) {
        Ok(w) => w,
        Err(e) => return Err(abort_offsite(pending, e).await),
    };
    let tables = match counted.with_context(|| format!("backup of {db}: counting rows")) {
        Ok(t) => t,
        Err(e) => return Err(abort_offsite(pending, e).await),
    };
    let finished = SystemTime::now();

    let mut manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_string(),
        id: format!("{db}/{stamp}"),
        kind: "database".to_string(),
        database: db.clone(),
        archive: archive_name,
        compression: req.compression.to_string(),
        server_version: pg.version.clone(),
        pg_dump_version,
        started_at: crate::timefmt::rfc3339(started),
        finished_at: crate::timefmt::rfc3339(finished),
        started_unix: crate::timefmt::unix(started),
        duration_ms: clock.elapsed().as_millis() as u64,
        bytes: written.bytes,
        dump_bytes: written.dump_bytes,
        sha256: written.sha256,
        snapshot: Some(snapshot),
        tables,
        verified: false,
        verified_at: None,
        redis: None,
    };

    let checked = if keep_local {
        // Verify the bytes on disk before they become a backup anyone can restore from.
        let check_path = partial.path.clone();
        let m = manifest.clone();
        let pg_restore = pg_restore.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let sha = stream::sha256_file(&check_path)?;
            if sha != m.sha256 {
                bail!(
                    "the archive read back from disk does not match what was written (sha256 {sha} vs {}): the disk or filesystem is corrupting data",
                    m.sha256
                );
            }
            verify::read_toc(&check_path, &m.compression, &pg_restore)?;
            Ok(())
        })
        .await
        .context("the verify thread failed")
        .and_then(|r| r)
        .with_context(|| format!("backup of {db}: verifying {}", partial.path.display()))
    } else {
        // No local file: pg_restore read the table of contents from pg_dump's own stream, and
        // the remote's checksum proves the stored bytes (Pending::commit).
        match written.toc {
            Some(t) => t.map(|_| ()),
            None => Err(anyhow::anyhow!("no table of contents was read")),
        }
        .with_context(|| format!("backup of {db}: reading pg_dump's table of contents"))
    };
    if let Err(e) = checked {
        return Err(abort_offsite(pending.take(), e).await);
    }
    manifest.verified = true;
    manifest.verified_at = Some(crate::timefmt::rfc3339(SystemTime::now()));

    let manifest_path = db_dir.join(format!("{stamp}{MANIFEST_SUFFIX}"));
    if keep_local {
        let committed = std::fs::rename(&partial.path, &archive_path)
            .with_context(|| format!("backup of {db}: renaming into {}", archive_path.display()));
        if let Err(e) = committed {
            return Err(abort_offsite(pending, e).await);
        }
        partial.committed = true;
        if let Err(e) = manifest.save(&manifest_path) {
            let _ = std::fs::remove_file(&archive_path);
            let e = e.context(format!("backup of {db}: writing the manifest"));
            return Err(abort_offsite(pending, e).await);
        }
        if let Err(e) = fsync_dir(&db_dir) {
            return Err(abort_offsite(pending, e).await);
        }
    }
    Ok((
        Written {
            manifest,
            archive_path,
            manifest_path,
        },
        pending,
    ))
}

/// Roles and tablespaces (`pg_dumpall --globals-only`): `<dir>/_globals/<stamp>.globals.sql[.zst]`,
/// also streamed to the remote when `offsite` names one (then pending, like [`database_offsite`]).
pub async fn globals(
    req: &Request,
    server_major: u32,
    server_version: &str,
    offsite: Option<&Offsite<'_>>,
) -> anyhow::Result<(Written, Option<Pending>)> {
    let keep_local = offsite.is_none_or(|o| o.keep_local);
    let started = SystemTime::now();
    let clock = Instant::now();
    let tool = tools::resolve("pg_dumpall", server_major)?;
    let version = tools::tool_version(&tool).unwrap_or_default();
    let dir = req.dir.join(names::GLOBALS_DIR);
    create_db_dir(&dir)?;
    let suffix = match req.compression {
        Compression::Zstd(_) => ".globals.sql.zst",
        Compression::Gzip(_) => ".globals.sql.gz",
        Compression::None => ".globals.sql",
    };
    let (stamp, archive_name, archive_path, mut partial) = fresh_archive(&dir, started, suffix);
    let (remote, pending) =
        start_offsite(offsite, names::GLOBALS_DIR, &archive_name, &req.interrupt).await?;
    let mut cmd = tools::std_command(&tool, &req.options);
    cmd.arg("--globals-only");
    let out = Outputs {
        partial: keep_local.then(|| partial.path.clone()),
        remote,
        toc: None,
    };
    let (compression, threads) = (req.compression, req.threads);
    let dumped = tokio::task::spawn_blocking(move || {
        write_archive(
            cmd,
            "backup of the globals (pg_dumpall --globals-only)",
            out,
            compression,
            threads,
            false,
            // Milliseconds of work: not worth stopping half-way.
            &AtomicU32::new(0),
        )
    })
    .await
    .context("the dump thread failed")
    .and_then(|r| r);
    let written = match dumped {
        Ok(w) => w,
        Err(e) => return Err(abort_offsite(pending, e).await),
    };
    if keep_local {
        let read_back = match stream::sha256_file(&partial.path) {
            Ok(sha) => sha,
            Err(e) => return Err(abort_offsite(pending, e).await),
        };
        if read_back != written.sha256 {
            let e = anyhow::anyhow!(
                "the globals file read back from disk does not match what was written"
            );
            return Err(abort_offsite(pending, e).await);
        }
    }
    let finished = SystemTime::now();
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_string(),
        id: format!("{}/{stamp}", names::GLOBALS_DIR),
        kind: "globals".to_string(),
        database: names::GLOBALS_DIR.to_string(),
        archive: archive_name,
        compression: req.compression.to_string(),
        server_version: server_version.to_string(),
        pg_dump_version: version,
        started_at: crate::timefmt::rfc3339(started),
        finished_at: crate::timefmt::rfc3339(finished),
        started_unix: crate::timefmt::unix(started),
        duration_ms: clock.elapsed().as_millis() as u64,
        bytes: written.bytes,
        dump_bytes: written.dump_bytes,
        sha256: written.sha256,
        snapshot: None,
        tables: vec![],
        verified: true,
        verified_at: Some(crate::timefmt::rfc3339(finished)),
        redis: None,
    };
    let manifest_path = dir.join(format!("{stamp}{MANIFEST_SUFFIX}"));
    if keep_local {
        let committed = std::fs::rename(&partial.path, &archive_path)
            .with_context(|| format!("renaming into {}", archive_path.display()))
            .and_then(|()| {
                partial.committed = true;
                manifest.save(&manifest_path)
            })
            .and_then(|()| fsync_dir(&dir));
        if let Err(e) = committed {
            return Err(abort_offsite(pending, e).await);
        }
    }
    Ok((
        Written {
            manifest,
            archive_path,
            manifest_path,
        },
        pending,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_never_collide() {
        let dir = std::env::temp_dir().join(format!("opsbook-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(
            free_stamp(&dir, "20261123T010000Z", ".dump.zst"),
            "20261123T010000Z"
        );
        std::fs::write(dir.join("20261123T010000Z.dump.zst.partial"), b"").unwrap();
        assert_eq!(
            free_stamp(&dir, "20261123T010000Z", ".dump.zst"),
            "20261123T010000Z-1"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
