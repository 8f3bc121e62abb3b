//! The finding of one backup written (`backup.created`, or `backup.globals` for the roles and
//! tablespaces): size, compression ratio, tables and rows, and where the files are.

use crate::backup::dump;
use crate::render::{human_bytes, took};
use crate::report::Finding;

pub(super) fn created_finding(w: &dump::Written) -> Finding {
    let m = &w.manifest;
    let ratio = if m.bytes > 0 {
        m.dump_bytes as f64 / m.bytes as f64
    } else {
        1.0
    };
    let summary = if m.kind == "globals" {
        format!(
            "roles and tablespaces: {} ({}), {}",
            human_bytes(m.bytes as f64),
            m.compression,
            took(m.duration_ms as f64 / 1000.0)
        )
    } else {
        format!(
            "{}: {} ({}, {:.1}x smaller), {} tables, {} rows, verified, {}",
            m.id,
            human_bytes(m.bytes as f64),
            m.compression,
            ratio,
            m.tables.len(),
            m.total_rows(),
            took(m.duration_ms as f64 / 1000.0)
        )
    };
    let id = if m.kind == "globals" {
        "backup.globals"
    } else {
        "backup.created"
    };
    Finding::ok(id, summary)
        .subject(m.database.clone())
        .value(m.bytes, "bytes")
        .detail(vec![
            format!("archive {}", w.archive_path.display()),
            format!("manifest {}", w.manifest_path.display()),
            format!("sha256 {}", m.sha256),
        ])
}
