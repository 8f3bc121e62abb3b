//! One object uploaded to the bucket in parts (S3 multipart), with a bounded number of parts
//! in flight, and the checksum the remote will answer with computed locally as the parts are
//! cut: S3 (and MinIO, IDrive e2, moto) give a multipart object the ETag
//! `md5(md5(part 1) ‖ md5(part 2) ‖ …)-N`, the md5 of each part being what the server
//! received. An equal ETag proves the stored object is the bytes sent without reading it back.
//! Servers that encrypt at rest with their own keys (SSE-KMS, SSE-C) answer another ETag: the
//! caller then reads the object back ([`super::read_back_sha256`]).
//!
//! On any failure, and on [`Parts::abort`], the multipart upload is aborted so no orphan parts
//! stay billed in the bucket (a killed process can still leave some: the bucket's lifecycle rule
//! `AbortIncompleteMultipartUpload` is the backstop, commands/backup.md).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use md5::{Digest as _, Md5};
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore as _, PutPayload};
use sha2::Sha256;
use tokio::task::JoinSet;

use crate::clients::s3::Bucket;

/// The size of every part but the last (S3's minimum part size).
pub const PART_BYTES: usize = 5 << 20;
/// Parts uploading at once: with the part being filled, at most 5 parts (25 MiB) in memory.
pub const PARTS_IN_FLIGHT: usize = 4;
/// How long an abort may take before it is given up (the lifecycle rule cleans up after).
const ABORT_TIMEOUT: Duration = Duration::from_secs(15);

/// An upload in progress.
pub struct Parts {
    upload: Box<dyn MultipartUpload>,
    tasks: JoinSet<object_store::Result<()>>,
    buf: Vec<u8>,
    md5s: Vec<[u8; 16]>,
    sha: Sha256,
    bytes: u64,
    key: Path,
    remote: String,
    closed: bool,
    /// Time spent hashing (sha256 + the parts' md5) and waiting for parts in flight.
    pub hashing: Duration,
    pub waiting: Duration,
}

/// What was stored: the bytes sent, their sha256, the ETag the remote answered and the one a
/// multipart upload of these parts has.
#[derive(Debug)]
pub struct Stored {
    pub bytes: u64,
    pub sha256: String,
    pub e_tag: Option<String>,
    pub expected_e_tag: String,
}

impl Stored {
    /// Whether the remote's ETag proves it holds exactly the bytes sent.
    pub fn e_tag_matches(&self) -> bool {
        self.e_tag.as_deref().is_some_and(|t| {
            t.trim_matches('"')
                .eq_ignore_ascii_case(&self.expected_e_tag)
        })
    }
}

/// The ETag S3 gives a multipart object made of parts with these md5s.
pub fn multipart_e_tag(md5s: &[[u8; 16]]) -> String {
    let mut all = Md5::new();
    for m in md5s {
        all.update(m);
    }
    format!(
        "{}-{}",
        crate::backup::stream::hex(&all.finalize()),
        md5s.len()
    )
}

impl Parts {
    /// Start a multipart upload of `key` (one request: an unreachable or refusing remote fails
    /// here, before anything is written).
    pub async fn start(bucket: &Bucket, key: Path) -> anyhow::Result<Parts> {
        let upload = bucket
            .store
            .put_multipart(&key)
            .await
            .with_context(|| format!("remote {}: starting the upload of {key}", bucket.name))?;
        Ok(Parts {
            upload,
            tasks: JoinSet::new(),
            buf: Vec::with_capacity(PART_BYTES),
            md5s: Vec::new(),
            sha: Sha256::new(),
            bytes: 0,
            key,
            remote: bucket.name.clone(),
            closed: false,
            hashing: Duration::ZERO,
            waiting: Duration::ZERO,
        })
    }

    fn what(&self) -> String {
        format!("remote {}: uploading {}", self.remote, self.key)
    }

