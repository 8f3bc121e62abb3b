//! The figures of a recovery drill (`restore --rehearse`) in the run history, and what
//! `check morning` says of them (`pitr.rehearsal_age`): a point-in-time recovery nobody has
//! rehearsed lately is a hope, not a plan.
//!
//! A drill is one sample: command `restore --rehearse` with `pitr.rehearsal/<stanza>` (seconds
//! it took), `pitr.rehearsal_reached/<stanza>` (the last replayed transaction's time, seconds
//! since the epoch) and `pitr.rehearsal_wal/<stanza>` (bytes of WAL replayed); a failed one is
//! command `restore --rehearse failed` with `pitr.rehearsal_failed/<stanza>`. Two commands, so
//! the history's one-per-command-and-day thinning never lets a failure hide that day's success.

use std::collections::BTreeMap;

use crate::config::SpanLimits;
use crate::render::human_duration;
use crate::report::{Finding, Status};
use crate::state::History;

pub const ID: &str = "pitr.rehearsal_age";
pub const COMMAND_OK: &str = "restore --rehearse";
pub const COMMAND_FAILED: &str = "restore --rehearse failed";

fn key(what: &str, stanza: &str) -> String {
    format!("{what}/{stanza}")
}

/// The history values of a drill that reached its target.
pub fn succeeded(
    stanza: &str,
    seconds: f64,
    reached_unix: Option<f64>,
    wal: Option<f64>,
) -> BTreeMap<String, f64> {
    let mut v = BTreeMap::new();
    v.insert(key("pitr.rehearsal", stanza), seconds);
    if let Some(t) = reached_unix {
        v.insert(key("pitr.rehearsal_reached", stanza), t);
    }
    if let Some(b) = wal {
        v.insert(key("pitr.rehearsal_wal", stanza), b);
    }
    v
}

/// The history values of a drill that failed.
pub fn failed(stanza: &str) -> BTreeMap<String, f64> {
    [(key("pitr.rehearsal_failed", stanza), 1.0)].into()
}

/// `pitr.rehearsal_age`: the newest successful drill's age against `limits` (default: warning
/// after 8 days), how long it took and the point it reached; a failure newer than it, or no
/// drill at all, is a warning.
pub fn finding(history: &History, stanza: &str, limits: SpanLimits, now: i64) -> Finding {
    let last_ok = history.previous(&key("pitr.rehearsal", stanza));
    let last_failed = history.previous(&key("pitr.rehearsal_failed", stanza));
    let hint = format!("run a drill: `opsbook restore --rehearse` (recovers stanza {stanza} into a throwaway directory, measures it, removes it); schedule it weekly");
    let Some((at, seconds)) = last_ok else {
        let failed = last_failed
            .map(|(t, _)| {
                format!(
                    "; the last one failed {} ago",
                    human_duration((now - t).max(0) as f64)
                )
            })
            .unwrap_or_default();
        return Finding::new(
            ID,
            Status::Warning,
            format!("no successful recovery drill of stanza {stanza} in the run history{failed}"),
        )
        .subject(stanza)
        .hint(hint);
    };
    let age = (now - at).max(0) as f64;
    let (w, c) = (
        limits.warning.map(|s| s.as_secs_f64()),
        limits.critical.map(|s| s.as_secs_f64()),
    );
    let mut status = Status::above(age, w, c);
    let mut summary = format!(
        "last recovery drill of stanza {stanza}: {} ago, took {}",
        human_duration(age),
        human_duration(seconds)
    );
    let mut detail = vec![format!("took_seconds={seconds:.1}")];
    if let Some((_, reached)) = history.previous(&key("pitr.rehearsal_reached", stanza)) {
        let reached = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(reached.max(0.0));
        detail.push(format!("reached={}", crate::timefmt::rfc3339(reached)));
    }
    if let Some((_, wal)) = history.previous(&key("pitr.rehearsal_wal", stanza)) {
        detail.push(format!("wal_replayed_bytes={wal:.0}"));
    }
    if let Some((t, _)) = last_failed.filter(|(t, _)| *t > at) {
        summary.push_str(&format!(
            "; a later drill failed {} ago",
            human_duration((now - t).max(0) as f64)
        ));
        status = status.max(Status::Warning);
    }
    Finding::new(ID, status, summary)
        .subject(stanza)
        .value(age.round() as u64, "seconds")
        .above(w, c)
        .detail(detail)
        .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;
    use crate::state::Sample;

    fn limits() -> SpanLimits {
        SpanLimits {
            warning: Some(Span::secs(8 * 86400)),
            critical: None,
        }
    }

    fn push(h: &History, at: i64, command: &str, values: BTreeMap<String, f64>) {
        h.push(Sample {
            at,
            command: command.into(),
            values,
        })
        .unwrap();
    }

    #[test]
    fn age_duration_and_a_later_failure() {
        let h = History::in_memory().unwrap();
        let now = 100 * 86400;
        assert_eq!(finding(&h, "main", limits(), now).status, Status::Warning);
        push(
            &h,
            now - 86400,
            COMMAND_OK,
            succeeded("main", 12.5, Some(5.0), Some(1e6)),
        );
        let f = finding(&h, "main", limits(), now);
        assert_eq!(f.status, Status::Ok, "{}", f.summary);
        assert!(
            f.summary.contains("took 12.5s") || f.summary.contains("took"),
            "{}",
            f.summary
        );
        assert!(
            f.detail.iter().any(|d| d == "took_seconds=12.5"),
            "{:?}",
            f.detail
        );
        push(&h, now - 3600, COMMAND_FAILED, failed("main"));
        assert_eq!(finding(&h, "main", limits(), now).status, Status::Warning);
        assert_eq!(
            finding(&h, "main", limits(), now + 10 * 86400).status,
            Status::Warning
        );
        assert_eq!(finding(&h, "other", limits(), now).status, Status::Warning);
    }
}
