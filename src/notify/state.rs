//! Alert de-duplication between runs: `<state dir>/alerts.json` (0600, written atomically).
//!
//! An alert is a finding whose status is one of `notify.on` (key: id + subject). Per channel
//! it is sent once when it starts firing, again when its status changes (warning -> critical)
//! or after `repeat_after`, and a recovery is sent once when it clears. Only a delivered
//! message is marked as sent: a channel that failed gets the same news on the next run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::report::{Finding, Status};

const FILE: &str = "alerts.json";

/// What a channel was last told about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub at: i64,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    pub subject: Option<String>,
    pub status: Status,
    pub summary: String,
    pub firing: bool,
    /// when it started firing (seconds since the epoch)
    pub since: i64,
    /// channel name -> what it was told last; present while the channel believes it fires
    #[serde(default)]
    pub sent: BTreeMap<String, Sent>,
}

impl Alert {
    pub fn label(&self) -> String {
        match &self.subject {
            Some(s) => format!("{}[{}]", self.id, s),
            None => self.id.clone(),
        }
    }
}

/// Why an item is in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// started firing (or this channel was never told)
    New,
    /// its status changed since this channel was told
    Changed,
    /// still firing, `repeat_after` has passed
    Repeat,
    /// cleared
    Resolved,
}

/// One line of a channel's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub change: Change,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    pub alerts: BTreeMap<String, Alert>,
}

pub fn key(f: &Finding) -> String {
    match subject_of(f) {
        Some(s) => format!("{}/{s}", f.id),
        None => f.id.clone(),
    }
}

