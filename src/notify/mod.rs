//! Notifications: the channels an alert or a runbook's outcome is sent through (Telegram's
//! Bot API, a generic JSON webhook), each bounded by its own timeouts, and the alert
//! de-duplication state (`state.rs`) that `monitor` keeps between runs.
//!
//! A channel that fails never fails the run: it becomes a WARNING finding `notify.<channel>`
//! and the caller's own findings keep their status (and the exit code theirs).

pub mod state;
mod telegram;
mod webhook;

use futures_util::future::join_all;

use crate::config::NotifyConfig;
use crate::report::{one_line, Finding, Status};

/// One notification: plain text (Telegram and Slack both show it as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
}

/// Telegram refuses messages above 4096 characters; keep well under it.
const MAX_CHARS: usize = 3900;

impl Message {
    pub fn new(text: impl Into<String>) -> Message {
        let mut text: String = text.into();
        if text.chars().count() > MAX_CHARS {
            text = text.chars().take(MAX_CHARS).collect::<String>() + "\n(cut)";
        }
        Message { text }
    }
}

/// A configured channel, its secret already read; or one that cannot send (its token is
/// missing, its file unreadable), which fails each send with the reason instead of silencing
/// the channels that work.
enum Channel {
    Telegram(telegram::Telegram),
    Webhook(webhook::Webhook),
    Broken {
        name: &'static str,
        reason: String,
        hint: String,
    },
}

impl Channel {
    fn name(&self) -> &'static str {
        match self {
            Channel::Telegram(_) => "telegram",
            Channel::Webhook(_) => "webhook",
            Channel::Broken { name, .. } => name,
        }
    }

    fn broken(name: &'static str, e: &anyhow::Error) -> Channel {
        let text = one_line(e);
        let (reason, hint) = match text.split_once("\nhint: ") {
            Some((r, h)) => (r.to_string(), h.replace('\n', " ")),
            None => (text.clone(), format!("fix notify.{name} in the config")),
        };
        let prefix = format!("notify.{name}: ");
        let reason = reason.strip_prefix(&prefix).unwrap_or(&reason).to_string();
        Channel::Broken { name, reason, hint }
    }

    async fn send(&self, message: &Message) -> Result<(), String> {
        match self {
            Channel::Telegram(t) => t.send(message).await,
            Channel::Webhook(w) => w.send(message).await,
            Channel::Broken { reason, .. } => Err(reason.clone()),
        }
    }

    /// The finding of one delivery attempt through this channel.
    fn finding(&self, result: Result<(), String>, what: &str) -> Finding {
        match self {
            Channel::Broken { name, reason, hint } => Finding::new(
                format!("notify.{name}"),
                Status::Warning,
                format!("could not send {what}: notify.{name} cannot send: {reason}"),
            )
            .subject(*name)
            .hint(hint.clone()),
            _ => channel_finding(self.name(), result, what),
        }
    }
}

/// Every configured channel, ready to send.
pub struct Notifier {
    channels: Vec<Channel>,
}

