//! `opsbook completions <shell>`: print a completion script generated from the clap tree.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::report::Report;

/// Print the completion script for a shell
#[derive(Debug, Args)]
#[command(
    after_help = "Install, e.g.:\n  opsbook completions bash > /etc/bash_completion.d/opsbook\n  opsbook completions zsh > \"${fpath[1]}/_opsbook\"\n  opsbook completions fish > ~/.config/fish/completions/opsbook.fish"
)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "opsbook", &mut buf);
    buf
}

pub fn run(args: &CompletionsArgs) -> anyhow::Result<Report> {
    let mut report = Report::new("completions");
    report.text = Some(String::from_utf8_lossy(&script(args.shell)).into_owned());
    Ok(report)
}
