//! `opsbook report` from the operator's side: a month of history written through the history
//! store's own API (`opsbook::state::History::record`, what every command records through),
//! then the sparklines, the JSON series and projection, the HTML page, and that page in a
//! real browser (headless Chromium).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use opsbook::state::{History, Sample};
use serde_json::Value;

use crate::harness::*;

const DAY: i64 = 86_400;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

fn now() -> i64 {
    opsbook::state::now_secs()
}

/// What the seeded month holds, day `d` (0 = 30 days ago, 29 = yesterday), so the test can
/// say which points and which projection `report` must show.
struct Month {
    /// UTC midnight of day 0
    first_day: i64,
}

impl Month {
    fn day(&self, d: i64) -> i64 {
        self.first_day + d * DAY
    }
    fn disk_used(d: i64) -> f64 {
        (40.0 + d as f64) * GIB
    }
    fn disk_free(d: i64) -> f64 {
        (100.0 - d as f64) * GIB
    }
    fn db_size(d: i64) -> f64 {
        200.0 * MIB + d as f64 * 10.0 * MIB
    }
}

fn record(dir: &Path, at: i64, command: &str, values: &[(&str, f64)]) {
    let values: BTreeMap<String, f64> = values.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let mut history = History::default();
    history
        .record(
            dir,
            Sample {
                at,
                command: command.to_string(),
                values,
            },
        )
        .unwrap();
}

/// Thirty days of the runs a scheduled stack makes: a morning and an afternoon check, a night
/// check, a backup with its restore test, a monitor that sent alerts; every key the report's
/// charts read, recorded in time order as cron would.
fn seed_month(dir: &Path) -> Month {
    let today = now().div_euclid(DAY) * DAY;
    let m = Month {
        first_day: today - 30 * DAY,
    };
    let server = "127.0.0.1:5432";
    for d in 0..30 {
        let day = m.day(d);
        let k = |id: &str| format!("{id}/{server}");
        record(
            dir,
            day + 2 * 3600,
            "backup",
            &[
                ("backup.size/app", 50.0 * MIB + d as f64 * MIB),
                ("backup.duration/app", 60.0 + d as f64),
            ],
        );
        record(
            dir,
            day + 3 * 3600,
            "backup verify",
            &[("backup.restore_test/app", if d == 12 { 0.0 } else { 1.0 })],
        );
        record(
            dir,
            day + 8 * 3600,
            "check morning",
            &[
                (
                    &format!("postgres.database_size/{server}/app"),
                    Month::db_size(d),
                ),
                (&k("postgres.connections"), 10.0 + d as f64),
                (&k("replica.replay_delay"), 1000.0 * d as f64),
            ],
        );
        // notify.sent is the UTC day's running total: the day's last monitor run, the one
        // the history keeps, holds the whole day.
        record(
            dir,
            day + 9 * 3600,
            "monitor",
            &[
                (&k("postgres.slow_query_count"), (d % 5) as f64),
                ("notify.sent", 1.0),
            ],
        );
        record(
            dir,
            day + 10 * 3600,
            "monitor",
            &[
                (&k("postgres.slow_query_count"), (d % 5) as f64),
                ("notify.sent", 3.0),
            ],
        );
        record(
            dir,
            day + 14 * 3600,
            "check afternoon",
            &[
                (&k("postgres.connections"), 20.0 + d as f64),
                (&k("postgres.max_connections"), 100.0),
            ],
        );
        record(
            dir,
            day + 22 * 3600,
            "check night",
            &[
                ("host.disk_used//srv", Month::disk_used(d)),
                ("host.disk_available//srv", Month::disk_free(d)),
            ],
        );
    }
    m
}

fn chart<'a>(j: &'a Value, id: &str) -> &'a Value {
    j["data"]["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no chart {id} in {j:#}"))
}

