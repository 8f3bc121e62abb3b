//! The one gate in front of destructive work (restore, retention, terminating a backend): on a
//! terminal the operator reads the plan and types a word (the database's name); anywhere else
//! `--yes` is required. Prompts go to stderr, so stdout stays the report.

use std::io::IsTerminal as _;

use anyhow::bail;

/// Both ends an operator needs: keys in on stdin, prompts out on stderr.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Proceed only when the operator typed `expected` (on a TTY) or passed `--yes`.
/// `action` names what would happen ("restore app from app/20261123T010000Z").
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
    let typed: String = dialoguer::Input::new()
        .with_prompt(format!(
            "Type `{expected}` to go ahead (anything else aborts)"
        ))
        .allow_empty(true)
        .interact_text()
        .map_err(|e| anyhow::anyhow!("{action}: reading the confirmation: {e}"))?;
    if typed.trim() != expected {
        bail!(
            "{action}: aborted: `{}` is not `{expected}`; nothing was changed",
            typed.trim()
        );
    }
    Ok(())
}
