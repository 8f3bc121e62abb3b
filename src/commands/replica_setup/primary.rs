//! `replica-setup primary`: pre-flight checks (each a finding), the plan, confirmation, then
//! idempotent changes: ALTER SYSTEM, a SCRAM replication role, one pg_hba.conf line, a
//! physical slot, pg_reload_conf(), and a restart only when asked. The steps are
//! `replication::primary`; this file is the arguments and the confirmation.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::context::Ctx;
use crate::replication::{self, primary};
use crate::report::Report;

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "replica-setup primary",
    page: "commands/replica-setup.md",
    ids: &[
        "replica_setup.wal_level",
        "replica_setup.max_wal_senders",
        "replica_setup.max_replication_slots",
        "replica_setup.hot_standby",
        "replica_setup.listen_addresses",
        "replica_setup.archive",
        "replica_setup.rewind",
        "replica_setup.role",
        "replica_setup.hba",
        "replica_setup.slot",
        "replica_setup.reload",
        "replica_setup.restart",
        "replica_setup.plan",
        "replica_setup.next",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!("{}{}{}", "Examples:\n  opsbook replica-setup primary --standby-addr 10.0.1.7 --dry-run\n  opsbook replica-setup primary --standby-addr 10.0.1.7 --password-file /root/replicator.pw\n  opsbook replica-setup primary --standby-addr 10.0.1.7 --password-file /root/replicator.pw --restart --yes\n\n\
Run it on the primary's own host (it edits the file `SHOW hba_file` names), connected as a superuser. \
Checks: wal_level, max_wal_senders (two free), max_replication_slots, hot_standby, listen_addresses \
(reachable from ADDR), archiving, data checksums / wal_log_hints (pg_rewind). Changes, each only when \
needed: ALTER SYSTEM, role <user> LOGIN REPLICATION with a generated SCRAM password, the pg_hba.conf line \
`host replication <user> ADDR/32 scram-sha-256` (dated copy kept), a physical slot, pg_reload_conf(). A \
second run changes nothing.\n\n\
", FINDING_IDS.help(), "\n\
Exit status: 0 OK, 1 WARNING (a restart is still needed; or in a dry run: changes to make), 2 CRITICAL \
(a check that opsbook cannot fix), 3 UNKNOWN (usage, not confirmed, not a superuser). See commands/replica-setup.md.")
}

/// Check and prepare this primary for a standby at ADDR (settings, role, pg_hba.conf, slot)
#[derive(Debug, Args)]
pub struct PrimaryArgs {
    /// The standby's IP address, as the primary sees its connections
    #[arg(long, value_name = "ADDR")]
    pub standby_addr: IpAddr,

    /// The replication role
    #[arg(long, value_name = "ROLE", default_value = replication::DEFAULT_USER, value_parser = replication::parse_role)]
    pub user: String,

    /// The physical replication slot (default: standby_<ADDR with _>)
    #[arg(long, value_name = "NAME", value_parser = replication::parse_slot)]
    pub slot: Option<String>,

    /// Write a newly generated password here (0600); without it the password is shown once on the terminal
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Give an existing role a new generated password
    #[arg(long)]
    pub rotate_password: bool,

    /// Restart the server when a changed setting needs it (pg_ctl, or systemctl for a systemd unit)
    #[arg(long)]
    pub restart: bool,

    /// Go ahead without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,

    /// Run the checks and print the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

impl PrimaryArgs {
    fn request(&self) -> primary::Request {
        primary::Request {
            standby_addr: self.standby_addr,
            user: self.user.clone(),
            slot: self.slot.clone(),
            password_file: self.password_file.clone(),
            rotate_password: self.rotate_password,
            restart: self.restart,
        }
    }
}

pub async fn run(args: &PrimaryArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let report = Report::new("replica-setup primary");
    let req = args.request();
    let pg = ctx.pg().await?;
    let address = crate::ha::addr::normal(pg.options.host(), pg.options.port());
    if let Some(m) = crate::ha::managed::detect(&ctx.config.targets, &address, Some(pg)).await? {
        bail!(
            "{}",
            super::patroni_refusal("replica-setup primary", &address, &m)
        );
    }
    primary::check_role(pg).await?;
    let plan = primary::preflight(&req, pg).await?;
    let lines = plan.lines(&req);
    if args.dry_run || plan.stops_here() {
        return Ok(primary::plan_report(report, &req, plan, &lines));
    }
    if plan.needs_password() && req.password_file.is_none() && !crate::confirm::interactive() {
        bail!("replica-setup primary: the role needs a new password and there is no terminal to show it on; nothing was changed\nhint: pass --password-file FILE (written 0600), then copy it to the standby");
    }
    let action = format!("prepare this primary for a standby at {}", req.standby_addr);
    crate::confirm::typed(&action, &lines, &req.standby_addr.to_string(), args.yes)?;
    Ok(primary::apply_and_report(report, &req, ctx, pg, plan, &lines).await)
}
