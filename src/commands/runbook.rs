//! `opsbook runbook list|show|validate|run|schedule`: YAML runbooks of opsbook commands,
//! validated whole before anything runs and executed in-process over one shared context.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::context::Ctx;
use crate::interrupt::Interrupt;
use crate::render::took;
use crate::report::{one_line, Finding, Report, Section, Status};
use crate::runbook::catalog::{self, Found};
use crate::runbook::model::{self, OnFailure, Runbook};
use crate::runbook::quote;
use crate::runbook::steps::StepRunner;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "runbook",
    page: "commands/runbook.md",
    ids: &[
        "runbook.list",
        "runbook.show",
        "runbook.valid",
        "runbook.invalid",
        "runbook.plan",
        "runbook.schedule",
        "runbook.step (a step that could not run; the findings of the steps that ran follow)",
        "runbook.declined",
        "runbook.interrupted",
        "runbook.notify",
        "notify.telegram (with notify: in the runbook: ok sent, warning not)",
        "notify.webhook (likewise)",
        "notify.config (the config's notify: section cannot be used)",
    ],
};

/// Run, list, show, validate and schedule YAML runbooks of opsbook commands
#[derive(Debug, Args)]
#[command(
    after_help = format!("{}\n\n{}", FINDING_IDS.help(), "Examples:\n  opsbook runbook list\n  opsbook runbook show morning\n  opsbook runbook run morning\n  opsbook runbook run ./nightly.yaml --dry-run\n  opsbook runbook validate /etc/opsbook/runbooks/*.yaml\n  opsbook runbook schedule morning --print systemd\n\n\
A runbook's exit status is the worst status of the steps that ran: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN \
(also: invalid runbook, confirmation refused). See commands/runbook.md for the format.")
)]
pub struct RunbookArgs {
    #[command(subcommand)]
    pub action: RunbookAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleFormat {
    /// One crontab line
    Cron,
    /// A systemd service + timer pair
    Systemd,
}

#[derive(Debug, Subcommand)]
pub enum RunbookAction {
    /// The shipped and installed runbooks
    List,
    /// A runbook's steps as a table
    Show {
        /// A runbook name (see `runbook list`) or a path to a .yaml file
        #[arg(value_name = "NAME|PATH", add = ArgValueCandidates::new(crate::completion::runbook_names))]
        runbook: String,
    },
    /// Check runbooks without running them: schema, every step through the command parser, cycles
    Validate {
        /// Runbook names or paths (default: every listed runbook)
        #[arg(value_name = "NAME|PATH", add = ArgValueCandidates::new(crate::completion::runbook_names))]
        runbooks: Vec<String>,
    },
    /// Run a runbook's steps in order
    Run {
        /// A runbook name (see `runbook list`) or a path to a .yaml file
        #[arg(value_name = "NAME|PATH", add = ArgValueCandidates::new(crate::completion::runbook_names))]
        runbook: String,
        /// Print the plan and run nothing
        #[arg(long)]
        dry_run: bool,
        /// Run `confirm: true` steps without asking (needed when not on a terminal)
        #[arg(long)]
        yes: bool,
    },
    /// Print a crontab line or systemd units for the runbook's schedule
    Schedule {
        /// A runbook name or path (it must have a `schedule:`)
        #[arg(value_name = "NAME|PATH", add = ArgValueCandidates::new(crate::completion::runbook_names))]
        runbook: String,
        /// What to print
        #[arg(long, value_enum, value_name = "FORMAT")]
        print: ScheduleFormat,
    },
}

impl RunbookArgs {
    pub fn name(&self) -> &'static str {
        match self.action {
            RunbookAction::List => "list",
            RunbookAction::Show { .. } => "show",
            RunbookAction::Validate { .. } => "validate",
            RunbookAction::Run { .. } => "run",
            RunbookAction::Schedule { .. } => "schedule",
        }
    }

    /// The runbook a `runbook run` step calls.
    pub fn run_target(&self) -> Option<&str> {
        match &self.action {
            RunbookAction::Run { runbook, .. } => Some(runbook),
            _ => None,
        }
    }
}

fn search_dirs(ctx: &Ctx) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    catalog::dirs(&ctx.config.runbook_dirs, home.as_deref())
}

