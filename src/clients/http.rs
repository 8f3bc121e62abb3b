//! HTTP(S) timing by phase (DNS, TCP connect, TLS handshake, first byte) and TCP connect
//! latency, on a plain tokio socket plus rustls.
//!
//! Why not reqwest here (it serves `check health` and the notifiers, see `web.rs`): a client
//! library hides its phases, and the phases are the point of a network diagnosis: "DNS takes 2 s" and "the app takes 2 s to
//! answer" need different fixes. One GET with `Connection: close` is all this needs, and
//! rustls (with the ring provider and the system roots) is already linked for PostgreSQL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context as _};
use rustls::pki_types::ServerName;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The URL grammar is the config's (`config::http_url`): load-time validation uses it too.
use crate::config::http_url::Target;

/// What one GET measured. Durations are per phase, not cumulative.
#[derive(Debug, Clone, Serialize)]
pub struct HttpTiming {
    pub status: u16,
    pub address: String,
    pub dns_seconds: f64,
    pub connect_seconds: f64,
    pub tls_seconds: Option<f64>,
    /// from sending the request to the first byte of the answer
    pub first_byte_seconds: f64,
    pub total_seconds: f64,
    /// the server certificate's notAfter, seconds since the epoch (https only)
    pub cert_not_after: Option<u64>,
}

impl HttpTiming {
    /// Whole days until the certificate expires (negative when it has).
    pub fn cert_days_left(&self, now: SystemTime) -> Option<f64> {
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as f64;
        self.cert_not_after.map(|t| (t as f64 - now) / 86400.0)
    }
}

/// GET `url` once, timing each phase; the whole exchange is bounded by `timeout`.
pub async fn get(url: &str, timeout: Duration) -> anyhow::Result<HttpTiming> {
    get_bounded(url, timeout, timeout).await
}

/// GET `url` once with two bounds: `connect` for the TCP connect (so a dropped SYN says
/// "connecting ... no answer" rather than a bare timeout) and `total` for the whole exchange.
async fn get_bounded(url: &str, connect: Duration, total: Duration) -> anyhow::Result<HttpTiming> {
    let target = Target::parse(url)?;
    tokio::time::timeout(total, get_target(&target, connect))
        .await
        .map_err(|_| anyhow!("no answer within {:.1}s", total.as_secs_f64()))?
}

async fn get_target(t: &Target, connect_timeout: Duration) -> anyhow::Result<HttpTiming> {
    let start = Instant::now();
    let addr = resolve(&t.host, t.port).await?;
    let dns = start.elapsed();
    let at = Instant::now();
    let tcp = tokio::time::timeout(connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| anyhow!("no answer within {:.1}s", connect_timeout.as_secs_f64()))
        .and_then(|r| r.map_err(anyhow::Error::from))
        .with_context(|| format!("connecting to {addr}"))?;
    let _ = tcp.set_nodelay(true);
    let connect = at.elapsed();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: opsbook/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        t.path,
        host_header(t),
        env!("CARGO_PKG_VERSION")
    );
    let (tls, cert_not_after, first_byte, status) = if t.tls {
        let at = Instant::now();
        let name = ServerName::try_from(t.host.clone())
            .map_err(|e| anyhow!("`{}` is not a valid TLS server name: {e}", t.host))?;
        let mut stream = connector()?
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS handshake with {}:{}", t.host, t.port))?;
        let handshake = at.elapsed();
        let not_after = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(|c| not_after(c.as_ref()));
        let (fb, status) = exchange(&mut stream, &request).await?;
        (Some(handshake), not_after, fb, status)
    } else {
        let mut stream = tcp;
        let (fb, status) = exchange(&mut stream, &request).await?;
        (None, None, fb, status)
    };
    Ok(HttpTiming {
        status,
        address: addr.to_string(),
        dns_seconds: dns.as_secs_f64(),
        connect_seconds: connect.as_secs_f64(),
        tls_seconds: tls.map(|d| d.as_secs_f64()),
        first_byte_seconds: first_byte.as_secs_f64(),
        total_seconds: start.elapsed().as_secs_f64(),
        cert_not_after,
    })
}

fn host_header(t: &Target) -> String {
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let default = if t.tls { 443 } else { 80 };
    if t.port == default {
        host
    } else {
        format!("{host}:{}", t.port)
    }
}

/// Send the request; time to the first byte, then read the status line.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    request: &str,
) -> anyhow::Result<(Duration, u16)> {
    s.write_all(request.as_bytes())
        .await
        .context("sending the request")?;
    let sent = Instant::now();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    let mut first = None;
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = s.read(&mut chunk).await.context("reading the answer")?;
        if n == 0 {
            bail!("the server closed the connection without an HTTP answer");
        }
        first.get_or_insert_with(|| sent.elapsed());
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 8192 {
            bail!("no HTTP status line in the first 8 KiB of the answer");
        }
    }
    let line = String::from_utf8_lossy(&buf);
    let status = line
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| {
            anyhow!(
                "not an HTTP answer: `{}`",
                line.lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(80)
                    .collect::<String>()
            )
        })?;
    Ok((first.unwrap_or_default(), status))
}

async fn resolve(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("resolving {host}"))?
        .next()
        .ok_or_else(|| anyhow!("resolving {host}: no address"))
}

fn connector() -> anyhow::Result<tokio_rustls::TlsConnector> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let _ = roots.add_parsable_certificates(found.certs);
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .context("setting up TLS")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// notAfter of a DER certificate, seconds since the epoch.
pub fn not_after(der: &[u8]) -> Option<u64> {
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    Some(
        cert.tbs_certificate
            .validity
            .not_after
            .to_unix_duration()
            .as_secs(),
    )
}

/// Median time of `tries` TCP connects to HOST:PORT (each bounded by `timeout`); the first
/// failure ends the measurement with its error.
pub async fn tcp_connect_median(
    host: &str,
    port: u16,
    tries: usize,
    timeout: Duration,
) -> anyhow::Result<(f64, SocketAddr)> {
    let addr = tokio::time::timeout(timeout, resolve(host, port))
        .await
        .map_err(|_| {
            anyhow!(
                "resolving {host}: no answer within {:.1}s",
                timeout.as_secs_f64()
            )
        })??;
    let mut times = Vec::with_capacity(tries);
    for _ in 0..tries.max(1) {
        let at = Instant::now();
        let s = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                anyhow!(
                    "connecting to {addr}: no answer within {:.1}s",
                    timeout.as_secs_f64()
                )
            })?
            .with_context(|| format!("connecting to {addr}"))?;
        times.push(at.elapsed().as_secs_f64());
        drop(s);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_brackets_v6() {
        let t = Target::parse("http://[::1]:81/x").unwrap();
        assert_eq!(host_header(&t), "[::1]:81");
    }

    #[tokio::test]
    async fn times_a_local_server() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut c, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        });
        let t = get(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(t.status, 204);
        assert!(t.tls_seconds.is_none() && t.total_seconds >= t.first_byte_seconds);
    }
}
