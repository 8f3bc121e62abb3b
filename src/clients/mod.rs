//! The shared clients every command uses: PostgreSQL, Redis, the host, child tools.

pub mod host;
pub mod http;
pub mod own_sessions;
pub mod pg_conn;
pub mod postgres;
pub mod redis;
pub mod tools;
pub mod web;

use std::path::Path;

use anyhow::{bail, Context as _};

/// Read a secret from a file's first line, refusing a file others can read (like libpq's
/// rule for ~/.pgpass): a secret in a world-readable file is already leaked.
pub fn read_secret_file(path: &Path) -> anyhow::Result<String> {
    read_secret_file_as(path, "password file")
}

/// [`read_secret_file`] for any kind of secret; `what` names it in errors ("token file").
pub fn read_secret_file_as(path: &Path, what: &str) -> anyhow::Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).with_context(|| format!("reading {what} {}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{what} {} is readable by group or others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {what} {}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_string())
}
