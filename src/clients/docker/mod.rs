//! The Docker Engine API over its Unix socket: the few reads the container and Swarm checks
//! need (`/containers`, `/services`, `/tasks`, `/nodes`, a container's stats and logs).
//!
//! HTTP/1.1 through hyper's connection API on a `UnixStream`, not a client crate: the checks
//! need six GETs, and bollard would add its generated model of the whole API (and a TLS stack
//! we do not use) to every build. Every answer is untrusted input: read within a bound and a
//! timeout, like the health URLs (`bounded_read`).

pub mod logs;
pub mod types;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

/// Where dockerd listens when `DOCKER_HOST` is not set.
pub const DEFAULT_SOCKET: &str = "/var/run/docker.sock";

/// A JSON answer larger than this is not one the checks asked for (a host with thousands of
/// containers lists them in a few MiB).
pub const JSON_LIMIT: usize = 16 * 1024 * 1024;

/// The Engine API at one Unix socket.
#[derive(Debug, Clone)]
pub struct Docker {
    socket: PathBuf,
    timeout: Duration,
}

impl Docker {
    /// The daemon `DOCKER_HOST` names (`unix://PATH`), else [`DEFAULT_SOCKET`]. A TCP or SSH
    /// daemon is refused: opsbook would have to speak TLS with the daemon's client
    /// certificates, and a plain `tcp://` daemon is root for anyone who can reach it.
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Docker> {
        let socket = match env("DOCKER_HOST").filter(|h| !h.trim().is_empty()) {
            None => PathBuf::from(DEFAULT_SOCKET),
            Some(host) => match host.strip_prefix("unix://") {
                Some(path) if !path.is_empty() => PathBuf::from(path),
                _ => bail!(
                    "DOCKER_HOST={host}: opsbook talks to the Docker daemon over its Unix socket only\nhint: run opsbook on the Docker host with DOCKER_HOST=unix:///var/run/docker.sock (or unset it)"
                ),
            },
        };
        Ok(Docker { socket, timeout })
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Send `GET path` and return the response with its body unread.
    async fn send(&self, path: &str) -> anyhow::Result<hyper::Response<Incoming>> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .with_context(|| {
                format!(
                    "connecting to the Docker daemon at {}",
                    self.socket.display()
                )
            })
            .map_err(|e| {
                anyhow!(
                    "{}\nhint: is dockerd running, and may this user use its socket (root or the docker group)? Set DOCKER_HOST=unix://PATH for another socket",
                    crate::report::one_line(&e)
                )
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("speaking HTTP to the Docker daemon")?;
        // The connection drives itself; it ends when the response body is read or dropped.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, "docker")
            .body(Empty::<Bytes>::new())
            .context("building a Docker API request")?;
        Ok(sender.send_request(req).await?)
    }

    /// `GET path` as JSON of type T, within the timeout and [`JSON_LIMIT`].
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let what = request_name(path);
        let body = tokio::time::timeout(self.timeout, async {
            let resp = self.send(path).await?;
            let status = resp.status();
            let body = read_bounded(resp.into_body(), JSON_LIMIT).await?;
            if !status.is_success() {
                bail!("{status}: {}", api_message(&body));
            }
            Ok(body)
        })
        .await
        .map_err(|_| anyhow!("no answer within {:?}", self.timeout))
        .and_then(|r| r)
        .with_context(|| what.clone())?;
        serde_json::from_slice(&body)
            .with_context(|| format!("{what}: an answer opsbook cannot read"))
    }

    /// Stream `GET path` through `each` frame by frame, stopping after `limit` bytes (the
    /// logs of a chatty container): returns whether the limit cut the stream short.
    pub async fn stream(
        &self,
        path: &str,
        limit: usize,
        mut each: impl FnMut(&[u8]),
    ) -> anyhow::Result<bool> {
        let what = request_name(path);
        tokio::time::timeout(self.timeout, async {
            let resp = self.send(path).await?;
            let status = resp.status();
            let mut body = resp.into_body();
            if !status.is_success() {
                let text = read_bounded(body, 64 * 1024).await.unwrap_or_default();
                bail!("{status}: {}", api_message(&text));
            }
            let mut seen = 0usize;
            while let Some(frame) = body.frame().await {
                let frame = frame?;
                if let Some(data) = frame.data_ref() {
                    let room = limit.saturating_sub(seen);
                    let take = data.len().min(room);
                    each(&data[..take]);
                    seen += take;
                    if take < data.len() {
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        })
        .await
        .map_err(|_| anyhow!("no answer within {:?}", self.timeout))
        .and_then(|r| r)
        .with_context(|| what)
    }
}

async fn read_bounded(mut body: Incoming, limit: usize) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            if buf.len() + data.len() > limit {
                bail!(
                    "the answer is over the limit of {}",
                    crate::bounded_read::limit_text(limit as u64)
                );
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(buf)
}

/// `GET /containers/json` without the query (its filters are percent-encoded JSON).
fn request_name(path: &str) -> String {
    format!("Docker API GET {}", path.split('?').next().unwrap_or(path))
}

/// The daemon's `{"message": "..."}`, or the body as one line.
fn api_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Msg {
        message: String,
    }
    match serde_json::from_slice::<Msg>(body) {
        Ok(m) => m.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(300)])
            .trim()
            .to_string(),
    }
}

/// A query-string value percent-encoded (filters are JSON).
pub fn query_value(s: &str) -> String {
    super::url_component(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |k| {
            (k == "DOCKER_HOST")
                .then(|| v.map(str::to_string))
                .flatten()
        }
    }

    #[test]
    fn docker_host_picks_the_socket_and_refuses_tcp() {
        let t = Duration::from_secs(1);
        let d = Docker::from_env(&env(None), t).unwrap();
        assert_eq!(d.socket(), Path::new(DEFAULT_SOCKET));
        let d = Docker::from_env(&env(Some("unix:///run/x/docker.sock")), t).unwrap();
        assert_eq!(d.socket(), Path::new("/run/x/docker.sock"));
        let e = Docker::from_env(&env(Some("tcp://10.0.0.1:2376")), t).unwrap_err();
        assert!(e.to_string().contains("Unix socket only"), "{e}");
    }

    #[test]
    fn api_errors_read_the_message() {
        assert_eq!(
            api_message(br#"{"message":"No such container: x"}"#),
            "No such container: x"
        );
        assert_eq!(api_message(b"oops\n"), "oops");
    }
}
