//! The connection-string grammar: a `postgres://` / `postgresql://` URL or libpq's
//! `key=value` string, parsed into the parameters it spells out ([`Params`]), with the
//! percent-encoding of URL components both ways. Errors never quote text that may hold a
//! password ([`Echo`]). What the parameters then mean is `resolve`'s business.

use std::time::Duration;

use anyhow::{anyhow, bail};
use percent_encoding::{utf8_percent_encode, AsciiSet};

use crate::clients::URL_COMPONENT;

/// Shown under every connection-string error.
pub(super) const URL_EXAMPLE: &str =
    "postgres://app@db.example.com:5432/appdb?sslmode=verify-full \
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

/// The parameters one connection string spells out; everything else comes from the environment.
#[derive(Default, Debug)]
pub(super) struct Params {
    pub(super) host: Option<String>,
    pub(super) port: Option<String>,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    pub(super) dbname: Option<String>,
    pub(super) sslmode: Option<String>,
    pub(super) sslrootcert: Option<String>,
    pub(super) connect_timeout: Option<String>,
    pub(super) application_name: Option<String>,
    pub(super) fallback_application_name: Option<String>,
    pub(super) options: Option<String>,
    pub(super) passfile: Option<String>,
}

/// Decides whether fragments of a malformed connection string may appear in an error: not when
/// the string may hold a password, since a malformed string is exactly where a password ends
/// up in the "wrong" component.
pub(super) struct Echo(pub(super) bool);

impl Echo {
    pub(super) fn for_input(s: &str) -> Echo {
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

    pub(super) fn q(&self, fragment: &str) -> String {
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

/// A `postgres://` URL or a libpq `key=value` string, into the parameters it spells out.
pub(super) fn parse_conn_string(input: &str) -> Result<Params, String> {
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

/// Undo percent-encoding strictly: every `%` must start a `%XX` pair and none may be `%00`
/// (a NUL would cut the value short in the server's C strings); the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|&b| b == b'%') {
        let pair = bytes
            .get(i + at + 1..i + at + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| "invalid percent-encoding (expected %XX)".to_string())?;
        if pair == b"00" {
            return Err("percent-encoded NUL (%00) is not allowed".to_string());
        }
        i += at + 3;
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| "percent-decoded text is not valid UTF-8".to_string())
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

/// A port from a connection string or PGPORT: 1-65535.
pub(super) fn parse_port(text: &str, echo: &Echo) -> anyhow::Result<u16> {
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("invalid port{} (must be 1-65535)", echo.q(text)),
    }
}

/// libpq: zero or negative waits forever, and 1 second is raised to 2.
pub(super) fn parse_connect_timeout(text: &str, what: &str) -> anyhow::Result<Option<Duration>> {
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
/// As [`URL_COMPONENT`], keeping `/` readable (socket directories, certificate paths).
const PATH: &AsciiSet = &URL_COMPONENT.remove(b'/');

/// One URL component (user, host, database) percent-encoded: everything but the unreserved
/// characters.
pub(super) fn encode(s: &str) -> String {
    crate::clients::url_component(s)
}

/// A path inside a query value, percent-encoded like [`encode`] but with `/` kept.
pub(super) fn encode_path(s: &str) -> String {
    utf8_percent_encode(s, PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::SslMode;
    use super::*;

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
    fn percent_decoding_is_strict() {
        assert_eq!(
            percent_decode("a%20b%2Fc%e2%82%AC").as_deref(),
            Ok("a b/c\u{20ac}")
        );
        assert_eq!(percent_decode("plain+text").as_deref(), Ok("plain+text"));
        for bad in ["%", "%2", "%zz", "a%g0", "%+f", "%%41"] {
            assert_eq!(
                percent_decode(bad),
                Err("invalid percent-encoding (expected %XX)".to_string()),
                "{bad}"
            );
        }
        assert_eq!(
            percent_decode("a%00b%zz"),
            Err("percent-encoded NUL (%00) is not allowed".to_string())
        );
        assert_eq!(
            percent_decode("%zz%00"),
            Err("invalid percent-encoding (expected %XX)".to_string())
        );
        assert_eq!(
            percent_decode("%ff"),
            Err("percent-decoded text is not valid UTF-8".to_string())
        );
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            encode("my user/db@x:1~a_b-c.d"),
            "my%20user%2Fdb%40x%3A1~a_b-c.d"
        );
        assert_eq!(encode("\u{e9}"), "%C3%A9");
        assert_eq!(encode_path("/var/run/pg sock"), "/var/run/pg%20sock");
    }
}
