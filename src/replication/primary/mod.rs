//! Preparing a primary for streaming replication (`replica-setup primary`): the pre-flight
//! checks and the plan (`preflight`), the settings they read (`settings`), and the changes
//! (`apply`). The command holds the arguments and the confirmation; this holds the steps.

mod apply;
mod preflight;
mod settings;

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context as _};

use crate::clients::postgres::PgClient;
use crate::context::Ctx;
use crate::replication::hba;
use crate::report::{one_line, Finding, Report, Section, Status};
use crate::sql::{quote_ident, quote_literal};

pub use preflight::preflight;

/// What to prepare the primary for (the command's arguments, without the confirmation).
#[derive(Debug, Clone)]
pub struct Request {
    /// The standby's IP address, as the primary sees its connections
    pub standby_addr: IpAddr,
    /// The replication role
    pub user: String,
    /// The physical replication slot (default: standby_<ADDR with _>)
    pub slot: Option<String>,
    /// Where a newly generated password is written (0600); None: shown once on the terminal
    pub password_file: Option<PathBuf>,
    /// Give an existing role a new generated password
    pub rotate_password: bool,
    /// Restart the server when a changed setting needs it
    pub restart: bool,
}

#[derive(Debug, Clone)]
enum Change {
    /// ALTER SYSTEM SET name = to; `restart`: the primary must restart for it
    Set {
        name: &'static str,
        from: String,
        to: String,
        restart: bool,
    },
    CreateRole,
    RoleAttrs,
    Password(String),
    Hba(Option<hba::Rule>),
    Slot,
}

/// A pre-flight finding, plus whether a change in the plan fixes it.
struct Check {
    finding: Finding,
    fixed_by_plan: bool,
}

/// What the pre-flight found and what it would change.
pub struct Plan {
    checks: Vec<Check>,
    changes: Vec<Change>,
    /// a check opsbook cannot fix
    blocked: bool,
    hba_path: PathBuf,
    hba_text: String,
    slot: String,
    port: String,
    data_directory: PathBuf,
    primary_host: IpAddr,
}

fn describe(c: &Change, req: &Request, plan: &Plan) -> String {
    let user = &req.user;
    match c {
        Change::Set { name, from, to, restart } => format!(
            "ALTER SYSTEM SET {name} = {} (now {}){}",
            quote_literal(to),
            quote_literal(from),
            if *restart { "; needs a restart" } else { "" }
        ),
        Change::CreateRole => format!(
            "CREATE ROLE {} LOGIN REPLICATION with a generated password (sent as a SCRAM verifier){}",
            quote_ident(user),
            password_dest(req)
        ),
        Change::RoleAttrs => format!("ALTER ROLE {} LOGIN REPLICATION", quote_ident(user)),
        Change::Password(why) => format!(
            "ALTER ROLE {} PASSWORD <generated> ({why}){}",
            quote_ident(user),
            password_dest(req)
        ),
        Change::Hba(before) => format!(
            "add `{}` to {} {} (a dated copy is kept; validated with pg_hba_file_rules)",
            hba::line_for(user, req.standby_addr),
            plan.hba_path.display(),
            match before {
                Some(r) => format!("before line {}", r.line),
                None => "at the end".into(),
            }
        ),
        Change::Slot => format!(
            "SELECT pg_create_physical_replication_slot({}, true)",
            quote_literal(&plan.slot)
        ),
    }
}

fn password_dest(req: &Request) -> String {
    match &req.password_file {
        Some(p) => format!(", written to {} (0600)", p.display()),
        None => ", shown once on this terminal".into(),
    }
}

