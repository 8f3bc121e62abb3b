//! Redis snapshots in the same catalog as the database backups: an RDB the server saved with
//! BGSAVE and read from its `dir` on this host ([`bgsave`]), or taken through the replica
//! protocol ([`sync`]), compressed and hashed like a dump, checked as an RDB
//! ([`rdb`]) while it is written, with a manifest of kind `redis` in `<backup dir>/_redis/`.
//! [`place`] is the restore side: Redis cannot load an RDB through a client command, so the
//! file is put in place for the operator's restart and the key counts are compared after it.

pub mod bgsave;
pub mod place;
pub mod rdb;
pub mod sync;

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};

use super::dump::{self, Written};
use super::manifest::{Manifest, RedisFacts, MANIFEST_SCHEMA, MANIFEST_SUFFIX};
use super::names::REDIS_DIR;
use super::stream::{self, Compression, HashingWriter};
use crate::clients::redis::RedisInfo;

pub const KIND: &str = "redis";

/// The keys of each database from `INFO keyspace` (`db0:keys=3,expires=0,avg_ttl=0`).
pub fn keyspace(info: &RedisInfo) -> BTreeMap<String, u64> {
    info.raw
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix("db")
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|(k, v)| {
            let keys = v
                .split(',')
                .find_map(|kv| kv.strip_prefix("keys="))?
                .parse()
                .ok()?;
            Some((k.clone(), keys))
        })
        .collect()
}

/// The archive suffix: `.rdb` and the compressor's (`.rdb.zst`).
pub fn suffix(c: Compression) -> String {
    c.suffix().replacen(".dump", ".rdb", 1)
}

/// The most bytes a snapshot may have: an RDB is smaller than the memory it describes, so
/// twice `used_memory` and 64 MiB of slack stop only a stream that is not one.
pub fn size_limit(used_memory: u64) -> u64 {
    used_memory.saturating_mul(2).saturating_add(64 << 20)
}

pub struct Request {
    pub url: String,
    pub backup_dir: PathBuf,
    pub compression: Compression,
    pub threads: u32,
    pub timeout: Duration,
}

/// Passes every byte read to the RDB checker too.
struct Checked<R: Read> {
    inner: R,
    checker: rdb::RdbChecker,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.checker.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Take one snapshot: INFO (keys, memory, version), BGSAVE and the server's file or SYNC
/// (as `how` says) into `<stamp>.rdb.zst.partial` (checked as an RDB while written), fsync,
/// manifest, rename. `info` is the INFO taken just before, from the run's Redis connection.
pub async fn create(
    req: &Request,
    info: &RedisInfo,
    client: &crate::clients::redis::RedisClient,
    how: &mut bgsave::Chosen,
    progress: bool,
) -> anyhow::Result<(Written, Vec<crate::report::Finding>)> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let source = sync::Source::from_url(&req.url)?;
    let dir = req.backup_dir.join(REDIS_DIR);
    let _lock = dump::lock_db_dir(&dir, "the Redis backup")?;
    let stale = super::leftovers::remove_stale_partials(&dir);
    let suffix = suffix(req.compression);
    let (stamp, archive_name, archive_path, mut partial) =
        dump::fresh_archive(&dir, started, &suffix);
    let limit = size_limit(info.used_memory);
    let (partial_path, compression, threads, timeout) = (
        partial.path.clone(),
        req.compression,
        req.threads,
        req.timeout,
    );
    let at = source.display.clone();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial_path)
        .with_context(|| format!("creating {}", partial_path.display()))?;
    crate::interrupt::test_pause("backup.redis").await;
    let saved = match how.clone() {
        bgsave::Chosen::Bgsave { path, auto, .. } => {
            let started = bgsave::save(client, progress).await?;
            match bgsave::open_saved(&path, started) {
                Ok(file) => {
                    let size = file.metadata()?.len();
                    if size > limit {
                        bail!("{} is {size} bytes, more than the {limit} bytes the server's memory use allows: refusing it", path.display());
                    }
                    Some(file)
                }
                // Chosen on its own: the replica protocol still works.
                Err(e) if auto => {
                    *how = bgsave::Chosen::Sync {
                        why: format!(
                            "BGSAVE ran, but {}",
                            crate::report::one_line(&e)
                                .replace("\nhint: use --rdb-method sync", "")
                        ),
                    };
                    None
                }
                Err(e) => return Err(e),
            }
        }
        bgsave::Chosen::Sync { .. } => None,
    };
    let (sha256, bytes, facts) = tokio::task::spawn_blocking(move || {
        let payload: Box<dyn Read + Send> = match saved {
            Some(file) => Box::new(file),
            None => Box::new(sync::open(&source, limit, timeout)?),
        };
        let mut input = Checked {
            inner: payload,
            checker: rdb::RdbChecker::default(),
        };
        let sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        let w =
            stream::compress_into(&mut input, sink, compression, threads).with_context(|| {
                format!(
                    "receiving the snapshot from Redis at {at} into {}",
                    partial_path.display()
                )
            })?;
        let facts = input
            .checker
            .finish()
            .with_context(|| format!("the snapshot Redis at {at} sent"))?;
        let (buf, sha, bytes) = w.finish();
        let file = buf.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
            .with_context(|| format!("syncing {}", partial_path.display()))?;
        anyhow::Ok((sha, bytes, facts))
    })
    .await
    .context("the Redis snapshot thread failed")?
    .context("backup --rdb: nothing was written")?;
    let finished = SystemTime::now();
    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.into(),
        id: format!("{REDIS_DIR}/{stamp}"),
        kind: KIND.into(),
        database: REDIS_DIR.into(),
        archive: archive_name,
        compression: req.compression.to_string(),
        server_version: info.version.clone(),
        pg_dump_version: String::new(),
        started_at: crate::timefmt::rfc3339(started),
        finished_at: crate::timefmt::rfc3339(finished),
        started_unix: crate::timefmt::unix(started),
        duration_ms: clock.elapsed().as_millis() as u64,
        bytes,
        dump_bytes: facts.bytes,
        sha256,
        snapshot: None,
        tables: Vec::new(),
        // The RDB's header, EOF opcode and CRC64 were checked as it was written.
        verified: true,
        verified_at: Some(crate::timefmt::rfc3339(finished)),
        redis: Some(RedisFacts {
            source: sync::Source::from_url(&req.url)?.display,
            keys: keyspace(info),
            used_memory: info.used_memory,
            rdb_version: facts.version,
            method: Some(how.name().to_string()),
        }),
    };
    let manifest_path = dir.join(format!("{stamp}{MANIFEST_SUFFIX}"));
    std::fs::rename(&partial.path, &archive_path)
        .with_context(|| format!("renaming {} into place", partial.path.display()))?;
    partial.committed = true;
    if let Err(e) = manifest.save(&manifest_path) {
        let _ = std::fs::remove_file(&archive_path);
        return Err(e.context("writing the Redis backup's manifest; the archive was removed"));
    }
    dump::fsync_dir(&dir)?;
    Ok((
        Written {
            manifest,
            archive_path,
            manifest_path,
        },
        stale,
    ))
}

