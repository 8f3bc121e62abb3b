//! Off-site copies of opsbook's backups in an S3-compatible bucket (`remotes:` in the config).
//!
//! Layout under the remote's prefix, the same as a backup directory's:
//! `<db dir>/<stamp>.dump.zst[.age]` (the archive, age-encrypted when the remote says so) and
//! `<db dir>/<stamp>.remote.json` (the [`Record`]: the backup's manifest plus what the bucket
//! stores). `backup --remote` streams the archive while it is written ([`tee`]), in parts
//! ([`parts`]); the upload is completed only after the backup was verified, the stored bytes
//! are proven equal to the ones sent (the multipart ETag, else a read-back), and the record is
//! uploaded LAST, so a refused or interrupted upload leaves nothing a listing calls complete:
//! a backup on the remote is a record whose archive exists. Keys and records read from the
//! bucket are data: ids are checked like local ones, objects are read within the record's size.

pub mod audit;
pub mod crypt;
pub mod fetch;
pub mod findings;
pub mod parts;
pub mod prune;
pub mod tee;

use std::time::SystemTime;

use anyhow::{bail, Context as _};
use futures_util::StreamExt as _;
use object_store::ObjectStore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use super::manifest::{Manifest, MANIFEST_MAX_BYTES};
use super::names;
use crate::clients::s3::Bucket;
use crate::config::remotes::{Encryption, Remotes};

pub const RECORD_SCHEMA: &str = "opsbook.remote/v1";
pub const RECORD_SUFFIX: &str = ".remote.json";
const READ_CHUNK: usize = 1 << 20;

/// The remote `name` of the config, opened (not yet contacted), and its encryption.
pub fn open(
    remotes: &Remotes,
    name: &str,
    connect_timeout: std::time::Duration,
) -> anyhow::Result<(Bucket, Option<Encryption>)> {
    let Some(remote) = remotes.get(name) else {
        let known: Vec<&str> = remotes.keys().map(String::as_str).collect();
        bail!(
            "no remote named {name:?} in the config\nhint: {}",
            if known.is_empty() {
                "add a `remotes:` section (commands/config.md)".to_string()
            } else {
                format!("the config names: {}", known.join(", "))
            }
        );
    };
    Ok((
        Bucket::open(name, remote, connect_timeout)?,
        remote.encryption.clone(),
    ))
}

/// What the remote holds of one backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub schema: String,
    /// The archive's object name, in the record's own directory.
    pub object: String,
    /// Bytes and sha256 of the object as stored (the ciphertext when encrypted).
    pub stored_bytes: u64,
    pub stored_sha256: String,
    /// How the stored bytes were proven to be the ones sent: `multipart-etag` (the remote's
    /// ETag equals the one computed from the parts sent) or `read-back` (read and hashed).
    #[serde(default = "read_back")]
    pub stored_check: String,
    /// `age-x25519`, `age-passphrase`, or none.
    pub encryption: Option<String>,
    pub uploaded_at: String,
    pub uploaded_unix: i64,
    pub manifest: Manifest,
}

fn read_back() -> String {
    CHECK_READ_BACK.to_string()
}

impl Record {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }
    fn dir(&self) -> String {
        self.manifest.dir_name()
    }
    /// The archive's key relative to the prefix.
    pub fn object_rel(&self) -> String {
        format!("{}/{}", self.dir(), self.object)
    }
}

