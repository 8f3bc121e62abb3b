//! Masking secrets for display: a URL's password, secret query parameters, the secret keys
//! of a libpq `key=value` string, a webhook's path, and every URL and `key=value` in a line of
//! text quoted in an error. Config (`config show`, its errors) and the clients (their
//! errors) both mask through here.

/// A parameter name that holds a secret: `password`, `pass`, `sslpassword`, `token`,
/// `secret`, `api_key` ... (case-insensitive, percent-encoding undone).
fn is_secret_key(key: &str) -> bool {
    let k = percent_decoded(key).to_ascii_lowercase();
    // libpq's `passfile` names a file (the secret stays in it), not a secret.
    k != "passfile"
        && ["pass", "pwd", "secret", "token", "apikey", "api_key"]
            .iter()
            .any(|s| k.contains(s))
}

fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(v) => {
                out.push(v);
                i += 3;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parts of a URL: scheme, authority, path, query (without `?`), fragment (with `#`).
fn split_url(url: &str) -> Option<(&str, &str, &str, Option<&str>, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, fragment) = match rest.find('#') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    Some((scheme, authority, path, query, fragment))
}

/// What kind of inline secret `value` (a URL or a libpq `key=value` string) holds, if any.
pub fn inline_secret(value: &str) -> Option<&'static str> {
    if let Some((_, authority, _, query, _)) = split_url(value) {
        if authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        {
            return Some("a password in the URL");
        }
        let secret_param = query.unwrap_or("").split('&').any(|pair| {
            pair.split_once('=')
                .is_some_and(|(k, v)| is_secret_key(k) && !v.is_empty())
        });
        return secret_param.then_some("a password query parameter");
    }
    conninfo_pairs(value)
        .iter()
        .any(|(k, v)| is_secret_key(k) && !v.is_empty())
        .then_some("a password in the key=value connection string")
}

/// The `key=value` pairs of a libpq connection string, values unquoted; byte ranges of the
/// values so they can be masked in place.
fn conninfo_spans(s: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            // Not a key=value string (or a broken one: the connection code says why).
            return out;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let vstart = i;
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = i.min(b.len());
        }
        // A `\` before a multi-byte character stepped into it: end on a character boundary.
        while !s.is_char_boundary(i) {
            i += 1;
        }
        out.push((key.to_string(), vstart..i));
    }
    out
}

fn conninfo_pairs(s: &str) -> Vec<(String, String)> {
    conninfo_spans(s)
        .into_iter()
        .map(|(k, r)| (k, s[r].trim_matches('\'').to_string()))
        .collect()
}

/// `value` (a URL or a libpq `key=value` string) with every inline secret replaced by `***`:
/// the URL's password (`scheme://user:***@host`), secret query parameters, secret keys of a
/// `key=value` string.
pub fn mask_url(value: &str) -> String {
    if let Some((scheme, authority, path, query, fragment)) = split_url(value) {
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) if userinfo.contains(':') => {
                let user = userinfo.split(':').next().unwrap_or("");
                format!("{user}:***@{host}")
            }
            _ => authority.to_string(),
        };
        let query = query.map(|q| {
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("?{}", pairs.join("&"))
        });
        return format!(
            "{scheme}://{authority}{path}{}{fragment}",
            query.unwrap_or_default()
        );
    }
    let mut out = value.to_string();
    for (k, range) in conninfo_spans(value).into_iter().rev() {
        if is_secret_key(&k) {
            out.replace_range(range, "***");
        }
    }
    out
}

/// `line` (of a config file, quoted in an error) with the value of every `key=value` whose key
/// says secret masked, wherever it stands: a conninfo string or a URL's query in YAML.
pub fn mask_pairs_in(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '%'))
            .map(|(i, c)| i + c.len_utf8())
            .unwrap_or(0);
        let key = &rest[key_start..eq];
        out.push_str(&rest[..=eq]);
        rest = &rest[eq + 1..];
        if !key.is_empty() && is_secret_key(key) {
            let end = match rest.strip_prefix('\'') {
                Some(inner) => inner.find('\'').map(|p| p + 2).unwrap_or(rest.len()),
                None => rest
                    .find(|c: char| c.is_whitespace() || "'\"&,]}#".contains(c))
                    .unwrap_or(rest.len()),
            };
            if end > 0 {
                out.push_str("***");
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// `line` (of a config file, quoted in an error) with every URL in it masked (`mask_url`) and
/// every secret `key=value` pair (`mask_pairs_in`).
pub fn mask_urls_in(line: &str) -> String {
    let is_delim = |c: char| c.is_whitespace() || "'\",[]{}".contains(c);
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let start = rest[..i].rfind(is_delim).map(|p| p + 1).unwrap_or(0);
        let end = rest[i..]
            .find(is_delim)
            .map(|p| i + p)
            .unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        out.push_str(&mask_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    mask_pairs_in(&out)
}

/// A webhook URL for display: scheme and host only (its path is the credential).
pub fn mask_webhook(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_string();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    format!("{scheme}://{host}/***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inline_form_is_found() {
        for v in [
            "postgres://app:pw@db/x",
            "postgres://app@db/x?password=pw",
            "postgres://app@db/x?sslmode=require&Pass%77ord=pw",
            "redis://127.0.0.1:6379/0?pass=pw",
            "redis+unix:///run/redis.sock?db=0&password=pw",
            "host=db user=app password=pw",
            "host=db password = 'p w' user=app",
            "http://h/health?token=abc",
        ] {
            assert!(inline_secret(v).is_some(), "{v}");
            let m = mask_url(v);
            assert!(
                !m.contains("pw") && !m.contains("abc") && !m.contains("p w"),
                "{v} -> {m}"
            );
            assert!(m.contains("***"), "{m}");
        }
        for v in [
            "postgres://app@db/x?sslmode=require",
            "host=db user=app",
            "redis://127.0.0.1:6379/0",
            "postgres://app@db/x?application_name=a:b",
        ] {
            assert_eq!(inline_secret(v), None, "{v}");
            assert_eq!(mask_url(v), v);
        }
        assert_eq!(
            mask_url("postgres://app@db/x?sslmode=require&password=pw"),
            "postgres://app@db/x?sslmode=require&password=***"
        );
        assert_eq!(
            mask_url("host=db password='a b' user=app"),
            "host=db password=*** user=app"
        );
        assert_eq!(
            mask_pairs_in("  url: \"host=db password='a b' user=app\" # é=x"),
            "  url: \"host=db password=*** user=app\" # é=x"
        );
        assert_eq!(
            mask_pairs_in("  url: redis://h/0?pass=pw&db=1"),
            "  url: redis://h/0?pass=***&db=1"
        );
    }

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            mask_url("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(mask_url("postgres://app@db/x"), "postgres://app@db/x");
        assert!(inline_secret("redis://:pw@h:1").is_some());
        assert!(inline_secret("postgres://app@db/x?x=a:b").is_none());
    }
}
