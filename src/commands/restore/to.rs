//! `restore --to TIME|--to-lsn|--to-xid|--to-name` and `restore --rehearse`: point-in-time
//! recovery of the pgBackRest stanza into a new data directory (`crate::pitr::recover`),
//! then, on the operator's word, promote it beside the live cluster, hand its directory back
//! stopped, or (a rehearsal) measure and remove it. The live cluster is never touched.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;

use super::RestoreArgs;
use crate::context::Ctx;
use crate::pitr::recover::{self, Recovered, Target};
use crate::pitr::{pgbackrest, Stanza};
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Report, Status};

/// The recovery target the flags name; `--rehearse` alone recovers the newest backup.
pub fn target(args: &RestoreArgs) -> Option<Target> {
    let t = &args.pitr;
    if let Some(v) = &t.to {
        Some(Target::Time(v.clone()))
    } else if let Some(v) = &t.to_lsn {
        Some(Target::Lsn(v.clone()))
    } else if let Some(v) = &t.to_xid {
        Some(Target::Xid(v.clone()))
    } else if let Some(v) = &t.to_name {
        Some(Target::Name(v.clone()))
    } else if t.rehearse {
        Some(Target::Immediate)
    } else {
        None
    }
}

/// pg1-path of the stanza's config file: new directories go beside it.
fn pg1_path(stanza: &Stanza) -> anyhow::Result<PathBuf> {
    let text = crate::bounded_read::read_text(&stanza.conf, "the pgBackRest config", 1 << 20)
        .map_err(|e| anyhow::anyhow!("restore --to: reading {}: {e:#}\nhint: run `opsbook pitr setup` first, or pass --pgbackrest-config", stanza.conf.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("pg1-path="))
        .map(|p| PathBuf::from(p.trim()))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "restore --to: {} names no pg1-path\nhint: run `opsbook pitr setup` again",
                stanza.conf.display()
            )
        })
}

fn new_dir(args: &RestoreArgs, stanza: &Stanza) -> anyhow::Result<PathBuf> {
    if let Some(d) = &args.pitr.data_dir {
        return Ok(d.clone());
    }
    let live = pg1_path(stanza)?;
    let stamp = crate::timefmt::backup_stamp(std::time::SystemTime::now());
    let name = live
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".to_string());
    let kind = if args.pitr.rehearse {
        "rehearsal"
    } else {
        "pitr"
    };
    Ok(live
        .parent()
        .unwrap_or(Path::new("/"))
        .join(format!("{name}.{kind}-{stamp}")))
}

fn reached_findings(rec: &Recovered, target: &Target, stanza: &str, from: &str) -> Vec<Finding> {
    let wal = rec
        .wal_replayed
        .map(|b| format!(", {} of WAL replayed", human_bytes(b)))
        .unwrap_or_default();
    let mut target_f = Finding::ok(
        "pitr.target",
        format!(
            "paused at {}: last transaction replayed {}, LSN {}{wal}",
            target.describe(),
            rec.reached_time
                .as_deref()
                .unwrap_or("(none after the backup)"),
            rec.reached_lsn
        ),
    )
    .subject(stanza);
    if let Some(b) = rec.wal_replayed {
        target_f = target_f.value_f64(b, "bytes");
    }
    if let Some(t) = &rec.reached_time {
        target_f = target_f.detail(vec![
            format!("reached={t}"),
            format!("lsn={}", rec.reached_lsn),
        ]);
    }
    vec![
        Finding::ok(
            "pitr.restore",
            format!(
                "stanza {stanza} restored{from} into {} and replayed to its target in {} (pgbackrest restore {})",
                rec.data_dir.display(),
                human_duration(rec.seconds),
                human_duration(rec.restore_seconds)
            ),
        )
        .subject(stanza)
        .value_f64(rec.seconds, "seconds"),
        target_f,
    ]
}

fn where_it_runs(rec: &Recovered) -> Vec<String> {
    vec![
        format!("data_dir={}", rec.data_dir.display()),
        format!("port={}", rec.port),
        format!("socket={}", rec.socket_dir.display()),
        format!(
            "psql -h {} -p {} -U postgres",
            rec.socket_dir.display(),
            rec.port
        ),
    ]
}

/// Into the run history (a failure to record is a warning on stderr, never the drill's error).
fn record(ctx: &Ctx, command: &str, values: std::collections::BTreeMap<String, f64>) {
    crate::state::History::default().record_or_warn(
        &ctx.state_dir(),
        command,
        values,
        crate::state::now_secs(),
    );
}

