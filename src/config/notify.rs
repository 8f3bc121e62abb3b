//! `notify:`: where alerts and runbook outcomes are sent (Telegram, a JSON webhook) and which
//! finding states are alerts.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Span;

/// `notify:` the channels alerts and runbook outcomes are sent to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    pub telegram: Option<TelegramConfig>,
    pub webhook: Option<WebhookConfig>,
    /// a still-firing alert is sent again after this long
    pub repeat_after: Span,
    /// the finding states that are alerts
    pub on: Vec<crate::report::Status>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            telegram: None,
            webhook: None,
            repeat_after: Span::secs(3600),
            on: vec![
                crate::report::Status::Critical,
                crate::report::Status::Warning,
            ],
        }
    }
}

/// A Telegram chat id: a number (`-1001234`) or a channel name (`@ops`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Int(i64),
    Text(String),
}

/// `notify.telegram:` the Bot API's sendMessage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// environment variable holding the bot token (read first)
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// file whose first line is the bot token (mode 0600 or 0400)
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    pub chat_id: ChatId,
    #[serde(default = "default_telegram_api")]
    pub api_base: String,
    /// connecting to the API
    #[serde(default = "default_notify_connect")]
    pub connect_timeout: Span,
    /// the whole request, connect included
    #[serde(default = "default_notify_timeout")]
    pub timeout: Span,
}

/// `notify.webhook:` POST {"text": ...} (Slack and Mattermost incoming webhooks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default = "default_notify_connect")]
    pub connect_timeout: Span,
    #[serde(default = "default_notify_timeout")]
    pub timeout: Span,
}

fn default_token_env() -> String {
    "OPSBOOK_TELEGRAM_TOKEN".to_string()
}

fn default_telegram_api() -> String {
    "https://api.telegram.org".to_string()
}

fn default_notify_connect() -> Span {
    Span::secs(3)
}

fn default_notify_timeout() -> Span {
    Span::secs(5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse, Config};

    #[test]
    fn notify_sections_parse_and_the_webhook_is_masked() {
        let c = parse(
            "notify:\n  on: [critical]\n  telegram:\n    chat_id: -100123\n  webhook:\n    url: https://hooks.example.com/services/T0/B0/s3cret\n",
            "f",
        )
        .unwrap();
        c.validate().unwrap();
        let t = c.notify.telegram.as_ref().unwrap();
        assert_eq!(t.chat_id, ChatId::Int(-100123));
        assert_eq!(t.token_env, "OPSBOOK_TELEGRAM_TOKEN");
        assert_eq!(t.timeout, Span::secs(5));
        assert_eq!(c.notify.on, vec![crate::report::Status::Critical]);
        let y = c.masked().to_yaml().unwrap();
        assert!(!y.contains("s3cret"), "{y}");
        assert!(y.contains("https://hooks.example.com/***"), "{y}");
        let bad = parse("notify:\n  webhook:\n    url: ftp://x/s3cret\n", "f").unwrap();
        let e = format!("{:#}", bad.validate().unwrap_err());
        assert!(
            !e.contains("s3cret") && e.contains("notify.webhook.url"),
            "{e}"
        );
        assert_eq!(Config::default().monitor.cpu_sample.0.as_millis(), 500);
        assert_eq!(
            Config::default().thresholds.rq_backlog.warning,
            Some(1000.0)
        );
    }
}
