//! `opsbook report`: the weekly picture from the run history. Without `--html` the trends are
//! sparklines (a report section; `--format json` carries the series and projections in
//! `data`); with `--html FILE` the same charts go into one self-contained page. It reads only
//! the state directory: no server is contacted.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::config::Span;
use crate::context::Ctx;
use crate::report::{Finding, Report, Status};
use crate::state::History;
use crate::trends::{self, html, sparkline, Trends};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "report",
    page: "commands/report.md",
    ids: &[
        "report.history",
        "report.disk_full (one per filesystem the history has)",
        "report.html (with --html)",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!(
        "{}{}",
        FINDING_IDS.help(),
        "\n\nExamples:\n  opsbook report\n  opsbook report --since 7d --html /var/www/ops/report.html\n  \
opsbook report --format json | jq '.data.charts[] | {id, series: [.series[].key]}'\n\n\
Exit status: 0 OK, 1 WARNING (no history in the period, or a disk fills within \
thresholds.disk_full_days), 2 CRITICAL (a disk fills within the critical days), 3 UNKNOWN.\n\
See commands/report.md for the charts, the keys each reads and the JSON schema."
    )
}

/// Show the trends of the run history as sparklines, or write them as an HTML page
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How far back to look (7d, 30d, 90d, ...)
    #[arg(long, value_name = "SPAN", default_value = "30d", value_parser = parse_since)]
    pub since: Span,

    /// Write the charts as one self-contained HTML page to FILE (replaced atomically, mode 0644)
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub html: Option<PathBuf>,
}

fn parse_since(s: &str) -> Result<Span, String> {
    let span = Span::parse(s)?;
    if span.0.as_secs() < 3600 {
        return Err(format!(
            "`{s}` is too short a period for trends (at least 1h, e.g. 30d)"
        ));
    }
    Ok(span)
}

pub async fn run(args: &ReportArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let now = crate::state::now_secs();
    let since = now.saturating_sub(i64::try_from(args.since.0.as_secs()).unwrap_or(i64::MAX));
    let dir = ctx.state_dir();
    let history = History::load(&dir)?;
    let samples = history.samples()?;
    let trends = Trends::from_samples(&samples, since, now);

    let mut report = Report::new("report");
    report.push(history_finding(&trends, &dir));
    report.extend(disk_findings(&trends, ctx.config.thresholds.disk_full_days));
    if let Some(path) = &args.html {
        check_target(path)?;
        let page = html::page(&trends, &crate::notify::hostname(), now)?;
        crate::atomic_file::write_atomic_mode(path, page.as_bytes(), 0o644)
            .with_context(|| format!("report --html: writing the page {}", path.display()))?;
        report.push(
            Finding::ok(
                "report.html",
                format!(
                    "wrote {} ({} charts with data, {})",
                    path.display(),
                    trends.with_data().count(),
                    crate::render::human_bytes(page.len() as f64)
                ),
            )
            .subject(path.display().to_string()),
        );
    } else {
        report.sections.push(sparkline::section(
            &trends,
            &format!("Trends since {} (UTC)", trends::date(since)),
            true,
        ));
    }
    report.data = Some(serde_json::to_value(&trends)?);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// `--html FILE` names a file in a directory that exists (a typo must not create directories).
fn check_target(path: &std::path::Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "report --html: {} is a directory\nhint: name the page's file, e.g. {}",
            path.display(),
            path.join("report.html").display()
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "report --html: the directory {} does not exist; nothing was written\nhint: create it first (`mkdir -p {}`) or write the page elsewhere",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

/// `report.history`: how much history the period holds (none is a warning: nothing records).
fn history_finding(trends: &Trends, dir: &std::path::Path) -> Finding {
    let (from, to) = (trends::date(trends.since), trends::date(trends.until));
    if trends.samples == 0 {
        return Finding::new(
            "report.history",
            Status::Warning,
            format!(
                "no recorded runs from {from} to {to} in {}",
                dir.display()
            ),
        )
        .value(0, "runs")
        .hint("the history fills as `check morning`, `check night`, `monitor` and `backup` run: schedule them (`opsbook runbook schedule`), with the same OPSBOOK_STATE_DIR / state_dir as this report");
    }
    let with = trends.with_data().count();
    let empty: Vec<&str> = trends
        .charts
        .iter()
        .filter(|c| c.series.is_empty())
        .map(|c| c.id)
        .collect();
    let mut f = Finding::ok(
        "report.history",
        format!(
            "{} recorded runs from {from} to {to}; {with} of {} charts have data",
            trends.samples,
            trends.charts.len()
        ),
    )
    .value(trends.samples, "runs");
    if !empty.is_empty() {
        f = f.detail(vec![format!(
            "no data in this period: {}",
            empty.join(", ")
        )]);
    }
    f
}

/// `report.disk_full`: per filesystem, the day it fills at the period's growth, against
/// `thresholds.disk_full_days`.
fn disk_findings(trends: &Trends, days: crate::config::Limits) -> Vec<Finding> {
    let Some(disk) = trends.charts.iter().find(|c| c.id == "disk_used") else {
        return Vec::new();
    };
    disk.projections
        .iter()
        .map(|p| {
            let f = Finding::new("report.disk_full", Status::Ok, String::new())
                .subject(p.mount.clone());
            match (p.days_until_full, p.growth_bytes_per_day) {
                (Some(d), Some(g)) => {
                    let day = p.full_date.as_deref().unwrap_or("in more than a century");
                    let status = Status::below(d, days.warning, days.critical);
                    let mut f = Finding {
                        status,
                        summary: format!(
                            "{} fills on {day} (in {d:.1} days) at +{}/day",
                            p.mount,
                            crate::render::human_bytes(g)
                        ),
                        ..f
                    }
                    .value(d, "days")
                    .below(days.warning, days.critical);
                    if status != Status::Ok {
                        f = f.hint(crate::probes::host::DISK_HINT);
                    }
                    f
                }
                _ => Finding {
                    summary: format!("{}: {}", p.mount, no_projection(p)),
                    ..f
                },
            }
        })
        .collect()
}

fn no_projection(p: &trends::Projection) -> &'static str {
    match (p.growth_bytes_per_day, p.available_bytes) {
        (None, _) => "no projection (needs points 1 h apart in the period)",
        (Some(_), None) => "no projection (free space not recorded: `check night` records it)",
        (Some(_), Some(_)) => "not filling",
    }
}
