//! The systemd service + timer pair of a scheduled runbook: what `runbook schedule --print
//! systemd` prints and what the Debian package installs (`dist/systemd/`, written by the hidden
//! `generate` command), so the two cannot drift apart.

use super::model::Runbook;

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
/// confirmation, and ` --yes` to run them, or nothing when no step asks.
pub fn unattended(rb: &Runbook) -> (String, &'static str) {
    let confirm = rb.confirm_steps();
    if confirm.is_empty() {
        return (String::new(), "");
    }
    (
        format!(
            "# Steps that ask for confirmation ({}) cannot ask a timer or cron: --yes runs them.\n",
            confirm.join(", ")
        ),
        " --yes",
    )
}

/// The units running `exe runbook run <runbook>` on the runbook's schedule. The caller checked
/// that the runbook has one; a schedule a timer cannot express is an error naming the runbook.
pub fn units(rb: &Runbook, exe: &str) -> anyhow::Result<Units> {
    let Some(sched) = &rb.schedule else {
        anyhow::bail!("runbook {} ({}) has no schedule", rb.name, rb.origin);
    };
    let calendar = sched
        .on_calendar()
        .map_err(|e| anyhow::anyhow!("runbook {}: {e}", rb.name))?;
    let (yes_note, yes) = unattended(rb);
    let name = unit_name(rb);
    let service = format!(
        "[Unit]\nDescription=opsbook runbook {rb_name}: {desc}\nWants=network-online.target\nAfter=network-online.target\n\n[Service]\nType=oneshot\n{yes_note}ExecStart={exe} runbook run {target}{yes} -q\n",
        rb_name = rb.name,
        desc = rb.description,
        target = rb.reference,
    );
    let timer = format!(
        "[Unit]\nDescription=Run opsbook runbook {rb_name} ({expr})\n\n[Timer]\nOnCalendar={calendar}\nPersistent=true\nUnit={name}.service\n\n[Install]\nWantedBy=timers.target\n",
        rb_name = rb.name,
        expr = sched.expr,
    );
    Ok(Units {
        name,
        service,
        timer,
    })
}
