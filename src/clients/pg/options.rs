//! The resolved connection options, [`PgOptions`], and libpq's [`SslMode`]: the struct every
//! other room of the client fills in (`resolve`) or reads (`connect`, `tls`), with its
//! accessors and the forms it is shown in (a masked URL, Debug, a child tool's environment),
//! none of which ever holds the password.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::anyhow;

use super::conninfo;

/// The application_name our sessions carry unless the user gives one.
const APP_NAME: &str = "opsbook";

/// libpq's sslmode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const ALL: [SslMode; 6] = [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];

    /// The libpq spelling (`verify-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<SslMode> {
        let wanted = s.trim();
        SslMode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                anyhow!(
                    "invalid sslmode \"{wanted}\" (valid: disable, allow, prefer, require, verify-ca, verify-full)"
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PasswordSource {
    None,
    Url,
    PgPassword,
    PgPassFile(PathBuf),
    PasswordFile(PathBuf),
}

/// Resolved connection options. The password is kept out of every Display/Debug form.
#[derive(Clone)]
pub struct PgOptions {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) dbname: String,
    pub(super) password: Option<String>,
    pub(super) password_source: PasswordSource,
    pub(super) ssl_mode: SslMode,
    /// As given (a path, or `system`); None = the default ~/.postgresql/root.crt.
    pub(super) sslrootcert: Option<String>,
    pub(super) default_rootcert: Option<PathBuf>,
    pub(super) connect_timeout: Option<Duration>,
    pub(super) application_name: Option<String>,
    pub(super) options: Option<String>,
    /// A pgpass file that exists and passed the permission check, kept so `with_dbname` can
    /// look the password up again: pgpass entries are per database.
    pub(super) passfile: Option<PathBuf>,
    /// pgpass matches the default socket directory as `localhost`, like libpq.
    pub(super) default_socket: bool,
    pub(super) warnings: Vec<String>,
}

impl PgOptions {
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// A Unix-domain socket directory rather than a TCP host.
    pub fn is_local_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The connect_timeout the URL or PGCONNECT_TIMEOUT asked for, if any.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// Things libpq would print as warnings while resolving (an ignored pgpass file, PG*
    /// variables we do not honour). The caller decides where they go.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub(super) fn pgpass_host(&self) -> &str {
        if self.default_socket {
            "localhost"
        } else {
            &self.host
        }
    }

    pub(super) fn application_name(&self) -> &str {
        self.application_name.as_deref().unwrap_or(APP_NAME)
    }

    /// "PostgreSQL at 127.0.0.1:5433 (db postgres, user app)" — never the password.
    pub(super) fn target(&self) -> String {
        format!(
            "PostgreSQL at {} (db {}, user {})",
            self.address(),
            self.dbname,
            self.user
        )
    }

    fn address(&self) -> String {
        if self.is_local_socket() {
            format!(
                "socket {}/.s.PGSQL.{}",
                self.host.trim_end_matches('/'),
                self.port
            )
        } else if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Environment for child tools (pg_dump, psql, ...): credentials by environment only,
    /// never on a command line others can read in `ps`.
    pub fn tool_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PGHOST".to_string(), self.host.clone()),
            ("PGPORT".to_string(), self.port.to_string()),
            ("PGUSER".to_string(), self.user.clone()),
            ("PGDATABASE".to_string(), self.dbname.clone()),
            ("PGSSLMODE".to_string(), self.ssl_mode.as_str().to_string()),
        ];
        if let Some(root) = &self.sslrootcert {
            env.push(("PGSSLROOTCERT".to_string(), root.clone()));
        }
        env.push(("PGAPPNAME".to_string(), self.application_name().to_string()));
        if let Some(t) = self.connect_timeout {
            env.push(("PGCONNECT_TIMEOUT".to_string(), t.as_secs().to_string()));
        }
        if let Some(o) = &self.options {
            env.push(("PGOPTIONS".to_string(), o.clone()));
        }
        if let Some(pw) = &self.password {
            env.push(("PGPASSWORD".to_string(), pw.clone()));
        }
        env
    }

    /// Masked URL for display: postgres://user:***@host:port/db?sslmode=... (no password ever).
    pub fn display_url(&self) -> String {
        let mut url = format!("postgres://{}", conninfo::encode(&self.user));
        if self.password.is_some() {
            url.push_str(":***");
        }
        url.push('@');
        let mut query = Vec::new();
        if self.is_local_socket() {
            query.push(format!("host={}", conninfo::encode_path(&self.host)));
            query.push(format!("port={}", self.port));
        } else if self.host.contains(':') {
            url.push_str(&format!("[{}]:{}", self.host, self.port));
        } else {
            url.push_str(&format!("{}:{}", conninfo::encode(&self.host), self.port));
        }
        url.push('/');
        url.push_str(&conninfo::encode(&self.dbname));
        query.push(format!("sslmode={}", self.ssl_mode));
        if let Some(root) = &self.sslrootcert {
            query.push(format!("sslrootcert={}", conninfo::encode_path(root)));
        }
        url.push('?');
        url.push_str(&query.join("&"));
        url
    }

    /// Where the password came from, for `config show`.
    pub fn password_source(&self) -> String {
        match &self.password_source {
            PasswordSource::None => "none".to_string(),
            PasswordSource::Url => "url".to_string(),
            PasswordSource::PgPassword => "PGPASSWORD".to_string(),
            PasswordSource::PgPassFile(p) => format!("pgpass file {}", p.display()),
            PasswordSource::PasswordFile(p) => format!("password_file {}", p.display()),
        }
    }
}

