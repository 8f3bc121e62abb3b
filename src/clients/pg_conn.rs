//! PostgreSQL connection options resolved the way libpq resolves them (URL or conninfo string,
//! the PG* environment, ~/.pgpass, socket defaults), and a rustls connector that implements
//! libpq's sslmodes, which tokio-postgres alone does not (it knows no verify-ca / verify-full).
//!
//! Deliberate differences from libpq, each for a reason:
//! - one host only (no `host=a,b` failover): every command reports on exactly one server;
//! - `sslmode=prefer`/`allow` never verify the certificate, even when ~/.postgresql/root.crt
//!   exists: libpq would verify and then fall back to plaintext on failure, which protects nothing;
//! - unsupported libpq parameters (sslcert, service, hostaddr, ...) are an error rather than being
//!   silently ignored, so nobody believes a client certificate is in use when it is not.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

const DEFAULT_PORT: u16 = 5432;
/// Debian's compiled-in socket directory first, then upstream's.
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];
const APP_NAME: &str = "opsbook";
const URL_EXAMPLE: &str = "postgres://app@db.example.com:5432/appdb?sslmode=verify-full \
     (local socket: postgres:///appdb?host=/var/run/postgresql)";
const SUPPORTED_PARAMS: &str = "host, port, user, password, dbname, sslmode, sslrootcert, \
     connect_timeout, application_name, fallback_application_name, options, passfile, ssl";
/// libpq keywords we recognise but do not implement; named separately so the error says
/// "not supported" instead of "unknown", which would suggest a typo.
const UNSUPPORTED_LIBPQ_PARAMS: &[&str] = &[
    "hostaddr",
    "service",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "sslnegotiation",
    "sslcertmode",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "requirepeer",
    "require_auth",
    "channel_binding",
    "gssencmode",
    "gsslib",
    "gssdelegation",
    "krbsrvname",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "target_session_attrs",
    "load_balance_hosts",
    "replication",
    "client_encoding",
    "requiressl",
];
/// libpq environment variables whose settings we cannot honour; warned about so that a
/// difference between our connection and a child psql's is not a mystery.
const UNSUPPORTED_ENV: &[&str] = &["PGSERVICE", "PGHOSTADDR", "PGSSLCERT", "PGSSLKEY"];

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
enum PasswordSource {
    None,
    Url,
    PgPassword,
    PgPassFile(PathBuf),
    PasswordFile(PathBuf),
}

/// Resolved connection options. The password is kept out of every Display/Debug form.
#[derive(Clone)]
pub struct PgOptions {
    host: String,
    port: u16,
    user: String,
    dbname: String,
    password: Option<String>,
    password_source: PasswordSource,
    ssl_mode: SslMode,
    /// As given (a path, or `system`); None = the default ~/.postgresql/root.crt.
    sslrootcert: Option<String>,
    default_rootcert: Option<PathBuf>,
    connect_timeout: Option<Duration>,
    application_name: Option<String>,
    options: Option<String>,
    /// A pgpass file that exists and passed the permission check, kept so `with_dbname` can
    /// look the password up again: pgpass entries are per database.
    passfile: Option<PathBuf>,
    /// pgpass matches the default socket directory as `localhost`, like libpq.
    default_socket: bool,
    warnings: Vec<String>,
}

/// What the platform contributes to the defaults; a parameter so tests need not depend on the
/// account or the directories of the machine they run on.
struct Platform {
    os_user: Option<String>,
    pw_home: Option<PathBuf>,
    socket_dirs: Vec<PathBuf>,
}

impl Platform {
    fn current() -> Platform {
        let (os_user, pw_home) = passwd_entry();
        Platform {
            os_user,
            pw_home,
            socket_dirs: DEFAULT_SOCKET_DIRS.iter().map(PathBuf::from).collect(),
        }
    }
}

/// The name and home directory of the effective user, from the passwd database as libpq does.
fn passwd_entry() -> (Option<String>, Option<PathBuf>) {
    use std::ffi::{CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;

    let mut size = 4096usize;
    loop {
        let mut buf: Vec<libc::c_char> = vec![0; size];
        // SAFETY: passwd is plain data; zeroed is a valid "empty" value that getpwuid_r fills.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to live, correctly sized storage owned by this frame.
        let rc = unsafe {
            libc::getpwuid_r(
                libc::geteuid(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() {
            return (None, None);
        }
        // SAFETY: on success pw_name/pw_dir point to NUL-terminated strings inside `buf`.
        let name = (!pwd.pw_name.is_null())
            .then(|| unsafe { CStr::from_ptr(pwd.pw_name) })
            .and_then(|c| c.to_str().ok())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        // SAFETY: as above.
        let home = (!pwd.pw_dir.is_null())
            .then(|| unsafe { CStr::from_ptr(pwd.pw_dir) })
            .map(|c| PathBuf::from(OsStr::from_bytes(c.to_bytes())))
            .filter(|p| !p.as_os_str().is_empty());
        return (name, home);
    }
}

/// The parameters one connection string spells out; everything else comes from the environment.
#[derive(Default, Debug)]
struct Params {
    host: Option<String>,
    port: Option<String>,
    user: Option<String>,
    password: Option<String>,
    dbname: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    connect_timeout: Option<String>,
    application_name: Option<String>,
    fallback_application_name: Option<String>,
    options: Option<String>,
    passfile: Option<String>,
}

/// Decides whether fragments of a malformed connection string may appear in an error: not when
/// the string may hold a password, since a malformed string is exactly where a password ends
/// up in the "wrong" component.
struct Echo(bool);

impl Echo {
    fn for_input(s: &str) -> Echo {
        let lower = s.to_ascii_lowercase();
        let url_password = match s.find("://") {
            Some(start) => {
                let rest = &s[start + 3..];
                rest.rfind('@').is_some_and(|at| rest[..at].contains(':'))
            }
            None => false,
        };
        Echo(!url_password && !lower.contains("password"))
    }

    fn q(&self, fragment: &str) -> String {
        if self.0 {
            format!(" \"{fragment}\"")
        } else {
            String::new()
        }
    }
}

impl Params {
    fn set(&mut self, key: &str, value: String, echo: &Echo) -> Result<(), String> {
        let slot = match key {
            "host" => &mut self.host,
            "port" => &mut self.port,
            "user" => &mut self.user,
            "password" => &mut self.password,
            "dbname" => &mut self.dbname,
            "sslmode" => &mut self.sslmode,
            "sslrootcert" => &mut self.sslrootcert,
            "connect_timeout" => &mut self.connect_timeout,
            "application_name" => &mut self.application_name,
            "fallback_application_name" => &mut self.fallback_application_name,
            "options" => &mut self.options,
            "passfile" => &mut self.passfile,
            // JDBC's spelling, which libpq accepts in URLs for compatibility.
            "ssl" => {
                if value != "true" {
                    return Err(format!(
                        "parameter ssl accepts only \"true\" (use sslmode=... instead){}",
                        echo.q(&value)
                    ));
                }
                self.sslmode = Some("require".to_string());
                return Ok(());
            }
            other if UNSUPPORTED_LIBPQ_PARAMS.contains(&other) => {
                return Err(format!(
                    "connection parameter \"{other}\" is not supported by opsbook (supported: {SUPPORTED_PARAMS})"
                ))
            }
            other => {
                return Err(format!(
                    "unknown connection parameter{} (supported: {SUPPORTED_PARAMS})",
                    echo.q(other)
                ))
            }
        };
        *slot = Some(value);
        Ok(())
    }
}

fn parse_conn_string(input: &str) -> Result<Params, String> {
    let echo = Echo::for_input(input);
    let lower = input.to_ascii_lowercase();
    for scheme in ["postgresql://", "postgres://"] {
        if lower.starts_with(scheme) {
            return parse_url(&input[scheme.len()..], &echo);
        }
    }
    if input.contains('=') {
        return parse_conninfo(input, &echo);
    }
    if input.contains("://") {
        return Err("the scheme must be postgres:// or postgresql://".to_string());
    }
    Err("not a PostgreSQL URL or key=value connection string".to_string())
}

fn parse_url(rest: &str, echo: &Echo) -> Result<Params, String> {
    let mut params = Params::default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let after = &rest[authority_end..];
    let (path, query) = match after.find('?') {
        Some(q) => (&after[..q], Some(&after[q + 1..])),
        None => (after, None),
    };

    // The last '@' so an unencoded '@' inside the password still parses.
    let hostspec = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, password) = match userinfo.find(':') {
                Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                None => (userinfo, None),
            };
            let user = percent_decode(user).map_err(|e| format!("user name: {e}"))?;
            if !user.is_empty() {
                params.user = Some(user);
            }
            if let Some(pw) = password {
                // Never echo anything of the password, not even why it failed to decode.
                let pw = percent_decode(pw)
                    .map_err(|_| "the password is not validly percent-encoded".to_string())?;
                params.password = Some(pw);
            }
            &authority[at + 1..]
        }
        None => authority,
    };

    if hostspec.contains(',') {
        return Err("multiple hosts are not supported; give one host".to_string());
    }
    let (host, port) = if let Some(inner) = hostspec.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| "IPv6 address is missing its closing ']'".to_string())?;
        let tail = &inner[close + 1..];
        let port =
            if tail.is_empty() {
                None
            } else {
                Some(tail.strip_prefix(':').ok_or_else(|| {
                    format!("unexpected text after the IPv6 address{}", echo.q(tail))
                })?)
            };
        (&inner[..close], port)
    } else {
        match hostspec.rfind(':') {
            Some(c) => (&hostspec[..c], Some(&hostspec[c + 1..])),
            None => (hostspec, None),
        }
    };
    let host = percent_decode(host).map_err(|e| format!("host: {e}"))?;
    if !host.is_empty() {
        params.host = Some(host);
    }
    if let Some(port) = port.filter(|p| !p.is_empty()) {
        params.port = Some(percent_decode(port).map_err(|e| format!("port: {e}"))?);
    }

    let db = path.strip_prefix('/').unwrap_or(path);
    let db = percent_decode(db).map_err(|e| format!("database name: {e}"))?;
    if !db.is_empty() {
        params.dbname = Some(db);
    }

    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("query parameter{} has no '=value'", echo.q(pair)))?;
        let key = percent_decode(key).map_err(|e| format!("query parameter name: {e}"))?;
        let value = percent_decode(value)
            .map_err(|e| format!("value of query parameter{}: {e}", echo.q(&key)))?;
        // Query parameters override the URL's components, as in libpq (`?host=/socket/dir`).
        params.set(&key, value, echo)?;
    }
    Ok(params)
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "invalid percent-encoding (expected %XX)".to_string())?;
            if hex == 0 {
                return Err("percent-encoded NUL (%00) is not allowed".to_string());
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-decoded text is not valid UTF-8".to_string())
}

