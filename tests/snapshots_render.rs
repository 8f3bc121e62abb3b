//! Snapshot tests of the four renderers (table, JSON, Prometheus, Nagios) on fixed reports built
//! here: what monitoring and operators read is pinned byte for byte, and no server is needed.
//!
//! A changed rendering fails the test (CI sets `CI`, so insta writes nothing there). To accept a
//! deliberate change: `INSTA_UPDATE=always cargo test --test snapshots_render`, then review
//! `git diff tests/snapshots/` (or use `cargo insta review`).
//!
//! Nothing time- or terminal-dependent enters: every `duration_ms` is fixed and every `Style`
//! is colourless (comfy-table then never asks the terminal for its width).

// `Format` moves from `cli` to `render` with #17: this is the one line to change.
use opsbook::render::Format;
use opsbook::render::{render, Style};
use opsbook::report::{Finding, Report, Section, Status};

const PLAIN: Style = Style {
    color: false,
    quiet: false,
    verbose: false,
};
const VERBOSE: Style = Style {
    color: false,
    quiet: false,
    verbose: true,
};
const QUIET: Style = Style {
    color: false,
    quiet: true,
    verbose: false,
};

/// Every rendering of `report` that differs: the table plain, verbose and quiet, then the three
/// machine formats (which ignore the style).
fn assert_renderings(name: &str, report: &Report) {
    for (style_name, style) in [("table", PLAIN), ("verbose", VERBOSE), ("quiet", QUIET)] {
        insta::assert_snapshot!(
            format!("{name}__{style_name}"),
            render(report, Format::Table, style)
        );
    }
    for (format_name, format) in [
        ("json", Format::Json),
        ("prometheus", Format::Prometheus),
        ("nagios", Format::Nagios),
    ] {
        insta::assert_snapshot!(
            format!("{name}__{format_name}"),
            render(report, format, PLAIN)
        );
    }
}

/// A healthy morning check: every kind of unit the renderers convert (bytes, seconds,
/// percent, a counting unit, a string value, none), thresholds in both directions, hints and
/// detail lines on OK findings (shown only with --verbose).
fn all_ok() -> Report {
    let mut r = Report::new("check morning");
    r.duration_ms = 1234;
    r.push(
        Finding::ok("postgres.up", "PostgreSQL 17.2 answered in 1.3 ms")
            .value("17.2", "version")
            .hint("nothing to do"),
    );
    r.push(
        Finding::ok("postgres.connections", "6 of 100 connections (6%)")
            .value(6, "connections")
            .above(Some(80.0), Some(95.0)),
    );
    r.push(
        Finding::ok(
            "postgres.cache_hit_ratio",
            "99.2% of reads from shared buffers",
        )
        .value_f64(99.2, "percent")
        .below(Some(95.0), Some(90.0)),
    );
    r.push(
        Finding::ok("postgres.database_size", "12.0 MiB, first run")
            .subject("app")
            .value(12_582_912u64, "bytes"),
    );
    r.push(
        Finding::ok("postgres.database_size", "7.4 MiB, first run")
            .subject("postgres")
            .value(7_759_872u64, "bytes"),
    );
    r.push(
        Finding::ok(
            "backup.latest_age",
            "app/20261122T010000Z.dump is 3h 25m old",
        )
        .value(12_300u64, "seconds")
        .above(Some(93_600.0), Some(172_800.0))
        .detail(vec!["app/20261122T010000Z.dump 1.2 MiB".to_string()]),
    );
    r.push(Finding::ok("redis.memory", "1.1 MiB used, no maxmemory").value(1_153_432u64, "bytes"));
    r.push(Finding::ok("redis.up", "Redis 7.4.1 answered in 0.4 ms"));
    r
}

/// Warnings only: hints and details of non-OK findings follow the table even without
/// --verbose; quiet leaves the OK findings out.
fn warning() -> Report {
    let mut r = Report::new("check afternoon");
    r.duration_ms = 87;
    r.push(
        Finding::new(
            "postgres.long_transactions",
            Status::Warning,
            "1 transaction open longer than 5m (the oldest 12m 3s)",
        )
        .value(723u64, "seconds")
        .above(Some(300.0), Some(3600.0))
        .hint("see who holds it: opsbook diagnose locks")
        .detail(vec![
            "pid 4242 app@app idle in transaction 12m 3s".to_string(),
            "UPDATE accounts SET balance = balance - 10 WHERE id = 7".to_string(),
        ]),
    );
    r.push(
        Finding::new(
            "host.disk_usage",
            Status::Warning,
            "/var/lib/postgresql is 83% full",
        )
        .subject("/var/lib/postgresql")
        .value_f64(83.456, "percent")
        .above(Some(80.0), Some(90.0)),
    );
    r.push(Finding::ok("postgres.lock_waits", "no session waits for a lock").value(0, "sessions"));
    r.push(
        Finding::ok("postgres.slow_queries", "2 statements over 200 ms")
            .value(2, "statements")
            .above(Some(5.0), None),
    );
    r
}

