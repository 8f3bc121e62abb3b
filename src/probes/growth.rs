//! Growth read from the run history: a least-squares projection of when a filesystem fills
//! up (`host.disk_usage`) and day-over-day database growth (`postgres.database_growth`).
//! The math is pure (unit tested); the callers hand in the history and today's numbers.

use std::path::Path;

use crate::clients::host::DiskUsage;
use crate::clients::pg::PgOptions;
use crate::config::Limits;
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Status};
use crate::state::History;

/// Samples older than this do not shape the projection: last month's migration is not
/// tonight's growth.
pub const WINDOW_SECS: i64 = 14 * 86400;
/// A slope over less than this is noise (two runs a minute apart).
pub const MIN_SPAN_SECS: i64 = 3600;
/// Day-over-day compares with the newest size at least this old (a run at 22:00 compares
/// with yesterday's, even when yesterday's ran at 22:30).
pub const DAY_AGO_SECS: i64 = 20 * 3600;

/// A straight line through (time, bytes) samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub bytes_per_day: f64,
    pub samples: usize,
    /// seconds between the first and the last sample
    pub span_secs: i64,
}

/// Least-squares slope of `points` (unix seconds, bytes). None with fewer than two samples
/// or when they span less than [`MIN_SPAN_SECS`].
pub fn fit(points: &[(i64, f64)]) -> Option<Fit> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let first = points.iter().map(|p| p.0).min()?;
    let last = points.iter().map(|p| p.0).max()?;
    if last - first < MIN_SPAN_SECS {
        return None;
    }
    // Times relative to the first sample: unix seconds squared lose the slope's precision.
    let xs: Vec<f64> = points.iter().map(|p| (p.0 - first) as f64).collect();
    let mx = xs.iter().sum::<f64>() / n as f64;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (x, (_, y)) in xs.iter().zip(points) {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
    }
    if sxx <= 0.0 {
        return None;
    }
    Some(Fit {
        bytes_per_day: sxy / sxx * 86400.0,
        samples: n,
        span_secs: last - first,
    })
}

/// Days until `available` bytes are gone at `fit`'s rate; None when the disk is not filling.
pub fn days_until_full(available: f64, fit: Fit) -> Option<f64> {
    (fit.bytes_per_day > 0.0).then(|| available.max(0.0) / fit.bytes_per_day)
}

/// History key of a filesystem's used bytes.
pub fn disk_used_key(mount: &Path) -> String {
    format!("host.disk_used/{}", mount.display())
}

/// History key of a filesystem's free bytes (`opsbook report`'s disk-full day).
pub fn disk_available_key(mount: &Path) -> String {
    format!("host.disk_available/{}", mount.display())
}

/// What the projection of one mount says, for the report's data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Projection {
    pub mount: String,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub samples: usize,
    pub growth_bytes_per_day: Option<f64>,
    pub days_until_full: Option<f64>,
}

