//! What replication looks like from the server we are connected to: on a primary every
//! standby (pg_stat_replication) and every slot (pg_replication_slots); on a standby its WAL
//! receiver and how far replay is behind, measured by LSN. The same findings feed
//! `replica status` and `check morning`.

use anyhow::Context as _;

use crate::clients::postgres::PgClient;
use crate::config::{Limits, SpanLimits, Thresholds};
use crate::render::{human_bytes, human_duration};
use crate::report::{Finding, Section, Status};

/// The LSN lags are measured against: the primary's insert position, or on a (cascading)
/// standby what it has replayed. PG 10+.
const STANDBYS_SQL: &str = "WITH ref AS (SELECT CASE WHEN pg_is_in_recovery() \
     THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) \
     SELECT coalesce(application_name, ''), coalesce(host(client_addr), 'local'), \
     coalesce(state, ''), coalesce(sync_state, ''), \
     pg_wal_lsn_diff(ref.lsn, sent_lsn)::bigint, pg_wal_lsn_diff(ref.lsn, write_lsn)::bigint, \
     pg_wal_lsn_diff(ref.lsn, flush_lsn)::bigint, pg_wal_lsn_diff(ref.lsn, replay_lsn)::bigint, \
     extract(epoch FROM write_lag)::float8, extract(epoch FROM flush_lag)::float8, \
     extract(epoch FROM replay_lag)::float8 \
     FROM pg_stat_replication, ref ORDER BY 1, 2";

/// wal_status arrived in PG 13.
fn slots_sql(major: u32) -> String {
    let wal_status = if major >= 13 {
        "wal_status::text"
    } else {
        "NULL::text"
    };
    format!(
        "WITH ref AS (SELECT CASE WHEN pg_is_in_recovery() \
         THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) \
         SELECT slot_name::text, slot_type, active, \
         greatest(pg_wal_lsn_diff(ref.lsn, restart_lsn), 0)::bigint, {wal_status} \
         FROM pg_replication_slots, ref ORDER BY 1"
    )
}

/// On a standby. The delay is 0 when everything received has been replayed: an idle primary
/// sends nothing, and `now() - pg_last_xact_replay_timestamp()` would grow for ever
/// (check_postgres issue #121). latest_end_lsn is the primary's end of WAL as last reported.
const STANDBY_SQL: &str = "SELECT \
     (SELECT status FROM pg_stat_wal_receiver), \
     (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver), \
     (SELECT slot_name FROM pg_stat_wal_receiver), \
     greatest(pg_wal_lsn_diff(greatest(pg_last_wal_receive_lsn(), \
        (SELECT latest_end_lsn FROM pg_stat_wal_receiver)), pg_last_wal_replay_lsn()), 0)::bigint, \
     CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0::float8 \
        ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END, \
     pg_is_wal_replay_paused(), \
     (SELECT received_tli FROM pg_stat_wal_receiver)";

pub struct Standby {
    pub name: String,
    pub addr: String,
    pub state: String,
    pub sync: String,
    /// sent, write, flush, replay: bytes behind
    pub behind: [Option<i64>; 4],
    /// write, flush, replay lag in seconds (NULL when idle and caught up)
    pub lag: [Option<f64>; 3],
}

pub struct Slot {
    pub name: String,
    pub kind: String,
    pub active: bool,
    pub retained: Option<i64>,
    pub wal_status: Option<String>,
}

pub struct Observed {
    pub in_recovery: bool,
    pub standbys: Vec<Standby>,
    pub slots: Vec<Slot>,
    /// On a standby: (status, sender, slot, bytes behind, seconds behind, paused, timeline)
    pub receiver: Option<Receiver>,
}

pub struct Receiver {
    pub status: Option<String>,
    pub sender: Option<String>,
    pub slot: Option<String>,
    pub behind_bytes: i64,
    pub behind_secs: Option<f64>,
    pub paused: bool,
    pub timeline: Option<i32>,
}

