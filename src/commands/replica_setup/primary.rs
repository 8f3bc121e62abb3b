//! `replica-setup primary`: pre-flight checks (each a finding), the plan, confirmation, then
//! idempotent changes: ALTER SYSTEM, a SCRAM replication role, one pg_hba.conf line, a
//! physical slot, pg_reload_conf(), and a restart only when asked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;

use crate::clients::postgres::PgClient;
use crate::clients::postgres::{quote_ident, quote_literal};
use crate::clients::tools;
use crate::context::Ctx;
use crate::replication::{self, hba, pg_ctl};
use crate::report::{one_line, Finding, Report, Section, Status};

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

/// Settings read; `configured` is what postgresql.auto.conf / postgresql.conf say now, which
/// differs from `setting` while a restart is pending.
struct Setting {
    setting: String,
    configured: String,
}

const SETTINGS: &[&str] = &[
    "wal_level",
    "max_wal_senders",
    "max_replication_slots",
    "hot_standby",
    "listen_addresses",
    "archive_mode",
    "archive_command",
    "archive_library",
    "data_checksums",
    "wal_log_hints",
    "hba_file",
    "data_directory",
    "port",
];

async fn settings(pg: &PgClient) -> anyhow::Result<HashMap<String, Setting>> {
    let names: Vec<&str> = SETTINGS.to_vec();
    let mut out = HashMap::new();
    for r in pg
        .client
        .query(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
            &[&names],
        )
        .await
        .context("replica-setup primary: reading pg_settings")?
    {
        let (n, s): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        out.insert(
            n,
            Setting {
                configured: s.clone(),
                setting: s,
            },
        );
    }
    // The last valid line for each name wins, as at the next restart.
    for r in pg
        .client
        .query(
            "SELECT DISTINCT ON (name) name, setting FROM pg_file_settings \
             WHERE error IS NULL AND name = ANY($1) ORDER BY name, seqno DESC",
            &[&names],
        )
        .await
        .context("replica-setup primary: reading pg_file_settings")?
    {
        let (n, s): (String, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
        if let (Some(st), Some(s)) = (out.get_mut(&n), s) {
            st.configured = s;
        }
    }
    Ok(out)
}

fn get<'a>(s: &'a HashMap<String, Setting>, name: &str) -> (&'a str, &'a str) {
    s.get(name)
        .map(|v| (v.setting.as_str(), v.configured.as_str()))
        .unwrap_or(("", ""))
}

fn num(v: &str) -> i64 {
    v.trim().parse().unwrap_or(0)
}

fn on(v: &str) -> bool {
    matches!(v.trim(), "on" | "true" | "1" | "yes")
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

fn ok(id: &str, summary: String) -> Check {
    Check {
        finding: Finding::ok(id, summary),
        fixed_by_plan: false,
    }
}

fn will(id: &str, summary: String) -> Check {
    Check {
        finding: Finding::new(id, Status::Warning, summary),
        fixed_by_plan: true,
    }
}

/// Does `listen_addresses` cover `local` (the address the standby's packets arrive on)?
fn listens_on(listen: &str, local: IpAddr) -> bool {
    listen.split(',').map(str::trim).any(|a| match a {
        "*" => true,
        "0.0.0.0" => local.is_ipv4(),
        "::" => local.is_ipv6(),
        "localhost" => local.is_loopback(),
        other => match other.parse::<IpAddr>() {
            Ok(ip) => ip == local,
            Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(other, 0))
                .map(|mut it| it.any(|sa| sa.ip() == local))
                .unwrap_or(false),
        },
    })
}

