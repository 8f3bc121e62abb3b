//! The shared clients every command uses: PostgreSQL, Redis, the host, child tools.

pub mod docker;
pub mod haproxy;
pub mod host;
pub mod http;
pub mod own_sessions;
pub mod patroni;
pub mod pg;
pub mod postgres;
pub mod redis;
pub mod s3;
pub mod sentinel;
pub mod tools;
pub mod web;

use std::path::Path;

use anyhow::{bail, Context as _};

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub(crate) const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One URL component (a user, a password, a host, a database) percent-encoded: the one
/// encoder the PostgreSQL and Redis URLs share.
pub fn url_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URL_COMPONENT).to_string()
}

/// Read a secret from a file's first line, refusing a file others can read (like libpq's
/// rule for ~/.pgpass): a secret in a world-readable file is already leaked.
pub fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    read_secret_file_as(path, "password file")
}

/// [`read_secret_file`] for any kind of secret; `what` names it in errors ("token file").
/// The mode rule and its sentence are `config::secrets`' (what `config check` reports too);
/// the read is bounded (a secret is one short line, not a FIFO or `/dev/zero`).
pub fn read_secret_file_as(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::metadata(path).with_context(|| format!("reading {what} {}", path.display()))?;
    if let Some(mode) = crate::config::secrets::readable_by_others(path) {
        bail!("{}", crate::config::secrets::mode_error(what, path, mode));
    }
    let text = crate::bounded_read::read_text(path, what, crate::bounded_read::SECRET_FILE_LIMIT)?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_component_keeps_only_the_unreserved_characters() {
        assert_eq!(super::url_component("Az09-._~"), "Az09-._~");
        assert_eq!(
            super::url_component("p@ss:w/rd é%"),
            "p%40ss%3Aw%2Frd%20%C3%A9%25"
        );
    }
}