/// libpq's `key=value key2='quoted \' value'` syntax.
fn parse_conninfo(input: &str, echo: &Echo) -> Result<Params, String> {
    let mut params = Params::default();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        skip_ws(&mut i);
        if i >= chars.len() || chars[i] != '=' {
            return Err(format!(
                "missing \"=\" after{} in the key=value connection string",
                if echo.0 {
                    echo.q(&key)
                } else {
                    " a keyword".to_string()
                }
            ));
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    '\'' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(format!("unterminated quoted value for \"{key}\""));
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        params.set(&key, value, echo)?;
    }
    Ok(params)
}

fn parse_port(text: &str, echo: &Echo) -> anyhow::Result<u16> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("invalid port{} (must be 1-65535)", echo.q(text)),
    }
}

/// libpq: zero or negative waits forever, and 1 second is raised to 2.
fn parse_connect_timeout(text: &str, what: &str) -> anyhow::Result<Option<Duration>> {
    let secs: i64 = text
        .trim()
        .parse()
        .map_err(|_| anyhow!("invalid integer value \"{text}\" for connect_timeout in {what}"))?;
    Ok(match secs {
        s if s <= 0 => None,
        1 => Some(Duration::from_secs(2)),
        s => Some(Duration::from_secs(s.unsigned_abs())),
    })
}

/// A secret file may not be readable by anybody else (libpq's rule for ~/.pgpass).
fn group_or_world_accessible(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 != 0
}

fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let first = super::read_secret_file_as(path, "password_file")?;
    let first = first.trim_end_matches('\r');
    if first.is_empty() {
        bail!("password_file {} has an empty first line", path.display());
    }
    Ok(first.to_string())
}

/// The pgpass file's text: Ok(None) when it does not exist, Err(warning) when libpq would
/// ignore it.
fn read_pgpass(path: &Path) -> Result<Option<String>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "WARNING: password file \"{}\" cannot be read: {e}",
                path.display()
            ))
        }
    };
    if !meta.is_file() {
        return Err(format!(
            "WARNING: password file \"{}\" is not a plain file",
            path.display()
        ));
    }
    if group_or_world_accessible(&meta) {
        return Err(format!(
            "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            path.display()
        ));
    }
    std::fs::read_to_string(path).map(Some).map_err(|e| {
        format!(
            "WARNING: password file \"{}\" cannot be read: {e}",
            path.display()
        )
    })
}

/// One pgpass field: `*` alone is a wildcard, `\` escapes the next character (so `\*` is a
/// literal star and `\:` a literal colon). Returns the field and the rest after its ':'.
fn pgpass_field(s: &str) -> Option<(Option<String>, &str)> {
    if let Some(rest) = s.strip_prefix("*:") {
        return Some((None, rest));
    }
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => return None,
            },
            ':' => return Some((Some(out), &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

fn pgpass_lookup(content: &str, host: &str, port: &str, db: &str, user: &str) -> Option<String> {
    'lines: for line in content.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        for wanted in [host, port, db, user] {
            match pgpass_field(rest) {
                Some((field, tail)) => {
                    if field.as_deref().is_some_and(|f| f != wanted) {
                        continue 'lines;
                    }
                    rest = tail;
                }
                None => continue 'lines,
            }
        }
        // The password runs to the next unescaped ':' (libpq ignores anything after it).
        let mut password = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => password.push(escaped),
                    None => break,
                },
                ':' => break,
                c => password.push(c),
            }
        }
        return (!password.is_empty()).then_some(password);
    }
    None
}

impl PgOptions {
    /// Resolve with this precedence: `flag_url` (--pg) > env DATABASE_URL > `config_url` > libpq
    /// environment > local socket defaults. The PG* environment fills in whatever the chosen
    /// URL leaves out. Password: the URL's > `password_file` (config) > PGPASSWORD > pgpass file.
    pub fn resolve(
        flag_url: Option<&str>,
        config_url: Option<&str>,
        password_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<PgOptions> {
        resolve_in(
            flag_url,
            config_url,
            password_file,
            env,
            &Platform::current(),
        )
    }

    /// Same server and credentials, another database (the pgpass lookup is redone, since
    /// pgpass entries may be per database).
    pub fn with_dbname(&self, db: &str) -> PgOptions {
        let mut other = self.clone();
        other.dbname = db.to_string();
        let from_pgpass = matches!(
            self.password_source,
            PasswordSource::None | PasswordSource::PgPassFile(_)
        );
        if let (true, Some(path)) = (from_pgpass, &self.passfile) {
            other.password = None;
            other.password_source = PasswordSource::None;
            if let Ok(Some(content)) = read_pgpass(path) {
                if let Some(pw) = pgpass_lookup(
                    &content,
                    other.pgpass_host(),
                    &other.port.to_string(),
                    &other.dbname,
                    &other.user,
                ) {
                    other.password = Some(pw);
                    other.password_source = PasswordSource::PgPassFile(path.clone());
                }
            }
        }
        other
    }

    /// Same host and credentials on another port (the pgpass lookup is redone: entries may be
    /// per port).
    pub fn with_port(&self, port: u16) -> PgOptions {
        let mut other = self.clone();
        other.port = port;
        other.with_dbname(&self.dbname)
    }

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

    fn pgpass_host(&self) -> &str {
        if self.default_socket {
            "localhost"
        } else {
            &self.host
        }
    }

    fn application_name(&self) -> &str {
        self.application_name.as_deref().unwrap_or(APP_NAME)
    }

    /// Never longer than either the caller's bound or the URL's; zero means "no bound", as in libpq.
    fn effective_connect_timeout(&self, given: Duration) -> Option<Duration> {
        let given = (!given.is_zero()).then_some(given);
        match (given, self.connect_timeout) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The tokio_postgres::Config for this target. `options` carries statement_timeout and
    /// lock_timeout so every session of ours has both; they replace any the user gave, since
    /// the caller chose them for the operation at hand. The sslmode set here is only the
    /// first attempt's; `connect` implements allow/verify-* around it.
    pub fn pg_config(
        &self,
        connect_timeout: Duration,
        statement_timeout: Duration,
        lock_timeout: Duration,
    ) -> tokio_postgres::Config {
        use tokio_postgres::config::SslMode as TpSslMode;
        let mut c = tokio_postgres::Config::new();
        if self.is_local_socket() {
            c.host_path(&self.host);
        } else {
            c.host(&self.host);
        }
        c.port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(self.application_name())
            .options(merge_options(
                self.options.as_deref(),
                statement_timeout,
                lock_timeout,
            ));
        if let Some(pw) = &self.password {
            c.password(pw.as_bytes());
        }
        if let Some(t) = self.effective_connect_timeout(connect_timeout) {
            c.connect_timeout(t);
        }
        // libpq never negotiates TLS over a Unix socket, whatever sslmode says.
        c.ssl_mode(match self.ssl_mode {
            _ if self.is_local_socket() => TpSslMode::Disable,
            SslMode::Disable | SslMode::Allow => TpSslMode::Disable,
            SslMode::Prefer => TpSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => TpSslMode::Require,
        });
        c
    }

    /// Connect, spawning the connection task on the current runtime, honouring sslmode. The
    /// whole attempt (including a retry for allow/prefer) is bounded by the connect timeout,
    /// so a server that accepts TCP and then says nothing still times out.
    pub async fn connect(
        &self,
        connect_timeout: Duration,
        statement_timeout: Duration,
        lock_timeout: Duration,
    ) -> anyhow::Result<Client> {
        let config = self.pg_config(connect_timeout, statement_timeout, lock_timeout);
        // Until its pid is known, a count of connections waits (own_sessions).
        let _opening = super::own_sessions::opening().await;
        let attempt = async {
            let client = self.establish(&config).await?;
            // The backend pid, so connection counts leave this session out.
            if let Ok(row) = client.query_one("SELECT pg_backend_pid()", &[]).await {
                if let Ok(pid) = row.try_get::<_, i32>(0) {
                    super::own_sessions::register(pid);
                }
            }
            Ok(client)
        };
        let result = match self.effective_connect_timeout(connect_timeout) {
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(r) => r,
                Err(_) => Err(anyhow!("timed out after {limit:?}")),
            },
            None => attempt.await,
        };
        result.with_context(|| format!("connecting to {}", self.target()))
    }

    /// "PostgreSQL at 127.0.0.1:5433 (db postgres, user app)" — never the password.
    fn target(&self) -> String {
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

    async fn establish(&self, config: &tokio_postgres::Config) -> anyhow::Result<Client> {
        use tokio_postgres::config::SslMode as TpSslMode;
        if self.is_local_socket() {
            return Ok(spawn_connect(config, NoTls).await?);
        }
        match self.ssl_mode {
            SslMode::Disable => Ok(spawn_connect(config, NoTls).await?),
            SslMode::Allow => match spawn_connect(config, NoTls).await {
                Ok(client) => Ok(client),
                // libpq's allow: only a server that answered (rejecting plaintext) earns a TLS retry.
                Err(first) if first.as_db_error().is_some() => {
                    let mut tls_config = config.clone();
                    tls_config.ssl_mode(TpSslMode::Require);
                    let tls = self.tls_connector(&Verification::None)?;
                    spawn_connect(&tls_config, tls).await.map_err(|second| {
                        anyhow::Error::from(second).context(format!(
                            "{}; then with TLS (sslmode=allow)",
                            error_text(&first)
                        ))
                    })
                }
                Err(first) => Err(first.into()),
            },
            SslMode::Prefer => {
                let tls = self.tls_connector(&Verification::None)?;
                match spawn_connect(config, tls).await {
                    Ok(client) => Ok(client),
                    // libpq's prefer: a failed handshake is retried once in plaintext.
                    Err(first) if is_tls_failure(&first) => {
                        let mut plain = config.clone();
                        plain.ssl_mode(TpSslMode::Disable);
                        spawn_connect(&plain, NoTls).await.map_err(|second| {
                            anyhow::Error::from(second).context(format!(
                                "{}; then without TLS (sslmode=prefer)",
                                error_text(&first)
                            ))
                        })
                    }
                    Err(first) => Err(first.into()),
                }
            }
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                let tls = self.tls_connector(&self.verification()?)?;
                spawn_connect(config, tls).await.map_err(|e| {
                    if is_tls_failure(&e) {
                        anyhow::Error::from(e).context(format!("sslmode={}", self.ssl_mode))
                    } else {
                        e.into()
                    }
                })
            }
        }
    }

    fn rootcert_path(&self) -> Option<PathBuf> {
        match self.sslrootcert.as_deref() {
            Some(p) => Some(PathBuf::from(p)),
            None => self.default_rootcert.clone(),
        }
    }

    /// What the certificate is checked against for sslmode require and verify-*.
    fn verification(&self) -> anyhow::Result<Verification> {
        let system = self.sslrootcert.as_deref() == Some("system");
        match self.ssl_mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => Ok(Verification::None),
            SslMode::Require => {
                // libpq: with a root certificate at hand, require behaves like verify-ca.
                if system {
                    return Ok(Verification::Chain(system_roots()?));
                }
                match self.rootcert_path() {
                    Some(path) if path.is_file() => Ok(Verification::Chain(load_roots(&path)?)),
                    _ => Ok(Verification::None),
                }
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = if system {
                    system_roots()?
                } else {
                    let path = self.rootcert_path().ok_or_else(|| {
                        anyhow!(
                            "could not get home directory to locate root certificate file\n\
                             Either provide the file, use the system's trusted roots with sslrootcert=system, \
                             or change sslmode to disable server certificate verification."
                        )
                    })?;
                    if !path.exists() {
                        bail!(
                            "root certificate file \"{}\" does not exist\n\
                             Either provide the file, use the system's trusted roots with sslrootcert=system, \
                             or change sslmode to disable server certificate verification.",
                            path.display()
                        );
                    }
                    load_roots(&path)?
                };
                Ok(if self.ssl_mode == SslMode::VerifyFull {
                    Verification::ChainAndName(roots)
                } else {
                    Verification::Chain(roots)
                })
            }
        }
    }

