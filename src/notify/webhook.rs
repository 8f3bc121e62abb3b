//! A generic JSON webhook: POST {"text": ...}, what Slack and Mattermost incoming webhooks take.
//! The URL is a secret of its own (its path is the credential): errors name only host:port.

use std::time::Duration;

use super::Message;
use crate::config::WebhookConfig;

pub struct Webhook {
    url: String,
    connect: Duration,
    timeout: Duration,
}

impl Webhook {
    pub fn new(cfg: &WebhookConfig) -> Webhook {
        Webhook {
            url: cfg.url.clone(),
            connect: cfg.connect_timeout.0,
            timeout: cfg.timeout.0,
        }
    }

    pub async fn send(&self, message: &Message) -> Result<(), String> {
        let body = serde_json::json!({ "text": message.text }).to_string();
        match crate::clients::web::post_json(&self.url, &body, self.connect, self.timeout).await {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(status) => Err(format!("the webhook answered HTTP {status}")),
            Err(e) => Err(format!("webhook: {}", crate::report::one_line(&e))),
        }
    }
}
