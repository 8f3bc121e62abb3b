//! The one report model every command returns.
//!
//! The JSON form (`schema: "opsbook.report/v1"`) is the contract that monitoring and runbooks
//! key on: finding ids are stable, values are in base units (bytes, seconds, percent) and the
//! human form lives only in `summary`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const SCHEMA: &str = "opsbook.report/v1";

/// The monitoring convention's four states.
///
/// Declaration order is the display order (Ok < Warning < Critical < Unknown). The exit code
/// of a whole report uses [`Status::severity`]: CRITICAL outranks UNKNOWN, so a check whose
/// PostgreSQL is down says "critical" (exit 2) even though the probes that needed PostgreSQL
/// could not tell (unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// Nagios / check_postgres exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// Rank used to pick a report's overall status: ok < warning < unknown < critical.
    pub fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Unknown => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two states by [`Status::severity`].
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }

    /// Status of `value` against "higher is worse" thresholds.
    pub fn above(value: f64, warning: Option<f64>, critical: Option<f64>) -> Status {
        if critical.is_some_and(|c| value > c) {
            Status::Critical
        } else if warning.is_some_and(|w| value > w) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// Status of `value` against "lower is worse" thresholds.
    pub fn below(value: f64, warning: Option<f64>, critical: Option<f64>) -> Status {
        if critical.is_some_and(|c| value < c) {
            Status::Critical
        } else if warning.is_some_and(|w| value < w) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// One observation: a stable id, an optional subject (database, unit, mount) when the id
/// repeats, a state, a typed value in base units and a sentence an operator can read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub subject: Option<String>,
    pub status: Status,
    pub value: Value,
    pub unit: Option<String>,
    pub summary: String,
    pub hint: Option<String>,
    /// Supporting lines (the last journal errors, the query text); empty when there is none.
    #[serde(default)]
    pub detail: Vec<String>,
    /// The levels the value was compared against, in the value's unit; absent when the
    /// finding has none (Nagios perfdata prints them as `;warn;crit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    /// The inventory target (`targets:` in the config) the finding is about, in a run with
    /// `--target`/`--all`; absent otherwise (an additive field of opsbook.report/v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher is worse (connections, disk usage): bad above the level.
    Above,
    /// Lower is worse (cache hit ratio, days until a certificate expires).
    Below,
}

/// The warning and critical levels a finding's value was judged by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub warning: Option<f64>,
    pub critical: Option<f64>,
    pub direction: Direction,
}

impl Finding {
    pub fn new(id: impl Into<String>, status: Status, summary: impl Into<String>) -> Self {
        Finding {
            id: id.into(),
            subject: None,
            status,
            value: Value::Null,
            unit: None,
            summary: summary.into(),
            hint: None,
            detail: Vec::new(),
            thresholds: None,
            target: None,
        }
    }

