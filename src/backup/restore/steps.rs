//! The restore's steps as they ran (the "Restore steps" section), the services stopped and
//! started around the swap, and the reports of a restore that stopped early.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::db::drop_database;
use crate::clients::host;
use crate::clients::postgres::PgClient;
use crate::report::{one_line, Finding, Report, Section, Status};
use crate::sql::quote_ident;

/// One step of the plan as it ran.
pub(super) struct Steps {
    pub(super) rows: Vec<Vec<String>>,
}

impl Steps {
    pub(super) fn add(
        &mut self,
        step: &str,
        status: Status,
        took: Option<Duration>,
        detail: String,
    ) {
        self.rows.push(vec![
            step.to_string(),
            status.label().to_string(),
            took.map(|d| crate::render::took(d.as_secs_f64()))
                .unwrap_or_default(),
            detail,
        ]);
    }

    pub(super) fn section(self) -> Section {
        Section {
            title: "Restore steps".to_string(),
            columns: ["STEP", "STATUS", "TOOK", "DETAIL"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
            rows: self.rows,
            fit: Vec::new(),
        }
    }
}

pub(super) async fn systemctl(verb: &str, unit: &str) -> anyhow::Result<()> {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("systemctl")
            .args([verb, "--", unit])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| anyhow::anyhow!("systemctl {verb} {unit} took over 120 s"))?
    .with_context(|| format!("running systemctl {verb} {unit}"))?;
    if !out.status.success() {
        bail!(
            "systemctl {verb} {unit} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Start `units` again and report each.
pub(super) async fn start_services(units: &[String], steps: &mut Steps, report: &mut Report) {
    for unit in units {
        let t = Instant::now();
        let started = systemctl("start", unit).await;
        let state = host::unit_state(unit, Duration::from_secs(10)).await;
        let f = match (started, state) {
            (Ok(()), Ok(s)) if s == "active" => {
                steps.add(&format!("start {unit}"), Status::Ok, Some(t.elapsed()), s);
                Finding::ok("restore.services", format!("{unit} is active again"))
            }
            (Ok(()), Ok(s)) => {
                steps.add(
                    &format!("start {unit}"),
                    Status::Critical,
                    Some(t.elapsed()),
                    s.clone(),
                );
                Finding::new(
                    "restore.services",
                    Status::Critical,
                    format!("{unit} is {s} after the restore"),
                )
                .hint(format!("journalctl -u {unit} -n 50"))
            }
            (Err(e), _) | (_, Err(e)) => {
                steps.add(
                    &format!("start {unit}"),
                    Status::Critical,
                    Some(t.elapsed()),
                    one_line(&e),
                );
                Finding::new("restore.services", Status::Critical, one_line(&e))
                    .hint(format!("start it by hand: systemctl start {unit}"))
            }
        };
        report.push(f.subject(unit.clone()));
    }
}

/// The report of a restore interrupted before it created anything.
pub(super) fn interrupted(
    mut report: Report,
    steps: Steps,
    e: &anyhow::Error,
    when: &str,
) -> Report {
    report.push(
        Finding::new(
            "restore.interrupted",
            Status::Critical,
            format!("{}: stopped {when}", one_line(e)),
        )
        .hint("run the restore again when you are ready"),
    );
    report.sections.push(steps.section());
    report
}

/// Give up before the swap (a failure or an interrupt): start the services stopped so far,
/// drop our own half-restored database, and report why, naming what was left as it was.
#[allow(clippy::too_many_arguments)]
pub(super) async fn abandon(
    mut report: Report,
    mut steps: Steps,
    pg: &PgClient,
    target: &str,
    restored: &str,
    stopped: &[String],
    id: &str,
    e: &anyhow::Error,
) -> Report {
    let dropped = drop_database(pg, restored).await;
    let cleaned = match dropped {
        Ok(()) => format!("the half-restored {restored} was removed"),
        Err(d) => format!(
            "removing {restored} failed too ({}): drop it by hand: DROP DATABASE {}",
            one_line(&d),
            quote_ident(restored)
        ),
    };
    let was_interrupted = crate::interrupt::is_interrupted(e);
    if was_interrupted {
        let at = steps.rows.last().map(|r| r[0].clone()).unwrap_or_default();
        report.push(
            Finding::new(
                "restore.interrupted",
                Status::Critical,
                format!(
                    "{} during `{at}`: {}; {target} was not touched",
                    one_line(e),
                    if id == "restore.swap" {
                        "the swap was rolled back whole"
                    } else {
                        "stopped before the swap"
                    }
                ),
            )
            .hint(format!(
                "{cleaned}; run the restore again when you are ready"
            )),
        );
    } else {
        report.push(
            Finding::new(id, Status::Critical, one_line(e))
                .hint(format!("{target} was not touched; {cleaned}")),
        );
    }
    start_services(stopped, &mut steps, &mut report).await;
    report.sections.push(steps.section());
    report
}