/// Copy a backup already written (its archive at `archive`, its manifest `m`) to the bucket:
/// read once, encrypted on the way when `enc` is set, uploaded in parts, checked, then the
/// record. (`backup --remote` streams instead: [`tee`]; this is for a file that exists.)
pub async fn upload(
    bucket: &Bucket,
    m: &Manifest,
    archive: &std::path::Path,
    enc: Option<&Encryption>,
) -> anyhow::Result<Record> {
    if let Some(why) = names::unplain_file_name(&m.archive) {
        bail!(
            "backup {}: archive name {:?} is not plain: {why}",
            m.id,
            m.archive
        );
    }
    let object = tee::object_name(&m.archive, enc);
    let dir = m.dir_name();
    let mut file = tokio::fs::File::open(archive)
        .await
        .with_context(|| format!("reading archive {}", archive.display()))?;
    let sink = crypt::Sink::default();
    let mut sealer = crypt::Sealer::new(enc, sink.clone())?;
    let mut parts = parts::Parts::start(bucket, bucket.key(&format!("{dir}/{object}"))).await?;
    let mut buf = vec![0u8; READ_CHUNK];
    let streamed: anyhow::Result<()> = async {
        loop {
            let n = file
                .read(&mut buf)
                .await
                .with_context(|| format!("reading archive {}", archive.display()))?;
            if n == 0 {
                break;
            }
            sealer.write_all(&buf[..n])?;
            parts.write(&sink.take()).await?;
        }
        sealer.finish()?;
        parts.write(&sink.take()).await
    }
    .await;
    if let Err(e) = streamed {
        // No half object stays behind (and no parts billed forever).
        parts.abort().await;
        return Err(e);
    }
    let stored = parts.finish().await?;
    let encryption = enc.map(|e| crypt::scheme(e).to_string());
    check_and_record(bucket, m, object, encryption, stored).await
}

/// How the stored bytes were proven equal to the ones sent (the record's `stored_check`).
pub const CHECK_E_TAG: &str = "multipart-etag";
pub const CHECK_READ_BACK: &str = "read-back";

/// The object `<dir>/<object>` was completed as `stored`: prove the remote holds those bytes
/// (its multipart ETag, else reading it back), then write the record, last. A mismatch
/// removes the object.
pub(crate) async fn check_and_record(
    bucket: &Bucket,
    m: &Manifest,
    object: String,
    encryption: Option<String>,
    stored: parts::Stored,
) -> anyhow::Result<Record> {
    let dir = m.dir_name();
    let rel = format!("{dir}/{object}");
    let key = bucket.key(&rel);
    let (sent, sha) = (stored.bytes, stored.sha256.clone());
    let check = if stored.e_tag_matches() {
        CHECK_E_TAG
    } else {
        let (stored_sha, stored_bytes) = read_back_sha256(bucket, &rel, sent).await?;
        if stored_sha != sha || stored_bytes != sent {
            let _ = bucket.store.delete(&key).await;
            bail!(
                "remote {}: {key} reads back as {stored_bytes} bytes sha256 {stored_sha}, {sent} bytes sha256 {sha} were sent; the copy was removed\nhint: the remote altered the object; check the endpoint and any proxy in front of it",
                bucket.name
            );
        }
        CHECK_READ_BACK
    };
    let now = SystemTime::now();
    let record = Record {
        schema: RECORD_SCHEMA.to_string(),
        object,
        stored_bytes: sent,
        stored_sha256: sha,
        stored_check: check.to_string(),
        encryption,
        uploaded_at: crate::timefmt::rfc3339(now),
        uploaded_unix: crate::timefmt::unix(now),
        manifest: m.clone(),
    };
    let stamp = stamp_of(m)?;
    crate::interrupt::test_pause("remote_record").await;
    let mut json = serde_json::to_vec_pretty(&record)?;
    json.push(b'\n');
    bucket
        .store
        .put(
            &bucket.key(&format!("{dir}/{stamp}{RECORD_SUFFIX}")),
            json.into(),
        )
        .await
        .with_context(|| format!("remote {}: writing the record of {}", bucket.name, m.id))?;
    Ok(record)
}

/// The stamp part of a manifest's id (`app/20261123T010000Z` → `20261123T010000Z`).
fn stamp_of(m: &Manifest) -> anyhow::Result<&str> {
    match m.id.strip_prefix(&format!("{}/", m.database)) {
        Some(s) if names::unplain_file_name(s).is_none() && !s.contains('.') => Ok(s),
        _ => bail!("backup id {:?} is not <database>/<stamp>", m.id),
    }
}

/// sha256 and size of an object, read as a stream; more than `limit` bytes is an error.
pub async fn read_back_sha256(
    bucket: &Bucket,
    rel: &str,
    limit: u64,
) -> anyhow::Result<(String, u64)> {
    let key = bucket.key(rel);
    let what = || format!("remote {}: reading {key} back", bucket.name);
    let got = bucket.store.get(&key).await.with_context(what)?;
    let mut stream = got.into_stream();
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.with_context(what)?;
        n += chunk.len() as u64;
        if n > limit {
            bail!(
                "remote {}: {key} is larger than the {limit} bytes its record names",
                bucket.name
            );
        }
        hasher.update(&chunk);
    }
    Ok((crate::backup::stream::hex(&hasher.finalize()), n))
}