pub async fn run(args: &RestoreArgs, target: Target, ctx: &Ctx) -> anyhow::Result<Report> {
    let p = &args.pitr;
    if !pgbackrest::installed() {
        bail!(
            "restore --to: pgbackrest is not installed; nothing was changed\n{}",
            pgbackrest::HINT_INSTALL
        );
    }
    if !p.rehearse && !p.promote && !p.hand_back {
        bail!("restore --to: say what happens at the target: --promote (a primary beside the live cluster), --hand-back (stopped, its directory printed) or --rehearse (measured, then removed); nothing was changed");
    }
    if p.promote && !args.yes && !crate::confirm::interactive() {
        bail!("restore --to --promote: refusing without confirmation when not on a terminal; nothing was changed\nhint: pass --yes, or --hand-back to decide later");
    }
    let stanza = p.stanza.resolve(ctx);
    let repo = match &args.remote {
        Some(name) => Some(crate::commands::pitr::repo_for_remote(
            &stanza,
            ctx,
            "restore --to",
            name,
        )?),
        None => None,
    };
    let dir = new_dir(args, &stanza)?;
    recover::check_new_dir(&dir)?;
    let wait = Duration::from_secs(p.wait);
    let mut report = Report::new("restore");
    let (st, t, d) = (stanza.clone(), target.clone(), dir.clone());
    let phase = crate::progress::Phase::start(
        &ctx.output,
        format!(
            "pgbackrest restore into {} and replay to {}",
            dir.display(),
            target.describe()
        ),
    );
    let recovered =
        tokio::task::spawn_blocking(move || recover::recover(&st, &t, &d, wait, repo)).await?;
    phase.finish();
    let id = if p.rehearse {
        "pitr.rehearsal"
    } else {
        "pitr.restore"
    };
    let rec = match recovered {
        Ok(r) => r,
        Err(e) => {
            if p.rehearse {
                record(
                    ctx,
                    crate::pitr::rehearsal::COMMAND_FAILED,
                    crate::pitr::rehearsal::failed(&stanza.name),
                );
            }
            report.push(
                Finding::new(id, Status::Critical, crate::report::one_line(&e))
                    .subject(&stanza.name)
                    .detail(format!("{e:#}").lines().map(str::to_string).collect()),
            );
            return Ok(report);
        }
    };
    let from = match (&args.remote, &repo) {
        (Some(name), Some(n)) => format!(" from repo{n} (remote {name})"),
        _ => String::new(),
    };
    report.extend(reached_findings(&rec, &target, &stanza.name, &from));
    if p.rehearse {
        // The drill's figures for `check morning` (pitr.rehearsal_age).
        record(
            ctx,
            crate::pitr::rehearsal::COMMAND_OK,
            crate::pitr::rehearsal::succeeded(
                &stanza.name,
                rec.seconds,
                rec.reached_unix,
                rec.wal_replayed,
            ),
        );
        let r = rec.clone();
        let gone = tokio::task::spawn_blocking(move || r.discard()).await?;
        report.push(
            match gone {
                Ok(()) => Finding::ok(
                    "pitr.rehearsal",
                    format!(
                        "recovery drill: {} to recover stanza {} to {}; the throwaway directory is removed",
                        human_duration(rec.seconds),
                        stanza.name,
                        target.describe()
                    ),
                ),
                Err(e) => Finding::new("pitr.rehearsal", Status::Warning, format!("recovered in {}, but cleaning up failed: {}", human_duration(rec.seconds), crate::report::one_line(&e))),
            }
            .subject(&stanza.name)
            .value_f64(rec.seconds, "seconds"),
        );
        return Ok(report);
    }
    if p.hand_back {
        let r = rec.clone();
        tokio::task::spawn_blocking(move || r.stop()).await??;
        report.push(
            Finding::ok(
                "pitr.hand_back",
                format!("stopped at the target; the data directory is {}", rec.data_dir.display()),
            )
            .subject(&stanza.name)
            .hint(format!("start it with `pg_ctl -D {} start` as its owner: it pauses at the target again; SELECT pg_wal_replay_resume() promotes it", rec.data_dir.display()))
            .detail(where_it_runs(&rec)),
        );
        return Ok(report);
    }
    let plan = vec![
        format!("reached: {}", report.find("pitr.target").next().map(|f| f.summary.clone()).unwrap_or_default()),
        "SELECT pg_wal_replay_resume(): end recovery here; the copy becomes a primary on a new timeline".to_string(),
        format!("it keeps running beside the live cluster: port {}, socket {}, archive_mode off", rec.port, rec.socket_dir.display()),
    ];
    if let Err(e) = crate::confirm::typed(
        &format!(
            "promote the recovered cluster in {}",
            rec.data_dir.display()
        ),
        &plan,
        "promote",
        args.yes,
    ) {
        let r = rec.clone();
        let _ = tokio::task::spawn_blocking(move || r.stop()).await;
        return Err(e.context(format!(
            "the recovered cluster is stopped at its target in {}",
            rec.data_dir.display()
        )));
    }
    let r = rec.clone();
    let promoted = tokio::task::spawn_blocking(move || r.promote(wait)).await?;
    report.push(
        match promoted {
            Ok(()) => Finding::ok(
                "pitr.promote",
                format!("promoted: a primary of its own in {} on port {}; the live cluster is untouched", rec.data_dir.display(), rec.port),
            )
            .hint("point the application at it (or rename directories in a maintenance window); turn archiving on there with `opsbook pitr setup` when it replaces the old cluster"),
            Err(e) => Finding::new("pitr.promote", Status::Critical, crate::report::one_line(&e)),
        }
        .subject(&stanza.name)
        .detail(where_it_runs(&rec)),
    );
    Ok(report)
}