struct Plan {
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

async fn preflight(args: &PrimaryArgs, pg: &PgClient) -> anyhow::Result<Plan> {
    let addr = args.standby_addr;
    let slot = args
        .slot
        .clone()
        .unwrap_or_else(|| replication::default_slot(&addr));
    let s = settings(pg).await?;
    let mut checks = Vec::new();
    let mut changes = Vec::new();
    let mut blocked = false;

    // wal_level
    let (eff, conf) = get(&s, "wal_level");
    if eff != "minimal" {
        checks.push(ok("replica_setup.wal_level", format!("wal_level is {eff}")));
    } else if conf != "minimal" {
        checks.push(will(
            "replica_setup.wal_level",
            format!("wal_level is minimal, set to {conf}: takes effect at the restart"),
        ));
    } else {
        checks.push(will(
            "replica_setup.wal_level",
            "wal_level is minimal: will set replica (restart)".into(),
        ));
        changes.push(Change::Set {
            name: "wal_level",
            from: eff.into(),
            to: "replica".into(),
            restart: true,
        });
    }

    // max_wal_senders: one for the standby, one more for pg_basebackup -X stream.
    let used: i64 = pg
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'",
            &[],
        )
        .await
        .context("replica-setup primary: counting WAL senders")?
        .try_get(0)?;
    let (eff, conf) = get(&s, "max_wal_senders");
    let (eff_n, conf_n) = (num(eff), num(conf));
    if eff_n - used >= 2 {
        checks.push(ok(
            "replica_setup.max_wal_senders",
            format!(
                "max_wal_senders {eff_n}, {used} in use: {} free",
                eff_n - used
            ),
        ));
    } else if conf_n - used >= 2 {
        checks.push(will("replica_setup.max_wal_senders", format!("max_wal_senders {eff_n} ({used} in use), set to {conf_n}: takes effect at the restart")));
    } else {
        let to = (used + 2).max(eff_n + 1);
        checks.push(will("replica_setup.max_wal_senders", format!("max_wal_senders {eff_n} with {used} in use leaves fewer than 2 free: will set {to} (restart)")));
        changes.push(Change::Set {
            name: "max_wal_senders",
            from: eff.into(),
            to: to.to_string(),
            restart: true,
        });
    }