/// The remote's backups (of `db`, or all), newest first, and the records refused with why.
pub struct Listing {
    pub records: Vec<Record>,
    pub refused: Vec<(String, String)>,
}

/// A backup is complete on the remote when its record parses, names itself consistently, and
/// its archive object exists with the size the record gives.
pub async fn list(bucket: &Bucket, db: Option<&str>) -> anyhow::Result<Listing> {
    let rel = db
        .map(|d| format!("{}/", names::db_dir_name(d)))
        .unwrap_or_default();
    let objects = bucket.list(&rel).await?;
    let sizes: std::collections::HashMap<String, u64> = objects
        .iter()
        .filter_map(|o| Some((bucket.relative(o.location.as_ref())?.to_string(), o.size)))
        .collect();
    let mut listing = Listing {
        records: Vec::new(),
        refused: Vec::new(),
    };
    for (rel, size) in &sizes {
        if !rel.ends_with(RECORD_SUFFIX) {
            continue;
        }
        if *size > MANIFEST_MAX_BYTES {
            listing.refused.push((
                rel.clone(),
                format!("{size} bytes, more than a record holds"),
            ));
            continue;
        }
        match read_record(bucket, rel).await {
            Ok(r) => match sizes.get(&r.object_rel()) {
                Some(&s) if s == r.stored_bytes => listing.records.push(r),
                Some(&s) => listing.refused.push((
                    rel.clone(),
                    format!(
                        "its archive is {s} bytes, the record says {}",
                        r.stored_bytes
                    ),
                )),
                None => listing
                    .refused
                    .push((rel.clone(), "its archive is missing".into())),
            },
            Err(e) => listing
                .refused
                .push((rel.clone(), crate::report::one_line(&e))),
        }
    }
    listing.records.sort_by(|a, b| {
        b.manifest
            .started_unix
            .cmp(&a.manifest.started_unix)
            .then(b.id().cmp(a.id()))
    });
    Ok(listing)
}

/// One record, checked: its key is `<db dir>/<stamp>.remote.json` of the manifest inside it.
async fn read_record(bucket: &Bucket, rel: &str) -> anyhow::Result<Record> {
    let bytes = bucket.get_bounded(rel, MANIFEST_MAX_BYTES).await?;
    let r: Record = serde_json::from_slice(&bytes).context("not an opsbook remote record")?;
    if r.schema != RECORD_SCHEMA || r.manifest.schema != super::manifest::MANIFEST_SCHEMA {
        bail!(
            "schema {:?}/{:?}, this opsbook reads {RECORD_SCHEMA}",
            r.schema,
            r.manifest.schema
        );
    }
    let stamp = stamp_of(&r.manifest)?;
    if rel != format!("{}/{stamp}{RECORD_SUFFIX}", r.dir()) {
        bail!(
            "its key does not match the backup id {:?} inside it",
            r.id()
        );
    }
    if let Some(why) = names::unplain_file_name(&r.object) {
        bail!("its object name {:?} is not plain: {why}", r.object);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_come_only_from_well_formed_ids() {
        let mut m: Manifest = serde_json::from_str(
            r#"{"schema":"opsbook.backup/v1","id":"app/20261123T010000Z","kind":"database","database":"app","archive":"20261123T010000Z.dump.zst","compression":"zstd:1","server_version":"17","pg_dump_version":"17","started_at":"x","finished_at":"x","started_unix":1,"duration_ms":1,"bytes":1,"dump_bytes":1,"sha256":"00","snapshot":null,"tables":[],"verified":true,"verified_at":null}"#,
        ).unwrap();
        assert_eq!(stamp_of(&m).unwrap(), "20261123T010000Z");
        m.id = "app/../../x".into();
        assert!(stamp_of(&m).is_err());
        m.id = "other/20261123T010000Z".into();
        assert!(stamp_of(&m).is_err());
    }
}
