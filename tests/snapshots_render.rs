//! Snapshot tests of the four renderers (table, JSON, Prometheus, Nagios) on fixed reports built
//! here: what monitoring and operators read is pinned byte for byte, and no server is needed.
//!
//! A changed rendering fails the test (CI sets `CI`, so insta writes nothing there). To accept a
//! deliberate change: `INSTA_UPDATE=always cargo test --test snapshots_render`, then review
//! `git diff tests/snapshots/` (or use `cargo insta review`).
//!
//! Nothing time- or terminal-dependent enters: every `duration_ms` is fixed and every `Style`
//! is colourless with a fixed width (80 and 120 columns, or none: piped).

// `Format` moves from `cli` to `render` with #17: this is the one line to change.
use opsbook::render::width::cells;
use opsbook::render::Format;
use opsbook::render::{render, Style};
use opsbook::report::{Finding, Fit, Report, Section, Status};

const PLAIN: Style = Style {
    color: false,
    quiet: false,
    verbose: false,
    width: None,
    wide: false,
};
const VERBOSE: Style = Style {
    verbose: true,
    ..PLAIN
};
const QUIET: Style = Style {
    quiet: true,
    ..PLAIN
};

/// What must hold of every human rendering at `width` (or piped, `None`): no line over the
/// width, no line ending in a space, every finding one line with its `id[subject]` whole, and
/// every identifier cell of a section whole on one line.
fn assert_layout(name: &str, report: &Report, style: Style, text: &str) {
    for line in text.lines() {
        assert!(!line.ends_with(' '), "{name}: trailing space in {line:?}");
        if let Some(w) = style.width {
            assert!(cells(line) <= w, "{name}: over {w} columns: {line:?}");
        }
    }
    if report.text.is_some() {
        return;
    }
    let shown = report
        .findings
        .iter()
        .filter(|f| !style.quiet || f.status != Status::Ok);
    for f in shown {
        let label = f.label().replace('\n', "\\n");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.trim_start()
                    .strip_prefix(f.status.label())
                    .is_some_and(|rest| rest.trim_start().starts_with(label.as_str()))
            })
            .collect();
        assert!(
            !lines.is_empty(),
            "{name}: no line holds {label} whole:\n{text}"
        );
    }
    if style.quiet {
        return;
    }
    for section in report.sections.iter().filter(|s| !s.rows.is_empty()) {
        for row in &section.rows {
            for (i, cell) in row.iter().enumerate() {
                if section.fit_of(i) == Fit::Whole && !cell.trim().is_empty() {
                    assert!(
                        text.lines().any(|l| l.contains(cell.as_str())),
                        "{name}: identifier {cell:?} broken:\n{text}"
                    );
                }
            }
        }
    }
}

