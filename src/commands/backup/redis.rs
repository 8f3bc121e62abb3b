//! The operator's side of Redis snapshots (`backup --rdb`, `backup verify _redis/...`,
//! `restore --rdb [--check] ID`); the work is `backup::redis`. Their findings are declared
//! in `commands::backup` and `commands::restore`.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::backup::catalog::{self, Entry};
use crate::backup::redis::bgsave::{self, Method};
use crate::backup::redis::{self, place};
use crate::backup::remote;
use crate::backup::stream::Compression;
use crate::backup::{names, verify};
use crate::clients::s3::Bucket;
use crate::config::remotes::Encryption;
use crate::context::Ctx;
use crate::render::{human_bytes, took};
use crate::report::{one_line, Finding, Report, Status};

/// The remote a snapshot is copied to (`backup --rdb --remote NAME`), already opened.
pub struct Offsite<'a> {
    pub name: &'a str,
    pub bucket: &'a Bucket,
    pub encryption: Option<&'a Encryption>,
}

/// `--rdb-method`'s parser: its three values, as a [`Method`].
pub fn method_parser() -> impl clap::builder::TypedValueParser<Value = Method> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["auto", "bgsave", "sync"])
        .map(|s| s.parse::<Method>().unwrap_or(Method::Auto))
}

/// The remote `backup` opened (`--remote NAME`), as a snapshot's copy takes it.
pub fn offsite<'a>(
    opened: Option<&'a (&'a str, (Bucket, Option<Encryption>))>,
) -> Option<Offsite<'a>> {
    opened.map(|(name, (bucket, enc))| Offsite {
        name,
        bucket,
        encryption: enc.as_ref(),
    })
}

/// What `backup --rdb` takes, and where it copies it.
pub struct SnapshotArgs<'a> {
    pub dir: &'a Path,
    pub compression: Compression,
    pub threads: u32,
    pub method: Method,
    pub offsite: Option<Offsite<'a>>,
}

/// Take one snapshot of the run's Redis (and copy it to the remote): the findings, the
/// run-history values, and whether a signal stopped it (its `.partial` file is dropped with
/// the download).
pub async fn create(
    args: SnapshotArgs<'_>,
    ctx: &Ctx,
    interrupt: &crate::interrupt::Interrupt,
) -> anyhow::Result<(Vec<Finding>, History, bool)> {
    match interrupt.run(snapshot(args, ctx)).await {
        Ok((findings, values)) => Ok((findings, values, false)),
        Err(e) if crate::interrupt::is_interrupted(&e) => Ok((
            vec![
                Finding::new("backup.interrupted", Status::Critical, one_line(&e))
                    .subject(names::REDIS_DIR)
                    .hint("no snapshot was written; run the backup again"),
            ],
            History::new(),
            true,
        )),
        Err(e) => Err(e),
    }
}

type History = std::collections::BTreeMap<String, f64>;

async fn snapshot(args: SnapshotArgs<'_>, ctx: &Ctx) -> anyhow::Result<(Vec<Finding>, History)> {
    let client = ctx.redis().await.context("backup --rdb")?;
    let url = ctx.redis_url()?;
    let mut source = bgsave::choose(args.method, client, &url).await?;
    let info = client.info().await.context("backup --rdb")?;
    let req = redis::Request {
        url,
        backup_dir: args.dir.to_path_buf(),
        compression: args.compression,
        threads: args.threads,
        timeout: ctx.timeouts().connect.max(Duration::from_secs(5)),
    };
    let progress = crate::render::show_progress(&ctx.output);
    let (w, mut findings) = redis::create(&req, &info, client, &mut source, progress).await?;
    let m = &w.manifest;
    let facts = m
        .redis
        .clone()
        .context("backup --rdb: the manifest lacks its Redis part")?;
    let keys: u64 = facts.keys.values().sum();
    findings.push(
        Finding::ok(
            "backup.redis",
            format!(
                "{}: Redis {} at {} ({}): {} keys in {} database(s), RDB {} -> {} ({}), header and CRC64 checked, {}",
                m.id,
                m.server_version,
                facts.source,
                match &source {
                    bgsave::Chosen::Bgsave { .. } => "BGSAVE, its file read here",
                    bgsave::Chosen::Sync { .. } => "replica-protocol download",
                },
                keys,
                facts.keys.len(),
                human_bytes(m.dump_bytes as f64),
                human_bytes(m.bytes as f64),
                m.compression,
                took(m.duration_ms as f64 / 1000.0)
            ),
        )
        .subject(names::REDIS_DIR)
        .value(m.bytes, "bytes")
        .detail(vec![
            format!("method {}: {}", source.name(), source.why()),
            format!("archive {}", w.archive_path.display()),
            format!("manifest {}", w.manifest_path.display()),
            format!("sha256 {}", m.sha256),
        ]),
    );
    if let Some(o) = &args.offsite {
        findings.push(
            match remote::upload(o.bucket, m, &w.archive_path, o.encryption).await {
                Ok(r) => remote::findings::copied(o.name, &r),
                Err(e) if crate::interrupt::is_interrupted(&e) => return Err(e),
                Err(e) => remote::findings::copy_failed(o.name, names::REDIS_DIR, &e),
            },
        );
    }
    Ok((findings, crate::backup::history_values(m)))
}