    fn tls_connector(&self, verification: &Verification) -> anyhow::Result<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algs = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = match verification {
            Verification::None => Arc::new(AcceptAnyCert { algs }),
            Verification::Chain(roots) => Arc::new(ChainVerifier {
                roots: roots.clone(),
                algs,
                check_name: false,
            }),
            Verification::ChainAndName(roots) => Arc::new(ChainVerifier {
                roots: roots.clone(),
                algs,
                check_name: true,
            }),
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
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
        let mut url = format!("postgres://{}", url_encode(&self.user, ""));
        if self.password.is_some() {
            url.push_str(":***");
        }
        url.push('@');
        let mut query = Vec::new();
        if self.is_local_socket() {
            query.push(format!("host={}", url_encode(&self.host, "/")));
            query.push(format!("port={}", self.port));
        } else if self.host.contains(':') {
            url.push_str(&format!("[{}]:{}", self.host, self.port));
        } else {
            url.push_str(&format!("{}:{}", url_encode(&self.host, ""), self.port));
        }
        url.push('/');
        url.push_str(&url_encode(&self.dbname, ""));
        query.push(format!("sslmode={}", self.ssl_mode));
        if let Some(root) = &self.sslrootcert {
            query.push(format!("sslrootcert={}", url_encode(root, "/")));
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

fn resolve_in(
    flag_url: Option<&str>,
    config_url: Option<&str>,
    password_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    platform: &Platform,
) -> anyhow::Result<PgOptions> {
    // libpq treats an empty variable like an unset one for every setting we read.
    let getenv = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let chosen = [
        ("--pg", flag_url.map(str::to_string)),
        ("DATABASE_URL", getenv("DATABASE_URL")),
        ("the config's postgres.url", config_url.map(str::to_string)),
    ]
    .into_iter()
    .find_map(|(src, url)| url.filter(|u| !u.trim().is_empty()).map(|u| (src, u)));

    let (params, echo) = match &chosen {
        Some((src, text)) => {
            let text = text.trim();
            let params = parse_conn_string(text).map_err(|msg| {
                anyhow!(
                    "invalid PostgreSQL connection string from {src}: {msg}\nexample of a valid URL: {URL_EXAMPLE}"
                )
            })?;
            (params, Echo::for_input(text))
        }
        None => (Params::default(), Echo(true)),
    };
    let src = chosen.as_ref().map_or("the environment", |(s, _)| *s);
    let bad_param = |e: anyhow::Error| {
        anyhow!(
            "invalid PostgreSQL connection string from {src}: {e}\nexample of a valid URL: {URL_EXAMPLE}"
        )
    };
    let mut warnings = Vec::new();

    let port = match (&params.port, getenv("PGPORT")) {
        (Some(p), _) => parse_port(p, &echo).map_err(bad_param)?,
        (None, Some(p)) => parse_port(&p, &Echo(true)).map_err(|e| anyhow!("{e} in PGPORT"))?,
        (None, None) => DEFAULT_PORT,
    };
    let host = match params.host.clone().or_else(|| getenv("PGHOST")) {
        Some(h) => {
            if h.contains(',') {
                bail!("multiple hosts are not supported; give one host (from {src} or PGHOST)");
            }
            h
        }
        None => default_socket_dir(&platform.socket_dirs, port),
    };
    let default_socket = host.starts_with('/')
        && platform
            .socket_dirs
            .iter()
            .any(|d| Path::new(host.trim_end_matches('/')) == d.as_path());
    let user = params
        .user
        .clone()
        .or_else(|| getenv("PGUSER"))
        .or_else(|| platform.os_user.clone())
        .or_else(|| getenv("USER"))
        .ok_or_else(|| {
            anyhow!(
                "cannot determine the PostgreSQL user name: set PGUSER or put the user in the URL"
            )
        })?;
    let dbname = params
        .dbname
        .clone()
        .or_else(|| getenv("PGDATABASE"))
        .unwrap_or_else(|| user.clone());

    let sslrootcert = params
        .sslrootcert
        .clone()
        .or_else(|| getenv("PGSSLROOTCERT"));
    let ssl_mode = match (params.sslmode.as_deref(), getenv("PGSSLMODE")) {
        (Some(m), _) => m.parse::<SslMode>().map_err(bad_param)?,
        (None, Some(m)) => m.parse::<SslMode>().context("in PGSSLMODE")?,
        // libpq 16: asking for the system roots implies checking the host name too.
        (None, None) if sslrootcert.as_deref() == Some("system") => SslMode::VerifyFull,
        (None, None) => SslMode::default(),
    };
    if sslrootcert.as_deref() == Some("system") && ssl_mode != SslMode::VerifyFull {
        // Any certificate a public CA issued for any name would pass a chain-only check.
        bail!(
            "weak sslmode \"{ssl_mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
        );
    }
    let connect_timeout = match (&params.connect_timeout, getenv("PGCONNECT_TIMEOUT")) {
        (Some(t), _) => parse_connect_timeout(t, "the connection string").map_err(bad_param)?,
        (None, Some(t)) => parse_connect_timeout(&t, "PGCONNECT_TIMEOUT")?,
        (None, None) => None,
    };
    let application_name = params
        .application_name
        .clone()
        .or_else(|| getenv("PGAPPNAME"))
        .or_else(|| params.fallback_application_name.clone());
    let options = params.options.clone().or_else(|| getenv("PGOPTIONS"));

    let home = getenv("HOME")
        .map(PathBuf::from)
        .or_else(|| platform.pw_home.clone());
    let default_rootcert = home
        .as_ref()
        .map(|h| h.join(".postgresql").join("root.crt"));
    let passfile_path = params
        .passfile
        .clone()
        .or_else(|| getenv("PGPASSFILE"))
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".pgpass")));

    let mut opts = PgOptions {
        host,
        port,
        user,
        dbname,
        password: None,
        password_source: PasswordSource::None,
        ssl_mode,
        sslrootcert,
        default_rootcert,
        connect_timeout,
        application_name,
        options,
        passfile: None,
        default_socket,
        warnings: Vec::new(),
    };

    if let Some(pw) = params.password.clone().filter(|p| !p.is_empty()) {
        opts.password = Some(pw);
        opts.password_source = PasswordSource::Url;
    } else if let Some(path) = password_file {
        opts.password = Some(read_password_file(path)?);
        opts.password_source = PasswordSource::PasswordFile(path.to_path_buf());
    } else if let Some(pw) = getenv("PGPASSWORD") {
        opts.password = Some(pw);
        opts.password_source = PasswordSource::PgPassword;
    }
    if let Some(path) = passfile_path {
        match read_pgpass(&path) {
            Ok(Some(content)) => {
                if opts.password.is_none() {
                    if let Some(pw) = pgpass_lookup(
                        &content,
                        opts.pgpass_host(),
                        &opts.port.to_string(),
                        &opts.dbname,
                        &opts.user,
                    ) {
                        opts.password = Some(pw);
                        opts.password_source = PasswordSource::PgPassFile(path.clone());
                    }
                }
                opts.passfile = Some(path);
            }
            Ok(None) => {}
            // Like libpq, only worth a word when the file would actually have been consulted.
            Err(warning) if opts.password.is_none() => warnings.push(warning),
            Err(_) => {}
        }
    }