/// The human form at 80 and 120 columns and with --wide at 80, each held to [`assert_layout`].
fn assert_widths(name: &str, report: &Report) {
    for (suffix, style) in [
        (
            "80",
            Style {
                width: Some(80),
                ..PLAIN
            },
        ),
        (
            "120",
            Style {
                width: Some(120),
                ..PLAIN
            },
        ),
        (
            "80_verbose",
            Style {
                width: Some(80),
                ..VERBOSE
            },
        ),
    ] {
        let text = render(report, Format::Table, style);
        assert_layout(&format!("{name} at {suffix}"), report, style, &text);
        insta::assert_snapshot!(format!("{name}__w{suffix}"), text);
    }
    for style in [PLAIN, VERBOSE, QUIET] {
        let text = render(report, Format::Table, style);
        assert_layout(&format!("{name} piped"), report, style, &text);
    }
    let wide = Style {
        width: Some(80),
        wide: true,
        ..PLAIN
    };
    let text = render(report, Format::Table, wide);
    for section in report.sections.iter().filter(|s| !s.rows.is_empty()) {
        for column in &section.columns {
            assert!(
                text.contains(column.as_str()),
                "{name} --wide hides {column}:\n{text}"
            );
        }
    }
}

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
    assert_widths(name, report);
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
    // A long database name: its label shifts its own line, not every line's summary.
    r.push(
        Finding::ok("postgres.database_size", "1.2 GiB, +3% since yesterday")
            .subject("tour_with_a_rather_long_database_name_31423")
            .value(1_288_490_188u64, "bytes"),
    );
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
    // The shape `diagnose locks` attaches, with its fits: the pid stays whole.
    let row = |cells: [&str; 9]| cells.map(String::from).to_vec();
    r.sections.push(Section {
        title: "Blocking tree (root blockers first, waiters under what they queue behind)"
            .to_string(),
        columns: [
            "PID",
            "USER@APP",
            "CLIENT",
            "STATE",
            "WAIT EVENT",
            "WAITING",
            "XACT AGE",
            "WANTS",
            "QUERY",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![
            row([
                "4242",
                "app@billing-worker",
                "10.20.30.40:51234",
                "idle in transaction",
                "Client:ClientRead",
                "",
                "12m 3s",
                "",
                "UPDATE accounts SET balance = balance - 10 WHERE id = 7",
            ]),
            row([
                "└ 4250",
                "app@web",
                "10.20.30.41:40022",
                "active",
                "Lock:transactionid",
                "950ms",
                "950ms",
                "ShareLock on transaction 7731",
                "SELECT * FROM accounts WHERE id = 7 FOR UPDATE",
            ]),
            row([
                "  └ 4251",
                "postgres@psql",
                "local",
                "active",
                "Lock:relation",
                "400ms",
                "401ms",
                "AccessExclusiveLock on accounts",
                "ALTER TABLE accounts ADD COLUMN note text",
            ]),
        ],
        fit: vec![
            Fit::Whole,
            Fit::Optional(3),
            Fit::Optional(6),
            Fit::Optional(4),
            Fit::Optional(5),
            Fit::Optional(1),
            Fit::Optional(7),
            Fit::Optional(2),
            Fit::Text,
        ],
    });
    // An empty section prints nothing in the table (its finding already says "none").
    r.sections.push(Section {
        title: "Idle in transaction".to_string(),
        columns: vec!["PID".to_string()],
        rows: vec![],
        fit: Vec::new(),
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

/// `backup list`: one component (no heading), a section whose backup ids an operator copies
/// into `restore` must never be cut, whatever the width.
fn backup_list() -> Report {
    let mut r = Report::new("backup list");
    r.duration_ms = 12;
    r.push(Finding::ok("backup.count", "3 verified backups of 2 databases").value(3, "backups"));
    r.push(
        Finding::new(
            "backup.unverified",
            Status::Warning,
            "opsbook_demo_with_a_long_name/20261204T010000Z has not been verified since it was taken",
        )
        .subject("opsbook_demo_with_a_long_name")
        .value(1, "backups")
        .hint("opsbook backup verify opsbook_demo_with_a_long_name/20261204T010000Z --restore-test"),
    );
    let row = |cells: [&str; 7]| cells.map(String::from).to_vec();
    r.sections.push(Section {
        title: "Backups in /var/lib/opsbook/backups, newest first".to_string(),
        columns: [
            "ID",
            "AGE",
            "SIZE",
            "COMPRESSION",
            "VERIFIED",
            "TABLES",
            "ROWS",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![
            row([
                "opsbook_demo_with_a_long_name/20261204T010000Z",
                "7h 2m",
                "1.2 MiB",
                "zstd:3",
                "no",
                "4",
                "120000",
            ]),
            row([
                "opsbook_demo_with_a_long_name/20261203T010000Z",
                "1d 7h",
                "1.2 MiB",
                "zstd:3",
                "yes",
                "4",
                "119870",
            ]),
            row([
                "app/20261203T010000Z",
                "1d 7h",
                "310.0 KiB",
                "gzip:6",
                "yes",
                "2",
                "5400",
            ]),
        ],
        fit: vec![
            Fit::Whole,
            Fit::Optional(1),
            Fit::Optional(2),
            Fit::Optional(5),
            Fit::Optional(3),
            Fit::Optional(4),
            Fit::Optional(6),
        ],
    });
    r
}

/// `diagnose queries`: queryids stay whole, the statement text is cut.
fn queries() -> Report {
    let mut r = Report::new("diagnose queries");
    r.duration_ms = 31;
    r.push(
        Finding::new(
            "queries.slow",
            Status::Warning,
            "1 statement with a mean over 50 ms (calls > 100)",
        )
        .value(1, "statements")
        .hint("opsbook diagnose queries --explain -3012873125478962411"),
    );
    let row = |cells: [&str; 6]| cells.map(String::from).to_vec();
    r.sections.push(Section {
        title: "Top statements by total time".to_string(),
        columns: ["QUERYID", "CALLS", "TOTAL", "MEAN", "ROWS", "QUERY"]
            .map(String::from)
            .to_vec(),
        rows: vec![
            row([
                "-3012873125478962411",
                "1204",
                "1m 12s",
                "60ms",
                "1204",
                "SELECT o.id, o.total, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > $1 ORDER BY o.created_at DESC LIMIT $2",
            ]),
            row(["8817263549102", "98211", "9s", "0.1ms", "98211", "SELECT 1"]),
        ],
        fit: vec![
            Fit::Whole,
            Fit::Optional(2),
            Fit::Optional(1),
            Fit::Optional(3),
            Fit::Optional(4),
            Fit::Text,
        ],
    });
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
fn backup_list_keeps_its_ids() {
    assert_renderings("backup_list", &backup_list());
}

#[test]
fn queries_keep_their_queryids() {
    assert_renderings("queries", &queries());
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
