//! The restore's plan: the side names (`<target>__restore_<ts>`, `<target>__pre_restore_<ts>`),
//! the checks made before asking (the target exists, or not with --into), the steps the
//! operator confirms, and the dry run.

use std::time::SystemTime;

use anyhow::bail;

use super::db::{exists, maintenance};
use super::{Request, Restore};
use crate::backup::verify;
use crate::context::Ctx;
use crate::render::human_bytes;
use crate::report::{one_line, Finding, Report, Section, Status};

/// PostgreSQL names are at most 63 bytes: shorten the target part, never the suffix.
fn side_name(target: &str, tag: &str, ts: &str) -> String {
    let suffix = format!("__{tag}_{ts}");
    let room = 63usize.saturating_sub(suffix.len());
    let mut cut = target.len().min(room);
    while !target.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{suffix}", &target[..cut])
}

fn compact_stamp(t: SystemTime) -> String {
    crate::timefmt::backup_stamp(t)
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

/// Name the databases, connect to the cluster, check the target, and write down the plan.
/// Changes nothing.
pub async fn prepare(req: Request, ctx: &Ctx) -> anyhow::Result<Restore> {
    let entry = &req.entry;
    let m = entry.manifest.clone();
    if m.kind != "database" {
        bail!(
            "restore: {} is a globals file (roles, tablespaces), not a database archive\nhint: apply it with psql as a superuser: zstd -dc {} | psql",
            m.id,
            entry.archive_path.display()
        );
    }
    let swapping = req.into.is_none();
    let target = req
        .into
        .clone()
        .or_else(|| req.db.clone())
        .unwrap_or_else(|| m.database.clone());
    let options = ctx.pg_options()?;
    let pg = maintenance(&options, ctx).await?;
    // Always a recognisable side name (`__restore_<ts>`): a half-restored database never carries
    // a name the operator asked for, and the next run can report it if we are killed. A run
    // killed within the same second left names with this stamp: the next free second is taken,
    // so the leftover stays for the operator and the new run never collides with it.
    let now = SystemTime::now();
    let mut k = 0u64;
    let (restored, pre) = loop {
        let ts = compact_stamp(now + std::time::Duration::from_secs(k));
        let restored = side_name(&target, "restore", &ts);
        let pre = side_name(&target, "pre_restore", &ts);
        if k >= 60 || !(exists(&pg, &restored).await? || exists(&pg, &pre).await?) {
            break (restored, pre);
        }
        k += 1;
    };
    let target_exists = exists(&pg, &target).await?;
    if swapping && !target_exists {
        bail!("restore: database {target} does not exist on {}, so there is nothing to replace\nhint: restore side by side with --into {target}", options.display_url());
    }
    if !swapping && target_exists {
        bail!("restore: database {target} already exists; --into only creates a new database\nhint: pick another name, or replace it with --db {target}");
    }

    let mut plan = vec![
        format!(
            "verify {} ({}, sha256 and table of contents)",
            m.id,
            human_bytes(m.bytes as f64)
        ),
        format!(
            "create database {restored} (owner, encoding and locale of {})",
            if target_exists { &target } else { &m.database }
        ),
        format!(
            "pg_restore into {restored} ({} job{})",
            req.jobs,
            if req.jobs == 1 { "" } else { "s" }
        ),
        format!(
            "compare the row counts of {} tables ({} rows) with the manifest",
            m.tables.len(),
            m.total_rows()
        ),
    ];
    if !swapping {
        plan.push(format!("rename {restored} to {target}"));
    }
    if swapping {
        if !req.stop_service.is_empty() {
            plan.push(format!("stop {}", req.stop_service.join(", ")));
        }
        plan.push(format!(
            "end the sessions on {target}, rename it to {pre} (kept, not dropped)"
        ));
        plan.push(format!("rename {restored} to {target}"));
        if !req.stop_service.is_empty() {
            plan.push(format!(
                "start {} and check they are active",
                req.stop_service.join(", ")
            ));
        }
    }
    let action = if swapping {
        format!("restore {} over database {target}", m.id)
    } else {
        format!("restore {} into the new database {target}", m.id)
    };
    Ok(Restore {
        m,
        swapping,
        target,
        restored,
        pre,
        options,
        pg,
        target_exists,
        plan,
        action,
        req,
    })
}

impl Restore {
    /// `--dry-run`: verify the archive, show the plan; nothing is created or changed.
    pub async fn dry_run(self, mut report: Report) -> Report {
        let Restore {
            req: Request { entry, .. },
            m,
            plan,
            action,
            ..
        } = self;
        let checked = verify::check(&entry).await;
        report.push(match checked {
            Ok(v) => Finding::ok(
                "restore.verify",
                format!(
                    "{}: checksum and table of contents good ({} entries)",
                    m.id, v.toc_entries
                ),
            ),
            Err(e) => Finding::new("restore.verify", Status::Critical, one_line(&e))
                .hint("this backup cannot be restored; choose another (`opsbook backup list`)"),
        });
        report.push(Finding::ok(
            "restore.plan",
            format!("dry run: {action}; nothing was changed"),
        ));
        report.sections.push(Section {
            title: "The plan".into(),
            columns: vec!["#".into(), "STEP".into()],
            rows: plan
                .iter()
                .enumerate()
                .map(|(i, s)| vec![(i + 1).to_string(), s.clone()])
                .collect(),
            fit: Vec::new(),
        });
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_names_fit_in_63_bytes() {
        assert_eq!(
            side_name("app", "restore", "20261123010203"),
            "app__restore_20261123010203"
        );
        let long = "x".repeat(70);
        let n = side_name(&long, "pre_restore", "20261123010203");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("__pre_restore_20261123010203"));
        let multi = "é".repeat(40);
        assert!(side_name(&multi, "restore", "20261123010203").len() <= 63);
    }
}