fn points(series: &Value) -> Vec<(i64, f64)> {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

#[test]
fn report_on_a_month_of_history_gives_the_points_and_the_disk_full_day() {
    let s = Scratch::new("report_month");
    let state = s.path().join("state");
    let m = seed_month(&state);

    let run = opsbook(&["report", "--since", "31d"])
        .state_dir(&state)
        .format("json")
        .run();
    let j = run.json();
    assert_eq!(run.code, 0, "{run}");
    let h = Run::one(&j, "report.history");
    // 7 runs a day; the two monitor runs of a day older than 36 h were thinned to one.
    let runs = h["value"].as_i64().unwrap();
    assert!((30 * 6..30 * 7).contains(&runs), "{run}");
    assert!(
        h["summary"]
            .as_str()
            .unwrap()
            .ends_with("9 of 9 charts have data"),
        "{run}"
    );

    // Sizes: the day's last sample at its own time; the fit is the seeded 10 MiB a day.
    let sizes = &chart(&j, "database_size")["series"][0];
    assert_eq!(sizes["key"], "postgres.database_size/127.0.0.1:5432/app");
    let want: Vec<(i64, f64)> = (0..30)
        .map(|d| (m.day(d) + 8 * 3600, Month::db_size(d)))
        .collect();
    assert_eq!(points(sizes), want);
    assert_eq!(
        sizes["growth_per_day"].as_f64().unwrap().round(),
        10.0 * MIB
    );

    // Connections: the day's peak (the afternoon's), at UTC midnight, beside max_connections.
    let conns = chart(&j, "connections");
    let peak = conns["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "postgres.connections/127.0.0.1:5432")
        .unwrap();
    let want: Vec<(i64, f64)> = (0..30).map(|d| (m.day(d), 20.0 + d as f64)).collect();
    assert_eq!(points(peak), want);
    let max = conns["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "postgres.max_connections/127.0.0.1:5432")
        .unwrap();
    assert_eq!(max["max"], 100.0);

    // Alerts: the day's total; the failed restore test is a 0 on day 12.
    assert!(points(&chart(&j, "alerts")["series"][0])
        .iter()
        .all(|p| p.1 == 3.0));
    let rt = points(&chart(&j, "restore_test")["series"][0]);
    assert_eq!(rt[12], (m.day(12) + 3 * 3600, 0.0));
    assert_eq!(rt.iter().filter(|p| p.1 == 1.0).count(), 29);
    assert_eq!(chart(&j, "backup_duration")["series"][0]["last"], 89.0);
    assert_eq!(chart(&j, "slow_statements")["series"][0]["max"], 4.0);
    assert_eq!(chart(&j, "replication_lag")["series"][0]["last"], 29000.0);

    // The disk: 1 GiB a day, 71 GiB free at the newest sample: full 71 days after it.
    let p = &chart(&j, "disk_used")["projections"][0];
    assert_eq!(p["mount"], "/srv");
    assert_eq!(p["growth_bytes_per_day"].as_f64().unwrap(), GIB);
    assert_eq!(p["available_bytes"].as_f64().unwrap(), 71.0 * GIB);
    assert_eq!(p["days_until_full"], 71.0);
    let full_at = m.day(29) + 22 * 3600 + 71 * DAY;
    assert_eq!(p["full_at"], full_at);
    assert_eq!(p["full_date"], opsbook::trends::date(full_at).as_str());
    let f = Run::one(&j, "report.disk_full");
    assert_eq!(f["subject"], "/srv");
    assert_eq!(f["status"], "ok");
    assert_eq!(f["value"], 71.0);

    // A shorter period sees less: 7 days of sizes.
    let week = opsbook(&["report", "--since", "7d"])
        .state_dir(&state)
        .json();
    let n = points(&chart(&week, "database_size")["series"][0]).len();
    assert!((6..=7).contains(&n), "{n}");

    // The terminal: one sparkline per series with min / max / last, rising for the sizes.
    let table = opsbook(&["report", "--since", "31d"])
        .state_dir(&state)
        .run();
    assert_eq!(table.code, 0, "{table}");
    let line = table
        .stdout
        .lines()
        .find(|l| l.contains("127.0.0.1:5432/app") && l.contains("database_size"))
        .unwrap_or_else(|| panic!("no database_size line:\n{table}"));
    assert!(line.contains("▁▁▁▂▂▂▂▃▃▃▃▄▄▄▄▅▅▅▅▆▆▆▆▇▇▇▇███"), "{line}");
    assert!(
        line.contains("200.0 MiB") && line.contains("490.0 MiB"),
        "{line}"
    );
}

#[test]
fn report_without_history_warns_and_says_what_records_it() {
    let s = Scratch::new("report_empty");
    let run = opsbook(&["report"])
        .state_dir(s.path())
        .format("json")
        .run();
    assert_eq!(run.code, 1, "{run}");
    let j = run.json();
    let h = Run::one(&j, "report.history");
    assert_eq!(h["status"], "warning");
    assert!(
        h["hint"].as_str().unwrap().contains("runbook schedule"),
        "{run}"
    );
    assert!(
        !s.path().join("history.sqlite3").exists(),
        "reading creates nothing"
    );
    let bad = opsbook(&["report", "--since", "5m"])
        .state_dir(s.path())
        .run();
    assert_eq!(bad.code, 3, "{bad}");
    assert!(bad.stderr.contains("too short a period"), "{bad}");
    let to_dir = opsbook(&["report", "--html"])
        .arg(s.path())
        .state_dir(s.path())
        .run();
    assert_eq!(to_dir.code, 3, "{to_dir}");
    assert!(to_dir.stderr.contains("is a directory"), "{to_dir}");
    let missing = s.path().join("no/such/dir/report.html");
    let typo = opsbook(&["report", "--html"])
        .arg(&missing)
        .state_dir(s.path())
        .run();
    assert_eq!(typo.code, 3, "{typo}");
    assert!(
        typo.stderr.contains("does not exist; nothing was written"),
        "{typo}"
    );
    assert!(!s.path().join("no").exists(), "no directory was created");
}

fn write_page(state: &Path, file: &Path) -> Run {
    let run = opsbook(&["report", "--since", "31d", "--html"])
        .arg(file)
        .state_dir(state)
        .format("json")
        .run();
    assert_eq!(run.code, 0, "{run}");
    run
}

#[test]
fn report_html_is_one_self_contained_page_replaced_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("report_html");
    let state = s.path().join("state");
    seed_month(&state);
    let out = s.path().join("www");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("report.html");
    std::fs::write(&file, "the old page").unwrap();
    let run = write_page(&state, &file);
    let j = run.json();
    assert_eq!(
        Run::one(&j, "report.html")["subject"],
        file.display().to_string()
    );

    let page = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o644
    );
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temp file left beside it: {names:?}");
    assert_eq!(page.matches("<section class=\"chart\"").count(), 9);
    assert_eq!(page.matches("<svg").count(), 9, "one chart per section");
    assert!(
        page.contains("/srv: full on "),
        "the projected day is on the page"
    );
    assert!(page.contains("@media print"));
    for external in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !page.contains(external),
            "the page must not load `{external}`"
        );
    }
}

