//! What `backup --remote` and `backup list --remote` report: the findings and the listing's
//! table, built here so `commands::backup` stays the operator's side only.

use crate::report::{Finding, Fit, Report, Section, Status};

use super::{Listing, Record};

pub fn copied(remote: &str, r: &Record) -> Finding {
    let enc = r.encryption.as_deref().unwrap_or("not encrypted");
    let proof = if r.stored_check == super::CHECK_E_TAG {
        "the remote's checksum (multipart ETag) equals the parts sent"
    } else {
        "read back, sha256 equal"
    };
    Finding::ok(
        "backup.remote_copy",
        format!(
            "{} copied to remote {remote}: {} stored ({enc}), {proof}",
            r.id(),
            crate::render::human_bytes(r.stored_bytes as f64)
        ),
    )
    .subject(r.manifest.database.clone())
    .value(r.stored_bytes, "bytes")
    .detail(vec![
        format!("object {}", r.object_rel()),
        format!("stored sha256 {}", r.stored_sha256),
        format!("checked by {}", r.stored_check),
    ])
}

pub fn copy_failed(remote: &str, db: &str, e: &anyhow::Error) -> Finding {
    Finding::new(
        "backup.remote_copy",
        Status::Critical,
        format!("{db}: not copied to remote {remote}: {}", crate::report::one_line(e)),
    )
    .subject(db.to_string())
    .hint("the local backup is kept; no record was written, so the remote lists no partial copy; fix the cause and run the backup again")
}

/// `backup list --remote NAME` as a report.
pub fn listing(remote: &str, db: Option<&str>, l: &Listing, now: i64) -> Report {
    let mut report = Report::new("backup list");
    let what = db.map(|d| format!("of {d} ")).unwrap_or_default();
    match l.records.first() {
        None => report.push(
            Finding::new(
                "backup.remote_list",
                Status::Warning,
                format!("no backups {what}on remote {remote}"),
            )
            .value(0u64, "backups")
            .hint("copy one with `opsbook backup --remote NAME`"),
        ),
        Some(newest) => report.push(
            Finding::ok(
                "backup.remote_list",
                format!(
                    "{} backup(s) {what}on remote {remote}, newest {} ago",
                    l.records.len(),
                    crate::render::human_duration((now - newest.uploaded_unix).max(0) as f64)
                ),
            )
            .value(l.records.len() as u64, "backups"),
        ),
    }
    for (key, why) in &l.refused {
        report.push(
            Finding::new("backup.remote_refused", Status::Warning, format!("{key}: not listed: {why}"))
                .subject(key.clone())
                .hint("an upload that did not finish, or an object opsbook did not write; it is never restored from"),
        );
    }
    report.sections.push(Section {
        title: format!("Backups on remote {remote}, newest first"),
        columns: ["id", "uploaded", "stored", "encryption", "rows/keys"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows: l
            .records
            .iter()
            .map(|r| {
                vec![
                    r.id().to_string(),
                    r.uploaded_at.clone(),
                    crate::render::human_bytes(r.stored_bytes as f64),
                    r.encryption.clone().unwrap_or_else(|| "none".into()),
                    // a Redis snapshot's keys where a dump has rows
                    r.manifest.listed_counts().1.to_string(),
                ]
            })
            .collect(),
        fit: vec![
            Fit::Whole,
            Fit::Optional(1),
            Fit::Optional(2),
            Fit::Optional(3),
            Fit::Optional(4),
        ],
    });
    let data: Vec<serde_json::Value> = l
        .records
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id(),
                "database": r.manifest.database,
                "uploaded_at": r.uploaded_at,
                "age_secs": now - r.uploaded_unix,
                "object": r.object_rel(),
                "stored_bytes": r.stored_bytes,
                "stored_sha256": r.stored_sha256,
                "stored_check": r.stored_check,
                "encryption": r.encryption,
                "kind": r.manifest.kind,
                "rows": r.manifest.listed_counts().1,
                "verified": r.manifest.verified,
            })
        })
        .collect();
    report.data = Some(serde_json::json!({ "remote": remote, "backups": data }));
    report
}
