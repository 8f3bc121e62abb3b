//! `backup prune` of the backup directory: the retention plan, `--dry-run`, confirmation.

use std::path::Path;
use std::time::SystemTime;

use super::list::entry_row;
use super::{policy, PolicyArgs};
use crate::backup::{catalog, lock, retention};
use crate::context::Ctx;
use crate::render::human_bytes;
use crate::report::{Finding, Report, Section};

pub(super) fn prune(
    db: Option<&str>,
    dir: &Path,
    args: &PolicyArgs,
    dry_run: bool,
    yes: bool,
    ctx: &Ctx,
) -> anyhow::Result<Report> {
    let mut report = Report::new("backup prune");
    let policy = policy(args, ctx);
    if !policy.is_set() {
        anyhow::bail!(
            "backup prune: no retention policy, so nothing can be judged old\nhint: pass --keep N and/or --keep-days D, or set backup.keep / backup.keep_days in the config"
        );
    }
    // Held from the plan to the last removal: the plan's checks must still hold when it acts.
    let _lock = if dry_run {
        None
    } else {
        Some(lock::acquire(&ctx.state_dir(), "the prune")?)
    };
    let cat = catalog::scan(dir, db)?;
    report.extend(cat.findings());
    let entries = cat.entries;
    let now = SystemTime::now();
    let planned = retention::plan_checked(
        &entries,
        policy,
        crate::timefmt::unix(now),
        &mut retention::checksum_now,
    );
    report.extend(planned.findings());
    let (kept, removed) = (planned.kept, planned.removed);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (e, why) in &kept {
        let mut r = entry_row(e, now);
        r.truncate(3);
        r.push("keep".into());
        r.push(why.clone());
        rows.push(r);
    }
    for e in &removed {
        let mut r = entry_row(e, now);
        r.truncate(3);
        r.push(if dry_run { "would remove" } else { "remove" }.into());
        r.push("outside the policy".into());
        rows.push(r);
    }
    report.sections.push(Section {
        title: format!("Retention: {}", policy.describe()),
        columns: ["ID", "AGE", "SIZE", "ACTION", "WHY"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows,
        fit: Vec::new(),
    });
    report.data = Some(serde_json::json!({
        "kept": kept.iter().map(|(e, why)| serde_json::json!({"id": e.id(), "why": why})).collect::<Vec<_>>(),
        "removed": removed.iter().map(|e| e.id()).collect::<Vec<_>>(),
        "dry_run": dry_run,
    }));
    if removed.is_empty() {
        report.push(
            Finding::ok(
                "backup.prune",
                format!("nothing to remove: all {} backup(s) are kept", kept.len()),
            )
            .value(0u64, "backups"),
        );
        return Ok(report);
    }
    if dry_run {
        let bytes: u64 = removed.iter().map(|e| e.manifest.bytes).sum();
        report.push(
            Finding::ok(
                "backup.prune",
                format!(
                    "dry run: would remove {} backup(s) ({}), keep {}",
                    removed.len(),
                    human_bytes(bytes as f64),
                    kept.len()
                ),
            )
            .value(removed.len() as u64, "backups")
            .detail(removed.iter().map(|e| e.id().to_string()).collect()),
        );
        return Ok(report);
    }
    let plan: Vec<String> = removed
        .iter()
        .map(|e| format!("remove {} ({})", e.id(), e.archive_path.display()))
        .collect();
    crate::confirm::typed(
        &format!("prune {} backup(s) in {}", removed.len(), dir.display()),
        &plan,
        "prune",
        yes,
    )?;
    report.extend(retention::remove_entries(&removed)?);
    Ok(report)
}