impl fmt::Display for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_url())
    }
}

impl fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("password_source", &self.password_source())
            .field("ssl_mode", &self.ssl_mode)
            .field("sslrootcert", &self.sslrootcert)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::super::resolve::resolve_in;
    use super::super::test_support::*;
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sslmode_parsing() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
            ("VERIFY-FULL", SslMode::VerifyFull),
        ] {
            assert_eq!(text.parse::<SslMode>().unwrap(), mode);
            let o = res(Some(&format!("postgres://h/d?sslmode={text}")), None, &[]).unwrap();
            assert_eq!(o.ssl_mode(), mode);
            assert_eq!(mode.to_string(), text.to_ascii_lowercase());
        }
        let e = "verify_full".parse::<SslMode>().unwrap_err().to_string();
        assert!(
            e.contains("verify-full") && e.contains("verify_full"),
            "{e}"
        );
        let e = err_text(res(None, None, &[("PGSSLMODE", "strict")]));
        assert!(e.contains("PGSSLMODE"), "{e}");

        // libpq 16: sslrootcert=system implies verify-full and forbids anything weaker.
        let o = res(Some("postgres://h/d?sslrootcert=system"), None, &[]).unwrap();
        assert_eq!(o.ssl_mode(), SslMode::VerifyFull);
        let e = err_text(res(
            Some("postgres://h/d?sslrootcert=system&sslmode=verify-ca"),
            None,
            &[],
        ));
        assert!(e.contains("weak sslmode \"verify-ca\""), "{e}");

        // How each mode reaches tokio-postgres for its first attempt.
        use tokio_postgres::config::SslMode as Tp;
        for (mode, tp) in [
            ("disable", Tp::Disable),
            ("allow", Tp::Disable),
            ("prefer", Tp::Prefer),
            ("require", Tp::Require),
            ("verify-ca", Tp::Require),
            ("verify-full", Tp::Require),
        ] {
            let o = res(Some(&format!("postgres://h/d?sslmode={mode}")), None, &[]).unwrap();
            let c = o.pg_config(Duration::from_secs(1), Duration::ZERO, Duration::ZERO);
            assert_eq!(c.get_ssl_mode(), tp, "{mode}");
        }
    }
    #[test]
    fn the_password_never_shows() {
        let dir = TempDir::new("mask");
        let pwfile = dir.file("pw", SECRET, 0o600);
        let with_url = res(
            Some(&format!(
                "postgres://app:{SECRET}@db.example.com:5433/appdb"
            )),
            None,
            &[],
        )
        .unwrap();
        let with_file = resolve_in(
            Some("postgres://app@db.example.com:5433/appdb"),
            None,
            Some(&pwfile),
            &env_of(&[]),
            &test_platform(),
        )
        .unwrap();
        let with_env = res(
            Some("postgres://app@db.example.com:5433/appdb"),
            None,
            &[("PGPASSWORD", SECRET)],
        )
        .unwrap();
        for o in [&with_url, &with_file, &with_env] {
            let shown = [
                o.to_string(),
                format!("{o:?}"),
                format!("{o:#?}"),
                o.display_url(),
                o.password_source(),
                o.target(),
                format!("{:?}", o.with_dbname("postgres")),
            ];
            for s in &shown {
                assert!(!s.contains(SECRET), "leaked: {s}");
            }
            assert_eq!(
                o.display_url(),
                "postgres://app:***@db.example.com:5433/appdb?sslmode=prefer"
            );
            assert!(format!("{o:?}").contains("***"));
            // The one place it belongs: the child's environment.
            assert!(o
                .tool_env()
                .contains(&("PGPASSWORD".to_string(), SECRET.to_string())));
        }
        let c = with_url.pg_config(Duration::from_secs(1), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_password(), Some(SECRET.as_bytes()));
    }

    #[test]
    fn display_url_and_tool_env() {
        let o = res(
            Some("postgres://my%20user@/my%2Fdb?host=/var/run/postgresql&sslrootcert=/etc/pg/root.crt&sslmode=verify-ca&connect_timeout=9&options=-c%20work_mem%3D64MB"),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            o.display_url(),
            "postgres://my%20user@/my%2Fdb?host=/var/run/postgresql&port=5432&sslmode=verify-ca&sslrootcert=/etc/pg/root.crt"
        );
        let env: HashMap<String, String> = o.tool_env().into_iter().collect();
        let want = [
            ("PGHOST", "/var/run/postgresql"),
            ("PGPORT", "5432"),
            ("PGUSER", "my user"),
            ("PGDATABASE", "my/db"),
            ("PGSSLMODE", "verify-ca"),
            ("PGSSLROOTCERT", "/etc/pg/root.crt"),
            ("PGAPPNAME", "opsbook"),
            ("PGCONNECT_TIMEOUT", "9"),
            ("PGOPTIONS", "-c work_mem=64MB"),
        ];
        for (k, v) in want {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(!env.contains_key("PGPASSWORD"));
        assert_eq!(env.len(), want.len());
        let o = res(Some("postgres://u@[::1]/d"), None, &[]).unwrap();
        assert_eq!(o.display_url(), "postgres://u@[::1]:5432/d?sslmode=prefer");
    }
}
