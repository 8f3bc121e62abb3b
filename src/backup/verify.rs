//! Is an archive what its manifest says, and can pg_restore read it? The sha256 of the file
//! must equal the one computed while it was written, and `pg_restore --list` must read its table
//! of contents from the decompressed stream.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};

use super::catalog::Entry;
use super::manifest::Manifest;
use super::stream;

/// The pg_restore of the archive's server major version (or newer).
pub fn pg_restore_for(m: &Manifest) -> anyhow::Result<PathBuf> {
    let major = m
        .server_version
        .split(['.', ' '])
        .next()
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    crate::clients::tools::resolve("pg_restore", major)
}

/// What the checks found: the archive's TOC entries and table-data entries.
#[derive(Debug, Clone, Copy)]
pub struct Verified {
    pub toc_entries: usize,
    pub table_data: usize,
}

/// The archive's bytes are the ones the manifest recorded: size, then sha256 (reads it all).
pub fn checksum(entry: &Entry) -> anyhow::Result<()> {
    let m = &entry.manifest;
    let len = std::fs::metadata(&entry.archive_path)
        .with_context(|| format!("backup {}: reading {}", m.id, entry.archive_path.display()))?
        .len();
    if len != m.bytes {
        bail!(
            "backup {}: the archive {} is damaged: it is {len} bytes, the manifest recorded {}",
            m.id,
            entry.archive_path.display(),
            m.bytes
        );
    }
    let sha = stream::sha256_file(&entry.archive_path)?;
    if sha != m.sha256 {
        bail!(
            "backup {}: the archive {} is damaged: its sha256 is {sha}, the manifest recorded {}\nhint: do not restore from it; use an older backup (`opsbook backup list`) and check the disk",
            m.id,
            entry.archive_path.display(),
            m.sha256
        );
    }
    Ok(())
}

/// Checksum first (cheap and decisive), then the TOC.
pub fn verify(entry: &Entry) -> anyhow::Result<Verified> {
    checksum(entry)?;
    let m = &entry.manifest;
    let toc = read_toc(&entry.archive_path, &m.compression, &pg_restore_for(m)?)
        .with_context(|| format!("backup {}: reading the table of contents", m.id))?;
    Ok(toc)
}

/// [`verify`] off the async runtime's thread (it hashes and decompresses the whole archive).
pub async fn check(entry: &Entry) -> anyhow::Result<Verified> {
    let e = entry.clone();
    tokio::task::spawn_blocking(move || verify(&e))
        .await
        .context("the verify thread failed")?
}

/// `pg_restore --list` fed the decompressed archive on stdin.
pub fn read_toc(path: &Path, compression: &str, pg_restore: &Path) -> anyhow::Result<Verified> {
    let mut plain = stream::open_plain(path, compression)?;
    let mut cmd = Command::new(pg_restore);
    crate::clients::tools::bind_to_parent(&mut cmd);
    let mut child = cmd
        .arg("--list")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", pg_restore.display()))?;
    let mut stdin = child.stdin.take().context("pg_restore stdin")?;
    // pg_restore stops reading after the TOC; a closed pipe then is success, not an error.
    let feeder = std::thread::spawn(move || -> std::io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = plain.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            match stdin.write_all(&buf[..n]) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });
    let out = child
        .wait_with_output()
        .context("running pg_restore --list")?;
    let fed = feeder.join();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "pg_restore --list could not read it: {}",
            err.trim().lines().last().unwrap_or("no message")
        );
    }
    match fed {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(e).context("decompressing the archive (truncated or damaged?)");
        }
        Err(_) => bail!("decompressing the archive failed"),
    }
    parse_toc(&out.stdout)
}

/// The entries of `pg_restore --list`'s output.
fn parse_toc(stdout: &[u8]) -> anyhow::Result<Verified> {
    let text = String::from_utf8_lossy(stdout);
    let entries: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .collect();
    // A database without a single object dumps to a header and no entries: still an archive.
    if entries.is_empty() && !text.contains("; Archive created at") {
        bail!("pg_restore --list found no entries: not a pg_dump archive");
    }
    Ok(Verified {
        toc_entries: entries.len(),
        table_data: entries
            .iter()
            .filter(|l| l.contains(" TABLE DATA "))
            .count(),
    })
}

/// `pg_restore --list` fed pg_dump's output as it is produced (a backup kept only on a remote
/// has no local file to read back): it reads the header and the table of contents, which come
/// first, and exits; what follows is not fed.
pub struct TocTap {
    stdin: Option<std::process::ChildStdin>,
    output: std::thread::JoinHandle<std::io::Result<std::process::Output>>,
}

impl TocTap {
    pub fn start(pg_restore: &Path) -> anyhow::Result<TocTap> {
        let mut cmd = Command::new(pg_restore);
        crate::clients::tools::bind_to_parent(&mut cmd);
        let mut child = cmd
            .arg("--list")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", pg_restore.display()))?;
        let stdin = child.stdin.take();
        // Its output is read while it runs: a long list must not block it (and so the dump).
        let output = std::thread::spawn(move || child.wait_with_output());
        Ok(TocTap { stdin, output })
    }

    /// Feed it `buf`; once it stopped reading (a closed pipe) nothing more is fed.
    pub fn feed(&mut self, buf: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            if stdin.write_all(buf).is_err() {
                self.stdin = None;
            }
        }
    }

    /// What it read (after the whole dump was fed, or as much as it wanted).
    pub fn finish(mut self) -> anyhow::Result<Verified> {
        self.stdin = None;
        let out = match self.output.join() {
            Ok(out) => out.context("running pg_restore --list")?,
            Err(_) => bail!("pg_restore --list: its reader thread failed"),
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!(
                "pg_restore --list could not read the dump: {}",
                err.trim().lines().last().unwrap_or("no message")
            );
        }
        parse_toc(&out.stdout)
    }
}