    /// Append `data`; waits while [`PARTS_IN_FLIGHT`] parts are uploading. On failure the
    /// upload is aborted.
    pub async fn write(&mut self, mut data: &[u8]) -> anyhow::Result<()> {
        if self.closed {
            anyhow::bail!("{}: the upload was already ended", self.what());
        }
        let clock = Instant::now();
        sha2::Digest::update(&mut self.sha, data);
        self.hashing += clock.elapsed();
        self.bytes += data.len() as u64;
        while !data.is_empty() {
            let room = PART_BYTES - self.buf.len();
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == PART_BYTES {
                self.cut();
                if self.md5s.len() == 1 {
                    crate::interrupt::test_hold("remote_part").await;
                }
                if let Err(e) = self.wait_for(PARTS_IN_FLIGHT - 1).await {
                    self.abort().await;
                    return Err(e);
                }
            }
        }
        // A part that already failed stops the stream now, not at the end.
        if let Err(e) = self.failed_so_far() {
            self.abort().await;
            return Err(e);
        }
        Ok(())
    }

    /// The first part that finished with an error, without waiting for the others.
    fn failed_so_far(&mut self) -> anyhow::Result<()> {
        while let Some(done) = self.tasks.try_join_next() {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e).with_context(|| self.what()),
                Err(e) => return Err(e).with_context(|| self.what()),
            }
        }
        Ok(())
    }

    /// Send the buffered bytes as the next part.
    fn cut(&mut self) {
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(PART_BYTES));
        let clock = Instant::now();
        self.md5s.push(Md5::digest(&part).into());
        self.hashing += clock.elapsed();
        self.tasks
            .spawn(self.upload.put_part(PutPayload::from(part)));
    }

    /// Until at most `n` parts are in flight; the first failed part is the error.
    async fn wait_for(&mut self, n: usize) -> anyhow::Result<()> {
        let clock = Instant::now();
        while self.tasks.len() > n {
            let done = self.tasks.join_next().await;
            match done {
                Some(Ok(Ok(()))) | None => {}
                Some(Ok(Err(e))) => return Err(e).with_context(|| self.what()),
                Some(Err(e)) => return Err(e).with_context(|| self.what()),
            }
        }
        self.waiting += clock.elapsed();
        Ok(())
    }

    /// Send the last part and complete the upload: the object exists from here on. On failure
    /// the upload is aborted.
    pub async fn finish(&mut self) -> anyhow::Result<Stored> {
        if self.closed {
            anyhow::bail!("{}: the upload was already ended", self.what());
        }
        // An empty object is one empty part (object_store sends it the same way).
        if !self.buf.is_empty() || self.md5s.is_empty() {
            self.cut();
        }
        let done = match self.wait_for(0).await {
            Ok(()) => self.upload.complete().await.with_context(|| self.what()),
            Err(e) => Err(e),
        };
        match done {
            Ok(put) => {
                self.closed = true;
                Ok(Stored {
                    bytes: self.bytes,
                    sha256: crate::backup::stream::hex(&sha2::Digest::finalize(std::mem::take(
                        &mut self.sha,
                    ))),
                    e_tag: put.e_tag,
                    expected_e_tag: multipart_e_tag(&self.md5s),
                })
            }
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    /// Stop the parts in flight and abort the upload (best effort, bounded in time; nothing
    /// to do once it completed or was aborted).
    pub async fn abort(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.tasks.shutdown().await;
        let _ = tokio::time::timeout(ABORT_TIMEOUT, self.upload.abort()).await;
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_e_tag_is_the_md5_of_the_parts_md5s() {
        // Python's hashlib, independently: md5(md5(b"a").digest() + md5(b"b").digest()) + "-2".
        let a: [u8; 16] = Md5::digest(b"a").into();
        let b: [u8; 16] = Md5::digest(b"b").into();
        let want = "96e024ba2074fe77e8e965ba43a704be-2".to_string();
        assert_eq!(multipart_e_tag(&[a, b]), want);
        let s = Stored {
            bytes: 2,
            sha256: String::new(),
            e_tag: Some(format!("\"{}\"", want.to_uppercase())),
            expected_e_tag: want.clone(),
        };
        assert!(s.e_tag_matches());
        let other = Stored {
            e_tag: Some("\"0123-2\"".into()),
            ..s
        };
        assert!(!other.e_tag_matches());
    }
}
