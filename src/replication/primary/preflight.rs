//! The pre-flight of `replica-setup primary`: every check a finding, and for each problem
//! opsbook can fix the change that fixes it (the plan). Reads only; changes nothing.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context as _};

use super::settings::{get, num, on, settings};
use super::{Change, Check, Plan, Request};
use crate::clients::postgres::PgClient;
use crate::replication::{self, hba};
use crate::report::{Finding, Status};

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

pub async fn preflight(req: &Request, pg: &PgClient) -> anyhow::Result<Plan> {
    let addr = req.standby_addr;
    let slot = req
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
            &[&req.user],
        )
        .await
        .context("replica-setup primary: looking up the role (pg_authid needs a superuser)")?;
    let user = &req.user;
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
            } else if req.rotate_password {
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
