//! The application-level HTTP opsbook does, over reqwest: `check health` GETs the app's health
//! URLs, the notifiers POST to Telegram and webhooks. (`diagnose network` keeps its own
//! phase-timing GET in `http.rs`: a client library hides DNS / connect / TLS / first byte.)
//!
//! Every request has two bounds, a connect timeout and a total one; redirects are not followed
//! (a health URL that redirects is misconfigured, and a notifier must not be bounced elsewhere);
//! and no error carries the URL: a bot token or a webhook secret lives in its path, so errors
//! name `host:port` and the innermost cause only (reqwest's `without_url`).

use std::time::{Duration, Instant};

use anyhow::anyhow;

/// What a GET got back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// from sending the request to the end of the answer's body (or to the bound)
    pub seconds: f64,
    /// the body went on past [`HTTP_BODY_LIMIT`]: reading stopped there
    pub body_over_limit: bool,
}

pub use crate::bounded_read::HTTP_BODY_LIMIT;

fn client(
    connect: Duration,
    total: Duration,
    extra_roots: Option<&[u8]>,
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = extra_roots {
        for cert in reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| anyhow!("reading the CA certificates: {}", e.without_url()))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .connect_timeout(connect)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("opsbook/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow!("setting up the HTTP client: {}", e.without_url()))
}

/// A client with both bounds, built once per run and shared by its requests. Building one
/// loads the system's CA roots (milliseconds): inside a timed GET that read as the URL's
/// latency (10.3 ms against curl's 3.9 ms for a local health URL).
pub struct Web {
    client: reqwest::Client,
    connect: Duration,
    total: Duration,
}

impl Web {
    pub fn new(connect: Duration, total: Duration) -> anyhow::Result<Web> {
        Web::with_roots(connect, total, None)
    }

    /// A client that also trusts the PEM certificates `extra_roots` (a private CA, such as a
    /// remote's `ca_file`) besides the system's roots.
    pub fn with_roots(
        connect: Duration,
        total: Duration,
        extra_roots: Option<&[u8]>,
    ) -> anyhow::Result<Web> {
        Ok(Web {
            client: client(connect, total, extra_roots)?,
            connect,
            total,
        })
    }

    /// GET `url`: its status and how long the whole answer took (the request only).
    pub async fn get(&self, url: &str) -> anyhow::Result<Answer> {
        let (parsed, hp) = host_port(url)?;
        let (connect, total) = (self.connect, self.total);
        let started = Instant::now();
        let response = self
            .client
            .get(parsed)
            .send()
            .await
            .map_err(|e| describe(e, &hp, connect, total))?;
        let mut response = response;
        let status = response.status().as_u16();
        // The body is read (and dropped) so the time is the whole answer's, within `total`; by
        // chunks and only up to the bound, so an endless body costs 64 KiB, not all our memory.
        let mut read = 0usize;
        let mut body_over_limit = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| describe(e, &hp, connect, total))?
        {
            read += chunk.len();
            if read > HTTP_BODY_LIMIT {
                body_over_limit = true;
                break;
            }
        }
        Ok(Answer {
            status,
            seconds: started.elapsed().as_secs_f64(),
            body_over_limit,
        })
    }
}

/// An answer whose body matters (a JSON document, a CSV), read up to a bound.
#[derive(Debug, Clone, PartialEq)]
pub struct TextAnswer {
    pub status: u16,
    pub body: String,
}

