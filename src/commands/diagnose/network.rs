//! `diagnose network`: HTTP endpoints timed by phase, TCP connect latency to PostgreSQL, Redis
//! and given hosts, and the host's TCP socket states from /proc/net/tcp{,6}.
//!
//! Replaces the seed's `network_diagnostic.sh`: `curl -s` (which calls a 500 a success),
//! ICMP `ping` (often filtered, and it says nothing about the port the service listens on)
//! and `netstat -an | grep` (slow, and `grep :5432` also matched port 54321).

use std::collections::BTreeMap;
use std::time::SystemTime;

use clap::Args;
use futures_util::future::join_all;
use serde::Serialize;

use crate::clients::http;
use crate::config::http_url::{split_host_port, Target};
use crate::context::Ctx;
use crate::report::{Finding, Report, Section, Status};

/// Every finding id this command emits (see [`FindingIds`]).
///
/// [`FindingIds`]: crate::report::FindingIds
pub const FINDING_IDS: crate::report::FindingIds = crate::report::FindingIds {
    command: "diagnose network",
    page: "commands/diagnose.md",
    ids: &[
        "network.http",
        "network.tls_certificate",
        "network.tcp_connect",
        "network.established",
        "network.time_wait",
        "network.close_wait",
        "network.port_connections",
    ],
};

/// The `--help` text after the options: the finding ids, examples, exit status.
pub fn after_help() -> String {
    format!("{}{}", FINDING_IDS.help(), "\n\n\
Examples:\n  opsbook diagnose network\n  opsbook diagnose network --endpoint https://api.example.com/health \
--host 10.0.0.5:5432\n\n\
Exit status: 0 OK, 1 slow (> 200 ms), many TIME_WAIT (> 1000) or CLOSE_WAIT (> 100), a \
certificate expiring within 14 days; 2 an endpoint answering >= 400 or unreachable, a port \
refusing connections; 3 unknown.\nSee commands/diagnose.md.")
}

/// How many TCP connects the latency median is taken over.
const TRIES: usize = 5;

/// Time HTTP endpoints and TCP connects, count socket states
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// An HTTP(S) URL to time, besides the config's network.endpoints (repeatable)
    #[arg(long = "endpoint", value_name = "URL")]
    pub endpoints: Vec<String>,
    /// A HOST:PORT to measure TCP connect latency to, besides the config's network.hosts (repeatable)
    #[arg(long = "host", value_name = "HOST:PORT")]
    pub hosts: Vec<String>,
}

pub async fn run(args: &NetworkArgs, ctx: &Ctx) -> anyhow::Result<Report> {
    let timeout = ctx.timeouts().connect;
    let th = &ctx.config.thresholds;
    let latency_ms = th.latency_ms;

    let mut urls: Vec<String> = ctx.config.network.endpoints.clone();
    urls.extend(args.endpoints.iter().cloned());
    urls.dedup();
    // Validate every operator-given address before measuring anything.
    for u in &urls {
        Target::parse(u)?;
    }
    let mut targets: Vec<(String, String, u16)> = Vec::new();
    for h in ctx.config.network.hosts.iter().chain(&args.hosts) {
        let (host, port) = split_host_port(h, 0)?;
        if port == 0 {
            anyhow::bail!(
                "--host `{h}` has no port\nhint: write HOST:PORT, e.g. db.example.com:5432"
            );
        }
        targets.push((h.clone(), host, port));
    }
    let servers = server_targets(ctx);
    let local_ports: Vec<(String, u16, bool)> = servers
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .map(|(label, host, port)| (label.clone(), *port, is_local(host)))
        .collect();
    for (label, host, port) in servers.iter().flatten() {
        targets.push((label.clone(), host.clone(), *port));
    }

    // Sockets first: our own probes would otherwise show up in the counts (the server side
    // of each test connect sits in CLOSE_WAIT for a moment, the client side in TIME_WAIT).
    let sockets = read_sockets();
    let http_results = join_all(urls.iter().map(|u| async move {
        (
            u.clone(),
            http::get(u, timeout + ctx.timeouts().statement).await,
        )
    }));
    let tcp_results = join_all(targets.iter().map(|(label, host, port)| async move {
        (
            label.clone(),
            http::tcp_connect_median(host, *port, TRIES, timeout).await,
        )
    }));
    let (http_results, tcp_results) = tokio::join!(http_results, tcp_results);

    let mut report = Report::new("diagnose network");
    let mut http_rows = Vec::new();
    let mut http_data = Vec::new();
    for (url, r) in http_results {
        let (found, row) = http_findings(
            &url,
            &r,
            latency_ms.warning,
            th.cert_days,
            SystemTime::now(),
        );
        report.extend(found);
        http_rows.push(row);
        http_data.push(serde_json::json!({
            "url": url,
            "timing": r.as_ref().ok(),
            "error": r.as_ref().err().map(crate::report::one_line),
        }));
    }
    for s in servers.iter() {
        if let Err(f) = s {
            report.push(f.clone());
        }
    }
    for (label, r) in tcp_results {
        report.push(tcp_finding(&label, &r, latency_ms.warning));
    }
    let sockets = match sockets {
        Ok(s) => s,
        Err(e) => {
            report.push(Finding::unknown("network.established", &e));
            Vec::new()
        }
    };
    let counts = state_counts(&sockets);
    report.extend(state_findings(&counts, th.time_wait, th.close_wait));
    for (label, port, local) in &local_ports {
        report.push(port_finding(label, *port, *local, &sockets));
    }
    if !http_rows.is_empty() {
        report.sections.push(Section {
            title: "HTTP endpoints (times per phase)".to_string(),
            columns: [
                "URL",
                "STATUS",
                "DNS",
                "CONNECT",
                "TLS",
                "FIRST BYTE",
                "TOTAL",
                "CERT DAYS",
            ]
            .iter()
            .map(|c| c.to_string())
            .collect(),
            rows: http_rows,
            fit: Vec::new(),
        });
    }
    report.sections.push(Section {
        title: "TCP sockets by state (/proc/net/tcp, tcp6)".to_string(),
        columns: vec!["STATE".to_string(), "COUNT".to_string()],
        rows: counts
            .iter()
            .map(|(k, v)| vec![k.clone(), v.to_string()])
            .collect(),
        fit: Vec::new(),
    });
    report.data = Some(serde_json::json!({
        "http": http_data,
        "socket_states": counts,
    }));
    Ok(report)
}