/// `backup verify` of a Redis entry: sha256, then the RDB inside.
pub async fn verify_entry(
    entry: &Entry,
    restore_test: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let id = entry.id().to_string();
    let e = entry.clone();
    let checked = tokio::task::spawn_blocking(move || {
        verify::checksum(&e)?;
        redis::verify(&e.archive_path, &e.manifest)
    })
    .await
    .context("the verify thread failed")?;
    match checked {
        Ok(facts) => {
            report.push(
                Finding::ok(
                    "backup.verify",
                    format!(
                        "{id}: sha256 matches the manifest; the RDB (version {}, {}) has its header and EOF opcode{}",
                        facts.version,
                        human_bytes(facts.bytes as f64),
                        if facts.crc64.is_some() { ", and its CRC64 matches" } else { " (written without a checksum)" }
                    ),
                )
                .subject(id.clone())
                .value(entry.manifest.bytes, "bytes"),
            );
            if !entry.manifest.verified {
                let mut m = entry.manifest.clone();
                m.verified = true;
                m.verified_at = Some(crate::timefmt::rfc3339(std::time::SystemTime::now()));
                m.save(&entry.manifest_path)?;
            }
        }
        Err(e) => report.push(
            Finding::new("backup.verify", Status::Critical, one_line(&e))
                .subject(id.clone())
                .hint("do not restore from this snapshot; use an older one (`opsbook backup list`) and check the disk"),
        ),
    }
    if restore_test {
        report.push(
            Finding::new(
                "backup.restore_test",
                Status::Unknown,
                format!("{id} is a Redis snapshot: the restore test loads PostgreSQL archives only"),
            )
            .subject(id)
            .hint("prove a Redis snapshot with `opsbook restore --rdb` into a spare redis-server and `restore --rdb --check`"),
        );
    }
    Ok(())
}

/// A Redis entry by id, `latest` or `_redis/latest`, or an archive path.
fn find(dir: &Path, what: &str) -> anyhow::Result<(Entry, Vec<catalog::Refused>)> {
    let what = if what == "latest" {
        format!("{}/latest", names::REDIS_DIR)
    } else {
        what.to_string()
    };
    let (entry, refused) = catalog::find(dir, &what, None)?;
    if entry.manifest.kind != redis::KIND {
        bail!(
            "{} is a {} backup, not a Redis snapshot\nhint: Redis snapshots are `_redis/<stamp>` in `opsbook backup list`",
            entry.id(),
            entry.manifest.kind
        );
    }
    Ok((entry, refused))
}

pub struct RestoreRequest<'a> {
    pub backup: Option<&'a str>,
    pub dir: &'a Path,
    /// The snapshot is the copy on this remote (remotes.NAME).
    pub remote: Option<&'a str>,
    pub check: bool,
    pub yes: bool,
    pub dry_run: bool,
}