/// An alert's subject: the finding's, prefixed by its inventory target (`pg-a:app`, `pg-a`)
/// in a run with --target/--all, so two targets' alerts of one id are two alerts.
fn subject_of(f: &Finding) -> Option<String> {
    match (&f.target, &f.subject) {
        (Some(t), Some(s)) => Some(format!("{t}:{s}")),
        (Some(t), None) => Some(t.clone()),
        (None, s) => s.clone(),
    }
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl AlertState {
    pub fn load(dir: &Path) -> anyhow::Result<AlertState> {
        let p = path(dir);
        if matches!(std::fs::symlink_metadata(&p), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(AlertState::default());
        }
        let bytes = crate::bounded_read::read_bytes(
            &p,
            "alert state",
            crate::bounded_read::STATE_FILE_LIMIT,
        )?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "reading alert state {} (move the corrupt file aside; alerts still firing are then sent again)",
                p.display()
            )
        })
    }

    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).context("encoding the alert state")?;
        crate::atomic_file::write_atomic(&path(dir), &bytes)
    }

    /// Take in this run's findings: which alerts fire now, which cleared. A finding that is
    /// UNKNOWN this run (its probe could not tell) neither fires nor clears its alert.
    pub fn observe(&mut self, findings: &[Finding], on: &[Status], now: i64) {
        let mut present: BTreeMap<String, &Finding> = BTreeMap::new();
        for f in findings.iter().filter(|f| !f.id.starts_with("notify.")) {
            present.insert(key(f), f);
        }
        for (k, f) in &present {
            if !on.contains(&f.status) {
                continue;
            }
            let a = self.alerts.entry(k.clone()).or_insert_with(|| Alert {
                id: f.id.clone(),
                subject: subject_of(f),
                status: f.status,
                summary: f.summary.clone(),
                firing: false,
                since: now,
                sent: BTreeMap::new(),
            });
            if !a.firing {
                a.since = now;
            }
            a.firing = true;
            a.status = f.status;
            a.summary = f.summary.clone();
        }
        for (k, a) in self.alerts.iter_mut() {
            match present.get(k) {
                Some(f) if on.contains(&f.status) => {}
                Some(f) if f.status == Status::Unknown => {}
                Some(f) => {
                    a.firing = false;
                    a.status = f.status;
                    a.summary = f.summary.clone();
                }
                None => {
                    a.firing = false;
                    a.summary = "no longer reported".to_string();
                }
            }
        }
    }

    /// What `channel` must be told now.
    pub fn due(&self, channel: &str, repeat_after: i64, now: i64) -> Vec<Item> {
        let mut out = Vec::new();
        for (k, a) in &self.alerts {
            let sent = a.sent.get(channel);
            let change = match (a.firing, sent) {
                (true, None) => Some(Change::New),
                (true, Some(s)) if s.status != a.status => Some(Change::Changed),
                (true, Some(s)) if now - s.at >= repeat_after => Some(Change::Repeat),
                (false, Some(_)) => Some(Change::Resolved),
                _ => None,
            };
            if let Some(change) = change {
                out.push(Item {
                    key: k.clone(),
                    change,
                });
            }
        }
        out
    }

    /// `channel` has been told `items`.
    pub fn mark_sent(&mut self, channel: &str, items: &[Item], now: i64) {
        for it in items {
            if let Some(a) = self.alerts.get_mut(&it.key) {
                if it.change == Change::Resolved {
                    a.sent.remove(channel);
                } else {
                    a.sent.insert(
                        channel.to_string(),
                        Sent {
                            at: now,
                            status: a.status,
                        },
                    );
                }
            }
        }
    }

    /// Forget cleared alerts no configured channel still has to hear about.
    pub fn prune(&mut self, channels: &[&str]) {
        let configured: BTreeSet<&str> = channels.iter().copied().collect();
        self.alerts.retain(|_, a| {
            a.sent.retain(|c, _| configured.contains(c.as_str()));
            a.firing || !a.sent.is_empty()
        });
    }

    /// The text of one message: a header, then one line per item, worst first.
    pub fn message(
        &self,
        host: &str,
        command: &str,
        channel: &str,
        items: &[Item],
        now: i64,
    ) -> String {
        let mut lines: Vec<(u8, String)> = Vec::new();
        let mut worst: Option<Status> = None;
        for it in items {
            let Some(a) = self.alerts.get(&it.key) else {
                continue;
            };
            let line = match it.change {
                Change::Resolved => format!("RESOLVED {}: {}", a.label(), a.summary),
                Change::New => format!("{} {}: {}", a.status.label(), a.label(), a.summary),
                Change::Changed => format!(
                    "{} (was {}) {}: {}",
                    a.status.label(),
                    a.sent.get(channel).map_or("?", |s| s.status.label()),
                    a.label(),
                    a.summary
                ),
                Change::Repeat => format!(
                    "{} {}: {} (firing for {})",
                    a.status.label(),
                    a.label(),
                    a.summary,
                    crate::render::human_duration((now - a.since) as f64)
                ),
            };
            let rank = if it.change == Change::Resolved {
                0
            } else {
                worst = Some(worst.map_or(a.status, |w| w.worst(a.status)));
                a.status.severity() + 1
            };
            lines.push((rank, line));
        }
        lines.sort_by_key(|l| std::cmp::Reverse(l.0));
        let head = match worst {
            Some(w) => w.label(),
            None => "RESOLVED",
        };
        let mut text = format!("opsbook {command} on {host}: {head}");
        for (_, l) in lines {
            text.push('\n');
            text.push_str(&l);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: &[Status] = &[Status::Critical, Status::Warning];

    fn f(id: &str, status: Status) -> Finding {
        Finding::new(id, status, format!("{id} is {}", status.as_str()))
    }

    #[test]
    fn sent_once_then_repeat_change_and_one_recovery() {
        let mut s = AlertState::default();
        s.observe(&[f("a", Status::Warning), f("b", Status::Ok)], ON, 100);
        let due = s.due("t", 3600, 100);
        assert_eq!(
            due,
            vec![Item {
                key: "a".into(),
                change: Change::New
            }]
        );
        s.mark_sent("t", &due, 100);

        s.observe(&[f("a", Status::Warning)], ON, 160);
        assert!(s.due("t", 3600, 160).is_empty(), "no second message");

        s.observe(&[f("a", Status::Critical)], ON, 220);
        let due = s.due("t", 3600, 220);
        assert_eq!(due[0].change, Change::Changed);
        let text = s.message("h", "monitor", "t", &due, 220);
        assert!(text.starts_with("opsbook monitor on h: CRITICAL"), "{text}");
        assert!(
            text.contains("CRITICAL (was WARNING) a: a is critical"),
            "{text}"
        );
        s.mark_sent("t", &due, 220);

        assert_eq!(s.due("t", 3600, 220 + 3600)[0].change, Change::Repeat);

        // UNKNOWN neither fires nor clears.
        s.observe(&[f("a", Status::Unknown)], ON, 300);
        assert!(s.due("t", 3600, 300).is_empty());

        s.observe(&[f("a", Status::Ok)], ON, 400);
        let due = s.due("t", 3600, 400);
        assert_eq!(due[0].change, Change::Resolved);
        assert!(s
            .message("h", "monitor", "t", &due, 400)
            .starts_with("opsbook monitor on h: RESOLVED"));
        s.mark_sent("t", &due, 400);
        s.prune(&["t"]);
        assert!(s.alerts.is_empty());
    }

    #[test]
    fn a_failed_channel_is_told_again_and_channels_are_apart() {
        let mut s = AlertState::default();
        s.observe(&[f("a", Status::Critical)], ON, 100);
        let due = s.due("telegram", 3600, 100);
        s.mark_sent("telegram", &due, 100);
        // the webhook failed: not marked, so it is due again next run
        s.observe(&[f("a", Status::Critical)], ON, 160);
        assert!(s.due("telegram", 3600, 160).is_empty());
        assert_eq!(s.due("webhook", 3600, 160).len(), 1);
        // cleared before the webhook ever heard: it gets no recovery, telegram does
        s.observe(&[f("a", Status::Ok)], ON, 220);
        assert!(s.due("webhook", 3600, 220).is_empty());
        assert_eq!(s.due("telegram", 3600, 220)[0].change, Change::Resolved);
    }

    #[test]
    fn notify_findings_are_never_alerts_and_state_round_trips() {
        let mut s = AlertState::default();
        s.observe(&[f("notify.webhook", Status::Warning)], ON, 1);
        assert!(s.alerts.is_empty());
        s.observe(&[f("x", Status::Critical).subject("db1")], ON, 1);
        assert!(s.alerts.contains_key("x/db1"));
        let dir = std::env::temp_dir().join(format!("opsbook-alerts-{}", std::process::id()));
        s.save(&dir).unwrap();
        assert_eq!(AlertState::load(&dir).unwrap(), s);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(&dir)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