fn load(target: &str, dirs: &[PathBuf], runner: &dyn StepRunner) -> anyhow::Result<Runbook> {
    let found = catalog::resolve(target, dirs)?;
    model::load(&found, dirs, &mut Vec::new(), runner)
}

/// `runner` is the command line the steps are parsed and run by, handed down from above so
/// that the runbook engine never imports the CLI.
pub async fn run(args: &RunbookArgs, ctx: &Ctx, runner: &dyn StepRunner) -> anyhow::Result<Report> {
    let dirs = search_dirs(ctx);
    match &args.action {
        RunbookAction::List => list(&dirs, runner),
        RunbookAction::Show { runbook } => show(&load(runbook, &dirs, runner)?),
        RunbookAction::Validate { runbooks } => validate(runbooks, &dirs, runner),
        RunbookAction::Run {
            runbook,
            dry_run,
            yes,
        } => {
            let rb = load(runbook, &dirs, runner)?;
            if *dry_run {
                return Ok(plan_report(&rb));
            }
            execute(&rb, *yes, ctx, runner).await
        }
        RunbookAction::Schedule { runbook, print } => {
            schedule(&load(runbook, &dirs, runner)?, *print)
        }
    }
}

fn list(dirs: &[PathBuf], runner: &dyn StepRunner) -> anyhow::Result<Report> {
    let mut report = Report::new("runbook list");
    let all = catalog::list(dirs);
    let mut rows = Vec::new();
    let mut data = Vec::new();
    for f in &all {
        let parsed = model::load(f, dirs, &mut Vec::new(), runner);
        let (steps, schedule, description, valid) = match &parsed {
            Ok(rb) => (
                rb.steps.len().to_string(),
                rb.schedule
                    .as_ref()
                    .map(|s| s.expr.clone())
                    .unwrap_or_default(),
                rb.description.clone(),
                true,
            ),
            Err(e) => (
                String::new(),
                String::new(),
                format!("INVALID: {}", one_line(e)),
                false,
            ),
        };
        if !valid {
            report.push(
                Finding::new(
                    "runbook.invalid",
                    Status::Warning,
                    one_line(parsed.as_ref().err().unwrap_or(&anyhow::anyhow!("invalid"))),
                )
                .subject(f.name.clone())
                .hint(format!(
                    "`opsbook runbook validate {}` shows the error",
                    f.reference
                )),
            );
        }
        rows.push(vec![
            f.name.clone(),
            steps.clone(),
            schedule.clone(),
            f.origin.clone(),
            description.clone(),
        ]);
        data.push(serde_json::json!({
            "name": f.name, "origin": f.origin, "shipped": f.shipped, "valid": valid,
            "steps": steps.parse::<usize>().ok(), "schedule": (!schedule.is_empty()).then_some(schedule),
            "description": description,
        }));
    }
    report.push(
        Finding::ok(
            "runbook.list",
            format!(
                "{} runbook(s): {} shipped, {} installed",
                all.len(),
                all.iter().filter(|f| f.shipped).count(),
                all.iter().filter(|f| !f.shipped).count()
            ),
        )
        .value(all.len() as u64, "runbooks"),
    );
    report.sections.push(Section {
        title: format!(
            "Runbooks (installed ones searched in {})",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        columns: ["NAME", "STEPS", "SCHEDULE", "FROM", "DESCRIPTION"]
            .iter()
            .map(|c| c.to_string())
            .collect(),
        rows,
        fit: Vec::new(),
    });
    report.data = Some(serde_json::json!({ "runbooks": data }));
    Ok(report)
}

fn steps_section(rb: &Runbook, title: String) -> Section {
    Section {
        title,
        columns: [
            "#",
            "STEP",
            "RUN",
            "WHEN",
            "ON FAILURE",
            "CONFIRM",
            "TIMEOUT",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect(),
        rows: rb
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    s.name.clone(),
                    format!("opsbook {}", s.run),
                    s.when.as_str().to_string(),
                    match s.on_failure {
                        OnFailure::Abort => "abort",
                        OnFailure::Continue => "continue",
                    }
                    .to_string(),
                    if s.confirm { "yes" } else { "" }.to_string(),
                    s.timeout.map(|t| took(t.as_secs_f64())).unwrap_or_default(),
                ]
            })
            .collect(),
        fit: Vec::new(),
    }
}