/// `restore --rdb ID`: verify, plan, place the RDB for the operator's restart;
/// `restore --rdb --check ID`: the keys now against the manifest.
pub async fn restore(req: RestoreRequest<'_>, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new("restore");
    let what = req.backup.unwrap_or("latest");
    // Kept until the restore is done: a downloaded snapshot lives in its private directory.
    let mut _download = None;
    let (entry, refused) = match req.remote {
        None => find(req.dir, what)?,
        Some(name) => {
            let (bucket, enc) =
                remote::open(&ctx.config.remotes, name, ctx.config.timeouts.connect.0)?;
            let listing = remote::list(&bucket, None).await?;
            let record = remote::fetch::find(&listing, what, Some(names::REDIS_DIR))?;
            if record.manifest.kind != redis::KIND {
                bail!(
                    "{} on remote {name} is a {} backup, not a Redis snapshot\nhint: Redis snapshots are `_redis/<stamp>` in `opsbook backup list --remote {name}`",
                    record.id(),
                    record.manifest.kind
                );
            }
            if req.check {
                // The key counts are in the record's manifest: nothing to download.
                let entry = Entry {
                    manifest: record.manifest.clone(),
                    manifest_path: Default::default(),
                    archive_path: Default::default(),
                };
                (entry, vec![])
            } else {
                let d = remote::fetch::download(&bucket, record, enc.as_ref(), req.dir).await?;
                let entry = d.entry.clone();
                _download = Some(d);
                (entry, vec![])
            }
        }
    };
    report.extend(refused.iter().map(|r| r.finding()));
    let id = entry.id().to_string();
    let facts = entry
        .manifest
        .redis
        .clone()
        .with_context(|| format!("{id}: its manifest has no Redis part (damaged?)"))?;
    let client = ctx.redis().await.context("restore --rdb")?;
    if req.check {
        let now = redis::keyspace(&client.info().await?);
        let diff = redis::compare_keys(&facts.keys, &now);
        let total: u64 = now.values().sum();
        report.push(if diff.is_empty() {
            Finding::ok(
                "restore.redis_keys",
                format!("{id}: Redis at {} holds the snapshot's key counts ({total} keys in {} database(s))", client.url(), now.len()),
            )
            .subject(id)
            .value(total, "keys")
        } else {
            Finding::new(
                "restore.redis_keys",
                Status::Critical,
                format!("{id}: {} database(s) of Redis at {} differ from the snapshot", diff.len(), client.url()),
            )
            .subject(id)
            .value(total, "keys")
            .detail(diff)
            .hint("was redis-server restarted after the file was placed, with appendonly off? Its log says which file it loaded")
        });
        return Ok(report);
    }
    let e = entry.clone();
    let checked = tokio::task::spawn_blocking(move || {
        verify::checksum(&e)?;
        redis::verify(&e.archive_path, &e.manifest)
    })
    .await
    .context("the verify thread failed")?;
    if let Err(e) = checked {
        report.push(
            Finding::new("restore.verify", Status::Critical, one_line(&e))
                .subject(id)
                .hint("nothing was changed; pick an older snapshot (`opsbook backup list`)"),
        );
        return Ok(report);
    }
    report.push(
        Finding::ok(
            "restore.verify",
            format!("{id}: sha256 and RDB checks pass"),
        )
        .subject(id.clone()),
    );
    let config = client
        .config_get("*")
        .await
        .context("restore --rdb: reading the server's dir and dbfilename")?;
    let get = |k: &str| config.get(k).cloned().unwrap_or_default();
    let target = place::Target {
        dir: get("dir").into(),
        dbfilename: get("dbfilename"),
        appendonly: get("appendonly") == "yes",
    };
    let url = ctx.redis_url()?;
    let plan = place::plan(&id, &target, &place::port_hint(&url));
    if let Some(why) = target.refusal(place::is_local(&url)) {
        report.push(
            Finding::new(
                "restore.redis",
                Status::Critical,
                format!("{id}: opsbook cannot place the RDB for Redis at {}: {why}; nothing was changed", client.url()),
            )
            .detail(plan)
            .hint("follow the plan by hand: decompress the archive (zstd -d) to the server's dir/dbfilename while it is stopped"),
        );
        return Ok(report);
    }
    if req.dry_run {
        report.push(
            Finding::ok(
                "restore.redis",
                format!("dry run: would place {id} as {}", target.path().display()),
            )
            .detail(plan),
        );
        return Ok(report);
    }
    crate::confirm::typed(
        &format!("restore Redis snapshot {id}"),
        &plan,
        "redis",
        req.yes,
    )?;
    client
        .config_set("save", "")
        .await
        .context("restore --rdb: CONFIG SET save \"\" (so the restart does not overwrite the file); nothing was changed")?;
    let (e, t) = (entry.clone(), target.clone());
    let placed = tokio::task::spawn_blocking(move || place::place(&e, &t))
        .await
        .context("the restore thread failed")?;
    match placed {
        Ok(p) => report.push(
            Finding::new(
                "restore.redis",
                Status::Warning,
                format!(
                    "{id}: RDB ({}) placed as {}; restart redis-server now, then run `opsbook restore --rdb --check {id}`",
                    human_bytes(p.bytes as f64),
                    p.path.display()
                ),
            )
            .subject(id.clone())
            .value(p.bytes, "bytes")
            .detail(
                p.kept
                    .iter()
                    .map(|k| format!("the previous file is kept as {}", k.display()))
                    .chain(plan.into_iter().skip(3))
                    .collect(),
            )
            .hint(format!("save points are off on the running server until the restart: restart it now (`systemctl restart redis-server` or `redis-cli {}shutdown nosave` and start it)", place::port_hint(&url))),
        ),
        Err(e) => report.push(
            Finding::new("restore.redis", Status::Critical, one_line(&e))
                .subject(id)
                .hint("the server's file was not replaced; check that opsbook may write the server's dir (run it as the redis user or root)"),
        ),
    }
    Ok(report)
}