impl Notifier {
    /// Read the channels' secrets now. A token file others can read is refused before any
    /// work is done (an operator error: exit 3, as the config load already says); any other
    /// channel that cannot be set up (no token) becomes a broken channel: each send through it
    /// is a WARNING `notify.<channel>` with the reason, and the other channels still deliver.
    pub fn from_config(
        cfg: &NotifyConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Notifier> {
        let mut channels = Vec::new();
        if let Some(t) = &cfg.telegram {
            if let Some(file) = &t.token_file {
                if let Some(mode) = crate::config::secrets::readable_by_others(file) {
                    anyhow::bail!(
                        "notify.telegram: {}",
                        crate::config::secrets::mode_error("Telegram token file", file, mode)
                    );
                }
            }
            channels.push(match telegram::Telegram::new(t, env) {
                Ok(t) => Channel::Telegram(t),
                Err(e) => Channel::broken("telegram", &e),
            });
        }
        if let Some(w) = &cfg.webhook {
            channels.push(Channel::Webhook(webhook::Webhook::new(w)));
        }
        Ok(Notifier { channels })
    }

    /// No channel at all (`--no-notify`).
    pub fn none() -> Notifier {
        Notifier {
            channels: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The configured channels' names: "telegram", "webhook".
    pub fn channel_names(&self) -> Vec<&'static str> {
        self.channels.iter().map(Channel::name).collect()
    }

    /// Send `message` through the channel `name`; the error text never holds a secret.
    pub async fn send_one(&self, name: &str, message: &Message) -> Result<(), String> {
        match self.channels.iter().find(|c| c.name() == name) {
            Some(c) => c.send(message).await,
            None => Err(format!("no {name} channel is configured")),
        }
    }

    /// The finding of a send through `name` (a broken channel's carries its own hint).
    pub fn finding(&self, name: &str, result: Result<(), String>, what: &str) -> Finding {
        match self.channels.iter().find(|c| c.name() == name) {
            Some(c) => c.finding(result, what),
            None => channel_finding(name, result, what),
        }
    }

    /// The channels that cannot send at all.
    pub fn broken(&self) -> Vec<&'static str> {
        self.channels
            .iter()
            .filter(|c| matches!(c, Channel::Broken { .. }))
            .map(Channel::name)
            .collect()
    }

    /// Send `message` through every channel at once, each on its own: one finding per
    /// channel, OK when it was delivered, WARNING (`notify.<channel>`) when it was not.
    pub async fn send_all(&self, message: &Message, what: &str) -> Vec<Finding> {
        join_all(
            self.channels
                .iter()
                .map(|c| async move { c.finding(c.send(message).await, what) }),
        )
        .await
    }
}

/// The finding of one delivery attempt.
pub fn channel_finding(channel: &str, result: Result<(), String>, what: &str) -> Finding {
    let id = format!("notify.{channel}");
    match result {
        Ok(()) => Finding::ok(id, format!("sent {what}")).subject(channel),
        Err(e) => Finding::new(
            id,
            Status::Warning,
            format!("could not send {what}: {e}"),
        )
        .subject(channel)
        .hint(format!(
            "it is tried again on the next run; check notify.{channel} in the config and that this host reaches the service"
        )),
    }
}

/// Send `message` through every channel of `cfg` (the API runbooks use for their outcome).
/// A channel whose secret cannot be read becomes a WARNING finding like a failed send.
pub async fn send(cfg: &NotifyConfig, message: &Message) -> Vec<Finding> {
    match Notifier::from_config(cfg, &crate::context::process_env) {
        Ok(n) => n.send_all(message, "the message").await,
        Err(e) => vec![Finding::new("notify.config", Status::Warning, one_line(&e))
            .hint("fix the notify: section of the config (see commands/monitor.md)")],
    }
}

/// Tell every channel what changed among the alerts of `findings` since it was last told
/// (see `state.rs`), and remember what was delivered in `<dir>/alerts.json`. Returns one
/// finding per channel that had something to send, and one for a state file it could not
/// read or write; and how many alerts and recoveries were delivered (summed over channels),
/// which `monitor` records for `opsbook report`.
pub async fn dispatch_alerts(
    notifier: &Notifier,
    cfg: &NotifyConfig,
    dir: &std::path::Path,
    command: &str,
    findings: &[Finding],
    now: i64,
) -> (Vec<Finding>, usize) {
    let mut out = Vec::new();
    let mut delivered = 0;
    // Two runs that overlap (a slow cron run, a --watch beside cron) must not both send.
    // Without the lock (an unwritable state directory) alerts still go out: a repeated alert
    // is better than a lost one, and the notify.state warning says why.
    let _lock = match crate::atomic_file::lock_exclusive(dir, "alerts.lock") {
        Ok(l) => Some(l),
        Err(e) => {
            out.push(
                Finding::new("notify.state", Status::Warning, one_line(&e))
                    .hint("set OPSBOOK_STATE_DIR to a writable directory"),
            );
            None
        }
    };
    let mut alerts = match state::AlertState::load(dir) {
        Ok(s) => s,
        Err(e) => {
            out.push(
                Finding::new("notify.state", Status::Warning, one_line(&e)).hint(
                    "a fresh state is written this run: alerts still firing are sent again once",
                ),
            );
            state::AlertState::default()
        }
    };
    alerts.observe(findings, &cfg.on, now);
    let host = hostname();
    let repeat = cfg.repeat_after.0.as_secs() as i64;
    let channels = notifier.channel_names();
    let broken = notifier.broken();
    let sends = join_all(channels.iter().map(|ch| {
        let items = alerts.due(ch, repeat, now);
        let text = alerts.message(&host, command, ch, &items, now);
        // A broken channel is reported every run, not only when an alert is due.
        let quiet = items.is_empty() && !broken.contains(ch);
        async move {
            if quiet {
                return (*ch, items, None);
            }
            let result = notifier.send_one(ch, &Message::new(text)).await;
            (*ch, items, Some(result))
        }
    }))
    .await;
    for (ch, items, result) in sends {
        let Some(result) = result else { continue };
        if result.is_ok() {
            alerts.mark_sent(ch, &items, now);
            delivered += items.len();
        }
        let what = if items.is_empty() {
            "alerts".to_string()
        } else {
            describe(&items)
        };
        out.push(notifier.finding(ch, result, &what));
    }
    alerts.prune(&channels);
    if let Err(e) = alerts.save(dir) {
        out.push(
            Finding::new("notify.state", Status::Warning, one_line(&e)).hint(
                "set OPSBOOK_STATE_DIR to a writable directory, or every run sends its alerts again",
            ),
        );
    }
    (out, delivered)
}

/// "2 alerts and 1 recovery"
fn describe(items: &[state::Item]) -> String {
    let resolved = items
        .iter()
        .filter(|i| i.change == state::Change::Resolved)
        .count();
    let firing = items.len() - resolved;
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match (firing, resolved) {
        (f, 0) => plural(f, "alert", "alerts"),
        (0, r) => plural(r, "recovery", "recoveries"),
        (f, r) => format!(
            "{} and {}",
            plural(f, "alert", "alerts"),
            plural(r, "recovery", "recoveries")
        ),
    }
}

/// This host's name, for the first line of a message.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_under_telegrams_limit() {
        let m = Message::new("x".repeat(10_000));
        assert!(m.text.chars().count() < 4096);
        assert!(m.text.ends_with("(cut)"));
        assert_eq!(Message::new("short").text, "short");
    }

    #[test]
    fn a_failed_channel_is_a_warning_of_its_own() {
        let f = channel_finding("webhook", Err("refused".into()), "1 alert");
        assert_eq!(f.id, "notify.webhook");
        assert_eq!(f.status, Status::Warning);
        assert!(f.summary.contains("refused"));
        assert_eq!(
            channel_finding("telegram", Ok(()), "1 alert").status,
            Status::Ok
        );
    }
}