    pub fn ok(id: impl Into<String>, summary: impl Into<String>) -> Self {
        Self::new(id, Status::Ok, summary)
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// A numeric value and its unit (base units: bytes, seconds, percent, connections...).
    pub fn value(mut self, value: impl Into<Value>, unit: &str) -> Self {
        self.value = value.into();
        self.unit = Some(unit.to_string());
        self
    }

    /// A float value rounded to two decimals, so JSON does not carry noise digits.
    pub fn value_f64(self, value: f64, unit: &str) -> Self {
        let rounded = (value * 100.0).round() / 100.0;
        self.value(rounded, unit)
    }

    /// The levels the value was judged by when higher is worse ([`Status::above`]).
    pub fn above(self, warning: Option<f64>, critical: Option<f64>) -> Self {
        self.thresholds(warning, critical, Direction::Above)
    }

    /// The levels the value was judged by when lower is worse ([`Status::below`]).
    pub fn below(self, warning: Option<f64>, critical: Option<f64>) -> Self {
        self.thresholds(warning, critical, Direction::Below)
    }

    fn thresholds(
        mut self,
        warning: Option<f64>,
        critical: Option<f64>,
        direction: Direction,
    ) -> Self {
        if warning.is_some() || critical.is_some() {
            self.thresholds = Some(Thresholds {
                warning,
                critical,
                direction,
            });
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The hint, when the finding is not OK (advice for a value judged against limits).
    pub fn hint_unless_ok(self, hint: impl Into<String>) -> Self {
        if self.status == Status::Ok {
            self
        } else {
            self.hint(hint)
        }
    }

    pub fn detail(mut self, lines: Vec<String>) -> Self {
        self.detail = lines;
        self
    }

    /// The finding a probe yields when it could not tell: UNKNOWN with the error chain.
    pub fn unknown(id: impl Into<String>, err: &anyhow::Error) -> Self {
        Finding::new(id, Status::Unknown, one_line(err))
    }

    /// The inventory target this finding is about (a run with `--target`/`--all`).
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// The finding id plus target and subject, as shown in tables and nagios output:
    /// `id`, `id[subject]`, `id[target]` or `id[target:subject]`.
    pub fn label(&self) -> String {
        match (&self.target, &self.subject) {
            (Some(t), Some(s)) => format!("{}[{t}:{s}]", self.id),
            (Some(t), None) => format!("{}[{t}]", self.id),
            (None, Some(s)) => format!("{}[{}]", self.id, s),
            (None, None) => self.id.clone(),
        }
    }
}

/// An error chain on one line: "connecting to ...: connection refused".
/// The finding ids one command emits, declared once beside its code: its `--help` lists them
/// (`help()`), the integration tests check every report the command prints against them, and
/// a test checks each against the command's operator page.
#[derive(Debug)]
pub struct FindingIds {
    /// The report's `command` this table covers: `check morning`, or `backup` for `backup`,
    /// `backup list`, `backup verify` and `backup prune`.
    pub command: &'static str,
    /// The operator page that documents every id (`commands/check.md`).
    pub page: &'static str,
    /// `id` or `id (a note for --help)`; `<name>` stands for a name from the config
    /// (`metric.<name>`).
    pub ids: &'static [&'static str],
}

impl FindingIds {
    /// The ids as declared, without their notes.
    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ids
            .iter()
            .map(|e| e.split_once(' ').map_or(*e, |(id, _)| id))
    }

    /// Whether `id` is one of these (`metric.<name>` covers every `metric.…`).
    pub fn declares(&self, id: &str) -> bool {
        self.ids().any(|d| match d.split_once('<') {
            Some((prefix, _)) => id.starts_with(prefix),
            None => d == id,
        })
    }

    /// Whether a report's `command` is covered by this table.
    pub fn covers(&self, command: &str) -> bool {
        command == self.command
            || command
                .strip_prefix(self.command)
                .is_some_and(|rest| rest.starts_with(' '))
    }

    /// The `--help` line: `Finding ids: a b c (note) d`.
    pub fn help(&self) -> String {
        format!("Finding ids: {}", self.ids.join(" "))
    }
}

pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// A named table attached to a report (a lock tree, a step table, a sample list).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// How each column gives way on a narrow terminal, by position; a column without an entry
    /// is judged by its header ([`Fit::for_header`]). A rendering concern: not in the JSON.
    #[serde(skip)]
    pub fit: Vec<Fit>,
}

/// How a section's column gives way when the table is wider than the terminal (the way
/// pg_activity picks its columns): optional columns go first, then free text is cut with `…`;
/// an identifier an operator copies is never cut or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fit {
    /// An identifier an operator copies (a backup id, a pid, a queryid, a runbook name).
    Whole,
    /// Free text (a query, a description): cut with `…` to the room left, dropped last.
    #[default]
    Text,
    /// Shown when there is room; the higher the number, the sooner it is dropped.
    Optional(u8),
}

impl Fit {
    /// The fit of a column a command did not describe, from its header: the headers opsbook
    /// uses for identifiers are whole, the ones for free text are text, the rest optional
    /// (dropped from the right).
    pub fn for_header(header: &str, position: usize) -> Fit {
        const WHOLE: &[&str] = &[
            "#", "PID", "ID", "QUERYID", "NAME", "BACKUP", "RUNBOOK", "STEP", "INDEX", "TABLE",
            "DATABASE", "SQLSTATE", "KEY", "FILE", "UNIT", "SETTING", "OBJECT", "SLOT", "VARIABLE",
            "VALUE",
        ];
        const TEXT: &[&str] = &[
            "QUERY",
            "QUERY PLAN",
            "SUMMARY",
            "DESCRIPTION",
            "WHY",
            "RUN",
            "DETAIL",
            "NODE",
            "ACTION",
            "CHANGE",
            "RESULT",
        ];
        if WHOLE.contains(&header) {
            Fit::Whole
        } else if TEXT.contains(&header) {
            Fit::Text
        } else {
            Fit::Optional(u8::try_from(position).unwrap_or(u8::MAX))
        }
    }
}

impl Section {
    /// The fit of column `i`: the command's word, else [`Fit::for_header`].
    pub fn fit_of(&self, i: usize) -> Fit {
        self.fit
            .get(i)
            .copied()
            .unwrap_or_else(|| Fit::for_header(self.columns.get(i).map_or("", String::as_str), i))
    }
}