impl Web {
    /// GET `url` and read its body, refusing one over `limit` bytes (an API that answers
    /// megabytes is not the one we asked).
    pub async fn get_text(&self, url: &str, limit: usize) -> anyhow::Result<TextAnswer> {
        let (parsed, hp) = host_port(url)?;
        let request = self.client.get(parsed);
        let (status, body) = self.bounded_body(request, &hp, limit).await?;
        Ok(TextAnswer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// POST a JSON document to `url`, with HTTP basic authentication when `auth` is given
    /// (user, password: never in an error), and read the answer's body up to `limit`.
    pub async fn post_json_text(
        &self,
        url: &str,
        json: &str,
        auth: Option<(&str, &str)>,
        limit: usize,
    ) -> anyhow::Result<TextAnswer> {
        let (parsed, hp) = host_port(url)?;
        let mut request = self
            .client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json.to_string());
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        let (status, body) = self.bounded_body(request, &hp, limit).await?;
        Ok(TextAnswer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// GET `url` with these headers (a request signed elsewhere, e.g. S3's SigV4): the status
    /// and the body, refused past `limit` bytes.
    pub async fn get_with_headers(
        &self,
        url: &str,
        headers: reqwest::header::HeaderMap,
        limit: usize,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let (parsed, hp) = host_port(url)?;
        let request = self.client.get(parsed).headers(headers);
        self.bounded_body(request, &hp, limit).await
    }

    /// Send `request` and read the answer's status and body, refusing a body over `limit`.
    async fn bounded_body(
        &self,
        request: reqwest::RequestBuilder,
        hp: &str,
        limit: usize,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let (connect, total) = (self.connect, self.total);
        let mut response = request
            .send()
            .await
            .map_err(|e| describe(e, hp, connect, total))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| describe(e, hp, connect, total))?
        {
            if body.len() + chunk.len() > limit {
                anyhow::bail!(
                    "{hp}: the answer is over {}, more than this API sends",
                    crate::bounded_read::limit_text(limit as u64)
                );
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    }
}

/// `host:port` of `url`, or a refusal that does not repeat the URL.
fn host_port(url: &str) -> anyhow::Result<(reqwest::Url, String)> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| anyhow!("the URL is not http(s)://host[:port]/path"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        anyhow::bail!("the URL is not http(s)://host[:port]/path");
    }
    let host = parsed.host_str().unwrap_or("?").to_string();
    let port = parsed.port_or_known_default().unwrap_or(0);
    Ok((parsed, format!("{host}:{port}")))
}

/// The innermost cause of a reqwest error (e.g. "Connection refused (os error 111)"), never
/// its URL.
fn cause(e: &reqwest::Error) -> String {
    let mut last: Option<String> = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    last.unwrap_or_else(|| e.to_string()).replace('\n', " ")
}

/// One sentence for a failed request, naming `host:port` and the phase.
fn describe(e: reqwest::Error, hp: &str, connect: Duration, total: Duration) -> anyhow::Error {
    let e = e.without_url();
    if e.is_connect() {
        if e.is_timeout() {
            anyhow!(
                "connecting to {hp}: no connection within {:.1}s",
                connect.as_secs_f64()
            )
        } else {
            anyhow!("connecting to {hp}: {}", cause(&e))
        }
    } else if e.is_timeout() {
        anyhow!("{hp}: no answer within {:.1}s", total.as_secs_f64())
    } else {
        anyhow!("{hp}: {}", cause(&e))
    }
}

/// POST a JSON document to `url`; the answer's status code. The answer's body is never read
/// (only its status matters), so an endless one costs nothing: the connection is dropped.
pub async fn post_json(
    url: &str,
    json: &str,
    connect: Duration,
    total: Duration,
) -> anyhow::Result<u16> {
    let (parsed, hp) = host_port(url)?;
    let response = client(connect, total, None)?
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(json.to_string())
        .send()
        .await
        .map_err(|e| describe(e, &hp, connect, total))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        for url in ["ftp://x/secret", "not a url secret", "http://"] {
            let e = host_port(url).unwrap_err().to_string();
            assert!(!e.contains("secret"), "{e}");
        }
        let (_, hp) = host_port("https://api.telegram.org/bot123:abc/sendMessage").unwrap();
        assert_eq!(hp, "api.telegram.org:443");
    }

    #[tokio::test]
    async fn a_closed_port_names_host_port_and_the_cause_not_the_path() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/botSECRET/sendMessage");
        let e = post_json(&url, "{}", Duration::from_secs(2), Duration::from_secs(3))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("connecting to 127.0.0.1:{port}: ")),
            "{e}"
        );
        assert!(!e.contains("SECRET"), "{e}");
    }

    #[tokio::test]
    async fn posts_json_and_keeps_the_path_out_of_errors() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut c, _) = l.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !String::from_utf8_lossy(&buf).contains("{\"text\":\"hi\"}") {
                let n = c.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            String::from_utf8_lossy(&buf).into_owned()
        });
        let url = format!("http://127.0.0.1:{port}/hook/secret");
        let status = post_json(
            &url,
            "{\"text\":\"hi\"}",
            Duration::from_secs(2),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(status, 200);
        let req = got.join().unwrap();
        assert!(req.starts_with("POST /hook/secret HTTP/1.1\r\n"), "{req}");
        assert!(
            req.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{req}"
        );

        // A listener that never answers: bounded by the total timeout, no path in the error.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let started = std::time::Instant::now();
        let err = post_json(
            &format!("http://127.0.0.1:{port}/bot123:SECRET/sendMessage"),
            "{}",
            Duration::from_secs(1),
            Duration::from_millis(600),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        let text = format!("{err:#}");
        assert!(text.contains("no answer within 0.6s"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
        drop(silent);
    }
}
