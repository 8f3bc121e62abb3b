//! Bringing a remote copy back: the object downloaded within its record's size into a private
//! directory (0700, inside the backup directory: the same filesystem the restore reads from),
//! its stored sha256 checked, decrypted, and laid out as a catalog [`Entry`] so verify, the
//! restore test and restore run on it exactly as on a local backup. No path is built from a
//! raw key: the directory is ours, the file names come from a checked record.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use futures_util::StreamExt as _;
use object_store::ObjectStore as _;
use sha2::{Digest as _, Sha256};

use super::{crypt, Listing, Record};
use crate::backup::catalog::Entry;
use crate::backup::manifest::MANIFEST_SUFFIX;
use crate::clients::s3::Bucket;
use crate::config::remotes::{Encryption, Remote};

/// The record `what` names: an exact id, `<db>/latest`, or `latest` (the newest of `default_db`
/// when given, else the newest of all).
pub fn find<'a>(
    l: &'a Listing,
    what: &str,
    default_db: Option<&str>,
) -> anyhow::Result<&'a Record> {
    let newest_of = |db: &str| l.records.iter().find(|r| r.manifest.database == db);
    let found = match what {
        "latest" => default_db.and_then(newest_of).or(l.records.first()),
        w => match w.strip_suffix("/latest") {
            Some(db) => newest_of(db),
            None => l.records.iter().find(|r| r.id() == w),
        },
    };
    found.with_context(|| {
        format!("no complete backup {what:?} on the remote\nhint: `opsbook backup list --remote NAME` shows the ids")
    })
}

/// A private directory for downloads, removed on drop.
pub struct Download {
    pub dir: PathBuf,
    pub entry: Entry,
}

impl Drop for Download {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Download `r` into `backup_dir/.opsbook-remote-<pid>-<n>/`, check, decrypt: a local entry.
pub async fn download(
    bucket: &Bucket,
    r: &Record,
    enc: Option<&Encryption>,
    backup_dir: &Path,
) -> anyhow::Result<Download> {
    if r.encryption.is_some() && enc.is_none() {
        bail!(
            "{} is encrypted ({}), and remote {} has no encryption section to decrypt it with",
            r.id(),
            r.encryption.as_deref().unwrap_or(""),
            bucket.name
        );
    }
    std::fs::create_dir_all(backup_dir)
        .with_context(|| format!("creating {}", backup_dir.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = backup_dir.join(format!(".opsbook-remote-{}-{nanos}", std::process::id()));
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let archive_path = dir.join(&r.manifest.archive);
    let manifest_path = dir.join(format!(
        "{}{MANIFEST_SUFFIX}",
        r.manifest.archive.split('.').next().unwrap_or("backup")
    ));
    let dl = Download {
        dir: dir.clone(),
        entry: Entry {
            manifest: r.manifest.clone(),
            manifest_path,
            archive_path,
        },
    };

    let stored = dir.join("stored.part");
    let key = bucket.key(&r.object_rel());
    let what = || format!("remote {}: downloading {key}", bucket.name);
    let got = bucket.store.get(&key).await.with_context(what)?;
    let mut stream = got.into_stream();
    let mut file = private_file(&stored)?;
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.with_context(what)?;
        n += chunk.len() as u64;
        if n > r.stored_bytes {
            bail!(
                "remote {}: {key} is larger than the {} bytes its record names",
                bucket.name,
                r.stored_bytes
            );
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .with_context(|| format!("writing {}", stored.display()))?;
    }
    file.sync_all()?;
    let sha = crate::backup::stream::hex(&hasher.finalize());
    if sha != r.stored_sha256 || n != r.stored_bytes {
        bail!("remote {}: {key} downloads as {n} bytes sha256 {sha}; its record says {} bytes sha256 {}\nhint: the copy on the remote is damaged; use another backup", bucket.name, r.stored_bytes, r.stored_sha256);
    }
    match enc.filter(|_| r.encryption.is_some()) {
        None => std::fs::rename(&stored, &dl.entry.archive_path)?,
        Some(e) => {
            let (e, from, to) = (e.clone(), stored.clone(), dl.entry.archive_path.clone());
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let input = std::io::BufReader::new(std::fs::File::open(&from)?);
                let mut plain = crypt::decrypt(&e, input)?;
                let mut out = private_file(&to)?;
                std::io::copy(&mut plain, &mut out)
                    .context("decrypting the archive (damaged, or the wrong identity?)")?;
                out.sync_all()?;
                std::fs::remove_file(&from)?;
                Ok(())
            })
            .await??;
        }
    }
    dl.entry.manifest.save(&dl.entry.manifest_path)?;
    Ok(dl)
}

fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// The shell line that brings a globals copy (`pg_dumpall --globals-only`, SQL) back by hand:
/// download, decrypt, decompress, apply with psql as a superuser. Roles are applied to a
/// cluster, not restored as a database, so `restore` names this instead of running it.
pub fn globals_by_hand(remote: &Remote, bucket: &Bucket, r: &Record) -> String {
    let mut line = String::from("aws s3 cp");
    if let Some(e) = &remote.endpoint {
        line.push_str(&format!(" --endpoint-url {e}"));
    }
    line.push_str(&format!(
        " s3://{}/{} -",
        remote.bucket,
        bucket.key(&r.object_rel())
    ));
    if r.encryption.is_some() {
        match remote
            .encryption
            .as_ref()
            .and_then(|e| e.identity_file.as_ref())
        {
            Some(id) => line.push_str(&format!(" | age -d -i {}", id.display())),
            None => line.push_str(" | age -d"),
        }
    }
    if r.manifest.compression.starts_with("zstd") {
        line.push_str(" | zstd -dc");
    } else if r.manifest.compression.starts_with("gzip") {
        line.push_str(" | gzip -dc");
    }
    line.push_str(" | psql -U postgres");
    line
}