/// What every command returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub command: String,
    pub status: Status,
    pub duration_ms: u64,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<Section>,
    /// A command-specific payload (the effective config, the sandbox environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Plain text that replaces the table rendering (`sandbox env` prints shell lines).
    #[serde(skip)]
    pub text: Option<String>,
    /// Already printed by the command (the last snapshot of `monitor --watch`): main.rs
    /// does not print it again.
    #[serde(skip)]
    pub shown: bool,
}

impl Report {
    pub fn new(command: impl Into<String>) -> Self {
        Report {
            schema: SCHEMA.to_string(),
            command: command.into(),
            status: Status::Ok,
            duration_ms: 0,
            findings: Vec::new(),
            sections: Vec::new(),
            data: None,
            text: None,
            shown: false,
        }
    }

    pub fn push(&mut self, finding: Finding) {
        self.status = self.status.worst(finding.status);
        self.findings.push(finding);
    }

    pub fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        for f in findings {
            self.push(f);
        }
    }

    /// Recompute the overall status from the findings (after they were edited in place).
    pub fn refresh_status(&mut self) {
        self.status = self
            .findings
            .iter()
            .fold(Status::Ok, |acc, f| acc.worst(f.status));
    }

    pub fn exit_code(&self) -> i32 {
        self.status.exit_code()
    }

    pub fn find<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_ids_declare_cover_and_list() {
        const T: FindingIds = FindingIds {
            command: "backup",
            page: "commands/backup.md",
            ids: &["backup.created", "metric.<name> (custom metrics)"],
        };
        assert!(T.declares("backup.created") && T.declares("metric.queue_depth"));
        assert!(!T.declares("backup.create") && !T.declares("postgres.up"));
        assert!(T.covers("backup") && T.covers("backup list") && !T.covers("backups"));
        assert_eq!(
            T.help(),
            "Finding ids: backup.created metric.<name> (custom metrics)"
        );
        assert_eq!(
            T.ids().collect::<Vec<_>>(),
            vec!["backup.created", "metric.<name>"]
        );
    }

    #[test]
    fn a_section_column_fits_by_the_commands_word_else_by_its_header() {
        let s = Section {
            title: "t".into(),
            columns: ["ID", "AGE", "QUERY", "EXTRA"].map(String::from).to_vec(),
            rows: vec![],
            fit: vec![Fit::Optional(9)],
        };
        assert_eq!(s.fit_of(0), Fit::Optional(9));
        assert_eq!(s.fit_of(1), Fit::Optional(1));
        assert_eq!(s.fit_of(2), Fit::Text);
        assert_eq!(Fit::for_header("PID", 4), Fit::Whole);
        let json = serde_json::to_value(&s).unwrap();
        assert!(
            json.get("fit").is_none(),
            "the fit is not in the JSON: {json}"
        );
    }

    #[test]
    fn critical_outranks_unknown_and_warning() {
        let mut r = Report::new("t");
        r.push(Finding::new("a", Status::Warning, "w"));
        assert_eq!(r.exit_code(), 1);
        r.push(Finding::new("b", Status::Unknown, "u"));
        assert_eq!(r.exit_code(), 3);
        r.push(Finding::new("c", Status::Critical, "c"));
        assert_eq!(r.exit_code(), 2);
        r.push(Finding::new("d", Status::Ok, "o"));
        assert_eq!(r.status, Status::Critical);
    }

    #[test]
    fn a_hint_unless_ok_only_advises_a_finding_that_is_not_ok() {
        assert_eq!(Finding::ok("a", "").hint_unless_ok("do x").hint, None);
        let w = Finding::new("a", Status::Warning, "").hint_unless_ok("do x");
        assert_eq!(w.hint.as_deref(), Some("do x"));
    }

    #[test]
    fn thresholds() {
        assert_eq!(Status::above(81.0, Some(80.0), Some(90.0)), Status::Warning);
        assert_eq!(Status::above(80.0, Some(80.0), Some(90.0)), Status::Ok);
        assert_eq!(
            Status::above(95.0, Some(80.0), Some(90.0)),
            Status::Critical
        );
        assert_eq!(Status::below(94.0, Some(95.0), None), Status::Warning);
        assert_eq!(Status::below(99.0, Some(95.0), None), Status::Ok);
    }

    #[test]
    fn json_shape_is_the_documented_one() {
        let mut r = Report::new("check morning");
        r.push(
            Finding::ok("postgres.connections", "6 of 200 connections (3%)")
                .value(6, "connections"),
        );
        let v: Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["schema"], "opsbook.report/v1");
        assert_eq!(v["status"], "ok");
        let f = &v["findings"][0];
        assert_eq!(f["id"], "postgres.connections");
        assert_eq!(f["subject"], Value::Null);
        assert_eq!(f["value"], 6);
        assert_eq!(f["unit"], "connections");
        assert_eq!(f["hint"], Value::Null);
    }
}
