//! From recorded samples to a chart's points: the keys of some finding ids, and a day's
//! samples folded into points as the chart asks.

use std::collections::BTreeMap;

use super::PerDay;
use crate::state::Sample;

const DAY: i64 = 86_400;

/// Every key whose finding id (up to the first '/') is one of `findings`, with its values,
/// oldest first (the record order breaks ties).
pub(super) fn by_key(samples: &[&Sample], findings: &[&str]) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for s in samples {
        for (key, v) in &s.values {
            let finding = key.split_once('/').map_or(key.as_str(), |(f, _)| f);
            if findings.contains(&finding) && v.is_finite() {
                out.entry(key.clone()).or_default().push((s.at, *v));
            }
        }
    }
    for points in out.values_mut() {
        points.sort_by_key(|p| p.0);
    }
    out
}

/// `points` (oldest first) folded per UTC day as `how` says.
pub(super) fn per_day(points: &[(i64, f64)], how: PerDay) -> Vec<(i64, f64)> {
    if how == PerDay::All {
        return points.to_vec();
    }
    let mut out: Vec<(i64, f64)> = Vec::new();
    let mut day_of_last: Option<i64> = None;
    for &(at, v) in points {
        let day = at.div_euclid(DAY);
        if day_of_last == Some(day) {
            if let Some(p) = out.last_mut() {
                *p = match how {
                    PerDay::Last => (at, v),
                    PerDay::Max => (p.0, p.1.max(v)),
                    PerDay::Sum => (p.0, p.1 + v),
                    PerDay::All => *p,
                };
            }
        } else {
            let at = if how == PerDay::Last { at } else { day * DAY };
            out.push((at, v));
            day_of_last = Some(day);
        }
    }
    out
}

/// The legend's name of `key`: its subject, with the finding id when a chart draws several.
pub(super) fn label(key: &str, with_finding: bool) -> String {
    match key.split_once('/') {
        Some((finding, subject)) if with_finding => {
            let short = finding.rsplit('.').next().unwrap_or(finding);
            format!("{short} {subject}")
        }
        Some((_, subject)) if !subject.is_empty() => subject.to_string(),
        _ => key.to_string(),
    }
}