fn standby_command(req: &Request, plan: &Plan) -> String {
    let host = match plan.primary_host {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    // Never this primary's own data directory: on this host pg_basebackup would be pointed at
    // the running primary's files (refused, or with --force moved aside), and the standby's
    // layout is its own choice anyway.
    let mut cmd = format!(
        "opsbook replica-setup standby --primary {host}:{} --data-dir {EMPTY_DIR} --slot {} --user {}",
        plan.port, plan.slot, req.user
    );
    if let Some(p) = &req.password_file {
        cmd.push_str(&format!(" --password-file {}", p.display()));
    }
    if req.standby_addr.is_loopback() {
        cmd.push_str(" --port <a free port>");
    }
    cmd.push_str(" --start");
    cmd
}

/// `replica_setup.next`: the command to run on the standby, and what its placeholder means.
fn next_finding(req: &Request, plan: &Plan) -> Finding {
    Finding::ok(
        "replica_setup.next",
        format!("on {}: {}", req.standby_addr, standby_command(req, plan)),
    )
    .hint(format!(
        "{EMPTY_DIR} is the standby's own data directory (missing or empty), never this primary's {}",
        plan.data_directory.display()
    ))
}

/// The placeholder the suggested standby command holds for its data directory.
const EMPTY_DIR: &str = "<EMPTY_DIR>";

fn plan_section(lines: &[String]) -> Section {
    Section {
        title: "The plan".into(),
        columns: vec!["#".into(), "CHANGE".into()],
        rows: lines
            .iter()
            .enumerate()
            .map(|(i, s)| vec![(i + 1).to_string(), s.clone()])
            .collect(),
        fit: Vec::new(),
    }
}

/// The connected role must be a superuser on a primary (not a standby in recovery).
pub async fn check_role(pg: &PgClient) -> anyhow::Result<()> {
    let (superuser, in_recovery): (bool, bool) = {
        let r = pg
            .client
            .query_one(
                "SELECT rolsuper, pg_is_in_recovery() FROM pg_roles WHERE rolname = current_user",
                &[],
            )
            .await
            .context("replica-setup primary: checking our role")?;
        (r.try_get(0)?, r.try_get(1)?)
    };
    if !superuser {
        bail!("replica-setup primary: {} is not a superuser (ALTER SYSTEM, roles and pg_hba.conf need one); nothing was changed\nhint: connect as postgres, e.g. --pg postgres://postgres@/postgres?host=/var/run/postgresql", pg.options.user());
    }
    if in_recovery {
        bail!("replica-setup primary: {} is a standby (in recovery); nothing was changed\nhint: point --pg at the primary", pg.options.display_url());
    }
    Ok(())
}

impl Plan {
    /// The changes, one line each, as the confirmation and the plan section show them.
    pub fn lines(&self, req: &Request) -> Vec<String> {
        self.changes
            .iter()
            .map(|c| describe(c, req, self))
            .collect()
    }

    /// Nothing to apply: a check opsbook cannot fix stopped it, or nothing needs changing.
    pub fn stops_here(&self) -> bool {
        self.blocked || self.changes.is_empty()
    }

    /// A role is created or gets a new password: it has to be written or shown somewhere.
    pub fn needs_password(&self) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, Change::CreateRole | Change::Password(_)))
    }
}

/// The report of a run that changes nothing: a dry run, stopped at the checks, or nothing to
/// change. `lines` are [`Plan::lines`].
pub fn plan_report(mut report: Report, req: &Request, plan: Plan, lines: &[String]) -> Report {
    let next = next_finding(req, &plan);
    report.extend(plan.checks.into_iter().map(|c| c.finding));
    let summary = if plan.blocked {
        "stopped at the checks above: nothing was changed".to_string()
    } else if plan.changes.is_empty() {
        format!(
            "nothing to change: this primary is ready for a standby at {}",
            req.standby_addr
        )
    } else {
        format!(
            "dry run: {} change(s) planned; nothing was changed",
            lines.len()
        )
    };
    report.push(Finding::ok("replica_setup.plan", summary));
    if !plan.blocked {
        report.push(next);
    }
    if !lines.is_empty() {
        report.sections.push(plan_section(lines));
    }
    report
}

/// Apply the plan (confirmed by the caller) and report: the pre-flight findings the plan fixed
/// become "done", then each step's finding; a failed step ends it with a critical
/// `replica_setup.plan` finding saying where it stopped.
pub async fn apply_and_report(
    mut report: Report,
    req: &Request,
    ctx: &Ctx,
    pg: &PgClient,
    plan: Plan,
    lines: &[String],
) -> Report {
    let next = next_finding(req, &plan);
    let mut pg_now: Option<PgClient> = None;
    let applied = apply::apply(req, ctx, pg, &plan, &mut report, &mut pg_now).await;
    // The pre-flight findings the plan fixed are done now (or the error says where it stopped).
    let mut checks: Vec<Finding> = plan
        .checks
        .into_iter()
        .map(|c| {
            let mut f = c.finding;
            if c.fixed_by_plan && applied.is_ok() {
                f.status = Status::Ok;
                f.summary = format!("done: {}", f.summary.replace("will ", ""));
            }
            f
        })
        .collect();
    checks.append(&mut report.findings);
    report.findings = Vec::new();
    report.extend(checks);
    report.sections.push(plan_section(lines));
    match applied {
        Ok(()) => {
            report.push(next);
            report
        }
        Err(e) => {
            report.push(Finding::new(
                "replica_setup.plan",
                Status::Critical,
                one_line(&e),
            ));
            report
        }
    }
}