/// Chromium, when installed and able to start (the reason to skip otherwise).
fn chromium() -> Option<&'static str> {
    for name in ["chromium", "chromium-browser"] {
        let ok = Command::new(name)
            .args(["--headless", "--no-sandbox", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(name);
        }
    }
    None
}

/// Load `url` in headless Chromium: the DOM it built, its console lines, and a screenshot.
fn browse(browser: &str, url: &str, profile: &Path, shot: &Path) -> (String, Vec<String>) {
    let run = |extra: &[&str]| {
        let out = Command::new(browser)
            .args([
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--enable-logging=stderr", "--v=0"])
            .args(extra)
            .arg(url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{browser} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let dom = run(&["--dump-dom"]);
    run(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=960,1400",
    ]);
    let console = String::from_utf8_lossy(&dom.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&dom.stdout).into_owned(), console)
}

#[test]
fn report_html_renders_in_a_real_browser_with_data_points_and_no_console_errors() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed or cannot start (.ci/deps installs it)");
        return;
    };
    let s = Scratch::new("report_browser");
    let state = s.path().join("state");
    seed_month(&state);
    let file = s.path().join("report.html");
    write_page(&state, &file);
    let shot = s.path().join("report.png");
    let (dom, console) = browse(
        browser,
        &format!("file://{}", file.display()),
        &s.path().join("profile"),
        &shot,
    );
    assert!(console.is_empty(), "console messages: {console:#?}");
    for id in [
        "database_size",
        "disk_used",
        "connections",
        "backup_size",
        "backup_duration",
        "restore_test",
        "slow_statements",
        "replication_lag",
        "alerts",
    ] {
        let start = dom
            .find(&format!("id=\"chart-{id}\""))
            .unwrap_or_else(|| panic!("no chart {id} in the DOM"));
        let section = &dom[start..];
        let section = &section[..section.find("</section>").unwrap()];
        let svg = &section[section
            .find("<svg")
            .unwrap_or_else(|| panic!("{id}: no svg"))..];
        let points = svg.matches("<circle").count();
        assert!(points >= 30, "{id}: {points} data points drawn");
    }
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG", "a screenshot was taken");
    assert!(
        png.len() > 20_000,
        "the screenshot shows the charts ({} bytes)",
        png.len()
    );
    if let Ok(keep) = std::env::var("OPSBOOK_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }

    // The console check can fail: a page that logs an error is caught.
    let bad = s.write(
        "bad.html",
        "<!DOCTYPE html><p>x</p><script>console.error('broken chart')</script>",
        0o644,
    );
    let (_, console) = browse(
        browser,
        &format!("file://{}", bad.display()),
        &s.path().join("profile"),
        &s.path().join("bad.png"),
    );
    assert!(
        console.iter().any(|l| l.contains("broken chart")),
        "{console:#?}"
    );
}

#[test]
fn check_night_shows_the_trends_and_records_the_free_bytes() {
    let db = TestDb::new("report_night");
    let s = Scratch::new("report_night");
    let state = s.path().join("state");
    seed_month(&state);
    let cfg = sandbox_config(&s, &db, &fresh_backup(&s), "");
    let run = opsbook(&["check", "night"])
        .config(&cfg)
        .state_dir(&state)
        .format("json")
        .run();
    let j = run.json();
    let trends = j["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"].as_str().unwrap_or("").starts_with("Trends"))
        .unwrap_or_else(|| panic!("no trends section: {run}"));
    let rows = trends["rows"].as_array().unwrap();
    let sizes = rows
        .iter()
        .find(|r| r[1] == "127.0.0.1:5432/app")
        .unwrap_or_else(|| panic!("{trends:#}"));
    assert_eq!(sizes[0], "database_size");
    assert!(sizes[2].as_str().unwrap().starts_with('▁'), "{sizes}");
    // The night just recorded its filesystems' free bytes: the report projects them too.
    let report = opsbook(&["report", "--since", "31d"])
        .state_dir(&state)
        .json();
    let projections = chart(&report, "disk_used")["projections"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        projections
            .iter()
            .any(|p| p["mount"] != "/srv" && p["available_bytes"].as_f64().is_some()),
        "{projections:#?}"
    );
}

