//! Renderers: one report, four forms. Commands never print; this layer does.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use serde_json::Value;

mod findings;
mod sections;
mod table;
pub mod watch;
pub mod width;

use crate::report::{Direction, Finding, Report, Status};

/// The four forms of a report (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human table (colour only on a terminal)
    Table,
    /// The opsbook.report/v1 JSON document
    Json,
    /// Prometheus text exposition (for node_exporter's textfile collector)
    Prometheus,
    /// One Nagios/Icinga plugin line with perfdata
    Nagios,
}

/// The output settings of a run (the global flags `--format`, `-q`, `-v`, `--no-color`,
/// `--textfile`, `--wide`), as plain data: built from the command line in `main`, read by
/// every layer.
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub quiet: bool,
    pub verbose: bool,
    pub no_color: bool,
    pub textfile: Option<std::path::PathBuf>,
    /// Every column of every table, whatever the width.
    pub wide: bool,
}

impl Default for Output {
    fn default() -> Output {
        Output {
            format: Format::Table,
            quiet: false,
            verbose: false,
            no_color: false,
            textfile: None,
            wide: false,
        }
    }
}

/// How the human form looks.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// The width lines are laid out to; `None` (piped) lays them out without a limit.
    pub width: Option<usize>,
    /// Every column of every section, and summaries not cut, whatever the width.
    pub wide: bool,
}

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

impl Style {
    /// The style of a report on stdout: colour only on a terminal, without --no-color or NO_COLOR.
    pub fn for_stdout(global: &Output) -> Style {
        Style {
            color: std::io::stdout().is_terminal() && !global.no_color && !no_color_env(),
            quiet: global.quiet,
            verbose: global.verbose,
            width: width::for_stdout(),
            wide: global.wide,
        }
    }
}

/// Progress bars and live lines only on a terminal that may be decorated: stderr a TTY, no
/// --no-color / NO_COLOR, not -q.
pub fn show_progress(global: &Output) -> bool {
    std::io::stderr().is_terminal() && !global.no_color && !global.quiet && !no_color_env()
}

pub fn render(report: &Report, format: Format, style: Style) -> String {
    match format {
        Format::Table => table(report, style),
        Format::Json => json(report),
        Format::Prometheus => prometheus(report),
        Format::Nagios => nagios(report),
    }
}

pub fn json(report: &Report) -> String {
    // A Report holds only strings, numbers and maps: serialisation cannot fail.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!("{{\"schema\":\"opsbook.report/v1\",\"status\":\"unknown\",\"error\":\"{e}\"}}")
    });
    s.push('\n');
    s
}

/// Human form of a value in its unit: bytes as IEC sizes, seconds as a duration.
pub fn human_value(f: &Finding) -> String {
    let unit = f.unit.as_deref().unwrap_or("");
    match (&f.value, unit) {
        (Value::Null, _) => String::new(),
        (Value::Number(n), "bytes") => n.as_f64().map(human_bytes).unwrap_or_default(),
        (Value::Number(n), "seconds") => n.as_f64().map(human_duration).unwrap_or_default(),
        (Value::Number(n), "percent") => format!("{}%", plain_number(n)),
        (Value::Number(n), "") => plain_number(n),
        (Value::Number(n), u) => format!("{} {u}", plain_number(n)),
        (Value::String(s), _) => s.clone(),
        (other, _) => other.to_string(),
    }
}

/// A number as an operator writes it: a whole value without `.0` (a setting of 100, not
/// `100.0`, whether the probe measured it as an integer or a float).
fn plain_number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(v) if n.is_f64() && v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        _ => n.to_string(),
    }
}

pub fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

