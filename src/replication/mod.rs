//! Streaming replication: what `replica-setup`, `replica` and `check morning` share (the
//! pg_hba.conf rules, pg_ctl as the data directory's owner, the status findings), and the
//! preparation of a primary for a standby (`primary`).

pub mod hba;
pub mod pg_ctl;
pub mod primary;
pub mod status;

use std::io::Read as _;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{bail, Context as _};

/// The role `replica-setup` creates unless told otherwise.
pub const DEFAULT_USER: &str = "replicator";

/// The slot of the standby at `addr` unless told otherwise: `standby_10_0_1_7`. Both ends
/// compute the same name (the standby from the address it reaches the primary from).
pub fn default_slot(addr: &IpAddr) -> String {
    let s: String = addr
        .to_string()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("standby_{s}")
}

/// Slot names: lower-case letters, digits and `_`, at most 63 bytes (the server's rule).
pub fn parse_slot(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a slot name: use 1 to 63 lower-case letters, digits and _"
        ))
    }
}

/// Role names we write into pg_hba.conf unquoted: a plain identifier.
pub fn parse_role(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if first_ok
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a plain role name: use a lower-case letter or _, then letters, digits or _ (at most 63)"
        ))
    }
}

/// The local address the kernel would use to reach `peer`. A UDP connect only consults the
/// routing table; nothing is sent.
pub fn route_source(peer: IpAddr) -> Option<IpAddr> {
    let bind: SocketAddr = if peer.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let s = UdpSocket::bind(bind).ok()?;
    s.connect(SocketAddr::new(peer, 5432)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

/// A fresh replication password: 32 random bytes in hex (nothing to escape in pgpass,
/// conninfo strings or shells).
pub fn generate_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the replication password")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The SCRAM-SHA-256 verifier the server stores. `CREATE ROLE ... PASSWORD '<verifier>'` keeps
/// the password itself out of the server log (log_statement = ddl would print it).
pub fn scram_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

/// pgpass fields escape `:` and `\`.
pub fn pgpass_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

/// The first line of a password file that only its owner can read.
pub fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("reading the password file {}", path.display()))?;
    if meta.mode() & 0o077 != 0 {
        bail!(
            "the password file {} is readable by others (mode {:o})\nhint: chmod 600 {}",
            path.display(),
            meta.mode() & 0o7777,
            path.display()
        );
    }
    let text = crate::bounded_read::read_text(
        path,
        "password file",
        crate::bounded_read::SECRET_FILE_LIMIT,
    )?;
    let pw = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if pw.is_empty() {
        bail!(
            "the password file {} is empty\nhint: it holds the password `opsbook replica-setup primary --password-file` wrote",
            path.display()
        );
    }
    Ok(pw.to_string())
}

/// Write `password` to a new 0600 file (replacing an old one), before the server is told:
/// a password the server knows but nobody kept would lock the standby out.
pub fn write_password_file(path: &Path, password: &str) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing the password file {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    use std::io::Write as _;
    f.write_all(format!("{password}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing the password file {}", path.display()))
}

/// `20261123T010203Z`-style stamp without separators, for dated copies.
pub fn stamp() -> String {
    crate::timefmt::backup_stamp(std::time::SystemTime::now())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_and_role_names() {
        assert_eq!(
            default_slot(&"10.0.1.7".parse().unwrap()),
            "standby_10_0_1_7"
        );
        assert_eq!(default_slot(&"::1".parse().unwrap()), "standby___1");
        assert!(parse_slot(&default_slot(&"fe80::1:2:3:4".parse().unwrap())).is_ok());
        assert!(parse_slot("Bad-Name").is_err());
        assert!(parse_role("replicator").is_ok());
        assert!(parse_role("1abc").is_err());
        assert!(parse_role("a b").is_err());
    }

    #[test]
    fn scram_verifier_hides_the_password() {
        let v = scram_verifier("secret-pw");
        assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
        assert!(!v.contains("secret-pw"));
        let p = generate_password().unwrap();
        assert_eq!(p.len(), 64);
        assert_ne!(p, generate_password().unwrap());
    }

    #[test]
    fn route_to_loopback_is_loopback() {
        assert_eq!(
            route_source("127.0.0.1".parse().unwrap()),
            Some("127.0.0.1".parse().unwrap())
        );
    }
}