    for var in UNSUPPORTED_ENV {
        if getenv(var).is_some() {
            warnings.push(format!(
                "{var} is set but opsbook ignores it (child tools such as psql will still use it)"
            ));
        }
    }
    opts.warnings = warnings;
    Ok(opts)
}

/// The first default directory that holds this port's socket; the first directory when none
/// does, so the eventual "no such file" names the conventional place.
fn default_socket_dir(dirs: &[PathBuf], port: u16) -> String {
    let socket = format!(".s.PGSQL.{port}");
    dirs.iter()
        .find(|d| d.join(&socket).exists())
        .or_else(|| dirs.first())
        .map_or_else(
            || DEFAULT_SOCKET_DIRS[0].to_string(),
            |d| d.to_string_lossy().into_owned(),
        )
}

/// Percent-encode everything but RFC 3986 unreserved characters and `keep`.
fn url_encode(s: &str, keep: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// User options with our statement_timeout/lock_timeout in place of any the user gave.
fn merge_options(
    user: Option<&str>,
    statement_timeout: Duration,
    lock_timeout: Duration,
) -> String {
    let ours = format!(
        "-c statement_timeout={} -c lock_timeout={}",
        statement_timeout.as_millis(),
        lock_timeout.as_millis()
    );
    let kept = user.map(strip_timeout_settings).unwrap_or_default();
    if kept.is_empty() {
        ours
    } else {
        format!("{kept} {ours}")
    }
}

/// Split like the server's pg_split_opts (whitespace-separated, `\` escapes), keeping each
/// token's raw text so what survives is passed on byte for byte.
fn option_tokens(s: &str) -> Vec<(String, String)> {
    let mut tokens = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let (mut raw, mut value) = (String::new(), String::new());
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            raw.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    raw.push(next);
                    value.push(next);
                }
            } else {
                value.push(c);
            }
        }
        tokens.push((raw, value));
    }
    tokens
}

fn strip_timeout_settings(options: &str) -> String {
    let is_ours = |setting: &str| {
        let name = setting.split('=').next().unwrap_or("");
        let name = name.trim().to_ascii_lowercase().replace('-', "_");
        name == "statement_timeout" || name == "lock_timeout"
    };
    let tokens = option_tokens(options);
    let mut kept = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let value = tokens[i].1.as_str();
        if value == "-c" {
            if let Some(next) = tokens.get(i + 1) {
                if is_ours(&next.1) {
                    i += 2;
                    continue;
                }
                kept.push(tokens[i].0.clone());
                kept.push(next.0.clone());
                i += 2;
                continue;
            }
        } else if let Some(setting) = value
            .strip_prefix("--")
            .or_else(|| value.strip_prefix("-c"))
        {
            if setting.contains('=') && is_ours(setting) {
                i += 1;
                continue;
            }
        }
        kept.push(tokens[i].0.clone());
        i += 1;
    }
    kept.join(" ")
}

async fn spawn_connect<T>(
    config: &tokio_postgres::Config,
    tls: T,
) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        // A broken connection surfaces as an error on the client's next call, where the caller
        // has the context to report it; printing here would only duplicate it.
        let _ = connection.await;
    });
    Ok(client)
}

/// An error and its causes on one line: tokio-postgres puts the interesting part ("FATAL:
/// password authentication failed ...") in the source, not in its own Display.
fn error_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether a connect failed in the TLS handshake itself (as opposed to TCP or authentication).
fn is_tls_failure(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    if e.to_string().starts_with("error performing TLS handshake") {
        return true;
    }
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        source = s.source();
    }
    false
}

enum Verification {
    None,
    Chain(Arc<RootCertStore>),
    ChainAndName(Arc<RootCertStore>),
}

fn load_roots(path: &Path) -> anyhow::Result<Arc<RootCertStore>> {
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading root certificate file \"{}\"", path.display()))?;
    for cert in certs {
        let cert =
            cert.with_context(|| format!("parsing root certificate file \"{}\"", path.display()))?;
        store.add(cert).with_context(|| {
            format!(
                "adding a certificate from root certificate file \"{}\"",
                path.display()
            )
        })?;
    }
    if store.is_empty() {
        bail!(
            "root certificate file \"{}\" contains no PEM certificate",
            path.display()
        );
    }
    Ok(Arc::new(store))
}

fn system_roots() -> anyhow::Result<Arc<RootCertStore>> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (_added, _ignored) = store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        bail!("sslrootcert=system: no trusted root certificates found on this system{why}");
    }
    Ok(Arc::new(store))
}

/// sslmode prefer/allow/require without a root certificate: encryption without authentication,
/// exactly what libpq does. The handshake signature is still checked.
#[derive(Debug)]
struct AcceptAnyCert {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// verify-ca (chain only) and verify-full (chain and host name, with libpq's fallback to the
/// subject CN when the certificate has no subjectAltName of the host's kind — many
/// PostgreSQL server certificates are made that way, and rustls alone would reject them).
#[derive(Debug)]
struct ChainVerifier {
    roots: Arc<RootCertStore>,
    algs: WebPkiSupportedAlgorithms,
    check_name: bool,
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algs.all,
        )?;
        if self.check_name {
            match verify_server_name(&cert, server_name) {
                Ok(()) => {}
                Err(
                    e @ rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. },
                    ),
                ) => {
                    if !common_name_matches(end_entity.as_ref(), server_name) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// libpq's CN rule: consulted only when the certificate has no subjectAltName entry of the
/// host's kind (dNSName for a name, iPAddress for an address); the first CN then must match,
/// with a `*.` wildcard allowed for one leading label of a name.
fn common_name_matches(cert_der: &[u8], server_name: &ServerName<'_>) -> bool {
    let (host, is_ip) = match server_name {
        ServerName::DnsName(d) => (d.as_ref().to_string(), false),
        ServerName::IpAddress(ip) => (std::net::IpAddr::from(*ip).to_string(), true),
        _ => return false,
    };
    let Some(info) = der::name_info(cert_der) else {
        return false;
    };
    if (is_ip && info.san_ip) || (!is_ip && info.san_dns) {
        return false;
    }
    let Some(cn) = info.first_cn else {
        return false;
    };
    if cn.eq_ignore_ascii_case(&host) {
        return true;
    }
    if is_ip {
        return false;
    }
    match cn.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => false,
    }
}

/// Just enough DER to read a certificate's subject CN and the kinds of its subjectAltNames;
/// the chain itself has already been verified by webpki when this runs.
mod der {
    const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
    const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

    pub struct NameInfo {
        pub first_cn: Option<String>,
        pub san_dns: bool,
        pub san_ip: bool,
    }

    /// One TLV: (tag, contents, rest).
    fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&len0, mut rest) = rest.split_first()?;
        let len = if len0 < 0x80 {
            usize::from(len0)
        } else {
            let n = usize::from(len0 & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            let (bytes, after) = rest.split_at_checked(n)?;
            rest = after;
            bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
        };
        let (contents, rest) = rest.split_at_checked(len)?;
        Some((tag, contents, rest))
    }

    fn children(mut input: &[u8]) -> Option<Vec<(u8, &[u8])>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (tag, contents, rest) = read(input)?;
            out.push((tag, contents));
            input = rest;
        }
        Some(out)
    }

    fn string(tag: u8, bytes: &[u8]) -> Option<String> {
        let s = match tag {
            0x0c => String::from_utf8(bytes.to_vec()).ok()?,
            // PrintableString, TeletexString, IA5String: only their ASCII subset is meaningful here.
            0x13 | 0x14 | 0x16 if bytes.is_ascii() => String::from_utf8(bytes.to_vec()).ok()?,
            0x1e if bytes.len().is_multiple_of(2) => {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).ok()?
            }
            _ => return None,
        };
        // libpq refuses names with embedded NULs: they are a classic spoofing trick.
        (!s.contains('\0')).then_some(s)
    }

    pub fn name_info(cert: &[u8]) -> Option<NameInfo> {
        let (0x30, cert, _) = read(cert)? else {
            return None;
        };
        let (0x30, tbs, _) = read(cert)? else {
            return None;
        };
        let fields = children(tbs)?;
        let skip = usize::from(fields.first()?.0 == 0xa0);
        // serial, signature, issuer, validity, subject
        let (subject_tag, subject) = *fields.get(skip + 4)?;
        if subject_tag != 0x30 {
            return None;
        }
        let mut first_cn = None;
        'rdns: for (set_tag, set) in children(subject)? {
            if set_tag != 0x31 {
                continue;
            }
            for (atv_tag, atv) in children(set)? {
                if atv_tag != 0x30 {
                    continue;
                }
                let parts = children(atv)?;
                if let [(0x06, oid), (value_tag, value)] = parts.as_slice() {
                    if *oid == OID_CN {
                        first_cn = Some(string(*value_tag, value)?);
                        break 'rdns;
                    }
                }
            }
        }
        let (mut san_dns, mut san_ip) = (false, false);
        if let Some((_, exts)) = fields.iter().skip(skip + 6).find(|(t, _)| *t == 0xa3) {
            let (0x30, list, _) = read(exts)? else {
                return None;
            };
            for (_, ext) in children(list)? {
                let parts = children(ext)?;
                let Some((0x06, oid)) = parts.first() else {
                    continue;
                };
                if *oid != OID_SAN {
                    continue;
                }
                let (0x04, value) = *parts.last()? else {
                    return None;
                };
                let (0x30, names, _) = read(value)? else {
                    return None;
                };
                for (tag, _) in children(names)? {
                    match tag {
                        0x82 => san_dns = true,
                        0x87 => san_ip = true,
                        _ => {}
                    }
                }
            }
        }
        Some(NameInfo {
            first_cn,
            san_dns,
            san_ip,
        })
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
    use super::*;
    use std::collections::HashMap;
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SECRET: &str = "s3cr3t-pw";

    /// Test certificates made with `openssl ca` (P-256, valid 2020-2100): a CA, an unrelated
    /// CA, a server certificate with only CN=db.example.com, one with SANs db.example.com and
    /// 127.0.0.1 (CN ignored.example.com), and one with CN=*.example.com.
    const CA_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBZzCCAQ6gAwIBAgICEAAwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAaMRgw\n\