/// PostgreSQL's and Redis's host and port, from the same settings a connection would use.
/// A local-socket PostgreSQL has no TCP port to measure: an OK note, not an error.
fn server_targets(ctx: &Ctx) -> Vec<Result<(String, String, u16), Finding>> {
    let mut out = Vec::new();
    match ctx.pg_options() {
        Ok(o) if o.is_local_socket() => out.push(Err(Finding::ok(
            "network.tcp_connect",
            format!(
                "PostgreSQL is reached over the local socket {}: no TCP to measure",
                o.host()
            ),
        )
        .subject("postgres"))),
        Ok(o) => out.push(Ok((
            format!("postgres {}:{}", o.host(), o.port()),
            o.host().to_string(),
            o.port(),
        ))),
        Err(e) => out.push(Err(
            Finding::unknown("network.tcp_connect", &e).subject("postgres")
        )),
    }
    match ctx.redis_url().and_then(|u| redis_host_port(&u)) {
        Ok((host, port)) => out.push(Ok((format!("redis {host}:{port}"), host, port))),
        Err(e) => out.push(Err(
            Finding::unknown("network.tcp_connect", &e).subject("redis")
        )),
    }
    out
}

fn redis_host_port(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow::anyhow!("invalid Redis URL {}", crate::redact::mask_url(url)))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    split_host_port(hostport, 6379)
}

fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host.starts_with("127.")
}

fn ms(secs: f64) -> String {
    format!("{:.1} ms", secs * 1000.0)
}

