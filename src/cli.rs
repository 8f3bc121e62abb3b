//! The clap tree (global flags and one variant per command module; the whole tree reads
//! here), and the one match from it to the commands: `dispatch`, the `StepRunner` runbooks run
//! their steps through, and every command's finding-id table. Only `main.rs` imports this.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Args, CommandFactory as _, Parser, Subcommand, ValueEnum};
use futures_util::future::LocalBoxFuture;

use crate::commands::check::CheckCommand;
use crate::commands::{
    backup, bench, check, cluster, completions, config, diagnose, generate, monitor, pitr, replica,
    replica_setup, report, restore, runbook, sandbox, targets,
};
use crate::context::{Ctx, Overrides};
use crate::fleet;
pub use crate::render::Format;
use crate::render::Output;
use crate::report::{FindingIds, Report};
use crate::runbook::steps::{ParsedStep, StepRunner};

/// What `opsbook --version` prints after the name: the package version and the commit it was
/// built from (build.rs; "unknown" outside a git checkout), e.g. `0.1.0 (4c232dd 2026-12-04)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("OPSBOOK_COMMIT"), ")");

/// Run the checklists, backups and diagnostics of a PostgreSQL + Redis stack from one binary
///
/// Every command prints a report (a table on a terminal, `--format json` for machines) and exits
/// with the monitoring convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
#[derive(Debug, Parser)]
#[command(
    name = "opsbook",
    version = VERSION,
    propagate_version = true,
    after_help = "Examples:\n  opsbook sandbox up --demo-data && eval \"$(opsbook sandbox env)\"\n  opsbook check morning\n  opsbook check morning --format nagios\n  opsbook diagnose locks\n  opsbook config show\n\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also usage and config errors)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file (default: $OPSBOOK_CONFIG, /etc/opsbook/opsbook.yaml, ~/.config/opsbook/opsbook.yaml)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// PostgreSQL URL (default: $DATABASE_URL, config postgres.url, then the libpq PG* environment)
    #[arg(long, global = true, value_name = "URL")]
    pub pg: Option<String>,

    /// Redis URL (default: $REDIS_URL, config redis.url, then redis://127.0.0.1:6379)
    #[arg(long, global = true, value_name = "URL")]
    pub redis: Option<String>,

    /// Seconds allowed to connect to a server and for each statement (default: the config's 5 s / 10 s)
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_timeout)]
    pub timeout: Option<f64>,

    /// Print nothing at all when everything is OK, else only the findings that are not OK
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print whole summaries, hints and detail lines, of OK findings too
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Never colour the output (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Also write the report in Prometheus text format to PATH, atomically (node_exporter's textfile collector)
    #[arg(long, global = true, value_name = "PATH")]
    pub textfile: Option<PathBuf>,

    /// Show every column of every table and whole summaries, whatever the terminal's width
    #[arg(long, global = true)]
    pub wide: bool,

    /// Run against this inventory target or group (`targets:` in the config; see `opsbook targets list`)
    #[arg(long, global = true, value_name = "NAME|GROUP", conflicts_with_all = ["pg", "redis"], add = clap_complete::engine::ArgValueCandidates::new(crate::completion::target_names))]
    pub target: Option<String>,

    /// Run against every inventory target, concurrently, as one report
    #[arg(long, global = true, conflicts_with_all = ["pg", "redis"])]
    pub all: bool,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86400.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400 (e.g. 5 or 0.5)"
        )),
    }
}

/// `--format`'s values: the renderer's [`Format`], named and described for clap here so that
/// no layer below the command line names a clap type.
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Format::Table,
            Format::Json,
            Format::Prometheus,
            Format::Nagios,
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            Format::Table => {
                PossibleValue::new("table").help("Human table (colour only on a terminal)")
            }
            Format::Json => PossibleValue::new("json").help("The opsbook.report/v1 JSON document"),
            Format::Prometheus => PossibleValue::new("prometheus")
                .help("Prometheus text exposition (for node_exporter's textfile collector)"),
            Format::Nagios => {
                PossibleValue::new("nagios").help("One Nagios/Icinga plugin line with perfdata")
            }
        })
    }
}

