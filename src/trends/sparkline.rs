//! Terminal sparklines: a series as a line of block characters, one per point (or per bucket
//! of points when there are more than fit), and the report section that lists every series.

use super::{human, Trends};
use crate::report::{Fit, Section};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// At most this many characters per sparkline (a month of daily points fits).
pub const WIDTH: usize = 32;

/// `values` as at most `width` block characters, lowest ▁ to highest █; buckets of several
/// values show the bucket's largest (a peak must not vanish); a flat series is all ▄.
pub fn sparkline(values: &[f64], width: usize) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let buckets: Vec<f64> = if values.len() <= width {
        values.to_vec()
    } else {
        (0..width)
            .map(|i| {
                let from = i * values.len() / width;
                let to = ((i + 1) * values.len() / width).max(from + 1);
                values[from..to]
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
            })
            .collect()
    };
    let lo = buckets.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = buckets.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    buckets
        .iter()
        .map(|v| {
            if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                BARS[3]
            } else {
                let i = ((v - lo) / (hi - lo) * (BARS.len() - 1) as f64).round() as usize;
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

/// One row per series of every chart with data: chart, series, sparkline, min, max, last;
/// with `empty_too` a chart without data is one row saying so.
pub fn section(trends: &Trends, title: &str, empty_too: bool) -> Section {
    let mut rows = Vec::new();
    for chart in &trends.charts {
        if chart.series.is_empty() && empty_too {
            rows.push(vec![
                chart.id.to_string(),
                String::new(),
                "no data in this period".to_string(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for s in &chart.series {
            let values: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            rows.push(vec![
                chart.id.to_string(),
                s.label.clone(),
                sparkline(&values, WIDTH),
                human(chart.unit, s.min),
                human(chart.unit, s.max),
                human(chart.unit, s.last),
            ]);
        }
    }
    Section {
        title: title.to_string(),
        columns: ["CHART", "SERIES", "TREND", "MIN", "MAX", "LAST"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows,
        // The chart id and the trend stay whole; the numbers give way first, MIN before MAX.
        fit: vec![
            Fit::Whole,
            Fit::Text,
            Fit::Whole,
            Fit::Optional(5),
            Fit::Optional(4),
            Fit::Optional(2),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spans_lowest_to_highest() {
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 32),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(sparkline(&[5.0, 5.0, 5.0], 32), "▄▄▄");
        assert_eq!(sparkline(&[], 32), "");
        assert_eq!(sparkline(&[0.0, 10.0], 32), "▁█");
    }

    #[test]
    fn long_series_are_bucketed_and_keep_their_peaks() {
        let mut v = vec![0.0; 100];
        v[57] = 9.0;
        let s = sparkline(&v, 10);
        assert_eq!(s.chars().count(), 10);
        assert_eq!(s.chars().filter(|c| *c == '█').count(), 1, "{s}");
    }
}
