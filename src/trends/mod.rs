//! Trends from the run history: the series a team looks at weekly (database sizes, disk use
//! and the day it fills, daily connection peaks, backups and restore tests, slow statements,
//! replication lag, alerts sent), pulled out of the recorded samples, as terminal sparklines
//! ([`sparkline`]), as JSON (the types here) and as a self-contained HTML page ([`html`]).
//!
//! Everything comes from what the history holds: a chart whose keys were never recorded in
//! the period is empty, and every view says so instead of drawing nothing.

pub mod catalog;
pub mod html;
mod series;
pub mod sparkline;
mod svg;

use serde::Serialize;

use crate::probes::growth;
use crate::state::Sample;
pub use catalog::{ChartSpec, PerDay, CHARTS};

/// One chart's worth of series, as `--format json` shows it (`data.charts[]`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chart {
    /// stable: `database_size`, `disk_used`, ...
    pub id: &'static str,
    pub title: &'static str,
    /// the values' unit: bytes, seconds, connections, statements, alerts, passed
    pub unit: &'static str,
    /// how the samples of a day become points: every (`all`), the day's last / max / sum
    pub per_day: PerDay,
    pub series: Vec<Series>,
    /// `disk_used` only: when each filesystem fills at the fitted rate
    pub projections: Vec<Projection>,
}

/// One history key's points in the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Series {
    /// the history key: `finding id/subject`
    pub key: String,
    /// what the chart's legend calls it (the key's finding id when the chart has several)
    pub label: String,
    /// (unix seconds, value), oldest first
    pub points: Vec<(i64, f64)>,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    /// the least-squares slope in unit per day (charts with a fit, two points 1 h apart)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub growth_per_day: Option<f64>,
}

/// When a filesystem fills: the least-squares growth of its used bytes against the free
/// bytes the newest run saw.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Projection {
    pub mount: String,
    pub growth_bytes_per_day: Option<f64>,
    /// free bytes at the newest sample (`host.disk_available`); None when not recorded
    pub available_bytes: Option<f64>,
    pub days_until_full: Option<f64>,
    /// unix seconds of the projected full day; None when not filling or unknown
    pub full_at: Option<i64>,
    /// the same as a UTC date, YYYY-MM-DD
    pub full_date: Option<String>,
}

/// The whole picture of a period (`data` of `opsbook report --format json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trends {
    /// unix seconds: the period is [since, until]
    pub since: i64,
    pub until: i64,
    /// samples (recorded runs) in the period
    pub samples: usize,
    pub charts: Vec<Chart>,
}

impl Trends {
    /// The charts of [`CHARTS`] from `samples` taken in [since, until].
    pub fn from_samples(samples: &[Sample], since: i64, until: i64) -> Trends {
        let in_period: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at >= since && s.at <= until)
            .collect();
        let charts = CHARTS.iter().map(|spec| chart(spec, &in_period)).collect();
        Trends {
            since,
            until,
            samples: in_period.len(),
            charts,
        }
    }

    /// Charts with at least one point.
    pub fn with_data(&self) -> impl Iterator<Item = &Chart> {
        self.charts.iter().filter(|c| !c.series.is_empty())
    }
}

fn chart(spec: &ChartSpec, samples: &[&Sample]) -> Chart {
    let several = spec.findings.len() > 1;
    let mut out = Vec::new();
    for (key, raw) in series::by_key(samples, spec.findings) {
        let points = series::per_day(&raw, spec.per_day);
        let Some(&(_, last)) = points.last() else {
            continue;
        };
        let values = points.iter().map(|p| p.1);
        let min = values.clone().fold(f64::INFINITY, f64::min);
        let max = values.fold(f64::NEG_INFINITY, f64::max);
        let growth_per_day = if spec.fit {
            growth::fit(&points).map(|f| f.bytes_per_day)
        } else {
            None
        };
        let label = series::label(&key, several);
        out.push(Series {
            key,
            label,
            points,
            min,
            max,
            last,
            growth_per_day,
        });
    }
    let projections = if spec.id == "disk_used" {
        let available = series::by_key(samples, &[catalog::DISK_AVAILABLE]);
        out.iter()
            .map(|s| project(s, available.get(&available_key(&s.key))))
            .collect()
    } else {
        Vec::new()
    };
    Chart {
        id: spec.id,
        title: spec.title,
        unit: spec.unit,
        per_day: spec.per_day,
        series: out,
        projections,
    }
}

/// `host.disk_used/<mount>` → `host.disk_available/<mount>`.
fn available_key(used_key: &str) -> String {
    let mount = used_key.split_once('/').map_or("", |(_, m)| m);
    format!("{}/{mount}", catalog::DISK_AVAILABLE)
}

fn project(used: &Series, available: Option<&Vec<(i64, f64)>>) -> Projection {
    let mount = used.key.split_once('/').map_or("", |(_, m)| m).to_string();
    let available_bytes = available.and_then(|a| a.last()).map(|p| p.1);
    let fitted = growth::fit(&used.points);
    let days = fitted
        .zip(available_bytes)
        .and_then(|(f, a)| growth::days_until_full(a, f))
        .map(|d| (d * 100.0).round() / 100.0);
    let newest = used.points.last().map_or(0, |p| p.0);
    let full_at = days
        .filter(|d| *d < 100.0 * 365.0)
        .map(|d| newest + (d * 86400.0) as i64);
    Projection {
        mount,
        growth_bytes_per_day: fitted.map(|f| f.bytes_per_day.round()),
        available_bytes,
        days_until_full: days,
        full_at,
        full_date: full_at.map(date),
    }
}

/// A UTC date, YYYY-MM-DD.
pub fn date(at: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(at.max(0) as u64);
    let (y, m, d, ..) = crate::timefmt::utc_parts(t);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A value in the chart's unit, for people: sizes in IEC units, seconds as a duration.
pub fn human(unit: &str, v: f64) -> String {
    match unit {
        "bytes" => crate::render::human_bytes(v),
        "seconds" => crate::render::human_duration(v),
        _ if v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests;