FgYDVQQDDA9vcHNib29rIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n\
AASUxkfrud6ATb0vw8kQoVxEapztNiFOmSD6kDPsCxre29nn4JidgfUI40EqTcMr\n\
cKqH1Zmp8KIYogO0xpYpw6x3o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB\n\
/wQEAwIBBjAdBgNVHQ4EFgQUWItmkrOUHqjPIYnFFCRQUQ2FO40wCgYIKoZIzj0E\n\
AwIDRwAwRAIgFJIiuh09JqmUK6hLmdcI8WLKq1DlXAZ8IoExF+izDSACIB2fTg08\n\
QJ7gzDGjNpLRIAevDxmxTppIPZefvZbxa+JN\n\
-----END CERTIFICATE-----\n\
";

    const CA2_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBWjCCAQCgAwIBAgICEAEwCgYIKoZIzj0EAwIwEzERMA8GA1UEAwwIb3RoZXIg\n\
Q0EwIBcNMjAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBMxETAPBgNVBAMM\n\
CG90aGVyIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgBqMWSkxzA/NTpzP\n\
ZdBSJnLuNfEmzJsjvld9DSKkii74hIZOn0iztZZUBTiXB32gR1d4QZuO4jIUJE42\n\
z+ExlqNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0O\n\
BBYEFLnW96DuxhsD1sEQOidRHBYI36RNMAoGCCqGSM49BAMCA0gAMEUCIGoQEQa7\n\
33TsByKHSlyRXE7eGYbAD334LluroN2u4otZAiEA476O23L+PwlG/AfCa6gulSk5\n\
ofSQteftBuaHpLeocOE=\n\
-----END CERTIFICATE-----\n\
";

    const CN_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBcTCCARigAwIBAgICEAIwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAZMRcw\n\
FQYDVQQDDA5kYi5leGFtcGxlLmNvbTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IA\n\
BDyYvTOzlWhztDYdCiNagqwgZ567C20gp1Lw5ycNYE2fZBW4QLgmaJHzDswBsZax\n\
0owmqoivujmHTm+RKZG1neijTTBLMAkGA1UdEwQCMAAwHQYDVR0OBBYEFBL2iBjT\n\
T48Ae62PKEBz5HpNvnrWMB8GA1UdIwQYMBaAFFiLZpKzlB6ozyGJxRQkUFENhTuN\n\
MAoGCCqGSM49BAMCA0cAMEQCIGDhXRHLl5CU3BNPN6G+JnlKuDyPqiv9RO41ooch\n\
fBccAiB4D6Z3SWEdn3jhkEKOtBq4J+ZsA7Fs8jZG3S2WNTY91Q==\n\
-----END CERTIFICATE-----\n\
";

    const SAN_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBsDCCAVWgAwIBAgICEAMwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAeMRww\n\
GgYDVQQDDBNpZ25vcmVkLmV4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n\
AQcDQgAEYYIWzN2vtcVZAZoqfBgQYNQSQgzgEVlT4UkqkIvtH8kI2O/z4zl2Ziqs\n\
ejGQXPxzj8Q8d4BVD2l8KH8y92apzqOBhDCBgTAJBgNVHRMEAjAAMB8GA1UdEQQY\n\
MBaCDmRiLmV4YW1wbGUuY29thwR/AAABMBMGA1UdJQQMMAoGCCsGAQUFBwMBMB0G\n\
A1UdDgQWBBRi+cZReTqgnSeGfufReRj9ssb//jAfBgNVHSMEGDAWgBRYi2aSs5Qe\n\
qM8hicUUJFBRDYU7jTAKBggqhkjOPQQDAgNJADBGAiEA+0dfr/JaielQhOkEpwbz\n\
9D+KELHymExR7GX8/6pa0nUCIQCARx/fc9JhFq3U5XsD0n0bT0MmFwlspjq1hoZ6\n\
LLnYwA==\n\
-----END CERTIFICATE-----\n\
";

    const WC_PEM: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBfjCCASOgAwIBAgICEAQwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPb3BzYm9v\n\
ayB0ZXN0IENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAkMRYw\n\
FAYDVQQDDA0qLmV4YW1wbGUuY29tMQowCAYDVQQKDAF4MFkwEwYHKoZIzj0CAQYI\n\
KoZIzj0DAQcDQgAErbiKz0k6HftLHe2Hg4fRJQtuqL7YEGkv9+X0NApZqAofV8JH\n\
TtHbqYyHY7fhSgMwPHoJNidkkLOSrxHZwYPNvqNNMEswCQYDVR0TBAIwADAdBgNV\n\
HQ4EFgQUESXbCSPqCbKZMJe7Y+LKjxywIuswHwYDVR0jBBgwFoAUWItmkrOUHqjP\n\
IYnFFCRQUQ2FO40wCgYIKoZIzj0EAwIDSQAwRgIhAPoYABF8xyqJOurxH1yzzaOn\n\
3mT+uoBF5RJamwj6gryCAiEAmP4T+IehUPhVkvsingnHC2Iha4OZgtr3v8aonKxB\n\
Z68=\n\
-----END CERTIFICATE-----\n\
";

    const SAN_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgkN+C5WhmXJTaIVqP\n\
