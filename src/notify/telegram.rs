//! Telegram's Bot API: POST {api_base}/bot<TOKEN>/sendMessage with {chat_id, text}.
//!
//! The token is part of the URL path, so it must never reach an error or a log line: the HTTP
//! client names only host:port in its errors, and every error text is masked once more here.

use std::time::Duration;

use anyhow::{anyhow, bail};

use super::Message;
use crate::config::{ChatId, TelegramConfig};

pub struct Telegram {
    token: String,
    chat_id: ChatId,
    api_base: String,
    connect: Duration,
    timeout: Duration,
}

impl Telegram {
    /// The token comes from `token_file` when it is set (which must be 0600 or 0400), else
    /// from the environment variable `token_env`.
    pub fn new(
        cfg: &TelegramConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Telegram> {
        let token = match &cfg.token_file {
            Some(file) => crate::clients::read_secret_file_as(file, "Telegram token file")
                .map_err(|e| {
                    anyhow!(
                        "notify.telegram: {}\nhint: the bot token is a secret: `chmod 600 {}` (or 400), owned by the user that runs opsbook",
                        crate::report::one_line(&e),
                        file.display()
                    )
                })?
                .trim()
                .to_string(),
            None => env(&cfg.token_env)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    anyhow!(
                        "notify.telegram: no bot token: ${} is not set and notify.telegram.token_file is not configured\nhint: export {} (from @BotFather) or set notify.telegram.token_file to a 0600 file holding it",
                        cfg.token_env,
                        cfg.token_env
                    )
                })?,
        };
        if token.is_empty() {
            bail!("notify.telegram: the token file is empty\nhint: write the bot token from @BotFather on its first line");
        }
        if token.contains(['/', '?', '#', ' ', '\t']) {
            bail!("notify.telegram: the bot token holds characters a token never has (/ ? # or blanks)\nhint: copy the token exactly as @BotFather gave it (digits, a colon, then letters)");
        }
        Ok(Telegram {
            token,
            chat_id: cfg.chat_id.clone(),
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            connect: cfg.connect_timeout.0,
            timeout: cfg.timeout.0,
        })
    }

    fn mask(&self, text: &str) -> String {
        text.replace(&self.token, "***")
    }

    pub async fn send(&self, message: &Message) -> Result<(), String> {
        let url = format!("{}/bot{}/sendMessage", self.api_base, self.token);
        let body = serde_json::json!({ "chat_id": self.chat_id, "text": message.text }).to_string();
        match crate::clients::web::post_json(&url, &body, self.connect, self.timeout).await {
            Ok(status) if (200..300).contains(&status) => Ok(()),
            Ok(401) | Ok(404) => Err("Telegram answered HTTP 401/404: the bot token is wrong or revoked".to_string()),
            Ok(status @ (400 | 403)) => Err(format!(
                "Telegram refused the message (HTTP {status}): check notify.telegram.chat_id and that the bot was added to that chat"
            )),
            Ok(status) => Err(format!("Telegram answered HTTP {status}")),
            Err(e) => Err(self.mask(&format!("Telegram: {}", crate::report::one_line(&e)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    fn cfg(file: Option<std::path::PathBuf>) -> TelegramConfig {
        TelegramConfig {
            token_env: "TG_TEST_TOKEN".into(),
            token_file: file,
            chat_id: ChatId::Int(1),
            api_base: "http://127.0.0.1:9/".into(),
            connect_timeout: Span::secs(1),
            timeout: Span::secs(1),
        }
    }

    #[test]
    fn token_from_env_or_a_private_file_only() {
        let env = |k: &str| (k == "TG_TEST_TOKEN").then(|| " 1:abc \n".to_string());
        let none = |_: &str| None;
        let t = Telegram::new(&cfg(None), &env).unwrap();
        assert_eq!(t.token, "1:abc");
        assert_eq!(t.api_base, "http://127.0.0.1:9");
        let e = Telegram::new(&cfg(None), &none).err().unwrap().to_string();
        assert!(e.contains("$TG_TEST_TOKEN is not set"), "{e}");

        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("opsbook-tg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "2:def\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Telegram::new(&cfg(Some(file.clone())), &env)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(&file.display().to_string()), "{e}");
        assert!(e.contains("readable by group or others"), "{e}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        let t = Telegram::new(&cfg(Some(file.clone())), &none).unwrap();
        assert_eq!(t.token, "2:def", "the file is used when it is set");
        assert_eq!(t.mask("GET /bot2:def/x"), "GET /bot***/x");

        let bad = |_: &str| Some("1:a/b".to_string());
        assert!(Telegram::new(&cfg(None), &bad).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