fn series<'a>(report: &'a Value, chart_id: &str, key: &str) -> &'a Value {
    chart(report, chart_id)["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {chart_id}: {:#}", chart(report, chart_id)))
}

#[test]
fn the_real_commands_record_what_the_report_draws() {
    let _g = shared();
    let db = TestDb::new("report_real");
    db.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");
    let _client = crate::monitor::a_client(&db, "report_client");
    let s = Scratch::new("report_real");
    let state = s.path().join("state");
    let rx = Receiver::start();
    let extra = format!(
        "  connections_pct: {{warning: 0, critical: 0}}\nnotify:\n  on: [critical]\n  webhook:\n    url: http://127.0.0.1:{}/hook\n    timeout: 3s\n",
        rx.port
    );
    let cfg = sandbox_config(&s, &db, &s.path().join("backups"), &extra);
    let run = |args: &[&str]| {
        opsbook(args)
            .config(&cfg)
            .state_dir(&state)
            .format("json")
            .run()
    };

    let b = run(&["backup"]);
    assert_eq!(b.code, 0, "{b}");
    let bytes = Run::one(&b.json(), "backup.created")["value"]
        .as_f64()
        .unwrap();
    let v = run(&[
        "backup",
        "verify",
        &format!("{}/latest", db.name),
        "--restore-test",
    ]);
    assert_eq!(v.code, 0, "{v}");
    run(&["check", "afternoon"]);
    let m = run(&["monitor"]);
    assert!(!rx.webhook().is_empty(), "the monitor sent its alert: {m}");

    let r = opsbook(&["report", "--since", "1d"])
        .state_dir(&state)
        .json();
    let size = series(&r, "backup_size", &format!("backup.size/{}", db.name));
    assert_eq!(size["last"].as_f64().unwrap(), bytes);
    let took = series(
        &r,
        "backup_duration",
        &format!("backup.duration/{}", db.name),
    );
    assert!(took["last"].as_f64().unwrap() > 0.0, "{took}");
    let rt = series(
        &r,
        "restore_test",
        &format!("backup.restore_test/{}", db.name),
    );
    assert_eq!(rt["last"], 1.0);
    let max: f64 = db.psql("SHOW max_connections").parse().unwrap();
    let server = chart(&r, "connections")["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["key"]
                .as_str()
                .unwrap()
                .starts_with("postgres.max_connections/")
        })
        .unwrap_or_else(|| panic!("no max_connections: {r:#}"));
    assert_eq!(server["last"].as_f64().unwrap(), max);
    let slow = &chart(&r, "slow_statements")["series"];
    assert_eq!(slow.as_array().unwrap().len(), 1, "{slow:#}");
    let alerts = series(&r, "alerts", "notify.sent");
    assert!(alerts["last"].as_f64().unwrap() >= 1.0, "{alerts}");
}
