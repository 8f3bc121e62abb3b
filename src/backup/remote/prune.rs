//! Retention on a remote: the same rule as the backup directory's (`backup::retention`: keep the
//! newest N, keep those younger than D days, never the newest verified), over the remote's
//! complete records. A record is removed before its archive, so a half-removed backup is
//! invisible (no record) rather than listed without its archive.

use std::path::PathBuf;

use anyhow::Context as _;
use object_store::ObjectStore as _;

use super::{Listing, Record, RECORD_SUFFIX};
use crate::backup::catalog::Entry;
use crate::backup::retention::{self, Policy};
use crate::clients::s3::Bucket;

/// (kept with why, removed) for `l`'s records under `policy`. A record in a listing exists
/// with its archive at the recorded size (that is what listing checks), which is the remote's
/// "passes its check now".
pub fn plan(l: &Listing, policy: Policy, now_unix: i64) -> (Vec<(Record, String)>, Vec<Record>) {
    // retention works on catalog entries: the record's manifest and its keys as the "paths".
    let entries: Vec<Entry> = l
        .records
        .iter()
        .map(|r| Entry {
            manifest: r.manifest.clone(),
            manifest_path: PathBuf::from(record_rel(r)),
            archive_path: PathBuf::from(r.object_rel()),
        })
        .collect();
    let p = retention::plan_checked(&entries, policy, now_unix, &mut |_| Ok(()));
    let find = |e: &Entry| l.records.iter().find(|r| r.id() == e.id()).cloned();
    let kept = p
        .kept
        .iter()
        .filter_map(|(e, why)| Some((find(e)?, why.clone())))
        .collect();
    let removed = p.removed.iter().filter_map(find).collect();
    (kept, removed)
}

fn record_rel(r: &Record) -> String {
    let stamp = r.id().rsplit('/').next().unwrap_or_default();
    format!("{}/{stamp}{RECORD_SUFFIX}", r.dir())
}

/// Delete one backup from the remote: its record first, then its archive.
pub async fn remove(bucket: &Bucket, r: &Record) -> anyhow::Result<()> {
    for rel in [record_rel(r), r.object_rel()] {
        let key = bucket.key(&rel);
        bucket
            .store
            .delete(&key)
            .await
            .with_context(|| format!("remote {}: deleting {key}", bucket.name))?;
    }
    Ok(())
}
