//! `backup --remote NAME [--remote-only]`: completing the copies streamed while the backups were
//! written (src/backup/remote/tee.rs), and what a failed one means for the operator.

use crate::backup::dump::{self, Written};
use crate::backup::remote::{self, tee::Pending};
use crate::clients::s3::Bucket;
use crate::report::{one_line, Finding, Status};

/// A written backup and its copy, settled.
pub(super) struct Settled {
    /// What to report: the backup's finding (unless nothing of it was kept), then the copy's.
    pub findings: Vec<Finding>,
    /// A backup exists: locally, or (`--remote-only`) on the remote.
    pub kept: bool,
    /// A signal stopped the copy.
    pub stopped: bool,
}

/// Complete the copy of `w` (reported by `created`) on `remote`, when one was streamed.
/// With `--remote-only` a backup whose copy failed was not kept at all: only the copy's
/// failure is reported.
pub(super) async fn settle(
    remote: Option<(&str, &Bucket)>,
    pending: Option<Pending>,
    w: &Written,
    created: Finding,
    remote_only: bool,
) -> Settled {
    let (Some((name, bucket)), Some(pending)) = (remote, pending) else {
        return Settled {
            findings: vec![created],
            kept: true,
            stopped: false,
        };
    };
    let clock = std::time::Instant::now();
    let (copy, stopped) = match pending.commit(bucket, &w.manifest).await {
        Ok((r, t)) => {
            let mut f = remote::findings::copied(name, &r);
            let took = |d: std::time::Duration| crate::render::took(d.as_secs_f64());
            // Where the time went (benches/remote.sh reads these): while the backup was being
            // written, and what streaming leaves after it (the last parts, the check, the record).
            f.detail.push(format!(
                "while streaming: {} encrypting, {} hashing, {} waiting for the remote",
                took(t.sealing),
                took(t.hashing),
                took(t.waiting)
            ));
            f.detail.push(format!(
                "completed {} after the backup was written",
                took(clock.elapsed())
            ));
            (f, false)
        }
        Err(e) => (
            failed(name, &w.manifest.database, &e, remote_only),
            crate::interrupt::is_interrupted(&e),
        ),
    };
    let kept = !remote_only || copy.status == Status::Ok;
    let mut created = created;
    if remote_only {
        created.detail = remote_only_detail(name, w);
    }
    Settled {
        findings: if kept {
            vec![created, copy]
        } else {
            vec![copy]
        },
        kept,
        stopped,
    }
}

/// The upload of a `--remote-only` backup stopped it (or could not start).
pub(super) fn stopped_the_backup(e: &anyhow::Error) -> bool {
    e.downcast_ref::<dump::RemoteOnlyFailed>().is_some()
}

/// `backup.remote_copy` CRITICAL: the copy failed; what is left depends on `--remote-only`.
pub(super) fn failed(name: &str, db: &str, e: &anyhow::Error, remote_only: bool) -> Finding {
    if !remote_only {
        return remote::findings::copy_failed(name, db, e);
    }
    Finding::new(
        "backup.remote_copy",
        Status::Critical,
        format!("{db}: not copied to remote {name}: {}", one_line(e)),
    )
    .subject(db.to_string())
    .hint("--remote-only: no backup of it was kept, here or on the remote (the upload was aborted and no record written); fix the cause and run the backup again")
}

/// The detail lines of a backup that was streamed to the remote only (no archive path).
fn remote_only_detail(name: &str, w: &Written) -> Vec<String> {
    vec![
        format!(
            "archive not kept locally (--remote-only): its copy on remote {name} is the backup"
        ),
        format!("sha256 {}", w.manifest.sha256),
    ]
}