fn show(rb: &Runbook) -> anyhow::Result<Report> {
    let mut report = Report::new("runbook show");
    report.push(Finding::ok(
        "runbook.show",
        format!(
            "{} ({}): {} step(s){}{}",
            rb.name,
            rb.origin,
            rb.steps.len(),
            rb.schedule
                .as_ref()
                .map(|s| format!(", schedule `{}`", s.expr))
                .unwrap_or_default(),
            notify_note(rb)
        ),
    ));
    report
        .sections
        .push(steps_section(rb, rb.description.clone()));
    Ok(report)
}

fn validate(
    targets: &[String],
    dirs: &[PathBuf],
    runner: &dyn StepRunner,
) -> anyhow::Result<Report> {
    let mut report = Report::new("runbook validate");
    let found: Vec<anyhow::Result<Found>> = if targets.is_empty() {
        catalog::list(dirs).into_iter().map(Ok).collect()
    } else {
        targets.iter().map(|t| catalog::resolve(t, dirs)).collect()
    };
    let mut bad = 0;
    for (i, f) in found.into_iter().enumerate() {
        let label = targets.get(i).cloned();
        match f.and_then(|f| model::load(&f, dirs, &mut Vec::new(), runner).map(|rb| (f, rb))) {
            Ok((f, rb)) => report.push(
                Finding::ok(
                    "runbook.valid",
                    format!("{}: {} step(s) parse, no cycle", f.origin, rb.steps.len()),
                )
                .subject(rb.name),
            ),
            Err(e) => {
                bad += 1;
                let mut lines: Vec<String> = e
                    .chain()
                    .flat_map(|c| {
                        c.to_string()
                            .lines()
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    })
                    .collect();
                let hint = lines
                    .iter()
                    .position(|l| l.starts_with("hint: "))
                    .map(|i| lines.remove(i));
                let mut finding =
                    Finding::new("runbook.valid", Status::Critical, lines.join(" | "));
                if let Some(l) = label {
                    finding = finding.subject(l);
                }
                if let Some(h) = hint {
                    finding = finding.hint(h.trim_start_matches("hint: ").to_string());
                }
                report.push(finding);
            }
        }
    }
    if bad > 0 {
        // An invalid runbook is a usage error, like a bad flag: UNKNOWN (3), whatever else passed.
        for f in report
            .findings
            .iter_mut()
            .filter(|f| f.status == Status::Critical)
        {
            f.status = Status::Unknown;
        }
        report.refresh_status();
    }
    Ok(report)
}

fn notify_note(rb: &Runbook) -> String {
    rb.notify
        .map(|n| format!(", notify on {}", n.as_str()))
        .unwrap_or_default()
}

fn plan_report(rb: &Runbook) -> Report {
    let mut report = Report::new("runbook run");
    report.push(Finding::ok(
        "runbook.plan",
        format!(
            "dry run of {} ({}): {} step(s){}, nothing was run",
            rb.name,
            rb.origin,
            rb.steps.len(),
            notify_note(rb)
        ),
    ));
    report
        .sections
        .push(steps_section(rb, format!("The plan of {}", rb.name)));
    for s in &rb.steps {
        if let Some(n) = &s.nested {
            report.sections.push(steps_section(
                n,
                format!("The plan of {} (step `{}`)", n.name, s.name),
            ));
        }
    }
    report
}

/// The step's one-line outcome for the steps table.
fn summary(r: &Report) -> String {
    let worst = r
        .findings
        .iter()
        .filter(|f| f.status == r.status && f.status != Status::Ok)
        .map(|f| format!("{}: {}", f.label(), f.summary))
        .next();
    match worst {
        Some(s) => s,
        None => format!("{} finding(s), all OK", r.findings.len()),
    }
}

/// Run one step, raced with the runbook's interrupt: a read-only step is dropped when the
/// signal arrives (`Err(Interrupted)`), one that cleans up after itself runs to its end.
async fn run_step<F>(fut: F, cleans_up: bool, interrupt: &Interrupt) -> anyhow::Result<Report>
where
    F: std::future::Future<Output = anyhow::Result<Report>>,
{
    // A signal before the step began: do not begin it.
    interrupt.check()?;
    tokio::pin!(fut);
    match interrupt.guard(&mut fut).await {
        Ok(r) => r,
        Err(_) if cleans_up => fut.await,
        Err(i) => Err(i.into()),
    }
}

