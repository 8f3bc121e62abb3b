//! Connecting: the tokio-postgres configuration for a [`PgOptions`] (our statement and lock
//! timeouts merged into the user's `options`), and the connect itself, bounded by the connect
//! timeout, with libpq's allow/prefer retries and the TLS of each sslmode.

use std::time::Duration;

use anyhow::{anyhow, Context as _};
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, NoTls, Socket};

use super::options::{PgOptions, SslMode};
use super::tls::{self, Verification};

impl PgOptions {
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
        let _opening = crate::clients::own_sessions::opening().await;
        let attempt = async {
            let client = self.establish(&config).await?;
            // The backend pid, so connection counts leave this session out.
            if let Ok(row) = client.query_one("SELECT pg_backend_pid()", &[]).await {
                if let Ok(pid) = row.try_get::<_, i32>(0) {
                    crate::clients::own_sessions::register(pid);
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
                    let tls = tls::connector(Verification::None)?;
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
                let tls = tls::connector(Verification::None)?;
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
                let tls = tls::connector(self.verification()?)?;
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    use std::path::Path;
    use std::sync::Arc;

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
