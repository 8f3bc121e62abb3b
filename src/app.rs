//! The top of the library: the one match from the parsed command line to the command that
//! runs it, and the step runner handed down to the runbook engine (so that only this module,
//! `cli` and `commands` know the clap tree).

use clap::{CommandFactory as _, Parser as _};
use futures_util::future::LocalBoxFuture;

use crate::cli::{Cli, Command};
use crate::commands::check::CheckCommand;
use crate::commands::{
    backup, bench, check, completions, config, diagnose, generate, monitor, replica, replica_setup,
    restore, runbook, sandbox,
};
use crate::context::Ctx;
use crate::report::{FindingIds, Report};
use crate::runbook::steps::{ParsedStep, StepRunner};

pub async fn dispatch(command: &Command, ctx: &Ctx) -> anyhow::Result<Report> {
    match command {
        Command::Check(a) => check::run(a, ctx).await,
        Command::Backup(a) => backup::run(a, ctx).await,
        Command::Restore(a) => restore::run(a, ctx).await,
        Command::Diagnose(a) => diagnose::run(a, ctx).await,
        Command::Bench(a) => bench::run(a, ctx).await,
        Command::Runbook(a) => runbook::run(a, ctx, &Steps).await,
        Command::ReplicaSetup(a) => replica_setup::run(a, ctx).await,
        Command::Replica(a) => replica::run(a, ctx).await,
        Command::Sandbox(a) => sandbox::run(a, ctx).await,
        Command::Config(a) => config::run(a, ctx),
        Command::Completions(a) => completions::run(a, Cli::command()),
        Command::Generate(a) => generate::run(a, Cli::command(), &Steps),
        Command::Monitor(a) => monitor::run(a, ctx).await,
    }
}

/// Every command's finding-id table: what `--help` lists, what a test checks against the
/// operator pages, and what the integration tests hold every printed report to.
pub const FINDING_IDS: &[&FindingIds] = &[
    &check::morning::FINDING_IDS,
    &check::afternoon::FINDING_IDS,
    &check::night::FINDING_IDS,
    &check::health::FINDING_IDS,
    &monitor::FINDING_IDS,
    &backup::FINDING_IDS,
    &restore::FINDING_IDS,
    &replica::STATUS_FINDING_IDS,
    &replica::PROMOTE_FINDING_IDS,
    &replica_setup::primary::FINDING_IDS,
    &replica_setup::standby::FINDING_IDS,
    &diagnose::locks::FINDING_IDS,
    &diagnose::memory::FINDING_IDS,
    &diagnose::network::FINDING_IDS,
    &diagnose::queries::FINDING_IDS,
    &bench::FINDING_IDS,
    &runbook::FINDING_IDS,
    &sandbox::FINDING_IDS,
    &config::FINDING_IDS,
    &generate::FINDING_IDS,
];

/// Whether a report of `command` may carry finding `id`: declared in the command's table. A
/// `runbook run` report also carries its steps' findings, so any command's id is allowed there.
pub fn declares_finding(command: &str, id: &str) -> bool {
    let own = FINDING_IDS
        .iter()
        .any(|t| t.covers(command) && t.declares(id));
    own || (command == "runbook run" && FINDING_IDS.iter().any(|t| t.declares(id)))
}

/// Runbook steps, parsed by the same clap tree as the command line and run in-process.
pub struct Steps;

impl Steps {
    fn parse_cli(words: &[String]) -> Result<Cli, String> {
        Cli::try_parse_from(std::iter::once("opsbook".to_string()).chain(words.iter().cloned()))
            .map_err(|e| {
                let text = e.render().to_string();
                text.lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_string()
            })
    }
}

/// Whether a step's command takes over SIGINT/SIGTERM and cleans up itself (a restore drops
/// its half-restored database, a backup its partial file, maintenance cancels its statement).
fn cleans_up(command: &Command) -> bool {
    match command {
        Command::Check(a) => {
            matches!(&a.which, CheckCommand::Night(n) if n.maintain || n.cleanup)
        }
        Command::Diagnose(_) | Command::Config(_) | Command::Completions(_) => false,
        Command::Generate(_) => false,
        _ => true,
    }
}

impl StepRunner for Steps {
    fn parse(&self, words: &[String]) -> Result<ParsedStep, String> {
        let cli = Steps::parse_cli(words)?;
        Ok(ParsedStep {
            run_wide_flags: cli.global.sets_run_wide_flags(),
            runbook_target: match &cli.command {
                Command::Runbook(r) => r.run_target().map(str::to_string),
                _ => None,
            },
            cleans_up: cleans_up(&cli.command),
        })
    }

    fn run<'a>(
        &'a self,
        words: &'a [String],
        ctx: &'a Ctx,
    ) -> LocalBoxFuture<'a, anyhow::Result<Report>> {
        Box::pin(async move {
            // Parsed once already when the runbook was loaded: this cannot fail in practice.
            let cli = Steps::parse_cli(words).map_err(|msg| anyhow::anyhow!("{msg}"))?;
            dispatch(&cli.command, ctx).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_finding_id_is_on_its_operator_page() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut missing = Vec::new();
        for table in FINDING_IDS {
            let page = std::fs::read_to_string(root.join(table.page)).unwrap();
            for id in table.ids() {
                // `id` or `id[subject]`, as the pages write them.
                if !page.contains(&format!("`{id}`")) && !page.contains(&format!("`{id}[")) {
                    missing.push(format!("{} ({}): `{id}`", table.page, table.command));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "finding ids missing from their pages:\n  {}",
            missing.join("\n  ")
        );
    }

    #[test]
    fn every_command_with_findings_has_a_table() {
        for cmd in [
            "check morning",
            "backup list",
            "diagnose locks",
            "runbook run",
            "config check",
        ] {
            assert!(FINDING_IDS.iter().any(|t| t.covers(cmd)), "{cmd}");
        }
        assert!(declares_finding("backup verify", "backup.verify"));
        assert!(!declares_finding("backup verify", "restore.swap"));
        assert!(declares_finding("runbook run", "restore.swap"));
        assert!(declares_finding("check morning", "metric.queue_depth"));
    }

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn steps_parse_with_the_command_line() {
        let p = Steps.parse(&words("check morning")).unwrap();
        assert_eq!(p, ParsedStep::default());
        let p = Steps.parse(&words("runbook run night --yes")).unwrap();
        assert_eq!(p.runbook_target.as_deref(), Some("night"));
        assert!(p.cleans_up);
        assert!(
            Steps
                .parse(&words("check morning --pg x"))
                .unwrap()
                .run_wide_flags
        );
        assert!(
            Steps
                .parse(&words("check night --cleanup"))
                .unwrap()
                .cleans_up
        );
        assert!(!Steps.parse(&words("diagnose locks")).unwrap().cleans_up);
        let e = Steps.parse(&words("check tea")).unwrap_err();
        assert!(e.contains("tea"), "{e}");
        assert!(!e.starts_with("error:"), "{e}");
    }
}
