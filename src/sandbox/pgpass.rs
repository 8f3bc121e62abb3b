//! The sandbox's password and its pgpass file (`<dir>/pgpass`): the only place the password
//! is kept; every client we run reads it from there through PGPASSFILE.

use std::io::Read as _;

use anyhow::Context as _;

use crate::clients::pg::pgpass;

pub(super) fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the sandbox password")?;
    // Hex: nothing that pgpass, URLs or shells would need escaped.
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The sandbox's two pgpass lines (127.0.0.1 and localhost, any database, user postgres),
/// written by the one pgpass module.
pub(super) fn pgpass_lines(port: u16, password: &str) -> String {
    ["127.0.0.1", "localhost"]
        .iter()
        .map(|host| pgpass::line(host, port, "*", "postgres", password))
        .collect()
}

/// The sandbox's password from its pgpass text.
pub(super) fn pgpass_lookup(text: &str, host: &str, port: u16, user: &str) -> Option<String> {
    pgpass::find(text, host, port, "postgres", user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_have_both_hosts_and_escape() {
        assert_eq!(
            pgpass_lines(5433, "abc123"),
            "127.0.0.1:5433:*:postgres:abc123\nlocalhost:5433:*:postgres:abc123\n"
        );
        let text = pgpass_lines(6000, r"a:b\c");
        assert!(text.starts_with(r"127.0.0.1:6000:*:postgres:a\:b\\c"));
        assert_eq!(
            pgpass_lookup(&text, "127.0.0.1", 6000, "postgres").as_deref(),
            Some(r"a:b\c")
        );
        assert_eq!(pgpass_lookup(&text, "127.0.0.1", 6001, "postgres"), None);
        assert_eq!(
            pgpass_lookup("# c\n*:*:*:*:pw\n", "127.0.0.1", 1, "x").as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn password_is_48_hex_chars_and_random() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
