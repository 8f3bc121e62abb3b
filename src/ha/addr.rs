//! Addresses as the sources name them: a target's URL, a WAL receiver's `sender_host:port`,
//! a Sentinel's `ip port`, an HAProxy server's `addr`. Compared as `host:port` with
//! `localhost` and `::1` read as `127.0.0.1`.

/// `host:port` of a `redis://`, `postgres://` or `http://` URL (userinfo and path dropped).
pub fn of_url(url: &str, default_port: u16) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let hostport = rest.split(['/', '?']).next()?;
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    if hostport.is_empty() {
        return None;
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
            (h.to_string(), p.parse().ok()?)
        }
        _ => (hostport.to_string(), default_port),
    };
    Some(normal(&host, port))
}

/// `host:port` with the loopback spellings made one.
pub fn normal(host: &str, port: u16) -> String {
    let host = host.trim_matches(['[', ']']);
    let host = match host {
        "localhost" | "::1" => "127.0.0.1",
        h => h,
    };
    format!("{host}:{port}")
}

/// `host:port` text (as PostgreSQL's `sender_host:sender_port`) normalised.
pub fn parse(hostport: &str) -> Option<String> {
    let (h, p) = hostport.rsplit_once(':')?;
    Some(normal(h, p.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_as_host_port() {
        assert_eq!(
            of_url("redis://:pw@localhost:6380/0", 6379).as_deref(),
            Some("127.0.0.1:6380")
        );
        assert_eq!(
            of_url("postgres://u@10.0.0.1/app", 5432).as_deref(),
            Some("10.0.0.1:5432")
        );
        assert_eq!(
            of_url("http://127.0.0.1:8008", 80).as_deref(),
            Some("127.0.0.1:8008")
        );
        assert_eq!(parse("localhost:5433").as_deref(), Some("127.0.0.1:5433"));
        assert_eq!(parse("nonsense"), None);
    }
}