    // the slot and max_replication_slots
    let slot_row = pg
        .client
        .query_opt(
            "SELECT slot_type FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .context("replica-setup primary: looking up the slot")?;
    let slots: i64 = pg
        .client
        .query_one("SELECT count(*) FROM pg_replication_slots", &[])
        .await
        .context("replica-setup primary: counting replication slots")?
        .try_get(0)?;
    let slot_exists = match slot_row {
        Some(r) => {
            let kind: String = r.try_get(0)?;
            if kind != "physical" {
                bail!("replica-setup primary: slot {slot} exists and is a {kind} slot, not a physical one; nothing was changed\nhint: pick another name with --slot");
            }
            true
        }
        None => false,
    };
    let need = if slot_exists { 0 } else { 1 };
    let (eff, conf) = get(&s, "max_replication_slots");
    let (eff_n, conf_n) = (num(eff), num(conf));
    if eff_n - slots >= need {
        checks.push(ok(
            "replica_setup.max_replication_slots",
            format!("max_replication_slots {eff_n}, {slots} in use"),
        ));
    } else if conf_n - slots >= need {
        checks.push(will("replica_setup.max_replication_slots", format!("max_replication_slots {eff_n} ({slots} in use), set to {conf_n}: takes effect at the restart")));
    } else {
        let to = (slots + 1).max(eff_n + 1);
        checks.push(will(
            "replica_setup.max_replication_slots",
            format!(
                "max_replication_slots {eff_n} is full ({slots} in use): will set {to} (restart)"
            ),
        ));
        changes.push(Change::Set {
            name: "max_replication_slots",
            from: eff.into(),
            to: to.to_string(),
            restart: true,
        });
    }

    // hot_standby matters on the standby, which inherits postgresql.auto.conf via pg_basebackup.
    let (eff, conf) = get(&s, "hot_standby");
    if on(conf) {
        checks.push(ok(
            "replica_setup.hot_standby",
            "hot_standby is on (the standby inherits it and answers read-only queries)".into(),
        ));
    } else {
        checks.push(will(
            "replica_setup.hot_standby",
            "hot_standby is off: will set on, so the standby answers read-only queries".into(),
        ));
        changes.push(Change::Set {
            name: "hot_standby",
            from: eff.into(),
            to: "on".into(),
            restart: false,
        });
    }

    // listen_addresses must include the address the standby's packets arrive on.
    let local = replication::route_source(addr);
    let (eff, conf) = get(&s, "listen_addresses");
    match local {
        None => {
            checks.push(Check {
                finding: Finding::new("replica_setup.listen_addresses", Status::Critical, format!("no route from this host to {addr}")),
                fixed_by_plan: false,
            });
            blocked = true;
        }
        Some(l) if listens_on(eff, l) => checks.push(ok("replica_setup.listen_addresses", format!("listen_addresses '{eff}' covers {l}, the address {addr} connects to"))),
        Some(l) if listens_on(conf, l) => checks.push(will("replica_setup.listen_addresses", format!("listen_addresses '{eff}', set to '{conf}' which covers {l}: takes effect at the restart"))),
        Some(l) => {
            let to = if eff.trim().is_empty() { l.to_string() } else { format!("{eff},{l}") };
            checks.push(will("replica_setup.listen_addresses", format!("listen_addresses '{eff}' does not cover {l}, the address {addr} connects to: will set '{to}' (restart)")));
            changes.push(Change::Set { name: "listen_addresses", from: eff.into(), to, restart: true });
        }
    }

    // archiving: reported, not changed.
    let (mode, _) = get(&s, "archive_mode");
    let (cmd, _) = get(&s, "archive_command");
    let (lib, _) = get(&s, "archive_library");
    if mode == "off" {
        checks.push(ok("replica_setup.archive", "archive_mode is off: the standby relies on its slot to get every WAL segment (no archive for point-in-time recovery)".into()));
    } else if cmd.trim().is_empty() && lib.trim().is_empty() {
        checks.push(Check {
            finding: Finding::new("replica_setup.archive", Status::Warning, format!("archive_mode is {mode} but no archive_command or archive_library is set: WAL accumulates in pg_wal"))
                .hint("set an archive_command, or archive_mode = off"),
            fixed_by_plan: false,
        });
    } else {
        checks.push(ok(
            "replica_setup.archive",
            format!("archive_mode is {mode} with an archiver configured"),
        ));
    }

    // pg_rewind (re-attaching an old primary after a failover) needs one of these.
    let (sums, _) = get(&s, "data_checksums");
    let (eff, conf) = get(&s, "wal_log_hints");
    if on(sums) {
        checks.push(ok(
            "replica_setup.rewind",
            "data checksums are on: pg_rewind can re-attach an old primary".into(),
        ));
    } else if on(eff) {
        checks.push(ok(
            "replica_setup.rewind",
            "wal_log_hints is on: pg_rewind can re-attach an old primary".into(),
        ));
    } else if on(conf) {
        checks.push(will(
            "replica_setup.rewind",
            "wal_log_hints is set to on: takes effect at the restart (pg_rewind needs it)".into(),
        ));
    } else {
        checks.push(will("replica_setup.rewind", "no data checksums and wal_log_hints off, so pg_rewind could not re-attach an old primary: will set wal_log_hints = on (restart)".into()));
        changes.push(Change::Set {
            name: "wal_log_hints",
            from: eff.into(),
            to: "on".into(),
            restart: true,
        });
    }

    // the role
    let role = pg
        .client
        .query_opt(
            "SELECT rolcanlogin, rolreplication, coalesce(rolpassword LIKE 'SCRAM-SHA-256$%', false) \
             FROM pg_authid WHERE rolname = $1",
            &[&args.user],
        )
        .await
        .context("replica-setup primary: looking up the role (pg_authid needs a superuser)")?;
    let user = &args.user;
    match role {
        None => {
            checks.push(will("replica_setup.role", format!("role {user} does not exist: will create it (LOGIN REPLICATION, generated SCRAM password)")));
            changes.push(Change::CreateRole);
        }
        Some(r) => {
            let (login, repl, scram): (bool, bool, bool) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let mut parts = Vec::new();
            if !(login && repl) {
                parts.push("will grant LOGIN REPLICATION".to_string());
                changes.push(Change::RoleAttrs);
            }
            if !scram {
                parts.push("has no SCRAM password (a scram-sha-256 line cannot check md5 or none): will set a generated one".into());
                changes.push(Change::Password("it has no SCRAM password".into()));
            } else if args.rotate_password {
                parts.push("will get a new generated password (--rotate-password)".into());
                changes.push(Change::Password("--rotate-password".into()));
            }
            if parts.is_empty() {
                checks.push(ok(
                    "replica_setup.role",
                    format!(
                        "role {user} exists with LOGIN REPLICATION and a SCRAM password (kept)"
                    ),
                ));
            } else {
                checks.push(will(
                    "replica_setup.role",
                    format!("role {user} exists: {}", parts.join("; ")),
                ));
            }
        }
    }

    // pg_hba.conf: the file must be the server's, read here.
    let (hba_file, _) = get(&s, "hba_file");
    let hba_path = PathBuf::from(hba_file);
    let server_text: String = pg
        .client
        .query_one("SELECT pg_read_file(current_setting('hba_file'))", &[])
        .await
        .context("replica-setup primary: reading pg_hba.conf through the server")?
        .try_get(0)?;
    let hba_text = match std::fs::read_to_string(&hba_path) {
        Ok(t) if t == server_text => t,
        Ok(_) => bail!("replica-setup primary: {} on this host is not the file the server reads; nothing was changed\nhint: run replica-setup primary on the primary's own host", hba_path.display()),
        Err(e) => bail!("replica-setup primary: cannot read {} here ({e}); nothing was changed\nhint: run it on the primary's own host as root or the postgres user", hba_path.display()),
    };
    let rules = hba::rules(pg).await?;
    if let Some(bad) = rules.iter().find(|r| r.error.is_some()) {
        checks.push(Check {
            finding: Finding::new(
                "replica_setup.hba",
                Status::Critical,
                format!(
                    "{} line {} has an error: {}",
                    hba_path.display(),
                    bad.line,
                    bad.error.clone().unwrap_or_default()
                ),
            )
            .hint("fix that line first: the server would refuse to reload the file"),
            fixed_by_plan: false,
        });
        blocked = true;
    } else {
        let line = hba::line_for(user, addr);
        match hba::need(&rules, user, addr) {
            hba::Need::Present { line: n } => checks.push(ok(
                "replica_setup.hba",
                format!("{} line {n} already reads `{line}`", hba_path.display()),
            )),
            hba::Need::Rejected { rule } => {
                checks.push(Check {
                    finding: Finding::new("replica_setup.hba", Status::Critical, format!("{} line {} rejects replication from {addr} on purpose", hba_path.display(), rule.line))
                        .hint("that is a policy decision: change that line yourself if the standby is welcome"),
                    fixed_by_plan: false,
                });
                blocked = true;
            }
            hba::Need::Insert { before } => {
                let at = match &before {
                    Some(r) => format!(
                        "before line {} (which would otherwise decide, with {})",
                        r.line,
                        r.method.clone().unwrap_or_default()
                    ),
                    None => "at the end".into(),
                };
                checks.push(will(
                    "replica_setup.hba",
                    format!("will add `{line}` to {} {at}", hba_path.display()),
                ));
                changes.push(Change::Hba(before));
            }
        }
    }

    if slot_exists {
        checks.push(ok(
            "replica_setup.slot",
            format!("physical slot {slot} exists"),
        ));
    } else {
        checks.push(will(
            "replica_setup.slot",
            format!("will create the physical slot {slot} (reserving WAL from now on)"),
        ));
        changes.push(Change::Slot);
    }

    let (port, _) = get(&s, "port");
    let (data_directory, _) = get(&s, "data_directory");
    Ok(Plan {
        checks,
        changes,
        blocked,
        hba_path,
        hba_text,
        slot,
        port: port.to_string(),
        data_directory: PathBuf::from(data_directory),
        primary_host: local.unwrap_or(addr),
    })
}

fn describe(c: &Change, args: &PrimaryArgs, plan: &Plan) -> String {
    let user = &args.user;
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
            password_dest(args)
        ),
        Change::RoleAttrs => format!("ALTER ROLE {} LOGIN REPLICATION", quote_ident(user)),
        Change::Password(why) => format!(
            "ALTER ROLE {} PASSWORD <generated> ({why}){}",
            quote_ident(user),
            password_dest(args)
        ),
        Change::Hba(before) => format!(
            "add `{}` to {} {} (a dated copy is kept; validated with pg_hba_file_rules)",
            hba::line_for(user, args.standby_addr),
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

fn password_dest(args: &PrimaryArgs) -> String {
    match &args.password_file {
        Some(p) => format!(", written to {} (0600)", p.display()),
        None => ", shown once on this terminal".into(),
    }
}

fn standby_command(args: &PrimaryArgs, plan: &Plan) -> String {
    let host = match plan.primary_host {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    let mut cmd = format!(
        "opsbook replica-setup standby --primary {host}:{} --data-dir {} --slot {} --user {}",
        plan.port,
        plan.data_directory.display(),
        plan.slot,
        args.user
    );
    if let Some(p) = &args.password_file {
        cmd.push_str(&format!(" --password-file {}", p.display()));
    }
    if args.standby_addr.is_loopback() {
        cmd.push_str(" --port <a free port>");
    }
    cmd.push_str(" --start");
    cmd
}

fn plan_section(lines: &[String]) -> Section {
    Section {
        title: "The plan".into(),
        columns: vec!["#".into(), "CHANGE".into()],
        rows: lines
            .iter()
            .enumerate()
            .map(|(i, s)| vec![(i + 1).to_string(), s.clone()])
            .collect(),
    }
}

pub async fn run(args: &PrimaryArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let mut report = Report::new("replica-setup primary");
    let pg = ctx.pg().await?;
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
    let plan = preflight(args, pg).await?;
    let lines: Vec<String> = plan
        .changes
        .iter()
        .map(|c| describe(c, args, &plan))
        .collect();
    let needs_password = plan
        .changes
        .iter()
        .any(|c| matches!(c, Change::CreateRole | Change::Password(_)));
    let next = standby_command(args, &plan);

    if args.dry_run || plan.blocked || plan.changes.is_empty() {
        report.extend(plan.checks.into_iter().map(|c| c.finding));
        let summary = if plan.blocked {
            "stopped at the checks above: nothing was changed".to_string()
        } else if plan.changes.is_empty() {
            format!(
                "nothing to change: this primary is ready for a standby at {}",
                args.standby_addr
            )
        } else {
            format!(
                "dry run: {} change(s) planned; nothing was changed",
                lines.len()
            )
        };
        report.push(Finding::ok("replica_setup.plan", summary));
        if !plan.blocked {
            report.push(Finding::ok(
                "replica_setup.next",
                format!("on {}: {next}", args.standby_addr),
            ));
        }
        if !lines.is_empty() {
            report.sections.push(plan_section(&lines));
        }
        return Ok(report);
    }
    if needs_password && args.password_file.is_none() && !crate::confirm::interactive() {
        bail!("replica-setup primary: the role needs a new password and there is no terminal to show it on; nothing was changed\nhint: pass --password-file FILE (written 0600), then copy it to the standby");
    }
    let action = format!(
        "prepare this primary for a standby at {}",
        args.standby_addr
    );
    crate::confirm::typed(&action, &lines, &args.standby_addr.to_string(), args.yes)?;

    let mut pg_now: Option<PgClient> = None;
    let applied = apply(args, ctx, pg, &plan, &mut report, &mut pg_now).await;
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
    report.sections.push(plan_section(&lines));
    match applied {
        Ok(()) => {
            report.push(Finding::ok(
                "replica_setup.next",
                format!("on {}: {next}", args.standby_addr),
            ));
            Ok(report)
        }
        Err(e) => {
            report.push(Finding::new(
                "replica_setup.plan",
                Status::Critical,
                one_line(&e),
            ));
            Ok(report)
        }
    }
}

async fn apply(
    args: &PrimaryArgs,
    ctx: &Ctx,
    pg: &PgClient,
    plan: &Plan,
    report: &mut Report,
    reconnected: &mut Option<PgClient>,
) -> anyhow::Result<()> {
    let user = &args.user;
    for c in &plan.changes {
        if let Change::Set { name, to, .. } = c {
            pg.client
                .batch_execute(&format!("ALTER SYSTEM SET {name} = {}", quote_literal(to)))
                .await
                .with_context(|| format!("ALTER SYSTEM SET {name} = '{to}'"))?;
        }
    }
    let password_change = plan
        .changes
        .iter()
        .find(|c| matches!(c, Change::CreateRole | Change::Password(_)));
    if plan.changes.iter().any(|c| matches!(c, Change::RoleAttrs)) {
        pg.client
            .batch_execute(&format!(
                "ALTER ROLE {} LOGIN REPLICATION",
                quote_ident(user)
            ))
            .await
            .with_context(|| format!("granting LOGIN REPLICATION to {user}"))?;
    }
    let mut shown: Option<String> = None;
    if let Some(c) = password_change {
        let password = replication::generate_password()?;
        // Kept first: a password the server knows but nobody has would lock the standby out.
        if let Some(f) = &args.password_file {
            replication::write_password_file(f, &password)?;
        } else {
            shown = Some(password.clone());
        }
        let verifier = quote_literal(&replication::scram_verifier(&password));
        let sql = match c {
            Change::CreateRole => format!(
                "CREATE ROLE {} LOGIN REPLICATION PASSWORD {verifier}",
                quote_ident(user)
            ),
            _ => format!("ALTER ROLE {} PASSWORD {verifier}", quote_ident(user)),
        };
        pg.client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("setting the password of role {user}"))?;
        report.push(
            Finding::ok(
                "replica_setup.role",
                format!(
                    "role {user} {} with a generated SCRAM password{}",
                    if matches!(c, Change::CreateRole) {
                        "created"
                    } else {
                        "updated"
                    },
                    match &args.password_file {
                        Some(p) => format!(", written to {} (0600)", p.display()),
                        None => ", shown once on the terminal (stderr)".into(),
                    }
                ),
            )
            .hint(format!("undo: DROP ROLE {}", quote_ident(user))),
        );
    }
    if let Some(pw) = shown {
        eprintln!("The password of {user} (shown once, stored nowhere by opsbook): {pw}");
    }

    if let Some(Change::Hba(before)) = plan.changes.iter().find(|c| matches!(c, Change::Hba(_))) {
        let stamp = replication::stamp();
        let lines = vec![
            format!(
                "# added by opsbook replica-setup primary {stamp}: streaming replication from {}",
                args.standby_addr
            ),
            hba::line_for(user, args.standby_addr),
        ];
        let text = hba::insert(
            &plan.hba_text,
            before.as_ref().map(|r| r.line as usize),
            &lines,
        );
        let copy = hba::rewrite(&plan.hba_path, &text, &stamp)?;
        let verified = async {
            let rules = hba::rules(pg).await?;
            if let Some(bad) = rules.iter().find(|r| r.error.is_some()) {
                bail!(
                    "line {}: {}",
                    bad.line,
                    bad.error.clone().unwrap_or_default()
                );
            }
            match hba::need(&rules, user, args.standby_addr) {
                hba::Need::Present { line } => Ok(line),
                other => bail!("the new line does not decide the standby's connection ({other:?})"),
            }
        }
        .await;
        match verified {
            Ok(line) => report.push(
                Finding::ok(
                    "replica_setup.hba",
                    format!("{} line {line}: `{}`", plan.hba_path.display(), hba::line_for(user, args.standby_addr)),
                )
                .hint(format!("undo: delete the line (the old file is kept as {}), then SELECT pg_reload_conf()", copy.display())),
            ),
            Err(e) => {
                hba::restore(&plan.hba_path, &copy)?;
                return Err(e.context(format!(
                    "validating the new {} (put back as it was; not reloaded)",
                    plan.hba_path.display()
                )));
            }
        }
    }

    pg.client
        .query_one("SELECT pg_reload_conf()", &[])
        .await
        .context("SELECT pg_reload_conf()")?;
    report.push(Finding::ok(
        "replica_setup.reload",
        "configuration reloaded (pg_reload_conf)",
    ));

    // hot_standby only matters on the standby; a pending change of it does not need this restart.
    let pending: Vec<String> = {
        // pending_restart is computed at reload; give the postmaster a moment to re-read.
        let mut found = Vec::new();
        for _ in 0..20 {
            found = pg
                .client
                .query("SELECT name FROM pg_settings WHERE pending_restart AND name <> 'hot_standby' ORDER BY 1", &[])
                .await
                .context("reading pending_restart")?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<Vec<String>, _>>()?;
            let expected = plan
                .changes
                .iter()
                .any(|c| matches!(c, Change::Set { restart: true, .. }));
            if !found.is_empty() || !expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        found
    };
    let live: &PgClient = if pending.is_empty() {
        report.push(Finding::ok("replica_setup.restart", "no restart needed"));
        pg
    } else if args.restart {
        let t = Instant::now();
        restart_server(pg, &plan.data_directory).await?;
        *reconnected = Some(reconnect(ctx).await?);
        report.push(
            Finding::ok(
                "replica_setup.restart",
                format!(
                    "restarted for {} in {:.1} s",
                    pending.join(", "),
                    t.elapsed().as_secs_f64()
                ),
            )
            .value(t.elapsed().as_millis() as u64, "ms"),
        );
        reconnected.as_ref().unwrap_or(pg)
    } else {
        report.push(
            Finding::new(
                "replica_setup.restart",
                Status::Warning,
                format!("a restart is still needed for {} (pending_restart)", pending.join(", ")),
            )
            .hint("restart PostgreSQL when it suits you (systemctl restart postgresql, or run again with --restart)"),
        );
        pg
    };

    if plan.changes.iter().any(|c| matches!(c, Change::Slot)) {
        let can: bool = live
            .client
            .query_one(
                "SELECT current_setting('wal_level') <> 'minimal' AND \
                 current_setting('max_replication_slots')::int > (SELECT count(*) FROM pg_replication_slots)",
                &[],
            )
            .await
            .context("checking that a slot can be created")?
            .try_get(0)?;
        if can {
            live.client
                .query_one(
                    "SELECT pg_create_physical_replication_slot($1, true)",
                    &[&plan.slot],
                )
                .await
                .with_context(|| format!("creating the replication slot {}", plan.slot))?;
            report.push(
                Finding::ok(
                    "replica_setup.slot",
                    format!(
                        "physical slot {} created; it keeps WAL until its standby has it",
                        plan.slot
                    ),
                )
                .hint(format!(
                    "undo: SELECT pg_drop_replication_slot({}) (an unused slot fills the disk)",
                    quote_literal(&plan.slot)
                )),
            );
        } else {
            report.push(
                Finding::new("replica_setup.slot", Status::Warning, format!("slot {} not created yet: wal_level / max_replication_slots take effect at the restart", plan.slot))
                    .hint("restart, then run this command again (it only does what is missing)"),
            );
        }
    }
    Ok(())
}

/// Restart the way the server is run: its systemd unit if it has one, else pg_ctl as the
/// data directory's owner.
async fn restart_server(pg: &PgClient, data: &Path) -> anyhow::Result<()> {
    let Some(pid) = pg_ctl::running_pid(data) else {
        bail!("restarting: no running postmaster found in {} on this host\nhint: restart it yourself (systemctl restart postgresql)", data.display());
    };
    let major = pg.major();
    let data = data.to_path_buf();
    tokio::task::spawn_blocking(move || match pg_ctl::systemd_unit(pid) {
        Some(unit) => pg_ctl::systemctl_restart(&unit),
        None => {
            let bin = tools::resolve("pg_ctl", major)?;
            if tools::tool_major(&bin) != Some(major) {
                bail!("restarting: pg_ctl of PostgreSQL {major} not found (found {})\nhint: restart the server yourself", bin.display());
            }
            pg_ctl::restart(&bin, &data, 60)
        }
    })
    .await
    .context("the restart thread failed")?
}

async fn reconnect(ctx: &Ctx) -> anyhow::Result<PgClient> {
    let opts = ctx.pg_options()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match PgClient::connect(&opts, ctx.timeouts()).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => {
                return Err(e.context("reconnecting after the restart"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_cover() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let lan: IpAddr = "10.0.1.5".parse().unwrap();
        assert!(listens_on("*", lan));
        assert!(listens_on("localhost", lo));
        assert!(!listens_on("localhost", lan));
        assert!(listens_on("127.0.0.1, 10.0.1.5", lan));
        assert!(!listens_on("127.0.0.1", lan));
        assert!(listens_on("0.0.0.0", lan));
        assert!(!listens_on("::", lan));
    }
}