/// `host.disk_usage` of one mount with the projection: `finding` (from the percent rule)
/// gets the days until full in its summary and detail, and the worse of both statuses.
pub fn project_disk(
    mut finding: Finding,
    usage: &DiskUsage,
    roles: &[String],
    history: &History,
    now: i64,
    days: Limits,
) -> (Finding, Projection) {
    let key = disk_used_key(&usage.mount);
    let mut points = history.series(&key, now - WINDOW_SECS);
    points.retain(|p| p.0 < now);
    points.push((now, usage.used as f64));
    let fitted = fit(&points);
    let until = fitted.and_then(|f| days_until_full(usage.available as f64, f));
    let mut detail: Vec<String> = roles.iter().map(|r| format!("holds {r}")).collect();
    match (fitted, until) {
        (None, _) => {
            finding
                .summary
                .push_str("; no projection yet (needs runs 1 h apart within 14 days)");
        }
        (Some(f), None) => {
            finding.summary.push_str(&format!(
                "; not filling ({}/day over {})",
                signed_bytes(f.bytes_per_day),
                human_duration(f.span_secs as f64)
            ));
        }
        (Some(f), Some(d)) => {
            let status = Status::below(d, days.warning, days.critical);
            finding.summary.push_str(&format!(
                "; full in {d:.1} days at +{}/day",
                human_bytes(f.bytes_per_day)
            ));
            if status != Status::Ok {
                finding.status = finding.status.worst(status);
                finding.hint = Some(crate::probes::host::DISK_HINT.to_string());
            }
        }
    }
    if let Some(f) = fitted {
        detail.push(format!(
            "growth {}/day: least squares over {} samples spanning {}",
            signed_bytes(f.bytes_per_day),
            f.samples,
            human_duration(f.span_secs as f64)
        ));
    }
    finding.detail.extend(detail);
    let projection = Projection {
        mount: usage.mount.display().to_string(),
        used_bytes: usage.used,
        available_bytes: usage.available,
        samples: points.len(),
        growth_bytes_per_day: fitted.map(|f| f.bytes_per_day.round()),
        days_until_full: until.map(|d| (d * 100.0).round() / 100.0),
    };
    (finding, projection)
}

fn signed_bytes(b: f64) -> String {
    let sign = if b < 0.0 { "-" } else { "+" };
    format!("{sign}{}", human_bytes(b.abs()))
}

/// Growth of one database over a day, from two sizes `elapsed` seconds apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayGrowth {
    pub bytes_per_day: f64,
    /// percent of the earlier size, per day; None when the earlier size was 0
    pub pct_per_day: Option<f64>,
}

pub fn day_growth(before: f64, after: f64, elapsed_secs: i64) -> Option<DayGrowth> {
    if elapsed_secs <= 0 {
        return None;
    }
    let per_day = (after - before) * 86400.0 / elapsed_secs as f64;
    Some(DayGrowth {
        bytes_per_day: per_day,
        pct_per_day: (before > 0.0).then(|| per_day * 100.0 / before),
    })
}