pub async fn observe(pg: &PgClient) -> anyhow::Result<Observed> {
    let in_recovery: bool = pg
        .client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .context("asking pg_is_in_recovery()")?
        .try_get(0)?;
    let standbys = pg
        .client
        .query(STANDBYS_SQL, &[])
        .await
        .context("reading pg_stat_replication")?
        .iter()
        .map(|r| {
            Ok(Standby {
                name: r.try_get(0)?,
                addr: r.try_get(1)?,
                state: r.try_get(2)?,
                sync: r.try_get(3)?,
                behind: [r.try_get(4)?, r.try_get(5)?, r.try_get(6)?, r.try_get(7)?],
                lag: [r.try_get(8)?, r.try_get(9)?, r.try_get(10)?],
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let slots = pg
        .client
        .query(&slots_sql(pg.major()), &[])
        .await
        .context("reading pg_replication_slots")?
        .iter()
        .map(|r| {
            Ok(Slot {
                name: r.try_get(0)?,
                kind: r.try_get(1)?,
                active: r.try_get(2)?,
                retained: r.try_get(3)?,
                wal_status: r.try_get(4)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let receiver = if in_recovery {
        let r = pg
            .client
            .query_one(STANDBY_SQL, &[])
            .await
            .context("reading pg_stat_wal_receiver and the replay position")?;
        Some(Receiver {
            status: r.try_get(0)?,
            sender: r.try_get(1)?,
            slot: r.try_get(2)?,
            behind_bytes: r.try_get::<_, Option<i64>>(3)?.unwrap_or(0),
            behind_secs: r.try_get(4)?,
            paused: r.try_get(5)?,
            timeline: r.try_get(6)?,
        })
    } else {
        None
    };
    Ok(Observed {
        in_recovery,
        standbys,
        slots,
        receiver,
    })
}

fn span_status(secs: f64, l: SpanLimits) -> Status {
    Status::above(
        secs,
        l.warning.map(|s| s.0.as_secs_f64()),
        l.critical.map(|s| s.0.as_secs_f64()),
    )
}

fn bytes_status(b: f64, l: Limits) -> Status {
    Status::above(b, l.warning, l.critical)
}

fn b(v: Option<i64>) -> String {
    v.map(|v| human_bytes(v as f64))
        .unwrap_or_else(|| "-".into())
}

fn s(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}s")).unwrap_or_else(|| "-".into())
}

/// The findings. `quiet_when_none`: a server with no replication at all yields nothing
/// (for `check morning`); otherwise one `replica.role` finding says so.
pub fn findings(o: &Observed, th: &Thresholds, quiet_when_none: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    if !o.in_recovery && o.standbys.is_empty() && o.slots.is_empty() {
        if !quiet_when_none {
            out.push(
                Finding::ok(
                    "replica.role",
                    "primary with no standbys and no replication slots",
                )
                .value("primary", "role")
                .hint("set one up with `opsbook replica-setup primary --standby-addr ADDR`"),
            );
        }
        return out;
    }
    if let Some(r) = &o.receiver {
        out.push(
            Finding::ok(
                "replica.role",
                format!(
                    "standby (in recovery){}",
                    r.timeline
                        .map(|t| format!(", timeline {t}"))
                        .unwrap_or_default()
                ),
            )
            .value("standby", "role"),
        );
        out.push(match r.status.as_deref() {
            Some("streaming") => Finding::ok(
                "replica.receiver",
                format!(
                    "streaming from {}{}",
                    r.sender.as_deref().unwrap_or("?"),
                    r.slot.as_deref().map(|s| format!(" (slot {s})")).unwrap_or_default()
                ),
            )
            .value("streaming", "state"),
            Some(other) => Finding::new(
                "replica.receiver",
                Status::Warning,
                format!("WAL receiver is {other}, not streaming"),
            )
            .value(other.to_string(), "state")
            .hint("look at this server's log and the primary's (pg_hba.conf, the slot, the password)"),
            None => Finding::new(
                "replica.receiver",
                Status::Critical,
                "no WAL receiver: this standby is not connected to a primary",
            )
            .value("none", "state")
            .hint("check primary_conninfo in postgresql.auto.conf, that the primary is up, and this server's log"),
        });
        let by_bytes = bytes_status(r.behind_bytes as f64, th.replication_lag_bytes);
        let by_time = r
            .behind_secs
            .map(|t| span_status(t, th.replication_delay))
            .unwrap_or(Status::Ok);
        let mut status = by_bytes.worst(by_time);
        if r.paused {
            status = status.worst(Status::Warning);
        }
        let mut f = Finding::new(
            "replica.replay_delay",
            status,
            format!(
                "replay is {} behind what it received{}{}",
                human_bytes(r.behind_bytes as f64),
                replay_state(r.behind_bytes, r.behind_secs),
                if r.paused { "; replay is PAUSED" } else { "" }
            ),
        )
        .value(r.behind_bytes, "bytes");
        if r.paused {
            f = f.hint("resume it: SELECT pg_wal_replay_resume()");
        } else if status != Status::Ok {
            f = f.hint("a long query on this standby, slow disk or network; `opsbook replica status` on the primary shows the sender's view");
        }
        out.push(f);
    } else {
        out.push(
            Finding::ok(
                "replica.role",
                format!(
                    "primary with {} standby(s) and {} replication slot(s)",
                    o.standbys.len(),
                    o.slots.len()
                ),
            )
            .value("primary", "role"),
        );
    }
    for sb in &o.standbys {
        let subject = if sb.name.is_empty() {
            sb.addr.clone()
        } else {
            format!("{}@{}", sb.name, sb.addr)
        };
        let replay = sb.behind[3].unwrap_or(0) as f64;
        let mut status = bytes_status(replay, th.replication_lag_bytes);
        if let Some(t) = sb.lag[2] {
            status = status.worst(span_status(t, th.replication_delay));
        }
        if sb.state != "streaming" {
            status = status.worst(Status::Warning);
        }
        let mut f = Finding::new(
            "replica.standby",
            status,
            format!(
                "{} ({}), replay {} / {} behind",
                sb.state,
                sb.sync,
                b(sb.behind[3]),
                s(sb.lag[2].or(Some(0.0)))
            ),
        )
        .subject(subject)
        .value(sb.behind[3].unwrap_or(0), "bytes")
        .detail(vec![
            format!(
                "sent {} / write {} / flush {} / replay {} behind",
                b(sb.behind[0]),
                b(sb.behind[1]),
                b(sb.behind[2]),
                b(sb.behind[3])
            ),
            format!(
                "write_lag {} / flush_lag {} / replay_lag {} (- when idle and caught up)",
                s(sb.lag[0]),
                s(sb.lag[1]),
                s(sb.lag[2])
            ),
        ]);
        if status != Status::Ok {
            f = f.hint("look at the standby's log and `opsbook replica status` there");
        }
        out.push(f);
    }
    for sl in &o.slots {
        let retained = sl.retained.unwrap_or(0);
        let mut status = bytes_status(retained as f64, th.slot_retained_bytes);
        if !sl.active && retained > 0 {
            status = status.worst(Status::Warning);
        }
        match sl.wal_status.as_deref() {
            Some("lost") => status = Status::Critical,
            Some("unreserved") => status = status.worst(Status::Warning),
            _ => {}
        }
        let mut summary = format!(
            "{} slot, {}, retaining {} of WAL",
            sl.kind,
            if sl.active { "active" } else { "INACTIVE" },
            human_bytes(retained as f64)
        );
        if let Some(w) = &sl.wal_status {
            summary.push_str(&format!(" (wal_status {w})"));
        }
        let mut f = Finding::new("replica.slot", status, summary)
            .subject(sl.name.clone())
            .value(retained, "bytes");
        if sl.wal_status.as_deref() == Some("lost") {
            f = f.hint(format!("the WAL this slot needed is gone: re-clone its standby (`opsbook replica-setup standby --force`), then drop or recreate the slot: SELECT pg_drop_replication_slot('{}')", sl.name));
        } else if !sl.active && retained > 0 {
            f = f.hint(format!("an inactive slot keeps WAL until the disk fills: start its standby, or if it is gone for good: SELECT pg_drop_replication_slot('{}')", sl.name));
        }
        out.push(f);
    }
    out
}

/// The tables `replica status` shows under the findings.
pub fn sections(o: &Observed) -> Vec<Section> {
    let mut v = Vec::new();
    if !o.standbys.is_empty() {
        v.push(Section {
            title: "Standbys (pg_stat_replication)".into(),
            columns: [
                "NAME",
                "ADDR",
                "STATE",
                "SYNC",
                "SENT",
                "WRITE",
                "FLUSH",
                "REPLAY",
                "REPLAY LAG",
            ]
            .iter()
            .map(|c| c.to_string())
            .collect(),
            rows: o
                .standbys
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.addr.clone(),
                        s.state.clone(),
                        s.sync.clone(),
                        b(s.behind[0]),
                        b(s.behind[1]),
                        b(s.behind[2]),
                        b(s.behind[3]),
                        self::s(s.lag[2]),
                    ]
                })
                .collect(),
            fit: Vec::new(),
        });
    }
    if !o.slots.is_empty() {
        v.push(Section {
            title: "Replication slots".into(),
            columns: ["SLOT", "TYPE", "ACTIVE", "WAL RETAINED", "WAL STATUS"]
                .iter()
                .map(|c| c.to_string())
                .collect(),
            rows: o
                .slots
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.kind.clone(),
                        s.active.to_string(),
                        b(s.retained),
                        s.wal_status.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
            fit: Vec::new(),
        });
    }
    v
}

/// What the replay position says beside the bytes behind. No replay timestamp with bytes
/// behind means no transaction was replayed since the standby started (a paused standby that
/// has replayed nothing yet): that is not "caught up".
fn replay_state(behind_bytes: i64, behind_secs: Option<f64>) -> String {
    match behind_secs {
        Some(t) if behind_bytes > 0 || t > 0.0 => format!(
            " (last replayed transaction {} ago)",
            human_duration(t.max(0.0))
        ),
        None if behind_bytes > 0 => " (no transaction replayed yet)".into(),
        _ => " (caught up)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_replayed_yet_is_not_caught_up() {
        // A paused standby that has replayed nothing: 32.6 MiB received, no replay timestamp.
        assert_eq!(
            replay_state(34_200_000, None),
            " (no transaction replayed yet)"
        );
        assert_eq!(replay_state(0, Some(0.0)), " (caught up)");
        assert_eq!(replay_state(0, None), " (caught up)");
        assert!(replay_state(1024, Some(5.0)).contains("last replayed transaction 5s ago"));
    }

    fn primary_with(slots: Vec<Slot>) -> Observed {
        Observed {
            in_recovery: false,
            standbys: vec![],
            slots,
            receiver: None,
        }
    }

    #[test]
    fn no_replication_is_silent_for_check_morning() {
        let th = Thresholds::default();
        assert!(findings(&primary_with(vec![]), &th, true).is_empty());
        let f = findings(&primary_with(vec![]), &th, false);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "replica.role");
    }

    #[test]
    fn inactive_slot_retaining_wal_warns_then_goes_critical() {
        let th = Thresholds::default();
        let slot = |active, retained: i64| Slot {
            name: "s".into(),
            kind: "physical".into(),
            active,
            retained: Some(retained),
            wal_status: Some("reserved".into()),
        };
        let st = |sl| findings(&primary_with(vec![sl]), &th, true)[1].status;
        assert_eq!(st(slot(true, 1000)), Status::Ok);
        assert_eq!(st(slot(false, 0)), Status::Ok);
        assert_eq!(st(slot(false, 1000)), Status::Warning);
        assert_eq!(st(slot(false, 11 << 30)), Status::Critical);
    }

    #[test]
    fn idle_caught_up_standby_is_not_late() {
        let th = Thresholds::default();
        let o = Observed {
            in_recovery: true,
            standbys: vec![],
            slots: vec![],
            receiver: Some(Receiver {
                status: Some("streaming".into()),
                sender: Some("10.0.0.1:5432".into()),
                slot: None,
                behind_bytes: 0,
                behind_secs: Some(0.0),
                paused: false,
                timeline: Some(1),
            }),
        };
        let f = findings(&o, &th, true);
        let d = f.iter().find(|f| f.id == "replica.replay_delay").unwrap();
        assert_eq!(d.status, Status::Ok, "{d:?}");
        assert!(d.summary.contains("caught up"));
    }
}