/// `network.http` (+ `network.tls_certificate` for https) and the table row of one endpoint.
pub fn http_findings(
    url: &str,
    r: &anyhow::Result<http::HttpTiming>,
    warn_ms: Option<f64>,
    cert_days: crate::config::Limits,
    now: SystemTime,
) -> (Vec<Finding>, Vec<String>) {
    let t = match r {
        Err(e) => {
            let f = Finding::new("network.http", Status::Critical, crate::report::one_line(e))
                .subject(url)
                .hint("check that the service runs and listens (`ss -tlnp`), the DNS name, and any firewall between here and it");
            let row = vec![
                url.to_string(),
                "error".to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ];
            return (vec![f], row);
        }
        Ok(t) => t,
    };
    let total_ms = t.total_seconds * 1000.0;
    let status = if t.status >= 400 {
        Status::Critical
    } else {
        Status::above(total_ms, warn_ms, None)
    };
    let tls = t
        .tls_seconds
        .map(|s| format!(", TLS {}", ms(s)))
        .unwrap_or_default();
    let mut f = Finding::new(
        "network.http",
        status,
        format!(
            "HTTP {} in {} (DNS {}, connect {}{tls}, first byte {})",
            t.status,
            ms(t.total_seconds),
            ms(t.dns_seconds),
            ms(t.connect_seconds),
            ms(t.first_byte_seconds)
        ),
    )
    .subject(url)
    .value((t.total_seconds * 1000.0).round() / 1000.0, "seconds")
    .detail(vec![format!("address {}", t.address)]);
    if t.status >= 400 {
        f = f.hint("the service answers with an error: look at its own log");
    } else if status != Status::Ok {
        let slowest = [
            ("DNS", t.dns_seconds),
            ("TCP connect", t.connect_seconds),
            ("TLS handshake", t.tls_seconds.unwrap_or(0.0)),
            ("the server's first byte", t.first_byte_seconds),
        ]
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(n, _)| n)
        .unwrap_or("the server");
        f = f.hint(format!("most of the time goes to {slowest}"));
    }
    let days = t.cert_days_left(now);
    let mut out = vec![f];
    if let Some(d) = days {
        let cs = if d < 0.0 {
            Status::Critical
        } else {
            Status::below(d, cert_days.warning, cert_days.critical)
        };
        let mut c = Finding::new(
            "network.tls_certificate",
            cs,
            if d < 0.0 {
                format!("the certificate expired {:.0} days ago", -d)
            } else {
                format!("the certificate expires in {:.0} days", d.floor())
            },
        )
        .subject(url)
        .value(d.floor(), "days");
        if cs != Status::Ok {
            c = c.hint("renew the certificate (certbot renew, or your CA) and reload the server");
        }
        out.push(c);
    }
    let row = vec![
        url.to_string(),
        t.status.to_string(),
        ms(t.dns_seconds),
        ms(t.connect_seconds),
        t.tls_seconds.map(ms).unwrap_or_default(),
        ms(t.first_byte_seconds),
        ms(t.total_seconds),
        days.map(|d| format!("{:.0}", d.floor()))
            .unwrap_or_default(),
    ];
    (out, row)
}

fn tcp_finding(
    label: &str,
    r: &anyhow::Result<(f64, std::net::SocketAddr)>,
    warn_ms: Option<f64>,
) -> Finding {
    match r {
        Err(e) => Finding::new("network.tcp_connect", Status::Critical, crate::report::one_line(e))
            .subject(label)
            .hint("nothing accepts connections there: is the service running and listening on that address (`ss -tlnp`)? is a firewall in the way?"),
        Ok((secs, addr)) => {
            let m = secs * 1000.0;
            let status = Status::above(m, warn_ms, None);
            let mut f = Finding::new(
                "network.tcp_connect",
                status,
                format!("TCP connect to {addr}: median {} of {TRIES} tries", ms(*secs)),
            )
            .subject(label)
            .value((secs * 1e6).round() / 1e6, "seconds");
            if status != Status::Ok {
                f = f.hint("the path to the server is slow (distance, a saturated link, a busy firewall): compare with `mtr` to the host");
            }
            f
        }
    }
}

/// One TCP socket from /proc/net/tcp{,6}.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Socket {
    pub state: &'static str,
    pub local_port: u16,
    pub remote_port: u16,
}

/// The kernel's state numbers (include/net/tcp_states.h), named like netstat.
fn state_name(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

/// Parse the text of /proc/net/tcp or tcp6 (a header line, then one socket per line).
pub fn parse_proc_net_tcp(text: &str) -> Vec<Socket> {
    let port = |addr: &str| {
        addr.rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let _slot = f.next()?;
            let local = port(f.next()?)?;
            let remote = port(f.next()?)?;
            let state = u8::from_str_radix(f.next()?, 16).ok()?;
            Some(Socket {
                state: state_name(state),
                local_port: local,
                remote_port: remote,
            })
        })
        .collect()
}

fn read_sockets() -> anyhow::Result<Vec<Socket>> {
    use anyhow::Context as _;
    let mut out = Vec::new();
    for path in ["/proc/net/tcp", "/proc/net/tcp6"] {
        match std::fs::read_to_string(path) {
            Ok(text) => out.extend(parse_proc_net_tcp(&text)),
            // A kernel without IPv6 has no tcp6; without tcp there is nothing to say.
            Err(e) if path.ends_with('6') && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {path} (is /proc mounted?)")),
        }
    }
    Ok(out)
}

pub fn state_counts(sockets: &[Socket]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for s in sockets {
        *m.entry(s.state.to_string()).or_insert(0) += 1;
    }
    m
}

