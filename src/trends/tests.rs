use super::*;

const DAY: i64 = 86_400;

fn sample(at: i64, command: &str, values: &[(&str, f64)]) -> Sample {
    Sample {
        at,
        command: command.into(),
        values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

fn chart<'a>(t: &'a Trends, id: &str) -> &'a Chart {
    t.charts.iter().find(|c| c.id == id).unwrap()
}

#[test]
fn sizes_take_the_days_last_and_peaks_the_days_largest() {
    let t0 = 100 * DAY;
    let samples = vec![
        sample(
            t0 + 3600,
            "check morning",
            &[
                ("postgres.database_size/h:5432/app", 10.0),
                ("postgres.connections/h:5432", 4.0),
            ],
        ),
        sample(
            t0 + 7200,
            "monitor",
            &[
                ("postgres.database_size/h:5432/app", 11.0),
                ("postgres.connections/h:5432", 9.0),
            ],
        ),
        sample(
            t0 + DAY + 60,
            "check afternoon",
            &[
                ("postgres.connections/h:5432", 3.0),
                ("postgres.max_connections/h:5432", 100.0),
            ],
        ),
        sample(
            t0 - DAY,
            "too old",
            &[("postgres.connections/h:5432", 99.0)],
        ),
    ];
    let t = Trends::from_samples(&samples, t0, t0 + 2 * DAY);
    assert_eq!(t.samples, 3);
    let sizes = chart(&t, "database_size");
    assert_eq!(sizes.series.len(), 1);
    assert_eq!(sizes.series[0].points, vec![(t0 + 7200, 11.0)]);
    assert_eq!(sizes.series[0].label, "h:5432/app");
    let conns = chart(&t, "connections");
    assert_eq!(conns.series[0].key, "postgres.connections/h:5432");
    assert_eq!(conns.series[0].points, vec![(t0, 9.0), (t0 + DAY, 3.0)]);
    assert_eq!(conns.series[0].label, "connections h:5432");
    assert_eq!(conns.series[1].label, "max_connections h:5432");
    assert!(chart(&t, "alerts").series.is_empty());
}

#[test]
fn disk_projection_is_the_fit_against_the_free_bytes() {
    let t0 = 200 * DAY;
    // 1 GiB a day, 10 GiB free at the newest sample: full 10 days after it.
    let gib = 1024.0 * 1024.0 * 1024.0;
    let samples: Vec<Sample> = (0..8)
        .map(|d| {
            sample(
                t0 + d * DAY + 600,
                "check night",
                &[
                    ("host.disk_used//srv", (20 + d) as f64 * gib),
                    ("host.disk_available//srv", (17 - d) as f64 * gib),
                ],
            )
        })
        .collect();
    let t = Trends::from_samples(&samples, t0, t0 + 8 * DAY);
    let disk = chart(&t, "disk_used");
    assert_eq!(disk.series[0].growth_per_day, Some(gib));
    let p = &disk.projections[0];
    assert_eq!(p.mount, "/srv");
    assert_eq!(p.available_bytes, Some(10.0 * gib));
    assert_eq!(p.days_until_full, Some(10.0));
    assert_eq!(p.full_at, Some(t0 + 7 * DAY + 600 + 10 * DAY));
    assert_eq!(p.full_date.as_deref(), Some(date(t0 + 17 * DAY).as_str()));
}

#[test]
fn alerts_are_the_days_running_total() {
    let t0 = 300 * DAY;
    let samples = vec![
        sample(t0 + 60, "monitor", &[("notify.sent", 1.0)]),
        sample(t0 + 120, "monitor", &[("notify.sent", 3.0)]),
        sample(t0 + DAY, "monitor", &[("notify.sent", 4.0)]),
    ];
    let t = Trends::from_samples(&samples, t0, t0 + 2 * DAY);
    let alerts = chart(&t, "alerts");
    assert_eq!(alerts.series[0].points, vec![(t0, 3.0), (t0 + DAY, 4.0)]);
    assert_eq!(alerts.series[0].label, "notify.sent");
}

#[test]
fn the_page_has_an_svg_per_chart_with_data_and_says_when_there_is_none() {
    let t0 = 400 * DAY;
    let samples: Vec<Sample> = (0..5)
        .map(|d| {
            sample(
                t0 + d * DAY,
                "check morning",
                &[("postgres.database_size/h:1/a<b>", 1e6 + d as f64 * 1e5)],
            )
        })
        .collect();
    let t = Trends::from_samples(&samples, t0, t0 + 5 * DAY);
    let page = html::page(&t, "db1 & co", t0 + 5 * DAY).unwrap();
    assert_eq!(page.matches("<svg").count(), 1, "{page}");
    assert!(page.contains("<circle"), "markers for the points");
    assert!(page.contains("No data in this period (recorded by backup)"));
    assert!(page.contains("db1 &amp; co"));
    assert!(page.contains("a&lt;b&gt;"));
    assert!(!page.contains("<script"));
    assert!(!page.contains("http://") || page.matches("http://").all(|_| page.contains("xmlns")));
    assert!(page.contains("@media print"));
}