impl Cli {
    /// What the flags override for the whole run. `backup --all` (every database) is backup's
    /// own flag, not the inventory's `--all`: clap shares one id between the two, so a
    /// backup's `--all` never selects targets.
    pub fn overrides(&self) -> Overrides {
        let mut o = self.global.overrides();
        if self.command.owns_all_flag() {
            o.all = false;
        }
        o
    }
}

impl GlobalArgs {
    /// The output settings every layer reads, as plain data.
    pub fn output(&self) -> Output {
        Output {
            format: self.format,
            quiet: self.quiet,
            verbose: self.verbose,
            no_color: self.no_color,
            textfile: self.textfile.clone(),
            wide: self.wide,
        }
    }

    /// What the flags override for the whole run, as plain data.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            pg: self.pg.clone(),
            redis: self.redis.clone(),
            timeout: self.timeout,
            target: self.target.clone(),
            all: self.all,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a checklist (the morning runbook, as one report)
    Check(check::CheckArgs),
    /// Take, list, verify and prune verified logical backups
    Backup(backup::BackupArgs),
    /// Restore a backup into a new database, prove it complete, then swap it in
    Restore(restore::RestoreArgs),
    /// Find the cause: lock trees, memory growth, network and slow queries
    Diagnose(diagnose::DiagnoseArgs),
    /// Measure a query (the ranking, a named one or --sql) from N clients against its latency target
    #[command(after_help = bench::after_help())]
    Bench(bench::BenchArgs),
    /// Run, list, show, validate and schedule YAML runbooks of opsbook commands
    Runbook(runbook::RunbookArgs),
    /// Set up streaming replication: prepare the primary, then clone a standby from it
    ReplicaSetup(replica_setup::ReplicaSetupArgs),
    /// Show replication health, or promote a standby
    Replica(replica::ReplicaArgs),
    /// Start, show or stop a throwaway PostgreSQL + Redis to try opsbook on
    Sandbox(sandbox::SandboxArgs),
    /// Show or validate the configuration
    Config(config::ConfigArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// Regenerate man/ and completions/ from the command tree (for developers)
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
    /// Take a snapshot of host, PostgreSQL, Redis and RQ numbers (or one every --watch) and send alerts
    #[command(after_help = monitor::after_help())]
    Monitor(monitor::MonitorArgs),
    /// Show the run history's trends as sparklines, or write them as a self-contained HTML page
    #[command(after_help = report::after_help())]
    Report(report::ReportArgs),
    /// Set up, back up and check point-in-time recovery through pgBackRest
    Pitr(pitr::PitrArgs),
    /// Who is primary across the HA stack: every node, Patroni, the Sentinels and HAProxy
    Cluster(cluster::ClusterArgs),
    /// Work with the inventory of targets (`targets:` in the config) that --target and --all select
    #[command(after_help = targets::after_help())]
    Targets(targets::TargetsArgs),
}

impl Command {
    /// The report's `command` field: "check morning", "sandbox up", ...
    pub fn name(&self) -> String {
        match self {
            Command::Check(a) => format!("check {}", a.name()),
            Command::Backup(a) => a.name().to_string(),
            Command::Restore(_) => "restore".to_string(),
            Command::Diagnose(a) => format!("diagnose {}", a.name()),
            Command::Bench(a) => format!("bench {}", a.name()),
            Command::Runbook(a) => format!("runbook {}", a.name()),
            Command::ReplicaSetup(a) => format!("replica-setup {}", a.name()),
            Command::Replica(a) => format!("replica {}", a.name()),
            Command::Sandbox(a) => format!("sandbox {}", a.name()),
            Command::Config(a) => format!("config {}", a.name()),
            Command::Completions(_) => "completions".to_string(),
            Command::Generate(_) => "generate".to_string(),
            Command::Monitor(_) => "monitor".to_string(),
            Command::Report(_) => "report".to_string(),
            Command::Pitr(a) => format!("pitr {}", a.name()),
            Command::Cluster(a) => format!("cluster {}", a.name()),
            Command::Targets(a) => format!("targets {}", a.name()),
        }
    }

    /// Whether `--all` is the command's own flag (`backup --all`: every database) rather
    /// than the global one (every inventory target).
    pub fn owns_all_flag(&self) -> bool {
        matches!(self, Command::Backup(_))
    }

