//! The changes of `replica-setup primary`, in order: ALTER SYSTEM, the role and its
//! password, the pg_hba.conf line (validated, put back on error), pg_reload_conf(), the
//! restart when asked, and the slot. Each step reports a finding.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::{Change, Plan, Request};
use crate::clients::postgres::PgClient;
use crate::clients::tools;
use crate::context::Ctx;
use crate::replication::{self, hba, pg_ctl};
use crate::report::{Finding, Report, Status};
use crate::sql::{quote_ident, quote_literal};

pub(super) async fn apply(
    req: &Request,
    ctx: &Ctx,
    pg: &PgClient,
    plan: &Plan,
    report: &mut Report,
    reconnected: &mut Option<PgClient>,
) -> anyhow::Result<()> {
    let user = &req.user;
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
        if let Some(f) = &req.password_file {
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
                    match &req.password_file {
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
                req.standby_addr
            ),
            hba::line_for(user, req.standby_addr),
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
            match hba::need(&rules, user, req.standby_addr) {
                hba::Need::Present { line } => Ok(line),
                other => bail!("the new line does not decide the standby's connection ({other:?})"),
            }
        }
        .await;
        match verified {
            Ok(line) => report.push(
                Finding::ok(
                    "replica_setup.hba",
                    format!("{} line {line}: `{}`", plan.hba_path.display(), hba::line_for(user, req.standby_addr)),
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
    } else if req.restart {
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
            .value_f64(
                (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
                "seconds",
            ),
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