/// A down PostgreSQL: critical outranks unknown (exit 2), the probes that needed it say
/// unknown with a null value, and a section (a lock tree) prints as its own table.
fn critical_with_section() -> Report {
    let mut r = Report::new("diagnose locks");
    r.duration_ms = 5003;
    r.push(
        Finding::new(
            "postgres.up",
            Status::Critical,
            "connecting to 127.0.0.1:5432: connection refused",
        )
        .hint("is PostgreSQL running? systemctl status postgresql"),
    );
    r.push(Finding::new(
        "postgres.connections",
        Status::Unknown,
        "needs PostgreSQL, which is down",
    ));
    r.push(
        Finding::new(
            "locks.blocked",
            Status::Warning,
            "2 sessions wait on pid 4242",
        )
        .value(2, "sessions")
        .above(Some(1.0), Some(10.0)),
    );
    r.push(Finding::ok("locks.oldest_wait", "the longest wait is 950 ms").value(0.95, "seconds"));
    r.sections.push(Section {
        title: "Lock tree".to_string(),
        columns: ["PID", "STATE", "WAITING", "QUERY"]
            .map(String::from)
            .to_vec(),
        rows: vec![
            [
                "4242",
                "idle in transaction",
                "12m 3s",
                "UPDATE accounts SET ...",
            ]
            .map(String::from)
            .to_vec(),
            [
                "4250",
                "active",
                "950ms",
                "  └ SELECT * FROM accounts FOR UPDATE",
            ]
            .map(String::from)
            .to_vec(),
        ],
    });
    // An empty section prints nothing in the table (its finding already says "none").
    r.sections.push(Section {
        title: "Idle in transaction".to_string(),
        columns: vec!["PID".to_string()],
        rows: vec![],
    });
    r
}

/// Unknown only: exit 3, the Nagios line names every finding.
fn unknown_only() -> Report {
    let mut r = Report::new("replica status");
    r.duration_ms = 0;
    r.push(
        Finding::new(
            "replica.role",
            Status::Unknown,
            "reading pg_is_in_recovery(): permission denied",
        )
        .hint("grant pg_monitor to the monitoring user"),
    );
    r.push(Finding::new(
        "replica.lag",
        Status::Unknown,
        "needs the role, which is unknown",
    ));
    r
}

/// A summary longer than any terminal, text that must be escaped (quotes, a pipe, a newline,
/// `=`), a subject with them, and a unit the Prometheus name takes as its suffix.
fn long_and_hostile() -> Report {
    let mut r = Report::new("backup list");
    r.duration_ms = 42;
    r.push(
        Finding::new(
            "backup.count",
            Status::Critical,
            "the newest of the 14 backups of \"it's|odd=db\" is older than the 36h allowed by thresholds.backup_age, the one before it failed verification (a truncated archive), and three more are partial files left by an interrupted run that nothing has cleaned up yet",
        )
        .subject("it's|odd=db\nline two")
        .value(14, "backups")
        .hint("run `opsbook backup --db it's|odd=db` then `opsbook check night --cleanup`"),
    );
    r.push(
        Finding::ok("backup.bytes_total", "1.5 GiB in 14 files").value(1_610_612_736u64, "bytes"),
    );
    r.push(Finding::ok("backup.verify_ms", "the last verification took 312 ms").value(312, "ms"));
    r.push(
        Finding::ok(
            "tls.cert_expiry",
            "the server certificate expires in 41 days",
        )
        .value(41, "days")
        .below(Some(30.0), Some(7.0)),
    );
    r
}

/// A command whose report carries a payload (config show, sandbox up): JSON has `data`, the
/// table form is the plain `text` when there is one.
fn with_data_and_text() -> Report {
    let mut r = Report::new("sandbox env");
    r.duration_ms = 3;
    r.push(Finding::ok("sandbox.running", "the sandbox is up"));
    r.data = Some(serde_json::json!({
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:54329/postgres",
        "REDIS_URL": "redis://127.0.0.1:63799/0",
    }));
    r.text = Some(
        "export DATABASE_URL='postgresql://postgres@127.0.0.1:54329/postgres'\nexport REDIS_URL='redis://127.0.0.1:63799/0'\n"
            .to_string(),
    );
    r
}

/// No finding at all: "0 findings OK", the table only the closing line.
fn empty() -> Report {
    let mut r = Report::new("runbook list");
    r.duration_ms = 1;
    r
}

#[test]
fn ok_report() {
    let r = all_ok();
    assert_eq!(r.status, Status::Ok);
    assert_renderings("ok", &r);
}

#[test]
fn warning_report() {
    let r = warning();
    assert_eq!(r.status, Status::Warning);
    assert_renderings("warning", &r);
}

#[test]
fn critical_report_with_a_section() {
    let r = critical_with_section();
    assert_eq!(r.status, Status::Critical);
    assert_renderings("critical", &r);
}

#[test]
fn unknown_report() {
    let r = unknown_only();
    assert_eq!(r.status, Status::Unknown);
    assert_renderings("unknown", &r);
}

#[test]
fn long_summary_and_text_to_escape() {
    assert_renderings("long", &long_and_hostile());
}

#[test]
fn payload_and_plain_text() {
    assert_renderings("data", &with_data_and_text());
}

#[test]
fn empty_report() {
    assert_renderings("empty", &empty());
}

#[test]
fn nagios_unknown_line() {
    insta::assert_snapshot!(
        "nagios_unknown",
        opsbook::render::nagios_unknown(
            "error: unexpected argument '--no-such-flag' found\n\n  tip: to pass '--no-such-flag' as a value, use '-- --no-such-flag'\n\nUsage: opsbook check morning [OPTIONS]\n"
        )
    );
}
