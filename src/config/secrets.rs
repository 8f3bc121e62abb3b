//! Secrets in the config: where one can be written inline, and the one rule both a run and
//! `config check` apply (a secret in a file others can read is already leaked, libpq's rule for
//! ~/.pgpass). Recognising and masking a secret in a value is `crate::redact`'s.
//!
//! An inline secret is any of: a URL's userinfo password (`user:pw@`), a query parameter whose
//! name says secret (`?password=`, redis' `?pass=`, `?sslpassword=`, `?token=`), the same key
//! in a libpq `key=value` string (`password=...`), and the whole `notify.webhook.url` (its
//! path is the credential).

use std::path::Path;

use super::{Config, ConfigError};
use crate::redact::inline_secret;

/// Every key of `cfg` holding an inline secret: `(key, what)`.
pub fn inline_secrets(cfg: &Config) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    let mut look = |key: String, value: &str| {
        if let Some(what) = inline_secret(value) {
            found.push((key, what));
        }
    };
    if let Some(u) = &cfg.postgres.url {
        look("postgres.url".into(), u);
    }
    if let Some(u) = &cfg.redis.url {
        look("redis.url".into(), u);
    }
    for (i, u) in cfg.health.urls.iter().enumerate() {
        look(format!("health.urls[{i}]"), &u.value);
    }
    for (i, u) in cfg.network.endpoints.iter().enumerate() {
        look(format!("network.endpoints[{i}]"), u);
    }
    if let Some(t) = &cfg.notify.telegram {
        look("notify.telegram.api_base".into(), &t.api_base);
    }
    for (name, t) in &cfg.targets {
        let url = match t {
            super::targets::Target::Postgres(p) => Some(p.url.as_str()),
            super::targets::Target::Redis(r) => Some(r.url.as_str()),
            super::targets::Target::Sentinel(s) => Some(s.url.as_str()),
            super::targets::Target::Haproxy(h) => h.url.as_deref(),
            super::targets::Target::Group(_) => None,
        };
        if let Some(u) = url {
            look(format!("targets.{name}.url"), u);
        }
    }
    if cfg.notify.webhook.is_some() {
        found.push((
            "notify.webhook.url".into(),
            "a webhook URL (its path is the credential)",
        ));
    }
    found
}

/// The secret files `cfg` names: `(key, path, what)` (`what` as the run names it).
pub fn secret_files(cfg: &Config) -> Vec<(&'static str, &Path, &'static str)> {
    let mut out = Vec::new();
    if let Some(p) = &cfg.postgres.password_file {
        out.push(("postgres.password_file", p.as_path(), "password_file"));
    }
    if let Some(p) = &cfg.redis.password_file {
        out.push(("redis.password_file", p.as_path(), "password file"));
    }
    if let Some(p) = cfg
        .notify
        .telegram
        .as_ref()
        .and_then(|t| t.token_file.as_ref())
    {
        out.push((
            "notify.telegram.token_file",
            p.as_path(),
            "Telegram token file",
        ));
    }
    out
}

/// The mode bits of `path` that let group or others read it, if any.
pub fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then_some(mode & 0o777)
}

/// One breach of the secret rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    /// The config file itself (an inline secret in a readable file), or the key naming a
    /// readable secret file (`postgres.password_file`).
    pub key: String,
    /// What is wrong, one line.
    pub what: String,
    /// What to do, one line.
    pub hint: String,
}

/// Every breach of the one rule a run and `config check` share: a config file others can read
/// holds no inline secret, and no secret file it names is readable by others. (A secret file
/// that does not exist yet is the run's business: it says so when it needs the secret.)
pub fn breaches(path: &Path, cfg: &Config) -> Vec<Breach> {
    let mut out = Vec::new();
    let inline = inline_secrets(cfg);
    if let (Some(mode), false) = (readable_by_others(path), inline.is_empty()) {
        let keys: Vec<String> = inline
            .iter()
            .map(|(k, what)| format!("{k}: {what}"))
            .collect();
        out.push(Breach {
            key: path.display().to_string(),
            what: format!(
                "config file {} holds a secret ({}) and is readable by group or others (mode {mode:o})",
                path.display(),
                keys.join("; "),
            ),
            hint: format!(
                "run `chmod 600 {}`, or move the secret out of the file: postgres.password_file or PGPASSFILE, redis.password_file, notify.telegram.token_file",
                path.display()
            ),
        });
    }
    let mut remote_files = super::remotes::secret_files(&cfg.remotes);
    remote_files.extend(super::targets::secret_files(&cfg.targets));
    let remote_files = remote_files
        .iter()
        .map(|(k, p, w)| (k.as_str(), p.as_path(), *w));
    for (key, file, what) in secret_files(cfg).into_iter().chain(remote_files) {
        if let Some(mode) = readable_by_others(file) {
            out.push(Breach {
                key: key.to_string(),
                what: format!("{key}: {}", mode_error(what, file, mode)),
                hint: format!(
                    "a secret in a file others can read is already leaked: `chmod 600 {}` (or 400), owned by the user that runs opsbook",
                    file.display()
                ),
            });
        }
    }
    out
}

/// The rule as a run applies it: the first breach refuses the config.
pub fn check(path: &Path, cfg: &Config) -> Result<(), ConfigError> {
    match breaches(path, cfg).into_iter().next() {
        Some(b) => Err(ConfigError {
            message: format!("{}\nhint: {}", b.what, b.hint),
        }),
        None => Ok(()),
    }
}

/// The sentence for a secret file others can read (the same wherever it is found).
pub fn mode_error(what: &str, file: &Path, mode: u32) -> String {
    format!(
        "{what} {} is readable by group or others (mode {mode:o}); run `chmod 600 {}`",
        file.display(),
        file.display()
    )
}