    /// Commands that only print generated text and need no configuration.
    pub fn needs_config(&self) -> bool {
        !matches!(self, Command::Completions(_) | Command::Generate(_))
    }
}

impl Command {
    /// How the command runs with `--target`/`--all` (see `fleet`): checks fan out, commands
    /// that act take one target as their connection, runbooks pass the selection to their
    /// steps, the rest work on this host or on files and refuse it.
    pub fn fleet_mode(&self) -> fleet::Mode {
        use fleet::Mode;
        let each = Mode::Each {
            extra: std::time::Duration::ZERO,
        };
        let acts = Mode::One {
            what: "acts on one server",
        };
        let watches = Mode::One {
            what: "with --watch redraws one server's view",
        };
        match self {
            Command::Check(a) => match &a.which {
                CheckCommand::Night(n) if n.maintain || n.cleanup => acts,
                _ => each,
            },
            // --watch fans out each round itself (monitor::run).
            Command::Monitor(a) if a.watch.is_some() => Mode::Through,
            Command::Monitor(_) => each,
            Command::Replica(a) => match a.which {
                replica::ReplicaCommand::Status(_) => each,
                // Through an engine it reads the inventory itself (`--target` names the node
                // or Sentinel to ask, not the connection).
                replica::ReplicaCommand::Promote(ref p) if p.through_engine() => Mode::Through,
                replica::ReplicaCommand::Promote(_) => acts,
            },
            Command::Diagnose(a) => match &a.which {
                diagnose::DiagnoseCommand::Locks(l)
                    if l.cancel.is_some() || l.terminate.is_some() =>
                {
                    acts
                }
                diagnose::DiagnoseCommand::Locks(l) if l.watch.is_some() => watches,
                diagnose::DiagnoseCommand::Config(c) if c.apply || c.rollback.is_some() => acts,
                diagnose::DiagnoseCommand::Memory(m) => Mode::Each {
                    extra: m.duration.0,
                },
                _ => each,
            },
            Command::Backup(_)
            | Command::Restore(_)
            | Command::Bench(_)
            | Command::ReplicaSetup(_)
            | Command::Pitr(_) => acts,
            Command::Runbook(_) => Mode::Through,
            Command::Sandbox(_) => Mode::Refuse {
                why: "the sandbox is its own servers",
            },
            Command::Config(_) => Mode::Refuse {
                why: "it reads the config file",
            },
            Command::Completions(_) | Command::Generate(_) => Mode::Refuse {
                why: "it prints generated text",
            },
            Command::Report(_) => Mode::Refuse {
                why: "it reads this host's run history",
            },
            Command::Targets(_) => Mode::Refuse {
                why: "it lists the inventory itself",
            },
            Command::Cluster(_) => Mode::Refuse {
                why: "it reads every target of the inventory itself",
            },
        }
    }
}

impl Command {
    /// Whether a fanned-out run of the command adds the HA facts (`ha::facts`: Patroni paused,
    /// pending restart, the timeline since the previous run, Sentinels and quorum, the
    /// verdict), and whether it records the timeline (not with `--no-record`).
    pub fn ha_facts(&self) -> Option<bool> {
        match self {
            Command::Check(a) => match &a.which {
                CheckCommand::Morning(m) => Some(!m.no_record),
                CheckCommand::Night(n) => Some(!n.no_record),
                _ => None,
            },
            Command::Monitor(m) => Some(!m.no_record),
            _ => None,
        }
    }
}

/// The one way from the clap tree to the command: as typed, or with `--target`/`--all`
/// through the fan-out (`fleet`), by the command's [`Command::fleet_mode`].
pub async fn dispatch(command: &Command, ctx: &Ctx) -> anyhow::Result<Report> {
    if !ctx.overrides.selects_targets() {
        return run_command(command, ctx).await;
    }
    let name = command.name();
    match command.fleet_mode() {
        fleet::Mode::Each { extra } => {
            let mut plan = fleet::Plan::each(ctx, extra)?;
            if let Some(record) = command.ha_facts() {
                plan = plan.with_ha_facts(ctx, record)?;
            }
            let mut report = plan.run(ctx, &name, |c| run_command(command, c))?;
            if let Command::Monitor(a) = command {
                monitor::notify_merged(a, ctx, &mut report).await?;
            }
            Ok(report)
        }
        fleet::Mode::One { what } => {
            let Some((target, one)) = fleet::one(ctx, &name, what)? else {
                return run_command(command, ctx).await;
            };
            let mut report = run_command(command, &one).await?;
            for f in &mut report.findings {
                f.target.get_or_insert_with(|| target.clone());
            }
            Ok(report)
        }
        fleet::Mode::Through => run_command(command, ctx).await,
        fleet::Mode::Refuse { why } => Err(fleet::refuse(ctx, &name, why)),
    }
}

/// The one match from the clap tree to the command that runs it.
async fn run_command(command: &Command, ctx: &Ctx) -> anyhow::Result<Report> {
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
        Command::Report(a) => report::run(a, ctx).await,
        Command::Pitr(a) => pitr::run(a, ctx).await,
        Command::Cluster(a) => cluster::run(a, ctx).await,
        Command::Targets(a) => targets::run(a, ctx).await,
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
    &cluster::STATUS_FINDING_IDS,
    &targets::discover::FINDING_IDS,
    &replica_setup::primary::FINDING_IDS,
    &replica_setup::standby::FINDING_IDS,
    &diagnose::locks::FINDING_IDS,
    &diagnose::memory::FINDING_IDS,
    &diagnose::network::FINDING_IDS,
    &diagnose::queries::FINDING_IDS,
    &diagnose::config::FINDING_IDS,
    &bench::FINDING_IDS,
    &runbook::FINDING_IDS,
    &sandbox::FINDING_IDS,
    &config::FINDING_IDS,
    &generate::FINDING_IDS,
    &report::FINDING_IDS,
    &pitr::SETUP_FINDING_IDS,
    &pitr::BACKUP_FINDING_IDS,
    &pitr::STATUS_FINDING_IDS,
    &fleet::FINDING_IDS,
];

/// Whether a report of `command` may carry finding `id`: declared in the command's table. A
/// `runbook run` report also carries its steps' findings, so any command's id is allowed there.
pub fn declares_finding(command: &str, id: &str) -> bool {
    let own = FINDING_IDS
        .iter()
        .any(|t| t.covers(command) && t.declares(id));
    own || fleet::adds(id)
        || (command == "runbook run" && FINDING_IDS.iter().any(|t| t.declares(id)))
}

/// Runbook steps, parsed by the same clap tree as the command line and run in-process.
pub struct Steps;

impl Steps {
    fn parse_cli(words: &[String]) -> Result<Cli, String> {
        Steps::parse_matches(words).map(|(cli, _)| cli)
    }