/// The decompressed RDB of an archive, checked: its sha256 against the manifest, then the
/// RDB's header, EOF opcode and CRC64 from the decompressed stream. Blocking.
pub fn verify(archive: &Path, m: &Manifest) -> anyhow::Result<rdb::RdbFacts> {
    let mut plain = stream::open_plain(archive, &m.compression)?;
    let mut checker = rdb::RdbChecker::default();
    std::io::copy(&mut plain, &mut checker)
        .with_context(|| format!("backup {}: decompressing {}", m.id, archive.display()))?;
    checker
        .finish()
        .with_context(|| format!("backup {}: the RDB in {}", m.id, archive.display()))
}

/// Keys per database now against the manifest's: the lines that differ (empty: equal).
pub fn compare_keys(manifest: &BTreeMap<String, u64>, now: &BTreeMap<String, u64>) -> Vec<String> {
    let mut dbs: Vec<&String> = manifest.keys().chain(now.keys()).collect();
    dbs.sort();
    dbs.dedup();
    dbs.into_iter()
        .filter_map(|db| {
            let (want, got) = (
                manifest.get(db).copied().unwrap_or(0),
                now.get(db).copied().unwrap_or(0),
            );
            (want != got).then(|| format!("{db}: {got} keys now, the backup holds {want}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_reads_keys_per_db() {
        let info = RedisInfo::parse(
            "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=5\r\ndb12:keys=40,expires=0,avg_ttl=0\r\ndbx:keys=1\r\n",
        );
        let k = keyspace(&info);
        assert_eq!(k.get("db0"), Some(&3));
        assert_eq!(k.get("db12"), Some(&40));
        assert_eq!(k.len(), 2);
    }

    #[test]
    fn compare_names_each_differing_db() {
        let a: BTreeMap<String, u64> = [("db0".into(), 3), ("db1".into(), 2)].into();
        let b: BTreeMap<String, u64> = [("db0".into(), 3)].into();
        assert!(compare_keys(&a, &a).is_empty());
        assert_eq!(
            compare_keys(&a, &b),
            vec!["db1: 0 keys now, the backup holds 2"]
        );
    }

    #[test]
    fn archives_are_rdb_named() {
        assert_eq!(suffix(Compression::Zstd(1)), ".rdb.zst");
        assert_eq!(suffix(Compression::None), ".rdb");
    }
}
