//! Load an archive into an existing, empty database with pg_restore: streamed decompressed on
//! stdin with one job, or from a plain (decompressed) file with `-j N`. `--exit-on-error`, so a
//! restore that did not fully succeed never looks like one. SIGINT stops pg_restore at once.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context as _};

use super::catalog::Entry;
use super::stream;
use super::verify;
use crate::clients::pg::PgOptions;
use crate::clients::tools;
use crate::interrupt::Interrupt;

pub struct Job<'a> {
    pub entry: &'a Entry,
    /// Connection options naming the database to load into.
    pub options: PgOptions,
    pub jobs: u32,
    /// Restore into a cluster without the original roles (the restore test).
    pub no_owner: bool,
    /// Where a decompressed copy may go when `jobs > 1` (removed afterwards).
    pub scratch_dir: PathBuf,
    pub progress: bool,
    /// A pg_restore for the target server (default: the archive's major or newer).
    pub pg_restore: Option<PathBuf>,
    /// The phase name of the load for the test-only pause hook (`interrupt::test_pause`).
    pub pause_at: &'static str,
}

/// Where the decompressed copy of a parallel restore goes: next to the archive, in the backup
/// directory, where the next run finds it if this one is killed (`leftovers`).
pub fn scratch_dir_of(entry: &Entry) -> PathBuf {
    entry
        .archive_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `dbname='...'` for `--dbname`: a name with `=` or spaces must not be read as a conninfo.
fn conninfo_dbname(db: &str) -> String {
    format!("dbname='{}'", db.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Removes the decompressed scratch copy however the restore ends.
struct Scratch(Option<PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn bar(progress: bool, len: u64, msg: &str) -> Option<indicatif::ProgressBar> {
    progress.then(|| {
        let pb = indicatif::ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message(msg.to_string());
        pb
    })
}

/// A reader that fails once a signal has arrived, so a blocking copy stops within one buffer.
struct StopReader<R> {
    inner: R,
    stop: Interrupt,
}

impl<R: std::io::Read> std::io::Read for StopReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Err(i) = self.stop.check() {
            return Err(std::io::Error::other(i));
        }
        self.inner.read(buf)
    }
}

/// Decompress the archive into `scratch_dir` (0600) so pg_restore can seek in it; a signal
/// stops it and removes the partial copy.
fn decompress_to(
    entry: &Entry,
    dir: &Path,
    progress: bool,
    stop: Interrupt,
) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!(
        "{}{}-{}.dump",
        super::leftovers::SCRATCH_PREFIX,
        std::process::id(),
        super::names::db_dir_name(&entry.manifest.id)
    ));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating the scratch copy {}", path.display()))?;
    let pb = bar(progress, entry.manifest.dump_bytes, "decompressing");
    let mut input = stream::CountingReader {
        inner: StopReader {
            inner: stream::open_plain(&entry.archive_path, &entry.manifest.compression)?,
            stop,
        },
        bytes: 0,
        progress: |n| {
            if let Some(pb) = &pb {
                pb.set_position(n);
            }
        },
    };
    let copied = std::io::copy(&mut input, &mut out).and_then(|_| out.flush());
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&path);
        let hint = stream::write_error_hint(&e, dir);
        return Err(anyhow::Error::from(e)
            .context(format!("hint: {hint}"))
            .context(format!(
                "decompressing {} for a parallel restore",
                entry.manifest.id
            )));
    }
    Ok(path)
}

