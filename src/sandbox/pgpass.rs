//! The sandbox's password and its pgpass file (`<dir>/pgpass`): the only place the password
//! is kept; every client we run reads it from there through PGPASSFILE.

use std::io::Read as _;

use anyhow::Context as _;

pub(super) fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the sandbox password")?;
    // Hex: nothing that pgpass, URLs or shells would need escaped.
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// pgpass fields escape ':' and '\'.
pub(super) fn pgpass_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

pub(super) fn pgpass_lines(port: u16, password: &str) -> String {
    let pw = pgpass_escape(password);
    format!("127.0.0.1:{port}:*:postgres:{pw}\nlocalhost:{port}:*:postgres:{pw}\n")
}

pub(super) fn pgpass_split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

pub(super) fn pgpass_lookup(text: &str, host: &str, port: u16, user: &str) -> Option<String> {
    let port = port.to_string();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(pgpass_split)
        .find(|f| {
            f.len() == 5
                && (f[0] == host || f[0] == "*")
                && (f[1] == port || f[1] == "*")
                && (f[3] == user || f[3] == "*")
        })
        .map(|mut f| f.swap_remove(4))
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
