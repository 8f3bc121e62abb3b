//! The one gate in front of destructive work (restore, retention, terminating a backend): the
//! plan first (on stderr), then a typed answer on a terminal, or `--yes` when nobody is there
//! to type it. Prompts go to stderr, so stdout stays the report.

use std::io::IsTerminal as _;

use anyhow::{anyhow, bail};

/// Both ends an operator needs: keys in on stdin, prompts out on stderr.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask for `expected` to be typed; Err unless it was.
fn ask(expected: &str, what: &str) -> anyhow::Result<()> {
    let answer: String = dialoguer::Input::new()
        .with_prompt(format!(
            "Type `{expected}` to go ahead (anything else aborts)"
        ))
        .allow_empty(true)
        .report(false)
        .interact_text()
        .map_err(|e| anyhow!("{what}: reading the confirmation on the terminal: {e}"))?;
    if answer.trim() != expected {
        bail!(
            "{what}: aborted: typed `{}` instead of `{expected}`; nothing was changed",
            answer.trim()
        );
    }
    Ok(())
}

/// Proceed only when the operator typed `expected` (on a TTY) or passed `--yes`.
/// `action` names what would happen ("restore app/... over database app"); `plan` its steps.
pub fn typed(action: &str, plan: &[String], expected: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive() {
        bail!(
            "{action}: refusing without confirmation; nothing was changed\nhint: run it on a terminal to confirm by typing `{expected}`, or pass --yes (cron, scripts)"
        );
    }
    eprintln!("{action}. The plan:");
    for (i, step) in plan.iter().enumerate() {
        eprintln!("  {}. {step}", i + 1);
    }
    ask(expected, action)
}

/// The same gate for a plan already written as text: print it, then `--yes` or the typed word.
pub async fn confirm(plan: &str, expected: &str, yes: bool, flag_hint: &str) -> anyhow::Result<()> {
    eprintln!("{plan}");
    if yes {
        return Ok(());
    }
    if !interactive() {
        bail!(
            "refusing to act without confirmation: stdin is not a terminal and --yes was not given\nhint: review the plan above, then run again with --yes ({flag_hint})"
        );
    }
    let expected = expected.to_string();
    // The prompt blocks on the terminal; keep it off the async runtime's thread.
    tokio::task::spawn_blocking(move || ask(&expected, "not confirmed"))
        .await
        .map_err(|e| anyhow!("asking for confirmation: {e}"))?
}
