//! The archive streamed to the remote while it is written: the dump thread's compressed bytes
//! go through a [`Tee`] (a blocking `Write`) into a bounded channel; an async task seals them
//! (age, when the remote says so) and uploads them in parts ([`Parts`]). Nothing is read back
//! from the local file. The upload is only completed by [`Pending::commit`], after the backup
//! itself was verified; every other way out aborts it ([`Pending::abort`]).
//!
//! Memory stays bounded: [`CHANNEL_CHUNKS`] chunks of [`CHUNK_BYTES`] between the threads, the
//! part being filled and [`super::parts::PARTS_IN_FLIGHT`] parts uploading (about 34 MiB).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::parts::Parts;
use super::{crypt, Record};
use crate::backup::manifest::Manifest;
use crate::clients::s3::Bucket;
use crate::config::remotes::Encryption;
use crate::interrupt::Interrupt;

/// Bytes the dump thread collects before handing them over.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Chunks waiting between the dump thread and the upload.
pub const CHANNEL_CHUNKS: usize = 4;

/// The dump thread's end: a `Write` into the upload. When the upload stops (refused, failed,
/// interrupted), a required tee fails the write (`--remote-only`: there is no other copy); an
/// optional one stops copying and lets the local backup finish.
pub struct Tee {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    buf: Vec<u8>,
    required: bool,
}

/// The error a required tee fails the dump with; the reason is the upload's error.
pub const STOPPED: &str = "the upload to the remote stopped";

impl Tee {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES));
        let sent = match &self.tx {
            Some(tx) => tx.blocking_send(chunk).is_ok(),
            None => false,
        };
        if !sent {
            self.tx = None;
            if self.required {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, STOPPED));
            }
        }
        Ok(())
    }

    /// Hand over the last bytes and close the stream (the upload then seals it).
    pub fn finish(mut self) -> io::Result<()> {
        self.send()?;
        self.tx = None;
        Ok(())
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.tx.is_none() {
            if self.required {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, STOPPED));
            }
            return Ok(buf.len());
        }
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where the upload task spent its time while the backup was written (the dump waits for it
/// when it falls behind: the bounded channel).
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Encrypting (age), when the remote says so.
    pub sealing: Duration,
    /// sha256 of the stored bytes and the md5 of each part.
    pub hashing: Duration,
    /// Waiting for parts in flight (the remote's pace).
    pub waiting: Duration,
}

/// The upload's end: the task sealing and sending the stream, not yet completed.
pub struct Pending {
    /// The task, or why the upload could not start (the local backup then goes on alone).
    task: Result<JoinHandle<anyhow::Result<(Parts, Duration)>>, anyhow::Error>,
    /// The object's name in the backup's directory (`<archive>[.age]`).
    pub object: String,
    encryption: Option<String>,
    interrupt: Interrupt,
}

/// The object name an archive gets on the remote.
pub fn object_name(archive: &str, enc: Option<&Encryption>) -> String {
    match enc {
        Some(_) => format!("{archive}.age"),
        None => archive.to_string(),
    }
}

/// Start uploading `<dir>/<object>` from the bytes written into the returned [`Tee`].
pub async fn start(
    bucket: &Bucket,
    dir: &str,
    archive: &str,
    enc: Option<&Encryption>,
    required: bool,
    interrupt: &Interrupt,
) -> anyhow::Result<(Tee, Pending)> {
    if let Some(why) = crate::backup::names::unplain_file_name(archive) {
        anyhow::bail!("archive name {archive:?} is not plain: {why}");
    }
    let object = object_name(archive, enc);
    let sink = crypt::Sink::default();
    // The recipients are read here: a bad key file fails before pg_dump starts.
    let mut sealer = crypt::Sealer::new(enc, sink.clone())?;
    let mut parts = Parts::start(bucket, bucket.key(&format!("{dir}/{object}"))).await?;
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(CHANNEL_CHUNKS);
    let stop = interrupt.clone();
    let task = tokio::spawn(async move {
        let streamed: anyhow::Result<Duration> = stop
            .run(async {
                crate::interrupt::test_hold("remote_upload").await;
                let mut sealing = Duration::ZERO;
                while let Some(chunk) = rx.recv().await {
                    let clock = Instant::now();
                    sealer.write_all(&chunk)?;
                    sealing += clock.elapsed();
                    parts.write(&sink.take()).await?;
                }
                sealer.finish()?;
                parts.write(&sink.take()).await?;
                Ok(sealing)
            })
            .await;
        match streamed {
            Ok(sealing) => Ok((parts, sealing)),
            Err(e) => {
                parts.abort().await;
                Err(e)
            }
        }
    });
    Ok((
        Tee {
            tx: Some(tx),
            buf: Vec::with_capacity(CHUNK_BYTES),
            required,
        },
        Pending {
            task: Ok(task),
            object,
            encryption: enc.map(|e| crypt::scheme(e).to_string()),
            interrupt: interrupt.clone(),
        },
    ))
}

impl Pending {
    /// An upload that could not start: committing it reports `e`.
    pub fn failed(e: anyhow::Error, interrupt: &Interrupt) -> Pending {
        Pending {
            task: Err(e),
            object: String::new(),
            encryption: None,
            interrupt: interrupt.clone(),
        }
    }

    async fn parts(self) -> anyhow::Result<(Parts, Duration, String, Option<String>, Interrupt)> {
        let (parts, sealing) = self.task?.await.context("the upload task failed")??;
        Ok((parts, sealing, self.object, self.encryption, self.interrupt))
    }

    /// The backup `m` was written and verified, and its [`Tee`] finished: complete the upload,
    /// check what the remote stores, then write the record, last.
    pub async fn commit(self, bucket: &Bucket, m: &Manifest) -> anyhow::Result<(Record, Timings)> {
        let (mut parts, sealing, object, encryption, interrupt) = self.parts().await?;
        if parts.bytes() == 0 {
            parts.abort().await;
            anyhow::bail!(
                "remote {}: nothing reached the upload of {}",
                bucket.name,
                m.id
            );
        }
        let stored = match interrupt.guard(parts.finish()).await {
            Ok(r) => r?,
            Err(i) => {
                parts.abort().await;
                return Err(i.into());
            }
        };
        let timings = Timings {
            sealing,
            hashing: parts.hashing,
            waiting: parts.waiting,
        };
        let record = interrupt
            .run(super::check_and_record(
                bucket, m, object, encryption, stored,
            ))
            .await?;
        Ok((record, timings))
    }

    /// Stop and abort the upload (the backup failed or was interrupted). The upload's own
    /// error, when it failed first, is returned: it is then the reason the backup failed.
    pub async fn abort(self) -> Option<anyhow::Error> {
        let task = match self.task {
            Ok(t) => t,
            Err(e) => return Some(e),
        };
        match task.await {
            Ok(Ok((mut parts, _))) => {
                parts.abort().await;
                None
            }
            Ok(Err(e)) => Some(e),
            Err(e) => Some(anyhow::Error::from(e).context("the upload task failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_upload_fails_a_required_tee_and_not_an_optional_one() {
        for required in [true, false] {
            let (tx, rx) = mpsc::channel(1);
            drop(rx);
            let mut t = Tee {
                tx: Some(tx),
                buf: Vec::new(),
                required,
            };
            let r = t.write_all(&vec![0u8; CHUNK_BYTES]);
            assert_eq!(r.is_err(), required, "required {required}");
            if let Err(e) = r {
                assert_eq!(e.to_string(), STOPPED);
            }
            // Later writes: refused again, or dropped on the floor without blocking.
            assert_eq!(t.write_all(b"more").is_err(), required);
        }
    }
}