/// `postgres.database_growth`, one finding per database: today's size against the newest
/// recorded size at least [`DAY_AGO_SECS`] old, scaled to a day.
pub fn database_growth(
    server: &PgOptions,
    sizes: &[(String, i64)],
    history: &History,
    now: i64,
    pct: Limits,
    bytes: Limits,
) -> Vec<Finding> {
    let id = "postgres.database_growth";
    sizes
        .iter()
        .map(|(db, size)| {
            let key = crate::probes::postgres::size_key(server, db);
            let before = history
                .series(&key, 0)
                .into_iter()
                .rfind(|(at, _)| now - at >= DAY_AGO_SECS);
            let Some((at, prev)) = before else {
                return Finding::ok(
                    id,
                    format!(
                        "{} now; growth from the first run a day after this one (none recorded 20 h ago or earlier)",
                        human_bytes(*size as f64)
                    ),
                )
                .subject(db.clone());
            };
            let Some(g) = day_growth(prev, *size as f64, now - at) else {
                return Finding::ok(id, "no earlier size to compare with").subject(db.clone());
            };
            let status = Status::above(g.bytes_per_day, bytes.warning, bytes.critical).worst(
                g.pct_per_day
                    .map(|p| Status::above(p, pct.warning, pct.critical))
                    .unwrap_or(Status::Ok),
            );
            let pct_text = g
                .pct_per_day
                .map(|p| format!(" ({p:+.1}%/day)"))
                .unwrap_or_default();
            let mut f = Finding::new(
                id,
                status,
                format!(
                    "{}/day{pct_text}: {} now, {} {} ago",
                    signed_bytes(g.bytes_per_day),
                    human_bytes(*size as f64),
                    human_bytes(prev),
                    human_duration((now - at) as f64)
                ),
            )
            .subject(db.clone())
            .value(g.bytes_per_day.round() as i64, "bytes");
            if status != Status::Ok {
                f = f.hint(format!(
                    "find what grew: `SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class ORDER BY pg_total_relation_size(oid) DESC LIMIT 10` in {db}; expected after a data load, a leak (unpruned log or queue table) otherwise"
                ));
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86400;

    #[test]
    fn a_straight_climb_fits_exactly() {
        let pts: Vec<(i64, f64)> = (0..5)
            .map(|d| (1_000_000 + d * DAY, 100.0 + 10.0 * d as f64))
            .collect();
        let f = fit(&pts).unwrap();
        assert!((f.bytes_per_day - 10.0).abs() < 1e-9, "{f:?}");
        assert_eq!(f.samples, 5);
        assert_eq!(f.span_secs, 4 * DAY);
        assert!((days_until_full(25.0, f).unwrap() - 2.5).abs() < 1e-9);
    }

    #[test]
    fn noise_is_averaged_and_shrinking_is_not_filling() {
        let pts = [(0, 100.0), (DAY, 130.0), (2 * DAY, 120.0), (3 * DAY, 150.0)];
        let f = fit(&pts).unwrap();
        // slope of the least-squares line: 14 per day
        assert!((f.bytes_per_day - 14.0).abs() < 1e-9, "{f:?}");
        let down = fit(&[(0, 200.0), (DAY, 100.0)]).unwrap();
        assert!(down.bytes_per_day < 0.0);
        assert_eq!(days_until_full(1e9, down), None);
        assert_eq!(
            days_until_full(1e9, fit(&[(0, 5.0), (DAY, 5.0)]).unwrap()),
            None
        );
    }

    #[test]
    fn too_few_or_too_close_samples_give_no_fit() {
        assert_eq!(fit(&[]), None);
        assert_eq!(fit(&[(0, 1.0)]), None);
        assert_eq!(fit(&[(0, 1.0), (3599, 2.0)]), None);
        assert!(fit(&[(0, 1.0), (3600, 2.0)]).is_some());
    }

    #[test]
    fn day_growth_scales_to_a_day() {
        let g = day_growth(1000.0, 1500.0, 2 * DAY).unwrap();
        assert!((g.bytes_per_day - 250.0).abs() < 1e-9);
        assert!((g.pct_per_day.unwrap() - 25.0).abs() < 1e-9);
        assert_eq!(day_growth(0.0, 10.0, DAY).unwrap().pct_per_day, None);
        assert_eq!(day_growth(1.0, 2.0, 0), None);
    }

    #[test]
    fn projection_turns_critical_when_full_within_days() {
        let usage = DiskUsage {
            path: "/srv".into(),
            mount: "/srv".into(),
            total: 1000,
            used: 800,
            available: 200,
        };
        let now = 100 * DAY;
        let h = History::in_memory().unwrap();
        for (d, used) in [(2, 600.0), (1, 700.0)] {
            let mut values = std::collections::BTreeMap::new();
            values.insert(disk_used_key(Path::new("/srv")), used);
            h.push(crate::state::Sample {
                at: now - d * DAY,
                command: "check night".into(),
                values,
            })
            .unwrap();
        }
        let limits = Limits {
            warning: Some(14.0),
            critical: Some(3.0),
        };
        let base = Finding::ok("host.disk_usage", "80.0% used").subject("/srv");
        let (f, p) = project_disk(base, &usage, &["data /srv/pg".into()], &h, now, limits);
        assert_eq!(f.status, Status::Critical, "{f:?}");
        assert!(f.summary.contains("full in 2.0 days"), "{}", f.summary);
        assert_eq!(p.days_until_full, Some(2.0));
        assert_eq!(p.samples, 3);
        assert!(f.detail.iter().any(|l| l == "holds data /srv/pg"));

        let (f, p) = project_disk(
            Finding::ok("host.disk_usage", "80.0% used"),
            &usage,
            &[],
            &History::default(),
            now,
            limits,
        );
        assert_eq!(f.status, Status::Ok);
        assert_eq!(p.days_until_full, None);
        assert!(f.summary.contains("no projection yet"));
    }
}