pub fn human_duration(secs: f64) -> String {
    // Lock waits and network times are often under a second: "0s" would hide them.
    if secs > 0.0 && secs < 0.0095 {
        // A local SELECT 1 or PING: "0ms" would say it took nothing.
        return format!("{:.1}ms", secs * 1000.0);
    }
    if secs > 0.0 && secs < 0.9995 {
        return format!("{}ms", (secs * 1000.0).round());
    }
    let s = secs.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

/// A step's wall time: milliseconds under ten seconds, else `human_duration`.
pub fn took(secs: f64) -> String {
    if secs < 10.0 {
        format!("{:.0} ms", (secs * 1000.0).max(0.0))
    } else {
        human_duration(secs)
    }
}

fn counts(report: &Report) -> String {
    let mut parts = Vec::new();
    for s in [
        Status::Critical,
        Status::Unknown,
        Status::Warning,
        Status::Ok,
    ] {
        let n = report.findings.iter().filter(|f| f.status == s).count();
        if n > 0 {
            parts.push(format!("{n} {}", s.as_str()));
        }
    }
    if parts.is_empty() {
        "no findings".to_string()
    } else {
        parts.join(", ")
    }
}

/// The headline, always the last line: `check morning: CRITICAL (1 critical, 10 ok) in 35 ms`.
pub fn headline(report: &Report) -> String {
    format!(
        "{}: {} ({}) in {} ms",
        report.command,
        report.status.label(),
        counts(report),
        report.duration_ms
    )
}

/// The human form: the findings one line each (grouped by component), the sections, then the
/// headline, blocks apart by a blank line. `-q`: nothing at all when the report is OK, else
/// only the findings that are not OK and the headline. A command's own text (`sandbox env`,
/// `config show`) replaces it: that is the output the command was run for.
pub fn table(report: &Report, style: Style) -> String {
    if let Some(text) = &report.text {
        return text.clone();
    }
    if style.quiet && report.status == Status::Ok {
        return String::new();
    }
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| !style.quiet || f.status != Status::Ok)
        .collect();
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let finding_lines = findings::lines(&shown, style);
    if !finding_lines.is_empty() {
        blocks.push(finding_lines);
    }
    // A section without rows would print a bare header: its finding already says "none".
    if !style.quiet {
        for section in report.sections.iter().filter(|s| !s.rows.is_empty()) {
            blocks.push(sections::lines(section, style));
        }
    }
    blocks.push(vec![headline(report)]);
    let mut out = String::new();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for line in block {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// Findings that measure what postgres_exporter / redis_exporter also export take the
/// exporter's metric name (under the `opsbook_` prefix, so the two never collide when both
/// are scraped): a dashboard or alert rule written for the exporter reads the same here.
/// Only names that follow Prometheus naming are borrowed: postgres_exporter's
/// `pg_stat_activity_count` is a gauge ending in `_count`, which promtool rejects, so
/// `postgres.connections` takes the generic `opsbook_postgres_connections`.
/// The scheme is documented in commands/mod.md.
const EXPORTER_NAMES: &[(&str, &str)] = &[
    ("postgres.database_size", "opsbook_pg_database_size_bytes"),
    ("redis.memory", "opsbook_redis_memory_used_bytes"),
    ("redis.clients", "opsbook_redis_connected_clients"),
];

/// Suffixes a gauge must not end in (promtool: reserved for counters, histograms and
/// summaries) and unit words a name must not repeat before its base-unit suffix.
const RESERVED_SUFFIXES: &[&str] = &["_count", "_total", "_sum", "_bucket"];
const UNIT_WORDS: &[&str] = &[
    "_ratio", "_percent", "_pct", "_bytes", "_seconds", "_ms", "_days",
];

/// The base unit of a finding's unit: the suffix its metric takes and the factor that
/// converts its value (percent becomes a 0..1 ratio, milliseconds and days seconds).
fn base_unit(unit: Option<&str>) -> Option<(&'static str, f64)> {
    match unit? {
        "bytes" => Some(("_bytes", 1.0)),
        "seconds" => Some(("_seconds", 1.0)),
        "ms" => Some(("_seconds", 1e-3)),
        "days" => Some(("_seconds", 86_400.0)),
        "percent" => Some(("_ratio", 1e-2)),
        _ => None,
    }
}

fn strip_any<'a>(mut name: &'a str, suffixes: &[&str]) -> (&'a str, bool) {
    let mut stripped = false;
    while let Some(s) = suffixes.iter().find(|s| name.ends_with(*s)) {
        name = &name[..name.len() - s.len()];
        stripped = true;
    }
    (name, stripped)
}

/// Prometheus metric name and value of a finding: `opsbook_<id>` (every character outside
/// `[a-zA-Z0-9]` becomes `_`), no `_count`/`_total` on a gauge (a counting unit such as
/// `statements` replaces it), no unit word repeated, and the base-unit suffix last.
fn metric_name(f: &Finding) -> (String, f64) {
    let raw = f.value.as_f64().unwrap_or(f64::NAN);
    if let Some((_, name)) = EXPORTER_NAMES.iter().find(|(id, _)| *id == f.id) {
        return (name.to_string(), raw);
    }
    let full: String = format!("opsbook_{}", f.id)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let (name, counted) = strip_any(&full, RESERVED_SUFFIXES);
    match base_unit(f.unit.as_deref()) {
        Some((suffix, factor)) => {
            let (name, _) = strip_any(name, UNIT_WORDS);
            // Rounded so 3.6 % is 0.036, not 0.036000000000000004.
            let v = (raw * factor * 1e9).round() / 1e9;
            (format!("{name}{suffix}"), v)
        }
        None => {
            let unit: String = f
                .unit
                .as_deref()
                .unwrap_or("")
                .chars()
                .filter(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if counted && !unit.is_empty() && !name.ends_with(&format!("_{unit}")) {
                (format!("{name}_{unit}"), raw)
            } else {
                (name.to_string(), raw)
            }
        }
    }
}

fn label_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Metric families in order of first appearance, each with its HELP and its series: the
/// exposition format wants one HELP/TYPE per name and a family's lines together.
#[derive(Default)]
struct Families {
    order: Vec<(String, String)>,
    series: std::collections::HashMap<String, Vec<(String, String)>>,
}

impl Families {
    /// Add one series; a second series with the same name and labels is dropped (the first
    /// wins), since a duplicate makes node_exporter and promtool reject or drop it.
    fn add(&mut self, name: &str, help: &str, labels: String, value: String) {
        let entry = self.series.entry(name.to_string()).or_insert_with(|| {
            self.order.push((name.to_string(), help.to_string()));
            Vec::new()
        });
        if !entry.iter().any(|(l, _)| *l == labels) {
            entry.push((labels, value));
        }
    }

    fn write(&self, out: &mut String) {
        for (name, help) in &self.order {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, value) in self.series.get(name).into_iter().flatten() {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    }
}

/// The Prometheus text form. Every series carries `command="<the command>"`, so the
/// textfiles of two commands (`monitor` and `check morning`) in one node_exporter directory
/// never repeat a series; every series of a family carries the same label names (an empty
/// `subject` is Prometheus' "no label"), and HELP depends only on the name, as node_exporter
/// requires of families that span files.
pub fn prometheus(report: &Report) -> String {
    let cmd = format!("command=\"{}\"", label_escape(&report.command));
    // A fanned-out run (--target/--all) labels every series with its target (`target=""` for
    // the host's own), so each family keeps one set of label names.
    let fanned_out = report.findings.iter().any(|f| f.target.is_some());
    let subject = |f: &Finding| {
        let subject = format!(
            "subject=\"{}\"",
            label_escape(f.subject.as_deref().unwrap_or(""))
        );
        if fanned_out {
            format!(
                "{subject},target=\"{}\"",
                label_escape(f.target.as_deref().unwrap_or(""))
            )
        } else {
            subject
        }
    };
    let mut fam = Families::default();
    for f in report.findings.iter().filter(|f| f.value.is_number()) {
        let (name, v) = metric_name(f);
        let help = match f.unit.as_deref() {
            Some("percent") => format!("opsbook finding {} (a ratio, 1 = 100 %)", f.id),
            Some("ms") | Some("days") => format!("opsbook finding {} (in seconds)", f.id),
            _ => format!("opsbook finding {}", f.id),
        };
        fam.add(&name, &help, format!("{cmd},{}", subject(f)), v.to_string());
    }
    for f in &report.findings {
        fam.add(
            "opsbook_check_status",
            "State of each finding: 0 ok, 1 warning, 2 critical, 3 unknown",
            format!("{cmd},id=\"{}\",{}", label_escape(&f.id), subject(f)),
            f.status.exit_code().to_string(),
        );
    }
    fam.add(
        "opsbook_run_duration_seconds",
        "Wall time of the opsbook run",
        cmd.clone(),
        (report.duration_ms as f64 / 1000.0).to_string(),
    );
    fam.add(
        "opsbook_run_status",
        "Worst state of the run: 0 ok, 1 warning, 2 critical, 3 unknown",
        cmd,
        report.exit_code().to_string(),
    );
    let mut out = String::new();
    fam.write(&mut out);
    out
}

/// Write the report's Prometheus form to `path` for node_exporter's textfile collector:
/// atomically (a scrape never reads half a file), mode 0644 (node_exporter runs as its own user).
pub fn write_textfile(path: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    use anyhow::Context as _;
    crate::atomic_file::write_atomic_mode(path, prometheus(report).as_bytes(), 0o644).with_context(|| {
        format!(
            "writing the --textfile {}\nhint: point --textfile at a directory this user can write (node_exporter's --collector.textfile.directory)",
            path.display()
        )
    })
}

/// Nagios splits plugin output at the first `|`; a pipe inside text would cut the message
/// and corrupt perfdata, so text pipes become `¦`. Nagios reads only the first line as the
/// status: every control character (a newline or carriage return in a database name) becomes
/// a space, so the output is one line whatever a name holds.
fn nagios_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '¦',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A perfdata label per the plugin guidelines: quoted with `'`, a `'` inside doubled, no `=`
/// (it ends the label), plus [`nagios_text`]'s rules for `|` and control characters.
fn nagios_label(label: &str) -> String {
    let text = nagios_text(label).replace('=', "_").replace('\'', "''");
    format!("'{text}'")
}

/// The `;warn;crit` of a perfdata item in the plugin guidelines' range syntax: `80` alerts
/// above 80, `95:` below 95; empty when the finding was not judged by levels.
fn perf_levels(f: &Finding) -> String {
    let Some(t) = &f.thresholds else {
        return String::new();
    };
    let range = |level: Option<f64>| match (level, t.direction) {
        (None, _) => String::new(),
        (Some(l), Direction::Above) => format!("{l}"),
        (Some(l), Direction::Below) => format!("{l}:"),
    };
    format!(";{};{}", range(t.warning), range(t.critical))
}

/// The one status line a plugin prints when opsbook could not run at all (a wrong flag, a
/// bad config, an internal error): Nagios shows stdout, so an empty stdout is a broken plugin.
pub fn nagios_unknown(message: &str) -> String {
    let one: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let text = one.join(" ");
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    format!("OPSBOOK UNKNOWN: {}\n", nagios_text(text))
}

pub fn nagios(report: &Report) -> String {
    let bad: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.status != Status::Ok)
        .map(|f| format!("{}: {}", f.label(), f.summary))
        .collect();
    let text = if bad.is_empty() {
        format!("{} findings OK", report.findings.len())
    } else {
        bad.join("; ")
    };
    let perf: Vec<String> = report
        .findings
        .iter()
        .filter_map(|f| {
            let v = f.value.as_f64()?;
            let uom = match f.unit.as_deref() {
                Some("bytes") => "B",
                Some("seconds") => "s",
                Some("percent") => "%",
                _ => "",
            };
            Some(format!(
                "{}={v}{uom}{}",
                nagios_label(&f.label()),
                perf_levels(f)
            ))
        })
        .collect();
    let mut line = format!(
        "OPSBOOK {} {}: {}",
        report.command.to_uppercase(),
        report.status.label(),
        nagios_text(&text)
    );
    if !perf.is_empty() {
        line.push_str(" | ");
        line.push_str(&perf.join(" "));
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_values_print_without_a_fraction() {
        let v = |x: f64, unit: &str| human_value(&Finding::ok("x", "").value_f64(x, unit));
        assert_eq!(v(100.0, ""), "100");
        assert_eq!(v(300.0, "connections"), "300 connections");
        assert_eq!(v(40.0, "percent"), "40%");
        assert_eq!(v(0.9, ""), "0.9");
        assert_eq!(v(2.5, "connections"), "2.5 connections");
        let int = human_value(&Finding::ok("x", "").value(7, "connections"));
        assert_eq!(int, "7 connections");
    }

    fn sample() -> Report {
        let mut r = Report::new("check morning");
        r.push(
            Finding::ok("postgres.connections", "6 of 100 connections (6%)")
                .value(6, "connections"),
        );
        r.push(
            Finding::new("redis.up", Status::Critical, "cannot connect | refused")
                .hint("start redis"),
        );
        r.push(
            Finding::ok("postgres.database_size", "12 MiB")
                .subject("app \"x\"")
                .value(12_582_912u64, "bytes"),
        );
        r.push(Finding::ok("host.memory_usage", "40%").value_f64(40.0, "percent"));
        r
    }

    #[test]
    fn nagios_is_one_line_with_escaped_pipes() {
        let s = nagios(&sample());
        assert_eq!(s.lines().count(), 1);
        assert!(
            s.starts_with("OPSBOOK CHECK MORNING CRITICAL: redis.up: cannot connect ¦ refused | "),
            "{s}"
        );
        assert_eq!(s.matches('|').count(), 1);
        assert!(
            s.contains("'postgres.database_size[app \"x\"]'=12582912B"),
            "{s}"
        );
    }

    #[test]
    fn nagios_labels_double_quotes_and_never_break_the_line() {
        assert_eq!(nagios_label("backup.size[it's]"), "'backup.size[it''s]'");
        assert_eq!(nagios_label("a=b|c\nd\re\tf"), "'a_b¦c d e f'");
        let mut r = Report::new("backup list");
        r.push(
            Finding::new("backup.recheck", Status::Warning, "db\nOPSBOOK OK\r\nx")
                .subject("it's\n=evil|")
                .value(1u64, "backups"),
        );
        let s = nagios(&r);
        assert_eq!(s.lines().count(), 1, "{s:?}");
        assert_eq!(s.matches('|').count(), 1, "{s}");
        assert!(s.contains("'backup.recheck[it''s _evil¦]'=1"), "{s}");
    }

    #[test]
    fn prometheus_uses_base_units_and_labels() {
        let s = prometheus(&sample());
        assert!(
            s.contains("opsbook_pg_database_size_bytes{command=\"check morning\",subject=\"app \\\"x\\\"\"} 12582912"),
            "{s}"
        );
        assert!(
            s.contains(
                "opsbook_host_memory_usage_ratio{command=\"check morning\",subject=\"\"} 0.4\n"
            ),
            "{s}"
        );
        let mut r = sample();
        r.push(crate::report::Finding::ok("host.cpu_usage", "x").value(3.6, "percent"));
        let s = prometheus(&r);
        assert!(
            s.contains("_ratio{command=\"check morning\",subject=\"\"} 0.036\n"),
            "{s}"
        );
        assert!(
            s.contains(
                "opsbook_check_status{command=\"check morning\",id=\"redis.up\",subject=\"\"} 2"
            ),
            "{s}"
        );
        // No `_count` on a gauge: postgres_exporter's pg_stat_activity_count is not borrowed.
        assert!(
            s.contains("# TYPE opsbook_postgres_connections gauge\nopsbook_postgres_connections{"),
            "{s}"
        );
    }

    #[test]
    fn prometheus_names_follow_the_naming_rules() {
        let name = |id: &str, v: f64, unit: &str| metric_name(&Finding::ok(id, "").value(v, unit));
        assert_eq!(
            name("postgres.slow_query_count", 4.0, "statements").0,
            "opsbook_postgres_slow_query_statements"
        );
        assert_eq!(
            name("postgres.cache_hit_ratio", 99.5, "percent"),
            ("opsbook_postgres_cache_hit_ratio".to_string(), 0.995)
        );
        assert_eq!(
            name("restore.swap", 250.0, "ms"),
            ("opsbook_restore_swap_seconds".to_string(), 0.25)
        );
        assert_eq!(
            name("network.tls_certificate", 2.0, "days"),
            (
                "opsbook_network_tls_certificate_seconds".to_string(),
                172_800.0
            )
        );
        assert_eq!(name("x.size_bytes", 1.0, "bytes").0, "opsbook_x_size_bytes");
        assert_eq!(name("x.jobs_total", 1.0, "jobs").0, "opsbook_x_jobs");
    }

    #[test]
    fn prometheus_groups_a_family_and_drops_repeated_series() {
        let mut r = Report::new("monitor");
        for (subject, v) in [("a", 1u64), ("b", 2), ("a", 3)] {
            r.push(
                Finding::ok("postgres.database_size", "")
                    .subject(subject)
                    .value(v, "bytes"),
            );
            r.push(Finding::ok("host.load", "").value(1.5, "load"));
        }
        let s = prometheus(&r);
        assert_eq!(
            s.matches("# TYPE opsbook_pg_database_size_bytes").count(),
            1,
            "{s}"
        );
        assert_eq!(s.matches("# HELP opsbook_host_load").count(), 1, "{s}");
        assert_eq!(s.matches("opsbook_host_load{").count(), 1, "{s}");
        assert!(
            s.contains("subject=\"a\"} 1\nopsbook_pg_database_size_bytes{command=\"monitor\",subject=\"b\"} 2\n"),
            "{s}"
        );
    }

    #[test]
    fn nagios_perfdata_carries_thresholds_and_errors_one_line() {
        let mut r = Report::new("check morning");
        r.push(
            Finding::ok("host.disk_usage", "")
                .value(40.0, "percent")
                .above(Some(80.0), Some(90.0)),
        );
        r.push(
            Finding::ok("postgres.cache_hit_ratio", "")
                .value(99.0, "percent")
                .below(Some(95.0), None),
        );
        r.push(Finding::ok("rq.backlog", "").value(3, "jobs"));
        let s = nagios(&r);
        assert!(s.contains("'host.disk_usage'=40%;80;90 "), "{s}");
        assert!(s.contains("'postgres.cache_hit_ratio'=99%;95:; "), "{s}");
        assert!(s.ends_with("'rq.backlog'=3\n"), "{s}");
        assert_eq!(
            nagios_unknown("error: unexpected argument '--x' | found\n\nUsage: y"),
            "OPSBOOK UNKNOWN: unexpected argument '--x' ¦ found Usage: y\n"
        );
    }

    #[test]
    fn sections_without_rows_are_not_drawn() {
        let mut r = sample();
        for (title, rows) in [
            ("Empty plan", vec![]),
            ("Full plan", vec![vec!["1".into()]]),
        ] {
            r.sections.push(crate::report::Section {
                title: title.into(),
                columns: vec!["#".into()],
                rows,
                fit: Vec::new(),
            });
        }
        let style = Style {
            color: false,
            quiet: false,
            verbose: false,
            width: None,
            wide: false,
        };
        let s = table(&r, style);
        assert!(!s.contains("Empty plan"), "{s}");
        assert!(s.contains("Full plan"), "{s}");
    }

    #[test]
    fn table_without_color_has_no_escapes() {
        let s = table(
            &sample(),
            Style {
                color: false,
                quiet: false,
                verbose: false,
                width: None,
                wide: false,
            },
        );
        assert!(!s.contains('\x1b'));
        assert!(s.contains("CRITICAL"));
        assert!(s.contains("\n            hint: start redis\n"), "{s}");
        assert!(s.contains("12.0 MiB"));
        let c = table(
            &sample(),
            Style {
                color: true,
                quiet: false,
                verbose: false,
                width: None,
                wide: false,
            },
        );
        assert!(c.contains('\x1b'));
    }

    #[test]
    fn quiet_hides_ok_rows() {
        let s = table(
            &sample(),
            Style {
                color: false,
                quiet: true,
                verbose: false,
                width: None,
                wide: false,
            },
        );
        assert!(!s.contains("postgres.connections"));
        assert!(s.contains("redis.up"));
    }

    #[test]
    fn human_forms() {
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_duration(3725.0), "1h 2m");
        assert_eq!(human_duration(90000.0), "1d 1h");
        assert_eq!(human_duration(0.25), "250ms");
        assert_eq!(human_duration(0.0004), "0.4ms");
        assert_eq!(human_duration(0.0), "0s");
    }
}