/// Run pg_restore to completion, or stop it on `interrupt`.
pub async fn run(job: Job<'_>, interrupt: &Interrupt) -> anyhow::Result<()> {
    let m = &job.entry.manifest;
    let pg_restore = match &job.pg_restore {
        Some(p) => p.clone(),
        None => verify::pg_restore_for(m)?,
    };
    let db = job.options.dbname().to_string();
    let mut scratch = Scratch(None);
    let file = if job.jobs > 1 {
        if m.compression == "none" {
            Some(job.entry.archive_path.clone())
        } else {
            let (entry, dir, progress) = (job.entry.clone(), job.scratch_dir.clone(), job.progress);
            let stop = interrupt.clone();
            let decompressing =
                tokio::task::spawn_blocking(move || decompress_to(&entry, &dir, progress, stop));
            tokio::pin!(decompressing);
            let p = match interrupt.guard(&mut decompressing).await {
                Ok(done) => done.context("the decompression thread failed")??,
                Err(i) => {
                    // The thread stops at its next read and removes its copy; had it just
                    // finished, the copy is removed here.
                    if let Ok(Ok(p)) = decompressing.await {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(i.into());
                }
            };
            scratch.0 = Some(p.clone());
            Some(p)
        }
    } else {
        None
    };
    interrupt.check()?;

    let mut cmd = tools::std_command(&pg_restore, &job.options);
    cmd.arg("--exit-on-error")
        .arg(format!("--dbname={}", conninfo_dbname(&db)));
    if job.no_owner {
        cmd.args(["--no-owner", "--no-privileges"]);
    }
    match &file {
        Some(f) => {
            cmd.arg(format!("--jobs={}", job.jobs)).arg(f);
            cmd.stdin(Stdio::null());
        }
        None => {
            cmd.stdin(Stdio::piped());
        }
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", pg_restore.display()))?;
    let pid = child.id();
    // Stop the child and wait for it: after this no pg_restore writes into the database.
    let stop = |child: &mut std::process::Child| {
        let _ = child.kill();
        let _ = child.wait();
    };
    if let Err(i) = interrupt
        .guard(crate::interrupt::test_pause(job.pause_at))
        .await
    {
        stop(&mut child);
        return Err(i.into());
    }
    let stdin = child.stdin.take();
    let mut stderr = child.stderr.take().context("pg_restore stderr")?;
    let (entry, progress) = (job.entry.clone(), job.progress);
    let jobs = job.jobs;
    let work = tokio::task::spawn_blocking(
        move || -> anyhow::Result<(std::process::ExitStatus, String, Option<std::io::Error>)> {
            let errors = std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            });
            let mut fed_err = None;
            if let Some(mut stdin) = stdin {
                let pb = bar(progress, entry.manifest.bytes, "restoring");
                let file = std::fs::File::open(&entry.archive_path)
                    .with_context(|| format!("opening {}", entry.archive_path.display()))?;
                let counted = stream::CountingReader {
                    inner: std::io::BufReader::with_capacity(1 << 20, file),
                    bytes: 0,
                    progress: move |n| {
                        if let Some(pb) = &pb {
                            pb.set_position(n);
                            if n >= pb.length().unwrap_or(u64::MAX) {
                                pb.finish_and_clear();
                            }
                        }
                    },
                };
                let mut plain = stream::decoder(counted, &entry.manifest.compression)?;
                if let Err(e) = std::io::copy(&mut plain, &mut stdin) {
                    fed_err = Some(e);
                }
                drop(stdin);
            }
            // The bar ends when the archive is read; pg_restore then still builds the indexes
            // and constraints (with --jobs there is no bar at all): say so instead of a silence.
            let _phase = crate::progress::Phase::start_if(
                progress,
                if jobs > 1 {
                    format!("pg_restore --jobs {jobs}: loading {}", entry.manifest.id)
                } else {
                    "pg_restore: building indexes and constraints".to_string()
                },
            );
            let status = child.wait().context("waiting for pg_restore")?;
            let errors = errors.join().unwrap_or_default();
            Ok((status, errors, fed_err))
        },
    );
    tokio::pin!(work);
    let outcome = match interrupt.guard(&mut work).await {
        Ok(r) => r,
        Err(i) => {
            // SAFETY: signalling our own child by pid; it has not been reaped (the blocking
            // task still waits on it).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
            let _ = work.await;
            return Err(anyhow::Error::from(i).context("pg_restore was stopped"));
        }
    };
    let (status, errors, fed_err) = outcome.context("the pg_restore thread failed")??;
    if !status.success() {
        let last: Vec<&str> = errors.trim().lines().rev().take(3).collect();
        let last: Vec<&str> = last.into_iter().rev().collect();
        bail!(
            "pg_restore into {db} failed ({status}): {}",
            if last.is_empty() {
                "no message".to_string()
            } else {
                last.join(" / ")
            }
        );
    }
    if let Some(e) = fed_err {
        // pg_restore succeeded yet did not read everything: the stream was damaged.
        return Err(anyhow::Error::from(e).context(format!(
            "reading the archive of {} (truncated or damaged?)",
            m.id
        )));
    }
    Ok(())
}
