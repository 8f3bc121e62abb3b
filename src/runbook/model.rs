//! A runbook: YAML parsed against its schema (unknown keys are errors with file:line:column),
//! every step's `run:` parsed by the same clap tree as the command line, nested runbooks loaded
//! and cycles rejected — all before anything runs.

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::catalog::{self, Found};
use super::cron::Schedule;
use super::steps::StepRunner;
use crate::report::Status;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    #[default]
    Abort,
    Continue,
}

/// Run the step always, or only when the previous step that ran ended at or above a status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    #[default]
    Always,
    Warning,
    Unknown,
    Critical,
}

impl When {
    pub fn as_str(self) -> &'static str {
        match self {
            When::Always => "always",
            When::Warning => "warning",
            When::Unknown => "unknown",
            When::Critical => "critical",
        }
    }

    /// Does a previous status (None: no step ran yet) let this step run?
    pub fn allows(self, previous: Option<Status>) -> bool {
        let floor = match self {
            When::Always => return true,
            When::Warning => Status::Warning,
            When::Unknown => Status::Unknown,
            When::Critical => Status::Critical,
        };
        previous.is_some_and(|p| p.severity() >= floor.severity())
    }
}

/// When a runbook sends its outcome through the config's `notify:` channels (the monitor's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notify {
    /// the worst step ended critical or unknown
    Failure,
    /// the worst step ended warning or worse
    Warning,
    /// every run
    Always,
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Failure => "failure",
            Notify::Warning => "warning",
            Notify::Always => "always",
        }
    }

    /// Does a run whose worst step ended at `worst` get a message?
    pub fn wants(self, worst: Status) -> bool {
        match self {
            Notify::Always => true,
            Notify::Warning => worst != Status::Ok,
            Notify::Failure => matches!(worst, Status::Critical | Status::Unknown),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    run: Spanned<String>,
    #[serde(default)]
    on_failure: OnFailure,
    #[serde(default)]
    when: When,
    #[serde(default)]
    confirm: bool,
    #[serde(default)]
    timeout: Option<crate::config::Span>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRunbook {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    schedule: Option<Spanned<String>>,
    #[serde(default)]
    notify: Option<Notify>,
    steps: Vec<RawStep>,
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    /// As written after `opsbook`.
    pub run: String,
    pub line: u64,
    /// `run:` split into words, as the command line parses them.
    pub words: Vec<String>,
    /// The command takes over SIGINT/SIGTERM and cleans up itself (see [`ParsedStep`]).
    ///
    /// [`ParsedStep`]: super::steps::ParsedStep
    pub cleans_up: bool,
    pub on_failure: OnFailure,
    pub when: When,
    pub confirm: bool,
    pub timeout: Option<Duration>,
    /// The runbook this step runs (`run: runbook run other`), loaded and validated.
    pub nested: Option<Box<Runbook>>,
}

#[derive(Debug)]
pub struct Runbook {
    pub name: String,
    pub description: String,
    pub schedule: Option<Schedule>,
    pub steps: Vec<Step>,
    /// Send the outcome through the config's `notify:` channels on failure / warning / always.
    pub notify: Option<Notify>,
    /// Where it came from: a path, or `runbooks/NAME.yaml (shipped)`.
    pub origin: String,
    /// What `runbook run` needs to find it again (a path, or the shipped name).
    pub reference: String,
}

impl Runbook {
    /// Any step here or in a nested runbook that needs confirmation.
    pub fn confirm_steps(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.steps {
            if s.confirm {
                out.push(format!("{}: {}", self.name, s.name));
            }
            if let Some(n) = &s.nested {
                out.extend(n.confirm_steps());
            }
        }
        out
    }
}

/// Split `run:` like a shell would: whitespace, '...' and "..." quotes, backslash escapes.
pub fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("an opening ' has no closing '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => cur.push(ch),
                            None => return Err("a \\ ends the line".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("an opening \" has no closing \"".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => cur.push(ch),
                    None => return Err("a \\ ends the line".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

fn yaml_error(origin: &str, e: serde_saphyr::Error) -> anyhow::Error {
    let (at, what, _) = crate::config::yaml_error_parts(&e, origin);
    anyhow::anyhow!(
        "invalid runbook {at}: {what}\nhint: a runbook has name, description, schedule and steps; a step has name, run, on_failure (abort|continue), when (always|warning|unknown|critical), confirm and timeout (see commands/runbook.md)"
    )
}

/// Load a runbook and everything it calls; `stack` holds the references being loaded.
/// How many runbooks may be running inside one another (the outermost counts as one). Each
/// level is a boxed `dispatch` of its own: without a bound, 60 nested runbooks overflowed the
/// stack (SIGABRT) while `validate` said OK. Checked while loading, so validate refuses too.
pub const MAX_NESTING: usize = 8;

pub fn load(
    found: &Found,
    dirs: &[std::path::PathBuf],
    stack: &mut Vec<String>,
    runner: &dyn StepRunner,
) -> anyhow::Result<Runbook> {
    if stack.contains(&found.reference) {
        stack.push(found.reference.clone());
        bail!(
            "runbook cycle: {}\nhint: a runbook may call another, but never one that is already running",
            stack.join(" -> ")
        );
    }
    if stack.len() >= MAX_NESTING {
        stack.push(found.reference.clone());
        bail!(
            "runbooks nested too deep: {} is {} runbooks deep, over the limit of {MAX_NESTING}\nhint: a runbook may run another, which may run another, up to {MAX_NESTING} levels: run the deeper ones from a flatter runbook",
            stack.join(" -> "),
            stack.len()
        );
    }
    stack.push(found.reference.clone());
    let origin = found.origin.clone();
    let raw: RawRunbook =
        serde_saphyr::from_str(&found.text).map_err(|e| yaml_error(&origin, e))?;
    if raw.steps.is_empty() {
        bail!("invalid runbook {origin}: it has no steps");
    }
    let schedule = match &raw.schedule {
        None => None,
        Some(s) => Some(Schedule::parse(&s.value).map_err(|e| {
            anyhow::anyhow!(
                "invalid runbook {origin}:{}:{}: schedule: {e}",
                s.referenced.line(),
                s.referenced.column()
            )
        })?),
    };
    let mut steps = Vec::new();
    for (i, raw_step) in raw.steps.into_iter().enumerate() {
        let at = format!(
            "{origin}:{}:{}",
            raw_step.run.referenced.line(),
            raw_step.run.referenced.column()
        );
        let step_label = format!("step {} `{}`", i + 1, raw_step.name);
        let words = split_words(&raw_step.run.value)
            .map_err(|e| anyhow::anyhow!("invalid runbook {at}: {step_label}: run: {e}"))?;
        if words.first().map(String::as_str) == Some("opsbook") {
            bail!("invalid runbook {at}: {step_label}: write run: without the leading `opsbook` (e.g. `check morning`)");
        }
        let parsed = runner.parse(&words).map_err(|msg| {
            anyhow::anyhow!(
                "invalid runbook {at}: {step_label}: `{}`: {msg}\nhint: `opsbook {} --help` shows what it accepts",
                raw_step.run.value,
                words.first().cloned().unwrap_or_default()
            )
        })?;
        if parsed.run_wide_flags {
            bail!(
                "invalid runbook {at}: {step_label}: --config, --pg, --redis, --format, --timeout and --wide apply to the whole runbook\nhint: put them on `opsbook runbook run`, not in a step"
            );
        }
        let nested = match &parsed.runbook_target {
            Some(target) => {
                let inner = catalog::resolve(target, dirs)
                    .map_err(|e| e.context(format!("{at}: {step_label}")))?;
                Some(Box::new(load(&inner, dirs, stack, runner)?))
            }
            // list / show / validate / schedule only read.
            None => None,
        };
        steps.push(Step {
            name: raw_step.name,
            run: raw_step.run.value.clone(),
            line: raw_step.run.referenced.line(),
            words,
            cleans_up: parsed.cleans_up,
            on_failure: raw_step.on_failure,
            when: raw_step.when,
            confirm: raw_step.confirm,
            timeout: raw_step.timeout.map(|t| t.0),
            nested,
        });
    }
    stack.pop();
    Ok(Runbook {
        name: raw.name,
        description: raw.description,
        schedule,
        steps,
        notify: raw.notify,
        origin,
        reference: found.reference.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_wants_by_the_worst_status() {
        assert!(Notify::Always.wants(Status::Ok));
        assert!(!Notify::Warning.wants(Status::Ok));
        assert!(Notify::Warning.wants(Status::Warning));
        assert!(!Notify::Failure.wants(Status::Warning));
        assert!(Notify::Failure.wants(Status::Critical));
        assert!(Notify::Failure.wants(Status::Unknown));
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(r#"backup --db 'my db' --dir "/a b" x\ y"#).unwrap(),
            vec!["backup", "--db", "my db", "--dir", "/a b", "x y"]
        );
        assert!(split_words("a 'b").is_err());
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn when_compares_the_previous_status() {
        assert!(When::Always.allows(None));
        assert!(!When::Warning.allows(None));
        assert!(!When::Warning.allows(Some(Status::Ok)));
        assert!(When::Warning.allows(Some(Status::Warning)));
        assert!(When::Warning.allows(Some(Status::Critical)));
        assert!(!When::Critical.allows(Some(Status::Unknown)));
    }
}