async fn execute(
    rb: &Runbook,
    yes: bool,
    ctx: &Ctx,
    runner: &dyn StepRunner,
) -> anyhow::Result<Report> {
    let confirm = rb.confirm_steps();
    if !confirm.is_empty() && !yes && !crate::confirm::interactive() {
        anyhow::bail!(
            "runbook {}: step(s) {} need confirmation, and this is not a terminal; nothing was run\nhint: pass --yes to run them unattended, or run it on a terminal",
            rb.name,
            confirm.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        );
    }
    let interrupt = Interrupt::install()?;
    let mut report = Report::new("runbook run");
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut steps_data = Vec::new();
    let mut previous: Option<Status> = None;
    let mut worst = Status::Ok;
    let mut stopped: Option<String> = None;
    for (i, step) in rb.steps.iter().enumerate() {
        let label = format!("{}. {}", i + 1, step.name);
        if let Some(why) = &stopped {
            rows.push(vec![label, "SKIPPED".into(), String::new(), why.clone()]);
            steps_data.push(serde_json::json!({"name": step.name, "run": step.run, "status": "skipped", "reason": why}));
            continue;
        }
        if !step.when.allows(previous) {
            let why = format!(
                "when: {} (previous step {})",
                step.when.as_str(),
                previous.map(|p| p.as_str()).unwrap_or("none")
            );
            rows.push(vec![label, "SKIPPED".into(), String::new(), why.clone()]);
            steps_data.push(serde_json::json!({"name": step.name, "run": step.run, "status": "skipped", "reason": why}));
            continue;
        }
        if step.confirm && !yes {
            let asked = crate::confirm::typed(
                &format!("runbook {}, step {}: opsbook {}", rb.name, label, step.run),
                &[format!("opsbook {}", step.run)],
                "yes",
                false,
            );
            if let Err(e) = asked {
                let why = "declined at the confirmation".to_string();
                rows.push(vec![label, "SKIPPED".into(), String::new(), why.clone()]);
                steps_data.push(serde_json::json!({"name": step.name, "run": step.run, "status": "skipped", "reason": why}));
                report.push(
                    Finding::new("runbook.declined", Status::Unknown, one_line(&e))
                        .subject(step.name.clone()),
                );
                stopped = Some("the runbook stopped after a declined step".into());
                continue;
            }
        }
        let t = Instant::now();
        let fut = async {
            crate::interrupt::test_pause("runbook.step").await;
            runner.run(&step.words, ctx).await
        };
        let fut = async {
            match step.timeout {
                Some(limit) => match tokio::time::timeout(limit, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(anyhow::anyhow!(
                        "timed out after {}",
                        took(limit.as_secs_f64())
                    )),
                },
                None => fut.await,
            }
        };
        let outcome = run_step(fut, step.cleans_up, &interrupt).await;
        let elapsed = t.elapsed();
        if let Some(sig) = interrupt.signal() {
            // Said once, naming the step that was running; the step's own findings (a
            // restore's `restore.interrupted`) follow it.
            let f = Finding::new(
                "runbook.interrupted",
                Status::Critical,
                format!(
                    "interrupted by {sig} during step {label} (`opsbook {}`); the remaining steps were not run",
                    step.run
                ),
            )
            .subject(step.name.clone());
            report.push(match step.cleans_up {
                true => {
                    f.hint("the step handled the signal itself: see its findings for what it left")
                }
                false => {
                    f.hint("the step only reads, so it was stopped at once; nothing was changed")
                }
            });
            stopped = Some(format!("interrupted by {sig} during step {}", i + 1));
        }
        let (status, line, findings) = match outcome {
            Ok(r) => (r.status, summary(&r), r.findings),
            Err(e) if crate::interrupt::is_interrupted(&e) => (
                Status::Critical,
                format!("interrupted: {}", one_line(&e)),
                vec![],
            ),
            Err(e) => {
                let f = Finding::new(
                    "runbook.step",
                    Status::Unknown,
                    format!("{}: {}", step.name, one_line(&e)),
                )
                .subject(step.name.clone());
                (Status::Unknown, one_line(&e), vec![f])
            }
        };
        rows.push(vec![
            label,
            status.label().into(),
            took(elapsed.as_secs_f64()),
            line.clone(),
        ]);
        steps_data.push(serde_json::json!({
            "name": step.name, "run": step.run, "status": status.as_str(),
            "duration_ms": elapsed.as_millis() as u64, "summary": line,
        }));
        report.extend(findings);
        previous = Some(status);
        if status.severity() > worst.severity() {
            worst = status;
        }
        let failed = matches!(status, Status::Critical | Status::Unknown);
        if failed && step.on_failure == OnFailure::Abort && stopped.is_none() {
            stopped = Some(format!("step {} failed (on_failure: abort)", i + 1));
        }
    }
    if let Some(when) = rb.notify.filter(|w| w.wants(worst)) {
        report.extend(notify_outcome(rb, when, worst, &rows, ctx).await);
    }
    report.sections.insert(
        0,
        Section {
            title: format!("Runbook {} ({})", rb.name, rb.origin),
            columns: ["STEP", "STATUS", "TOOK", "SUMMARY"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
            rows,
            fit: Vec::new(),
        },
    );
    report.data =
        Some(serde_json::json!({"runbook": rb.name, "origin": rb.origin, "steps": steps_data}));
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The runbook's outcome as one message through the config's `notify:` channels: the worst
/// status, then one line per step. A channel that fails is a WARNING `notify.<channel>`.
async fn notify_outcome(
    rb: &Runbook,
    when: model::Notify,
    worst: Status,
    rows: &[Vec<String>],
    ctx: &Ctx,
) -> Vec<Finding> {
    let cfg = &ctx.config.notify;
    if cfg.telegram.is_none() && cfg.webhook.is_none() {
        return vec![Finding::new(
            "runbook.notify",
            Status::Warning,
            format!(
                "runbook {} asks `notify: {}`, but the config has no notify.telegram or notify.webhook: nothing was sent",
                rb.name,
                when.as_str()
            ),
        )
        .hint("add a notify: channel to the config (see commands/monitor.md), or remove notify: from the runbook")];
    }
    let mut text = format!(
        "opsbook runbook {} on {}: {}\n",
        rb.name,
        crate::notify::hostname(),
        worst.label()
    );
    for row in rows {
        let cells: Vec<&str> = row
            .iter()
            .map(String::as_str)
            .filter(|c| !c.is_empty())
            .collect();
        text.push_str(&cells.join("  "));
        text.push('\n');
    }
    crate::notify::send(cfg, &crate::notify::Message::new(text)).await
}

fn schedule(rb: &Runbook, print: ScheduleFormat) -> anyhow::Result<Report> {
    let Some(sched) = &rb.schedule else {
        anyhow::bail!(
            "runbook {} ({}) has no schedule\nhint: add `schedule: \"0 8 * * *\"` (a cron expression) to it",
            rb.name,
            rb.origin
        );
    };
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "/usr/local/bin/opsbook".to_string());
    let (yes_note, _) = crate::runbook::systemd::unattended(rb);
    let argv = crate::runbook::systemd::argv(rb, &exe);
    let mut report = Report::new("runbook schedule");
    let text = match print {
        ScheduleFormat::Cron => format!(
            "# opsbook runbook {}: {}\n{yes_note}# crontab -e (or /etc/cron.d/opsbook with a user field after the schedule)\n{} {}\n",
            quote::one_line(&rb.name),
            quote::one_line(&rb.description),
            sched.expr,
            quote::cron_command(&argv),
        ),
        ScheduleFormat::Systemd => {
            let units = crate::runbook::systemd::units(rb, &exe)?;
            let unit = &units.name;
            format!(
                "# /etc/systemd/system/{unit}.service\n{}\n# /etc/systemd/system/{unit}.timer\n{}\n# then: systemctl daemon-reload && systemctl enable --now {unit}.timer\n",
                units.service, units.timer
            )
        }
    };
    report.push(Finding::ok(
        "runbook.schedule",
        format!("{}: `{}`", rb.name, sched.expr),
    ));
    report.data =
        Some(serde_json::json!({"runbook": rb.name, "schedule": sched.expr, "text": text}));
    report.text = Some(text);
    Ok(report)
}
