//! `backup list` of a backup directory: the catalog as a table, newest first.

use std::path::Path;
use std::time::SystemTime;

use crate::backup::catalog::{self, Entry};
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Fit, Report, Section, Status};

pub(super) fn entry_row(e: &Entry, now: SystemTime) -> Vec<String> {
    let m = &e.manifest;
    // A Redis snapshot lists its databases and keys where a dump lists tables and rows.
    let (tables, rows) = m.listed_counts();
    vec![
        m.id.clone(),
        human_duration(e.age_secs(now).max(0) as f64),
        human_bytes(m.bytes as f64),
        m.compression.clone(),
        if m.verified { "yes" } else { "no" }.to_string(),
        tables.to_string(),
        rows.to_string(),
    ]
}

const LIST_COLUMNS: [&str; 7] = [
    "ID",
    "AGE",
    "SIZE",
    "COMPRESSION",
    "VERIFIED",
    "TABLES",
    "ROWS",
];

pub(super) fn list(db: Option<&str>, dir: &Path) -> anyhow::Result<Report> {
    let mut report = Report::new("backup list");
    let now = SystemTime::now();
    let cat = catalog::scan(dir, db)?;
    let entries = cat.entries;
    let what = db.map(|d| format!("of {d} ")).unwrap_or_default();
    match entries.first() {
        None => report.push(
            Finding::new(
                "backup.list",
                Status::Warning,
                format!("no backups {what}in {}", dir.display()),
            )
            .value(0u64, "backups")
            .hint("take one with `opsbook backup`, or point --dir / backup.dir at where they are"),
        ),
        Some(newest) => {
            let dbs = catalog::databases(&entries);
            report.push(
                Finding::ok(
                    "backup.list",
                    format!(
                        "{} backup(s) {what}of {} database(s) in {}, newest {} ago",
                        entries.len(),
                        dbs.len(),
                        dir.display(),
                        human_duration(newest.age_secs(now).max(0) as f64)
                    ),
                )
                .value(entries.len() as u64, "backups"),
            );
        }
    }
    report.extend(cat.refused.iter().map(|r| r.finding()));
    report.sections.push(Section {
        title: format!("Backups in {}, newest first", dir.display()),
        columns: LIST_COLUMNS.iter().map(|c| c.to_string()).collect(),
        rows: entries.iter().map(|e| entry_row(e, now)).collect(),
        // The id is what `restore` and `backup verify` take: never cut.
        fit: vec![
            Fit::Whole,
            Fit::Optional(1),
            Fit::Optional(2),
            Fit::Optional(5),
            Fit::Optional(3),
            Fit::Optional(4),
            Fit::Optional(6),
        ],
    });
    let data: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.manifest.id,
                "database": e.manifest.database,
                "kind": e.manifest.kind,
                "started_at": e.manifest.started_at,
                "age_secs": e.age_secs(now),
                "bytes": e.manifest.bytes,
                "compression": e.manifest.compression,
                "verified": e.manifest.verified,
                "tables": e.manifest.tables.len(),
                "rows": e.manifest.total_rows(),
                "archive": e.archive_path,
                "manifest": e.manifest_path,
            })
        })
        .collect();
    report.data = Some(serde_json::json!({ "backups": data }));
    Ok(report)
}
