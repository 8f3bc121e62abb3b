//! The systemd service + timer pair of a scheduled runbook: what `runbook schedule --print
//! systemd` prints and what the Debian package installs (`dist/systemd/`, written by the hidden
//! `generate` command), so the two cannot drift apart.

use super::model::Runbook;
use super::quote;

/// One runbook's units; `name` is the unit name without its suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    pub name: String,
    pub service: String,
    pub timer: String,
}

/// `opsbook-runbook-<name>`, with anything systemd would not take in a unit name as `-`.
fn unit_name(rb: &Runbook) -> String {
    let clean: String = rb
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("opsbook-runbook-{clean}")
}

/// What an unattended run (a timer, cron) adds: a comment naming the steps that would ask for
/// confirmation (on one line), and whether `--yes` must be passed to run them.
pub fn unattended(rb: &Runbook) -> (String, bool) {
    let confirm = rb.confirm_steps();
    if confirm.is_empty() {
        return (String::new(), false);
    }
    (
        format!(
            "# Steps that ask for confirmation ({}) cannot ask a timer or cron: --yes runs them.\n",
            quote::one_line(&confirm.join(", "))
        ),
        true,
    )
}

/// The argv a scheduler hands opsbook for this runbook (`exe runbook run <runbook> [--yes] -q`),
/// unquoted: each scheduler quotes it its own way (runbook::quote), since a runbook path may
/// hold a space, a quote, `%` or `$`.
pub fn argv<'a>(rb: &'a Runbook, exe: &'a str) -> Vec<&'a str> {
    let mut argv = vec![exe, "runbook", "run", rb.reference.as_str()];
    if unattended(rb).1 {
        argv.push("--yes");
    }
    argv.push("-q");
    argv
}

/// The units running `exe runbook run <runbook>` on the runbook's schedule. The caller checked
/// that the runbook has one; a schedule a timer cannot express, or an executable path systemd
/// cannot take, is an error naming the runbook.
pub fn units(rb: &Runbook, exe: &str) -> anyhow::Result<Units> {
    let Some(sched) = &rb.schedule else {
        anyhow::bail!("runbook {} ({}) has no schedule", rb.name, rb.origin);
    };
    let calendar = sched
        .on_calendar()
        .map_err(|e| anyhow::anyhow!("runbook {}: {e}", rb.name))?;
    let (yes_note, _) = unattended(rb);
    let exec = quote::systemd_command(&argv(rb, exe)).map_err(|e| {
        anyhow::anyhow!(
            "printing a systemd unit for runbook {}: {e}\nhint: install opsbook under a plain path (e.g. /usr/local/bin/opsbook) and run `schedule` from there",
            rb.name
        )
    })?;
    let name = unit_name(rb);
    let service = format!(
        "[Unit]\nDescription=opsbook runbook {rb_name}: {desc}\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\n{yes_note}ExecStart={exec}\n",
        rb_name = quote::systemd_text(&rb.name),
        desc = quote::systemd_text(&rb.description),
    );
    let timer = format!(
        "[Unit]\nDescription=Run opsbook runbook {rb_name} ({expr})\n\n[Timer]\nOnCalendar={calendar}\nPersistent=true\nUnit={name}.service\n\n[Install]\nWantedBy=timers.target\n",
        rb_name = quote::systemd_text(&rb.name),
        expr = sched.expr,
    );
    Ok(Units {
        name,
        service,
        timer,
    })
}