    fn parse_matches(words: &[String]) -> Result<(Cli, clap::ArgMatches), String> {
        let first_line = |e: clap::Error| {
            let text = e.render().to_string();
            text.lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_string()
        };
        let argv = std::iter::once("opsbook".to_string()).chain(words.iter().cloned());
        let matches = Cli::command()
            .try_get_matches_from(argv)
            .map_err(first_line)?;
        let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).map_err(first_line)?;
        Ok((cli, matches))
    }
}

/// The global flags (every `global = true` argument of the clap tree, so a flag added later is
/// covered too) that `matches` got from the command line, as `--long` names. clap propagates
/// a global given after the subcommand up to the top-level matches.
fn global_flags_given(matches: &clap::ArgMatches) -> Vec<String> {
    Cli::command()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter(|a| {
            matches.value_source(a.get_id().as_str())
                == Some(clap::parser::ValueSource::CommandLine)
        })
        .map(|a| match a.get_long() {
            Some(long) => format!("--{long}"),
            None => a.get_id().to_string(),
        })
        .collect()
}

/// Every global flag of the clap tree, as `--long` names (for the refusal's message).
fn global_flag_names() -> Vec<String> {
    Cli::command()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect()
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
        let (cli, matches) = Steps::parse_matches(words)?;
        Ok(ParsedStep {
            global_flags: global_flags_given(&matches)
                .into_iter()
                .filter(|f| !(f == "--all" && cli.command.owns_all_flag()))
                .collect(),
            all_global_flags: global_flag_names(),
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

/// The help of the command `args` name (`opsbook check morning --help`), as clap renders it
/// but with the after-help (the examples) laid out by opsbook: clap re-flows it to the
/// terminal's width and so broke an example command line in two, which then no longer pastes.
/// An indented line (an example) is never wrapped (the terminal soft-wraps it, and a copy
/// stays one line); a prose line is wrapped at spaces. None when `args` asks for no help.
pub fn help_for(args: &[String]) -> Option<String> {
    let mut root = Cli::command();
    root.build();
    let mut cmd = &root;
    let mut long = false;
    let mut asked = false;
    for arg in args.iter().skip(1) {
        match arg.as_str() {
            "--" => break,
            "--help" => (long, asked) = (true, true),
            "-h" => asked = true,
            // `opsbook help check morning`: clap's help subcommand prints the long help.
            "help" if !asked && cmd.find_subcommand("help").is_some() => {
                (long, asked) = (true, true)
            }
            word => {
                if let Some(sub) = cmd.find_subcommand(word) {
                    cmd = sub;
                }
            }
        }
    }
    let color = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let width = crate::render::width::for_stdout().unwrap_or(100);
    asked.then(|| render_help(cmd, long, color, width))
}

/// `cmd`'s help (long or short) at `width` columns, with its after-help laid out as
/// [`help_for`] says.
pub fn render_help(cmd: &clap::Command, long: bool, color: bool, width: usize) -> String {
    let after = if long {
        cmd.get_after_long_help().or(cmd.get_after_help())
    } else {
        cmd.get_after_help()
    }
    .map(|s| s.to_string());
    let mut bare = cmd
        .clone()
        .after_help(None::<&str>)
        .after_long_help(None::<&str>)
        .term_width(width);
    let styled = if long {
        bare.render_long_help()
    } else {
        bare.render_help()
    };
    let mut text = if color {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    };
    if let Some(after) = after {
        let text_end = text.trim_end().len();
        text.truncate(text_end);
        text.push_str("\n\n");
        let mut lines = Vec::new();
        for line in after.lines() {
            if line.starts_with(' ') || line.is_empty() {
                lines.push(line.to_string());
            } else {
                lines.extend(crate::render::width::wrap(line, Some(width)));
            }
        }
        text.push_str(&lines.join("\n"));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
        assert!(p.global_flags.is_empty());
        assert!(!p.cleans_up && p.runbook_target.is_none());
        let p = Steps.parse(&words("runbook run night --yes")).unwrap();
        assert_eq!(p.runbook_target.as_deref(), Some("night"));
        assert!(p.cleans_up);
        assert_eq!(
            Steps
                .parse(&words("check morning --pg x -q"))
                .unwrap()
                .global_flags,
            ["--pg", "--quiet"]
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

    /// Every global flag of the tree, also one added later, is seen in a step, given before
    /// or after the subcommand.
    #[test]
    fn every_global_flag_in_a_step_is_seen() {
        let globals: Vec<_> = Cli::command()
            .get_arguments()
            .filter(|a| a.is_global_set())
            .cloned()
            .collect();
        assert!(globals.len() >= 9, "{globals:?}");
        for a in globals {
            let long = format!("--{}", a.get_long().unwrap());
            let mut given = vec![long.clone()];
            if a.get_action().takes_values() {
                let value = match a.get_id().as_str() {
                    "format" => "json",
                    "timeout" => "5",
                    _ => "x",
                };
                given.push(value.to_string());
            }
            let after: Vec<String> = ["check", "morning"]
                .iter()
                .map(|s| s.to_string())
                .chain(given.iter().cloned())
                .collect();
            let before: Vec<String> = given
                .iter()
                .cloned()
                .chain(["check", "morning"].iter().map(|s| s.to_string()))
                .collect();
            for w in [after, before] {
                let p = Steps.parse(&w).unwrap();
                assert_eq!(p.global_flags, std::slice::from_ref(&long), "{w:?}");
                assert!(p.all_global_flags.contains(&long));
            }
        }
    }

    #[test]
    fn clap_tree_is_valid() {
        Cli::command().debug_assert();
    }
}
