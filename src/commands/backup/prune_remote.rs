//! `backup prune --remote NAME`: the retention rule on a remote's copies, with the same plan,
//! `--dry-run` and confirmation as the directory's prune.

use std::time::SystemTime;

use crate::backup::remote;
use crate::backup::retention::Policy;
use crate::context::Ctx;
use crate::render::human_bytes;
use crate::report::{Finding, Report, Section};

pub(super) async fn prune_remote(
    name: &str,
    db: Option<&str>,
    policy: Policy,
    dry_run: bool,
    yes: bool,
    ctx: &Ctx,
) -> anyhow::Result<Report> {
    let mut report = Report::new("backup prune");
    let (bucket, _) = remote::open(&ctx.config.remotes, name, ctx.config.timeouts.connect.0)?;
    let listing = remote::list(&bucket, db).await?;
    let now = crate::timefmt::unix(SystemTime::now());
    let (kept, removed) = remote::prune::plan(&listing, policy, now);
    let row = |r: &remote::Record, action: &str, why: &str| {
        vec![
            r.id().to_string(),
            r.uploaded_at.clone(),
            human_bytes(r.stored_bytes as f64),
            action.to_string(),
            why.to_string(),
        ]
    };
    let mut rows: Vec<Vec<String>> = kept.iter().map(|(r, why)| row(r, "keep", why)).collect();
    let action = if dry_run { "would remove" } else { "remove" };
    rows.extend(removed.iter().map(|r| row(r, action, "outside the policy")));
    report.sections.push(Section {
        title: format!("Retention on remote {name}: {}", policy.describe()),
        columns: ["ID", "UPLOADED", "SIZE", "ACTION", "WHY"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows,
        fit: Vec::new(),
    });
    report.data = Some(serde_json::json!({
        "remote": name,
        "kept": kept.iter().map(|(r, why)| serde_json::json!({"id": r.id(), "why": why})).collect::<Vec<_>>(),
        "removed": removed.iter().map(|r| r.id()).collect::<Vec<_>>(),
        "dry_run": dry_run,
    }));
    let bytes: u64 = removed.iter().map(|r| r.stored_bytes).sum();
    if removed.is_empty() || dry_run {
        let summary = if removed.is_empty() {
            format!(
                "nothing to remove on remote {name}: all {} backup(s) are kept",
                kept.len()
            )
        } else {
            format!(
                "dry run: would remove {} backup(s) ({}) from remote {name}, keep {}",
                removed.len(),
                human_bytes(bytes as f64),
                kept.len()
            )
        };
        report.push(
            Finding::ok("backup.prune", summary)
                .value(removed.len() as u64, "backups")
                .detail(removed.iter().map(|r| r.id().to_string()).collect()),
        );
        return Ok(report);
    }
    let plan: Vec<String> = removed
        .iter()
        .map(|r| format!("remove {} ({})", r.id(), bucket.key(&r.object_rel())))
        .collect();
    crate::confirm::typed(
        &format!("prune {} backup(s) on remote {name}", removed.len()),
        &plan,
        "prune",
        yes,
    )?;
    let mut gone = Vec::new();
    for r in &removed {
        match remote::prune::remove(&bucket, r).await {
            Ok(()) => gone.push(r.id().to_string()),
            Err(e) => report.push(
                Finding::new("backup.prune", crate::report::Status::Warning, crate::report::one_line(&e))
                    .subject(r.id().to_string())
                    .hint("a key that cannot delete (a ransomware-safe one) keeps old copies: expire them with a bucket lifecycle rule instead"),
            ),
        }
    }
    report.push(
        Finding::ok(
            "backup.prune",
            format!(
                "removed {} backup(s) from remote {name}, kept {}",
                gone.len(),
                kept.len()
            ),
        )
        .value(gone.len() as u64, "backups")
        .detail(gone),
    );
    Ok(report)
}
