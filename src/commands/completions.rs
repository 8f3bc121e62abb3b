//! `opsbook completions <shell>`: print a completion script generated from the clap tree.
//!
//! The static script completes commands, flags and fixed values without running opsbook.
//! `--dynamic` prints the registration of clap_complete's run-time engine instead: at each TAB
//! the shell asks `COMPLETE=<shell> opsbook`, which also completes runbook names and backup ids
//! (src/completion.rs).

use clap::Args;
use clap_complete::env::EnvCompleter;
use clap_complete::Shell;

use crate::report::Report;

/// Print the completion script for a shell
#[derive(Debug, Args)]
#[command(
    after_help = "Install, e.g.:\n  opsbook completions bash > /etc/bash_completion.d/opsbook\n  opsbook completions zsh > \"${fpath[1]}/_opsbook\"\n  opsbook completions fish > ~/.config/fish/completions/opsbook.fish\n\nWith --dynamic, TAB also completes runbook names (runbook run|show|validate|schedule) and\nbackup ids (backup verify, restore) by asking opsbook (on PATH) at each TAB:\n  opsbook completions bash --dynamic > /etc/bash_completion.d/opsbook"
)]
pub struct CompletionsArgs {
    /// The shell to generate for
    #[arg(value_enum)]
    pub shell: Shell,
    /// Complete runbook names and backup ids too, by calling opsbook at each TAB (bash, zsh, fish, elvish)
    #[arg(long)]
    pub dynamic: bool,
}

/// The static script for `shell`, generated from `tree` (the whole clap command tree, handed
/// down from the command line so that this module never names it).
pub fn script(shell: Shell, tree: &mut clap::Command) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, tree, "opsbook", &mut buf);
    buf
}

/// The registration script of the run-time engine for `shell`, calling `opsbook` from PATH.
pub fn dynamic_script(shell: Shell) -> anyhow::Result<Vec<u8>> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &clap_complete::env::Bash,
        Shell::Zsh => &clap_complete::env::Zsh,
        Shell::Fish => &clap_complete::env::Fish,
        Shell::Elvish => &clap_complete::env::Elvish,
        Shell::PowerShell => &clap_complete::env::Powershell,
        other => anyhow::bail!(
            "no dynamic completion for {other}\nhint: use the static script: opsbook completions {other}"
        ),
    };
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", "opsbook", "opsbook", "opsbook", &mut buf)?;
    Ok(buf)
}

pub fn run(args: &CompletionsArgs, mut tree: clap::Command) -> anyhow::Result<Report> {
    let mut report = Report::new("completions");
    let bytes = if args.dynamic {
        dynamic_script(args.shell)?
    } else {
        script(args.shell, &mut tree)
    };
    report.text = Some(String::from_utf8_lossy(&bytes).into_owned());
    Ok(report)
}
