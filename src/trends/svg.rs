//! One chart as an inline SVG, drawn by `plotters`' SVG backend: a line with a marker per
//! point for each series, the least-squares fit dashed, dates on x, the unit's human form on y.
//! The backend writes `<text>` elements, so no font is read and nothing is fetched.

use plotters::prelude::*;

use super::{human, Chart};

const SIZE: (u32, u32) = (860, 300);

/// Colour-blind-safe (Okabe–Ito) and readable in greyscale print by the markers.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(90, 90, 90),
];

/// `chart` (at least one series) over [since, until] as an `<svg>` element.
pub(super) fn chart_svg(chart: &Chart, since: i64, until: i64) -> anyhow::Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (lo, hi) = y_range(chart);
        let unit = chart.unit;
        let x_label = |x: &i64| super::date(*x)[5..].to_string();
        let y_label = |y: &f64| human(unit, *y);
        let mut c = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(80)
            .build_cartesian_2d(since..until.max(since + 1), lo..hi)?;
        c.configure_mesh()
            .x_labels(8)
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()?;
        for (i, s) in chart.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            c.draw_series(
                LineSeries::new(s.points.iter().copied(), color.stroke_width(2)).point_size(3),
            )?
            .label(s.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
            if let Some(line) = fit_line(&s.points, s.growth_per_day) {
                c.draw_series(DashedLineSeries::new(
                    line,
                    6,
                    4,
                    color.mix(0.7).stroke_width(1),
                ))?;
            }
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .draw()?;
        root.present()?;
    }
    Ok(out)
}

/// The fitted straight line across the series' time span: through the points' mean, with the
/// least-squares slope (unit per day).
fn fit_line(points: &[(i64, f64)], per_day: Option<f64>) -> Option<Vec<(i64, f64)>> {
    let slope = per_day? / 86_400.0;
    let first = points.first()?.0;
    let last = points.last()?.0;
    let n = points.len() as f64;
    let mx = points.iter().map(|p| (p.0 - first) as f64).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let at = |t: i64| my + slope * ((t - first) as f64 - mx);
    Some(vec![(first, at(first)), (last, at(last))])
}

/// The values' range with a margin, so a flat line is not drawn on the frame.
fn y_range(chart: &Chart) -> (f64, f64) {
    let lo = chart
        .series
        .iter()
        .map(|s| s.min)
        .fold(f64::INFINITY, f64::min);
    let hi = chart
        .series
        .iter()
        .map(|s| s.max)
        .fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        hi.abs().max(1.0) * 0.1
    };
    let lo = if lo >= 0.0 {
        (lo - pad).max(0.0)
    } else {
        lo - pad
    };
    (lo, hi + pad)
}