fn state_findings(
    counts: &BTreeMap<String, u64>,
    time_wait: crate::config::Limits,
    close_wait: crate::config::Limits,
) -> Vec<Finding> {
    let n = |k: &str| counts.get(k).copied().unwrap_or(0);
    let est = n("ESTABLISHED");
    let tw = n("TIME_WAIT");
    let cw = n("CLOSE_WAIT");
    let tws = Status::above(tw as f64, time_wait.warning, time_wait.critical);
    let cws = Status::above(cw as f64, close_wait.warning, close_wait.critical);
    let mut twf = Finding::new(
        "network.time_wait",
        tws,
        format!("{tw} sockets in TIME_WAIT"),
    )
    .value(tw, "sockets");
    if tws != Status::Ok {
        twf = twf.hint("many short-lived connections: pool them (PgBouncer for PostgreSQL, one shared Redis client) instead of connecting per request");
    }
    let mut cwf = Finding::new(
        "network.close_wait",
        cws,
        format!("{cw} sockets in CLOSE_WAIT"),
    )
    .value(cw, "sockets");
    if cws != Status::Ok {
        cwf = cwf.hint("a program here does not close connections its peer closed (a leaking client): `ss -tanp state close-wait` names it");
    }
    vec![
        Finding::ok(
            "network.established",
            format!("{est} established TCP connections"),
        )
        .value(est, "sockets"),
        twf,
        cwf,
    ]
}

/// Established connections of PostgreSQL's / Redis's port: the server side when the server
/// is on this host, else this host's client connections to it.
fn port_finding(label: &str, port: u16, local: bool, sockets: &[Socket]) -> Finding {
    let est = sockets.iter().filter(|s| s.state == "ESTABLISHED");
    let (n, side) = if local {
        (est.filter(|s| s.local_port == port).count(), "accepted by")
    } else {
        (
            est.filter(|s| s.remote_port == port).count(),
            "from this host to",
        )
    };
    let service = label.split_whitespace().next().unwrap_or(label);
    Finding::ok(
        "network.port_connections",
        format!("{n} established connections {side} {label}"),
    )
    .subject(format!("{service}:{port}"))
    .value(n, "connections")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1538 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   106        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:D2F0 0100007F:1538 06 00000000:00000000 03:00000A3E 00000000     0        0 0 3 0000000000000000
   3: 0100007F:9C40 0100007F:1538 08 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn parses_proc_net_tcp() {
        let s = parse_proc_net_tcp(TCP);
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0],
            Socket {
                state: "LISTEN",
                local_port: 5432,
                remote_port: 0
            }
        );
        assert_eq!(s[1].state, "ESTABLISHED");
        assert_eq!(s[1].remote_port, 0xD2F0);
        let c = state_counts(&s);
        assert_eq!(c["TIME_WAIT"], 1);
        assert_eq!(c["CLOSE_WAIT"], 1);
        let f = port_finding("postgres 127.0.0.1:5432", 5432, true, &s);
        assert_eq!(f.value, serde_json::json!(1));
        assert_eq!(f.subject.as_deref(), Some("postgres:5432"));
    }

    #[test]
    fn socket_thresholds() {
        let mut c = BTreeMap::new();
        c.insert("TIME_WAIT".to_string(), 1001);
        c.insert("CLOSE_WAIT".to_string(), 100);
        let th = crate::config::Thresholds::default();
        let f = state_findings(&c, th.time_wait, th.close_wait);
        assert_eq!(f[1].status, Status::Warning);
        assert_eq!(f[2].status, Status::Ok);
    }

    #[test]
    fn http_verdicts() {
        let th = crate::config::Thresholds::default();
        let timing = |status, total: f64| http::HttpTiming {
            status,
            address: "127.0.0.1:80".into(),
            dns_seconds: 0.0,
            connect_seconds: 0.001,
            tls_seconds: None,
            first_byte_seconds: total,
            total_seconds: total,
            cert_not_after: None,
        };
        let now = SystemTime::now();
        let (f, _) = http_findings("u", &Ok(timing(200, 0.01)), Some(200.0), th.cert_days, now);
        assert_eq!(f[0].status, Status::Ok);
        let (f, _) = http_findings("u", &Ok(timing(500, 0.01)), Some(200.0), th.cert_days, now);
        assert_eq!(f[0].status, Status::Critical);
        let (f, _) = http_findings("u", &Ok(timing(200, 0.5)), Some(200.0), th.cert_days, now);
        assert_eq!(f[0].status, Status::Warning);
        assert!(f[0].hint.as_deref().unwrap().contains("first byte"));
        let mut t = timing(200, 0.01);
        let secs = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        t.cert_not_after = Some(secs + 5 * 86400 + 100);
        let (f, _) = http_findings("u", &Ok(t), Some(200.0), th.cert_days, now);
        assert_eq!(f[1].id, "network.tls_certificate");
        assert_eq!(f[1].status, Status::Warning);
        assert_eq!(f[1].value, serde_json::json!(5.0));
    }

    #[test]
    fn redis_urls() {
        assert_eq!(
            redis_host_port("redis://:pw@10.0.0.1:6380/0").unwrap(),
            ("10.0.0.1".into(), 6380)
        );
        assert_eq!(
            redis_host_port("redis://cache").unwrap(),
            ("cache".into(), 6379)
        );
    }
}
