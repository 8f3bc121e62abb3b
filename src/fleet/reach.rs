//! `target.up` for the targets no command runs against: a Sentinel (PING, then
//! `SENTINEL get-master-addr-by-name <master>` answered) and an HAProxy (its stats URL
//! answers 2xx, or its stats socket accepts a connection and answers `show info`).

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::clients::redis::{resolve_url, RedisClient};
use crate::clients::web::Web;
use crate::config::targets::{HaproxyTarget, SentinelTarget};
use crate::redact::mask_url;
use crate::report::{one_line, Finding, Status};

/// The finding id of a target's reachability.
pub const UP: &str = "target.up";

/// A Sentinel answers PING and names the master it monitors.
pub async fn sentinel(name: &str, s: &SentinelTarget, timeout: Duration) -> Finding {
    let masked = mask_url(&s.url);
    let probe = async {
        let url = resolve_url(Some(&s.url), None, s.password_file.as_deref(), &|_| None)?;
        let client = RedisClient::connect(&url, timeout).await?;
        client.ping().await?;
        client.sentinel_master_addr(&s.master).await
    };
    match tokio::time::timeout(timeout * 2, probe).await {
        Ok(Ok(Some((host, port)))) => Finding::ok(
            UP,
            format!(
                "Sentinel at {masked} answers; master {} is at {host}:{port}",
                s.master
            ),
        ),
        Ok(Ok(None)) => Finding::new(
            UP,
            Status::Critical,
            format!(
                "Sentinel at {masked} answers but does not monitor a master named {}",
                s.master
            ),
        )
        .hint(format!(
            "check targets.{name}.master against `sentinel monitor` in the Sentinel's config"
        )),
        Ok(Err(e)) => down(name, &masked, &one_line(&e)),
        Err(_) => down(
            name,
            &masked,
            &format!("no answer within {:.1}s", (timeout * 2).as_secs_f64()),
        ),
    }
    .target(name)
}

/// An HAProxy's stats page answers (2xx), or its stats socket answers `show info`.
pub async fn haproxy(name: &str, h: &HaproxyTarget, connect: Duration, total: Duration) -> Finding {
    let (what, result) = match (&h.url, &h.socket) {
        (Some(url), _) => (mask_url(url), stats_page(url, connect, total).await),
        (None, Some(socket)) => (
            socket.display().to_string(),
            stats_socket(socket, total).await,
        ),
        // validate() refuses a target with neither.
        (None, None) => (String::new(), Err(anyhow!("no url or socket configured"))),
    };
    match result {
        Ok(how) => Finding::ok(UP, format!("HAProxy at {what} answers ({how})")),
        Err(e) if e.downcast_ref::<NotStats>().is_some() => {
            Finding::new(UP, Status::Critical, format!("{what} {e}")).hint(format!(
                "point targets.{name}.url at the page HAProxy's `stats uri` names"
            ))
        }
        Err(e) => down(name, &what, &one_line(&e)),
    }
    .target(name)
}

async fn stats_page(url: &str, connect: Duration, total: Duration) -> anyhow::Result<String> {
    let web = Web::new(connect, total)?;
    let answer = web.get(url).await?;
    if (200..300).contains(&answer.status) {
        Ok(format!(
            "HTTP {} in {:.0} ms",
            answer.status,
            answer.seconds * 1000.0
        ))
    } else {
        Err(NotStats(answer.status).into())
    }
}

/// A stats URL that answers, but not with a page (HTTP status not 2xx).
#[derive(Debug)]
struct NotStats(u16);

impl std::fmt::Display for NotStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "answers HTTP {}, not a stats page", self.0)
    }
}

impl std::error::Error for NotStats {}

async fn stats_socket(path: &Path, total: Duration) -> anyhow::Result<String> {
    let talk = async {
        let mut s = tokio::net::UnixStream::connect(path)
            .await
            .with_context(|| format!("connecting to {}", path.display()))?;
        s.write_all(b"show info\n").await?;
        // The first line is enough to know it answers; a bounded read.
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await?;
        if n == 0 {
            anyhow::bail!("the socket closed without answering `show info`");
        }
        Ok("`show info` answered".to_string())
    };
    tokio::time::timeout(total, talk)
        .await
        .map_err(|_| anyhow!("no answer within {:.1}s", total.as_secs_f64()))?
}

fn down(name: &str, what: &str, why: &str) -> Finding {
    Finding::new(UP, Status::Critical, format!("{what} is not reachable: {why}")).hint(format!(
        "check that the service of target {name} runs and listens there (targets.{name} in the config)"
    ))
}
