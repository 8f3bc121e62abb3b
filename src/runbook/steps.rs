//! What the runbook engine needs from the command line above it, handed down as a trait
//! object so that the engine never imports the CLI: parse one step's words with the real
//! parser (at load time, so a runbook is validated whole before anything runs) and run one
//! step in-process over the shared context.

use futures_util::future::LocalBoxFuture;

use crate::context::Ctx;
use crate::report::Report;

/// One step's `run:` as the command line understood it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedStep {
    /// The global flags the step gives (`--pg`, `--quiet`, `--textfile`, ...: every flag the
    /// command line marks global): they belong on the `runbook run` command line, never on a
    /// step, whose command runs over the runbook's one context and output.
    pub global_flags: Vec<String>,
    /// Every global flag the command line has, for the refusal's message.
    pub all_global_flags: Vec<String>,
    /// `runbook run NAME`: the runbook this step runs (loaded and validated as well).
    pub runbook_target: Option<String>,
    /// The step takes over SIGINT/SIGTERM and cleans up itself (a restore drops its
    /// half-restored database, a backup its partial file, maintenance cancels its statement):
    /// it is awaited to its own end; every other step only reads and is dropped at once.
    pub cleans_up: bool,
}

/// The command line the engine runs steps through.
pub trait StepRunner {
    /// Parse a step's words (without the leading `opsbook`); `Err` is the parser's one-line
    /// message.
    fn parse(&self, words: &[String]) -> Result<ParsedStep, String>;

    /// Run a step's words as the command they parse to, over the shared context.
    fn run<'a>(
        &'a self,
        words: &'a [String],
        ctx: &'a Ctx,
    ) -> LocalBoxFuture<'a, anyhow::Result<Report>>;
}
