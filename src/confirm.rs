//! The one confirmation every destructive action goes through: the plan first (on stderr),
//! then a typed answer on a terminal, or `--yes` when nobody is there to type it.

use std::io::IsTerminal as _;

use anyhow::{anyhow, bail};

/// Print `plan` to stderr, then ask for `expected` to be typed (GitHub-style) on a terminal.
/// Without a terminal `yes` must be given; otherwise this is an error (exit 3).
pub async fn confirm(plan: &str, expected: &str, yes: bool, flag_hint: &str) -> anyhow::Result<()> {
    eprintln!("{plan}");
    if yes {
        return Ok(());
    }
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !tty {
        bail!(
            "refusing to act without confirmation: stdin is not a terminal and --yes was not given\nhint: review the plan above, then run again with --yes ({flag_hint})"
        );
    }
    let expected_owned = expected.to_string();
    // The prompt blocks on the terminal; keep it off the async runtime's thread.
    let answer = tokio::task::spawn_blocking(move || {
        dialoguer::Input::<String>::new()
            .with_prompt(format!("Type {expected_owned} to confirm"))
            .allow_empty(true)
            .report(false)
            .interact_text()
    })
    .await
    .map_err(|e| anyhow!("asking for confirmation: {e}"))?
    .map_err(|e| anyhow!("asking for confirmation on the terminal: {e}"))?;
    if answer.trim() != expected {
        bail!(
            "not confirmed: typed `{}` instead of `{expected}`; nothing was done",
            answer.trim()
        );
    }
    Ok(())
}