4Yb0itVL9cbt01BmSjvk/DCMMkuhRANCAARhghbM3a+1xVkBmip8GBBg1BJCDOAR\n\
WVPhSSqQi+0fyQjY7/PjOXZmKqx6MZBc/HOPxDx3gFUPaXwofzL3ZqnO\n\
-----END PRIVATE KEY-----\n\
";

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let dir = std::env::temp_dir().join(format!(
                "opsbook-pgconn-{tag}-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn file(&self, name: &str, content: &str, mode: u32) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        }

        fn path(&self) -> String {
            self.0.to_string_lossy().into_owned()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// Socket directories that do not exist, no passwd home: nothing of this machine leaks in
    /// (in particular not the real ~/.pgpass).
    fn test_platform() -> Platform {
        Platform {
            os_user: Some("osuser".to_string()),
            pw_home: None,
            socket_dirs: vec![
                PathBuf::from("/nonexistent-opsbook/run"),
                PathBuf::from("/nonexistent-opsbook/tmp"),
            ],
        }
    }

    fn res(
        flag: Option<&str>,
        config: Option<&str>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<PgOptions> {
        resolve_in(flag, config, None, &env_of(env), &test_platform())
    }

    fn err_text(r: anyhow::Result<PgOptions>) -> String {
        match r {
            Ok(o) => panic!("expected an error, got {o:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn precedence_flag_then_database_url_then_config_then_env() {
        let env = [
            ("DATABASE_URL", "postgres://dburl-host/x"),
            ("PGHOST", "env-host"),
        ];
        let flag = Some("postgres://flag-host/x");
        let config = Some("postgres://config-host/x");
        assert_eq!(res(flag, config, &env).unwrap().host(), "flag-host");
        assert_eq!(res(None, config, &env).unwrap().host(), "dburl-host");
        assert_eq!(res(None, config, &env[1..]).unwrap().host(), "config-host");
        assert_eq!(res(None, None, &env[1..]).unwrap().host(), "env-host");
        // An empty DATABASE_URL is as good as unset.
        let empty = [("DATABASE_URL", ""), ("PGHOST", "env-host")];
        assert_eq!(res(None, config, &empty).unwrap().host(), "config-host");
        // URLs are not merged: the chosen one's gaps come from PG*, not from a lower URL.
        let o = res(
            Some("postgres://flag-host"),
            Some("postgres://cfguser@config-host:7777/cfgdb"),
            &[],
        )
        .unwrap();
        assert_eq!((o.port(), o.user(), o.dbname()), (5432, "osuser", "osuser"));
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let env = [
            ("PGPORT", "6543"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "require"),
            ("PGAPPNAME", "envapp"),
            ("PGCONNECT_TIMEOUT", "7"),
            ("PGSSLROOTCERT", "/etc/ssl/pg-root.crt"),
        ];
        let o = res(Some("postgres://db.example.com"), None, &env).unwrap();
        assert_eq!(o.host(), "db.example.com");
        assert_eq!(o.port(), 6543);
        assert_eq!(o.user(), "envuser");
        assert_eq!(o.dbname(), "envdb");
        assert_eq!(o.ssl_mode(), SslMode::Require);
        assert_eq!(o.connect_timeout(), Some(Duration::from_secs(7)));
        let c = o.pg_config(Duration::from_secs(30), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_application_name(), Some("envapp"));

        // What the URL does say wins over the environment.
        let o = res(
            Some("postgres://u@h:5000/d?sslmode=disable&application_name=urlapp&connect_timeout=0"),
            None,
            &env,
        )
        .unwrap();
        assert_eq!(
            (o.host(), o.port(), o.user(), o.dbname()),
            ("h", 5000, "u", "d")
        );
        assert_eq!(o.ssl_mode(), SslMode::Disable);
        assert_eq!(o.connect_timeout(), None);
        let c = o.pg_config(Duration::from_secs(30), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_application_name(), Some("urlapp"));

        // Env values are validated too, and named in the error.
        let e = err_text(res(None, None, &[("PGPORT", "70000")]));
        assert!(e.contains("PGPORT") && e.contains("70000"), "{e}");
        let e = err_text(res(None, None, &[("PGCONNECT_TIMEOUT", "soon")]));
        assert!(e.contains("PGCONNECT_TIMEOUT"), "{e}");
        let e = err_text(res(None, None, &[("PGHOST", "a,b")]));
        assert!(e.contains("multiple hosts"), "{e}");
    }

    #[test]
    fn connect_timeout_follows_libpq_rules() {
        let t = |v: &str| {
            res(None, None, &[("PGCONNECT_TIMEOUT", v)])
                .unwrap()
                .connect_timeout()
        };
        assert_eq!(t("-3"), None);
        assert_eq!(t("0"), None);
        assert_eq!(t("1"), Some(Duration::from_secs(2)));
        assert_eq!(t("15"), Some(Duration::from_secs(15)));
    }

    #[test]
    fn socket_defaults_pick_the_directory_holding_the_socket() {
        let a = TempDir::new("sock-a");
        let b = TempDir::new("sock-b");
        let platform = Platform {
            os_user: Some("osuser".to_string()),
            pw_home: None,
            socket_dirs: vec![a.0.clone(), b.0.clone()],
        };
        let none = env_of(&[]);
        let o = resolve_in(None, None, None, &none, &platform).unwrap();
        assert_eq!(
            o.host(),
            a.path(),
            "no socket anywhere: the first directory"
        );
        assert!(o.is_local_socket());
        assert_eq!((o.port(), o.user(), o.dbname()), (5432, "osuser", "osuser"));
        assert_eq!(o.ssl_mode(), SslMode::Prefer);

        b.file(".s.PGSQL.5432", "", 0o600);
        let o = resolve_in(None, None, None, &none, &platform).unwrap();
        assert_eq!(o.host(), b.path());
        // The socket name depends on the port.
        let other_port = env_of(&[("PGPORT", "5433")]);
        let o = resolve_in(None, None, None, &other_port, &platform).unwrap();
        assert_eq!(o.host(), a.path());

        // The real platform: some user, dbname = user, one of the conventional directories.
        let home = TempDir::new("home");
        let home_path = home.path();
        let o = PgOptions::resolve(None, None, None, &|k: &str| {
            (k == "HOME").then(|| home_path.clone())
        })
        .unwrap();
        assert!(!o.user().is_empty());
        assert_eq!(o.dbname(), o.user());
        assert!(DEFAULT_SOCKET_DIRS.contains(&o.host()), "{}", o.host());
        let c = o.pg_config(Duration::from_secs(1), Duration::ZERO, Duration::ZERO);
        assert!(matches!(
            c.get_hosts(),
            [tokio_postgres::config::Host::Unix(_)]
        ));
        assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
    }

    #[test]
    fn url_and_conninfo_parsing() {
        let o = res(
            Some("postgresql://al%40ice:p%40ss%3Aword@db.example.com:6000/my%20db?sslmode=verify-full"),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(o.user(), "al@ice");
        assert_eq!(o.password.as_deref(), Some("p@ss:word"));
        assert_eq!(o.dbname(), "my db");
        assert_eq!(o.ssl_mode(), SslMode::VerifyFull);

        let o = res(Some("postgres://u@[::1]:5433/d"), None, &[]).unwrap();
        assert_eq!((o.host(), o.port()), ("::1", 5433));
        assert_eq!(o.target(), "PostgreSQL at [::1]:5433 (db d, user u)");

        let o = res(
            Some("postgres:///appdb?host=/var/run/postgresql&port=5433"),
            None,
            &[],
        )
        .unwrap();
        assert_eq!(
            (o.host(), o.port(), o.dbname()),
            ("/var/run/postgresql", 5433, "appdb")
        );
        assert!(o.is_local_socket());
        let o = res(Some("postgres://%2Ftmp%2Fpg/appdb"), None, &[]).unwrap();
        assert_eq!(o.host(), "/tmp/pg");
        // An unencoded '@' in the password still parses.
        let o = res(Some("postgres://u:a@b@h/d"), None, &[]).unwrap();
        assert_eq!((o.host(), o.password.as_deref()), ("h", Some("a@b")));
        let o = res(Some("postgres://u@h/d?ssl=true"), None, &[]).unwrap();
        assert_eq!(o.ssl_mode(), SslMode::Require);

        let o = res(
            None,
            Some("host=db.internal port = 5444 dbname='my db' user=bob password='it\\'s' sslmode=verify-ca"),
            &[],
        )
        .unwrap();
        assert_eq!(
            (o.host(), o.port(), o.dbname(), o.user()),
            ("db.internal", 5444, "my db", "bob")
        );
        assert_eq!(o.password.as_deref(), Some("it's"));
        assert_eq!(o.ssl_mode(), SslMode::VerifyCa);
    }

    #[test]
    fn bad_urls_explain_and_never_echo_the_password() {
        let cases: &[(&str, &str)] = &[
            ("postgres://app:s3cr3t-pw@db:54x2/app", "port"),
            ("postgres://app:s3cr3t-pw@db:0/app", "port"),
            ("mysql://app:s3cr3t-pw@db/app", "postgres://"),
            ("just-a-word", "not a PostgreSQL URL"),
            (
                "postgres://app:s3cr3t-pw@db/app?sslcert=/x",
                "not supported",
            ),
            ("postgres://app:s3cr3t-pw@h1,h2/app", "multiple hosts"),
            ("postgres://app:s3cr3t-pw@db/app?sslmode=maybe", "sslmode"),
            (
                "postgres://app:s3cr3t-pw@db/app?sslmod=require",
                "unknown connection parameter",
            ),
            ("postgres://app:s3c%zzr3t-pw@db/app", "percent-encoded"),
            ("postgres://app:pa?sslmode=s3cr3t-pw@db/app", "sslmode"),
            ("postgres://app:pa?s3cr3t-pw@db/app", "'=value'"),
            ("host=db password=s3cr3t-pw port", "missing"),
            ("host=db password='s3cr3t-pw", "unterminated"),
            ("host=db password=s3 cr3t-pw", "missing"),
        ];
        for (url, expect) in cases {
            let e = err_text(res(Some(url), None, &[]));
            assert!(e.contains(expect), "{url}: {e}");
            assert!(e.contains("--pg"), "names the source: {e}");
            assert!(e.contains("example of a valid URL: postgres://"), "{e}");
            for fragment in ["s3cr3t", "cr3t-pw", "s3c"] {
                assert!(!e.contains(fragment), "{url} leaked the password: {e}");
            }
        }
        // Without a password around, the offending text is quoted to help.
        let e = err_text(res(None, Some("postgres://app@db:54x2/app"), &[]));
        assert!(e.contains("\"54x2\"") && e.contains("config"), "{e}");
        let e = err_text(res(None, Some("postgres://app@db/app?sslmod=require"), &[]));
        assert!(e.contains("\"sslmod\""), "{e}");
    }

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
    fn pgpass_matching() {
        let content = "\
# comment:with:colons:and:pw
db.example.com:5432:app:alice:alice-pw
db.example.com:5432:app:alice:second-match-never-used
*:*:*:bob:pw-\\:colon\\\\back:ignored-after-colon
fe80\\:\\:1:5432:*:*:v6pw
\\*:5432:*:carol:literal-star
too:few:fields:only
db.example.com:6000:*:*:port-6000
*:*:reports:*:reports-pw
";
        let l = |h: &str, p: &str, d: &str, u: &str| pgpass_lookup(content, h, p, d, u);
        assert_eq!(
            l("db.example.com", "5432", "app", "alice").as_deref(),
            Some("alice-pw")
        );
        assert_eq!(
            l("other", "1", "x", "bob").as_deref(),
            Some("pw-:colon\\back")
        );
        assert_eq!(l("fe80::1", "5432", "x", "dave").as_deref(), Some("v6pw"));
        assert_eq!(
            l("*", "5432", "x", "carol").as_deref(),
            Some("literal-star")
        );
        assert_eq!(
            l("elsewhere", "5432", "x", "carol"),
            None,
            "\\* is not a wildcard"
        );
        assert_eq!(
            l("db.example.com", "6000", "any", "anyone").as_deref(),
            Some("port-6000")
        );
        assert_eq!(l("db.example.com", "5433", "app", "alice"), None);
        assert_eq!(l("db.example.com", "5432", "app", "mallory"), None);
        assert_eq!(l("h", "1", "reports", "zed").as_deref(), Some("reports-pw"));
        assert_eq!(l("too", "few", "fields", "only"), None);
        assert_eq!(
            pgpass_lookup("h:1:d:u:\n", "h", "1", "d", "u"),
            None,
            "empty password"
        );
    }

    #[test]
    fn pgpass_file_resolution_and_permission_rule() {
        let dir = TempDir::new("pgpass");
        let home = dir.path();
        let pgpass = dir.file(
            ".pgpass",
            "localhost:5432:*:app:socket-pw\ndb.example.com:5432:appdb:app:appdb-pw\ndb.example.com:5432:otherdb:app:otherdb-pw\n",
            0o600,
        );
        let env = [("HOME", home.as_str()), ("PGUSER", "app")];

        let o = res(Some("postgres://db.example.com/appdb"), None, &env).unwrap();
        assert_eq!(o.password.as_deref(), Some("appdb-pw"));
        assert_eq!(
            o.password_source(),
            format!("pgpass file {}", pgpass.display())
        );
        assert!(o.warnings().is_empty(), "{:?}", o.warnings());
        // pgpass entries are per database: another database, another password.
        let other = o.with_dbname("otherdb");
        assert_eq!(other.dbname(), "otherdb");
        assert_eq!(other.password.as_deref(), Some("otherdb-pw"));
        let none = o.with_dbname("nodb");
        assert_eq!(
            (none.password.as_deref(), none.password_source().as_str()),
            (None, "none")
        );
        assert_eq!(none.host(), "db.example.com");

        // The default socket directory matches as "localhost", like libpq.
        let sock = TempDir::new("pgpass-sock");
        let platform = Platform {
            os_user: Some("app".to_string()),
            pw_home: None,
            socket_dirs: vec![sock.0.clone()],
        };
        let o = resolve_in(None, None, None, &env_of(&env), &platform).unwrap();
        assert!(o.is_local_socket());
        assert_eq!(o.password.as_deref(), Some("socket-pw"));

        // PGPASSFILE points elsewhere.
        let alt = dir.file("alt-pgpass", "*:*:*:*:alt-pw\n", 0o600);
        let alt_s = alt.to_string_lossy().into_owned();
        let env2 = [("HOME", home.as_str()), ("PGPASSFILE", alt_s.as_str())];
        let o = res(Some("postgres://db.example.com/appdb"), None, &env2).unwrap();
        assert_eq!(o.password.as_deref(), Some("alt-pw"));

        // Group/world access: ignored, with libpq's warning.
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o640)).unwrap();
        let o = res(Some("postgres://db.example.com/appdb"), None, &env).unwrap();
        assert_eq!(o.password, None);
        assert_eq!(o.password_source(), "none");
        assert_eq!(o.warnings().len(), 1);
        assert!(
            o.warnings()[0].contains("has group or world access"),
            "{:?}",
            o.warnings()
        );
        assert!(o.warnings()[0].contains(&pgpass.display().to_string()));
        // ... but not worth a warning when the password came from elsewhere.
        let with_pw = [("HOME", home.as_str()), ("PGPASSWORD", "x")];
        let o = res(Some("postgres://db.example.com/appdb"), None, &with_pw).unwrap();
        assert!(o.warnings().is_empty());
    }

    #[test]
    fn password_precedence_url_then_password_file_then_pgpassword_then_pgpass() {
        let dir = TempDir::new("pwprec");
        let home = dir.path();
        dir.file(".pgpass", "*:*:*:*:pgpass-pw\n", 0o600);
        let pwfile = dir.file("pw", "file-pw\nsecond line ignored\n", 0o600);
        let env_all = [("HOME", home.as_str()), ("PGPASSWORD", "env-pw")];
        let r = |url: &str, pwf: Option<&Path>, env: &[(&str, &str)]| {
            resolve_in(Some(url), None, pwf, &env_of(env), &test_platform()).unwrap()
        };

        let o = r("postgres://u:url-pw@h/d", Some(&pwfile), &env_all);
        assert_eq!(
            (o.password.as_deref(), o.password_source().as_str()),
            (Some("url-pw"), "url")
        );
        let o = r("postgres://u@h/d", Some(&pwfile), &env_all);
        assert_eq!(o.password.as_deref(), Some("file-pw"));
        assert_eq!(
            o.password_source(),
            format!("password_file {}", pwfile.display())
        );
        let o = r("postgres://u@h/d", None, &env_all);
        assert_eq!(
            (o.password.as_deref(), o.password_source().as_str()),
            (Some("env-pw"), "PGPASSWORD")
        );
        let o = r("postgres://u@h/d", None, &env_all[..1]);
        assert_eq!(o.password.as_deref(), Some("pgpass-pw"));
        assert!(o.password_source().starts_with("pgpass file "));
        let o = r("postgres://u@h/d", None, &[]);
        assert_eq!(
            (o.password.as_deref(), o.password_source().as_str()),
            (None, "none")
        );

        // A password_file others can read is refused outright.
        std::fs::set_permissions(&pwfile, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = resolve_in(
            Some("postgres://u@h/d"),
            None,
            Some(&pwfile),
            &env_of(&[]),
            &test_platform(),
        )
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.contains("group or others") && e.contains("chmod 600"),
            "{e}"
        );
        assert!(!e.contains("file-pw"));
        let missing = dir.0.join("missing");
        assert!(resolve_in(
            Some("postgres://u@h/d"),
            None,
            Some(&missing),
            &env_of(&[]),
            &test_platform()
        )
        .is_err());
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

    #[test]
    fn options_carry_our_timeouts_and_keep_the_rest() {
        assert_eq!(
            merge_options(None, Duration::from_secs(30), Duration::from_millis(5500)),
            "-c statement_timeout=30000 -c lock_timeout=5500"
        );
        let merged = merge_options(
            Some("-c search_path=app -c statement_timeout=0 --lock-timeout=1 -cwork_mem=64MB -c application_name=a\\ b -cLOCK_TIMEOUT=9"),
            Duration::from_secs(2),
            Duration::from_secs(1),
        );
        assert_eq!(
            merged,
            "-c search_path=app -cwork_mem=64MB -c application_name=a\\ b -c statement_timeout=2000 -c lock_timeout=1000"
        );
        assert_eq!(merged.matches("statement_timeout").count(), 1);
        assert_eq!(merged.matches("lock_timeout").count(), 1);

        let o = res(
            Some("postgres://h/d?options=-c%20search_path%3Dapp%20-c%20statement_timeout%3D0"),
            None,
            &[],
        )
        .unwrap();
        let c = o.pg_config(
            Duration::from_secs(3),
            Duration::from_secs(60),
            Duration::from_secs(10),
        );
        assert_eq!(
            c.get_options(),
            Some("-c search_path=app -c statement_timeout=60000 -c lock_timeout=10000")
        );
        let o = res(
            Some("postgres://h/d"),
            None,
            &[("PGOPTIONS", "-c geqo=off")],
        )
        .unwrap();
        let c = o.pg_config(
            Duration::from_secs(3),
            Duration::from_secs(60),
            Duration::from_secs(10),
        );
        assert_eq!(
            c.get_options(),
            Some("-c geqo=off -c statement_timeout=60000 -c lock_timeout=10000")
        );
    }

    #[test]
    fn pg_config_basics() {
        let o = res(
            Some("postgres://app:pw@db.example.com:5433/appdb"),
            None,
            &[],
        )
        .unwrap();
        let c = o.pg_config(Duration::from_secs(4), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_application_name(), Some("opsbook"));
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(4)));
        assert_eq!(c.get_user(), Some("app"));
        assert_eq!(c.get_dbname(), Some("appdb"));
        assert_eq!(c.get_ports(), &[5433]);
        assert!(
            matches!(c.get_hosts(), [tokio_postgres::config::Host::Tcp(h)] if h == "db.example.com")
        );
        // A shorter connect_timeout in the URL wins; zero from the caller means "the URL's, or none".
        let o = res(Some("postgres://h/d?connect_timeout=2"), None, &[]).unwrap();
        let c = o.pg_config(Duration::from_secs(10), Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(2)));
        let c = o.pg_config(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(2)));
        let o = res(Some("postgres://h/d"), None, &[]).unwrap();
        let c = o.pg_config(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_connect_timeout(), None);
        let o = res(
            Some("postgres://h/d?fallback_application_name=fb"),
            None,
            &[],
        )
        .unwrap();
        let c = o.pg_config(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert_eq!(c.get_application_name(), Some("fb"));
    }

    #[test]
    fn unsupported_environment_is_reported() {
        let o = res(None, None, &[("PGSERVICE", "prod"), ("PGSSLCERT", "/x")]).unwrap();
        let w = o.warnings().join("\n");
        assert!(w.contains("PGSERVICE") && w.contains("PGSSLCERT"), "{w}");
    }

    // ---- certificate verification ----

    fn pem_cert(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
    }

    fn verifier(ca: &str, check_name: bool) -> ChainVerifier {
        let mut roots = RootCertStore::empty();
        roots.add(pem_cert(ca)).unwrap();
        ChainVerifier {
            roots: Arc::new(roots),
            algs: rustls::crypto::ring::default_provider().signature_verification_algorithms,
            check_name,
        }
    }

    fn verifies(v: &ChainVerifier, cert_pem: &str, name: &str) -> bool {
        // 2030-01-01: inside the test certificates' validity, independent of the clock.
        let now = UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000));
        let name = ServerName::try_from(name.to_string()).unwrap();
        v.verify_server_cert(&pem_cert(cert_pem), &[], &name, &[], now)
            .is_ok()
    }

    #[test]
    fn verify_full_checks_chain_and_name_with_libpq_cn_fallback() {
        let full = verifier(CA_PEM, true);
        assert!(verifies(&full, SAN_PEM, "db.example.com"));
        assert!(verifies(&full, SAN_PEM, "127.0.0.1"));
        assert!(
            !verifies(&full, SAN_PEM, "ignored.example.com"),
            "CN is ignored when a DNS SAN exists"
        );
        assert!(!verifies(&full, SAN_PEM, "localhost"));
        assert!(
            verifies(&full, CN_PEM, "db.example.com"),
            "CN-only certificate"
        );
        assert!(verifies(&full, CN_PEM, "DB.Example.COM"));
        assert!(!verifies(&full, CN_PEM, "other.example.com"));
        assert!(!verifies(&full, CN_PEM, "10.0.0.1"));
        assert!(verifies(&full, WC_PEM, "a.example.com"));
        assert!(!verifies(&full, WC_PEM, "a.b.example.com"));
        assert!(!verifies(&full, WC_PEM, "example.com"));
        let wrong_ca = verifier(CA2_PEM, true);
        assert!(!verifies(&wrong_ca, SAN_PEM, "db.example.com"));
        assert!(!verifies(&wrong_ca, CN_PEM, "db.example.com"));
    }

    #[test]
    fn verify_ca_checks_the_chain_only() {
        let ca = verifier(CA_PEM, false);
        assert!(verifies(&ca, CN_PEM, "anything.invalid"));
        assert!(verifies(&ca, SAN_PEM, "10.9.8.7"));
        let wrong_ca = verifier(CA2_PEM, false);
        assert!(!verifies(&wrong_ca, CN_PEM, "db.example.com"));
        // A CA certificate is not a server certificate.
        assert!(!verifies(&ca, CA_PEM, "ca.example.com"));
    }

    #[test]
    fn der_name_info() {
        let info = der::name_info(pem_cert(CN_PEM).as_ref()).unwrap();
        assert_eq!(info.first_cn.as_deref(), Some("db.example.com"));
        assert!(!info.san_dns && !info.san_ip);
        let info = der::name_info(pem_cert(SAN_PEM).as_ref()).unwrap();
        assert_eq!(info.first_cn.as_deref(), Some("ignored.example.com"));
        assert!(info.san_dns && info.san_ip);
        let info = der::name_info(pem_cert(WC_PEM).as_ref()).unwrap();
        assert_eq!(info.first_cn.as_deref(), Some("*.example.com"));
        let der = pem_cert(CN_PEM);
        assert!(der::name_info(&der.as_ref()[..der.as_ref().len() / 2]).is_none());
        assert!(der::name_info(&[]).is_none());
    }

    #[test]
    fn roots_loading_errors_are_clear() {
        let dir = TempDir::new("roots");
        let home = dir.path();
        let o = res(
            Some("postgres://h/d?sslmode=verify-full"),
            None,
            &[("HOME", home.as_str())],
        )
        .unwrap();
        let e = format!("{:#}", o.verification().err().unwrap());
        assert!(
            e.contains(".postgresql/root.crt") && e.contains("does not exist"),
            "{e}"
        );
        let empty = dir.file("empty.crt", "not a certificate\n", 0o644);
        let url = format!(
            "postgres://h/d?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        );
        let o = res(Some(&url), None, &[]).unwrap();
        let e = format!("{:#}", o.verification().err().unwrap());
        assert!(e.contains("contains no PEM certificate"), "{e}");
        // require: no root certificate = no verification; one present = chain verification.
        let o = res(
            Some("postgres://h/d?sslmode=require"),
            None,
            &[("HOME", home.as_str())],
        )
        .unwrap();
        assert!(matches!(o.verification().unwrap(), Verification::None));
        std::fs::create_dir_all(dir.0.join(".postgresql")).unwrap();
        dir.file(".postgresql/root.crt", CA_PEM, 0o644);
        assert!(matches!(o.verification().unwrap(), Verification::Chain(_)));
        let o = res(
            Some("postgres://h/d?sslmode=verify-full"),
            None,
            &[("HOME", home.as_str())],
        )
        .unwrap();
        assert!(matches!(
            o.verification().unwrap(),
            Verification::ChainAndName(_)
        ));
    }

    // ---- connecting (against throwaway local listeners, never a real server) ----

    #[derive(Clone)]
    enum TlsReply {
        Refuse,
        Garbage,
        Accept(Arc<rustls::ServerConfig>),
    }

    fn server_tls() -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::PrivateKeyDer;
        let key = PrivateKeyDer::from_pem_slice(SAN_KEY.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pem_cert(SAN_PEM)], key)
        .unwrap();
        Arc::new(config)
    }

    fn read_packet(r: &mut impl Read) -> std::io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        r.read_exact(&mut len)?;
        let n = (u32::from_be_bytes(len) as usize)
            .saturating_sub(4)
            .min(1 << 16);
        let mut body = vec![0; n];
        r.read_exact(&mut body)?;
        Ok(body)
    }

    fn error_response(msg: &str) -> Vec<u8> {
        let mut fields = Vec::new();
        for (t, v) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "28000"),
            (b'M', msg),
        ] {
            fields.push(t);
            fields.extend_from_slice(v.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut out = vec![b'E'];
        out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
        out.extend_from_slice(&fields);
        out
    }

    /// Plays just enough of a server to show which path the client took: every startup
    /// message is answered with an error naming how it arrived.
    fn serve_one(mut s: std::net::TcpStream, reply: &TlsReply) -> std::io::Result<()> {
        let first = read_packet(&mut s)?;
        if first != 80_877_103u32.to_be_bytes() {
            return s.write_all(&error_response("plaintext startup rejected"));
        }
        match reply {
            TlsReply::Refuse => {
                s.write_all(b"N")?;
                read_packet(&mut s)?;
                s.write_all(&error_response("plaintext after N"))
            }
            TlsReply::Garbage => {
                s.write_all(b"S")?;
                s.write_all(b"this is no TLS record at all\r\n")
            }
            TlsReply::Accept(config) => {
                s.write_all(b"S")?;
                let conn =
                    rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
                let mut tls = rustls::StreamOwned::new(conn, s);
                read_packet(&mut tls)?;
                tls.write_all(&error_response("startup over TLS"))?;
                tls.flush()
            }
        }
    }

    fn fake_server(reply: TlsReply, connections: usize) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for _ in 0..connections {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = serve_one(stream, &reply);
            }
        });
        port
    }

    async fn connect_err(url: &str, home: &str) -> String {
        let o = res(Some(url), None, &[("HOME", home)]).unwrap();
        let started = std::time::Instant::now();
        let r = o
            .connect(
                Duration::from_secs(5),
                Duration::from_secs(1),
                Duration::from_secs(1),
            )
            .await;
        assert!(started.elapsed() < Duration::from_secs(6));
        let e = match r {
            Ok(_) => panic!("the fake server never lets a connection succeed"),
            Err(e) => format!("{e:#}"),
        };
        assert!(!e.contains(SECRET), "{e}");
        e
    }

    #[tokio::test]
    async fn sslmodes_against_a_fake_server() {
        let dir = TempDir::new("tls");
        let home = dir.path();
        let ca = dir.file("ca.crt", CA_PEM, 0o644);
        let ca2 = dir.file("ca2.crt", CA2_PEM, 0o644);
        let url = |host: &str, port: u16, q: &str| {
            format!("postgres://app:{SECRET}@{host}:{port}/appdb?{q}")
        };
        let ca_q = |mode: &str, f: &Path| format!("sslmode={mode}&sslrootcert={}", f.display());

        let p = fake_server(TlsReply::Refuse, 1);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=require"), &home).await;
        assert!(e.contains("server does not support TLS"), "{e}");
        assert!(
            e.contains(&format!(
                "connecting to PostgreSQL at 127.0.0.1:{p} (db appdb, user app)"
            )),
            "{e}"
        );

        let p = fake_server(TlsReply::Refuse, 1);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=prefer"), &home).await;
        assert!(
            e.contains("plaintext after N"),
            "prefer goes on in plaintext: {e}"
        );

        let p = fake_server(TlsReply::Garbage, 2);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=prefer"), &home).await;
        assert!(
            e.contains("then without TLS") && e.contains("plaintext startup rejected"),
            "{e}"
        );

        let p = fake_server(TlsReply::Garbage, 1);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=require"), &home).await;
        assert!(
            e.contains("TLS") && !e.contains("plaintext startup rejected"),
            "{e}"
        );

        let p = fake_server(TlsReply::Accept(server_tls()), 2);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=allow"), &home).await;
        assert!(
            e.contains("plaintext startup rejected") && e.contains("startup over TLS"),
            "{e}"
        );

        let p = fake_server(TlsReply::Accept(server_tls()), 1);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=disable"), &home).await;
        assert!(e.contains("plaintext startup rejected"), "{e}");

        // require without a root certificate: encrypted, not authenticated.
        let p = fake_server(TlsReply::Accept(server_tls()), 1);
        let e = connect_err(&url("127.0.0.1", p, "sslmode=require"), &home).await;
        assert!(e.contains("startup over TLS"), "{e}");
        // require with a root certificate: checked like verify-ca.
        let p = fake_server(TlsReply::Accept(server_tls()), 1);
        let e = connect_err(&url("127.0.0.1", p, &ca_q("require", &ca2)), &home).await;
        assert!(
            e.contains("certificate") && !e.contains("startup over TLS"),
            "{e}"
        );

        let p = fake_server(TlsReply::Accept(server_tls()), 1);
        let e = connect_err(&url("127.0.0.1", p, &ca_q("verify-full", &ca)), &home).await;
        assert!(e.contains("startup over TLS"), "{e}");
        let p = fake_server(TlsReply::Accept(server_tls()), 1);
        let e = connect_err(&url("127.0.0.1", p, &ca_q("verify-full", &ca2)), &home).await;
        assert!(
            e.contains("certificate") && e.contains("verify-full"),
            "{e}"
        );
        // The certificate names db.example.com and 127.0.0.1, not localhost.
        let p = fake_server(TlsReply::Accept(server_tls()), 2);
        let e = connect_err(&url("localhost", p, &ca_q("verify-full", &ca)), &home).await;
        assert!(
            e.contains("not valid for name") && !e.contains("startup over TLS"),
            "{e}"
        );
        let p = fake_server(TlsReply::Accept(server_tls()), 2);
        let e = connect_err(&url("localhost", p, &ca_q("verify-ca", &ca)), &home).await;
        assert!(e.contains("startup over TLS"), "{e}");
    }

    #[tokio::test]
    async fn closed_port_fails_fast_naming_the_target_not_the_password() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = connect_err(
            &format!("postgres://app:{SECRET}@127.0.0.1:{port}/postgres?sslmode=disable"),
            "/nonexistent",
        )
        .await;
        assert!(
            e.starts_with(&format!(
                "connecting to PostgreSQL at 127.0.0.1:{port} (db postgres, user app): "
            )),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        // Accepted by the kernel's backlog, never answered.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        for mode in ["disable", "prefer", "verify-full"] {
            let o = res(
                Some(&format!(
                    "postgres://app:{SECRET}@127.0.0.1:{port}/appdb?sslmode={mode}"
                )),
                None,
                &[("HOME", "/nonexistent")],
            )
            .unwrap();
            if mode == "verify-full" {
                // No root certificate: refused before any network traffic.
                let e = o
                    .connect(Duration::from_millis(300), Duration::ZERO, Duration::ZERO)
                    .await
                    .unwrap_err();
                assert!(format!("{e:#}").contains("does not exist"), "{e:#}");
                continue;
            }
            let started = std::time::Instant::now();
            let e = o
                .connect(Duration::from_millis(300), Duration::ZERO, Duration::ZERO)
                .await
                .unwrap_err();
            let elapsed = started.elapsed();
            let e = format!("{e:#}");
            assert!(elapsed < Duration::from_secs(3), "{mode}: took {elapsed:?}");
            assert!(e.contains("timed out after 300ms"), "{e}");
            assert!(
                e.contains(&format!("127.0.0.1:{port} (db appdb, user app)")),
                "{e}"
            );
            assert!(!e.contains(SECRET));
        }
        drop(listener);
    }

    #[test]
    fn the_connect_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let o = res(Some("postgres://h/d"), None, &[]).unwrap();
        let fut = o.connect(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert_send(&fut);
    }
}
