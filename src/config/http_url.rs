//! The http(s) URL grammar: what `health.urls`, `notify.webhook.url` and
//! `notify.telegram.api_base` must be, and what the HTTP clients connect to (`Target`), with
//! `host[:port]` (`split_host_port`). Pure parsing: validation at load and the clients share
//! it, so the config does not import the clients.

use anyhow::{anyhow, bail, Context as _};

/// The parts of an http(s) URL this client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// path and query, starting with `/`
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> anyhow::Result<Target> {
        // Errors name the URL: a password in it is masked first (a URL with credentials is
        // refused anyway, so parsing the masked text changes no accepted URL).
        let masked = crate::redact::mask_url(url);
        let url = masked.as_str();
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            anyhow!("`{url}` is not a URL: expected http://host[:port]/path or https://...")
        })?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => bail!("`{url}`: unsupported scheme `{other}` (use http or https)"),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            bail!("`{url}`: credentials in the URL are not supported (they would end up in logs)");
        }
        let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })
            .with_context(|| format!("reading the host of `{url}`"))?;
        let mut path = tail.split('#').next().unwrap_or("").to_string();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        Ok(Target {
            tls,
            host,
            port,
            path,
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
pub fn split_host_port(s: &str, default_port: u16) -> anyhow::Result<(String, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| anyhow!("`{s}`: unclosed `[` in an IPv6 address"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else if s.matches(':').count() > 1 {
        bail!("`{s}`: write an IPv6 address in brackets, e.g. [::1]:5432");
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    if host.is_empty() {
        bail!("`{s}` has no host name");
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| anyhow!("`{s}`: port `{p}` is not a number between 1 and 65535"))?,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("https://api.example.com/health?x=1").unwrap();
        assert_eq!(
            t,
            Target {
                tls: true,
                host: "api.example.com".into(),
                port: 443,
                path: "/health?x=1".into()
            }
        );
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((t.port, t.path.as_str(), t.tls), (8080, "/", false));
        let t = Target::parse("http://[::1]:81/x").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 81));
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("example.com").is_err());
        assert!(Target::parse("http://u:p@h/").is_err());
        assert!(Target::parse("http://h:99999/").is_err());
        let e = Target::parse("ftp://u:hunter2@h/").unwrap_err().to_string();
        assert!(!e.contains("hunter2") && e.contains("u:***@h"), "{e}");
        let e = Target::parse("http://u:hunter2@h/")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("db:5432", 1).unwrap(), ("db".into(), 5432));
        assert_eq!(split_host_port("db", 6379).unwrap(), ("db".into(), 6379));
        assert!(split_host_port("::1", 1).is_err());
        assert!(split_host_port(":80", 1).is_err());
    }
}
